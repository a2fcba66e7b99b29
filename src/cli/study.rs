//! `rwkv-lens study`: layer-wise zero-shot similarity against GloVe, with time and memory.

use std::path::PathBuf;

use rwkv_lens::study::run::{run_with, RunOptions};
use rwkv_lens::study::{StudyArgs, StudyModel};

use super::engine::{load_model, EngineArgs, LoadedModel};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    study: StudyArgs,
    /// `world` or a tokenizer.json path (one for all RWKV models; an encoder directory
    /// brings its own).
    #[arg(long, default_value = "world")]
    tokenizer: String,
    #[command(flatten)]
    engine: EngineArgs,
    /// Embedding cache: each finished model × task is kept here, so that an interrupted
    /// run resumes where it stopped (default OUT/cache).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Neither read nor write the embedding cache.
    #[arg(long, conflicts_with = "cache_dir")]
    no_cache: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let mut models = Vec::new();
    for path in &a.study.models {
        let LoadedModel { engine, tokenizer } = load_model(path, &a.tokenizer, &a.engine)?;
        eprintln!("{}: engine {}", path.display(), engine.name());
        models.push(StudyModel::new(
            path,
            engine,
            Box::new(move |s: &str| tokenizer.encode(s)),
        ));
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
    for p in written {
        println!("wrote {}", p.display());
    }
    Ok(())
}
