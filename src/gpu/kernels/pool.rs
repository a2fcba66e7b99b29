//! Masked mean and last-token pooling of one layer (`shaders/pool.wgsl`).

use super::{ceil_div, Shape};

#[derive(Debug, Clone, Copy)]
pub struct PoolOp {
    pub dim: u32,
    /// Which hidden state (0 = ln0(emb), i = output of block i).
    pub layer: u32,
    /// n_layer + 1.
    pub layers: u32,
}

impl PoolOp {
    pub fn params(&self, s: Shape) -> Vec<u32> {
        vec![s.tokens, s.batch, self.dim, self.layer, self.layers]
    }
    pub fn workgroups(&self, s: Shape) -> [u32; 3] {
        [ceil_div(self.dim, 64), s.batch, 1]
    }
}
