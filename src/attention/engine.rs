//! [`EncoderEngine`]: the encoder's plain-Rust forward behind the [`Engine`] trait.

use super::forward::forward_with;
use super::weights::BertWeights;
use crate::embed::{Embeddings, Engine, LayerPooler, Pooling};
use crate::model::Config;
use crate::Result;

/// Runs the reference encoder; pools each layer as soon as it is computed.
pub struct EncoderEngine {
    weights: BertWeights,
    summary: Config,
}

impl EncoderEngine {
    pub fn new(weights: BertWeights) -> Self {
        EncoderEngine {
            summary: weights.config.summary(),
            weights,
        }
    }
    pub fn weights(&self) -> &BertWeights {
        &self.weights
    }
}

impl Engine for EncoderEngine {
    fn name(&self) -> String {
        "cpu reference (BERT)".into()
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
        let mut pooler = LayerPooler::new(layers, poolings, &lengths, self.summary.n_embd);
        forward_with(&self.weights, tokens, |layer, x| pooler.add(layer, x))?;
        pooler.finish("CPU reference encoder")
    }
}
