//! Matrix multiply with fused epilogue (`shaders/matmul.wgsl`, `shaders/matmul_tiled.wgsl`,
//! sharing `matmul_common.wgsl` and a weight-format prelude `weights_f32/f16.wgsl`).

use super::{ceil_div, Shape};

/// Activation applied to each sum (the numbers match `activate()` in matmul_common.wgsl).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    None = 0,
    Tanh = 1,
    Silu = 2,
    Sigmoid = 3,
    ReluSquared = 4,
}

/// How the activated sum lands in Y.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `Y = v`
    Store = 0,
    /// `Y += v` (residual add)
    Add = 1,
    /// `Y += aux ⊙ v` (channel-mix output: aux = σ(r))
    GatedAdd = 2,
}

/// One row block of `Y[m][n_offset..n_offset+n] (op)= act(X[m][:] · W[n][:])`.
#[derive(Debug, Clone, Copy)]
pub struct MatmulOp {
    /// Rows of this weight block.
    pub n: u32,
    /// Inner dimension K (multiple of 4).
    pub k: u32,
    pub n_offset: u32,
    /// Row length of Y.
    pub y_stride: u32,
    pub act: Act,
    pub mode: Mode,
    /// Workgroup-memory tiled kernel (64×64 tiles) instead of the register-blocked one (8×128).
    pub tiled: bool,
}

impl MatmulOp {
    pub fn params(&self, s: Shape) -> Vec<u32> {
        vec![
            s.rows(),
            self.n,
            self.k / 4,
            self.n_offset,
            self.y_stride,
            self.act as u32,
            self.mode as u32,
        ]
    }
    pub fn workgroups(&self, s: Shape) -> [u32; 3] {
        match self.tiled {
            true => [ceil_div(self.n, 64), ceil_div(s.rows(), 64), 1],
            false => [ceil_div(self.n, 128), ceil_div(s.rows(), 8), 1],
        }
    }
    pub fn flops(&self, s: Shape) -> f64 {
        2.0 * s.rows() as f64 * self.n as f64 * self.k as f64
    }
}
