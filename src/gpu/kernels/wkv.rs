//! The WKV recurrence: `shaders/wkv.wgsl` (serial in time: one workgroup per (sequence,
//! head), one thread per four value columns holding `S[:, 4q..4q+3]` in registers) and
//! `shaders/wkv_chunked.wgsl` (chunk states → scan → chunk outputs, parallel in time).

use super::{ceil_div, Shape};
use crate::gpu::WkvKind;

/// Chunk length of the chunked form when not given (`WkvKind::Auto`).
pub const DEFAULT_CHUNK: u32 = 64;

/// Tokens staged in workgroup memory per barrier pair: 3 arrays of TOKEN_BLOCK·N f32 = 3 KiB,
/// a 4× cut in barriers (N = 64) that keeps ~16 workgroups per SM possible (T4: 64 KiB).
pub fn token_block(head_size: u32) -> u32 {
    (256 / head_size).max(1)
}

/// Loop iterations one invocation may make in all. llvmpipe (lavapipe) silently ends every
/// loop of an invocation after 65535 iterations in total (Mesa's LP_MAX_TGSI_LOOP_ITERATIONS),
/// so a kernel that loops longer returns wrong numbers there. Half of it leaves room for the
/// loops around the token loop.
pub const LOOP_BUDGET: u32 = 65535 / 2;

/// Positions one serial-WKV dispatch covers: each token costs an invocation about N + 4
/// loop iterations (the N-term state update plus the staging and block loops), so a
/// window of ⌊LOOP_BUDGET / (N + 4)⌋ tokens (480 for N = 64), rounded down to whole token
/// blocks, stays within the budget. Longer passes run several windows in order.
pub fn serial_window(head_size: u32) -> u32 {
    let block = token_block(head_size);
    (LOOP_BUDGET / (head_size + 4) / block).max(1) * block
}

/// Chunks one scan invocation may walk (≈ 2N + 4 iterations per chunk): the chunked form
/// caps a pass at this many chunks.
pub fn max_scan_chunks(head_size: u32) -> u32 {
    (LOOP_BUDGET / (2 * head_size + 4)).max(1)
}

/// Which of the four WKV dispatches this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    Serial,
    ChunkStates,
    Scan,
    ChunkOutputs,
}

impl Phase {
    pub fn entry(self) -> &'static str {
        match self {
            Phase::Serial => "main",
            Phase::ChunkStates => "chunk_states",
            Phase::Scan => "scan",
            Phase::ChunkOutputs => "chunk_outputs",
        }
    }
}

/// The WKV form as asked ([`WkvKind`]) on this adapter: which forms an engine records and
/// which one each pass runs. The `Auto` rule lives here and nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WkvChoice {
    pub kind: WkvKind,
    /// The adapter is a real GPU (`Auto` never chunks on CPU adapters).
    pub gpu: bool,
}

impl WkvChoice {
    /// The chunk length L when the chunked form may run (its buffers and dispatches are
    /// then recorded): as asked, or L = [`DEFAULT_CHUNK`] for `Auto` on a GPU.
    pub fn chunk(self) -> Option<u32> {
        match self.kind {
            WkvKind::Serial => None,
            WkvKind::Chunked(l) => Some(l.max(1)),
            WkvKind::Auto => self.gpu.then_some(DEFAULT_CHUNK),
        }
    }

    /// Whether the serial form may run (it is then recorded).
    pub fn serial(self) -> bool {
        !matches!(self.kind, WkvKind::Chunked(_))
    }

    /// Whether a pass of shape `s` over `heads` heads runs the chunked form: when asked, or
    /// (`Auto`, on a GPU) when few long sequences would leave the serial kernel with fewer
    /// than 256 workgroups for many steps.
    pub fn chunked(self, s: Shape, heads: u32) -> bool {
        match (self.kind, self.chunk()) {
            (_, None) => false,
            (WkvKind::Chunked(_), _) => true,
            (_, Some(l)) => s.tokens >= 4 * l && s.batch * heads < 256,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct WkvOp {
    pub dim: u32,
    pub heads: u32,
    pub u_off: u32,
    pub phase: Phase,
    pub wkv: WkvChoice,
    /// Serial form: which time window of [`serial_window`] positions this dispatch covers.
    pub window: u32,
}

impl WkvOp {
    pub fn chunk_len(&self) -> u32 {
        self.wkv.chunk().unwrap_or(DEFAULT_CHUNK)
    }

    pub fn chunked(&self, s: Shape) -> bool {
        self.wkv.chunked(s, self.heads)
    }

    fn window_len(&self) -> u32 {
        serial_window(self.dim / self.heads)
    }

    /// Whether this dispatch runs for this shape: the other form is skipped, and so are
    /// serial windows that start past the pass's last position.
    pub fn active(&self, s: Shape) -> bool {
        match self.phase {
            Phase::Serial => !self.chunked(s) && self.window * self.window_len() < s.tokens,
            _ => self.chunked(s),
        }
    }

    pub fn params(&self, s: Shape) -> Vec<u32> {
        let l = self.chunk_len();
        vec![
            s.tokens,
            s.batch,
            self.dim,
            self.heads,
            self.u_off,
            l,
            ceil_div(s.tokens, l),
            self.window * self.window_len(),
            self.window_len(),
        ]
    }

    pub fn workgroups(&self, s: Shape) -> [u32; 3] {
        if !self.active(s) {
            return [0, 0, 0];
        }
        match self.phase {
            Phase::Serial | Phase::Scan => [self.heads, s.batch, 1],
            Phase::ChunkStates | Phase::ChunkOutputs => {
                [self.heads, ceil_div(s.tokens, self.chunk_len()), s.batch]
            }
        }
    }

    /// Per token and head: N² multiply-adds for the output, N² for the state update
    /// (chunk states: the update only).
    pub fn flops(&self, s: Shape) -> f64 {
        let n = (self.dim / self.heads) as f64;
        let per_token = 2.0 * s.rows() as f64 * self.dim as f64 * n;
        match self.phase {
            Phase::Serial | Phase::ChunkOutputs => 2.0 * per_token,
            Phase::ChunkStates => per_token,
            Phase::Scan => 0.0,
        }
    }
}
