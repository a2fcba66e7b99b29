//! `study::run`: loads the tasks and the baseline, embeds with every model, scores,
//! and assembles the report. The CLI builds the engines and tokenizers and calls this.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::args::{Baseline, Protocol, StudyArgs};
use super::cache::EmbeddingCache;
use super::compare;
use super::embedding::{
    anisotropy_pairs, embed_model, glove_series, EmbedOptions, GloveCoverage, SentenceTable,
    StudyModel, TaskTiming,
};
use super::evaluate::{evaluate_task, BootstrapOptions, DomainStat, GroupKind, Row};
use super::report::{
    unix_now, BaselineInfo, ModelInfo, StudyReport, TaskInfo, Tool, SCHEMA_VERSION,
};
use crate::data::tasks::{load_task, resolve_data_dir, Task, TaskSpec};
use crate::embed::parse_layers;
use crate::glove::{candidates, Glove};
use crate::kit::hash::file_id;
use crate::kit::progress::Progress;
use crate::model::load::safetensors_metadata;
use crate::model::random::UNTRAINED_KEY;
use crate::{Error, Result};

/// Everything scored so far, task after task.
#[derive(Default)]
struct Collected {
    rows: Vec<Row>,
    stats: Vec<DomainStat>,
    profile: Vec<TaskTiming>,
    tasks: Vec<TaskInfo>,
}

/// How a run meets the disk.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Progress bars and notes on stderr.
    pub progress: bool,
    /// Directory of the embedding cache (None: nothing cached, nothing resumed).
    pub cache_dir: Option<PathBuf>,
    /// Write the results into `--out` after each task (a partial report until the last).
    pub incremental: bool,
}

/// What every task of a run shares.
struct Env<'a> {
    plan: &'a Protocol,
    progress: bool,
    cache: Option<&'a EmbeddingCache>,
}

/// Runs the whole study without cache. `models` may be empty (baseline only).
pub fn run(args: &StudyArgs, models: &mut [StudyModel], progress: bool) -> Result<StudyReport> {
    let opts = RunOptions {
        progress,
        ..Default::default()
    };
    run_with(args, models, &opts)
}

/// Runs the whole study; with a cache directory, model × task units already there are
/// read back instead of recomputed (resume), and with `incremental` the results so far
/// are written after each task.
pub fn run_with(
    args: &StudyArgs,
    models: &mut [StudyModel],
    opts: &RunOptions,
) -> Result<StudyReport> {
    let plan = args.plan()?;
    let (data_dir, tasks) = load_tasks(args, &plan)?;
    let dir = data_dir.as_deref().unwrap_or(Path::new("."));
    let glove = match plan.baselines.contains(&Baseline::Glove) {
        true => Some(load_glove(args, dir, &tasks, opts.progress)?),
        false => None,
    };
    let model_infos = identify_models(models, &plan)?;
    let cache = opts
        .cache_dir
        .as_deref()
        .map(EmbeddingCache::open)
        .transpose()?;
    let env = Env {
        plan: &plan,
        progress: opts.progress,
        cache: cache.as_ref(),
    };
    let mut out = Collected::default();
    let baseline = glove.as_ref().map(|(g, _)| g);
    let assemble = |out: &Collected, done: usize| {
        let ood = super::ood::build(&out.stats, &plan.reference_domain, plan.confidence);
        StudyReport {
            schema_version: SCHEMA_VERSION,
            tool: Tool::this(),
            created_unix: unix_now(),
            data_dir: data_dir.as_ref().map(|d| d.display().to_string()),
            protocol: plan.clone(),
            models: model_infos.clone(),
            baselines: glove
                .as_ref()
                .map(|(_, info)| info.clone())
                .into_iter()
                .collect(),
            tasks: out.tasks.clone(),
            rows: out.rows.clone(),
            comparison: compare::build(&model_infos, &out.rows, ood.as_ref(), plan.confidence),
            ood,
            profile: out.profile.clone(),
            notes: notes(&plan, out, done, tasks.len()),
        }
    };
    for (k, task) in tasks.iter().enumerate() {
        study_task(task, models, &model_infos, baseline, &env, &mut out)?;
        if opts.incremental && k + 1 < tasks.len() {
            assemble(&out, k + 1).write(&args.out)?;
        }
    }
    Ok(assemble(&out, tasks.len()))
}

