//! The plain-Rust encoder forward (Vaswani et al. 2017; Devlin et al. 2019, post-LN),
//! one function per equation block. Sequences are packed row after row; a sequence's
//! queries see only its own keys, which is exactly the batched form's padding mask
//! `M[i][j] = 0 if j < len else −∞` (the masked weights are `exp(−∞) = 0`).
//! Shapes: N packed rows, C width, H heads of d = C/H, F feed-forward width.

use std::ops::Range;

use super::config::BertConfig;
use super::weights::{BertWeights, Dense, LayerWeights, Norm};
use crate::reference::ops::{dot, layer_norm_rows, linear};
use crate::reference::Packing;
use crate::{Error, Result};

/// `y = x Wᵀ + b`; `x` `[n][in]` → `[n][out]`.
pub fn dense(x: &[f32], n: usize, d: &Dense) -> Vec<f32> {
    let mut y = linear(x, n, &d.weight);
    for row in y.chunks_exact_mut(d.bias.len()) {
        row.iter_mut().zip(&d.bias).for_each(|(y, b)| *y += b);
    }
    y
}

/// `GELU(x) = x · Φ(x) = x/2 · (1 + erf(x/√2))`, the exact (erf) form BERT uses.
pub fn gelu(x: f32) -> f32 {
    let x = x as f64;
    (0.5 * x * (1.0 + libm::erf(x * std::f64::consts::FRAC_1_SQRT_2))) as f32
}

/// `LN(x + y)`: the residual sum followed by LayerNorm (post-LN), `[N][C]`.
pub fn add_norm(x: &[f32], y: &[f32], norm: &Norm, eps: f32) -> Vec<f32> {
    let sum: Vec<f32> = x.iter().zip(y).map(|(a, b)| a + b).collect();
    layer_norm_rows(&sum, &norm.weight, &norm.bias, eps)
}

/// Layer 0: `x₀[t] = LN(E_word[token_t] + E_pos[t] + E_type[0])`, `[N][C]`.
/// Every sentence is segment 0 and positions restart at 0 in each sequence.
pub fn embeddings(w: &BertWeights, tokens: &[Vec<u32>]) -> Result<Vec<f32>> {
    let cfg = &w.config;
    let c = cfg.hidden;
    let mut x = Vec::with_capacity(tokens.iter().map(Vec::len).sum::<usize>() * c);
    for (s, seq) in tokens.iter().enumerate() {
        check_sequence(cfg, s, seq)?;
        for (t, &id) in seq.iter().enumerate() {
            let (word, pos, ty) = (
                w.word.row(id as usize),
                w.position.row(t),
                w.token_type.row(0),
            );
            x.extend((0..c).map(|i| word[i] + pos[i] + ty[i]));
        }
    }
    Ok(layer_norm_rows(
        &x,
        &w.emb_norm.weight,
        &w.emb_norm.bias,
        cfg.layer_norm_eps,
    ))
}

fn check_sequence(cfg: &BertConfig, s: usize, seq: &[u32]) -> Result<()> {
    if seq.is_empty() || seq.len() > cfg.max_positions {
        return Err(Error::input(format!(
            "sequence {s} has {} tokens; this encoder takes 1..={} (max_position_embeddings)",
            seq.len(),
            cfg.max_positions
        )));
    }
    match seq.iter().find(|&&id| id as usize >= cfg.vocab_size) {
        Some(id) => Err(Error::input(format!(
            "sequence {s}: token id {id} is outside the vocabulary (0..{})",
            cfg.vocab_size
        ))),
        None => Ok(()),
    }
}

