//! What to measure: model shapes (random checkpoints with the real tensor names and
//! shapes) with their FLOPs and the memory a pass must hold, the batch × length grid,
//! and seeded token batches.

use crate::model::random::RandomSpec;
use crate::model::{Checkpoint, DType};
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
        let name = match name {
            "1b6" | "1.6b" => "finch-1b6",
            n => n,
        };
        let mut spec = match name {
            "finch-1b6" => RandomSpec::finch_1b6(seed),
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
                let why = format!("unknown shape `{other}` (expected finch-1b6, small or tiny)");
                return Err(Error::input(why));
            }
        };
        spec.vocab_size = vocab.unwrap_or(spec.vocab_size);
        spec.with_head = true; // the peers need an LM head; our engine never runs it
        Ok(Shape {
            name: name.into(),
            spec,
        })
    }

    /// A checkpoint's own shape under `name`, stored as its weights are (bf16 as f16).
    pub fn of_checkpoint(name: &str, ck: &Checkpoint, seed: u64) -> Shape {
        let c = &ck.config;
        let spec = RandomSpec {
            n_embd: c.n_embd,
            n_layer: c.n_layer,
            ffn_dim: c.ffn_dim,
            vocab_size: c.vocab_size,
            head_size: c.head_size,
            arch: c.arch,
            dtype: match ck.dominant_dtype() {
                DType::BF16 => DType::F16,
                d => d,
            },
            seed,
            with_head: ck.has_head(),
        };
        Shape {
            name: name.into(),
            spec,
        }
    }

    /// The 1.6B width and above: smaller default grids and f16 only on CPU adapters.
    pub fn is_large(&self) -> bool {
        self.spec.n_embd >= 2048
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
        let (r, d) = s.rwkv6_ranks();
        let lora = 10.0 * r as f64 * c + 2.0 * d as f64 * c;
        let macs = 6.0 * c * c + 2.0 * c * f + lora;
        let wkv = 4.0 * c * s.head_size as f64;
        s.n_layer as f64 * (2.0 * macs + wkv)
    }

    /// Bytes of every weight the GPU engine uploads at this precision: the eight projection
    /// matrices per block (r, k, v, g, o; ffn k, r, v) in `precision`, the LoRA matrices and
    /// per-channel vectors in f32. The embedding stays on the host (rows are gathered there)
    /// and the LM head is never used, so neither counts.
    pub fn weight_bytes(&self, precision: DType) -> u64 {
        let s = &self.spec;
        let (c, f) = (s.n_embd as u64, s.ffn_dim as u64);
        let projections = 6 * c * c + 2 * c * f;
        let (r, d) = s.rwkv6_ranks();
        let lora = 2 * 5 * r as u64 * c + 2 * d as u64 * c;
        // ln1, ln2 (2 each), ln_x (2), 6 time_maa, time_decay, time_faaaa, ffn maa k/r = 16
        let vectors = 16 * c;
        let per_layer = projections * precision.size() as u64 + (lora + vectors) * 4;
        s.n_layer as u64 * per_layer + 2 * c * 4
    }

    /// Bytes of the activations for a pass of `rows` = B·T padded tokens and `batch`
    /// sequences, all f32: the residual x, the LayerNorm output, six `[rows][C]` scratch
    /// vectors (mix / WKV output, r, k, v, g, log-decay), the LoRA hidden `[rows][max(5R, D)]`,
    /// the channel-mix hidden `[rows][F]`, pooled outputs and their read-back copy
    /// `2 · 2·(L+1)·B·C`, and the carried recurrent state `L · (2C + H·N·N)`.
    pub fn activation_bytes(&self, rows: usize, batch: usize) -> u64 {
        let s = &self.spec;
        let (c, l, n) = (s.n_embd as u64, s.n_layer as u64, s.head_size as u64);
        let (r, d) = s.rwkv6_ranks();
        let lora = (5 * r).max(d) as u64;
        let per_row = 8 * c + lora + s.ffn_dim as u64;
        let pooled = 2 * 2 * (l + 1) * batch as u64 * c;
        let state = l * (2 * c + c * n); // H·N·N = C·N
        4 * (rows as u64 * per_row + pooled + state)
    }
}

/// `peak ÷ (1.15 · weights + activations)`: at most 1 meets the memory target.
pub fn budget_fraction(peak: u64, weights: u64, activations: u64) -> f64 {
    peak as f64 / (1.15 * weights as f64 + activations as f64)
}

/// One point of the grid: B sequences of T tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
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
    let mut points: Vec<Point> = (batches.iter())
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
    let top = vocab.saturating_sub(1).max(1) as u64;
    (0..point.batch)
        .map(|_| {
            (0..point.length)
                .map(|_| 1 + (rng.next_u64() % top) as u32)
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
    fn weight_bytes_count_every_uploaded_tensor() {
        // Cross-check against the tensors of a real (tiny) checkpoint: everything but the
        // embedding, ln_out and head, projections in f16, the rest in f32.
        let spec = RandomSpec::tiny(5);
        let ck = crate::model::random::random_checkpoint(&spec).unwrap();
        let mut want = 0u64;
        for (name, t) in ck.tensors() {
            if ["emb.", "ln_out.", "head."]
                .iter()
                .any(|p| name.starts_with(p))
            {
                continue;
            }
            let is_projection =
                name.ends_with(".weight") && t.shape.len() == 2 && !name.contains(".ln");
            want += t.numel() as u64 * if is_projection { 2 } else { 4 };
        }
        let tiny = Shape {
            name: "tiny".into(),
            spec,
        };
        assert_eq!(tiny.weight_bytes(DType::F16), want);
        // C=128, L=2, F=448, R=8, D=16, H=2, N=64
        let per_row = 8 * 128 + 40 + 448;
        let (pooled, state) = (4 * 3 * 2 * 128, 2 * (256 + 2 * 64 * 64));
        let want = 4 * (32 * per_row + pooled + state);
        assert_eq!(tiny.activation_bytes(32, 2), want);
        assert!((budget_fraction(115, 100, 0) - 1.0).abs() < 1e-12);
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
