//! The weights of one RWKV-6 model as f32 vectors and matrices, read from a
//! [`Checkpoint`] (or any [`TensorSource`], one tensor at a time) by their official names.

use super::ops::Matrix;
use crate::model::source::ready;
use crate::model::{Checkpoint, Config, TensorSource};
use crate::Result;

/// LayerNorm affine parameters, `[C]` each (also the attention models' norms: an RMSNorm
/// holds its weight and a zero bias).
#[derive(Debug, Clone)]
pub struct Norm {
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// Time-mix (attention-like) parameters of one block.
#[derive(Debug, Clone)]
pub struct TimeMix {
    /// `μ_x`, `μ_w`, `μ_k`, `μ_v`, `μ_r`, `μ_g`: `[C]` each (`time_maa_*`).
    pub maa_x: Vec<f32>,
    /// `[w, k, v, r, g]` base mixes, in the order of the LoRA slices.
    pub maa: [Vec<f32>; 5],
    /// `time_maa_w1`: `[C][5R]` (x @ w1).
    pub maa_w1: Matrix,
    /// `time_maa_w2`: 5 matrices `[R][C]`, order w, k, v, r, g.
    pub maa_w2: [Matrix; 5],
    /// `time_decay`: `[C]`, the decay's base in log-log space.
    pub decay: Vec<f32>,
    /// `time_decay_w1`: `[C][D]`, `time_decay_w2`: `[D][C]`.
    pub decay_w1: Matrix,
    pub decay_w2: Matrix,
    /// Number of heads H (GroupNorm groups, WKV heads).
    pub heads: usize,
    /// `time_faaaa`, the bonus `u`: `[H·N]`.
    pub u: Vec<f32>,
    /// Projections `[C][C]` in `nn.Linear` layout (out, in).
    pub receptance: Matrix,
    pub key: Matrix,
    pub value: Matrix,
    pub gate: Matrix,
    pub output: Matrix,
    /// GroupNorm affine (`ln_x`), `[C]`.
    pub ln_x: Norm,
}

/// Channel-mix (feed-forward) parameters of one block.
#[derive(Debug, Clone)]
pub struct ChannelMix {
    pub maa_k: Vec<f32>,
    pub maa_r: Vec<f32>,
    /// `[F][C]`, `[C][C]`, `[C][F]` (out, in).
    pub key: Matrix,
    pub receptance: Matrix,
    pub value: Matrix,
}

#[derive(Debug, Clone)]
pub struct Block {
    pub ln1: Norm,
    pub ln2: Norm,
    pub att: TimeMix,
    pub ffn: ChannelMix,
}

/// A whole model, every tensor converted to f32 on load (the embedding too: `V·C·4` bytes,
/// whatever the checkpoint's dtype).
#[derive(Debug, Clone)]
pub struct Weights {
    pub config: Config,
    /// `emb.weight` `[V][C]`.
    pub emb: Matrix,
    pub ln0: Norm,
    pub blocks: Vec<Block>,
    pub ln_out: Norm,
    /// `head.weight` `[V][C]`, only for verification logits.
    pub head: Option<Matrix>,
}

struct Reader<'a, S>(&'a S);

impl<S: TensorSource> Reader<'_, S> {
    async fn vec(&self, name: &str) -> Result<Vec<f32>> {
        self.0.f32(name).await
    }
    /// A tensor as a matrix with the given rows (columns follow from the size).
    async fn mat(&self, name: &str, rows: usize) -> Result<Matrix> {
        let data = self.vec(name).await?;
        Ok(Matrix::new(rows, data.len() / rows, data))
    }
    async fn norm(&self, prefix: &str) -> Result<Norm> {
        Ok(Norm {
            weight: self.vec(&format!("{prefix}.weight")).await?,
            bias: self.vec(&format!("{prefix}.bias")).await?,
        })
    }
}

impl Weights {
    /// Converts every tensor the forward pass needs to f32.
    pub fn from_checkpoint(ckpt: &Checkpoint) -> Result<Weights> {
        ready(Self::from_source(ckpt))
    }

