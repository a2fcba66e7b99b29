//! Our two engines on one shape × precision: the GPU engine at every grid point (plus
//! memory, per-kernel profile and the hidden states the agreement check needs) and the
//! CPU reference at the points small enough for it.

use super::memory::{activation_bytes, budget_fraction, weight_bytes};
use super::report::{KernelBreakdown, KernelShare, MemoryRow, PrefillRow, OURS};
use super::spec::{tokens, Point, Shape};
use super::timing::{time_passes, Repeats};
use crate::embed::{Engine, Pooling};
use crate::gpu::{GpuEngine, GpuOptions, Precision};
use crate::kit::memory::peak_rss_bytes;
use crate::model::{Checkpoint, DType};
use crate::reference::CpuEngine;
use crate::Result;

/// Where and how the engines run.
#[derive(Debug, Clone)]
pub struct EngineSetup {
    pub adapter: Option<String>,
    pub backend: Option<String>,
    pub reps: Repeats,
    pub seed: u64,
}

impl EngineSetup {
    pub fn gpu_options(&self, precision: DType, max_tokens: usize, profile: bool) -> GpuOptions {
        GpuOptions {
            adapter: self.adapter.clone(),
            backend: self.backend.clone(),
            precision: Precision::following(precision),
            max_batch_tokens: max_tokens.max(1),
            profile,
            ..GpuOptions::default()
        }
    }
}

/// Per sequence of the agreement batch: layer L−1 and layer L at its last token.
#[derive(Debug, Clone, Default)]
pub struct LastRows {
    pub before_last_block: Vec<Vec<f32>>,
    pub last_layer: Vec<Vec<f32>>,
}

/// A prefill row from timed passes (tokens/s = B·T ÷ median seconds).
pub fn row(
    engine: &str,
    shape: &Shape,
    precision: DType,
    p: Point,
    seconds: Vec<f64>,
) -> PrefillRow {
    let tokens_per_s = p.tokens() as f64 / super::report::median(&seconds);
    PrefillRow {
        engine: engine.into(),
        shape: shape.name.clone(),
        vocab: shape.spec.vocab_size,
        precision: precision.name().into(),
        batch: p.batch,
        length: p.length,
        seconds,
        tokens_per_s,
        status: "ok".into(),
    }
}

/// One prefill pass: every layer computed, the last one pooled (what an embedding costs).
fn prefill_pass(engine: &mut dyn Engine, toks: &[Vec<u32>]) -> Result<()> {
    let last = engine.config().n_layer;
    engine
        .embed_tokens(toks, &[last], &[Pooling::Mean])
        .map(|_| ())
}

/// The GPU engine at every point; one build sized for the largest point.
pub fn gpu_prefill(
    setup: &EngineSetup,
    shape: &Shape,
    ck: &Checkpoint,
    points: &[Point],
    rows: &mut Vec<PrefillRow>,
) -> Result<(GpuEngine, MemoryRow)> {
    let precision = ck.dominant_dtype();
    let largest = *points
        .iter()
        .max_by_key(|p| p.tokens())
        .expect("at least one point");
    let mut engine = GpuEngine::new(ck, setup.gpu_options(precision, largest.tokens(), false))?;
    for &p in points {
        let toks = tokens(p, ck.config.vocab_size, setup.seed);
        let seconds = time_passes(setup.reps, || prefill_pass(&mut engine, &toks))?;
        rows.push(row(OURS, shape, precision, p, seconds));
        super::progress(&format!(
            "  {OURS} {}: {:.2} tokens/s",
            p.label(),
            rows[rows.len() - 1].tokens_per_s
        ));
    }
    let weights = weight_bytes(&ck.config, precision);
    let activations = activation_bytes(&ck.config, largest.tokens(), largest.batch);
    let peak = engine.memory_bytes().1;
    let memory = MemoryRow {
        shape: shape.name.clone(),
        precision: precision.name().into(),
        batch: largest.batch,
        length: largest.length,
        weight_bytes: weights,
        activation_bytes: activations,
        peak_gpu_bytes: peak,
        budget_fraction: budget_fraction(peak, weights, activations),
        host_rss_peak_bytes: peak_rss_bytes().unwrap_or(0),
    };
    Ok((engine, memory))
}

/// Layer L−1 and L at each sequence's last token, from the GPU's per-token hidden states.
pub fn gpu_last_rows(engine: &mut GpuEngine, toks: &[Vec<u32>]) -> Result<LastRows> {
    let h = engine.forward_hidden(toks)?;
    let (c, t, l) = (h.dim, h.tokens, h.hidden.len() - 1);
    let at = |layer: usize, b: usize| {
        let i = (b * t + h.lengths[b] - 1) * c;
        h.hidden[layer][i..i + c].to_vec()
    };
    Ok(LastRows {
        before_last_block: (0..toks.len()).map(|b| at(l - 1, b)).collect(),
        last_layer: (0..toks.len()).map(|b| at(l, b)).collect(),
    })
}

/// The CPU reference at each point (callers pass only points it can do in seconds).
pub fn cpu_prefill(
    setup: &EngineSetup,
    shape: &Shape,
    cpu: &mut CpuEngine,
    precision: DType,
    points: &[Point],
    rows: &mut Vec<PrefillRow>,
) -> Result<()> {
    let reps = Repeats {
        warmup: 0,
        timed: setup.reps.timed.min(2),
    };
    for &p in points {
        let toks = tokens(p, cpu.config().vocab_size, setup.seed);
        let seconds = time_passes(reps, || prefill_pass(cpu, &toks))?;
        rows.push(row("cpu reference", shape, precision, p, seconds));
        super::progress(&format!(
            "  cpu reference {}: {:.2} tokens/s",
            p.label(),
            rows[rows.len() - 1].tokens_per_s
        ));
    }
    Ok(())
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
    setup: &EngineSetup,
    ck: &Checkpoint,
    p: Point,
) -> Result<Option<KernelBreakdown>> {
    let mut engine = GpuEngine::new(ck, setup.gpu_options(ck.dominant_dtype(), p.tokens(), true))?;
    let toks = tokens(p, ck.config.vocab_size, setup.seed);
    prefill_pass(&mut engine, &toks)?; // warm-up: pipelines, first-use costs
    prefill_pass(&mut engine, &toks)?;
    let Some(profile) = engine.last_profile() else {
        return Ok(None);
    };
    let total = profile.total_ms();
    let mut families: Vec<KernelShare> = Vec::new();
    for r in &profile.rows {
        let name = family(&r.kernel);
        match families.iter_mut().find(|f| f.family == name) {
            Some(f) => {
                f.ms += r.ms;
                f.gflops += r.flops;
            }
            None => families.push(KernelShare {
                family: name.into(),
                ms: r.ms,
                share: 0.0,
                gflops: r.flops,
            }),
        }
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
}