/// One head on one sequence: `O = softmax(Q Kᵀ / √d + M) V`.
/// `[q, k, v]` and `out`: the sequence's rows `[len][C]`; the head is the columns `cols`.
pub fn attention_head([q, k, v]: [&[f32]; 3], c: usize, cols: Range<usize>, out: &mut [f32]) {
    let len = q.len() / c;
    let scale = 1.0 / (cols.len() as f32).sqrt();
    let mut p = vec![0.0f32; len];
    for i in 0..len {
        let qi = &q[i * c..(i + 1) * c][cols.clone()];
        for (j, pj) in p.iter_mut().enumerate() {
            *pj = dot(qi, &k[j * c..(j + 1) * c][cols.clone()]) * scale;
        }
        softmax(&mut p);
        let oi = &mut out[i * c..(i + 1) * c][cols.clone()];
        oi.fill(0.0);
        for (j, &pj) in p.iter().enumerate() {
            let vj = &v[j * c..(j + 1) * c][cols.clone()];
            oi.iter_mut().zip(vj).for_each(|(o, v)| *o += pj * v);
        }
    }
}

/// `softmax(s)_j = exp(s_j − max s) / Σ_k exp(s_k − max s)`, in place.
pub fn softmax(s: &mut [f32]) {
    let max = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    s.iter_mut().for_each(|x| *x = (*x - max).exp());
    let inv = 1.0 / s.iter().sum::<f32>();
    s.iter_mut().for_each(|x| *x *= inv);
}

/// Multi-head self-attention `MHA(x) = Concat(head₁..head_H) W_Oᵀ + b_O`, `[N][C]`,
/// with `Q = x W_Qᵀ + b_Q`, `K`, `V` alike.
pub fn self_attention(
    lw: &LayerWeights,
    x: &[f32],
    packing: &Packing,
    cfg: &BertConfig,
) -> Vec<f32> {
    let (c, n, d) = (cfg.hidden, packing.rows(), cfg.head_size());
    let (q, k, v) = (
        dense(x, n, &lw.query),
        dense(x, n, &lw.key),
        dense(x, n, &lw.value),
    );
    let mut heads = vec![0.0f32; n * c];
    for (start, len) in packing.spans() {
        let rows = start * c..(start + len) * c;
        for h in 0..cfg.n_head {
            let qkv = [&q[rows.clone()], &k[rows.clone()], &v[rows.clone()]];
            attention_head(qkv, c, h * d..(h + 1) * d, &mut heads[rows.clone()]);
        }
    }
    dense(&heads, n, &lw.attn_output)
}

/// Position-wise feed-forward `FFN(a) = GELU(a W₁ᵀ + b₁) W₂ᵀ + b₂`, `[N][C]` (via `[N][F]`).
pub fn feed_forward(lw: &LayerWeights, a: &[f32], n: usize) -> Vec<f32> {
    let mut hidden = dense(a, n, &lw.ffn_in);
    hidden.iter_mut().for_each(|h| *h = gelu(*h));
    dense(&hidden, n, &lw.ffn_out)
}

/// One encoder layer: `a = LN(x + MHA(x))`, then `x' = LN(a + FFN(a))`.
pub fn encoder_layer(
    lw: &LayerWeights,
    x: &[f32],
    packing: &Packing,
    cfg: &BertConfig,
) -> Vec<f32> {
    let eps = cfg.layer_norm_eps;
    let a = add_norm(x, &self_attention(lw, x, packing, cfg), &lw.attn_norm, eps);
    add_norm(&a, &feed_forward(lw, &a, packing.rows()), &lw.out_norm, eps)
}

/// Runs the encoder on packed sequences; `on_layer(i, x)` sees every layer's hidden
/// states `[N][C]`: 0 = the embeddings output, i = the output of layer i (1-based).
pub fn forward_with(
    w: &BertWeights,
    tokens: &[Vec<u32>],
    mut on_layer: impl FnMut(usize, &[f32]),
) -> Result<()> {
    let packing = Packing::new(&tokens.iter().map(Vec::len).collect::<Vec<_>>());
    let mut x = embeddings(w, tokens)?;
    on_layer(0, &x);
    for (i, lw) in w.layers.iter().enumerate() {
        x = encoder_layer(lw, &x, &packing, &w.config);
        on_layer(i + 1, &x);
    }
    Ok(())
}
