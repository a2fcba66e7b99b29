//! Our two engines on one shape × precision: the GPU engine at every grid point (plus
//! memory, per-kernel profile and the hidden states the agreement check needs), the
//! CPU reference at the points small enough for it, and the MRPC embedding workload.

use std::time::Instant;

use super::report::OURS;
use super::report::{
    At, EmbeddingReport, KernelBreakdown, KernelShare, MemoryRow, PrefillRow, Status,
};
use super::spec::{budget_fraction, tokens, Point, Shape};
use super::{BenchOptions, Job};
use crate::data::Pair;
use crate::embed::{Engine, Pooling};
use crate::gpu::GpuEngine;
use crate::kit::memory::{peak_rss_bytes, rss_bytes};
use crate::kit::{find_or_push, median};
use crate::model::Checkpoint;
use crate::Result;

/// Runs `pass` `warmup` times untimed, then `timed` times (at least once); returns each
/// timed duration in seconds.
pub fn time_passes(
    warmup: usize,
    timed: usize,
    mut pass: impl FnMut() -> Result<()>,
) -> Result<Vec<f64>> {
    for _ in 0..warmup {
        pass()?;
    }
    (0..timed.max(1))
        .map(|_| {
            let t0 = Instant::now();
            pass().map(|()| t0.elapsed().as_secs_f64())
        })
        .collect()
}

/// A prefill row from timed passes at `shape`'s weight precision (tokens/s = B·T ÷ median
/// seconds).
pub fn row(engine: &str, shape: &Shape, p: Point, seconds: Vec<f64>) -> PrefillRow {
    PrefillRow {
        engine: engine.into(),
        at: At {
            shape: shape.name.clone(),
            precision: shape.spec.dtype.name().into(),
            point: p,
        },
        vocab: shape.spec.vocab_size,
        tokens_per_s: p.tokens() as f64 / median(&seconds),
        seconds,
        status: Status::Ok,
    }
}

/// A row without a number, saying why.
pub fn failed(engine: &str, shape: &Shape, p: Point, why: impl Into<String>) -> PrefillRow {
    PrefillRow {
        tokens_per_s: 0.0,
        status: Status::Failed(why.into()),
        ..row(engine, shape, p, vec![])
    }
}

/// One prefill pass: every layer computed, the last one pooled (what an embedding costs).
fn prefill_pass(engine: &mut dyn Engine, toks: &[Vec<u32>]) -> Result<()> {
    let last = engine.config().n_layer;
    engine.embed_tokens(toks, &[last], &[Pooling::Mean])?;
    Ok(())
}

/// `engine` timed at each point (`timed` passes after `warmup`), one row per point.
pub fn prefill(
    name: &str,
    engine: &mut dyn Engine,
    shape: &Shape,
    points: &[Point],
    (warmup, timed): (usize, usize),
    seed: u64,
    rows: &mut Vec<PrefillRow>,
) -> Result<()> {
    for &p in points {
        let toks = tokens(p, engine.config().vocab_size, seed);
        let seconds = time_passes(warmup, timed, || prefill_pass(engine, &toks))?;
        let r = row(name, shape, p, seconds);
        let (label, tps) = (p.label(), r.tokens_per_s);
        super::progress(&format!("  {name} {label}: {tps:.2} tokens/s"));
        rows.push(r);
    }
    Ok(())
}

/// The GPU engine at every point of `job`; one build sized for the largest point.
pub fn gpu_prefill(
    opts: &BenchOptions,
    job: &Job,
    ck: &Checkpoint,
    rows: &mut Vec<PrefillRow>,
) -> Result<(GpuEngine, MemoryRow)> {
    let (shape, precision, largest) = (&job.shape, job.shape.spec.dtype, job.largest());
    let gpu_opts = opts.gpu_options(precision, largest.tokens(), false);
    let mut engine = GpuEngine::new(ck, gpu_opts)?;
    let reps = (opts.warmup, opts.repeat);
    prefill(OURS, &mut engine, shape, &job.points, reps, opts.seed, rows)?;
    let weights = shape.weight_bytes(precision);
    let activations = shape.activation_bytes(largest.tokens(), largest.batch);
    let peak = engine.memory_bytes().1;
    let memory = MemoryRow {
        at: row(OURS, shape, largest, vec![]).at,
        weight_bytes: weights,
        activation_bytes: activations,
        peak_gpu_bytes: peak,
        budget_fraction: budget_fraction(peak, weights, activations),
        host_rss_peak_bytes: peak_rss_bytes().unwrap_or(0),
    };
    Ok((engine, memory))
}

