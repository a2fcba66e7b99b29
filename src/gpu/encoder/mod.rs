//! [`GpuAttention`]: the attention models (`crate::attention`, whose reference forward is
//! its oracle: the BERT encoder, the GPT-2 and Llama decoders) in the same wgpu engine as
//! RWKV. Per batch of right-padded sequences:
//!
//! ```text
//! BERT (post-LN)                                   GPT-2 (pre-LN)                 Llama (pre-RMSNorm)
//! x = LN(embed_sum(rows))                          x = embed_sum(rows)            x = rows (a copy)
//! for each layer:                                  for each block:                for each block:
//!                                                    a = LN₁(x)                     a = RMS₁(x)         rms_norm.wgsl
//!   q = b_Q;  q += x W_Qᵀ   (k, v alike)             q = b_Q;  q += a W_Qᵀ          q, k as GPT-2 (b = 0), then
//!                                                                                   q, k = RoPE(q), RoPE(k)   rope.wgsl
//!   o = attention(q, k, v, lengths)                  o = attention(…, causal)       o = attention(…, causal, GQA)
//!   t = x + b_O;  t += o W_Oᵀ;  a = LN(t)            t = x + b_O;  t += o W_Oᵀ;  a = LN₂(t)     (RMS₂ in Llama)
//!   h = b₁;  h += a W₁ᵀ;  h = GELU(h)                h = … GELU_tanh(h)             h = a W_upᵀ, g = a W_gateᵀ,
//!                                                                                   h = SiLU(g) ⊙ h    silu_gate.wgsl
//!   t = a + b₂;  t += h W₂ᵀ;  x = LN(t)              x = t + b₂;  x += h W₂ᵀ        (alike)
//!                                                  layer L read out as LN_f(x)    as RMS_f(x)
//! ```
//! `rows` are the tokens' word-embedding rows, gathered on the host (as the RWKV engine
//! does): the table itself never goes to the device (GPT-2's is 154 MB, above WebGPU's
//! 128 MiB binding limit). The matmul epilogue has no bias, so each product accumulates
//! onto its bias (and residual), written first by `bias_add` (Llama's biases are zeros).
//! Weights are f32. The requested layers are copied out and pooled on the host.

mod record;

use record::{Inputs, Recorder};

use super::context::{Context, GpuBuffer};
use super::kernels::norm::LayerNormOp;
use super::kernels::{Pipelines, Shape};
use super::GpuOptions;
use crate::attention::weights::{Dense, Norm, Stack, TransformerWeights};
use crate::attention::{Family, TransformerConfig};
use crate::embed::check_layers;
#[cfg(feature = "native")]
use crate::embed::{Embeddings, Engine, LayerPooler, Pooling};
use crate::model::Config;
use crate::reference::ops::Matrix;
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
    ffn_gate: Option<GpuDense>,
    ffn_out: GpuDense,
    ffn_norm: LayerNormOp,
}

/// The norm outside the layers: BERT's LayerNorm on the embeddings, GPT-2's `ln_f` or
/// Llama's RMSNorm `norm` on the last layer's output.
#[derive(Clone, Copy)]
enum OuterNorm {
    Embeddings(LayerNormOp),
    Final(LayerNormOp),
}

