//! Seeded random RWKV-6 checkpoints with the real tensor names and shapes, for any
//! dimensions (tests, benchmarks, the 1.6B-shaped memory/limits check).
//!
//! Ranges follow trained Finch models closely enough to exercise the numerics:
//! `time_decay` ∈ [-6, 3] so the per-step log-decay `-exp(time_decay + lora)` reaches
//! about -20; LoRA weights are small (±0.1); projections are scaled by 1/√fan_in so
//! the residual stream stays O(1) over many layers.

use rand_xoshiro::rand_core::{RngCore, SeedableRng};
// SplitMix64 (`rand_xoshiro`'s): tiny, fast, seedable, good enough for weights.
use rand_xoshiro::SplitMix64 as Rng;

use super::checkpoint::Checkpoint;
use super::config::Architecture;
use super::tensor::{DType, Tensor};
use crate::{Error, Result};

/// The safetensors `__metadata__` key that marks weights that were never trained (random
/// or constructed); its value says what they are. `rwkv-lens random-model` and
/// `scripts/make_demo_model.py` write it; the study's model comparison reads it.
pub const UNTRAINED_KEY: &str = "rwkv_lens_model";

/// Dimensions, storage dtype and seed of a random checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomSpec {
    pub n_embd: usize,
    pub n_layer: usize,
    pub ffn_dim: usize,
    pub vocab_size: usize,
    pub head_size: usize,
    /// The family and its LoRA ranks (RWKV-6 or RWKV-7).
    pub arch: Architecture,
    /// F32 or F16 (BF16 is accepted too).
    pub dtype: DType,
    pub seed: u64,
    /// Also write `head.weight` (never used for embeddings).
    pub with_head: bool,
}

impl RandomSpec {
    /// A tiny model for unit tests: C=128 (H=2, N=64), 2 layers, vocab 300.
    pub fn tiny(seed: u64) -> Self {
        RandomSpec {
            n_embd: 128,
            n_layer: 2,
            ffn_dim: 448,
            vocab_size: 300,
            head_size: 64,
            arch: Architecture::Rwkv6 {
                mix_lora: 8,
                decay_lora: 16,
            },
            dtype: DType::F32,
            seed,
            with_head: false,
        }
    }

    /// A tiny RWKV-7 model: C=128 (H=2, N=64), 2 layers, F=4C, vocab 300, LoRA ranks
    /// (decay, rate, value, gate) = (16, 16, 8, 32).
    pub fn tiny_v7(seed: u64) -> Self {
        RandomSpec {
            ffn_dim: 512,
            arch: Architecture::Rwkv7 {
                w_lora: 16,
                a_lora: 16,
                v_lora: 8,
                g_lora: 32,
            },
            ..RandomSpec::tiny(seed)
        }
    }

    /// The RWKV-6 "Finch" 1.6B shape: C=2048, L=24, F=7168, V=65536, R=32, D=64, N=64.
    pub fn finch_1b6(seed: u64) -> Self {
        RandomSpec {
            n_embd: 2048,
            n_layer: 24,
            ffn_dim: 7168,
            vocab_size: 65536,
            head_size: 64,
            arch: Architecture::Rwkv6 {
                mix_lora: 32,
                decay_lora: 64,
            },
            dtype: DType::F16,
            seed,
            with_head: false,
        }
    }

    pub fn with_dtype(mut self, dtype: DType) -> Self {
        self.dtype = dtype;
        self
    }

    /// The RWKV-6 ranks `(R, D)` (the bench's shapes are RWKV-6; `(0, 0)` for another
    /// family, whose FLOPs and bytes the bench does not count yet).
    pub fn rwkv6_ranks(&self) -> (usize, usize) {
        match self.arch {
            Architecture::Rwkv6 {
                mix_lora,
                decay_lora,
            } => (mix_lora, decay_lora),
            _ => (0, 0),
        }
    }

    /// The LoRA ranks of the spec's family (none for an attention family, refused by
    /// [`random_tensors`]).
    fn ranks(&self) -> Vec<usize> {
        match self.arch {
            Architecture::Rwkv6 {
                mix_lora,
                decay_lora,
            } => vec![mix_lora, decay_lora],
            Architecture::Rwkv7 {
                w_lora,
                a_lora,
                v_lora,
                g_lora,
            } => vec![w_lora, a_lora, v_lora, g_lora],
            _ => vec![0],
        }
    }

