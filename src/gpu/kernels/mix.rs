//! Token shifts and the decay LoRA: `shaders/token_shift.wgsl`, `shaders/ddlerp.wgsl`,
//! `shaders/decay.wgsl`. The token shift is one thread per (token, channel); ddlerp and decay
//! (sharing the LoRA up-projection of `shaders/lora_up.wgsl`) one thread per 4 tokens × 4
//! channels.

use super::{ceil_div, Shape};

/// Rows × channels one ddlerp / decay thread computes (`BLOCK_ROWS` and the channel quad of
/// `shaders/lora_up.wgsl`), and the channels of a 64-thread workgroup.
const LORA_BLOCK_ROWS: u32 = 4;
const LORA_BLOCK_CHANNELS: u32 = 64 * 4;

/// Workgroups of the ddlerp / decay kernels: channel quads × row blocks.
fn lora_workgroups(dim: u32, s: Shape) -> [u32; 3] {
    [
        ceil_div(dim, LORA_BLOCK_CHANNELS),
        ceil_div(s.rows(), LORA_BLOCK_ROWS),
        1,
    ]
}

/// `out = xx + (xx[t−1] − xx) ⊙ mu`, and `out2` the same with `mu2` when given.
#[derive(Debug, Clone, Copy)]
pub struct TokenShiftOp {
    pub dim: u32,
    pub mu_off: u32,
    /// The second mix's `mu2` offset (channel-mix: k and r in one dispatch).
    pub mu2_off: Option<u32>,
}

impl TokenShiftOp {
    pub fn params(&self, s: Shape) -> Vec<u32> {
        let (mu2, mixes) = match self.mu2_off {
            Some(off) => (off, 2),
            None => (self.mu_off, 1),
        };
        vec![s.tokens, s.batch, self.dim, self.mu_off, mu2, mixes]
    }
    pub fn workgroups(&self, s: Shape) -> [u32; 3] {
        [ceil_div(self.dim, 64), s.rows(), 1]
    }
}

/// The five ddlerp targets, in the order of `time_maa_w2`'s slices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    W = 0,
    K = 1,
    V = 2,
    R = 3,
    G = 4,
}

/// `out = xx + d ⊙ (maa_s + lora_s @ w2_s)`.
#[derive(Debug, Clone, Copy)]
pub struct DdlerpOp {
    pub dim: u32,
    pub rank: u32,
    pub target: Target,
    pub maa_off: u32,
}

impl DdlerpOp {
    pub fn params(&self, s: Shape) -> Vec<u32> {
        vec![
            s.tokens,
            s.batch,
            self.dim,
            self.rank,
            self.target as u32,
            self.maa_off,
        ]
    }
    pub fn workgroups(&self, s: Shape) -> [u32; 3] {
        lora_workgroups(self.dim, s)
    }
    pub fn flops(&self, s: Shape) -> f64 {
        2.0 * s.rows() as f64 * self.dim as f64 * self.rank as f64
    }
}

/// `logw = −exp(time_decay + lora @ w2)`.
#[derive(Debug, Clone, Copy)]
pub struct DecayOp {
    pub dim: u32,
    pub rank: u32,
    pub decay_off: u32,
}

impl DecayOp {
    pub fn params(&self, s: Shape) -> Vec<u32> {
        vec![s.rows(), self.dim, self.rank, self.decay_off]
    }
    pub fn workgroups(&self, s: Shape) -> [u32; 3] {
        lora_workgroups(self.dim, s)
    }
    pub fn flops(&self, s: Shape) -> f64 {
        2.0 * s.rows() as f64 * self.dim as f64 * self.rank as f64
    }
}