/// The model's weights on the device: the position table, one buffer per matrix, and
/// every bias and LayerNorm vector packed in `vecs`.
pub struct GpuAttention {
    ctx: Context,
    pipes: Pipelines,
    cfg: TransformerConfig,
    #[cfg_attr(not(feature = "native"), allow(dead_code))] // read by the native Engine impl
    summary: Config,
    /// `E_word` `[V][C]`, kept on the host: each batch uploads only its tokens' rows.
    word: Matrix,
    /// `E_pos` `[P][C]`; one zero row for Llama (RoPE has no table).
    position: GpuBuffer,
    /// Offset of RoPE's `inv_freq` `[d/2]` in `vecs` (Llama).
    rope_off: u32,
    /// BERT's `E_type[0]`; zeros for GPT-2.
    type_row: GpuBuffer,
    vecs: GpuBuffer,
    dummy: GpuBuffer,
    outer_norm: OuterNorm,
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

/// A storage buffer of f32 values, refused above the storage-binding limit; a copy source
/// too (Llama's layer 0 is a copy of the gathered word rows).
fn upload(ctx: &Context, label: &str, values: &[f32]) -> Result<GpuBuffer> {
    let bytes = std::mem::size_of_val(values) as u64;
    if bytes > ctx.max_binding {
        return Err(Error::gpu(format!(
            "`{label}` needs {bytes} bytes, above this device's storage-binding limit {}",
            ctx.max_binding
        )));
    }
    let buf = ctx.buffer(label, bytes, U::STORAGE | U::COPY_DST | U::COPY_SRC)?;
    ctx.queue
        .write_buffer(&buf.buffer, 0, bytemuck::cast_slice(values));
    Ok(buf)
}

impl GpuAttention {
    pub async fn new_async(w: &TransformerWeights, opts: GpuOptions) -> Result<GpuAttention> {
        let cfg = w.config.clone();
        if !cfg.hidden.is_multiple_of(4)
            || !cfg.intermediate.is_multiple_of(4)
            || cfg.head_size() > 128
        {
            return Err(Error::gpu(format!(
                "width {} / FFN {} / head size {} not supported (multiples of 4, head ≤ 128)",
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
        let (outer_norm, type_row) = match &w.stack {
            Stack::PostLn { type_row, emb_norm } => {
                (OuterNorm::Embeddings(p.norm(emb_norm)), type_row.clone())
            }
            Stack::PreLn { final_norm } => {
                (OuterNorm::Final(p.norm(final_norm)), vec![0.0; cfg.hidden])
            }
        };
        let mut layers = Vec::new();
        for lw in &w.layers {
            layers.push(GpuLayer {
                query: p.dense(&lw.query, "query")?,
                key: p.dense(&lw.key, "key")?,
                value: p.dense(&lw.value, "value")?,
                attn_output: p.dense(&lw.attn_output, "attn_output")?,
                attn_norm: p.norm(&lw.attn_norm),
                ffn_in: p.dense(&lw.ffn_in, "ffn_in")?,
                ffn_gate: match &lw.ffn_gate {
                    Some(g) => Some(p.dense(g, "ffn_gate")?),
                    None => None,
                },
                ffn_out: p.dense(&lw.ffn_out, "ffn_out")?,
                ffn_norm: p.norm(&lw.ffn_norm),
            });
        }
        let rope_off = match cfg.family {
            Family::Llama => p.push(&crate::attention::llama::rope_inv_freq(&cfg)),
            _ => 0,
        };
        let vecs = upload(&ctx, "vecs", &p.vecs)?;
        let zero_row = vec![0.0; cfg.hidden];
        let positions = match w.position.rows {
            0 => &zero_row,
            _ => &w.position.data,
        };
        let encoder = GpuAttention {
            word: w.word.clone(),
            position: upload(&ctx, "position_embeddings", positions)?,
            rope_off,
            type_row: upload(&ctx, "token_type_row", &type_row)?,
            dummy: ctx.buffer("dummy", 16, U::STORAGE)?,
            vecs,
            outer_norm,
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
    pub fn new(w: &TransformerWeights, opts: GpuOptions) -> Result<GpuAttention> {
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
        let acts = Activations::new(&self.ctx, &self.cfg, &self.word, tokens, layers.len())?;
        let inputs = Inputs {
            cfg: &self.cfg,
            vecs: &self.vecs,
            rope_off: self.rope_off,
            dummy: &self.dummy,
            acts: &acts,
        };
        let mut rec = Recorder::new(&self.ctx, &mut self.pipes, inputs, shape);
        let tables = [&acts.word_rows, &self.position, &self.type_row];
        let row_bytes = shape.rows() as u64 * self.cfg.hidden as u64 * 4;
        match (self.outer_norm, self.cfg.family) {
            (OuterNorm::Embeddings(norm), _) => {
                rec.embed(tables, &acts.t).await?;
                rec.norm(&norm, &acts.t, &acts.x).await?;
            }
            (OuterNorm::Final(_), Family::Llama) => {
                rec.copy(&acts.word_rows, &acts.x, 0, row_bytes)
            }
            (OuterNorm::Final(_), _) => rec.embed(tables, &acts.x).await?,
        }
        let mut slot = 0;
        for l in 0..=self.cfg.n_layer {
            if l > 0 {
                let lw = &self.layers[l - 1];
                rec.layer(lw).await?;
            }
            if !layers.contains(&l) {
                continue;
            }
            let out = match self.outer_norm {
                OuterNorm::Final(norm) if l == self.cfg.n_layer => {
                    rec.norm(&norm, &acts.x, &acts.a).await?;
                    &acts.a
                }
                _ => &acts.x,
            };
            rec.copy(out, &acts.readback, slot * row_bytes, row_bytes);
            slot += 1;
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
            "{} ({}, f32 weights)",
            super::context::describe(0, &self.ctx.info),
            self.cfg.family.describe()
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

fn check_request(cfg: &TransformerConfig, tokens: &[Vec<u32>], layers: &[usize]) -> Result<()> {
    check_layers(layers, cfg.n_layer)?;
    (tokens.iter().enumerate()).try_for_each(|(s, seq)| cfg.check_sequence(s, seq))
}

/// One batch's buffers, `[B·T][·]`.
struct Activations {
    /// `E_word[id]` of every (padded) position, `[B·T][C]`.
    word_rows: GpuBuffer,
    lengths: GpuBuffer,
    x: GpuBuffer,
    a: GpuBuffer,
    t: GpuBuffer,
    q: GpuBuffer,
    k: GpuBuffer,
    v: GpuBuffer,
    o: GpuBuffer,
    h: GpuBuffer,
    /// SwiGLU's gate `[B·T][F]` (one column when there is no gate).
    g: GpuBuffer,
    readback: GpuBuffer,
}

impl Activations {
    fn new(
        ctx: &Context,
        cfg: &TransformerConfig,
        word: &Matrix,
        tokens: &[Vec<u32>],
        copies: usize,
    ) -> Result<Activations> {
        let t_max = tokens.iter().map(Vec::len).max().unwrap_or(0);
        let rows = (tokens.len() * t_max) as u64;
        // right-padded: pad positions keep zeros (masked later, never pooled)
        let mut word_rows = vec![0.0f32; rows as usize * cfg.hidden];
        let padded = word_rows.chunks_exact_mut(t_max * cfg.hidden);
        for (out, seq) in padded.zip(tokens) {
            let gathered = seq.iter().flat_map(|&id| word.row(id as usize));
            out.iter_mut().zip(gathered).for_each(|(o, v)| *o = *v);
        }
        let lengths: Vec<u32> = tokens.iter().map(|s| s.len() as u32).collect();
        let act = |label: &str, width: usize| {
            let usage = U::STORAGE | U::COPY_SRC | U::COPY_DST;
            ctx.buffer(label, rows * width as u64 * 4, usage)
        };
        let c = cfg.hidden;
        let gate_width = match cfg.activation {
            crate::attention::config::Activation::SwiGlu => cfg.intermediate,
            _ => 1,
        };
        Ok(Activations {
            word_rows: upload(ctx, "word_rows", &word_rows)?,
            lengths: ctx.storage_init("lengths", bytemuck::cast_slice(&lengths))?,
            x: act("x", c)?,
            a: act("a", c)?,
            t: act("t", c)?,
            q: act("q", c)?,
            k: act("k", c)?,
            v: act("v", c)?,
            o: act("o", c)?,
            h: act("h", cfg.intermediate)?,
            g: act("g", gate_width)?,
            readback: ctx.buffer(
                "readback",
                rows * c as u64 * 4 * copies.max(1) as u64,
                U::MAP_READ | U::COPY_DST,
            )?,
        })
    }
}

#[cfg(feature = "native")]
impl Engine for GpuAttention {
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
        let mut pooler = LayerPooler::new(layers, poolings, &lengths, &self.summary)?;
        for (&layer, x) in layers.iter().zip(&hidden) {
            // right-padded [B][T][C] → packed rows
            let packed: Vec<f32> = (lengths.iter().enumerate())
                .flat_map(|(b, &len)| &x[b * t_max * c..(b * t_max + len) * c])
                .copied()
                .collect();
            pooler.add(layer, &packed);
        }
        pooler.finish(&format!("GPU {}", self.cfg.family.describe()))
    }
    fn kind(&self) -> crate::embed::EngineKind {
        crate::embed::EngineKind::Gpu
    }
    fn peak_memory_bytes(&self) -> u64 {
        self.ctx.memory.peak()
    }
}