    fn check(&self) -> Result<()> {
        let ok = self.n_embd > 0
            && self.head_size > 0
            && self.n_embd.is_multiple_of(self.head_size)
            && self.n_layer > 0
            && self.ffn_dim > 0
            && self.vocab_size > 0
            && self.ranks().iter().all(|&r| r > 0);
        if ok {
            Ok(())
        } else {
            Err(Error::input(format!(
                "random checkpoint: bad dimensions {self:?} (all must be > 0 and C divisible by N)"
            )))
        }
    }
}

/// Draws `n` values uniform in [lo, hi) and stores them in `dtype`.
///
/// f32: two 24-bit uniforms per random word. f16/bf16: four 16-bit uniforms per word,
/// each mapped through a 65536-entry table of the already-rounded values (a 1.6B model
/// takes seconds instead of a minute of software float conversion).
fn uniform_tensor(rng: &mut Rng, shape: Vec<usize>, lo: f32, hi: f32, dtype: DType) -> Tensor {
    let n: usize = shape.iter().product();
    let mut bytes = vec![0u8; n * dtype.size()];
    let at = |u: f64| lo + (hi - lo) * u as f32;
    if dtype == DType::F32 {
        for pair in bytes.chunks_mut(8) {
            let r = rng.next_u64();
            let (a, b) = (r >> 40, (r >> 16) & 0xFF_FFFF);
            let v = [at(a as f64 / 16_777_216.0), at(b as f64 / 16_777_216.0)];
            let both: [u8; 8] = bytemuck::cast(v);
            pair.copy_from_slice(&both[..pair.len()]);
        }
    } else {
        let table: Vec<u16> = (0..65536u32)
            .map(|i| {
                let v = at((i as f64 + 0.5) / 65536.0);
                match dtype {
                    DType::BF16 => half::bf16::from_f32(v).to_bits(),
                    _ => half::f16::from_f32(v).to_bits(),
                }
            })
            .collect();
        for quad in bytes.chunks_mut(8) {
            let r = rng.next_u64();
            let v = [0, 16, 32, 48].map(|s| table[((r >> s) & 0xFFFF) as usize]);
            let all: [u8; 8] = bytemuck::cast(v);
            quad.copy_from_slice(&all[..quad.len()]);
        }
    }
    Tensor {
        shape,
        dtype,
        bytes: bytes.into(),
    }
}

/// Every tensor of a random RWKV-6 checkpoint, official names and (unsqueezed) shapes.
pub fn random_tensors(spec: &RandomSpec) -> Result<Vec<(String, Tensor)>> {
    spec.check()?;
    let mut rng = Rng::seed_from_u64(spec.seed ^ 0x005E_ED0F_F1C4);
    let (c, dt) = (spec.n_embd, spec.dtype);
    let mut out: Vec<(String, Tensor)> = Vec::new();
    let mut put = |name: String, shape: Vec<usize>, lo: f32, hi: f32, rng: &mut Rng| {
        out.push((name, uniform_tensor(rng, shape, lo, hi, dt)));
    };
    put(
        "emb.weight".into(),
        vec![spec.vocab_size, c],
        -0.5,
        0.5,
        &mut rng,
    );
    put("blocks.0.ln0.weight".into(), vec![c], 0.7, 1.3, &mut rng);
    put("blocks.0.ln0.bias".into(), vec![c], -0.1, 0.1, &mut rng);
    for i in 0..spec.n_layer {
        for (name, shape, lo, hi) in block_shapes(spec)? {
            put(format!("blocks.{i}.{name}"), shape, lo, hi, &mut rng);
        }
    }
    put("ln_out.weight".into(), vec![c], 0.7, 1.3, &mut rng);
    put("ln_out.bias".into(), vec![c], -0.1, 0.1, &mut rng);
    if spec.with_head {
        let s = 1.0 / (c as f32).sqrt();
        put(
            "head.weight".into(),
            vec![spec.vocab_size, c],
            -s,
            s,
            &mut rng,
        );
    }
    Ok(out)
}

