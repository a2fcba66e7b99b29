//! Channel-mix, the feed-forward half of an RWKV-7 block (`RWKV_x070_CMix_seq`):
//!
//! ```text
//! xx = LN2(x);  x_k = xx + (shift(xx) − xx)·μk
//! out = ReLU(x_k Wkᵀ)² Wvᵀ                       (RWKV-6 also gated it by σ(x_r Wrᵀ))
//! ```

use super::weights::ChannelMix;
use crate::reference::ops::{layer_norm_rows, linear};
use crate::reference::time_mix::{token_shift, LN_EPS};
use crate::reference::weights::Norm;
use crate::reference::Packing;

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
    let xk: Vec<f32> = (0..n * c)
        .map(|i| xx[i] + (sx[i] - xx[i]) * ffn.x_k[i % c])
        .collect();
    let k: Vec<f32> = linear(&xk, n, &ffn.key)
        .into_iter()
        .map(|v| v.max(0.0).powi(2))
        .collect();
    let last = packing
        .spans()
        .map(|(s, len)| xx[(s + len - 1) * c..(s + len) * c].to_vec())
        .collect();
    (linear(&k, n, &ffn.value), last)
}
