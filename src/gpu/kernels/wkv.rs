//! The WKV recurrence (`shaders/wkv.wgsl`): one workgroup per (sequence, head), one
//! thread per value column holding `S[:, j]` in registers.

use super::Shape;

#[derive(Debug, Clone, Copy)]
pub struct WkvOp {
    pub dim: u32,
    pub heads: u32,
    pub u_off: u32,
}

impl WkvOp {
    pub fn params(&self, s: Shape) -> Vec<u32> {
        vec![s.tokens, s.batch, self.dim, self.heads, self.u_off]
    }
    pub fn workgroups(&self, s: Shape) -> [u32; 3] {
        [self.heads, s.batch, 1]
    }
    /// Per token and head: N² multiply-adds for the output, N² for the state update.
    pub fn flops(&self, s: Shape) -> f64 {
        let n = (self.dim / self.heads) as f64;
        4.0 * s.rows() as f64 * self.dim as f64 * n
    }
}
