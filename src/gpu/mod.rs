//! The wgpu engine: context, buffers, pipelines and dispatch. Each kernel is one
//! WGSL file in `shaders/` whose header states the equation it computes.
//!
//! The engine runs RWKV-6 over batches of right-padded sentences and pools every
//! layer's hidden states on the GPU, so only `[n_layer+1][B][C]` per pooling comes back.
//! It is designed for WebGPU's default limits (8 storage buffers per stage, 128 MiB per
//! storage binding, 256 invocations and 16 KiB of workgroup memory per workgroup), and
//! requests no more than those even when the adapter offers more, so what passes natively
//! (Vulkan; lavapipe in CI) also fits a browser. The core is `async` and never blocks:
//! native callers use the synchronous wrappers, which drive it with `pollster`.
//!
//! Files: [`context`] (adapter, device, buffers, memory, read-back), [`weights`] (upload,
//! f16 packing, splitting above the binding limit), [`kernels`] (one Rust file per WGSL
//! family: parameters and dispatch sizes), [`layers`] (the RWKV-6 block as a sequence of
//! dispatches), [`plan`] (buffers and the cached list of dispatches), [`batch`] (grouping
//! and padding sentences), [`engine`] (the API), [`profile`] (timestamp queries →
//! per-kernel table).
//!
//! Design choices:
//! - **Build once, rewrite parameters.** Every dispatch of a pass (≈24 per block) gets its
//!   pipeline and bind group when the engine is built, over buffers sized for the largest
//!   pass (`max_batch_tokens`); a batch only rewrites one uniform buffer of parameters,
//!   uploads its embedding rows and records one command encoder.
//! - **Batching.** Right padding with lengths: per-token outputs need no mask. Sentences
//!   are sorted by length and grouped so a pass holds at most `max_batch_tokens` padded
//!   tokens; a longer sentence runs alone in time chunks that carry the token-shift and
//!   WKV states, so any length works with bounded memory.
//! - **Matmul per adapter type.** CPU adapters (lavapipe) get the register-blocked kernel
//!   (no workgroup memory; barriers are expensive there); GPUs get 64×64 tiles through
//!   workgroup memory. Epilogues (tanh, SiLU, sigmoid, squared ReLU, residual add, gated
//!   residual add) are fused, so the channel-mix and the residual adds cost no extra pass.
//! - **WKV.** `wkv.wgsl`: one workgroup per (sequence, head), one thread per value column
//!   with its state column in registers, r/k/decay of the current token shared through
//!   workgroup memory (web-rwkv uses C/4 threads in total and keeps the state in global
//!   memory). `wkv_chunked.wgsl`: parallel over time chunks (chunk states, a scan over
//!   chunks, chunk outputs), exact because every step is the recurrence itself; chosen
//!   automatically on GPUs when few long sequences would leave the serial kernel idle.
//! - **Pooling on the device.** Masked mean and last-token pooling of every layer are
//!   accumulated in place; per-token states are copied out only for `forward_hidden`.

pub mod batch;
pub mod context;
pub mod encoder;
pub mod engine;
pub mod kernels;
pub mod layers;
pub mod plan;
pub mod profile;
pub mod weights;

pub use encoder::GpuAttention;
pub use engine::{CarriedState, GpuEngine, Hidden};
pub use profile::Profile;

/// The weights' storage format, a property of the formats ([`crate::model::Precision`]);
/// named here too because every GPU option takes one.
pub use crate::model::Precision;

/// Which matrix-multiply kernel to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatmulKind {
    /// Register-blocked on CPU adapters (lavapipe), workgroup-memory tiled on GPUs.
    Auto,
    /// `matmul.wgsl`: 4×4 per thread from registers, no workgroup memory.
    Registers,
    /// `matmul_tiled.wgsl`: 64×64 tiles through workgroup memory.
    Tiled,
}

/// Which WKV kernel to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WkvKind {
    /// Serial on CPU adapters; chunked (L = 64) on GPUs when few long sequences leave the
    /// serial kernel with too few workgroups.
    Auto,
    /// `wkv.wgsl`: token by token, one workgroup per (sequence, head).
    Serial,
    /// `wkv_chunked.wgsl` with this chunk length L (parallel over chunks, exact).
    Chunked(u32),
}

/// How the norms' workgroup sums are reduced (`shaders/norm_common.wgsl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceKind {
    /// Subgroup operations where the adapter has them (`Features::SUBGROUP`), else the tree.
    Auto,
    /// `reduce_workgroup.wgsl`: a tree in workgroup memory (log₂ 64 = 6 barriers).
    Workgroup,
    /// `reduce_subgroup.wgsl`: `subgroupAdd` (2 barriers); an error where the adapter lacks it.
    Subgroup,
}

/// How to build the engine.
#[derive(Debug, Clone)]
pub struct GpuOptions {
    /// Adapter by index (as listed by [`context::list_adapters`]) or by a case-insensitive
    /// substring of its name; `None` prefers a discrete GPU, then integrated, then others.
    pub adapter: Option<String>,
    /// `vulkan`, `gl`, `metal`, `dx12`, `webgpu` or `None` for all (or `WGPU_BACKEND`).
    pub backend: Option<String>,
    pub precision: Precision,
    /// Most tokens (padded B·T) in one pass; larger batches are split into groups, and
    /// longer sequences into time chunks that carry the recurrent state.
    pub max_batch_tokens: usize,
    pub matmul: MatmulKind,
    pub wkv: WkvKind,
    pub reduce: ReduceKind,
    /// Time every kernel with timestamp queries (when the adapter has them).
    pub profile: bool,
    /// Use a storage-binding limit lower than the device's (to exercise splitting in tests).
    pub max_binding_bytes: Option<u64>,
}

impl Default for GpuOptions {
    fn default() -> Self {
        GpuOptions {
            adapter: None,
            backend: None,
            precision: Precision::F32,
            max_batch_tokens: 4096,
            matmul: MatmulKind::Auto,
            wkv: WkvKind::Auto,
            reduce: ReduceKind::Auto,
            profile: false,
            max_binding_bytes: None,
        }
    }
}
