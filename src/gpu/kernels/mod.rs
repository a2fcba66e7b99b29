//! The kernels: WGSL sources assembled from `shaders/`, a pipeline cache, and one `Op`
//! per dispatch that turns a batch shape into the kernel's parameters and grid size.

pub mod bindings;
pub mod matmul;
pub mod mix;
pub mod norm;
pub mod pool;
pub mod wkv;

use std::collections::HashMap;

use super::context::{one_line, Context};
use super::Precision;
use crate::{Error, Result};

const RUN: &str = include_str!("../../../shaders/run.wgsl");
const REDUCE_WORKGROUP: &str = include_str!("../../../shaders/reduce_workgroup.wgsl");
const REDUCE_SUBGROUP: &str = include_str!("../../../shaders/reduce_subgroup.wgsl");
const NORM_COMMON: &str = include_str!("../../../shaders/norm_common.wgsl");
const ROW_NORM: &str = include_str!("../../../shaders/row_norm.wgsl");
const LAYER_NORM: &str = include_str!("../../../shaders/layer_norm.wgsl");
const GROUP_NORM: &str = include_str!("../../../shaders/group_norm.wgsl");
const SHIFT_COMMON: &str = include_str!("../../../shaders/shift_common.wgsl");
const TOKEN_SHIFT: &str = include_str!("../../../shaders/token_shift.wgsl");
const DDLERP: &str = include_str!("../../../shaders/ddlerp.wgsl");
const DECAY: &str = include_str!("../../../shaders/decay.wgsl");
const LORA_UP: &str = include_str!("../../../shaders/lora_up.wgsl");
const WEIGHTS_F32: &str = include_str!("../../../shaders/weights_f32.wgsl");
const WEIGHTS_F16: &str = include_str!("../../../shaders/weights_f16.wgsl");
const WEIGHTS_INT8: &str = include_str!("../../../shaders/weights_int8.wgsl");
const WEIGHTS_NF4: &str = include_str!("../../../shaders/weights_nf4.wgsl");
const MATMUL_COMMON: &str = include_str!("../../../shaders/matmul_common.wgsl");
const MATMUL: &str = include_str!("../../../shaders/matmul.wgsl");
const MATMUL_TILED: &str = include_str!("../../../shaders/matmul_tiled.wgsl");
const WKV_STEP: &str = include_str!("../../../shaders/wkv_step.wgsl");
const WKV: &str = include_str!("../../../shaders/wkv.wgsl");
const WKV_CHUNKED: &str = include_str!("../../../shaders/wkv_chunked.wgsl");
const POOL: &str = include_str!("../../../shaders/pool.wgsl");
const ROW_GRID: &str = include_str!("../../../shaders/row_grid.wgsl");
const EMBED_SUM: &str = include_str!("../../../shaders/embed_sum.wgsl");
const BIAS_ADD: &str = include_str!("../../../shaders/bias_add.wgsl");
const GELU: &str = include_str!("../../../shaders/gelu.wgsl");
const ATTENTION: &str = include_str!("../../../shaders/attention.wgsl");
const RMS_NORM: &str = include_str!("../../../shaders/rms_norm.wgsl");
const ROPE: &str = include_str!("../../../shaders/rope.wgsl");
const SILU_GATE: &str = include_str!("../../../shaders/silu_gate.wgsl");
const BENCH_COPY: &str = include_str!("../../../shaders/bench_copy.wgsl");

/// Shape of the batch a pass runs on: `batch` right-padded sequences of `tokens` positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub batch: u32,
    pub tokens: u32,
}

impl Shape {
    /// Rows of every `[B·T][·]` activation.
    pub fn rows(&self) -> u32 {
        self.batch * self.tokens
    }
}

pub fn ceil_div(a: u32, b: u32) -> u32 {
    a.div_ceil(b)
}

