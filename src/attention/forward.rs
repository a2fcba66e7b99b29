//! The plain-Rust forward of both attention families (Vaswani et al. 2017; Devlin et al.
//! 2019, post-LN BERT; Radford et al. 2019, pre-LN GPT-2), one function per equation
//! block. Sequences are packed row after row; a sequence's queries see only its own keys
//! (and, in GPT-2, only those at or before their position): exactly the batched form's
//! mask `M[i][j] = 0 if j < len (and j ≤ i) else −∞` (the masked weights are `exp(−∞) = 0`).
//! Shapes: N packed rows, T a sequence's rows, C width, H heads of d = C/H, F feed-forward width.

use super::config::{Activation, TransformerConfig};
use super::weights::{Dense, LayerWeights, Norm, Stack, TransformerWeights};
use crate::reference::ops::{layer_norm_rows, linear, matmul, Matrix};
use crate::reference::Packing;
use crate::Result;

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

/// `gelu_new(x) = x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))`, GPT-2's tanh form.
pub fn gelu_tanh(x: f32) -> f32 {
    let x = x as f64;
    let inner = (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x);
    (0.5 * x * (1.0 + inner.tanh())) as f32
}

/// `LN(x + y)`: the residual sum followed by LayerNorm (post-LN), `[N][C]`.
pub fn add_norm(x: &[f32], y: &[f32], norm: &Norm, eps: f32) -> Vec<f32> {
    let sum: Vec<f32> = x.iter().zip(y).map(|(a, b)| a + b).collect();
    layer_norm(&sum, norm, eps)
}

/// `LN(x) · γ + β` over each row `[N][C]`.
pub fn layer_norm(x: &[f32], norm: &Norm, eps: f32) -> Vec<f32> {
    layer_norm_rows(x, &norm.weight, &norm.bias, eps)
}

/// Layer 0: `E_word[token_t] + E_pos[t] (+ E_type[0])`, then BERT's LayerNorm; `[N][C]`.
/// Every sentence is segment 0 and positions restart at 0 in each sequence.
pub fn embeddings(w: &TransformerWeights, tokens: &[Vec<u32>]) -> Result<Vec<f32>> {
    let cfg = &w.config;
    let c = cfg.hidden;
    let mut x = Vec::with_capacity(tokens.iter().map(Vec::len).sum::<usize>() * c);
    for (s, seq) in tokens.iter().enumerate() {
        cfg.check_sequence(s, seq)?;
        for (t, &id) in seq.iter().enumerate() {
            let (word, pos) = (w.word.row(id as usize), w.position.row(t));
            x.extend(word.iter().zip(pos).map(|(a, b)| a + b));
        }
    }
    Ok(match &w.stack {
        Stack::PostLn { type_row, emb_norm } => {
            for row in x.chunks_exact_mut(c) {
                row.iter_mut().zip(type_row).for_each(|(x, t)| *x += t);
            }
            layer_norm(&x, emb_norm, cfg.layer_norm_eps)
        }
        Stack::PreLn { .. } => x,
    })
}

/// Columns `cols` of `[T][C]` rows as a `[T][d]` matrix (one head's slice).
fn head_columns(x: &[f32], c: usize, cols: &std::ops::Range<usize>) -> Matrix {
    let data: Vec<f32> = x
        .chunks_exact(c)
        .flat_map(|r| &r[cols.clone()])
        .copied()
        .collect();
    Matrix::new(x.len() / c, cols.len(), data)
}

/// One head's attention probabilities on one sequence: `P = softmax(Q Kᵀ / √d + M)`,
/// `[T][T]` (row i = query token i, column j = key token j; each row sums to 1), M causal
/// when `causal` (then `P[i][j] = 0` for j > i). `q`, `k`: the sequence's rows `[T][C]`;
/// the head is the columns `cols`.
pub fn attention_probabilities(
    [q, k]: [&[f32]; 2],
    c: usize,
    cols: &std::ops::Range<usize>,
    causal: bool,
) -> Vec<f32> {
    let (qh, kh) = (head_columns(q, c, cols), head_columns(k, c, cols));
    let t = qh.rows;
    let scale = 1.0 / (cols.len() as f32).sqrt();
    // S = Q Kᵀ / √d   [T][T]
    let mut s = linear(&qh.data, t, &kh);
    for (i, row) in s.chunks_exact_mut(t).enumerate() {
        row.iter_mut().for_each(|x| *x *= scale);
        if causal {
            row[i + 1..].fill(f32::NEG_INFINITY);
        }
        softmax(row);
    }
    s
}

