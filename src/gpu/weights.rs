//! Weights on the device.
//!
//! - The eight large projections per block (`att.{receptance,key,value,gate,output}`,
//!   `ffn.{key,receptance,value}`) in the chosen [`Precision`]: f32, f16 packed two per
//!   u32, or int8 / NF4 rows of codes and scales (`crate::model::quant`). A matrix above
//!   the storage-binding limit is split into row blocks, each its own buffer, dispatched
//!   separately into its own column range of the output.
//! - Streaming: each tensor is converted (and quantized) on its own, uploaded, and its host
//!   copy dropped before the next; bytes already in the target format go straight from
//!   the (memory-mapped) checkpoint to the device.
//! - The LoRA matrices in f32: `time_maa_w1` and `time_decay_w1` transposed to `[out][in]`
//!   for the matmul kernel, `time_maa_w2` `[5][R][C]` and `time_decay_w2` `[D][C]` as stored.
//! - Every per-channel vector of the model packed into one buffer (fewer bindings).
//! - The embedding table stays on the host (65536×2048 exceeds 128 MiB); only the rows a
//!   batch needs are uploaded. The LM head is never loaded.

use super::context::{Context, GpuBuffer};
use super::Precision;
use crate::model::{quant, Config, DType, QuantFormat, TensorSource};
use crate::{Error, Result};

/// One row block of a weight matrix.
#[derive(Debug)]
pub struct MatrixBlock {
    pub buffer: GpuBuffer,
    /// First row (= output column) of the block.
    pub row_start: usize,
    pub rows: usize,
}

/// A `[rows][cols]` weight in nn.Linear layout (y = x @ Wᵀ), possibly split by rows.
#[derive(Debug)]
pub struct Matrix {
    pub name: String,
    pub rows: usize,
    pub cols: usize,
    /// Storage format of the rows (selects the matmul kernel's weight prelude).
    pub format: Precision,
    pub blocks: Vec<MatrixBlock>,
}

/// The per-channel vectors of one block, in their order inside the packed buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerVec {
    Ln1Weight,
    Ln1Bias,
    Ln2Weight,
    Ln2Bias,
    LnxWeight,
    LnxBias,
    MaaX,
    MaaW,
    MaaK,
    MaaV,
    MaaR,
    MaaG,
    TimeDecay,
    TimeFaaaa,
    FfnMaaK,
    FfnMaaR,
}

impl LayerVec {
    pub const ALL: [LayerVec; 16] = [
        LayerVec::Ln1Weight,
        LayerVec::Ln1Bias,
        LayerVec::Ln2Weight,
        LayerVec::Ln2Bias,
        LayerVec::LnxWeight,
        LayerVec::LnxBias,
        LayerVec::MaaX,
        LayerVec::MaaW,
        LayerVec::MaaK,
        LayerVec::MaaV,
        LayerVec::MaaR,
        LayerVec::MaaG,
        LayerVec::TimeDecay,
        LayerVec::TimeFaaaa,
        LayerVec::FfnMaaK,
        LayerVec::FfnMaaR,
    ];

    /// Checkpoint name (without the `blocks.{i}.` prefix).
    pub fn tensor(self) -> &'static str {
        match self {
            LayerVec::Ln1Weight => "ln1.weight",
            LayerVec::Ln1Bias => "ln1.bias",
            LayerVec::Ln2Weight => "ln2.weight",
            LayerVec::Ln2Bias => "ln2.bias",
            LayerVec::LnxWeight => "att.ln_x.weight",
            LayerVec::LnxBias => "att.ln_x.bias",
            LayerVec::MaaX => "att.time_maa_x",
            LayerVec::MaaW => "att.time_maa_w",
            LayerVec::MaaK => "att.time_maa_k",
            LayerVec::MaaV => "att.time_maa_v",
            LayerVec::MaaR => "att.time_maa_r",
            LayerVec::MaaG => "att.time_maa_g",
            LayerVec::TimeDecay => "att.time_decay",
            LayerVec::TimeFaaaa => "att.time_faaaa",
            LayerVec::FfnMaaK => "ffn.time_maa_k",
            LayerVec::FfnMaaR => "ffn.time_maa_r",
        }
    }
}

/// Offsets (in f32 elements) of every vector in the packed buffer:
/// `[ln0.weight, ln0.bias, then 16 vectors per block]`, each C long.
#[derive(Debug, Clone, Copy)]
pub struct VecLayout {
    pub dim: usize,
}

