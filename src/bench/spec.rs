//! What to measure: model shapes (random checkpoints with the real tensor names and
//! shapes), the batch × length grid, and seeded token batches.

use crate::model::random::RandomSpec;
use crate::model::DType;
use crate::{Error, Result};

/// A named model shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub name: String,
    pub spec: RandomSpec,
}

impl Shape {
    /// `finch-1b6` (C=2048, L=24, F=7168), `small` (C=768, L=12, F=2688) or `tiny`
    /// (C=128, L=2, for `--quick` and tests). Vocab 65536 unless `vocab` overrides it.
    pub fn preset(name: &str, vocab: Option<usize>, seed: u64) -> Result<Shape> {
        let mut spec = match name {
            "finch-1b6" | "1b6" | "1.6b" => RandomSpec::finch_1b6(seed),
            "small" => RandomSpec {
                n_embd: 768,
                n_layer: 12,
                ffn_dim: 2688,
                ..RandomSpec::finch_1b6(seed)
            },
            "tiny" => RandomSpec {
                vocab_size: 512,
                ..RandomSpec::tiny(seed)
            },
            other => {
                return Err(Error::input(format!(
                    "unknown shape `{other}` (expected finch-1b6, small or tiny)"
                )))
            }
        };
        if let Some(v) = vocab {
            spec.vocab_size = v;
        }
        spec.with_head = true; // the peers need an LM head; our engine never runs it
        let name = match name {
            "1b6" | "1.6b" => "finch-1b6",
            n => n,
        };
        Ok(Shape {
            name: name.into(),
            spec,
        })
    }

    /// The same shape stored in `dtype` (f16 for packed-f16 weights, f32 otherwise).
    pub fn with_dtype(&self, dtype: DType) -> Shape {
        Shape {
            name: self.name.clone(),
            spec: self.spec.clone().with_dtype(dtype),
        }
    }

    /// Floating-point operations of one token through every block (multiply-adds count 2;
    /// no head): projections 6C² (r, k, v, g, o, ffn r) + 2CF (ffn k, v) + LoRAs
    /// 2·5R·C + 2·D·C, plus the WKV recurrence ≈ 4·C·N.
    pub fn flops_per_token(&self) -> f64 {
        let s = &self.spec;
        let (c, f) = (s.n_embd as f64, s.ffn_dim as f64);
        let lora = 10.0 * s.mix_lora as f64 * c + 2.0 * s.decay_lora as f64 * c;
        let macs = 6.0 * c * c + 2.0 * c * f + lora;
        let wkv = 4.0 * c * s.head_size as f64;
        s.n_layer as f64 * (2.0 * macs + wkv)
    }
}

/// One point of the grid: B sequences of T tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    pub batch: usize,
    pub length: usize,
}

impl Point {
    pub fn tokens(&self) -> usize {
        self.batch * self.length
    }
    pub fn label(&self) -> String {
        format!("{}×{}", self.batch, self.length)
    }
}

/// Every (batch, length) pair with at most `max_tokens` tokens, smallest first.
pub fn grid(batches: &[usize], lengths: &[usize], max_tokens: usize) -> Vec<Point> {
    let mut points: Vec<Point> = batches
        .iter()
        .flat_map(|&batch| lengths.iter().map(move |&length| Point { batch, length }))
        .filter(|p| p.tokens() <= max_tokens)
        .collect();
    points.sort_by_key(|p| (p.tokens(), p.batch));
    points.dedup();
    points
}

/// B sequences of T token ids in `1..vocab`, from SplitMix64 (the same seed gives the
/// same batch, so every engine sees identical tokens).
pub fn tokens(point: Point, vocab: usize, seed: u64) -> Vec<Vec<u32>> {
    use rand_xoshiro::rand_core::{RngCore, SeedableRng};
    let mut rng = rand_xoshiro::SplitMix64::seed_from_u64(seed);
    let mut next = move || rng.next_u64();
    let top = vocab.saturating_sub(1).max(1) as u64;
    (0..point.batch)
        .map(|_| {
            (0..point.length)
                .map(|_| 1 + (next() % top) as u32)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_have_the_real_shapes() {
        let s = Shape::preset("1.6b", Some(32768), 1).unwrap();
        assert_eq!(s.name, "finch-1b6");
        let r = &s.spec;
        assert_eq!(
            (r.n_embd, r.n_layer, r.ffn_dim, r.vocab_size),
            (2048, 24, 7168, 32768)
        );
        let small = Shape::preset("small", None, 1).unwrap().spec;
        assert_eq!(
            (small.n_embd, small.n_layer, small.ffn_dim),
            (768, 12, 2688)
        );
        assert!(Shape::preset("7b", None, 1).is_err());
    }

    #[test]
    fn flops_per_token_of_the_1b6_shape() {
        // per layer: 6·2048² + 2·2048·7168 + 10·32·2048 + 2·64·2048 = 55 443 456 MACs,
        // WKV 4·2048·64 = 524 288 FLOPs; × 24 layers
        let s = Shape::preset("finch-1b6", None, 1).unwrap();
        let want = 24.0 * (2.0 * 55_443_456.0 + 524_288.0);
        assert_eq!(s.flops_per_token(), want);
    }

    #[test]
    fn grid_is_capped_and_sorted() {
        let g = grid(&[1, 8, 64], &[16, 1024], 1024);
        let labels: Vec<String> = g.iter().map(Point::label).collect();
        assert_eq!(labels, ["1×16", "8×16", "1×1024", "64×16"]);
    }

    #[test]
    fn tokens_are_seeded_and_in_range() {
        let p = Point {
            batch: 3,
            length: 50,
        };
        let a = tokens(p, 300, 7);
        assert_eq!(a, tokens(p, 300, 7));
        assert_ne!(a, tokens(p, 300, 8));
        assert_eq!(a.len(), 3);
        assert!(a.iter().flatten().all(|&t| (1..300).contains(&t)));
    }
}
