//! Records the attention models' dispatches into one command buffer: one uniform per dispatch,
//! bind groups made on the fly (the encoder favours plainness over RWKV's cached plan).

use super::{Activations, GpuDense, GpuLayer};
use crate::attention::config::Activation;
use crate::attention::{Family, TransformerConfig};
use crate::gpu::context::{Context, GpuBuffer};
use crate::gpu::kernels::matmul::{Act, MatmulOp, Mode};
use crate::gpu::kernels::norm::LayerNormOp;
use crate::gpu::kernels::{ceil_div, Kernel, Pipelines, Shape};
use crate::Result;

type U = wgpu::BufferUsages;

/// What one forward reads besides the layers' weights, fixed for the whole recording.
#[derive(Clone, Copy)]
pub(super) struct Inputs<'a> {
    pub cfg: &'a TransformerConfig,
    /// Every bias and norm vector, packed.
    pub vecs: &'a GpuBuffer,
    /// Offset of RoPE's `inv_freq` in `vecs` (Llama).
    pub rope_off: u32,
    /// Bound where a kernel's optional input is absent.
    pub dummy: &'a GpuBuffer,
    pub acts: &'a Activations,
}

pub(super) struct Recorder<'a> {
    ctx: &'a Context,
    pipes: &'a mut Pipelines,
    on: Inputs<'a>,
    shape: Shape,
    encoder: wgpu::CommandEncoder,
    /// Uniform buffers, kept alive until submission.
    uniforms: Vec<GpuBuffer>,
}

/// Rows on the y (and z above 65535) axes of a grid whose x covers `width` columns.
fn grid(width: u32, rows: u32) -> [u32; 3] {
    [ceil_div(width, 64), rows.min(65535), ceil_div(rows, 65535)]
}

