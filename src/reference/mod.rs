//! The plain-Rust RWKV-6 forward pass: the oracle for the GPU path and the text a
//! learner reads. One function per equation block:
//!
//! ```text
//! x₀ = LN0(emb[token])                                  layer 0
//! for each block i = 1..L:
//!     x ← x + TimeMix_i(LN1(x))      (time_mix.rs, wkv.rs)
//!     x ← x + ChannelMix_i(LN2(x))   (channel_mix.rs)   layer i = x
//! logits = LN_out(x_L) · headᵀ                          (verification only)
//! ```
//! Sequences of unequal length are packed row after row (no padding inside the maths),
//! so every sequence's hidden states and final state are exactly those of a run alone.

pub mod channel_mix;
pub mod chunk_scan;
pub mod chunked;
mod engine;
pub mod fast;
mod gemm;
pub mod ops;
pub mod time_mix;
pub mod weights;
pub mod wkv;

pub use engine::CpuEngine;
pub use fast::FastEngine;
pub use weights::Weights;

use crate::model::Config;
use crate::{Error, Result};
use ops::{layer_norm, linear};
use time_mix::{TimeMixState, LN_EPS};
use weights::{Block, Norm};

/// Where each sequence's tokens sit among the packed rows.
#[derive(Debug, Clone)]
pub struct Packing {
    pub lengths: Vec<usize>,
    starts: Vec<usize>,
}

impl Packing {
    pub fn new(lengths: &[usize]) -> Packing {
        let starts = lengths
            .iter()
            .scan(0, |acc, &l| Some(std::mem::replace(acc, *acc + l)))
            .collect();
        Packing {
            lengths: lengths.to_vec(),
            starts,
        }
    }
    /// `(first row, length)` of every sequence.
    pub fn spans(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.starts
            .iter()
            .copied()
            .zip(self.lengths.iter().copied())
    }
    pub fn rows(&self) -> usize {
        self.lengths.iter().sum()
    }
    /// Every sequence's rows split into chunks of `chunk_len` tokens (a sequence's last
    /// chunk may be shorter), one list per sequence: what both chunked WKV forms walk.
    pub fn chunks(&self, chunk_len: usize) -> Result<Vec<Vec<std::ops::Range<usize>>>> {
        if chunk_len == 0 {
            return Err(Error::input("chunk length must be at least 1 token"));
        }
        let split = |(start, len): (usize, usize)| {
            let end = start + len;
            let starts = (start..end).step_by(chunk_len);
            starts.map(|t0| t0..(t0 + chunk_len).min(end)).collect()
        };
        Ok(self.spans().map(split).collect())
    }
}

/// What to compute besides the hidden states.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Keep every layer's final recurrent state.
    pub states: bool,
    /// Compute logits (LN_out + head); needs `head.weight`.
    pub logits: bool,
}

/// The recurrent state one block hands to the next call, per sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerState {
    /// LN1 output of the last token, `[B][C]`.
    pub att_shift: Vec<f32>,
    /// WKV state, `[B][H][N][N]`, [key][value].
    pub wkv: Vec<f32>,
    /// LN2 output of the last token, `[B][C]`.
    pub ffn_shift: Vec<f32>,
}

/// Hidden states of every layer, right-padded to `[B][T][C]` (zeros at pads).
#[derive(Debug, Clone)]
pub struct Output {
    /// `[L+1]` entries, each `[B][T][C]`.
    pub hidden: Vec<Vec<f32>>,
    pub lengths: Vec<usize>,
    /// T, the longest length.
    pub t_max: usize,
    pub states: Option<Vec<LayerState>>,
    /// `[B][T][V]`.
    pub logits: Option<Vec<f32>>,
}

/// Runs the model over a batch of token sequences (each non-empty).
pub fn forward(w: &Weights, tokens: &[Vec<u32>], opts: &Options) -> Result<Output> {
    let lengths: Vec<usize> = tokens.iter().map(Vec::len).collect();
    let t_max = lengths.iter().copied().max().unwrap_or(0);
    let packing = Packing::new(&lengths);
    let c = w.config.n_embd;
    let mut hidden = Vec::new();
    let (x, states) = forward_with(w, tokens, opts.states, |_, x| {
        hidden.push(pad(x, &packing, c, t_max))
    })?;
    let logits = if opts.logits {
        Some(pad(&logits(w, &x)?, &packing, w.config.vocab_size, t_max))
    } else {
        None
    };
    Ok(Output {
        hidden,
        lengths,
        t_max,
        states,
        logits,
    })
}

