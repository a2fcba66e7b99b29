//! The weights of one RWKV-7 model as f32 vectors and matrices, read from any
//! [`TensorSource`] by their official names (Hugging Face and fla names are mapped to
//! these when the checkpoint is read: `model::layout`).

use crate::model::config::Architecture;
use crate::model::source::ready;
use crate::model::{Checkpoint, Config, TensorSource};
use crate::reference::ops::Matrix;
use crate::reference::weights::Norm;
use crate::{Error, Result};

/// A low-rank pair `x ↦ (x @ down) @ up`, stored `[C][D]` and `[D][C]` as the official
/// checkpoints store them (not transposed), with its bias `[C]` where it has one.
#[derive(Debug, Clone)]
pub struct Lora {
    /// `*0`: `[C]` (zeros for the gate, which has none).
    pub bias: Vec<f32>,
    /// `*1`: `[C][D]`.
    pub down: Matrix,
    /// `*2`: `[D][C]`.
    pub up: Matrix,
}

/// Time-mix parameters of one RWKV-7 block.
#[derive(Debug, Clone)]
pub struct TimeMix {
    /// `x_r, x_w, x_k, x_v, x_a, x_g`: `[C]` each, in this order.
    pub mix: [Vec<f32>; 6],
    /// Decay `w0, w1, w2`.
    pub w: Lora,
    /// In-context learning rate `a0, a1, a2`.
    pub a: Lora,
    /// Value residual `v0, v1, v2`; `None` in block 0 (which sets `v_first` instead).
    pub v: Option<Lora>,
    /// Gate `g1, g2` (zero bias).
    pub g: Lora,
    /// `k_k`: `[C]`, scales the key into the removal key.
    pub k_k: Vec<f32>,
    /// `k_a`: `[C]`, how much the learning rate scales the written key.
    pub k_a: Vec<f32>,
    /// `r_k`: `[H·N]`, the per-channel weight of the bonus `r·k`.
    pub r_k: Vec<f32>,
    /// Heads H.
    pub heads: usize,
    /// Projections `[C][C]` in `nn.Linear` layout (out, in).
    pub receptance: Matrix,
    pub key: Matrix,
    pub value: Matrix,
    pub output: Matrix,
    /// GroupNorm affine (`ln_x`), `[C]`.
    pub ln_x: Norm,
}

/// Channel-mix parameters: one mix, two projections, no receptance.
#[derive(Debug, Clone)]
pub struct ChannelMix {
    /// `x_k`: `[C]`.
    pub x_k: Vec<f32>,
    /// `[F][C]` and `[C][F]` (out, in).
    pub key: Matrix,
    pub value: Matrix,
}

#[derive(Debug, Clone)]
pub struct Block {
    pub ln1: Norm,
    pub ln2: Norm,
    pub att: TimeMix,
    pub ffn: ChannelMix,
}

/// A whole RWKV-7 model in f32.
#[derive(Debug, Clone)]
pub struct Weights {
    pub config: Config,
    /// `emb.weight` `[V][C]` (ln0 is applied per token: the same numbers as the official
    /// loader's folded table `LN0(emb)`).
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
    /// `{prefix}0/1/2`; `bias: false` for the gate (no `g0`).
    async fn lora(&self, prefix: &str, c: usize, bias: bool) -> Result<Lora> {
        let down = self.mat(&format!("{prefix}1"), c).await?;
        let up = self.mat(&format!("{prefix}2"), down.cols).await?;
        let bias = match bias {
            true => self.vec(&format!("{prefix}0")).await?,
            false => vec![0.0; c],
        };
        Ok(Lora { bias, down, up })
    }
}

impl Weights {
    /// Converts every tensor the forward pass needs to f32.
    pub fn from_checkpoint(ckpt: &Checkpoint) -> Result<Weights> {
        ready(Self::from_source(ckpt))
    }

    /// [`Weights::from_checkpoint`] from any source, one tensor read at a time; refuses
    /// every family but RWKV-7 in one line.
    pub async fn from_source(src: &impl TensorSource) -> Result<Weights> {
        let cfg = src.config().clone();
        if !matches!(cfg.arch, Architecture::Rwkv7 { .. }) {
            return Err(Error::file(
                src.source(),
                format!(
                    "this is an {} model; the RWKV-7 forward runs RWKV-7 only",
                    cfg.arch.name()
                ),
            ));
        }
        let rd = Reader(src);
        let mut blocks = Vec::with_capacity(cfg.n_layer);
        for i in 0..cfg.n_layer {
            blocks.push(read_block(&rd, &cfg, i).await?);
        }
        Ok(Weights {
            emb: rd.mat("emb.weight", cfg.vocab_size).await?,
            ln0: rd.norm("blocks.0.ln0").await?,
            blocks,
            ln_out: rd.norm("ln_out").await?,
            head: match src.has("head.weight") {
                true => Some(rd.mat("head.weight", cfg.vocab_size).await?),
                false => None,
            },
            config: cfg,
        })
    }
}

async fn read_block<S: TensorSource>(rd: &Reader<'_, S>, cfg: &Config, i: usize) -> Result<Block> {
    let p = |s: &str| format!("blocks.{i}.{s}");
    let c = cfg.n_embd;
    let mut mix: [Vec<f32>; 6] = Default::default();
    for (m, name) in mix.iter_mut().zip(["r", "w", "k", "v", "a", "g"]) {
        *m = rd.vec(&p(&format!("att.x_{name}"))).await?;
    }
    let att = TimeMix {
        mix,
        w: rd.lora(&p("att.w"), c, true).await?,
        a: rd.lora(&p("att.a"), c, true).await?,
        v: match i {
            0 => None,
            _ => Some(rd.lora(&p("att.v"), c, true).await?),
        },
        g: rd.lora(&p("att.g"), c, false).await?,
        k_k: rd.vec(&p("att.k_k")).await?,
        k_a: rd.vec(&p("att.k_a")).await?,
        r_k: rd.vec(&p("att.r_k")).await?,
        heads: cfg.n_head,
        receptance: rd.mat(&p("att.receptance.weight"), c).await?,
        key: rd.mat(&p("att.key.weight"), c).await?,
        value: rd.mat(&p("att.value.weight"), c).await?,
        output: rd.mat(&p("att.output.weight"), c).await?,
        ln_x: rd.norm(&p("att.ln_x")).await?,
    };
    let ffn = ChannelMix {
        x_k: rd.vec(&p("ffn.x_k")).await?,
        key: rd.mat(&p("ffn.key.weight"), cfg.ffn_dim).await?,
        value: rd.mat(&p("ffn.value.weight"), c).await?,
    };
    Ok(Block {
        ln1: rd.norm(&p("ln1")).await?,
        ln2: rd.norm(&p("ln2")).await?,
        att,
        ffn,
    })
}
