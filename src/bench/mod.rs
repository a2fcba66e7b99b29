//! `rwkv-lens bench`: how rwkv-lens compares, in one run on one adapter, with the other
//! ways to run RWKV-6, and how far it is from the adapter's limits.
//!
//! ```text
//! for each shape (finch-1b6, small) × precision (f16, f32):
//!     random checkpoint, real tensor names and shapes (model::random)
//!     rwkv-lens gpu   prefill at every batch × length point        (ours.rs)
//!     cpu reference   prefill at the points it can do in seconds   (ours.rs)
//!     web-rwkv        prefill at the same points, same tokens      (compare.rs, peer/web-rwkv)
//!     agreement       last-layer final state: web-rwkv, gpu, reference (compare.rs)
//! roofline            GEMM GFLOP/s of our matmul, copy GB/s, the forward pass under both
//! kernels             share of GPU time per kernel family (timestamp queries)
//! embedding           MRPC pairs, all layers pooled: ms/pair, pairs/s, memory (embedding.rs)
//! ratios              ours ÷ peer, computed from the rows above (report.rs)
//! ```

pub mod compare;
pub mod embedding;
pub mod memory;
pub mod ours;
pub mod peer;
pub mod plan;
pub mod report;
pub mod roofline;
pub mod spec;
pub mod table;
pub mod timing;

use std::path::{Path, PathBuf};

pub use plan::{BenchOptions, Job, PeerChoice};
pub use report::Report;

use crate::embed::Engine;
use crate::kit::progress::Progress;
use crate::model::random::random_checkpoint;
use crate::model::{Checkpoint, DType};
use crate::reference::CpuEngine;
use crate::study::tasks::TaskSpec;
use crate::{Error, Result};
use ours::EngineSetup;
use report::OURS;
use spec::tokens;
use timing::Repeats;

/// Runs the whole bench; progress goes to stderr, the result is returned.
pub fn run(opts: &BenchOptions) -> Result<Report> {
    let mut report = Report::new(&opts.command, opts.quick);
    let setup = EngineSetup {
        adapter: opts.adapter.clone(),
        backend: opts.backend.clone(),
        reps: Repeats {
            warmup: opts.warmup,
            timed: opts.repeat.max(1),
        },
        seed: opts.seed,
    };
    let ctx = roofline::open(&setup.gpu_options(DType::F16, 1, false))?;
    report.adapter = Some(roofline::adapter_report(
        &ctx,
        roofline::adapter_features(&ctx),
    ));
    let cpu_adapter = ctx.info.device_type == wgpu::DeviceType::Cpu;
    let peer_choice = opts.peer_choice();
    let peer_bin = match &peer_choice {
        PeerChoice::Off => None,
        PeerChoice::Path(p) => Some(p.clone()),
        PeerChoice::Auto => peer::locate_web_rwkv(None),
    };
    if peer_bin.is_none() && peer_choice == PeerChoice::Auto {
        report
            .notes
            .push("web-rwkv: peer not built (run `make bench-peer`)".into());
    }
    let jobs = opts.jobs(cpu_adapter, peer_bin.is_some())?;
    let scratch = scratch_dir()?;
    for job in &jobs {
        progress(&format!(
            "{} {}: {} points",
            job.shape.name,
            job.precision.name(),
            job.points.len()
        ));
        run_job(
            opts,
            &setup,
            job,
            peer_bin.as_deref(),
            &scratch,
            &mut report,
        )?;
    }
    if opts.roofline {
        report.roofline = Some(measure_roofline(
            &ctx,
            &jobs,
            &report,
            cpu_adapter,
            opts.quick,
        )?);
    }
    drop(ctx);
    if opts.embedding {
        run_embedding(opts, &setup, cpu_adapter, &mut report)?;
    }
    let _ = std::fs::remove_dir_all(&scratch);
    end_progress();
    add_notes(&jobs, peer_bin.is_some(), &mut report);
    report.finish();
    Ok(report)
}

/// The step now running: a spinner on a terminal, else a line every few seconds.
static STEP: std::sync::Mutex<Option<Progress>> = std::sync::Mutex::new(None);

/// Announces a step (a line on stderr) and keeps showing it is alive until the next.
pub(crate) fn progress(msg: &str) {
    let mut step = STEP.lock().unwrap_or_else(|e| e.into_inner());
    *step = None;
    eprintln!("bench: {msg}");
    *step = Some(Progress::spinner(true, format!("bench: {msg}")));
}

