//! The trace read from a [`TensorSource`] one block at a time, for a caller that does not
//! hold the model's f32 weights (the page beside its GPU engine): the embedding rows of
//! the traced tokens, then blocks 1..layer in turn, each read, run on the sentence and
//! dropped. Memory: one block's f32 weights, the tokens' rows, and the residual stream
//! entering each block so far (`[T][C]` each), which the next trace of the same sentence
//! reuses: another head or an earlier block reads one block, a later one only the blocks
//! not run yet.
//!
//! The numbers are those of [`super::trace_with`] on the whole [`crate::reference::Weights`]:
//! the same functions ([`embed_rows`], [`block_step`], the same block trace) in the same order.

use super::{check, compute, Trace};
use crate::model::TensorSource;
use crate::reference::weights::{Block, Norm};
use crate::reference::{block_step, embed_rows, Packing};
use crate::Result;

/// What one model's traces keep between calls (a new model needs a new `Streamed`).
#[derive(Debug, Default)]
pub struct Streamed {
    /// The sentence the residuals below belong to.
    tokens: Vec<u32>,
    /// `inputs[i]`: the residual stream entering block i + 1, `[T][C]` (`inputs[0]`:
    /// LN0 of the embedding rows).
    inputs: Vec<Vec<f32>>,
}

impl Streamed {
    pub fn new() -> Streamed {
        Streamed::default()
    }

    /// Head `head` (0-based) of block `layer` (1-based) over `tokens`, as
    /// [`super::trace_with`], reading from `src` only what is not kept yet.
    pub async fn trace(
        &mut self,
        src: &impl TensorSource,
        tokens: &[u32],
        (layer, head): (usize, usize),
        piece: impl Fn(u32) -> Option<String>,
    ) -> Result<Trace> {
        let cfg = src.config();
        check(cfg, tokens, layer, head)?;
        if self.tokens != tokens {
            self.inputs.clear();
            self.tokens = tokens.to_vec();
        }
        if self.inputs.is_empty() {
            self.inputs.push(embedded(src, tokens).await?);
        }
        let packing = Packing::new(&[tokens.len()]);
        while self.inputs.len() < layer {
            let i = self.inputs.len() - 1;
            let block = Block::from_source(src, i).await?;
            let mut x = self.inputs[i].clone();
            block_step(cfg, &block, &mut x, &packing);
            self.inputs.push(x);
        }
        let block = Block::from_source(src, layer - 1).await?;
        let x = &self.inputs[layer - 1];
        compute::trace_block(cfg, (&block, x), tokens, (layer, head), &piece)
    }
}

/// `x₀ = LN0(emb[token])`, `[T][C]`, reading only the rows of the distinct tokens (ids
/// outside the vocabulary are left to [`embed_rows`], which names them).
async fn embedded(src: &impl TensorSource, tokens: &[u32]) -> Result<Vec<f32>> {
    let cfg = src.config();
    let mut ids: Vec<u32> = (tokens.iter().copied())
        .filter(|&t| (t as usize) < cfg.vocab_size)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let rows: Vec<usize> = ids.iter().map(|&t| t as usize).collect();
    let values = src.f32_rows("emb.weight", &rows).await?;
    let ln0 = Norm::ln0(src).await?;
    let c = cfg.n_embd;
    embed_rows(cfg, &ln0, &[tokens.to_vec()], |t| {
        let i = ids
            .binary_search(&t)
            .expect("every id inside the vocabulary was read");
        &values[i * c..(i + 1) * c]
    })
}