impl VecLayout {
    pub fn ln0_weight(&self) -> u32 {
        0
    }
    pub fn ln0_bias(&self) -> u32 {
        self.dim as u32
    }
    pub fn layer(&self, layer: usize, v: LayerVec) -> u32 {
        let idx = LayerVec::ALL.iter().position(|&x| x == v).unwrap_or(0);
        ((2 + layer * LayerVec::ALL.len() + idx) * self.dim) as u32
    }
}

/// The weights of one block.
#[derive(Debug)]
pub struct LayerWeights {
    pub att_receptance: Matrix,
    pub att_key: Matrix,
    pub att_value: Matrix,
    pub att_gate: Matrix,
    pub att_output: Matrix,
    pub ffn_key: Matrix,
    pub ffn_receptance: Matrix,
    pub ffn_value: Matrix,
    /// `time_maa_w1ᵀ`: `[5R][C]`, f32.
    pub maa_w1: Matrix,
    /// `time_maa_w2`: `[5][R][C]`, f32.
    pub maa_w2: GpuBuffer,
    /// `time_decay_w1ᵀ`: `[D][C]`, f32.
    pub decay_w1: Matrix,
    /// `time_decay_w2`: `[D][C]`, f32.
    pub decay_w2: GpuBuffer,
}

/// Everything the forward pass reads on the device.
#[derive(Debug)]
pub struct GpuWeights {
    pub layers: Vec<LayerWeights>,
    pub vecs: GpuBuffer,
    pub layout: VecLayout,
}

fn f32_bytes(v: &[f32]) -> &[u8] {
    bytemuck::cast_slice(v)
}

/// Rows per block so that one block fits the binding limit (a multiple of 64 when possible).
fn rows_per_block(ctx: &Context, name: &str, rows: usize, row_bytes: u64) -> Result<usize> {
    let fit = (ctx.max_binding / row_bytes) as usize;
    if fit == 0 {
        return Err(Error::gpu(format!(
            "tensor `{name}`: one row is {row_bytes} bytes, above the storage-binding limit {}",
            ctx.max_binding
        )));
    }
    Ok(if fit >= rows {
        rows
    } else if fit >= 64 {
        fit / 64 * 64
    } else {
        fit
    })
}

/// Uploads a `[rows][cols]` matrix given as its stored rows in `format`.
fn upload_matrix(
    ctx: &Context,
    name: &str,
    bytes: &[u8],
    rows: usize,
    cols: usize,
    format: Precision,
) -> Result<Matrix> {
    let row_bytes = format.row_bytes(cols);
    let per = rows_per_block(ctx, name, rows, row_bytes as u64)?;
    let mut blocks = Vec::new();
    let mut start = 0;
    while start < rows {
        let n = per.min(rows - start);
        let lo = start * row_bytes;
        let hi = (start + n) * row_bytes;
        let buffer = ctx.storage_init(name, &bytes[lo..hi])?;
        blocks.push(MatrixBlock {
            buffer,
            row_start: start,
            rows: n,
        });
        start += n;
    }
    Ok(Matrix {
        name: name.to_string(),
        rows,
        cols,
        format,
        blocks,
    })
}

/// A checkpoint projection matrix in the requested precision: stored bytes are uploaded
/// as they are when the checkpoint already has that format, else this one tensor is
/// converted (dequantized, rounded or quantized) on the host and dropped after upload.
async fn projection(
    ctx: &Context,
    ck: &impl TensorSource,
    name: &str,
    precision: Precision,
) -> Result<Matrix> {
    let t = ck.tensor(name).await?;
    let (rows, cols) = (t.shape[0], t.cols());
    // (the LoRA down-projections' inner dimension is C = heads × head size, a multiple of 4
    // since the head size is one, checked in `GpuWeights::upload`)
    if !cols.is_multiple_of(4) {
        return Err(Error::gpu(format!(
            "{}: tensor `{name}`: inner dimension {cols} is not a multiple of 4 (needed by the matmul kernels)",
            ck.source()
        )));
    }
    let upload = |bytes: &[u8]| upload_matrix(ctx, name, bytes, rows, cols, precision);
    match (precision, t.dtype) {
        (Precision::F32, DType::F32) | (Precision::F16, DType::F16) => upload(&t.bytes),
        (Precision::Int8, DType::Quant(QuantFormat::Int8))
        | (Precision::Nf4, DType::Quant(QuantFormat::Nf4)) => upload(&t.bytes),
        (Precision::F32, _) => upload(f32_bytes(&t.to_f32())),
        (Precision::F16, _) => {
            let bits = t.to_f16_bits();
            // finite in the checkpoint, infinite in f16: refuse rather than compute NaN
            if let Some(i) = bits.iter().position(|b| b & 0x7c00 == 0x7c00) {
                return Err(Error::tensor(
                    ck.source(),
                    name,
                    format!("value #{i} is beyond f16's range (±65504): use --precision f32"),
                ));
            }
            upload(bytemuck::cast_slice(&bits))
        }
        (Precision::Int8, _) => upload(&quant::quantize(&t.to_f32(), cols, QuantFormat::Int8)),
        (Precision::Nf4, _) => upload(&quant::quantize(&t.to_f32(), cols, QuantFormat::Nf4)),
    }
}

