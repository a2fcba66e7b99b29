//! The plain-Rust forward of the attention families (Vaswani et al. 2017; Devlin et al.
//! 2019, post-LN BERT; Radford et al. 2019, pre-LN GPT-2; Touvron et al. 2023, Llama:
//! pre-RMSNorm, RoPE (Su et al. 2021), grouped-query attention, SwiGLU), one function per
//! equation block. Sequences are packed row after row; a sequence's queries see only its own
//! keys (and, in the decoders, only those at or before their position): exactly the batched
//! form's mask `M[i][j] = 0 if j < len (and j ≤ i) else −∞` (the masked weights are
//! `exp(−∞) = 0`). Shapes: N packed rows, T a sequence's rows, C width, H heads of d = C/H,
//! H_kv key/value heads (C_kv = H_kv·d), F feed-forward width.

use super::config::{Activation, Family, TransformerConfig};
use super::weights::{Dense, LayerWeights, Norm, Stack, TransformerWeights};
use crate::reference::ops::{layer_norm_rows, linear, matmul, silu, Matrix};
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

/// `RMSNorm(x) = x / √(mean_c x² + ε) · γ` over each row `[N][C]` (Llama; no centring, no β).
pub fn rms_norm(x: &[f32], norm: &Norm, eps: f32) -> Vec<f32> {
    let c = norm.weight.len();
    let mut y = Vec::with_capacity(x.len());
    for row in x.chunks_exact(c) {
        let ms = row.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / c as f64;
        let inv = (1.0 / (ms + eps as f64).sqrt()) as f32;
        y.extend(row.iter().zip(&norm.weight).map(|(v, g)| v * inv * g));
    }
    y
}

/// A decoder's sublayer norm: RMSNorm in Llama, LayerNorm in GPT-2.
pub fn pre_norm(x: &[f32], norm: &Norm, cfg: &TransformerConfig) -> Vec<f32> {
    match cfg.family.rms_norm() {
        true => rms_norm(x, norm, cfg.layer_norm_eps),
        false => layer_norm(x, norm, cfg.layer_norm_eps),
    }
}

/// RoPE in place on `x` `[N][heads·d]`, HF's `rotate_half` convention: for each head's
/// `(x_i, x_{i+d/2})`, i < d/2, at position t (restarting at 0 in each sequence),
/// `x_i ← x_i cos tθ_i − x_{i+d/2} sin tθ_i`, `x_{i+d/2} ← x_{i+d/2} cos tθ_i + x_i sin tθ_i`,
/// `θ_i = inv_freq[i] = base^(−2i/d)`; the angle `t·θ_i` is rounded to f32 as torch does.
pub fn rope(x: &mut [f32], width: usize, d: usize, packing: &Packing, inv_freq: &[f32]) {
    let half = d / 2;
    for (start, len) in packing.spans() {
        for t in 0..len {
            let row = &mut x[(start + t) * width..(start + t + 1) * width];
            for (i, f) in inv_freq.iter().enumerate() {
                let angle = (t as f32 * f) as f64;
                let (sin, cos) = (angle.sin() as f32, angle.cos() as f32);
                for head in row.chunks_exact_mut(d) {
                    let (a, b) = (head[i], head[i + half]);
                    head[i] = a * cos - b * sin;
                    head[i + half] = b * cos + a * sin;
                }
            }
        }
    }
}

