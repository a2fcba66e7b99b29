//! Teaching traces: one head of one RWKV-6 block, stepped token by token, with every
//! quantity of its recurrence laid out for a notebook, a slide or the browser's
//! "Recurrence" view.
//!
//! For head h of block `layer`, with N = head size and the state S (`[N][N]`,
//! [key][value]) starting at zero, every token t records:
//!
//! ```text
//! mix_∗  = μ∗ + m∗(x)                 how much of the previous token enters x_∗ (∗ = w,k,v,r,g), [C]
//! r, k, v, log w, w = e^{log w}       the head's slice of the projections, [N] each
//! half-life[n] = ln ½ / log w[n]      tokens until channel n's memory halves (∞ when w = 1)
//! write  = k vᵀ                       the rank-one write, [N][N]
//! o      = rᵀ (S + diag(u) k vᵀ)      the read-out, [N]
//! S'     = diag(w) S + k vᵀ           state before → after, [N][N] each
//! influence_i = r_t · (Π_{s=i+1}^{t−1} w_s ⊙ k_i)   for i < t,   r_t · (u ⊙ k_t)  for i = t
//! ```
//! so that `o_t = Σ_{i≤t} influence_i · v_i` (unrolling `S`; note the decay `w_t` of
//! token t acts *after* its read-out, so the product stops at t − 1).
//!
//! Everything is computed with the reference forward's own functions up to the WKV
//! (layer input, LN1, token shift, projections) and with the equations above, written
//! out, for the recurrence; the tests hold the result against `reference::forward`.
//! [`Trace`] is plain serde data: the CLI writes it as JSON ([`write_json`]) and the
//! browser renders it directly (no `native` feature needed).

mod compute;
pub mod contrast;
pub mod equations;
mod json;
pub mod memory;
mod streamed;

pub use crate::reference::time_mix::shift_amounts;
pub use compute::half_life;
#[cfg(feature = "native")]
pub use json::write_json;
pub use json::{from_json, read_json, to_json};
pub use streamed::Streamed;

use serde::{Deserialize, Serialize};

use crate::reference::Weights;
use crate::{Error, Result};

/// Chunk length of the recurrent-vs-chunked check stored in every trace.
pub const CHECK_CHUNK_LEN: usize = 16;
/// Version of the trace format (bump when a field changes meaning).
pub const FORMAT: u32 = 1;

/// The dimensions of the traced model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelDims {
    pub n_layer: usize,
    /// C.
    pub n_embd: usize,
    /// H.
    pub n_head: usize,
    /// N.
    pub head_size: usize,
    pub vocab_size: usize,
}

/// One head of one block over a whole token sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub format: u32,
    pub model: ModelDims,
    /// The block, 1-based (layer i = output of block i; layer 0, the embedding, has no recurrence).
    pub layer: usize,
    /// The head, 0-based; it owns channels `head·N .. (head+1)·N` of r, k, v, w, u.
    pub head: usize,
    /// The bonus `u` of this head (`time_faaaa`), `[N]`: the same for every token.
    pub u: Vec<f32>,
    /// One entry per token, in order.
    pub steps: Vec<Step>,
    /// The recurrent and chunked WKV of this block (all heads) on these tokens.
    pub check: ChunkedCheck,
}

/// Everything one token does to (and reads from) the traced head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Position t, 0-based.
    pub position: usize,
    pub token: u32,
    /// The token's text, when the caller supplied a decoder.
    pub piece: Option<String>,
    /// Token-shift mix amounts, `[C]` each (all channels: the mix precedes the heads).
    pub mix: ShiftMix,
    /// Receptance, key, value of this head, `[N]` each.
    pub r: Vec<f32>,
    pub k: Vec<f32>,
    pub v: Vec<f32>,
    /// `log w_t`, `[N]`, always ≤ 0.
    pub log_w: Vec<f32>,
    /// `w_t = exp(log w_t)`, the per-channel decay, `[N]`.
    pub w: Vec<f32>,
    /// `ln ½ / log w_t` in tokens, `[N]`; +∞ where `w_t = 1` (`null` in JSON).
    #[serde(with = "json::inf_as_null")]
    pub half_life: Vec<f32>,
    /// `S_{t−1}`, `[N][N]` [key][value].
    pub state_before: Vec<f32>,
    /// `k_t v_tᵀ`, `[N][N]` [key][value].
    pub write: Vec<f32>,
    /// `S_t = diag(w_t) S_{t−1} + k_t v_tᵀ`, `[N][N]`.
    pub state_after: Vec<f32>,
    /// `o_t = r_tᵀ (S_{t−1} + diag(u) k_t v_tᵀ)`, `[N]` (before GroupNorm and gate).
    pub output: Vec<f32>,
    /// One entry per earlier-or-same token i = 0..=t; they sum to `output`.
    pub influence: Vec<Influence>,
}

