//! `rwkv-lens bench`: how rwkv-lens compares, in one run on one adapter, with the other
//! ways to run RWKV-6, and how far it is from the adapter's limits.
//!
//! ```text
//! for each shape (finch-1b6, small) × precision (f16, f32):
//!     random checkpoint, real tensor names and shapes (model::random)
//!     rwkv-lens gpu   prefill at every batch × length point        (ours.rs)
//!     cpu reference   prefill at the points it can do in seconds   (ours.rs)
//!     web-rwkv        prefill at the same points, same tokens      (peer.rs, peer/web-rwkv)
//!     agreement       last-layer final state: web-rwkv, gpu, reference (compare.rs)
//! roofline            GEMM GFLOP/s of our matmul, copy GB/s, the forward pass under both
//! kernels             share of GPU time per kernel family (timestamp queries)
//! embedding           MRPC pairs, all layers pooled: ms/pair, pairs/s, memory (ours.rs)
//! ratios              ours ÷ peer, computed from the rows above (report.rs)
//! ```

pub mod compare;
pub mod cpu;
pub mod ours;
pub mod peer;
pub mod plan;
pub mod report;
pub mod roofline;
pub mod spec;
pub mod table;

use std::path::{Path, PathBuf};

pub use plan::{BenchOptions, Job};
pub use report::Report;

use crate::data::TaskSpec;
use crate::hub::OpenedModel;
use crate::io::write_atomic;
use crate::kit::progress::Progress;
use crate::model::checkpoint::write_safetensors;
use crate::model::random::random_checkpoint;
use crate::model::{Checkpoint, DType};
use crate::reference::CpuEngine;
use crate::Result;
use compare::{GPU_REL_TOL, WEB_RWKV_REL_TOL};
use peer::PeerFiles;
use report::{KernelBreakdown, CPU, OURS};
use spec::tokens;

/// Runs the whole bench; progress goes to stderr, the result is returned.
pub fn run(opts: &BenchOptions) -> Result<Report> {
    let mut report = Report::new(&opts.command, opts.quick);
    let ctx = (!opts.cpu_only)
        .then(|| roofline::open(&opts.gpu_options(DType::F16, 1, false)))
        .transpose()?;
    report.adapter = ctx.as_ref().map(roofline::adapter_report);
    let cpu_adapter = ctx
        .as_ref()
        .is_some_and(|c| !crate::gpu::context::is_gpu(&c.info));
    let peers = Peers::find(opts, &mut report);
    let model = (opts.model.as_deref())
        .map(|m| crate::hub::model::open(m, opts.tokenizer.as_deref()))
        .transpose()?;
    let model_shape = (model.as_ref())
        .map(|m| spec::Shape::of_checkpoint(&m.resolved.label, &m.checkpoint, opts.seed));
    if let Some(m) = &model {
        let (spec, weights) = (&m.resolved.spec, m.resolved.weights.display());
        let note = format!("model {spec} ({weights}): its own weights, vocabulary and tokenizer");
        report.notes.push(note);
    }
    let jobs = opts.jobs(cpu_adapter, peers.web_rwkv.is_some(), model_shape.as_ref())?;
    let scratch = std::env::temp_dir().join(format!("rwkv-lens-bench-{}", std::process::id()));
    let ck = model.as_ref().map(|m| &m.checkpoint);
    for job in &jobs {
        progress(&format!("{}: {} points", job.label(), job.points.len()));
        run_job(opts, job, ck, &peers, &scratch, &mut report)?;
    }
    if let (true, Some(ctx)) = (opts.roofline, &ctx) {
        // the last shape's f16 job (else the last job)
        let f16 = jobs.iter().rev().find(|j| j.precision == DType::F16);
        let job = f16.unwrap_or(&jobs[jobs.len() - 1]);
        let mut roof = measure_roofline(ctx, job, &report, cpu_adapter, opts.quick)?;
        if matches!(peers.python, Some(Ok(()))) {
            cpu_roof(job, &report, &mut roof);
        }
        report.roofline = Some(roof);
    }
    drop(ctx);
    if opts.embedding && !opts.cpu_only {
        let model = model.as_ref().zip(model_shape.as_ref());
        run_embedding(opts, cpu_adapter, model, &mut report)?;
    }
    let _ = std::fs::remove_dir_all(&scratch);
    *STEP.lock().unwrap_or_else(|e| e.into_inner()) = None;
    add_notes(&jobs, peers.web_rwkv.is_some(), &mut report);
    report.finish();
    Ok(report)
}

