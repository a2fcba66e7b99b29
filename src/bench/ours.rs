//! Our two engines on one shape × precision: the GPU engine at every grid point (plus
//! memory, per-kernel profile and the hidden states the agreement check needs), the
//! CPU reference at the points small enough for it, and the MRPC embedding workload.

use std::time::Instant;

use super::report::{median, OURS};
use super::report::{At, EmbeddingReport, KernelBreakdown, KernelShare, MemoryRow, PrefillRow};
use super::spec::{budget_fraction, tokens, Point, Shape};
use super::{BenchOptions, Job};
use crate::data::Pair;
use crate::embed::{Engine, Pooling};
use crate::gpu::GpuEngine;
use crate::kit::find_or_push;
use crate::kit::memory::{peak_rss_bytes, rss_bytes};
use crate::model::{Checkpoint, DType};
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

/// A prefill row from timed passes (tokens/s = B·T ÷ median seconds; 0 and `status`
/// instead when there are none).
pub fn row(
    engine: &str,
    shape: &Shape,
    precision: DType,
    p: Point,
    seconds: Vec<f64>,
) -> PrefillRow {
    PrefillRow {
        engine: engine.into(),
        at: At {
            shape: shape.name.clone(),
            precision: precision.name().into(),
            point: p,
        },
        vocab: shape.spec.vocab_size,
        tokens_per_s: p.tokens() as f64 / median(&seconds),
        seconds,
        status: "ok".into(),
    }
}

/// A row without a number, saying why.
pub fn failed(engine: &str, shape: &Shape, p: Point, status: impl Into<String>) -> PrefillRow {
    PrefillRow {
        tokens_per_s: 0.0,
        status: status.into(),
        ..row(engine, shape, DType::F16, p, vec![])
    }
}

/// One prefill pass: every layer computed, the last one pooled (what an embedding costs).
fn prefill_pass(engine: &mut dyn Engine, toks: &[Vec<u32>]) -> Result<()> {
    let last = engine.config().n_layer;
    engine
        .embed_tokens(toks, &[last], &[Pooling::Mean])
        .map(|_| ())
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
    let precision = shape.spec.dtype;
    for &p in points {
        let toks = tokens(p, engine.config().vocab_size, seed);
        let seconds = time_passes(warmup, timed, || prefill_pass(engine, &toks))?;
        let r = row(name, shape, precision, p, seconds);
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
        at: row(OURS, shape, precision, largest, vec![]).at,
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

/// One profiled pass at `p` (a separate build: profiling times every dispatch in its own pass).
pub fn kernel_breakdown(
    opts: &BenchOptions,
    ck: &Checkpoint,
    precision: DType,
    p: Point,
) -> Result<Option<KernelBreakdown>> {
    let gpu_opts = opts.gpu_options(precision, p.tokens(), true);
    let mut engine = GpuEngine::new(ck, gpu_opts)?;
    let toks = tokens(p, ck.config.vocab_size, opts.seed);
    prefill_pass(&mut engine, &toks)?; // warm-up: pipelines, first-use costs
    prefill_pass(&mut engine, &toks)?;
    let Some(profile) = engine.last_profile() else {
        return Ok(None);
    };
    let total = profile.total_ms();
    let mut families: Vec<KernelShare> = Vec::new();
    for r in &profile.rows {
        let name = family(&r.kernel);
        let new = || KernelShare {
            family: name.into(),
            ..KernelShare::default()
        };
        let f = find_or_push(&mut families, |f| f.family == name, new);
        f.ms += r.ms;
        f.gflops += r.flops; // FLOPs until divided by the time below
    }
    for f in &mut families {
        f.share = if total > 0.0 { f.ms / total } else { 0.0 };
        f.gflops = if f.ms > 0.0 {
            f.gflops / (f.ms * 1e6)
        } else {
            0.0
        };
    }
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
    let mut toks = Vec::with_capacity(2 * pairs.len());
    for p in pairs {
        toks.push(tokenize(&p.s1)?);
        toks.push(tokenize(&p.s2)?);
    }
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
