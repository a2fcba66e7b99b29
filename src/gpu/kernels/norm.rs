//! LayerNorm (`shaders/layer_norm.wgsl`) and GroupNorm × gate (`shaders/group_norm.wgsl`).

use super::{ceil_div, Shape};

/// LayerNorm eps of `ln0`, `ln1`, `ln2` (torch's default).
pub const LAYER_NORM_EPS: f32 = 1e-5;
/// GroupNorm eps of `ln_x` in RWKV-6: 1e-5 · head_size_divisor² = 64e-5.
pub const GROUP_NORM_EPS: f32 = 64e-5;

/// `y = LN(x) · weight + bias` over each row of `dim` channels.
#[derive(Debug, Clone, Copy)]
pub struct LayerNormOp {
    pub dim: u32,
    pub weight_off: u32,
    pub bias_off: u32,
}

impl LayerNormOp {
    /// Rows go on a 2-D grid so more than 65535 rows stay within the dispatch limit.
    fn grid(s: Shape) -> (u32, u32) {
        let gx = s.rows().clamp(1, 65535);
        (gx, ceil_div(s.rows(), gx))
    }
    pub fn params(&self, s: Shape) -> Vec<u32> {
        self.params_with_eps(s, LAYER_NORM_EPS)
    }
    /// The parameters with another eps (BERT's LayerNorms use 1e-12).
    pub fn params_with_eps(&self, s: Shape, eps: f32) -> Vec<u32> {
        let (gx, _) = Self::grid(s);
        vec![
            s.rows(),
            self.dim,
            self.weight_off,
            self.bias_off,
            eps.to_bits(),
            gx,
        ]
    }
    pub fn workgroups(&self, s: Shape) -> [u32; 3] {
        let (gx, gy) = Self::grid(s);
        [gx, gy, 1]
    }
}

/// `y = (GroupNorm_H(o) · ln_x.weight + ln_x.bias) ⊙ g`.
#[derive(Debug, Clone, Copy)]
pub struct GroupNormOp {
    pub dim: u32,
    pub heads: u32,
    pub weight_off: u32,
    pub bias_off: u32,
}

impl GroupNormOp {
    pub fn params(&self, s: Shape) -> Vec<u32> {
        let head_size = self.dim / self.heads;
        vec![
            s.rows(),
            self.dim,
            self.heads,
            head_size,
            self.weight_off,
            self.bias_off,
            GROUP_NORM_EPS.to_bits(),
        ]
    }
    pub fn workgroups(&self, s: Shape) -> [u32; 3] {
        [self.heads, s.rows(), 1]
    }
}