/// The peers of this run: the web-rwkv binary, and whether the Python peers run (`Err`:
/// why they cannot); `None` when switched off or (web-rwkv) not found.
struct Peers {
    web_rwkv: Option<PathBuf>,
    python: Option<std::result::Result<(), String>>,
}

impl Peers {
    /// The peers `opts` asks for; a note for each that cannot run.
    fn find(opts: &BenchOptions, report: &mut Report) -> Peers {
        let web_rwkv = (!opts.no_peer && !opts.cpu_only)
            .then(|| opts.peer.clone().or_else(peer::locate_web_rwkv))
            .flatten();
        if web_rwkv.is_none() && !opts.no_peer && !opts.cpu_only {
            let why = "web-rwkv: peer not built (run `make bench-peer`)";
            report.notes.push(why.into());
        }
        let python = (!opts.no_python).then(peer::python_available);
        if let Some(Err(why)) = &python {
            let note = format!("python rwkv, numpy GEMM: not available ({why})");
            report.notes.push(note);
        }
        Peers { web_rwkv, python }
    }
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

/// One shape × precision: our GPU (unless `--cpu-only`), the f32 oracle, the fast CPU
/// engine, the peers, the agreement checks.
fn run_job(
    opts: &BenchOptions,
    job: &Job,
    model: Option<&Checkpoint>,
    peers: &Peers,
    scratch: &Path,
    report: &mut Report,
) -> Result<()> {
    let random;
    let ck = match model {
        Some(ck) => ck,
        None => {
            random = random_checkpoint(&job.shape.spec)?;
            &random
        }
    };
    let agree_toks = tokens(job.points[0], ck.config.vocab_size, opts.seed);
    let gpu_finals = match opts.cpu_only {
        true => None,
        false => Some(run_gpu(opts, job, ck, &agree_toks, report)?),
    };
    progress(CPU);
    let mut cpu = CpuEngine::new(ck)?;
    let (shape, reps, rows) = (&job.shape, (0, opts.repeat.min(2)), &mut report.prefill);
    let fpt = shape.flops_per_token();
    let oracle_points: Vec<_> = match opts.cpu_only {
        true => (job.cpu_points.iter().copied())
            .filter(|p| p.tokens() as f64 * fpt <= opts.oracle_budget())
            .collect(),
        false => job.cpu_points.clone(),
    };
    ours::prefill(CPU, &mut cpu, shape, &oracle_points, reps, opts.seed, rows)?;
    let finals = compare::reference_finals(&cpu, &agree_toks)?;
    drop(cpu);
    if let Some(gpu) = &gpu_finals {
        (report.agreement).extend(compare::gpu_agreement(&job.label(), gpu, &finals));
    }
    // the checkpoint as a file: the fast engine maps it, the Python peer reads it
    let model_file = scratch.join("model-official.safetensors");
    let tensors: Vec<_> = ck.tensors().map(|(n, t)| (n.clone(), t.clone())).collect();
    write_atomic(&model_file, &write_safetensors(&tensors)?)?;
    drop(tensors);
    let roof = opts.cpu_only && opts.roofline;
    let fast = cpu::run(opts, job, &model_file, &agree_toks, roof, report)?;
    (report.agreement).extend(compare::fast_agreement(&job.label(), &fast.finals, &finals));
    if roof {
        let python = matches!(peers.python, Some(Ok(())));
        report.cpu_roof = cpu::roof(job, &fast, python, report).or(report.cpu_roof.take());
    }
    if !job.peer_points.is_empty() {
        let files = PeerFiles::write(scratch, ck, &job.peer_points, opts.seed)?;
        let finals = (gpu_finals.as_ref(), &finals);
        run_peers(opts, job, &model_file, peers, &files, finals, report);
    }
    let _ = std::fs::remove_file(&model_file);
    Ok(())
}

/// Our GPU engine at every point of `job`, its memory row, the kernel profile where it is
/// due; its final states on `agree_toks`.
fn run_gpu(
    opts: &BenchOptions,
    job: &Job,
    ck: &Checkpoint,
    agree_toks: &[Vec<u32>],
    report: &mut Report,
) -> Result<compare::Finals> {
    let (mut gpu, memory) = ours::gpu_prefill(opts, job, ck, &mut report.prefill)?;
    report.memory.push(memory);
    let gpu_finals = compare::gpu_finals(&mut gpu, ck, agree_toks)?;
    drop(gpu);
    if opts.profile && report.kernels.is_none() {
        report.kernels = profile(opts, job, ck)?;
    }
    Ok(gpu_finals)
}

/// The kernel profile where it is most telling: `--model`'s first job, else the last
/// shape's f16 job; at its largest point.
fn profile(opts: &BenchOptions, job: &Job, ck: &Checkpoint) -> Result<Option<KernelBreakdown>> {
    let last_shape = opts.shape_names().last() == Some(&job.shape.name);
    if opts.model.is_none() && (job.precision != DType::F16 || !last_shape) {
        return Ok(None);
    }
    ours::kernel_breakdown(opts, job, ck)
}

/// The peers on the job's peer points: their rows, and their agreement with the reference
/// (and, for web-rwkv on the same adapter, with our GPU's att shift). `model`: the job's
/// checkpoint as a safetensors file with the official names.
fn run_peers(
    opts: &BenchOptions,
    job: &Job,
    model: &Path,
    peers: &Peers,
    files: &PeerFiles,
    (gpu, finals): (Option<&compare::Finals>, &compare::Finals),
    report: &mut Report,
) {
    let (shape, label, first) = (&job.shape, &job.label(), job.peer_points[0]);
    let ck_of = || crate::model::load::load(model);
    let mut runs = Vec::new();
    if let Some(bin) = &peers.web_rwkv {
        progress("web-rwkv peer");
        let run = ck_of().and_then(|ck| peer::run_web_rwkv(bin, opts, &ck, files));
        runs.push(("web-rwkv", WEB_RWKV_REL_TOL, run));
    } else if !opts.no_peer && !opts.cpu_only {
        (report.prefill).push(ours::failed("web-rwkv", shape, first, "peer not built"));
    }
    match &peers.python {
        Some(Ok(())) => {
            progress("python rwkv peer");
            runs.push((
                "python rwkv",
                GPU_REL_TOL,
                peer::run_python_file(model, files),
            ));
        }
        Some(Err(why)) => {
            let why = format!("not available: {why}");
            (report.prefill).push(ours::failed("python rwkv", shape, first, why));
        }
        None => {}
    }
    for (peer, rel, run) in runs {
        let rows = peer::peer_rows(peer, shape, &job.peer_points, &run);
        report.prefill.extend(rows);
        if let Some(states) = run.as_ref().ok().and_then(|r| r.states.as_ref()) {
            let gpu = gpu.filter(|_| peer == "web-rwkv").map(|g| &g.att_shift[..]);
            let rows = compare::peer_agreement(label, peer, rel, states, finals, gpu);
            report.agreement.extend(rows);
        }
    }
}

/// Both roofs, and the forward pass of our largest point of `job` under them.
fn measure_roofline(
    ctx: &crate::gpu::context::Context,
    job: &Job,
    report: &Report,
    cpu_adapter: bool,
    quick: bool,
) -> Result<report::Roofline> {
    let cfg = &job.shape.spec;
    let best = largest_row(report, OURS, job);
    let rows = best.map_or(64, |r| r.at.point.tokens()).clamp(16, 4096) as u32;
    let (f, c) = (cfg.ffn_dim as u32, cfg.n_embd as u32);
    // the probes: full size on GPUs, small on CPU adapters and in `--quick`
    let (mnk, copy_bytes, iters) = match (quick, cpu_adapter) {
        (true, _) => ([32, 256, 256], 4 << 20, 2),
        (false, true) => ([rows.min(256), f, c], 64 << 20, 2),
        (false, false) => ([rows, f, c], 512 << 20, 20),
    };
    progress("roofline");
    let f16 = job.precision == DType::F16;
    let mut r = roofline::measure(ctx, mnk, copy_bytes, iters, f16)?;
    if let Some(b) = best {
        let tokens = b.at.point.tokens() as f64;
        let flops = job.shape.flops_per_token() * tokens;
        let bytes =
            job.shape.weight_bytes(job.precision) as f64 + 2.0 * tokens * cfg.n_embd as f64 * 4.0;
        let point = format!("{} {} {}", b.at.shape, b.at.precision, b.at.point.label());
        roofline::place_forward(&mut r, point, flops, bytes, crate::kit::median(&b.seconds));
    }
    Ok(r)
}

/// `engine`'s successful prefill row of `job` with the most tokens.
fn largest_row<'r>(report: &'r Report, engine: &str, job: &Job) -> Option<&'r report::PrefillRow> {
    let of_job = |p: &&report::PrefillRow| {
        let at = (&p.at.shape, p.at.precision.as_str());
        p.engine == engine && p.ok() && at == (&job.shape.name, job.precision.name())
    };
    (report.prefill.iter())
        .filter(of_job)
        .max_by_key(|p| p.at.point.tokens())
}

