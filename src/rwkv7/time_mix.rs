//! Time-mix, the attention-like half of an RWKV-7 block (`rwkv/model.py
//! RWKV_x070_TMix_seq`), one function per equation block:
//!
//! ```text
//! xx = LN1(x);  d = shift(xx) − xx;   x_∗ = xx + d·μ_∗   for ∗ ∈ {r, w, k, v, a, g}   (six mixes)
//! r, k, v = x_r Wrᵀ, x_k Wkᵀ, x_v Wvᵀ
//! log w = −e^{−1/2} · σ(w0 + tanh(x_w W1) W2)          decay ∈ (0.545, 1)        (decay LoRA)
//! a     = σ(a0 + (x_a A1) A2)                          in-context learning rate (a LoRA)
//! g     = σ(x_g G1) G2                                 gate                     (g LoRA)
//! κ̂     = normalize_per_head(k ⊙ k_k)                  removal key
//! k     ← k ⊙ (1 + (a − 1) ⊙ k_a)                      written key
//! v     ← v + (v_first − v) · σ(v0 + (x_v V1) V2)      value residual (block 0: v_first = v)
//! o     = WKV(r, w, k, v, κ̂, a)                        generalized delta rule (wkv.rs)
//! y     = GroupNorm_H(o, eps 64e-5) + (Σ_head r ⊙ k ⊙ r_k) · v     the bonus
//! out   = (y ⊙ g) Woᵀ
//! ```
//! Rows are the packed real tokens of all sequences (`n` rows of `C`).

use super::weights::{Lora, TimeMix};
use super::{chunked, wkv};
use crate::reference::ops::{group_norm_rows, layer_norm_rows, linear, matmul, sigmoid};
use crate::reference::time_mix::{token_shift, LN_EPS, LN_X_EPS};
use crate::reference::weights::Norm;
use crate::reference::Packing;
use crate::Result;

/// `e^{−1/2}` as the official package writes it (`0.606531`): the largest per-step
/// log-decay magnitude.
pub const DECAY_SCALE: f32 = 0.606531;

/// Everything time-mix computes per token before the recurrence (all `[n][C]`).
#[derive(Debug, Clone)]
pub struct Projections {
    pub r: Vec<f32>,
    /// The written key `k ⊙ (1 + (a − 1) ⊙ k_a)`.
    pub k: Vec<f32>,
    /// The value after the value residual.
    pub v: Vec<f32>,
    /// `log w = −e^{−1/2}·σ(·)`, in (−0.6066, 0).
    pub log_w: Vec<f32>,
    /// The removal key κ̂ (unit length per head).
    pub kk: Vec<f32>,
    /// The in-context learning rate a ∈ (0, 1).
    pub a: Vec<f32>,
    /// The gate.
    pub g: Vec<f32>,
}

/// The six mixed inputs `[x_r, x_w, x_k, x_v, x_a, x_g]`: `x_∗ = xx + (sx − xx)·μ_∗`.
pub fn shift_mixes(xx: &[f32], sx: &[f32], mix: &[Vec<f32>; 6]) -> [Vec<f32>; 6] {
    let c = mix[0].len();
    std::array::from_fn(|m| {
        let mu = &mix[m];
        (0..xx.len())
            .map(|i| xx[i] + (sx[i] - xx[i]) * mu[i % c])
            .collect()
    })
}

impl Lora {
    /// `bias + inner(x @ down) @ up`, `[n][C]`.
    pub fn apply(&self, x: &[f32], n: usize, inner: fn(f32) -> f32) -> Vec<f32> {
        let hidden: Vec<f32> = matmul(x, n, &self.down).into_iter().map(inner).collect();
        let c = self.bias.len();
        let mut out = matmul(&hidden, n, &self.up);
        out.iter_mut()
            .enumerate()
            .for_each(|(i, o)| *o += self.bias[i % c]);
        out
    }
}

fn identity(x: f32) -> f32 {
    x
}

/// `log w = −e^{−1/2}·σ(w0 + tanh(x_w W1) W2)`.
pub fn log_decay(xw: &[f32], n: usize, w: &Lora) -> Vec<f32> {
    let z = w.apply(xw, n, f32::tanh);
    z.into_iter().map(|z| -DECAY_SCALE * sigmoid(z)).collect()
}

/// `a = σ(a0 + (x_a A1) A2)`.
pub fn learning_rate(xa: &[f32], n: usize, a: &Lora) -> Vec<f32> {
    a.apply(xa, n, identity).into_iter().map(sigmoid).collect()
}

/// `g = σ(x_g G1) G2`.
pub fn gate(xg: &[f32], n: usize, g: &Lora) -> Vec<f32> {
    g.apply(xg, n, sigmoid)
}