fn end_progress() {
    *STEP.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

fn scratch_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("rwkv-lens-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::file(dir.display(), format!("cannot create: {e}")))?;
    Ok(dir)
}

/// One shape × precision: our GPU, the CPU reference, the peers, the agreement checks.
fn run_job(
    opts: &BenchOptions,
    setup: &EngineSetup,
    job: &Job,
    peer_bin: Option<&Path>,
    scratch: &Path,
    report: &mut Report,
) -> Result<()> {
    let ck = random_checkpoint(&job.shape.spec)?;
    let agree_toks = tokens(job.points[0], ck.config.vocab_size, setup.seed);
    let (mut gpu, memory) =
        ours::gpu_prefill(setup, &job.shape, &ck, &job.points, &mut report.prefill)?;
    report.memory.push(memory);
    let gpu_rows = ours::gpu_last_rows(&mut gpu, &agree_toks)?;
    drop(gpu);
    let profile_here = opts.profile
        && report.kernels.is_none()
        && job.precision == DType::F16
        && is_last_f16(opts, job);
    if profile_here {
        let largest = *job
            .points
            .iter()
            .max_by_key(|p| p.tokens())
            .expect("points");
        progress(&format!("kernel profile at {}", largest.label()));
        report.kernels = ours::kernel_breakdown(setup, &ck, largest)?;
    }
    progress("cpu reference");
    let mut cpu = CpuEngine::new(&ck)?;
    ours::cpu_prefill(
        setup,
        &job.shape,
        &mut cpu,
        job.precision,
        &job.cpu_points,
        &mut report.prefill,
    )?;
    let finals = compare::reference_finals(&cpu, &agree_toks)?;
    drop(cpu);
    let name = &format!("{} {}", job.shape.name, job.precision.name());
    report
        .agreement
        .extend(compare::gpu_agreement(name, &ck, &gpu_rows, &finals)?);
    let gpu_att = compare::gpu_att_shift(&ck, &gpu_rows)?;
    if job.peer_points.is_empty() {
        return Ok(());
    }
    let files = compare::write_batches(scratch, &ck, &job.peer_points, setup.seed)?;
    match peer_bin {
        Some(bin) => {
            progress("web-rwkv peer");
            let run = compare::run_web_rwkv(bin, setup, &ck, &files);
            report.prefill.extend(compare::peer_rows(
                "web-rwkv",
                &job.shape,
                &job.peer_points,
                &run,
            ));
            if let (Ok(_), Some(states)) = (&run, compare::peer_states(&files)) {
                report.agreement.extend(compare::web_rwkv_agreement(
                    name,
                    &states,
                    &finals,
                    Some(&gpu_att),
                ));
            }
        }
        None if opts.peer_choice() != PeerChoice::Off => {
            let p = job.peer_points[0];
            report.prefill.push(compare::failed(
                "web-rwkv",
                &job.shape,
                p,
                "peer not built".into(),
            ));
        }
        None => {}
    }
    if opts.python {
        run_python_peer(job, &ck, &files, &finals, report)?;
    }
    Ok(())
}

/// Whether `job` is the biggest f16 job (where the kernel profile is most telling).
fn is_last_f16(opts: &BenchOptions, job: &Job) -> bool {
    opts.shape_names().last().map(String::as_str) == Some(job.shape.name.as_str())
}

fn run_python_peer(
    job: &Job,
    ck: &Checkpoint,
    files: &compare::PeerFiles,
    finals: &compare::Finals,
    report: &mut Report,
) -> Result<()> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bench-python-rwkv.py");
    let model = files.dir.join("model-official.safetensors");
    let tensors: Vec<_> = ck.tensors().map(|(n, t)| (n.clone(), t.clone())).collect();
    let bytes = crate::model::checkpoint::write_safetensors(&tensors)?;
    std::fs::write(&model, bytes)
        .map_err(|e| Error::file(model.display(), format!("cannot write: {e}")))?;
    progress("python rwkv peer");
    let _ = std::fs::remove_file(&files.states);
    let run = compare::run_python(&script, &model, files);
    report.prefill.extend(compare::peer_rows(
        "python rwkv",
        &job.shape,
        &job.peer_points,
        &run,
    ));
    if let (Ok(_), Some(states)) = (&run, compare::peer_states(files)) {
        let label = format!("{} {}", job.shape.name, job.precision.name());
        let mut rows = compare::web_rwkv_agreement(&label, &states, finals, None);
        for r in &mut rows {
            r.pair = "python rwkv vs cpu reference".into();
            r.tolerance = compare::GPU_REL_TOL * r.max_abs_ref.max(1.0);
            r.pass = r.max_abs_diff <= r.tolerance;
        }
        report.agreement.extend(rows);
    }
    let _ = std::fs::remove_file(&model);
    Ok(())
}