/// Layer 0: `E_word[token_t] + E_pos[t] (+ E_type[0])`, then BERT's LayerNorm; `[N][C]`.
/// Llama: `E_word[token_t]` alone (RoPE inside attention places the tokens).
/// Every sentence is segment 0 and positions restart at 0 in each sequence.
pub fn embeddings(w: &TransformerWeights, tokens: &[Vec<u32>]) -> Result<Vec<f32>> {
    let cfg = &w.config;
    let c = cfg.hidden;
    let mut x = Vec::with_capacity(tokens.iter().map(Vec::len).sum::<usize>() * c);
    for (s, seq) in tokens.iter().enumerate() {
        cfg.check_sequence(s, seq)?;
        for (t, &id) in seq.iter().enumerate() {
            let word = w.word.row(id as usize);
            match cfg.family {
                Family::Llama => x.extend_from_slice(word),
                _ => x.extend(word.iter().zip(w.position.row(t)).map(|(a, b)| a + b)),
            }
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
/// when `causal` (then `P[i][j] = 0` for j > i). `q`: the sequence's rows `[T][C]`, the
/// head is the columns `q_cols`; `k`: `[T][C_kv]`, the head's key/value head is the columns
/// `kv_cols` (the same as `q_cols` without grouping).
pub fn attention_probabilities(
    [q, k]: [&[f32]; 2],
    [c, c_kv]: [usize; 2],
    [q_cols, kv_cols]: [&std::ops::Range<usize>; 2],
    causal: bool,
) -> Vec<f32> {
    let (qh, kh) = (head_columns(q, c, q_cols), head_columns(k, c_kv, kv_cols));
    let t = qh.rows;
    let scale = 1.0 / (q_cols.len() as f32).sqrt();
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
/// `q` and `out`: the sequence's rows `[T][C]`, the head is the columns `q_cols`; `k`, `v`:
/// `[T][C_kv]`, the head's key/value head is the columns `kv_cols`.
pub fn attention_head(
    [q, k, v]: [&[f32]; 3],
    [c, c_kv]: [usize; 2],
    [q_cols, kv_cols]: [std::ops::Range<usize>; 2],
    causal: bool,
    out: &mut [f32],
) {
    let p = attention_probabilities([q, k], [c, c_kv], [&q_cols, &kv_cols], causal);
    let vh = head_columns(v, c_kv, &kv_cols);
    // O = P V   [T][d]
    let o = matmul(&p, vh.rows, &vh);
    for (out_row, o_row) in out.chunks_exact_mut(c).zip(o.chunks_exact(q_cols.len())) {
        out_row[q_cols.clone()].copy_from_slice(o_row);
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
/// with `Q = x W_Qᵀ + b_Q` `[N][C]`, `K`, `V` alike `[N][C_kv]`; Llama rotates Q and K
/// (`rope`) and query head h reads key/value head `h / (H / H_kv)` (grouped-query attention).
pub fn self_attention(
    lw: &LayerWeights,
    x: &[f32],
    packing: &Packing,
    cfg: &TransformerConfig,
) -> Vec<f32> {
    let (c, c_kv, n) = (cfg.hidden, cfg.kv_width(), packing.rows());
    let (q, k) = queries_keys(lw, x, packing, cfg);
    let v = dense(x, n, &lw.value);
    let causal = cfg.family.causal();
    let mut heads = vec![0.0f32; n * c];
    for (start, len) in packing.spans() {
        let (rows, kv_rows) = (
            start * c..(start + len) * c,
            start * c_kv..(start + len) * c_kv,
        );
        for h in 0..cfg.n_head {
            let qkv = [&q[rows.clone()], &k[kv_rows.clone()], &v[kv_rows.clone()]];
            let cols = head_cols(cfg, h);
            attention_head(qkv, [c, c_kv], cols, causal, &mut heads[rows.clone()]);
        }
    }
    dense(&heads, n, &lw.attn_output)
}

/// The layer's queries `[T][C]` and keys `[T][C_kv]`; Llama rotates both (RoPE).
fn queries_keys(
    lw: &LayerWeights,
    x: &[f32],
    packing: &Packing,
    cfg: &TransformerConfig,
) -> (Vec<f32>, Vec<f32>) {
    let (c, c_kv, n, d) = (cfg.hidden, cfg.kv_width(), packing.rows(), cfg.head_size());
    let (mut q, mut k) = (dense(x, n, &lw.query), dense(x, n, &lw.key));
    if cfg.family == Family::Llama {
        let inv_freq = super::llama::rope_inv_freq(cfg);
        rope(&mut q, c, d, packing, &inv_freq);
        rope(&mut k, c_kv, d, packing, &inv_freq);
    }
    (q, k)
}

/// Head `h`'s query columns and its key/value head's columns (`h / group` with grouping).
fn head_cols(cfg: &TransformerConfig, h: usize) -> [std::ops::Range<usize>; 2] {
    let (d, group) = (cfg.head_size(), cfg.n_head / cfg.n_kv_head);
    [h * d..(h + 1) * d, (h / group) * d..(h / group + 1) * d]
}

/// Position-wise feed-forward `FFN(a) = GELU(a W₁ᵀ + b₁) W₂ᵀ + b₂`, `[N][C]` (via `[N][F]`);
/// SwiGLU (Llama): `FFN(a) = (SiLU(a W_gateᵀ) ⊙ a W_upᵀ) W_downᵀ`.
pub fn feed_forward(lw: &LayerWeights, a: &[f32], n: usize, act: Activation) -> Vec<f32> {
    let mut hidden = dense(a, n, &lw.ffn_in);
    match (act, &lw.ffn_gate) {
        (Activation::SwiGlu, Some(gate)) => {
            let g = dense(a, n, gate);
            hidden.iter_mut().zip(g).for_each(|(h, g)| *h *= silu(g));
        }
        (Activation::GeluErf, _) => hidden.iter_mut().for_each(|h| *h = gelu(*h)),
        (Activation::GeluTanh, _) => hidden.iter_mut().for_each(|h| *h = gelu_tanh(*h)),
        (Activation::SwiGlu, None) => unreachable!("Llama weights always carry gate_proj"),
    }
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

/// One decoder block (pre-norm): `a = x + MHA(N₁(x))`, then `x' = a + FFN(N₂(a))`; N is
/// GPT-2's LayerNorm (`ln_1`, `ln_2`) or Llama's RMSNorm (`input_layernorm`,
/// `post_attention_layernorm`).
pub fn decoder_layer(
    lw: &LayerWeights,
    x: &[f32],
    packing: &Packing,
    cfg: &TransformerConfig,
) -> Vec<f32> {
    let n = packing.rows();
    let m = self_attention(lw, &pre_norm(x, &lw.attn_norm, cfg), packing, cfg);
    let a: Vec<f32> = x.iter().zip(&m).map(|(x, m)| x + m).collect();
    let f = feed_forward(lw, &pre_norm(&a, &lw.ffn_norm, cfg), n, cfg.activation);
    a.iter().zip(&f).map(|(a, f)| a + f).collect()
}

/// Runs the model on packed sequences; `on_layer(i, x)` sees every layer's hidden
/// states `[N][C]`: 0 = the embeddings output, i = the output of layer i (1-based); in
/// the decoders layer L is the final norm of the last block's output (GPT-2's `ln_f`,
/// Llama's `norm`), as `output_hidden_states` gives it.
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
            x = pre_norm(&x, final_norm, &w.config);
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
        input = pre_norm(&input, &lw.attn_norm, cfg);
    }
    let packing = Packing::new(&[tokens.len()]);
    let (q, k) = queries_keys(lw, &input, &packing, cfg);
    let [q_cols, kv_cols] = head_cols(cfg, head);
    Ok(attention_probabilities(
        [&q, &k],
        [cfg.hidden, cfg.kv_width()],
        [&q_cols, &kv_cols],
        cfg.family.causal(),
    ))
}
