//! The fast CPU engine: the same RWKV-6 forward as the reference (same equations, same
//! packing, same f32 activations and state), built for speed and memory rather than for
//! reading:
//!
//! - the projections stay in the checkpoint's 16 bits (f16/bf16, views into the mapped
//!   file, `weights.rs`) and are multiplied with f32 accumulation by a SIMD kernel that
//!   widens them in registers (`gemm.rs`), on every core (rayon; `--threads`,
//!   `RWKV_LENS_THREADS` or `RAYON_NUM_THREADS` limit them);
//! - the WKV recurrence runs its sequences × heads in parallel.
//!
//! Its sums run in another order than the oracle's, so its numbers agree with the
//! reference to f32 rounding (`tests/fast_engine.rs`: ≤ 1e-4 relative on every layer of
//! the goldens' models), not bit for bit: `--precision f32` runs the oracle
//! ([`super::CpuEngine`]), whose numbers this module never changes.

pub mod gemm;
pub mod weights;

pub use weights::FastWeights;

use super::ops::{group_norm_rows, layer_norm, layer_norm_rows, sigmoid, silu};
use super::time_mix::{token_shift, Projections, LN_EPS, LN_X_EPS};
use super::{wkv, LayerState, Packing};
use crate::embed::{Embeddings, Engine, LayerPooler, Pooling};
use crate::model::{Checkpoint, Config};
use crate::{Error, Result};
use gemm::linear;
use weights::{f32_view, FastBlock, FastChannelMix, FastTimeMix};

/// The fast engine behind the [`Engine`] trait; pools each layer as soon as it is computed.
pub struct FastEngine {
    weights: FastWeights,
}

impl FastEngine {
    pub fn new(ckpt: &Checkpoint) -> Result<Self> {
        Ok(FastEngine {
            weights: FastWeights::from_checkpoint(ckpt)?,
        })
    }
    pub fn from_weights(weights: FastWeights) -> Self {
        FastEngine { weights }
    }
    pub fn weights(&self) -> &FastWeights {
        &self.weights
    }
}

impl Engine for FastEngine {
    fn name(&self) -> String {
        format!("cpu fast ({} weights)", weight_dtype(&self.weights))
    }
    fn config(&self) -> &Config {
        &self.weights.config
    }
    /// f16 for 16-bit projections (the study's cache key tells them from the oracle's).
    fn precision(&self) -> crate::gpu::Precision {
        match weight_dtype(&self.weights) {
            "f32" => crate::gpu::Precision::F32,
            _ => crate::gpu::Precision::F16,
        }
    }
    fn embed_tokens(
        &mut self,
        tokens: &[Vec<u32>],
        layers: &[usize],
        poolings: &[Pooling],
    ) -> Result<Embeddings> {
        let lengths: Vec<usize> = tokens.iter().map(Vec::len).collect();
        let mut pooler = LayerPooler::new(layers, poolings, &lengths, &self.weights.config)?;
        forward_with(&self.weights, tokens, false, |layer, x| {
            pooler.add(layer, x)
        })?;
        pooler.finish("CPU fast engine")
    }
}

/// The projections' storage dtype, for the engine's name.
pub fn weight_dtype(w: &FastWeights) -> &'static str {
    match w.blocks.first().map(|b| b.att.key.view().kind) {
        Some(gemm::Kind::F16) => "f16",
        Some(gemm::Kind::Bf16) => "bf16",
        _ => "f32",
    }
}

/// The forward loop (as `reference::forward_with`): `on_layer(i, x)` after the embedding
/// and every block; returns the last residual and, if asked, every block's final state.
pub fn forward_with(
    w: &FastWeights,
    tokens: &[Vec<u32>],
    keep_states: bool,
    mut on_layer: impl FnMut(usize, &[f32]),
) -> Result<(Vec<f32>, Option<Vec<LayerState>>)> {
    let packing = Packing::new(&tokens.iter().map(Vec::len).collect::<Vec<_>>());
    let mut x = embed(w, tokens)?;
    on_layer(0, &x);
    let mut states = Vec::new();
    for (i, block) in w.blocks.iter().enumerate() {
        let state = block_step(block, &mut x, &packing);
        on_layer(i + 1, &x);
        if keep_states {
            states.push(state);
        }
    }
    Ok((x, keep_states.then_some(states)))
}