/// The forward loop itself: calls `on_layer(i, x)` with the packed `[n][C]` residual
/// after the embedding (i = 0) and after every block; returns the last one and, if
/// asked, every block's final state.
pub fn forward_with(
    w: &Weights,
    tokens: &[Vec<u32>],
    keep_states: bool,
    mut on_layer: impl FnMut(usize, &[f32]),
) -> Result<(Vec<f32>, Option<Vec<LayerState>>)> {
    let packing = Packing::new(&tokens.iter().map(Vec::len).collect::<Vec<_>>());
    let mut x = embed(w, tokens)?;
    on_layer(0, &x);
    let mut states = Vec::new();
    for (i, block) in w.blocks.iter().enumerate() {
        let state = block_step(&w.config, block, &mut x, &packing);
        on_layer(i + 1, &x);
        if keep_states {
            states.push(state);
        }
    }
    Ok((x, keep_states.then_some(states)))
}

/// One block on the packed residual `x` (`[n][C]`, in place), from a fresh state:
/// `x ← x + TimeMix(LN1(x))`, `x ← x + ChannelMix(LN2(x))`; returns the block's final state.
pub fn block_step(cfg: &Config, block: &Block, x: &mut [f32], packing: &Packing) -> LayerState {
    let batch = packing.lengths.len();
    let fresh = fresh_state(cfg, batch);
    let (att, att_state) = time_mix::time_mix(x, packing, &block.ln1, &block.att, fresh);
    x.iter_mut().zip(&att).for_each(|(x, a)| *x += a);
    let zeros = vec![vec![0.0; cfg.n_embd]; batch];
    let (ffn, ffn_shift) = channel_mix::channel_mix(x, packing, &block.ln2, &block.ffn, &zeros);
    x.iter_mut().zip(&ffn).for_each(|(x, f)| *x += f);
    LayerState {
        att_shift: att_state.shift.concat(),
        wkv: att_state.wkv.concat(),
        ffn_shift: ffn_shift.concat(),
    }
}

/// `x₀ = LN0(emb[token])` for every packed token, `[n][C]`.
pub fn embed(w: &Weights, tokens: &[Vec<u32>]) -> Result<Vec<f32>> {
    embed_rows(&w.config, &w.ln0, tokens, |tok| w.emb.row(tok as usize))
}

/// [`embed`] with `emb[token]` given by `row` (called only for ids inside the vocabulary):
/// the embedding need not be held whole.
pub fn embed_rows<'a>(
    cfg: &Config,
    ln0: &Norm,
    tokens: &[Vec<u32>],
    row: impl Fn(u32) -> &'a [f32],
) -> Result<Vec<f32>> {
    let c = cfg.n_embd;
    let mut x = Vec::with_capacity(tokens.iter().map(Vec::len).sum::<usize>() * c);
    crate::embed::check_tokens(tokens, cfg.vocab_size)?;
    for seq in tokens {
        for &tok in seq {
            let mut out = vec![0.0; c];
            layer_norm(row(tok), &ln0.weight, &ln0.bias, LN_EPS, &mut out);
            x.extend_from_slice(&out);
        }
    }
    Ok(x)
}

/// `LN_out(x) · headᵀ`, `[n][V]`.
pub fn logits(w: &Weights, x: &[f32]) -> Result<Vec<f32>> {
    let head = w
        .head
        .as_ref()
        .ok_or_else(|| Error::input("logits need `head.weight`, which this checkpoint lacks"))?;
    let c = w.config.n_embd;
    let normed = ops::layer_norm_rows(x, &w.ln_out.weight, &w.ln_out.bias, LN_EPS);
    Ok(linear(&normed, x.len() / c, head))
}

fn fresh_state(cfg: &Config, batch: usize) -> TimeMixState {
    let (c, n) = (cfg.n_embd, cfg.head_size);
    TimeMixState {
        shift: vec![vec![0.0; c]; batch],
        wkv: vec![vec![0.0; cfg.n_head * n * n]; batch],
    }
}

/// Packed rows `[n][d]` → right-padded `[B][T][d]`.
pub fn pad(x: &[f32], packing: &Packing, d: usize, t_max: usize) -> Vec<f32> {
    let mut out = vec![0.0; packing.lengths.len() * t_max * d];
    for (b, (start, len)) in packing.spans().enumerate() {
        out[b * t_max * d..(b * t_max + len) * d].copy_from_slice(&x[start * d..(start + len) * d]);
    }
    out
}
