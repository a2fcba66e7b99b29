//! The weights of one RWKV-6 model as f32 vectors and matrices, read from a
//! [`Checkpoint`] by their official names.

use super::ops::Matrix;
use crate::model::{Checkpoint, Config};
use crate::Result;

/// LayerNorm affine parameters, `[C]` each.
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

struct Reader<'a>(&'a Checkpoint);

impl Reader<'_> {
    fn vec(&self, name: &str) -> Result<Vec<f32>> {
        self.0.f32(name)
    }
    /// A tensor as a matrix with the given rows (columns follow from the size).
    fn mat(&self, name: &str, rows: usize) -> Result<Matrix> {
        let data = self.vec(name)?;
        Ok(Matrix::new(rows, data.len() / rows, data))
    }
    fn norm(&self, prefix: &str) -> Result<Norm> {
        Ok(Norm {
            weight: self.vec(&format!("{prefix}.weight"))?,
            bias: self.vec(&format!("{prefix}.bias"))?,
        })
    }
}

impl Weights {
    /// Converts every tensor the forward pass needs to f32.
    pub fn from_checkpoint(ckpt: &Checkpoint) -> Result<Weights> {
        let cfg = ckpt.config.clone();
        let rd = Reader(ckpt);
        let blocks = (0..cfg.n_layer)
            .map(|i| read_block(&rd, &cfg, i))
            .collect::<Result<Vec<_>>>()?;
        Ok(Weights {
            emb: rd.mat("emb.weight", cfg.vocab_size)?,
            ln0: rd.norm("blocks.0.ln0")?,
            blocks,
            ln_out: rd.norm("ln_out")?,
            head: if ckpt.has_head() {
                Some(rd.mat("head.weight", cfg.vocab_size)?)
            } else {
                None
            },
            config: cfg,
        })
    }
}

fn read_block(rd: &Reader, cfg: &Config, i: usize) -> Result<Block> {
    let p = |s: &str| format!("blocks.{i}.{s}");
    let (c, r) = (cfg.n_embd, cfg.mix_lora);
    let w2 = rd.vec(&p("att.time_maa_w2"))?; // [5][R][C]
    let slice = |j: usize| Matrix::new(r, c, w2[j * r * c..(j + 1) * r * c].to_vec());
    let att = TimeMix {
        maa_x: rd.vec(&p("att.time_maa_x"))?,
        maa: [
            rd.vec(&p("att.time_maa_w"))?,
            rd.vec(&p("att.time_maa_k"))?,
            rd.vec(&p("att.time_maa_v"))?,
            rd.vec(&p("att.time_maa_r"))?,
            rd.vec(&p("att.time_maa_g"))?,
        ],
        maa_w1: rd.mat(&p("att.time_maa_w1"), c)?,
        maa_w2: [slice(0), slice(1), slice(2), slice(3), slice(4)],
        decay: rd.vec(&p("att.time_decay"))?,
        decay_w1: rd.mat(&p("att.time_decay_w1"), c)?,
        decay_w2: rd.mat(&p("att.time_decay_w2"), cfg.decay_lora)?,
        heads: cfg.n_head,
        u: rd.vec(&p("att.time_faaaa"))?,
        receptance: rd.mat(&p("att.receptance.weight"), c)?,
        key: rd.mat(&p("att.key.weight"), c)?,
        value: rd.mat(&p("att.value.weight"), c)?,
        gate: rd.mat(&p("att.gate.weight"), c)?,
        output: rd.mat(&p("att.output.weight"), c)?,
        ln_x: rd.norm(&p("att.ln_x"))?,
    };
    let ffn = ChannelMix {
        maa_k: rd.vec(&p("ffn.time_maa_k"))?,
        maa_r: rd.vec(&p("ffn.time_maa_r"))?,
        key: rd.mat(&p("ffn.key.weight"), cfg.ffn_dim)?,
        receptance: rd.mat(&p("ffn.receptance.weight"), c)?,
        value: rd.mat(&p("ffn.value.weight"), c)?,
    };
    Ok(Block {
        ln1: rd.norm(&p("ln1"))?,
        ln2: rd.norm(&p("ln2"))?,
        att,
        ffn,
    })
}
