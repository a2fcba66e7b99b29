//! [`Rwkv7Engine`]: the RWKV-7 reference forward behind the [`Engine`] trait.

use super::{forward_with, Weights};
use crate::embed::{Embeddings, Engine, LayerPooler, Pooling};
use crate::model::{Checkpoint, Config};
use crate::Result;

/// Runs the plain-Rust RWKV-7 forward; pools each layer as soon as it is computed.
pub struct Rwkv7Engine {
    weights: Weights,
}

impl Rwkv7Engine {
    pub fn new(ckpt: &Checkpoint) -> Result<Self> {
        Ok(Rwkv7Engine {
            weights: Weights::from_checkpoint(ckpt)?,
        })
    }
    pub fn weights(&self) -> &Weights {
        &self.weights
    }
}

impl Engine for Rwkv7Engine {
    fn name(&self) -> String {
        "cpu reference (RWKV-7)".into()
    }
    fn config(&self) -> &Config {
        &self.weights.config
    }
    fn embed_tokens(
        &mut self,
        tokens: &[Vec<u32>],
        layers: &[usize],
        poolings: &[Pooling],
    ) -> Result<Embeddings> {
        let lengths: Vec<usize> = tokens.iter().map(Vec::len).collect();
        let mut pooler = LayerPooler::new(layers, poolings, &lengths, &self.weights.config)?;
        forward_with(&self.weights, tokens, false, |layer, x| {
            pooler.add(layer, x)
        })?;
        pooler.finish("CPU reference")
    }
}