/// One compiled pipeline per kernel variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// `subgroups`: the norms' sums through subgroup operations (see `norm_prelude`).
    LayerNorm {
        subgroups: bool,
    },
    GroupNorm {
        subgroups: bool,
    },
    TokenShift,
    Ddlerp,
    Decay,
    Matmul {
        weights: Precision,
        tiled: bool,
    },
    Wkv {
        head_size: u32,
        phase: wkv::Phase,
    },
    Pool,
    /// The attention models' kernels (`crate::gpu::encoder`).
    EmbedSum,
    BiasAdd,
    Gelu,
    Attention {
        head_size: u32,
    },
    /// Llama's kernels (with `Attention`'s grouped-query form).
    RmsNorm {
        subgroups: bool,
    },
    Rope,
    SiluGate,
    /// The copy-bandwidth probe of `rwkv-lens bench` (`crate::bench::roofline`).
    BenchCopy,
}

impl Kernel {
    pub fn name(self) -> &'static str {
        match self {
            Kernel::LayerNorm { .. } => "layer_norm",
            Kernel::GroupNorm { .. } => "group_norm",
            Kernel::TokenShift => "token_shift",
            Kernel::Ddlerp => "ddlerp",
            Kernel::Decay => "decay",
            Kernel::Matmul { tiled: false, .. } => "matmul",
            Kernel::Matmul { tiled: true, .. } => "matmul_tiled",
            Kernel::Wkv {
                phase: wkv::Phase::Serial,
                ..
            } => "wkv",
            Kernel::Wkv { .. } => "wkv_chunked",
            Kernel::Pool => "pool",
            Kernel::EmbedSum => "embed_sum",
            Kernel::BiasAdd => "bias_add",
            Kernel::Gelu => "gelu",
            Kernel::Attention { .. } => "attention",
            Kernel::RmsNorm { .. } => "rms_norm",
            Kernel::Rope => "rope",
            Kernel::SiluGate => "silu_gate",
            Kernel::BenchCopy => "bench_copy",
        }
    }

    /// The entry point (every kernel's is `main` but the chunked WKV's three phases).
    pub fn entry(self) -> &'static str {
        match self {
            Kernel::Wkv { phase, .. } => phase.entry(),
            _ => "main",
        }
    }

    /// The complete WGSL source: preludes (constants, run info, the shared reduction,
    /// previous-token, LoRA up-projection and WKV-step pieces, the weight format) + the kernel file.
    pub fn source(self) -> String {
        match self {
            Kernel::LayerNorm { subgroups } => {
                format!("{}\n{ROW_NORM}\n{LAYER_NORM}", norm_prelude(subgroups))
            }
            Kernel::GroupNorm { subgroups } => format!("{}\n{GROUP_NORM}", norm_prelude(subgroups)),
            Kernel::TokenShift => format!("{RUN}\n{SHIFT_COMMON}\n{TOKEN_SHIFT}"),
            Kernel::Ddlerp => format!("{RUN}\n{SHIFT_COMMON}\n{LORA_UP}\n{DDLERP}"),
            Kernel::Decay => format!("{LORA_UP}\n{DECAY}"),
            Kernel::Matmul { weights, tiled } => {
                let weights = match weights {
                    Precision::F32 => WEIGHTS_F32,
                    Precision::F16 => WEIGHTS_F16,
                    Precision::Int8 => WEIGHTS_INT8,
                    Precision::Nf4 => WEIGHTS_NF4,
                };
                let body = if tiled { MATMUL_TILED } else { MATMUL };
                format!("{weights}\n{MATMUL_COMMON}\n{body}")
            }
            Kernel::Wkv { head_size, phase } => {
                let body = if phase == wkv::Phase::Serial {
                    WKV
                } else {
                    WKV_CHUNKED
                };
                let block = wkv::token_block(head_size);
                format!("const HEAD_SIZE: u32 = {head_size}u;\nconst TOKEN_BLOCK: u32 = {block}u;\n{RUN}\n{WKV_STEP}\n{body}")
            }
            Kernel::Pool => format!("{RUN}\n{POOL}"),
            Kernel::EmbedSum => format!("{ROW_GRID}\n{EMBED_SUM}"),
            Kernel::BiasAdd => format!("{ROW_GRID}\n{BIAS_ADD}"),
            Kernel::Gelu => GELU.to_string(),
            Kernel::Attention { head_size } => {
                format!("const HEAD_SIZE: u32 = {head_size}u;\n{ATTENTION}")
            }
            Kernel::RmsNorm { subgroups } => {
                format!("{}\n{ROW_NORM}\n{RMS_NORM}", norm_prelude(subgroups))
            }
            Kernel::Rope => ROPE.to_string(),
            Kernel::SiluGate => SILU_GATE.to_string(),
            Kernel::BenchCopy => BENCH_COPY.to_string(),
        }
    }
}