/// `x₀ = LN0(emb[token])`, the embedding rows widened one token at a time.
fn embed(w: &FastWeights, tokens: &[Vec<u32>]) -> Result<Vec<f32>> {
    let (c, vocab) = (w.config.n_embd, w.config.vocab_size);
    let mut x = Vec::with_capacity(tokens.iter().map(Vec::len).sum::<usize>() * c);
    let mut row = vec![0.0; c];
    let mut out = vec![0.0; c];
    for (b, seq) in tokens.iter().enumerate() {
        if seq.is_empty() {
            let why = format!("sequence {b} has no tokens (empty text?)");
            return Err(Error::input(why));
        }
        for &tok in seq {
            if tok as usize >= vocab {
                return Err(Error::input(format!(
                    "token id {tok} in sequence {b} is outside the model's vocabulary of {vocab} (is the tokenizer right for this model?)"
                )));
            }
            w.emb.row_f32(tok as usize, &mut row);
            layer_norm(&row, &w.ln0.weight, &w.ln0.bias, LN_EPS, &mut out);
            x.extend_from_slice(&out);
        }
    }
    Ok(x)
}

/// One block in place, from a fresh state: `x ← x + TimeMix(LN1(x))`,
/// `x ← x + ChannelMix(LN2(x))`.
fn block_step(block: &FastBlock, x: &mut [f32], packing: &Packing) -> LayerState {
    let (att, att_shift, wkv) = time_mix(x, packing, block);
    x.iter_mut().zip(&att).for_each(|(x, a)| *x += a);
    let (ffn, ffn_shift) = channel_mix(x, packing, block);
    x.iter_mut().zip(&ffn).for_each(|(x, f)| *x += f);
    LayerState {
        att_shift,
        wkv,
        ffn_shift,
    }
}

/// `LN(x)` and its token shift from a zero state: `(xx, sx)`, `[n][C]` each.
fn normed_and_shifted(
    x: &[f32],
    packing: &Packing,
    ln: &super::weights::Norm,
) -> (Vec<f32>, Vec<f32>) {
    let c = ln.weight.len();
    let xx = layer_norm_rows(x, &ln.weight, &ln.bias, LN_EPS);
    let zeros = vec![vec![0.0; c]; packing.lengths.len()];
    let sx = token_shift(&xx, c, packing, &zeros);
    (xx, sx)
}

/// Each sequence's last row of `xx`, concatenated (`[B][C]`).
fn last_rows(xx: &[f32], c: usize, packing: &Packing) -> Vec<f32> {
    (packing.spans())
        .flat_map(|(s, len)| xx[(s + len - 1) * c..(s + len) * c].iter().copied())
        .collect()
}

/// Time-mix (see `reference::time_mix`): the update, the last LN1 rows, the WKV states.
fn time_mix(x: &[f32], packing: &Packing, block: &FastBlock) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let att = &block.att;
    let (n, c) = (packing.rows(), att.maa_x.len());
    let (xx, sx) = normed_and_shifted(x, packing, &block.ln1);
    let [xw, xk, xv, xr, xg] = ddlerp(&xx, &sx, n, att);
    let p = Projections {
        r: linear(&xr, n, &att.receptance.view()),
        k: linear(&xk, n, &att.key.view()),
        v: linear(&xv, n, &att.value.view()),
        g: (linear(&xg, n, &att.gate.view()).into_iter().map(silu)).collect(),
        log_w: log_decay(&xw, n, att),
    };
    let (o, states) = wkv_parallel(&p, packing, att.heads, &att.u);
    let y = group_norm_rows(&o, att.heads, &att.ln_x.weight, &att.ln_x.bias, LN_X_EPS);
    let gated: Vec<f32> = y.iter().zip(&p.g).map(|(y, g)| y * g).collect();
    let out = linear(&gated, n, &att.output.view());
    (out, last_rows(&xx, c, packing), states)
}

/// `x_∗ = xx + (sx − xx)·(μ_∗ + m_∗)` for ∗ = w, k, v, r, g (`time_mix::ddlerp`).
fn ddlerp(xx: &[f32], sx: &[f32], n: usize, att: &FastTimeMix) -> [Vec<f32>; 5] {
    let c = att.maa_x.len();
    let r = att.maa_w2[0].cols;
    let d: Vec<f32> = sx.iter().zip(xx).map(|(s, x)| s - x).collect();
    let base: Vec<f32> = (0..n * c)
        .map(|i| xx[i] + d[i] * att.maa_x[i % c])
        .collect();
    let lora: Vec<f32> = (linear(&base, n, &f32_view(&att.maa_w1)).into_iter())
        .map(f32::tanh)
        .collect();
    std::array::from_fn(|j| {
        let slice: Vec<f32> = (0..n)
            .flat_map(|t| {
                lora[t * 5 * r + j * r..t * 5 * r + (j + 1) * r]
                    .iter()
                    .copied()
            })
            .collect();
        let m = linear(&slice, n, &f32_view(&att.maa_w2[j]));
        let mu = &att.maa[j];
        (0..n * c)
            .map(|i| xx[i] + d[i] * (mu[i % c] + m[i]))
            .collect()
    })
}