/// Name (inside `blocks.{i}.`), shape and uniform range of one tensor.
pub type Draw = (&'static str, Vec<usize>, f32, f32);

/// Every tensor of a block in the spec's family.
fn block_shapes(spec: &RandomSpec) -> Result<Vec<Draw>> {
    match spec.arch {
        Architecture::Rwkv6 {
            mix_lora,
            decay_lora,
        } => Ok(rwkv6_block(spec, mix_lora, decay_lora)),
        Architecture::Rwkv7 {
            w_lora,
            a_lora,
            v_lora,
            g_lora,
        } => Ok(rwkv7_block(spec, [w_lora, a_lora, v_lora, g_lora])),
        other => Err(Error::input(format!(
            "random checkpoint: no random {} weights (RWKV-6 and RWKV-7 only)",
            other.name()
        ))),
    }
}

/// Name, shape and uniform range of every tensor of one RWKV-7 block, in the official
/// `.pth` names (block 0 carries `v0/v1/v2` too, as BlinkDL's files do). The decay base
/// `w0` ∈ [−6, 4] puts the per-step log-decay `−e^{−1/2}·σ(w0 + lora)` across nearly its
/// whole range (−0.6065, 0).
fn rwkv7_block(spec: &RandomSpec, [dw, da, dv, dg]: [usize; 4]) -> Vec<Draw> {
    let (c, f) = (spec.n_embd, spec.ffn_dim);
    let (h, n) = (c / spec.head_size, spec.head_size);
    let sc = 1.0 / (c as f32).sqrt();
    let sf = 1.0 / (f as f32).sqrt();
    let vec3 = || vec![1, 1, c];
    let mut out: Vec<Draw> = vec![
        ("ln1.weight", vec![c], 0.7, 1.3),
        ("ln1.bias", vec![c], -0.1, 0.1),
        ("ln2.weight", vec![c], 0.7, 1.3),
        ("ln2.bias", vec![c], -0.1, 0.1),
    ];
    for name in [
        "att.x_r", "att.x_w", "att.x_k", "att.x_v", "att.x_a", "att.x_g",
    ] {
        out.push((name, vec3(), 0.0, 1.0));
    }
    out.extend([
        ("att.w0", vec3(), -6.0, 4.0),
        ("att.w1", vec![c, dw], -0.1, 0.1),
        ("att.w2", vec![dw, c], -0.1, 0.1),
        ("att.a0", vec3(), -1.0, 1.0),
        ("att.a1", vec![c, da], -0.1, 0.1),
        ("att.a2", vec![da, c], -0.1, 0.1),
        ("att.v0", vec3(), -1.0, 1.0),
        ("att.v1", vec![c, dv], -0.1, 0.1),
        ("att.v2", vec![dv, c], -0.1, 0.1),
        ("att.g1", vec![c, dg], -0.1, 0.1),
        ("att.g2", vec![dg, c], -0.2, 0.2),
        ("att.k_k", vec3(), 0.5, 1.2),
        ("att.k_a", vec3(), 0.5, 1.5),
        ("att.r_k", vec![h, n], -0.5, 0.5),
        ("att.receptance.weight", vec![c, c], -sc, sc),
        ("att.key.weight", vec![c, c], -sc, sc),
        ("att.value.weight", vec![c, c], -sc, sc),
        ("att.output.weight", vec![c, c], -sc, sc),
        ("att.ln_x.weight", vec![c], 0.7, 1.3),
        ("att.ln_x.bias", vec![c], -0.1, 0.1),
        ("ffn.x_k", vec3(), 0.0, 1.0),
        ("ffn.key.weight", vec![f, c], -sc, sc),
        ("ffn.value.weight", vec![c, f], -sf, sf),
    ]);
    out
}

/// Name, shape and uniform range of every tensor of one RWKV-6 block.
fn rwkv6_block(spec: &RandomSpec, r: usize, d: usize) -> Vec<Draw> {
    let (c, f) = (spec.n_embd, spec.ffn_dim);
    let (h, n) = (c / spec.head_size, spec.head_size);
    let sc = 1.0 / (c as f32).sqrt();
    let sf = 1.0 / (f as f32).sqrt();
    let vec3 = vec![1, 1, c];
    vec![
        ("ln1.weight", vec![c], 0.7, 1.3),
        ("ln1.bias", vec![c], -0.1, 0.1),
        ("ln2.weight", vec![c], 0.7, 1.3),
        ("ln2.bias", vec![c], -0.1, 0.1),
        ("att.time_maa_x", vec3.clone(), 0.0, 1.0),
        ("att.time_maa_w", vec3.clone(), 0.0, 1.0),
        ("att.time_maa_k", vec3.clone(), 0.0, 1.0),
        ("att.time_maa_v", vec3.clone(), 0.0, 1.0),
        ("att.time_maa_r", vec3.clone(), 0.0, 1.0),
        ("att.time_maa_g", vec3.clone(), 0.0, 1.0),
        ("att.time_maa_w1", vec![c, 5 * r], -0.1, 0.1),
        ("att.time_maa_w2", vec![5, r, c], -0.1, 0.1),
        // per-step log-decay -exp(td + lora) spans about -0.0025 .. -20
        ("att.time_decay", vec3.clone(), -6.0, 3.0),
        ("att.time_decay_w1", vec![c, d], -0.1, 0.1),
        ("att.time_decay_w2", vec![d, c], -0.1, 0.1),
        ("att.time_faaaa", vec![h, n], -1.0, 1.0),
        ("att.receptance.weight", vec![c, c], -sc, sc),
        ("att.key.weight", vec![c, c], -sc, sc),
        ("att.value.weight", vec![c, c], -sc, sc),
        ("att.gate.weight", vec![c, c], -sc, sc),
        ("att.output.weight", vec![c, c], -sc, sc),
        ("att.ln_x.weight", vec![c], 0.7, 1.3),
        ("att.ln_x.bias", vec![c], -0.1, 0.1),
        ("ffn.time_maa_k", vec3.clone(), 0.0, 1.0),
        ("ffn.time_maa_r", vec3, 0.0, 1.0),
        ("ffn.key.weight", vec![f, c], -sc, sc),
        ("ffn.receptance.weight", vec![c, c], -sc, sc),
        ("ffn.value.weight", vec![c, f], -sf, sf),
    ]
}

/// A random checkpoint, validated like a loaded one.
pub fn random_checkpoint(spec: &RandomSpec) -> Result<Checkpoint> {
    let tensors = random_tensors(spec)?;
    let bytes: usize = tensors.iter().map(|(_, t)| t.bytes.len()).sum();
    let family = match spec.arch {
        Architecture::Rwkv7 { .. } => "rwkv7",
        _ => "rwkv6",
    };
    let source = format!(
        "random-{family}(C={},L={},seed={})",
        spec.n_embd, spec.n_layer, spec.seed
    );
    Checkpoint::from_tensors(&source, tensors, bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_checkpoint_has_detected_config() {
        let ck = random_checkpoint(&RandomSpec::tiny(1)).unwrap();
        let cfg = &ck.config;
        assert_eq!((cfg.n_embd, cfg.n_layer, cfg.n_head), (128, 2, 2));
        assert_eq!(cfg.ffn_dim, 448);
        assert_eq!(cfg.rwkv6_ranks(), Some((8, 16)));
        // seeded: same seed, same weights; other seed, other weights
        let again = random_checkpoint(&RandomSpec::tiny(1)).unwrap();
        let other = random_checkpoint(&RandomSpec::tiny(2)).unwrap();
        let w = |c: &Checkpoint| c.f32("blocks.1.att.key.weight").unwrap();
        assert_eq!(w(&ck), w(&again));
        assert_ne!(w(&ck), w(&other));
    }

    #[test]
    fn decay_range_reaches_minus_twenty() {
        let ck = random_checkpoint(&RandomSpec::tiny(3)).unwrap();
        let td = ck.f32("blocks.0.att.time_decay").unwrap();
        let most_negative = td.iter().map(|&z| -z.exp()).fold(0.0f32, f32::min);
        assert!(most_negative < -15.0, "min log-decay {most_negative}");
    }

    #[test]
    fn f16_storage_and_bad_dims() {
        let ck = random_checkpoint(&RandomSpec::tiny(4).with_dtype(DType::F16)).unwrap();
        assert_eq!(ck.dominant_dtype(), DType::F16);
        let mut bad = RandomSpec::tiny(4);
        bad.head_size = 60;
        assert!(random_checkpoint(&bad).is_err());
    }
}