/// The norms' prelude: the workgroup sum (a tree in workgroup memory, or `subgroupAdd`)
/// and the statistics. WGSL in a browser must declare `enable subgroups;` to use them;
/// naga (native wgpu 30) rejects that directive and takes the device feature instead.
fn norm_prelude(subgroups: bool) -> String {
    if !subgroups {
        return format!("{REDUCE_WORKGROUP}\n{NORM_COMMON}");
    }
    let enable = if cfg!(target_arch = "wasm32") {
        "enable subgroups;\n"
    } else {
        ""
    };
    format!("{enable}{REDUCE_SUBGROUP}\n{NORM_COMMON}")
}

/// Compiled pipelines, created on first use and kept for the engine's lifetime.
#[derive(Default)]
pub struct Pipelines {
    map: HashMap<Kernel, wgpu::ComputePipeline>,
}

impl Pipelines {
    /// The pipeline of `kernel`; compiles it (with validation errors captured) if needed.
    pub async fn get(&mut self, ctx: &Context, kernel: Kernel) -> Result<wgpu::ComputePipeline> {
        if let Some(p) = self.map.get(&kernel) {
            return Ok(p.clone());
        }
        let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let source = kernel.source();
        let module = ctx
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(kernel.name()),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        let pipeline = ctx
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(kernel.name()),
                layout: None,
                module: &module,
                entry_point: Some(kernel.entry()),
                compilation_options: Default::default(),
                cache: None,
            });
        if let Some(e) = scope.pop().await {
            return Err(Error::gpu(format!(
                "kernel `{}` failed to compile: {}",
                kernel.name(),
                one_line(&e.to_string())
            )));
        }
        self.map.insert(kernel, pipeline.clone());
        Ok(pipeline)
    }
}

/// What one dispatch computes; gives its parameters and grid for a batch shape.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    LayerNorm(norm::LayerNormOp),
    GroupNorm(norm::GroupNormOp),
    TokenShift(mix::TokenShiftOp),
    Ddlerp(mix::DdlerpOp),
    Decay(mix::DecayOp),
    Matmul(matmul::MatmulOp),
    Wkv(wkv::WkvOp),
    Pool(pool::PoolOp),
}

impl Op {
    /// Uniform parameters (u32 words; f32 fields as bits) in the WGSL `Params` order.
    pub fn params(&self, s: Shape) -> Vec<u32> {
        match self {
            Op::LayerNorm(o) => o.params(s),
            Op::GroupNorm(o) => o.params(s),
            Op::TokenShift(o) => o.params(s),
            Op::Ddlerp(o) => o.params(s),
            Op::Decay(o) => o.params(s),
            Op::Matmul(o) => o.params(s),
            Op::Wkv(o) => o.params(s),
            Op::Pool(o) => o.params(s),
        }
    }

    pub fn workgroups(&self, s: Shape) -> [u32; 3] {
        match self {
            Op::LayerNorm(o) => o.workgroups(s),
            Op::GroupNorm(o) => o.workgroups(s),
            Op::TokenShift(o) => o.workgroups(s),
            Op::Ddlerp(o) => o.workgroups(s),
            Op::Decay(o) => o.workgroups(s),
            Op::Matmul(o) => o.workgroups(s),
            Op::Wkv(o) => o.workgroups(s),
            Op::Pool(o) => o.workgroups(s),
        }
    }

    /// Floating-point operations (multiply-adds count 2), for the profile's GFLOP/s.
    pub fn flops(&self, s: Shape) -> f64 {
        match self {
            Op::Matmul(o) => o.flops(s),
            Op::Ddlerp(o) => o.flops(s),
            Op::Decay(o) => o.flops(s),
            Op::Wkv(o) => o.flops(s),
            _ => 0.0,
        }
    }
}
