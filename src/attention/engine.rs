//! [`AttentionEngine`]: the attention models' plain-Rust forward behind the [`Engine`] trait.

use super::forward::forward_with;
use super::weights::TransformerWeights;
use crate::embed::{Embeddings, Engine, LayerPooler, Pooling};
use crate::model::Config;
use crate::Result;

/// Runs the reference forward (encoder or decoder); pools each layer as it is computed.
pub struct AttentionEngine {
    weights: TransformerWeights,
    summary: Config,
}

impl AttentionEngine {
    pub fn new(weights: TransformerWeights) -> Self {
        AttentionEngine {
            summary: weights.config.summary(),
            weights,
        }
    }
    pub fn weights(&self) -> &TransformerWeights {
        &self.weights
    }
}

impl Engine for AttentionEngine {
    fn name(&self) -> String {
        format!("cpu reference ({})", self.summary.arch.name())
    }
    fn config(&self) -> &Config {
        &self.summary
    }
    fn embed_tokens(
        &mut self,
        tokens: &[Vec<u32>],
        layers: &[usize],
        poolings: &[Pooling],
    ) -> Result<Embeddings> {
        let lengths: Vec<usize> = tokens.iter().map(Vec::len).collect();
        let mut pooler = LayerPooler::new(layers, poolings, &lengths, &self.summary)?;
        forward_with(&self.weights, tokens, |layer, x| pooler.add(layer, x))?;
        pooler.finish("CPU reference")
    }
}