/// Both roofs, and the forward pass of our largest f16 point of the last shape under them.
fn measure_roofline(
    ctx: &crate::gpu::context::Context,
    jobs: &[Job],
    report: &Report,
    cpu_adapter: bool,
    quick: bool,
) -> Result<report::Roofline> {
    let job = jobs
        .iter()
        .rev()
        .find(|j| j.precision == DType::F16)
        .unwrap_or(&jobs[jobs.len() - 1]);
    let cfg = &job.shape.spec;
    let best = report
        .prefill
        .iter()
        .filter(|r| {
            r.engine == OURS
                && r.ok()
                && r.shape == job.shape.name
                && r.precision == job.precision.name()
        })
        .max_by_key(|r| r.batch * r.length);
    let rows = best.map_or(64, |r| r.batch * r.length).clamp(16, 4096) as u32;
    let probe = match (quick, cpu_adapter) {
        (true, _) => roofline::Probe {
            mnk: [32, 256, 256],
            copy_bytes: 4 << 20,
            iters: 2,
        },
        (false, true) => roofline::Probe {
            mnk: [rows.min(256), cfg.ffn_dim as u32, cfg.n_embd as u32],
            copy_bytes: 64 << 20,
            iters: 2,
        },
        (false, false) => roofline::Probe {
            mnk: [rows, cfg.ffn_dim as u32, cfg.n_embd as u32],
            copy_bytes: 512 << 20,
            iters: 20,
        },
    };
    progress("roofline");
    let mut r = roofline::measure(ctx, &probe, job.precision == DType::F16)?;
    if let Some(b) = best {
        let tokens = (b.batch * b.length) as f64;
        let flops = job.shape.flops_per_token() * tokens;
        let cfg_full = random_config(job)?;
        let bytes = memory::weight_bytes(&cfg_full, job.precision) as f64
            + 2.0 * tokens * cfg.n_embd as f64 * 4.0;
        roofline::place_forward(
            &mut r,
            format!("{} {} {}×{}", b.shape, b.precision, b.batch, b.length),
            flops,
            bytes,
            report::median(&b.seconds),
        );
    }
    Ok(r)
}

/// The Config of a job's shape, without generating its weights.
fn random_config(job: &Job) -> Result<crate::model::Config> {
    let s = &job.shape.spec;
    Ok(crate::model::Config {
        version: crate::model::Version::V6,
        n_layer: s.n_layer,
        n_embd: s.n_embd,
        n_head: s.n_embd / s.head_size,
        head_size: s.head_size,
        ffn_dim: s.ffn_dim,
        vocab_size: s.vocab_size,
        mix_lora: s.mix_lora,
        decay_lora: s.decay_lora,
    })
}

/// MRPC pairs through our GPU engine (f16 weights), all layers pooled.
fn run_embedding(
    opts: &BenchOptions,
    setup: &EngineSetup,
    cpu_adapter: bool,
    report: &mut Report,
) -> Result<()> {
    let data = opts
        .data
        .clone()
        .or_else(|| std::env::var_os("RWKV_LENS_DATA").map(PathBuf::from));
    let train = crate::study::tasks::find_source("mrpc", "glue-train")?;
    let Some(data) = data.filter(|d| d.join(train.file).is_file()) else {
        report.notes.push(
            "embedding: skipped, no MRPC data (pass --data DIR or set RWKV_LENS_DATA)".into(),
        );
        return Ok(());
    };
    let (n_train, n_dev) = opts.mrpc_pairs(cpu_adapter);
    let spec = format!("mrpc:glue-train@{n_train}+glue-validation@{n_dev}");
    let pairs = crate::study::tasks::load_task(&TaskSpec::parse(&spec)?, &data, None)?.pairs;
    let shape = spec::Shape::preset(&opts.embedding_shape(cpu_adapter), opts.vocab, opts.seed)?
        .with_dtype(DType::F16);
    progress(&format!(
        "embedding: {} MRPC pairs on {}",
        pairs.len(),
        shape.name
    ));
    let ck = random_checkpoint(&shape.spec)?;
    let tokenizer = crate::tokenizer::Tokenizer::from_spec("world")?;
    let vocab = ck.config.vocab_size as u32;
    // Random weights: ids above the vocab (only possible for tiny test shapes) wrap around.
    let tokenize = |s: &str| -> Result<Vec<u32>> {
        Ok(tokenizer
            .encode(s)?
            .into_iter()
            .map(|t| t % vocab)
            .collect())
    };
    let mut engine = crate::gpu::GpuEngine::new(&ck, setup.gpu_options(DType::F16, 4096, false))?;
    let name = engine.name();
    let mut r = embedding::run(&mut engine, &name, &shape.name, "f16", &pairs, &tokenize)?;
    r.engine = format!("{OURS} ({name})");
    report.embedding.push(r);
    Ok(())
}

fn add_notes(jobs: &[Job], peer_ran: bool, report: &mut Report) {
    if peer_ran
        && jobs
            .iter()
            .any(|j| j.shape.name == "finch-1b6" && j.shape.spec.vocab_size == 32768)
    {
        report.notes.push(
            "finch-1b6 runs with vocab 32768: web-rwkv asks for a 256 MiB binding for the 65536-row LM head and fails on 128 MiB adapters; rwkv-lens never runs the head (embedding rows are gathered on the host), so its prefill does not depend on the vocab".into(),
        );
    }
    report.notes.push("web-rwkv runs f16 weights with f16 activations (its default); rwkv-lens f16 rows use packed-f16 weights with f32 maths".into());
    report.notes.push("tokens/s = B·T ÷ median wall-clock seconds of a whole prefill (upload, all layers, read-back), after warm-up".into());
}