/// The data directory (when one is needed) and every task, loaded and checked.
fn load_tasks(args: &StudyArgs, plan: &Protocol) -> Result<(Option<PathBuf>, Vec<Task>)> {
    let wants_glove = plan.baselines.contains(&Baseline::Glove);
    let builtin = plan
        .specs
        .iter()
        .any(|s| matches!(s, TaskSpec::BuiltIn { .. }));
    // The data directory is needed only by built-in tasks and the default GloVe path.
    let data_dir = match builtin || (wants_glove && args.glove.is_none()) {
        true => Some(resolve_data_dir(args.data_dir.as_deref())?),
        false => args.data_dir.clone(),
    };
    let dir = data_dir.as_deref().unwrap_or(Path::new("."));
    let tasks = plan
        .specs
        .iter()
        .map(|s| load_task(s, dir, plan.max_pairs))
        .collect::<Result<Vec<_>>>()?;
    Ok((data_dir, tasks))
}

/// Embeds one task with every model and the baseline, then scores it.
fn study_task(
    task: &Task,
    models: &mut [StudyModel],
    infos: &[ModelInfo],
    glove: Option<&Glove>,
    env: &Env,
    out: &mut Collected,
) -> Result<()> {
    let (plan, progress) = (env.plan, env.progress);
    let table = SentenceTable::new(&task.pairs);
    let mut series = Vec::new();
    for (model, info) in models.iter_mut().zip(infos) {
        let opt = EmbedOptions {
            task: &task.name,
            layers: &info.layers,
            poolings: &plan.poolings,
            batch_size: plan.batch_size,
            embed_memory_bytes: plan.embed_memory_mib << 20,
            anisotropy_pairs: plan.anisotropy_pairs,
            seed: plan.seed,
            cache: env.cache.zip(info.file.as_ref()),
        };
        let b = Progress::bar(
            progress,
            format!("{} · {}", model.label, task.name),
            "sentences",
        );
        let (s, p) = embed_model(model, &table, &opt, &mut |done, total| {
            b.set(done as u64, total as u64)
        })?;
        drop(b);
        if progress && p.cached {
            eprintln!("{} · {}: read from the cache", model.label, task.name);
        }
        series.extend(s);
        out.profile.push(p);
    }
    let coverage = glove.map(|g| {
        let n = table.texts.len();
        let random = anisotropy_pairs(n, plan.anisotropy_pairs, plan.seed, &task.name);
        let (s, p, c) = glove_series(g, Baseline::Glove.name(), &table, &task.name, &random);
        series.push(s);
        out.profile.push(p);
        c
    });
    let message = format!("scoring {} ({} replicates)", task.name, plan.bootstrap);
    let scoring = Progress::spinner(progress, message);
    let boot = BootstrapOptions {
        replicates: plan.bootstrap,
        confidence: plan.confidence,
        seed: plan.seed,
    };
    let (rows, stats) = evaluate_task(task, &series, boot);
    drop(scoring);
    out.rows.extend(rows);
    out.stats.extend(stats);
    out.tasks.push(task_info(task, &table, coverage));
    Ok(())
}

