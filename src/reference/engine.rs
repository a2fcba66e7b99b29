//! [`CpuEngine`]: the reference forward behind the [`Engine`] trait.

use super::{forward_with, Weights};
use crate::embed::{Embeddings, Engine, LayerPooler, Pooling};
use crate::model::{Checkpoint, Config};
use crate::Result;

/// Runs the plain-Rust reference; pools each layer as soon as it is computed.
pub struct CpuEngine {
    weights: Weights,
}

impl CpuEngine {
    pub fn new(ckpt: &Checkpoint) -> Result<Self> {
        Ok(CpuEngine {
            weights: Weights::from_checkpoint(ckpt)?,
        })
    }
    /// An engine on weights already read (e.g. [`Weights::from_source`], streaming).
    pub fn from_weights(weights: Weights) -> Self {
        CpuEngine { weights }
    }
    pub fn weights(&self) -> &Weights {
        &self.weights
    }
}

impl Engine for CpuEngine {
    fn name(&self) -> String {
        "cpu reference".into()
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
