//! The fast engine's weights: the eight projection matrices of every block and the
//! embedding stay in the checkpoint's own bytes (f16, bf16 or f32; a view into the
//! memory-mapped file, or the checkpoint's own buffer: never copied, never widened); the
//! small tensors (LoRA matrices, per-channel vectors, norms, ≈ 3 % of a model) are read
//! as f32. A quantized (int8/NF4) projection is dequantized to f32 once.

use super::gemm::{Kind, WeightView};
use crate::model::source::ready;
use crate::model::{Checkpoint, Config, DType, Tensor, TensorSource};
use crate::reference::ops::Matrix;
use crate::reference::weights::Norm;
use crate::Result;

/// A matrix in `nn.Linear` layout (`[out][in]`), in the checkpoint's dtype.
#[derive(Debug, Clone)]
pub struct Projection {
    tensor: Tensor,
    kind: Kind,
    pub rows: usize,
    pub cols: usize,
}

impl Projection {
    /// `tensor` seen as `[rows][numel / rows]`; float tensors are kept as they are (a
    /// clone of a mapped tensor shares its bytes), quantized ones dequantized to f32.
    pub fn new(tensor: Tensor, rows: usize) -> Projection {
        let cols = tensor.numel() / rows.max(1);
        let (tensor, kind) = match tensor.dtype {
            DType::F32 => (tensor, Kind::F32),
            DType::F16 => (tensor, Kind::F16),
            DType::BF16 => (tensor, Kind::Bf16),
            DType::Quant(_) => (
                Tensor::from_f32(vec![rows, cols], &tensor.to_f32()),
                Kind::F32,
            ),
        };
        Projection {
            tensor,
            kind,
            rows,
            cols,
        }
    }
    pub fn view(&self) -> WeightView<'_> {
        WeightView {
            bytes: &self.tensor.bytes,
            kind: self.kind,
            rows: self.rows,
            cols: self.cols,
        }
    }
    /// Whether the bytes are shared with the checkpoint (a view, not a copy).
    pub fn is_shared(&self) -> bool {
        self.tensor.bytes.is_shared()
    }
    /// Bytes held (shared or not).
    pub fn bytes(&self) -> usize {
        self.tensor.bytes.len()
    }
    /// Row `i` as f32 into `out`.
    pub fn row_f32(&self, i: usize, out: &mut [f32]) {
        self.view().row_f32(i, out);
    }
}

/// Time-mix parameters of one block (see `reference::weights::TimeMix` for each).
#[derive(Debug, Clone)]
pub struct FastTimeMix {
    pub maa_x: Vec<f32>,
    /// `[w, k, v, r, g]`.
    pub maa: [Vec<f32>; 5],
    /// The LoRA matrices in f32, transposed to `[out][in]` for the fast GEMM:
    /// `time_maa_w1ᵀ` `[5R][C]`, the five `time_maa_w2[j]ᵀ` `[C][R]`.
    pub maa_w1: Matrix,
    pub maa_w2: [Matrix; 5],
    pub decay: Vec<f32>,
    /// `time_decay_w1ᵀ` `[D][C]`, `time_decay_w2ᵀ` `[C][D]`.
    pub decay_w1: Matrix,
    pub decay_w2: Matrix,
    pub heads: usize,
    pub u: Vec<f32>,
    pub receptance: Projection,
    pub key: Projection,
    pub value: Projection,
    pub gate: Projection,
    pub output: Projection,
    pub ln_x: Norm,
}

/// Channel-mix parameters of one block.
#[derive(Debug, Clone)]
pub struct FastChannelMix {
    pub maa_k: Vec<f32>,
    pub maa_r: Vec<f32>,
    pub key: Projection,
    pub receptance: Projection,
    pub value: Projection,
}

#[derive(Debug, Clone)]
pub struct FastBlock {
    pub ln1: Norm,
    pub ln2: Norm,
    pub att: FastTimeMix,
    pub ffn: FastChannelMix,
}

/// A whole model for the fast engine (no LM head: the engine never computes logits).
#[derive(Debug, Clone)]
pub struct FastWeights {
    pub config: Config,
    /// `emb.weight` `[V][C]`, rows converted as tokens need them.
    pub emb: Projection,
    pub ln0: Norm,
    pub blocks: Vec<FastBlock>,
}

impl FastWeights {
    /// Views into `ckpt`'s tensors (shared bytes stay shared: a memory-mapped checkpoint
    /// is not copied; an owned one is, once, by `Tensor::clone`).
    pub fn from_checkpoint(ckpt: &Checkpoint) -> Result<FastWeights> {
        ready(Self::from_source(ckpt))
    }

    pub async fn from_source(src: &impl TensorSource) -> Result<FastWeights> {
        let cfg = src.config().clone();
        let ranks = cfg.require_rwkv6(src.source(), "the fast CPU engine runs RWKV-6 only")?;
        let mut blocks = Vec::with_capacity(cfg.n_layer);
        for i in 0..cfg.n_layer {
            blocks.push(read_block(src, &cfg, ranks, i).await?);
        }
        Ok(FastWeights {
            emb: proj(src, "emb.weight", cfg.vocab_size).await?,
            ln0: Norm::ln0(src).await?,
            blocks,
            config: cfg,
        })
    }