/// `κ̂ = normalize_per_head(k ⊙ k_k)`: each head's N channels divided by their length
/// (at least 1e-12, as `F.normalize`).
pub fn removal_key(k: &[f32], k_k: &[f32], heads: usize) -> Vec<f32> {
    let c = k_k.len();
    let n = c / heads;
    let mut kk: Vec<f32> = k.iter().enumerate().map(|(i, k)| k * k_k[i % c]).collect();
    for head in kk.chunks_exact_mut(n) {
        let len = head.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        head.iter_mut().for_each(|x| *x /= len);
    }
    kk
}

/// `k ← k ⊙ (1 + (a − 1) ⊙ k_a)`, in place.
pub fn scale_key(k: &mut [f32], a: &[f32], k_a: &[f32]) {
    let c = k_a.len();
    for (i, k) in k.iter_mut().enumerate() {
        *k *= 1.0 + (a[i] - 1.0) * k_a[i % c];
    }
}

/// `v ← v + (v_first − v)·σ(v0 + (x_v V1) V2)`, in place.
pub fn value_residual(v: &mut [f32], v_first: &[f32], xv: &[f32], n: usize, lora: &Lora) {
    let mix = lora.apply(xv, n, identity);
    for ((v, first), m) in v.iter_mut().zip(v_first).zip(mix) {
        *v += (first - *v) * sigmoid(m);
    }
}

/// Every per-token quantity of the time-mix. `v_first`: block 0 passes `None` and gets its
/// `v` back to hand on; later blocks pass block 0's `v`.
pub fn project(
    xx: &[f32],
    sx: &[f32],
    n: usize,
    att: &TimeMix,
    v_first: Option<&[f32]>,
) -> Projections {
    let [xr, xw, xk, xv, xa, xg] = shift_mixes(xx, sx, &att.mix);
    let mut k = linear(&xk, n, &att.key);
    let mut v = linear(&xv, n, &att.value);
    let a = learning_rate(&xa, n, &att.a);
    let kk = removal_key(&k, &att.k_k, att.heads);
    scale_key(&mut k, &a, &att.k_a);
    if let (Some(first), Some(lora)) = (v_first, &att.v) {
        value_residual(&mut v, first, &xv, n, lora);
    }
    Projections {
        r: linear(&xr, n, &att.receptance),
        k,
        v,
        log_w: log_decay(&xw, n, &att.w),
        kk,
        a,
        g: gate(&xg, n, &att.g),
    }
}

/// `y = o + (Σ_head r ⊙ k ⊙ r_k) · v`, per head, in place on `o` (`[n][C]`).
pub fn add_bonus(o: &mut [f32], p: &Projections, r_k: &[f32], heads: usize) {
    let c = r_k.len();
    let n = c / heads;
    for (t, row) in o.chunks_exact_mut(c).enumerate() {
        for h in 0..heads {
            let ch = h * n..(h + 1) * n;
            let at = |x: &[f32], j: usize| x[t * c + j];
            let s: f32 = ch.clone().map(|j| at(&p.r, j) * at(&p.k, j) * r_k[j]).sum();
            for j in ch {
                row[j] += s * at(&p.v, j);
            }
        }
    }
}

/// What one time-mix call hands back besides its output.
pub struct TimeMixState {
    /// LN1 output of each sequence's last token (the next call's token shift).
    pub shift: Vec<Vec<f32>>,
    /// WKV state `[H][N][N]` ([value][key]) of each sequence after its last token.
    pub wkv: Vec<Vec<f32>>,
}

/// The whole time-mix: returns the residual update `[n][C]` and the final states;
/// `v_first` is set by block 0 (`None` in) and read by the others; `chunk`: the WKV's
/// chunked form with chunks of this many tokens instead of the recurrence.
pub fn time_mix(
    x: &[f32],
    packing: &Packing,
    ln1: &Norm,
    att: &TimeMix,
    state: TimeMixState,
    v_first: &mut Option<Vec<f32>>,
    chunk: Option<usize>,
) -> Result<(Vec<f32>, TimeMixState)> {
    let (n, c) = (packing.rows(), ln1.weight.len());
    let xx = layer_norm_rows(x, &ln1.weight, &ln1.bias, LN_EPS);
    let sx = token_shift(&xx, c, packing, &state.shift);
    let p = project(&xx, &sx, n, att, v_first.as_deref());
    if v_first.is_none() {
        *v_first = Some(p.v.clone());
    }
    let mut wkv_state = state.wkv;
    let o = match chunk {
        None => wkv::recurrent(&p, packing, att.heads, &mut wkv_state),
        Some(len) => chunked::chunked(&p, packing, att.heads, &mut wkv_state, len)?,
    };
    let mut y = group_norm_rows(&o, att.heads, &att.ln_x.weight, &att.ln_x.bias, LN_X_EPS);
    add_bonus(&mut y, &p, &att.r_k, att.heads);
    let gated: Vec<f32> = y.iter().zip(&p.g).map(|(y, g)| y * g).collect();
    let shift = packing
        .spans()
        .map(|(s, len)| xx[(s + len - 1) * c..(s + len) * c].to_vec())
        .collect();
    let state = TimeMixState {
        shift,
        wkv: wkv_state,
    };
    Ok((linear(&gated, n, &att.output), state))
}