/// Loads only the GloVe words that the tasks' sentences can ask for.
fn load_glove(
    args: &StudyArgs,
    data_dir: &Path,
    tasks: &[Task],
    progress: bool,
) -> Result<(Glove, BaselineInfo)> {
    let path = args
        .glove
        .clone()
        .unwrap_or_else(|| data_dir.join("glove/glove.6B.50d.txt.gz"));
    let spin = Progress::spinner(progress, format!("loading {}", path.display()));
    let start = Instant::now();
    let wanted = candidates(
        tasks
            .iter()
            .flat_map(|t| t.pairs.iter().flat_map(|p| [p.s1.as_str(), p.s2.as_str()])),
    );
    let glove = Glove::load(&path, &wanted)?;
    drop(spin);
    let info = BaselineInfo {
        name: Baseline::Glove.name().into(),
        file: glove.id.clone(),
        dim: glove.dim,
        vocab_size: glove.vocab_size,
        words_loaded: glove.loaded_words(),
        load_seconds: start.elapsed().as_secs_f64(),
        tokenization: crate::glove::TOKENIZATION.into(),
    };
    Ok((glove, info))
}

/// Hashes checkpoints, resolves each model's layers and makes labels unique.
fn identify_models(models: &mut [StudyModel], plan: &Protocol) -> Result<Vec<ModelInfo>> {
    let mut infos: Vec<ModelInfo> = Vec::new();
    for m in models.iter_mut() {
        let base = m.label.clone();
        let mut k = 2;
        while infos.iter().any(|i| i.label == m.label) || m.label == Baseline::Glove.name() {
            m.label = format!("{base}#{k}");
            k += 1;
        }
        let config = m.engine.config().clone();
        let file = match &m.path {
            Some(p) if p.exists() => Some(file_id(p)?),
            _ => None,
        };
        infos.push(ModelInfo {
            label: m.label.clone(),
            path: m.path.as_ref().map(|p| p.display().to_string()),
            file,
            engine: m.engine.name(),
            layers: parse_layers(&plan.layers, config.n_layer)
                .map_err(|e| Error::input(format!("model `{}`: {e}", m.label)))?,
            config,
            untrained: match &m.path {
                Some(p) => safetensors_metadata(p)?.remove(UNTRAINED_KEY),
                None => None,
            },
        });
    }
    Ok(infos)
}

fn task_info(task: &Task, table: &SentenceTable, glove: Option<GloveCoverage>) -> TaskInfo {
    let mut subsets = BTreeMap::new();
    let mut domains = BTreeMap::new();
    for p in &task.pairs {
        *subsets.entry(p.subset.clone()).or_insert(0) += 1;
        *domains.entry(p.domain.clone()).or_insert(0) += 1;
    }
    TaskInfo {
        name: task.name.clone(),
        family: task.family.clone(),
        binary: task.binary,
        rows: task.pairs.len(),
        rows_loaded: task.rows_loaded,
        files: task.files.clone(),
        unique_sentences: table.texts.len(),
        subsets,
        domains,
        glove,
    }
}

fn notes(plan: &Protocol, c: &Collected, done: usize, total: usize) -> Vec<String> {
    let (rows, stats) = (&c.rows, &c.stats);
    let mut out = Vec::new();
    if done < total {
        out.push(format!(
            "partial results: {done} of {total} tasks done; run the same command again to resume"
        ));
    }
    for t in &c.tasks {
        if let Some(g) = t.glove.as_ref().filter(|g| g.sentences_without_vector > 0) {
            out.push(format!(
                "{}: {} sentences have no known GloVe word; {} pairs scored cosine 0 for the baseline",
                t.name, g.sentences_without_vector, g.undefined_pairs
            ));
        }
    }
    let undefined = rows
        .iter()
        .filter(|r| r.group == GroupKind::All && r.spearman.is_none())
        .count();
    if undefined > 0 {
        out.push(format!(
            "{undefined} task-level rows have an undefined Spearman (constant similarities)"
        ));
    }
    let domains: std::collections::BTreeSet<&str> =
        stats.iter().map(|s| s.domain.as_str()).collect();
    if domains.len() > 1 && !domains.contains(plan.reference_domain.as_str()) {
        out.push(format!(
            "reference domain `{}` is absent: no drops computed",
            plan.reference_domain
        ));
    }
    if plan.bootstrap > 0 {
        out.push(format!(
            "CIs: {} percentile-bootstrap replicates per group (pairs resampled with replacement, seed {}), shared across series",
            plan.bootstrap, plan.seed
        ));
    }
    out
}