/// A LoRA down-projection `[C][out]` uploaded transposed to `[out][C]`, f32.
async fn lora_down(
    ctx: &Context,
    ck: &impl TensorSource,
    name: &str,
    cfg: &Config,
) -> Result<Matrix> {
    let v = ck.f32(name).await?;
    let out = v.len() / cfg.n_embd;
    let t = crate::kit::transpose(&v, cfg.n_embd, out);
    upload_matrix(ctx, name, f32_bytes(&t), out, cfg.n_embd, Precision::F32)
}

/// A LoRA up-projection used in its stored layout, f32.
async fn lora_up(ctx: &Context, ck: &impl TensorSource, name: &str) -> Result<GpuBuffer> {
    let v = ck.f32(name).await?;
    if (v.len() * 4) as u64 > ctx.max_binding {
        return Err(Error::gpu(format!(
            "tensor `{name}` is above the storage-binding limit"
        )));
    }
    ctx.storage_init(name, f32_bytes(&v))
}

async fn layer_weights(
    ctx: &Context,
    ck: &impl TensorSource,
    i: usize,
    precision: Precision,
) -> Result<LayerWeights> {
    let n = |s: &str| format!("blocks.{i}.{s}");
    let proj = async |s: &str| projection(ctx, ck, &n(s), precision).await;
    let cfg = ck.config();
    Ok(LayerWeights {
        att_receptance: proj("att.receptance.weight").await?,
        att_key: proj("att.key.weight").await?,
        att_value: proj("att.value.weight").await?,
        att_gate: proj("att.gate.weight").await?,
        att_output: proj("att.output.weight").await?,
        ffn_key: proj("ffn.key.weight").await?,
        ffn_receptance: proj("ffn.receptance.weight").await?,
        ffn_value: proj("ffn.value.weight").await?,
        maa_w1: lora_down(ctx, ck, &n("att.time_maa_w1"), cfg).await?,
        maa_w2: lora_up(ctx, ck, &n("att.time_maa_w2")).await?,
        decay_w1: lora_down(ctx, ck, &n("att.time_decay_w1"), cfg).await?,
        decay_w2: lora_up(ctx, ck, &n("att.time_decay_w2")).await?,
    })
}

/// All per-channel vectors, packed as described by [`VecLayout`].
async fn packed_vectors(ck: &impl TensorSource) -> Result<Vec<f32>> {
    let cfg = ck.config();
    let mut out = Vec::with_capacity((2 + 16 * cfg.n_layer) * cfg.n_embd);
    out.extend(ck.f32("blocks.0.ln0.weight").await?);
    out.extend(ck.f32("blocks.0.ln0.bias").await?);
    for i in 0..cfg.n_layer {
        for v in LayerVec::ALL {
            out.extend(ck.f32(&format!("blocks.{i}.{}", v.tensor())).await?);
        }
    }
    Ok(out)
}

impl GpuWeights {
    /// Uploads every weight the forward pass needs (not the embedding, never the head).
    /// Pending uploads are flushed after each block so staging memory stays small.
    pub async fn upload(
        ctx: &Context,
        ck: &impl TensorSource,
        precision: Precision,
    ) -> Result<GpuWeights> {
        let cfg = ck.config();
        let n = cfg.head_size;
        if !n.is_multiple_of(4) {
            return Err(Error::gpu(format!(
                "{}: head size {n} is not a multiple of 4 (needed by the WKV kernels: four value columns per thread)",
                ck.source()
            )));
        }
        let vecs = packed_vectors(ck).await?;
        if (vecs.len() * 4) as u64 > ctx.max_binding {
            return Err(Error::gpu(format!(
                "{}: the packed per-channel vectors ({} bytes) exceed the storage-binding limit",
                ck.source(),
                vecs.len() * 4
            )));
        }
        let vecs = ctx.storage_init("vectors", f32_bytes(&vecs))?;
        let mut layers = Vec::with_capacity(cfg.n_layer);
        for i in 0..cfg.n_layer {
            layers.push(layer_weights(ctx, ck, i, precision).await?);
            ctx.flush()?;
        }
        Ok(GpuWeights {
            layers,
            vecs,
            layout: VecLayout { dim: cfg.n_embd },
        })
    }
}
