//! The embedding workload of the source study: MRPC sentence pairs (the first 1000 GLUE
//! train pairs + the 408 GLUE validation pairs), every layer mean-pooled — timed per pair,
//! with the device's peak memory and the host's peak RSS.

use std::time::Instant;

use super::report::EmbeddingReport;
use crate::embed::{Engine, Pooling};
use crate::kit::memory::rss_bytes;
use crate::study::tasks::Pair;
use crate::Result;

/// Embeds every sentence of `pairs` at every layer (mean pooling) in one call after a
/// small warm-up call; reports time per pair and memory.
pub fn run(
    engine: &mut dyn Engine,
    engine_name: &str,
    shape: &str,
    precision: &str,
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
    let out = engine.embed_tokens(&toks, &layers, &pool)?;
    let seconds = t0.elapsed().as_secs_f64();
    debug_assert_eq!(out.n, toks.len());
    Ok(EmbeddingReport {
        engine: engine_name.into(),
        shape: shape.into(),
        precision: precision.into(),
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
