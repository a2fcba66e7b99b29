//! The plain-Rust RWKV-7 ("Goose", x070) forward pass, a peer of the RWKV-6 reference
//! (`crate::reference`, whose numeric helpers and packing it reuses). One function per
//! equation block:
//!
//! ```text
//! x₀ = LN0(emb[token])                                  layer 0
//! for each block i = 1..L:
//!     x ← x + TimeMix_i(LN1(x), v_first)  (time_mix.rs, wkv.rs; block 1 sets v_first)
//!     x ← x + ChannelMix_i(LN2(x))        (channel_mix.rs)             layer i = x
//! logits = LN_out(x_L) · headᵀ                          (verification only)
//! ```
//! What changed from RWKV-6: the recurrence is a delta rule (the state also *removes*
//! what it held along a learned key, wkv.rs), the decay is bounded, block 1's value is
//! mixed into every later block's (the value residual), the bonus left the recurrence,
//! and the channel mix lost its receptance. Sequences are packed as in the RWKV-6
//! reference, so a sequence's outputs are the same alone or in a batch.

pub mod channel_mix;
pub mod chunked;
pub mod config;
mod engine;
pub mod time_mix;
pub mod weights;
pub mod wkv;

pub use engine::Rwkv7Engine;
pub use weights::Weights;

use crate::model::Config;
use crate::reference::ops::{layer_norm_rows, linear};
use crate::reference::time_mix::LN_EPS;
use crate::reference::{embed_rows, pad, Packing};
use crate::{Error, Result};
use time_mix::TimeMixState;
use weights::Block;

/// What to compute besides the hidden states.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Keep every layer's final recurrent state.
    pub states: bool,
    /// Compute logits (LN_out + head); needs `head.weight`.
    pub logits: bool,
    /// Run the WKV in its chunked form with chunks of this many tokens (`None`: the
    /// token-by-token recurrence).
    pub chunk: Option<usize>,
}

/// The recurrent state one block hands to the next call, per sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerState {
    /// LN1 output of the last token, `[B][C]`.
    pub att_shift: Vec<f32>,
    /// WKV state, `[B][H][N][N]`, [value][key] (the official package's layout).
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
    let (x, states) = forward_in(w, tokens, opts, |_, x| {
        hidden.push(pad(x, &packing, c, t_max))
    })?;
    let logits = match opts.logits {
        true => Some(pad(&logits(w, &x)?, &packing, w.config.vocab_size, t_max)),
        false => None,
    };
    Ok(Output {
        hidden,
        lengths,
        t_max,
        states,
        logits,
    })
}

/// The forward loop with the recurrent WKV: calls `on_layer(i, x)` with the packed
/// `[n][C]` residual after the embedding (i = 0) and after every block.
pub fn forward_with(
    w: &Weights,
    tokens: &[Vec<u32>],
    keep_states: bool,
    on_layer: impl FnMut(usize, &[f32]),
) -> Result<(Vec<f32>, Option<Vec<LayerState>>)> {
    let opts = Options {
        states: keep_states,
        ..Options::default()
    };
    forward_in(w, tokens, &opts, on_layer)
}

fn forward_in(
    w: &Weights,
    tokens: &[Vec<u32>],
    opts: &Options,
    mut on_layer: impl FnMut(usize, &[f32]),
) -> Result<(Vec<f32>, Option<Vec<LayerState>>)> {
    let packing = Packing::new(&tokens.iter().map(Vec::len).collect::<Vec<_>>());
    let mut x = embed_rows(&w.config, &w.ln0, tokens, |tok| w.emb.row(tok as usize))?;
    on_layer(0, &x);
    let mut states = Vec::new();
    let mut v_first = None;
    for (i, block) in w.blocks.iter().enumerate() {
        let state = block_step(&w.config, block, &mut x, &packing, &mut v_first, opts.chunk)?;
        on_layer(i + 1, &x);
        if opts.states {
            states.push(state);
        }
    }
    Ok((x, opts.states.then_some(states)))
}

/// One block on the packed residual `x` (`[n][C]`, in place), from a fresh state:
/// `x ← x + TimeMix(LN1(x))`, `x ← x + ChannelMix(LN2(x))`; returns the block's final
/// state. `v_first`: `None` going into block 1, which sets it.
pub fn block_step(
    cfg: &Config,
    block: &Block,
    x: &mut [f32],
    packing: &Packing,
    v_first: &mut Option<Vec<f32>>,
    chunk: Option<usize>,
) -> Result<LayerState> {
    let batch = packing.lengths.len();
    let (c, n) = (cfg.n_embd, cfg.head_size);
    let fresh = TimeMixState {
        shift: vec![vec![0.0; c]; batch],
        wkv: vec![vec![0.0; cfg.n_head * n * n]; batch],
    };
    let (att, att_state) =
        time_mix::time_mix(x, packing, &block.ln1, &block.att, fresh, v_first, chunk)?;
    x.iter_mut().zip(&att).for_each(|(x, a)| *x += a);
    let zeros = vec![vec![0.0; c]; batch];
    let (ffn, ffn_shift) = channel_mix::channel_mix(x, packing, &block.ln2, &block.ffn, &zeros);
    x.iter_mut().zip(&ffn).for_each(|(x, f)| *x += f);
    Ok(LayerState {
        att_shift: att_state.shift.concat(),
        wkv: att_state.wkv.concat(),
        ffn_shift: ffn_shift.concat(),
    })
}

/// `LN_out(x) · headᵀ`, `[n][V]`.
pub fn logits(w: &Weights, x: &[f32]) -> Result<Vec<f32>> {
    let head = w
        .head
        .as_ref()
        .ok_or_else(|| Error::input("logits need `head.weight`, which this checkpoint lacks"))?;
    let c = w.config.n_embd;
    let normed = layer_norm_rows(x, &w.ln_out.weight, &w.ln_out.bias, LN_EPS);
    Ok(linear(&normed, x.len() / c, head))
}
