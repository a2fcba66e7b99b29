//! [`CpuEngine`]: the reference forward behind the [`Engine`] trait.

use super::{forward_with, Packing, Weights};
use crate::embed::{pool, Embeddings, Engine, Pooling};
use crate::model::{Checkpoint, Config};
use crate::{Error, Result};

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
        let c = self.weights.config.n_embd;
        let packing = Packing::new(&tokens.iter().map(Vec::len).collect::<Vec<_>>());
        let mut out = Embeddings::zeros(layers, poolings, tokens.len(), c);
        let mut bad = None;
        forward_with(&self.weights, tokens, false, |layer, x| {
            // every layer is checked, requested or not: the first bad one is named
            if bad.is_none() && x.iter().any(|v| !v.is_finite()) {
                bad = Some(layer);
            }
            let Some(l) = layers.iter().position(|&i| i == layer) else {
                return;
            };
            for (b, (start, len)) in packing.spans().enumerate() {
                for (p, &pooling) in poolings.iter().enumerate() {
                    pool(
                        &x[start * c..(start + len) * c],
                        len,
                        c,
                        pooling,
                        out.get_mut(p, l, b),
                    );
                }
            }
        })?;
        match bad {
            Some(layer) => Err(Error::NonFinite(format!(
                "layer {layer} of the CPU reference produced NaN/Inf"
            ))),
            None => Ok(out),
        }
    }
}