/// Kernel family of a shader name, for the time-share table.
pub fn family(kernel: &str) -> &'static str {
    match kernel {
        k if k.starts_with("matmul") => "matmul",
        "wkv" => "wkv",
        "layer_norm" | "group_norm" => "norms",
        "token_shift" | "ddlerp" => "token shift",
        "decay" => "decay",
        "pool" => "pooling",
        _ => "other",
    }
}

/// One profiled pass at the job's largest point (a separate build: profiling times every
/// dispatch in its own pass).
pub fn kernel_breakdown(
    opts: &BenchOptions,
    job: &Job,
    ck: &Checkpoint,
) -> Result<Option<KernelBreakdown>> {
    let p = job.largest();
    super::progress(&format!("kernel profile at {}", p.label()));
    let gpu_opts = opts.gpu_options(job.precision, p.tokens(), true);
    let mut engine = GpuEngine::new(ck, gpu_opts)?;
    let toks = tokens(p, ck.config.vocab_size, opts.seed);
    prefill_pass(&mut engine, &toks)?; // warm-up: pipelines, first-use costs
    prefill_pass(&mut engine, &toks)?;
    let Some(profile) = engine.last_profile() else {
        return Ok(None);
    };
    let total = profile.total_ms();
    let mut sums: Vec<(&str, f64, f64)> = Vec::new(); // family, ms, FLOPs
    for r in &profile.rows {
        let name = family(&r.kernel);
        let s = find_or_push(&mut sums, |s| s.0 == name, || (name, 0.0, 0.0));
        s.1 += r.ms;
        s.2 += r.flops;
    }
    let per = |x: f64, y: f64| if y > 0.0 { x / y } else { 0.0 };
    let mut families: Vec<KernelShare> = (sums.into_iter())
        .map(|(name, ms, flops)| KernelShare {
            family: name.into(),
            ms,
            share: per(ms, total),
            gflops: per(flops, ms * 1e6),
        })
        .collect();
    families.sort_by(|a, b| b.ms.total_cmp(&a.ms));
    Ok(Some(KernelBreakdown {
        point: p.label(),
        total_ms: total,
        families,
        table: profile.table(),
    }))
}

/// The embedding workload of the source study: every sentence of `pairs` at every layer
/// (mean pooling) in one call after a small warm-up call, timed per pair, with the
/// device's peak memory and the host's resident set.
pub fn embed_pairs(
    engine: &mut dyn Engine,
    shape: &Shape,
    pairs: &[Pair],
    tokenize: &dyn Fn(&str) -> Result<Vec<u32>>,
) -> Result<EmbeddingReport> {
    let sentences = pairs.iter().flat_map(|p| [&p.s1, &p.s2]);
    let toks: Vec<Vec<u32>> = sentences.map(|s| tokenize(s)).collect::<Result<_>>()?;
    let layers: Vec<usize> = (0..=engine.config().n_layer).collect();
    let pool = [Pooling::Mean];
    engine.embed_tokens(&toks[..toks.len().min(4)], &layers, &pool)?; // warm-up
    let t0 = Instant::now();
    engine.embed_tokens(&toks, &layers, &pool)?;
    let seconds = t0.elapsed().as_secs_f64();
    Ok(EmbeddingReport {
        engine: format!("{OURS} ({})", engine.name()),
        shape: shape.name.clone(),
        precision: shape.spec.dtype.name().into(),
        pairs: pairs.len(),
        sentences: toks.len(),
        tokens: toks.iter().map(Vec::len).sum(),
        layers: layers.len(),
        poolings: vec!["mean".into()],
        seconds,
        ms_per_pair: 1e3 * seconds / pairs.len().max(1) as f64,
        pairs_per_s: pairs.len() as f64 / seconds,
        peak_gpu_bytes: engine.peak_memory_bytes(),
        host_rss_bytes: rss_bytes().unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_families() {
        assert_eq!(family("matmul_tiled"), "matmul");
        assert_eq!(family("group_norm"), "norms");
        assert_eq!(family("ddlerp"), "token shift");
        assert_eq!(family("pool"), "pooling");
        assert_eq!(family("wkv"), "wkv");
    }

    #[test]
    fn warmup_passes_are_not_timed() {
        let mut calls = 0;
        let secs = time_passes(2, 3, || {
            calls += 1;
            Ok(())
        });
        assert_eq!((calls, secs.unwrap().len()), (5, 3));
    }
}
