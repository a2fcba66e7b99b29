//! Time-mix, the attention-like half of an RWKV-6 block (`RWKV_Tmix_x060`):
//!
//! ```text
//! xx = LN1(x);  d = shift(xx) − xx                       (token shift, "maa" form)
//! m  = tanh((xx + d·μx) @ W1) @ W2                        (data-dependent mixes, 5 slices)
//! x∗ = xx + d·(μ∗ + m∗)        for ∗ ∈ {w, k, v, r, g}     ("ddlerp")
//! r, k, v = x_r Wrᵀ, x_k Wkᵀ, x_v Wvᵀ;   g = SiLU(x_g Wgᵀ)
//! log w = −exp(time_decay + tanh(x_w @ D1) @ D2)          (data-dependent decay, w ∈ (0,1))
//! o = WKV(r, k, v, w, u)                                   (see wkv.rs)
//! out = (GroupNorm_H(o, eps 64e-5) · g) Woᵀ
//! ```
//! Rows are the packed real tokens of all sequences (`n` rows of `C`).

use super::ops::{group_norm_rows, layer_norm_rows, linear, matmul, silu};
use super::weights::{Norm, TimeMix};
use super::wkv;
use super::Packing;

/// GroupNorm epsilon of `ln_x`: 1e-5 · head_size_divisor² = 64e-5.
pub const LN_X_EPS: f32 = 64e-5;
/// LayerNorm epsilon everywhere else.
pub const LN_EPS: f32 = 1e-5;

/// Everything time-mix computes per token before the recurrence (all `[n][C]`).
#[derive(Debug, Clone)]
pub struct Projections {
    pub r: Vec<f32>,
    pub k: Vec<f32>,
    pub v: Vec<f32>,
    /// `SiLU(x_g Wgᵀ)`.
    pub g: Vec<f32>,
    /// `log w = −exp(·)`, always ≤ 0.
    pub log_w: Vec<f32>,
}

/// `sx`: the previous token's row (the carried `init` for a sequence's first token).
/// `xx`: `[n][C]`; `init`: one `[C]` row per sequence.
pub fn token_shift(xx: &[f32], c: usize, packing: &Packing, init: &[Vec<f32>]) -> Vec<f32> {
    let mut sx = vec![0.0; xx.len()];
    for (b, (start, len)) in packing.spans().enumerate() {
        sx[start * c..(start + 1) * c].copy_from_slice(&init[b]);
        sx[(start + 1) * c..(start + len) * c]
            .copy_from_slice(&xx[start * c..(start + len - 1) * c]);
    }
    sx
}

/// The five mixed inputs `[x_w, x_k, x_v, x_r, x_g]` of the data-dependent token shift:
/// `x_∗ = xx + (sx − xx)·a_∗`, `[n][C]` each.
pub fn ddlerp(xx: &[f32], sx: &[f32], n: usize, att: &TimeMix) -> [Vec<f32>; 5] {
    let d: Vec<f32> = sx.iter().zip(xx).map(|(s, x)| s - x).collect();
    shift_amounts(xx, sx, n, att).map(|a| (0..a.len()).map(|i| xx[i] + d[i] * a[i]).collect())
}

/// The mix amounts `a_∗ = μ_∗ + m_∗` for ∗ = w, k, v, r, g, `[n][C]` each, where
/// `m = tanh((xx + (sx − xx)·μx) @ W1) @ W2[∗]` is the data-dependent part (the LoRA).
pub fn shift_amounts(xx: &[f32], sx: &[f32], n: usize, att: &TimeMix) -> [Vec<f32>; 5] {
    let c = att.maa_x.len();
    let r = att.maa_w2[0].rows;
    // xxx = tanh((xx + d·μx) @ W1): [n][5R]
    let base: Vec<f32> = (0..n * c)
        .map(|i| xx[i] + (sx[i] - xx[i]) * att.maa_x[i % c])
        .collect();
    let lora: Vec<f32> = matmul(&base, n, &att.maa_w1)
        .into_iter()
        .map(f32::tanh)
        .collect();
    std::array::from_fn(|j| {
        // m_j = xxx[:, jR..(j+1)R] @ W2[j]: [n][C]
        let slice: Vec<f32> = (0..n)
            .flat_map(|t| lora[t * 5 * r + j * r..t * 5 * r + (j + 1) * r].to_vec())
            .collect();
        let m = matmul(&slice, n, &att.maa_w2[j]);
        (0..n * c).map(|i| att.maa[j][i % c] + m[i]).collect()
    })
}

/// `log w = −exp(time_decay + tanh(x_w @ D1) @ D2)`, `[n][C]`.
pub fn log_decay(xw: &[f32], n: usize, att: &TimeMix) -> Vec<f32> {
    let c = att.decay.len();
    let hidden: Vec<f32> = matmul(xw, n, &att.decay_w1)
        .into_iter()
        .map(f32::tanh)
        .collect();
    let lora = matmul(&hidden, n, &att.decay_w2);
    (0..n * c)
        .map(|i| -(att.decay[i % c] + lora[i]).exp())
        .collect()
}

/// Receptance, key, value, gate and decay for every token.
pub fn project(xx: &[f32], sx: &[f32], n: usize, att: &TimeMix) -> Projections {
    let [xw, xk, xv, xr, xg] = ddlerp(xx, sx, n, att);
    Projections {
        r: linear(&xr, n, &att.receptance),
        k: linear(&xk, n, &att.key),
        v: linear(&xv, n, &att.value),
        g: linear(&xg, n, &att.gate).into_iter().map(silu).collect(),
        log_w: log_decay(&xw, n, att),
    }
}

/// What one time-mix call hands back besides its output.
pub struct TimeMixState {
    /// LN1 output of each sequence's last token (the next call's token shift).
    pub shift: Vec<Vec<f32>>,
    /// WKV state `[H][N][N]` ([key][value]) of each sequence after its last token.
    pub wkv: Vec<Vec<f32>>,
}

/// The whole time-mix: returns the residual update `[n][C]` and the final states.
/// `state`: the carried state (zeros for a fresh sequence), consumed.
pub fn time_mix(
    x: &[f32],
    packing: &Packing,
    ln1: &Norm,
    att: &TimeMix,
    state: TimeMixState,
) -> (Vec<f32>, TimeMixState) {
    let (n, c) = (packing.rows(), ln1.weight.len());
    let heads = att.heads;
    let xx = layer_norm_rows(x, &ln1.weight, &ln1.bias, LN_EPS);
    let sx = token_shift(&xx, c, packing, &state.shift);
    let p = project(&xx, &sx, n, att);
    let mut wkv_state = state.wkv;
    let o = wkv::recurrent(&p, packing, heads, &att.u, &mut wkv_state);
    let y = group_norm_rows(&o, heads, &att.ln_x.weight, &att.ln_x.bias, LN_X_EPS);
    let gated: Vec<f32> = y.iter().zip(&p.g).map(|(y, g)| y * g).collect();
    let shift = packing
        .spans()
        .map(|(s, len)| xx[(s + len - 1) * c..(s + len) * c].to_vec())
        .collect();
    (
        linear(&gated, n, &att.output),
        TimeMixState {
            shift,
            wkv: wkv_state,
        },
    )
}