/// numpy's fp32 GEMM at the CPU reference's largest point of the roofline's job (rows × F
/// × C), and the reference's forward pass there in GFLOP/s.
fn cpu_roof(job: &Job, report: &Report, r: &mut report::Roofline) {
    let Some(best) = largest_row(report, CPU, job) else {
        return;
    };
    let s = &job.shape.spec;
    let rows = best.at.point.tokens() as u32;
    let mnk = [rows, s.ffn_dim as u32, s.n_embd as u32];
    progress("numpy GEMM roof");
    r.numpy_gemm_gflops = peer::numpy_gemm_gflops(mnk).ok();
    r.numpy_gemm_mnk = Some(mnk);
    r.cpu_forward_gflops = Some(job.shape.flops_per_token() * best.tokens_per_s / 1e9);
}

/// MRPC pairs through our GPU engine, all layers pooled: `--model`'s checkpoint with its
/// tokenizer, else a random one (f16 weights) with the World tokenizer.
fn run_embedding(
    opts: &BenchOptions,
    cpu_adapter: bool,
    model: Option<(&OpenedModel, &spec::Shape)>,
    report: &mut Report,
) -> Result<()> {
    let data =
        (opts.data.clone()).or_else(|| std::env::var_os("RWKV_LENS_DATA").map(PathBuf::from));
    let train = crate::data::tasks::find_source("mrpc", "glue-train")?;
    let Some(data) = data.filter(|d| d.join(train.file).is_file()) else {
        let why = "embedding: skipped, no MRPC data (pass --data DIR or set RWKV_LENS_DATA)";
        report.notes.push(why.into());
        return Ok(());
    };
    let (n_train, n_dev) = opts.mrpc_pairs(cpu_adapter);
    let spec = format!("mrpc:glue-train@{n_train}+glue-validation@{n_dev}");
    let pairs = crate::data::load_task(&TaskSpec::parse(&spec)?, &data, None)?.pairs;
    let (random, world);
    let (ck, shape, tokenizer) = match model {
        Some((m, shape)) => (&m.checkpoint, shape.clone(), &m.tokenizer),
        None => {
            let name = opts.embedding_shape(cpu_adapter);
            let shape = spec::Shape::preset(&name, opts.vocab, opts.seed)?.with_dtype(DType::F16);
            random = random_checkpoint(&shape.spec)?;
            world = crate::tokenizer::Tokenizer::from_spec("world")?;
            (&random, shape, &world)
        }
    };
    let (n, name) = (pairs.len(), &shape.name);
    progress(&format!("embedding: {n} MRPC pairs on {name}"));
    let vocab = ck.config.vocab_size as u32;
    // Random weights: ids above the vocab (only possible for tiny test shapes) wrap around
    // (a model's own tokenizer never exceeds its vocabulary: hub::model::open checks it).
    let tokenize = |s: &str| -> Result<Vec<u32>> {
        let ids = tokenizer.encode(s)?;
        Ok(ids.into_iter().map(|t| t % vocab).collect())
    };
    let gpu_opts = opts.gpu_options(shape.spec.dtype, 4096, false);
    let mut engine = crate::gpu::GpuEngine::new(ck, gpu_opts)?;
    let r = ours::embed_pairs(&mut engine, &shape, &pairs, &tokenize)?;
    report.embedding.push(r);
    Ok(())
}

fn add_notes(jobs: &[Job], peer_ran: bool, report: &mut Report) {
    let small_head = |j: &Job| j.shape.name == "finch-1b6" && j.shape.spec.vocab_size == 32768;
    if peer_ran && jobs.iter().any(small_head) {
        report.notes.push(
            "finch-1b6 runs with vocab 32768: web-rwkv asks for a 256 MiB binding for the 65536-row LM head and fails on 128 MiB adapters; rwkv-lens never runs the head (embedding rows are gathered on the host), so its prefill does not depend on the vocab".into(),
        );
    }
    report.notes.push("web-rwkv runs f16 weights with f16 activations (its default); rwkv-lens f16 rows use packed-f16 weights with f32 maths".into());
    report.notes.push("tokens/s = B·T ÷ median wall-clock seconds of a whole prefill (upload, all layers, read-back), after warm-up".into());
}
