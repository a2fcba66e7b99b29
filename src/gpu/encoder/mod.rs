//! [`GpuEncoder`]: the BERT-family encoder (`crate::attention`, whose reference forward is
//! its oracle) in the same wgpu engine as RWKV. Per batch of right-padded sequences:
//!
//! ```text
//! x = LN(embed_sum(ids))                                          embed_sum.wgsl, layer_norm.wgsl
//! for each layer:
//!   q = b_Q;  q += x W_Qᵀ   (k, v alike)                          bias_add.wgsl, matmul.wgsl (Add)
//!   o = attention(q, k, v, lengths)                               attention.wgsl (padding mask)
//!   t = x + b_O;  t += o W_Oᵀ;  a = LN(t)
//!   h = b₁;  h += a W₁ᵀ;  h = GELU(h)                             gelu.wgsl
//!   t = a + b₂;  t += h W₂ᵀ;  x = LN(t)                           → layer i
//! ```
//! The matmul epilogue has no bias, so each product accumulates onto its bias (and
//! residual), written first by `bias_add`. Weights are f32. The requested layers are
//! copied out and pooled on the host.

mod record;

use record::Recorder;

use super::context::{Context, GpuBuffer};
use super::kernels::norm::LayerNormOp;
use super::kernels::{Pipelines, Shape};
use super::GpuOptions;
use crate::attention::weights::{BertWeights, Dense, Norm};
use crate::attention::BertConfig;
use crate::embed::{Embeddings, Engine, LayerPooler, Pooling};
use crate::model::Config;
use crate::{Error, Result};

type U = wgpu::BufferUsages;

/// A weight matrix `[rows][cols]` on the device and its bias's offset in `vecs`.
struct GpuDense {
    weight: GpuBuffer,
    rows: u32,
    cols: u32,
    bias: u32,
}

struct GpuLayer {
    query: GpuDense,
    key: GpuDense,
    value: GpuDense,
    attn_output: GpuDense,
    attn_norm: LayerNormOp,
    ffn_in: GpuDense,
    ffn_out: GpuDense,
    out_norm: LayerNormOp,
}

/// The encoder's weights on the device: embedding tables, one buffer per matrix, and
/// every bias and LayerNorm vector packed in `vecs`.
pub struct GpuEncoder {
    ctx: Context,
    pipes: Pipelines,
    cfg: BertConfig,
    summary: Config,
    word: GpuBuffer,
    position: GpuBuffer,
    token_type: GpuBuffer,
    vecs: GpuBuffer,
    dummy: GpuBuffer,
    emb_norm: LayerNormOp,
    layers: Vec<GpuLayer>,
}

/// Collects the vectors of `vecs`, handing out offsets.
struct Packer<'a> {
    ctx: &'a Context,
    vecs: Vec<f32>,
}

impl Packer<'_> {
    fn push(&mut self, v: &[f32]) -> u32 {
        self.vecs.extend_from_slice(v);
        (self.vecs.len() - v.len()) as u32
    }
    fn norm(&mut self, n: &Norm) -> LayerNormOp {
        LayerNormOp {
            dim: n.weight.len() as u32,
            weight_off: self.push(&n.weight),
            bias_off: self.push(&n.bias),
        }
    }
    fn dense(&mut self, d: &Dense, label: &str) -> Result<GpuDense> {
        Ok(GpuDense {
            weight: upload(self.ctx, label, &d.weight.data)?,
            rows: d.weight.rows as u32,
            cols: d.weight.cols as u32,
            bias: self.push(&d.bias),
        })
    }
}

/// A storage buffer of f32 values, refused above the storage-binding limit.
fn upload(ctx: &Context, label: &str, values: &[f32]) -> Result<GpuBuffer> {
    let bytes = std::mem::size_of_val(values) as u64;
    if bytes > ctx.max_binding {
        return Err(Error::gpu(format!(
            "`{label}` needs {bytes} bytes, above this device's storage-binding limit {}",
            ctx.max_binding
        )));
    }
    ctx.storage_init(label, bytemuck::cast_slice(values))
}

