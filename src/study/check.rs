//! The study's reference check: when a model runs on the GPU engine, a sample of each task's
//! sentences (the longest ones, where a length-dependent fault shows first, and seeded
//! random ones) is embedded again by the plain-Rust reference, and every layer and pooling
//! must agree. A mismatch stops the run naming the model, layer, sentence and its length.

use super::bootstrap::{below, SplitMix64};
use super::embedding::shown;
use crate::embed::{scaled_error, Embeddings, Engine, Pooling};
use crate::kit::hash::xxh64;
use crate::model::Config;
use crate::model::Precision;
use crate::{Error, Result};
use rand_xoshiro::rand_core::SeedableRng;

/// Longest sentences checked per task.
pub const LONGEST: usize = 3;
/// Random sentences checked per task (besides the longest).
pub const RANDOM: usize = 3;

/// What one check compares.
pub struct CheckInput<'a> {
    pub label: &'a str,
    pub task: &'a str,
    pub tokens: &'a [Vec<u32>],
    pub texts: &'a [String],
    pub layers: &'a [usize],
    pub poolings: &'a [Pooling],
    pub seed: u64,
}

/// Builds an engine (the CPU reference from a checkpoint).
type Build<'a> = Box<dyn FnOnce() -> Result<Box<dyn Engine + 'a>> + 'a>;

/// The reference engine, built on first use: the CPU reference's f32 weights cost seconds
/// and memory that a study whose every task comes from the cache never needs.
pub struct LazyReference<'a> {
    config: Config,
    build: Option<Build<'a>>,
    engine: Option<Box<dyn Engine + 'a>>,
}

impl<'a> LazyReference<'a> {
    /// `config` is the model's (answered before the engine exists); `build` runs once.
    pub fn new(config: Config, build: impl FnOnce() -> Result<Box<dyn Engine + 'a>> + 'a) -> Self {
        LazyReference {
            config,
            build: Some(Box::new(build)),
            engine: None,
        }
    }
}

impl Engine for LazyReference<'_> {
    fn name(&self) -> String {
        "cpu reference".into()
    }
    fn config(&self) -> &Config {
        &self.config
    }
    fn embed_tokens(
        &mut self,
        tokens: &[Vec<u32>],
        layers: &[usize],
        poolings: &[Pooling],
    ) -> Result<Embeddings> {
        if let Some(build) = self.build.take() {
            self.engine = Some(build()?);
        }
        let engine = (self.engine.as_mut())
            .ok_or_else(|| Error::input("reference check: the reference engine failed to build"))?;
        engine.embed_tokens(tokens, layers, poolings)
    }
}

/// The sentences checked: the `LONGEST` longest (by tokens), then `RANDOM` others drawn
/// with a seed from the task's name.
pub fn sample(tokens: &[Vec<u32>], task: &str, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..tokens.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(tokens[i].len()), i));
    let mut picked: Vec<usize> = order.iter().copied().take(LONGEST).collect();
    let mut rng = SplitMix64::seed_from_u64(xxh64(format!("{task}/check").as_bytes(), seed));
    for _ in 0..4 * RANDOM {
        if picked.len() >= (LONGEST + RANDOM).min(tokens.len()) {
            break;
        }
        let i = below(&mut rng, tokens.len());
        if !picked.contains(&i) {
            picked.push(i);
        }
    }
    picked
}

/// Largest allowed max |a − b| / max(1, max |b|) per vector: the GPU tests' tolerances
/// (f16 weights rounded from an f32 checkpoint move results by ~3e-4).
pub fn tolerance(p: Precision) -> f32 {
    match p {
        Precision::F32 => 1e-4,
        _ => 2e-3,
    }
}

/// Re-embeds the sample with `reference` and compares with `got` (the engine's vectors
/// of every sentence, in sentence order).
pub fn check(
    input: &CheckInput,
    got: &Embeddings,
    reference: &mut dyn Engine,
    tol: f32,
) -> Result<()> {
    let picked = sample(input.tokens, input.task, input.seed);
    let seqs: Vec<Vec<u32>> = picked.iter().map(|&i| input.tokens[i].clone()).collect();
    let want = reference.embed_tokens(&seqs, input.layers, input.poolings)?;
    for (p, pooling) in input.poolings.iter().enumerate() {
        for (l, &layer) in input.layers.iter().enumerate() {
            for (k, &i) in picked.iter().enumerate() {
                let (a, b) = (got.get(p, l, i), want.get(p, l, k));
                let err = scaled_error(a, b);
                if err > tol || err.is_nan() {
                    return Err(Error::input(format!(
                        "reference check: {} on task {}: layer {layer} ({} pooling) differs from the CPU reference by {err:.2e} (tolerance {tol:.0e}) for sentence {} ({} tokens)",
                        input.label,
                        input.task,
                        pooling.name(),
                        shown(&input.texts[i]),
                        input.tokens[i].len()
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_takes_the_longest_then_distinct_random_ones() {
        let tokens: Vec<Vec<u32>> = (0..20).map(|n| vec![1; 1 + (n * 7) % 20]).collect();
        let s = sample(&tokens, "t", 1);
        assert_eq!(s.len(), LONGEST + RANDOM);
        let mut lens: Vec<usize> = tokens.iter().map(Vec::len).collect();
        lens.sort_unstable_by(|a, b| b.cmp(a));
        for (k, &i) in s.iter().take(LONGEST).enumerate() {
            assert_eq!(tokens[i].len(), lens[k]);
        }
        let mut d = s.clone();
        d.sort_unstable();
        d.dedup();
        assert_eq!(d.len(), s.len());
        assert_eq!(sample(&tokens[..2], "t", 1).len(), 2);
    }

    /// A fault in the longest sentence only (as a length-dependent GPU fault would be) is
    /// caught and named with its length; agreeing vectors pass.
    #[test]
    fn a_wrong_long_sentence_stops_the_run() {
        use crate::model::random::{random_checkpoint, RandomSpec};
        use crate::reference::CpuEngine;
        let ck = random_checkpoint(&RandomSpec::tiny(3)).unwrap();
        let built = std::cell::Cell::new(0);
        let mut cpu = LazyReference::new(ck.config.clone(), || {
            built.set(built.get() + 1);
            Ok(Box::new(CpuEngine::new(&ck)?) as Box<dyn Engine>)
        });
        assert_eq!(built.get(), 0, "built before its first use");
        let tokens: Vec<Vec<u32>> = (0..12)
            .map(|n| (0..1 + n * 5).map(|i| i % 300).collect())
            .collect();
        let texts: Vec<String> = (0..12).map(|n| format!("sentence {n}")).collect();
        let (layers, poolings) = ([0, 1, 2], [Pooling::Mean]);
        let mut got = cpu.embed_tokens(&tokens, &layers, &poolings).unwrap();
        let input = CheckInput {
            label: "m",
            task: "t",
            tokens: &tokens,
            texts: &texts,
            layers: &layers,
            poolings: &poolings,
            seed: 1,
        };
        check(&input, &got, &mut cpu, 1e-4).unwrap();
        got.get_mut(0, 2, 11)[5] += 0.1;
        let e = check(&input, &got, &mut cpu, 1e-4).unwrap_err().to_string();
        assert!(
            e.contains("layer 2") && e.contains("sentence 11") && e.contains("(56 tokens)"),
            "{e}"
        );
        assert_eq!(built.get(), 1, "built once");
    }
}