impl<'a> Recorder<'a> {
    pub fn new(ctx: &'a Context, pipes: &'a mut Pipelines, on: Inputs<'a>, shape: Shape) -> Self {
        let encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("encoder forward"),
            });
        Recorder {
            ctx,
            pipes,
            on,
            shape,
            encoder,
            uniforms: Vec::new(),
        }
    }

    async fn dispatch(
        &mut self,
        kernel: Kernel,
        params: &[u32],
        bufs: &[(u32, &GpuBuffer)],
        groups: [u32; 3],
    ) -> Result<()> {
        let pipeline = self.pipes.get(self.ctx, kernel).await?;
        let mut words = params.to_vec();
        words.resize(params.len().next_multiple_of(4), 0); // uniform structs round to 16 bytes
        let uniform = self.ctx.buffer(
            kernel.name(),
            words.len() as u64 * 4,
            U::UNIFORM | U::COPY_DST,
        )?;
        self.ctx
            .queue
            .write_buffer(&uniform.buffer, 0, bytemuck::cast_slice(&words));
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: uniform.buffer.as_entire_binding(),
        }];
        entries.extend(bufs.iter().map(|(i, b)| wgpu::BindGroupEntry {
            binding: *i,
            resource: b.buffer.as_entire_binding(),
        }));
        let bind = self
            .ctx
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(kernel.name()),
                layout: &pipeline.get_bind_group_layout(0),
                entries: &entries,
            });
        let mut pass = self
            .encoder
            .begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(kernel.name()),
                timestamp_writes: None,
            });
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        drop(pass);
        self.uniforms.push(uniform);
        Ok(())
    }

    /// `y = E_word[id] + E_pos[t] + E_type[0]`; `tables` = the gathered word rows,
    /// position, token-type row.
    pub async fn embed(&mut self, tables: [&GpuBuffer; 3], y: &GpuBuffer) -> Result<()> {
        let (s, dim) = (self.shape, self.on.cfg.hidden);
        let params = [s.rows(), s.tokens, dim as u32];
        let [word_rows, position, token_type] = tables;
        let bufs = [(1, word_rows), (2, position), (3, token_type), (4, y)];
        self.dispatch(Kernel::EmbedSum, &params, &bufs, grid(dim as u32, s.rows()))
            .await
    }

    /// The family's norm: LayerNorm, or RMSNorm in Llama (same parameters, `bias_off` unused).
    pub async fn norm(&mut self, op: &LayerNormOp, x: &GpuBuffer, y: &GpuBuffer) -> Result<()> {
        let Inputs { cfg, vecs, .. } = self.on;
        let params = op.params_with_eps(self.shape, cfg.layer_norm_eps);
        let groups = op.workgroups(self.shape);
        let subgroups = self.ctx.subgroups;
        let kernel = match cfg.family.rms_norm() {
            true => Kernel::RmsNorm { subgroups },
            false => Kernel::LayerNorm { subgroups },
        };
        self.dispatch(kernel, &params, &[(1, x), (2, vecs), (3, y)], groups)
            .await
    }

    /// RoPE in place on `x` `[B·T][width]` (`width / d` heads).
    async fn rope(&mut self, x: &GpuBuffer, width: usize) -> Result<()> {
        let (s, Inputs { cfg, vecs, .. }) = (self.shape, self.on);
        let half = cfg.head_size() as u32 / 2;
        let params = [s.rows(), s.tokens, width as u32, half, self.on.rope_off];
        let groups = grid(width as u32 / 2, s.rows());
        self.dispatch(Kernel::Rope, &params, &[(1, x), (2, vecs)], groups)
            .await
    }

    /// `h = SiLU(g) ⊙ h` in place over `count` elements.
    async fn silu_gate(&mut self, g: &GpuBuffer, h: &GpuBuffer, count: u32) -> Result<()> {
        let groups = ceil_div(count, 64);
        let gx = groups.min(65535);
        let bufs = [(1, g), (2, h)];
        self.dispatch(
            Kernel::SiluGate,
            &[count, gx],
            &bufs,
            [gx, ceil_div(groups, gx), 1],
        )
        .await
    }

    /// `y = (residual ? base : 0) + b;  y += x Wᵀ`.
    async fn dense(
        &mut self,
        x: &GpuBuffer,
        d: &GpuDense,
        base: Option<&GpuBuffer>,
        y: &GpuBuffer,
    ) -> Result<()> {
        let (rows, Inputs { vecs, dummy, .. }) = (self.shape.rows(), self.on);
        let params = [rows, d.rows, d.bias, base.is_some() as u32];
        let bufs = [(1, base.unwrap_or(dummy)), (2, vecs), (3, y)];
        self.dispatch(Kernel::BiasAdd, &params, &bufs, grid(d.rows, rows))
            .await?;
        let op = MatmulOp {
            n: d.rows,
            k: d.cols,
            n_offset: 0,
            y_stride: d.rows,
            act: Act::None,
            mode: Mode::Add,
            tiled: false,
        };
        let kernel = Kernel::Matmul {
            weights: crate::gpu::Precision::F32,
            tiled: false,
        };
        let bufs = [(1, x), (2, &d.weight), (3, y), (4, dummy)];
        self.dispatch(
            kernel,
            &op.params(self.shape),
            &bufs,
            op.workgroups(self.shape),
        )
        .await
    }

    /// `o = softmax(q kᵀ / √d + M) v` per head, M the padding mask from `lengths` (and
    /// the causal mask for a decoder); query head h reads key/value head h / (H / H_kv).
    async fn attention(&mut self) -> Result<()> {
        let (s, Inputs { cfg, acts, .. }) = (self.shape, self.on);
        let d = cfg.head_size();
        let scale = 1.0 / (d as f32).sqrt();
        let params = [
            s.batch,
            s.tokens,
            cfg.hidden as u32,
            cfg.n_head as u32,
            scale.to_bits(),
            cfg.family.causal() as u32,
            cfg.kv_width() as u32,
            (cfg.n_head / cfg.n_kv_head) as u32,
        ];
        let bufs = [
            (1, &acts.q),
            (2, &acts.k),
            (3, &acts.v),
            (4, &acts.lengths),
            (5, &acts.o),
        ];
        let threads = s.rows() * cfg.n_head as u32;
        let kernel = Kernel::Attention {
            head_size: d as u32,
        };
        self.dispatch(kernel, &params, &bufs, [ceil_div(threads, 64), 1, 1])
            .await
    }

    /// `y = GELU(y)` in place, in the form the config's activation names.
    async fn gelu(&mut self, y: &GpuBuffer, count: u32) -> Result<()> {
        let groups = ceil_div(count, 64);
        let gx = groups.min(65535);
        let tanh_form = (self.on.cfg.activation == Activation::GeluTanh) as u32;
        self.dispatch(
            Kernel::Gelu,
            &[count, gx, tanh_form],
            &[(1, y)],
            [gx, ceil_div(groups, gx), 1],
        )
        .await
    }

    /// One layer of either family on `acts.x` (in place).
    pub async fn layer(&mut self, lw: &GpuLayer) -> Result<()> {
        match self.on.cfg.family {
            Family::Bert => self.encoder_layer(lw).await,
            Family::Gpt2 | Family::Llama => self.decoder_layer(lw).await,
        }
    }

    /// `h = GELU(a W₁ᵀ + b₁)` or `SiLU(a W_gateᵀ) ⊙ a W_upᵀ`: the feed-forward's first
    /// half, from `acts.a` into `acts.h`.
    async fn ffn_hidden(&mut self, lw: &GpuLayer) -> Result<()> {
        let a = self.on.acts;
        self.dense(&a.a, &lw.ffn_in, None, &a.h).await?;
        let count = self.shape.rows() * self.on.cfg.intermediate as u32;
        match &lw.ffn_gate {
            Some(gate) => {
                self.dense(&a.a, gate, None, &a.g).await?;
                self.silu_gate(&a.g, &a.h, count).await
            }
            None => self.gelu(&a.h, count).await,
        }
    }

    /// BERT (post-LN): `a = LN(x + MHA(x))`, `x = LN(a + FFN(a))`.
    async fn encoder_layer(&mut self, lw: &GpuLayer) -> Result<()> {
        let a = self.on.acts;
        self.qkv(&a.x, lw).await?;
        self.attention().await?;
        self.dense(&a.o, &lw.attn_output, Some(&a.x), &a.t).await?;
        self.norm(&lw.attn_norm, &a.t, &a.a).await?;
        self.ffn_hidden(lw).await?;
        self.dense(&a.h, &lw.ffn_out, Some(&a.a), &a.t).await?;
        self.norm(&lw.ffn_norm, &a.t, &a.x).await
    }

    /// GPT-2 (pre-LN) and Llama (pre-RMSNorm, RoPE on q and k): `t = x + MHA(N₁(x))`,
    /// `x = t + FFN(N₂(t))`.
    async fn decoder_layer(&mut self, lw: &GpuLayer) -> Result<()> {
        let (a, cfg) = (self.on.acts, self.on.cfg);
        self.norm(&lw.attn_norm, &a.x, &a.a).await?;
        self.qkv(&a.a, lw).await?;
        if cfg.family == Family::Llama {
            self.rope(&a.q, cfg.hidden).await?;
            self.rope(&a.k, cfg.kv_width()).await?;
        }
        self.attention().await?;
        self.dense(&a.o, &lw.attn_output, Some(&a.x), &a.t).await?;
        self.norm(&lw.ffn_norm, &a.t, &a.a).await?;
        self.ffn_hidden(lw).await?;
        self.dense(&a.h, &lw.ffn_out, Some(&a.t), &a.x).await
    }

    /// `q, k, v = x W_{Q,K,V}ᵀ + b` into `acts.q`, `acts.k`, `acts.v`.
    async fn qkv(&mut self, x: &GpuBuffer, lw: &GpuLayer) -> Result<()> {
        let a = self.on.acts;
        self.dense(x, &lw.query, None, &a.q).await?;
        self.dense(x, &lw.key, None, &a.k).await?;
        self.dense(x, &lw.value, None, &a.v).await
    }

    pub fn copy(&mut self, from: &GpuBuffer, to: &GpuBuffer, offset: u64, size: u64) {
        self.encoder
            .copy_buffer_to_buffer(&from.buffer, 0, &to.buffer, offset, size);
    }

    pub fn submit(self) {
        self.ctx.queue.submit([self.encoder.finish()]);
    }
}
