//! The fast CPU engine (`reference::fast`) in the bench: its prefill rows on the checkpoint
//! memory-mapped from a file (as a user's run loads it), its host memory against the
//! checkpoint's size, its agreement with the f32 oracle, and its GEMM and forward pass
//! under numpy's fp32 GEMM roof.

use std::path::Path;
use std::time::Instant;

use super::report::{At, CpuMemoryRow, CpuRoof, Report, FAST};
use super::spec::Point;
use super::{compare, ours, peer, BenchOptions, Job};
use crate::kit::memory::{anon_rss_bytes, AnonPeak};
use crate::reference::fast::{self, gemm, FastEngine};
use crate::Result;

/// What the fast engine's run hands back for the agreement check and the roof.
pub struct FastRun {
    pub finals: compare::Finals,
    /// GFLOP/s of our GEMM on `[m][C] × [F][C]ᵀ` with the model's own f16 weights.
    pub gemm: Option<([u32; 3], f64)>,
}

/// The fast engine on `model` (the job's checkpoint written as safetensors): prefill at
/// the job's CPU points, memory row, final states on `agree_toks`, and with `roof` its
/// GEMM's rate on the job's FFN shape.
pub fn run(
    opts: &BenchOptions,
    job: &Job,
    model: &Path,
    agree_toks: &[Vec<u32>],
    roof: bool,
    report: &mut Report,
) -> Result<FastRun> {
    super::progress(FAST);
    let before = anon_rss_bytes().unwrap_or(0);
    let sampler = AnonPeak::start();
    let ck = crate::model::load::load(model)?;
    let checkpoint_bytes = ck.file_bytes;
    let mut engine = FastEngine::new(&ck)?;
    drop(ck); // the engine's tensors keep the mapping alive
    let (shape, reps, rows) = (
        &job.shape,
        (opts.warmup.min(1), opts.repeat),
        &mut report.prefill,
    );
    ours::prefill(
        FAST,
        &mut engine,
        shape,
        &job.cpu_points,
        reps,
        opts.seed,
        rows,
    )?;
    let finals = finals(&engine, agree_toks)?;
    let anon = sampler.stop().saturating_sub(before);
    let largest = *job.cpu_points.last().expect("a job has CPU points");
    report.cpu_memory.push(CpuMemoryRow {
        at: ours::row(FAST, shape, largest, vec![]).at,
        checkpoint_bytes,
        anon_peak_bytes: anon,
        ratio: (checkpoint_bytes + anon) as f64 / checkpoint_bytes.max(1) as f64,
    });
    let gemm = roof.then(|| gemm_rate(&engine, largest));
    Ok(FastRun { finals, gemm })
}

/// The fast engine's last-layer states and hidden rows on `toks` (no logits: it has no head).
fn finals(engine: &FastEngine, toks: &[Vec<u32>]) -> Result<compare::Finals> {
    let w = engine.weights();
    let (c, l) = (w.config.n_embd, w.config.n_layer);
    let hn2 = w.config.n_head * w.config.head_size * w.config.head_size;
    let mut last_layer = Vec::new();
    let lengths: Vec<usize> = toks.iter().map(Vec::len).collect();
    let (_, states) = fast::forward_with(w, toks, true, |layer, x| {
        if layer == l {
            let mut end = 0;
            for len in &lengths {
                end += len;
                last_layer.push(x[(end - 1) * c..end * c].to_vec());
            }
        }
    })?;
    let last = states
        .and_then(|mut s| s.pop())
        .expect("states were asked for");
    let per_seq = |all: &[f32], n| all.chunks_exact(n).map(<[f32]>::to_vec).collect();
    Ok(compare::Finals {
        att_shift: per_seq(&last.att_shift, c),
        wkv: per_seq(&last.wkv, hn2),
        ffn_shift: per_seq(&last.ffn_shift, c),
        logits: vec![],
        last_layer,
    })
}

/// Best GFLOP/s of `gemm::linear` on `[m][C] · W_keyᵀ` (the first block's FFN key, `[F][C]`,
/// in the checkpoint's dtype), m = the largest point's tokens (at most 1024).
fn gemm_rate(engine: &FastEngine, largest: Point) -> ([u32; 3], f64) {
    let w = engine.weights().blocks[0].ffn.key.view();
    let m = largest.tokens().clamp(16, 1024);
    let x: Vec<f32> = (0..m * w.cols)
        .map(|i| ((i % 97) as f32 - 48.0) / 97.0)
        .collect();
    let flops = 2.0 * (m * w.rows * w.cols) as f64;
    let once = || {
        let t = Instant::now();
        std::hint::black_box(gemm::linear(&x, m, &w));
        t.elapsed().as_secs_f64()
    };
    once(); // warm-up
    let best = (0..5).map(|_| once()).fold(f64::INFINITY, f64::min);
    ([m as u32, w.rows as u32, w.cols as u32], flops / best / 1e9)
}

/// The CPU roof of a `--cpu-only` run: numpy's GEMM on the shape our GEMM was timed on,
/// and the fast engine's forward pass at its largest point.
pub fn roof(job: &Job, run: &FastRun, python: bool, report: &Report) -> Option<CpuRoof> {
    let (mnk, gflops) = run.gemm?;
    let best = (report.prefill.iter())
        .filter(|p| p.engine == FAST && p.ok() && p.at.shape == job.shape.name)
        .max_by_key(|p| p.at.point.tokens())?;
    let numpy = python.then(|| {
        super::progress("numpy GEMM roof");
        peer::numpy_gemm_gflops(mnk).ok()
    });
    Some(CpuRoof {
        mnk,
        numpy_gemm_gflops: numpy.flatten(),
        fast_gemm_gflops: gflops,
        threads: threads(),
        forward_point: label(&best.at),
        fast_forward_gflops: job.shape.flops_per_token() * best.tokens_per_s / 1e9,
    })
}

fn label(at: &At) -> String {
    format!("{} {} {}", at.shape, at.precision, at.point.label())
}

/// Threads the CPU engines run on (rayon's global pool).
pub fn threads() -> usize {
    rayon::current_num_threads()
}