    /// [`Weights::from_checkpoint`] from any source, one tensor read at a time.
    pub async fn from_source(src: &impl TensorSource) -> Result<Weights> {
        let cfg = src.config().clone();
        let rd = Reader(src);
        let mut blocks = Vec::with_capacity(cfg.n_layer);
        for i in 0..cfg.n_layer {
            blocks.push(read_block(&rd, &cfg, i).await?);
        }
        Ok(Weights {
            emb: rd.mat("emb.weight", cfg.vocab_size).await?,
            ln0: Norm::ln0(src).await?,
            blocks,
            ln_out: rd.norm("ln_out").await?,
            head: if src.has("head.weight") {
                Some(rd.mat("head.weight", cfg.vocab_size).await?)
            } else {
                None
            },
            config: cfg,
        })
    }
}

impl Norm {
    /// `blocks.0.ln0`, the LayerNorm after the embedding.
    pub async fn ln0(src: &impl TensorSource) -> Result<Norm> {
        Reader(src).norm("blocks.0.ln0").await
    }
}

impl Block {
    /// Block `i` (0-based) alone: what a caller that walks the blocks one at a time holds.
    pub async fn from_source(src: &impl TensorSource, i: usize) -> Result<Block> {
        read_block(&Reader(src), src.config(), i).await
    }
}

async fn read_block<S: TensorSource>(rd: &Reader<'_, S>, cfg: &Config, i: usize) -> Result<Block> {
    let p = |s: &str| format!("blocks.{i}.{s}");
    let (r, d) = cfg.require_rwkv6(rd.0.source(), "the RWKV-6 reference runs RWKV-6 only")?;
    let c = cfg.n_embd;
    let w2 = rd.vec(&p("att.time_maa_w2")).await?; // [5][R][C]
    let slice = |j: usize| Matrix::new(r, c, w2[j * r * c..(j + 1) * r * c].to_vec());
    let att = TimeMix {
        maa_x: rd.vec(&p("att.time_maa_x")).await?,
        maa: [
            rd.vec(&p("att.time_maa_w")).await?,
            rd.vec(&p("att.time_maa_k")).await?,
            rd.vec(&p("att.time_maa_v")).await?,
            rd.vec(&p("att.time_maa_r")).await?,
            rd.vec(&p("att.time_maa_g")).await?,
        ],
        maa_w1: rd.mat(&p("att.time_maa_w1"), c).await?,
        maa_w2: [slice(0), slice(1), slice(2), slice(3), slice(4)],
        decay: rd.vec(&p("att.time_decay")).await?,
        decay_w1: rd.mat(&p("att.time_decay_w1"), c).await?,
        decay_w2: rd.mat(&p("att.time_decay_w2"), d).await?,
        heads: cfg.n_head,
        u: rd.vec(&p("att.time_faaaa")).await?,
        receptance: rd.mat(&p("att.receptance.weight"), c).await?,
        key: rd.mat(&p("att.key.weight"), c).await?,
        value: rd.mat(&p("att.value.weight"), c).await?,
        gate: rd.mat(&p("att.gate.weight"), c).await?,
        output: rd.mat(&p("att.output.weight"), c).await?,
        ln_x: rd.norm(&p("att.ln_x")).await?,
    };
    let ffn = ChannelMix {
        maa_k: rd.vec(&p("ffn.time_maa_k")).await?,
        maa_r: rd.vec(&p("ffn.time_maa_r")).await?,
        key: rd.mat(&p("ffn.key.weight"), cfg.ffn_dim).await?,
        receptance: rd.mat(&p("ffn.receptance.weight"), c).await?,
        value: rd.mat(&p("ffn.value.weight"), c).await?,
    };
    Ok(Block {
        ln1: rd.norm(&p("ln1")).await?,
        ln2: rd.norm(&p("ln2")).await?,
        att,
        ffn,
    })
}