    /// Bytes of the weights held apart from the checkpoint's (the f32 copies of the small
    /// tensors, dequantized or unshared projections).
    pub fn own_bytes(&self) -> usize {
        let projs = self.blocks.iter().flat_map(|b| {
            let (a, f) = (&b.att, &b.ffn);
            [
                &a.receptance,
                &a.key,
                &a.value,
                &a.gate,
                &a.output,
                &f.key,
                &f.receptance,
                &f.value,
            ]
        });
        let unshared: usize = (projs.chain([&self.emb]))
            .filter(|p| !p.is_shared())
            .map(Projection::bytes)
            .sum();
        let per_block = |b: &FastBlock| {
            let a = &b.att;
            let mats = a.maa_w1.data.len()
                + a.maa_w2.iter().map(|m| m.data.len()).sum::<usize>()
                + a.decay_w1.data.len()
                + a.decay_w2.data.len();
            4 * (mats + 16 * a.decay.len())
        };
        unshared + self.blocks.iter().map(per_block).sum::<usize>()
    }
}

async fn proj(src: &impl TensorSource, name: &str, rows: usize) -> Result<Projection> {
    Ok(Projection::new(src.tensor(name).await?.into_owned(), rows))
}

async fn vec(src: &impl TensorSource, name: &str) -> Result<Vec<f32>> {
    src.f32(name).await
}

/// A stored `[rows][cols]` (`x @ M` layout) matrix as its transpose `[cols][rows]`.
async fn mat_t(src: &impl TensorSource, name: &str, rows: usize) -> Result<Matrix> {
    let data = vec(src, name).await?;
    let cols = data.len() / rows;
    Ok(transposed(rows, cols, &data))
}

fn transposed(rows: usize, cols: usize, data: &[f32]) -> Matrix {
    Matrix::new(cols, rows, crate::kit::transpose(data, rows, cols))
}

/// An f32 matrix as a view for the fast GEMM (`[rows][cols]` = `[out][in]`).
pub fn f32_view(m: &Matrix) -> WeightView<'_> {
    WeightView {
        bytes: bytemuck::cast_slice(&m.data),
        kind: Kind::F32,
        rows: m.rows,
        cols: m.cols,
    }
}

async fn norm(src: &impl TensorSource, prefix: &str) -> Result<Norm> {
    Ok(Norm {
        weight: vec(src, &format!("{prefix}.weight")).await?,
        bias: vec(src, &format!("{prefix}.bias")).await?,
    })
}

/// Block `i`; `(r, d)` are the token-shift and decay LoRA ranks.
async fn read_block(
    src: &impl TensorSource,
    cfg: &Config,
    (r, d): (usize, usize),
    i: usize,
) -> Result<FastBlock> {
    let p = |s: &str| format!("blocks.{i}.{s}");
    let c = cfg.n_embd;
    let w2 = vec(src, &p("att.time_maa_w2")).await?; // [5][R][C]
    let slice = |j: usize| transposed(r, c, &w2[j * r * c..(j + 1) * r * c]);
    let att = FastTimeMix {
        maa_x: vec(src, &p("att.time_maa_x")).await?,
        maa: [
            vec(src, &p("att.time_maa_w")).await?,
            vec(src, &p("att.time_maa_k")).await?,
            vec(src, &p("att.time_maa_v")).await?,
            vec(src, &p("att.time_maa_r")).await?,
            vec(src, &p("att.time_maa_g")).await?,
        ],
        maa_w1: mat_t(src, &p("att.time_maa_w1"), c).await?,
        maa_w2: [slice(0), slice(1), slice(2), slice(3), slice(4)],
        decay: vec(src, &p("att.time_decay")).await?,
        decay_w1: mat_t(src, &p("att.time_decay_w1"), c).await?,
        decay_w2: mat_t(src, &p("att.time_decay_w2"), d).await?,
        heads: cfg.n_head,
        u: vec(src, &p("att.time_faaaa")).await?,
        receptance: proj(src, &p("att.receptance.weight"), c).await?,
        key: proj(src, &p("att.key.weight"), c).await?,
        value: proj(src, &p("att.value.weight"), c).await?,
        gate: proj(src, &p("att.gate.weight"), c).await?,
        output: proj(src, &p("att.output.weight"), c).await?,
        ln_x: norm(src, &p("att.ln_x")).await?,
    };
    let ffn = FastChannelMix {
        maa_k: vec(src, &p("ffn.time_maa_k")).await?,
        maa_r: vec(src, &p("ffn.time_maa_r")).await?,
        key: proj(src, &p("ffn.key.weight"), cfg.ffn_dim).await?,
        receptance: proj(src, &p("ffn.receptance.weight"), c).await?,
        value: proj(src, &p("ffn.value.weight"), c).await?,
    };
    Ok(FastBlock {
        ln1: norm(src, &p("ln1")).await?,
        ln2: norm(src, &p("ln2")).await?,
        att,
        ffn,
    })
}