impl GpuEncoder {
    pub async fn new_async(w: &BertWeights, opts: GpuOptions) -> Result<GpuEncoder> {
        let cfg = w.config.clone();
        if !cfg.hidden.is_multiple_of(4)
            || !cfg.intermediate.is_multiple_of(4)
            || cfg.head_size() > 128
        {
            return Err(Error::gpu(format!(
                "encoder width {} / FFN {} / head size {} not supported (multiples of 4, head ≤ 128)",
                cfg.hidden,
                cfg.intermediate,
                cfg.head_size()
            )));
        }
        let ctx = Context::new(&opts).await?;
        let mut p = Packer {
            ctx: &ctx,
            vecs: Vec::new(),
        };
        let emb_norm = p.norm(&w.emb_norm);
        let mut layers = Vec::new();
        for lw in &w.layers {
            layers.push(GpuLayer {
                query: p.dense(&lw.query, "query")?,
                key: p.dense(&lw.key, "key")?,
                value: p.dense(&lw.value, "value")?,
                attn_output: p.dense(&lw.attn_output, "attn_output")?,
                attn_norm: p.norm(&lw.attn_norm),
                ffn_in: p.dense(&lw.ffn_in, "ffn_in")?,
                ffn_out: p.dense(&lw.ffn_out, "ffn_out")?,
                out_norm: p.norm(&lw.out_norm),
            });
        }
        let vecs = upload(&ctx, "vecs", &p.vecs)?;
        let encoder = GpuEncoder {
            word: upload(&ctx, "word_embeddings", &w.word.data)?,
            position: upload(&ctx, "position_embeddings", &w.position.data)?,
            token_type: upload(&ctx, "token_type_embeddings", w.token_type.row(0))?,
            dummy: ctx.buffer("dummy", 16, U::STORAGE)?,
            vecs,
            emb_norm,
            layers,
            summary: cfg.summary(),
            cfg,
            pipes: Pipelines::default(),
            ctx,
        };
        encoder.ctx.flush()?;
        Ok(encoder)
    }

    #[cfg(feature = "native")]
    pub fn new(w: &BertWeights, opts: GpuOptions) -> Result<GpuEncoder> {
        pollster::block_on(Self::new_async(w, opts))
    }

    /// Hidden states `[B·T][C]` (right-padded to the longest sequence) of each of `layers`.
    pub async fn forward_async(
        &mut self,
        tokens: &[Vec<u32>],
        layers: &[usize],
    ) -> Result<Vec<Vec<f32>>> {
        let (b, t) = (tokens.len(), tokens.iter().map(Vec::len).max().unwrap_or(0));
        check_request(&self.cfg, tokens, layers)?;
        if b == 0 || layers.is_empty() {
            return Ok(vec![Vec::new(); layers.len()]);
        }
        let shape = Shape {
            batch: b as u32,
            tokens: t as u32,
        };
        let acts = Activations::new(&self.ctx, &self.cfg, tokens, layers.len())?;
        let mut rec = Recorder::new(&self.ctx, &mut self.pipes, &self.dummy, shape);
        rec.embed(
            self.cfg.hidden,
            [&acts.ids, &self.word, &self.position, &self.token_type],
            &acts.t,
        )
        .await?;
        rec.layer_norm(
            &self.emb_norm,
            self.cfg.layer_norm_eps,
            &acts.t,
            &self.vecs,
            &acts.x,
        )
        .await?;
        let row_bytes = shape.rows() as u64 * self.cfg.hidden as u64 * 4;
        let mut slot = 0;
        for l in 0..=self.cfg.n_layer {
            if l > 0 {
                let lw = &self.layers[l - 1];
                rec.encoder_layer(lw, &self.cfg, &self.vecs, &acts).await?;
            }
            if layers.contains(&l) {
                rec.copy(&acts.x, &acts.readback, slot * row_bytes, row_bytes);
                slot += 1;
            }
        }
        rec.submit();
        let bytes = self
            .ctx
            .read(&acts.readback.buffer, slot * row_bytes)
            .await?;
        let values: Vec<f32> = bytemuck::pod_collect_to_vec(&bytes);
        let by_depth: Vec<&[f32]> = values.chunks_exact(row_bytes as usize / 4).collect();
        Ok(in_request_order(&by_depth, layers))
    }

    pub fn report(&self) -> String {
        format!(
            "{} (encoder, f32 weights)",
            super::context::describe(0, &self.ctx.info)
        )
    }
}

/// The copies were made in depth order; hands them back in the order `layers` asked.
fn in_request_order(by_depth: &[&[f32]], layers: &[usize]) -> Vec<Vec<f32>> {
    let mut depth = layers.to_vec();
    depth.sort_unstable();
    depth.dedup();
    let index = |l| depth.binary_search(l).unwrap_or(0);
    layers.iter().map(|l| by_depth[index(l)].to_vec()).collect()
}