/// `log w = −exp(time_decay + tanh(x_w @ D1) @ D2)`, `[n][C]`.
fn log_decay(xw: &[f32], n: usize, att: &FastTimeMix) -> Vec<f32> {
    let c = att.decay.len();
    let hidden: Vec<f32> = (linear(xw, n, &f32_view(&att.decay_w1)).into_iter())
        .map(f32::tanh)
        .collect();
    let lora = linear(&hidden, n, &f32_view(&att.decay_w2));
    (0..n * c)
        .map(|i| -(att.decay[i % c] + lora[i]).exp())
        .collect()
}

/// The WKV recurrence (`wkv::recurrent`) with every sequence × head on its own task,
/// from a zero state: `o` `[n][C]` and the final states `[B][H][N][N]`.
fn wkv_parallel(
    p: &Projections,
    packing: &Packing,
    heads: usize,
    u: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let c = u.len();
    let n_h = c / heads;
    let spans: Vec<(usize, usize)> = packing.spans().collect();
    let run = |task: usize| {
        let ((start, len), h) = (spans[task / heads], task % heads);
        let mut s = vec![0.0; n_h * n_h];
        let mut out = vec![0.0; len * n_h];
        let uh = &u[h * n_h..(h + 1) * n_h];
        for (i, t) in (start..start + len).enumerate() {
            let ch = t * c + h * n_h..t * c + (h + 1) * n_h;
            let step = wkv::Step {
                r: &p.r[ch.clone()],
                k: &p.k[ch.clone()],
                v: &p.v[ch.clone()],
                log_w: &p.log_w[ch],
            };
            step.apply(uh, &mut s, &mut out[i * n_h..(i + 1) * n_h]);
        }
        (out, s)
    };
    let results = map_tasks(spans.len() * heads, run);
    let mut o = vec![0.0; p.r.len()];
    let mut states = Vec::with_capacity(spans.len() * heads * n_h * n_h);
    for (task, (out, s)) in results.into_iter().enumerate() {
        let ((start, len), h) = (spans[task / heads], task % heads);
        for i in 0..len {
            let t = start + i;
            o[t * c + h * n_h..t * c + (h + 1) * n_h].copy_from_slice(&out[i * n_h..(i + 1) * n_h]);
        }
        states.extend_from_slice(&s);
    }
    (o, states)
}

/// `f(0..count)` collected in order, on rayon's threads natively.
#[cfg(feature = "native")]
fn map_tasks<T: Send>(count: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    use rayon::prelude::*;
    (0..count).into_par_iter().map(f).collect()
}

#[cfg(not(feature = "native"))]
fn map_tasks<T>(count: usize, f: impl Fn(usize) -> T) -> Vec<T> {
    (0..count).map(f).collect()
}

/// Channel-mix (see `reference::channel_mix`): the update and the last LN2 rows.
fn channel_mix(x: &[f32], packing: &Packing, block: &FastBlock) -> (Vec<f32>, Vec<f32>) {
    let ffn: &FastChannelMix = &block.ffn;
    let (n, c) = (packing.rows(), ffn.maa_k.len());
    let (xx, sx) = normed_and_shifted(x, packing, &block.ln2);
    let mix = |mu: &[f32]| -> Vec<f32> {
        (0..n * c)
            .map(|i| xx[i] + (sx[i] - xx[i]) * mu[i % c])
            .collect()
    };
    let (xk, xr) = (mix(&ffn.maa_k), mix(&ffn.maa_r));
    let mut k = linear(&xk, n, &ffn.key.view());
    k.iter_mut().for_each(|v| *v = v.max(0.0).powi(2));
    let kv = linear(&k, n, &ffn.value.view());
    let r = linear(&xr, n, &ffn.receptance.view());
    let out = r.iter().zip(&kv).map(|(r, kv)| sigmoid(*r) * kv).collect();
    (out, last_rows(&xx, c, packing))
}