/// How much of the previous token's LN1 output enters each mixed input:
/// `x_∗ = xx + (sx − xx)·a_∗ = (1 − a_∗)·xx + a_∗·sx` with `a_∗ = μ_∗ + m_∗(x)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShiftMix {
    pub w: Vec<f32>,
    pub k: Vec<f32>,
    pub v: Vec<f32>,
    pub r: Vec<f32>,
    pub g: Vec<f32>,
}

/// The share of token i in the read-out of token t.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Influence {
    /// i, the earlier (or same) position.
    pub from: usize,
    /// `r_t · (Π_{s=i+1}^{t−1} w_s ⊙ k_i)`, or `r_t · (u ⊙ k_t)` for i = t.
    pub score: f32,
    /// `score · v_i`, `[N]`: Σ_i contribution = `o_t`.
    pub contribution: Vec<f32>,
}

/// Recurrent vs chunked WKV on the traced block (every head, outputs and final state).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkedCheck {
    pub chunk_len: usize,
    /// max |o_recurrent − o_chunked| over tokens, heads and channels, and over the final state.
    pub max_abs_diff: f32,
    /// max |o_recurrent|, for scale.
    pub max_abs_output: f32,
}

impl Trace {
    /// N.
    pub fn head_size(&self) -> usize {
        self.model.head_size
    }
    /// The per-key-channel split of `influence[i].score` at token t:
    /// `r_t ⊙ Π_{s=i+1}^{t−1} w_s ⊙ k_i` (or `r_t ⊙ u ⊙ k_t` for i = t), `[N]`; its sum is
    /// the score. Shows which key channels carry token i's memory.
    pub fn key_channel_influence(&self, t: usize, i: usize) -> Option<Vec<f32>> {
        let (now, then) = (self.steps.get(t)?, self.steps.get(i)?);
        if i > t {
            return None;
        }
        let mut decay: Vec<f32> = if i == t {
            self.u.clone()
        } else {
            vec![1.0; self.head_size()]
        };
        for s in &self.steps[(i + 1).min(t)..t] {
            decay.iter_mut().zip(&s.w).for_each(|(d, w)| *d *= w);
        }
        Some(
            (0..self.head_size())
                .map(|n| now.r[n] * decay[n] * then.k[n])
                .collect(),
        )
    }
}

/// Traces head `head` (0-based) of block `layer` (1-based) over `tokens`, from a fresh state.
pub fn trace(w: &Weights, tokens: &[u32], layer: usize, head: usize) -> Result<Trace> {
    trace_with(w, tokens, layer, head, |_| None)
}

/// As [`trace`], with `piece(token)` giving each token's text for display.
pub fn trace_with(
    w: &Weights,
    tokens: &[u32],
    layer: usize,
    head: usize,
    piece: impl Fn(u32) -> Option<String>,
) -> Result<Trace> {
    check(&w.config, tokens, layer, head)?;
    let x = compute::block_input(w, tokens, layer)?;
    let block = &w.blocks[layer - 1];
    compute::trace_block(&w.config, (block, &x), tokens, (layer, head), &piece)
}

/// Refuses what no trace can do: no tokens, a block or head the model lacks.
fn check(cfg: &crate::model::Config, tokens: &[u32], layer: usize, head: usize) -> Result<()> {
    if tokens.is_empty() {
        return Err(Error::input("trace needs at least one token (empty text?)"));
    }
    if layer == 0 || layer > cfg.n_layer {
        return Err(Error::input(format!(
            "layer {layer} is out of range: trace needs a block 1..={} \
             (layer 0 is the embedding, which has no recurrence)",
            cfg.n_layer
        )));
    }
    if head >= cfg.n_head {
        return Err(Error::input(format!(
            "head {head} is out of range: this model has heads 0..={}",
            cfg.n_head - 1
        )));
    }
    Ok(())
}