fn check_request(cfg: &BertConfig, tokens: &[Vec<u32>], layers: &[usize]) -> Result<()> {
    if let Some(l) = layers.iter().find(|&&l| l > cfg.n_layer) {
        return Err(Error::input(format!(
            "layer {l} is out of range: this model has layers 0..={}",
            cfg.n_layer
        )));
    }
    (tokens.iter().enumerate()).try_for_each(|(s, seq)| check_tokens(cfg, s, seq))
}

fn check_tokens(cfg: &BertConfig, s: usize, seq: &[u32]) -> Result<()> {
    if seq.is_empty()
        || seq.len() > cfg.max_positions
        || seq.iter().any(|&i| i as usize >= cfg.vocab_size)
    {
        return Err(Error::input(format!(
            "sequence {s}: expected 1..={} tokens with ids below {}",
            cfg.max_positions, cfg.vocab_size
        )));
    }
    Ok(())
}

/// One batch's buffers, `[B·T][·]`.
struct Activations {
    ids: GpuBuffer,
    lengths: GpuBuffer,
    x: GpuBuffer,
    a: GpuBuffer,
    t: GpuBuffer,
    q: GpuBuffer,
    k: GpuBuffer,
    v: GpuBuffer,
    o: GpuBuffer,
    h: GpuBuffer,
    readback: GpuBuffer,
}

impl Activations {
    fn new(
        ctx: &Context,
        cfg: &BertConfig,
        tokens: &[Vec<u32>],
        copies: usize,
    ) -> Result<Activations> {
        let t_max = tokens.iter().map(Vec::len).max().unwrap_or(0);
        let rows = (tokens.len() * t_max) as u64;
        let mut ids = vec![0u32; rows as usize];
        for (b, seq) in tokens.iter().enumerate() {
            ids[b * t_max..b * t_max + seq.len()].copy_from_slice(seq);
        }
        let lengths: Vec<u32> = tokens.iter().map(|s| s.len() as u32).collect();
        let act = |label: &str, width: usize| {
            ctx.buffer(label, rows * width as u64 * 4, U::STORAGE | U::COPY_SRC)
        };
        let c = cfg.hidden;
        Ok(Activations {
            ids: ctx.storage_init("ids", bytemuck::cast_slice(&ids))?,
            lengths: ctx.storage_init("lengths", bytemuck::cast_slice(&lengths))?,
            x: act("x", c)?,
            a: act("a", c)?,
            t: act("t", c)?,
            q: act("q", c)?,
            k: act("k", c)?,
            v: act("v", c)?,
            o: act("o", c)?,
            h: act("h", cfg.intermediate)?,
            readback: ctx.buffer(
                "readback",
                rows * c as u64 * 4 * copies.max(1) as u64,
                U::MAP_READ | U::COPY_DST,
            )?,
        })
    }
}

#[cfg(feature = "native")]
impl Engine for GpuEncoder {
    fn name(&self) -> String {
        self.ctx.info.name.clone()
    }
    fn config(&self) -> &Config {
        &self.summary
    }
    fn embed_tokens(
        &mut self,
        tokens: &[Vec<u32>],
        layers: &[usize],
        poolings: &[Pooling],
    ) -> Result<Embeddings> {
        let hidden = pollster::block_on(self.forward_async(tokens, layers))?;
        let lengths: Vec<usize> = tokens.iter().map(Vec::len).collect();
        let (c, t_max) = (self.cfg.hidden, lengths.iter().copied().max().unwrap_or(0));
        let mut pooler = LayerPooler::new(layers, poolings, &lengths, c);
        for (&layer, x) in layers.iter().zip(&hidden) {
            // right-padded [B][T][C] → packed rows
            let packed: Vec<f32> = (lengths.iter().enumerate())
                .flat_map(|(b, &len)| &x[b * t_max * c..(b * t_max + len) * c])
                .copied()
                .collect();
            pooler.add(layer, &packed);
        }
        pooler.finish("GPU encoder")
    }
    fn kind(&self) -> crate::embed::EngineKind {
        crate::embed::EngineKind::Gpu
    }
    fn peak_memory_bytes(&self) -> u64 {
        self.ctx.memory.peak()
    }
}
