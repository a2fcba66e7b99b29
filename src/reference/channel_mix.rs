//! Channel-mix, the feed-forward half of an RWKV-6 block (`ffn_seq_v6`):
//!
//! ```text
//! xx = LN2(x);  d = shift(xx) − xx
//! x_k = xx + d·μk;   x_r = xx + d·μr
//! out = σ(x_r Wrᵀ) ⊙ ( ReLU(x_k Wkᵀ)² Wvᵀ )
//! ```

use super::ops::{layer_norm_rows, linear, sigmoid};
use super::time_mix::{token_shift, LN_EPS};
use super::weights::{ChannelMix, Norm};
use super::Packing;

/// Returns the residual update `[n][C]` and each sequence's last LN2 row (its shift state).
pub fn channel_mix(
    x: &[f32],
    packing: &Packing,
    ln2: &Norm,
    ffn: &ChannelMix,
    shift: &[Vec<f32>],
) -> (Vec<f32>, Vec<Vec<f32>>) {
    let (n, c) = (packing.rows(), ln2.weight.len());
    let xx = layer_norm_rows(x, &ln2.weight, &ln2.bias, LN_EPS);
    let sx = token_shift(&xx, c, packing, shift);
    let mix = |mu: &[f32]| -> Vec<f32> {
        (0..n * c)
            .map(|i| xx[i] + (sx[i] - xx[i]) * mu[i % c])
            .collect()
    };
    let (xk, xr) = (mix(&ffn.maa_k), mix(&ffn.maa_r));
    let k: Vec<f32> = linear(&xk, n, &ffn.key)
        .into_iter()
        .map(|v| v.max(0.0).powi(2))
        .collect();
    let kv = linear(&k, n, &ffn.value);
    let r = linear(&xr, n, &ffn.receptance);
    let out = r.iter().zip(&kv).map(|(r, kv)| sigmoid(*r) * kv).collect();
    let last = packing
        .spans()
        .map(|(s, len)| xx[(s + len - 1) * c..(s + len) * c].to_vec())
        .collect();
    (out, last)
}
