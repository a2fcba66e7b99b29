//! `rwkv-lens study`: layer-wise zero-shot similarity against GloVe, with time and memory.

use std::path::PathBuf;

use rwkv_lens::embed::{Engine, EngineKind};
use rwkv_lens::hub::model::open;
use rwkv_lens::reference::CpuEngine;
use rwkv_lens::study::check::LazyReference;
use rwkv_lens::study::cost::{self, CostArgs};
use rwkv_lens::study::run::{run_with, RunOptions};
use rwkv_lens::study::{StudyArgs, StudyModel};

use super::engine::{build, load_encoder, EngineArgs};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    study: StudyArgs,
    /// `world`, a tokenizer.json or a hub id, for every model (default: each model
    /// repo's tokenizer.json, else world).
    #[arg(long)]
    tokenizer: Option<String>,
    #[command(flatten)]
    engine: EngineArgs,
    #[command(flatten)]
    cost: CostArgs,
    /// Embedding cache: each finished model × task is kept here, so that an interrupted
    /// run resumes where it stopped (default OUT/cache).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Skip the reference check (on the GPU engine, the longest and some random sentences
    /// of each task are embedded again by the CPU reference and must agree).
    #[arg(long)]
    no_reference_check: bool,
    /// Neither read nor write the embedding cache.
    #[arg(long, conflicts_with = "cache_dir")]
    no_cache: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    if !a.cost.lengths.is_empty() {
        refuse_tasks(&a)?;
    }
    let mut models = Vec::new();
    for spec in &a.study.models {
        if let Some((engine, tokenizer)) = load_encoder(spec, &a.engine)? {
            eprintln!("{}: engine {}", spec.display(), engine.name());
            let tokenize = Box::new(move |s: &str| tokenizer.encode(s));
            models.push(StudyModel::new(spec, engine, tokenize));
            continue;
        }
        let spec = spec.to_string_lossy();
        let model = open(&spec, a.tokenizer.as_deref())?;
        let engine = build(&model.checkpoint, &a.engine)?;
        eprintln!("{spec}: engine {}", engine.name());
        let tokenizer = model.tokenizer;
        let mut m = StudyModel::new(
            &model.resolved.weights,
            engine,
            Box::new(move |s: &str| tokenizer.encode(s)),
        );
        m.label = model.resolved.label.clone();
        if m.engine.kind() == EngineKind::Gpu && !a.no_reference_check {
            // built on the first task that is not in the cache
            let ck = model.checkpoint;
            let reference = LazyReference::new(ck.config.clone(), move || {
                Ok(Box::new(CpuEngine::new(&ck)?) as Box<dyn Engine>)
            });
            m.reference = Some(Box::new(reference));
        }
        models.push(m);
    }
    if !a.cost.lengths.is_empty() {
        let report = cost::run(&mut models, &a.cost, a.study.seed, true)?;
        return print_written(report.write(&a.study.out)?);
    }
    let cache_dir =
        (!a.no_cache).then(|| (a.cache_dir.clone()).unwrap_or_else(|| a.study.out.join("cache")));
    let opts = RunOptions {
        progress: true,
        cache_dir,
        incremental: true,
    };
    let report = run_with(&a.study, &mut models, &opts)?;
    let written = report.write(&a.study.out)?;
    println!("{}", report.summary());
    print_written(written)
}

fn print_written(written: Vec<PathBuf>) -> anyhow::Result<()> {
    for p in written {
        println!("wrote {}", p.display());
    }
    Ok(())
}

/// The cost mode measures synthetic sentences: a task or preset would be ignored.
fn refuse_tasks(a: &Args) -> anyhow::Result<()> {
    if !a.study.tasks.is_empty() || a.study.preset.is_some() {
        anyhow::bail!(
            "--lengths measures the cost on synthetic sentences: drop --task/--preset, or --lengths"
        );
    }
    Ok(())
}