/// One head on one sequence: `O = softmax(Q Kᵀ / √d + M) V = P V`, M causal when
/// `causal`; both products through `gemm.rs` (`linear`: `Q Kᵀ`, `matmul`: `P V`).
/// `[q, k, v]` and `out`: the sequence's rows `[T][C]`; the head is the columns `cols`.
pub fn attention_head(
    [q, k, v]: [&[f32]; 3],
    c: usize,
    cols: std::ops::Range<usize>,
    causal: bool,
    out: &mut [f32],
) {
    let p = attention_probabilities([q, k], c, &cols, causal);
    let vh = head_columns(v, c, &cols);
    // O = P V   [T][d]
    let o = matmul(&p, vh.rows, &vh);
    for (out_row, o_row) in out.chunks_exact_mut(c).zip(o.chunks_exact(cols.len())) {
        out_row[cols.clone()].copy_from_slice(o_row);
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
    cfg: &TransformerConfig,
) -> Vec<f32> {
    let (c, n, d) = (cfg.hidden, packing.rows(), cfg.head_size());
    let (q, k, v) = (
        dense(x, n, &lw.query),
        dense(x, n, &lw.key),
        dense(x, n, &lw.value),
    );
    let causal = cfg.family.causal();
    let mut heads = vec![0.0f32; n * c];
    for (start, len) in packing.spans() {
        let rows = start * c..(start + len) * c;
        for h in 0..cfg.n_head {
            let qkv = [&q[rows.clone()], &k[rows.clone()], &v[rows.clone()]];
            let cols = h * d..(h + 1) * d;
            attention_head(qkv, c, cols, causal, &mut heads[rows.clone()]);
        }
    }
    dense(&heads, n, &lw.attn_output)
}

/// Position-wise feed-forward `FFN(a) = GELU(a W₁ᵀ + b₁) W₂ᵀ + b₂`, `[N][C]` (via `[N][F]`).
pub fn feed_forward(lw: &LayerWeights, a: &[f32], n: usize, act: Activation) -> Vec<f32> {
    let mut hidden = dense(a, n, &lw.ffn_in);
    let f = match act {
        Activation::GeluErf => gelu,
        Activation::GeluTanh => gelu_tanh,
    };
    hidden.iter_mut().for_each(|h| *h = f(*h));
    dense(&hidden, n, &lw.ffn_out)
}

/// One BERT layer (post-LN): `a = LN(x + MHA(x))`, then `x' = LN(a + FFN(a))`.
pub fn encoder_layer(
    lw: &LayerWeights,
    x: &[f32],
    packing: &Packing,
    cfg: &TransformerConfig,
) -> Vec<f32> {
    let (eps, n) = (cfg.layer_norm_eps, packing.rows());
    let a = add_norm(x, &self_attention(lw, x, packing, cfg), &lw.attn_norm, eps);
    let f = feed_forward(lw, &a, n, cfg.activation);
    add_norm(&a, &f, &lw.ffn_norm, eps)
}

/// One GPT-2 block (pre-LN): `a = x + MHA(LN₁(x))`, then `x' = a + FFN(LN₂(a))`.
pub fn decoder_layer(
    lw: &LayerWeights,
    x: &[f32],
    packing: &Packing,
    cfg: &TransformerConfig,
) -> Vec<f32> {
    let (eps, n) = (cfg.layer_norm_eps, packing.rows());
    let m = self_attention(lw, &layer_norm(x, &lw.attn_norm, eps), packing, cfg);
    let a: Vec<f32> = x.iter().zip(&m).map(|(x, m)| x + m).collect();
    let f = feed_forward(lw, &layer_norm(&a, &lw.ffn_norm, eps), n, cfg.activation);
    a.iter().zip(&f).map(|(a, f)| a + f).collect()
}

/// Runs the model on packed sequences; `on_layer(i, x)` sees every layer's hidden
/// states `[N][C]`: 0 = the embeddings output, i = the output of layer i (1-based); in
/// GPT-2 layer L is `ln_f` of the last block's output (as `output_hidden_states` gives it).
pub fn forward_with(
    w: &TransformerWeights,
    tokens: &[Vec<u32>],
    mut on_layer: impl FnMut(usize, &[f32]),
) -> Result<()> {
    let packing = Packing::new(&tokens.iter().map(Vec::len).collect::<Vec<_>>());
    let mut x = embeddings(w, tokens)?;
    on_layer(0, &x);
    for (i, lw) in w.layers.iter().enumerate() {
        x = match &w.stack {
            Stack::PostLn { .. } => encoder_layer(lw, &x, &packing, &w.config),
            Stack::PreLn { .. } => decoder_layer(lw, &x, &packing, &w.config),
        };
        if let (Stack::PreLn { final_norm }, true) = (&w.stack, i + 1 == w.layers.len()) {
            x = layer_norm(&x, final_norm, w.config.layer_norm_eps);
        }
        on_layer(i + 1, &x);
    }
    Ok(())
}

/// The attention probabilities `P` of head `head` (0-based) in layer `layer` (1-based) on
/// one sentence, `[T][T]` ([`attention_probabilities`]): the layer's input from this
/// forward, then its `Q`, `K` (BERT: of `x`; GPT-2: of `LN₁(x)`).
pub fn attention_map(
    w: &TransformerWeights,
    tokens: &[u32],
    layer: usize,
    head: usize,
) -> Result<Vec<f32>> {
    let cfg = &w.config;
    if layer == 0 || layer > cfg.n_layer {
        return Err(crate::Error::input(format!(
            "attention layer {layer} is out of range: this model has layers 1..={}",
            cfg.n_layer
        )));
    }
    if head >= cfg.n_head {
        return Err(crate::Error::input(format!(
            "attention head {head} is out of range: this model has heads 0..={}",
            cfg.n_head - 1
        )));
    }
    let mut input = Vec::new();
    forward_with(w, &[tokens.to_vec()], |i, x| {
        if i + 1 == layer {
            input = x.to_vec();
        }
    })?;
    let lw = &w.layers[layer - 1];
    if let Stack::PreLn { .. } = w.stack {
        input = layer_norm(&input, &lw.attn_norm, cfg.layer_norm_eps);
    }
    let n = tokens.len();
    let (q, k) = (dense(&input, n, &lw.query), dense(&input, n, &lw.key));
    let d = cfg.head_size();
    let cols = head * d..(head + 1) * d;
    Ok(attention_probabilities(
        [&q, &k],
        cfg.hidden,
        &cols,
        cfg.family.causal(),
    ))
}
