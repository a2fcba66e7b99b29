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

pub(super) struct Recorder<'a> {
    ctx: &'a Context,
    pipes: &'a mut Pipelines,
    dummy: &'a GpuBuffer,
    shape: Shape,
    encoder: wgpu::CommandEncoder,
    /// Uniform buffers, kept alive until submission.
    uniforms: Vec<GpuBuffer>,
    /// Offset of RoPE's `inv_freq` in `vecs` (Llama).
    pub rope_off: u32,
}

/// Rows on the y (and z above 65535) axes of a grid whose x covers `width` columns.
fn grid(width: u32, rows: u32) -> [u32; 3] {
    [ceil_div(width, 64), rows.min(65535), ceil_div(rows, 65535)]
}

impl<'a> Recorder<'a> {
    pub fn new(
        ctx: &'a Context,
        pipes: &'a mut Pipelines,
        dummy: &'a GpuBuffer,
        shape: Shape,
    ) -> Self {
        let encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("encoder forward"),
            });
        Recorder {
            ctx,
            pipes,
            dummy,
            shape,
            encoder,
            uniforms: Vec::new(),
            rope_off: 0,
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
    pub async fn embed(
        &mut self,
        dim: usize,
        tables: [&GpuBuffer; 3],
        y: &GpuBuffer,
    ) -> Result<()> {
        let s = self.shape;
        let params = [s.rows(), s.tokens, dim as u32];
        let [word_rows, position, token_type] = tables;
        let bufs = [(1, word_rows), (2, position), (3, token_type), (4, y)];
        self.dispatch(Kernel::EmbedSum, &params, &bufs, grid(dim as u32, s.rows()))
            .await
    }

    /// The family's norm: LayerNorm, or RMSNorm in Llama (same parameters, `bias_off` unused).
    pub async fn norm(
        &mut self,
        op: &LayerNormOp,
        cfg: &TransformerConfig,
        x: &GpuBuffer,
        vecs: &GpuBuffer,
        y: &GpuBuffer,
    ) -> Result<()> {
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
    async fn rope(
        &mut self,
        cfg: &TransformerConfig,
        x: &GpuBuffer,
        width: usize,
        vecs: &GpuBuffer,
    ) -> Result<()> {
        let s = self.shape;
        let half = cfg.head_size() as u32 / 2;
        let params = [s.rows(), s.tokens, width as u32, half, self.rope_off];
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
        vecs: &GpuBuffer,
        y: &GpuBuffer,
    ) -> Result<()> {
        let rows = self.shape.rows();
        let params = [rows, d.rows, d.bias, base.is_some() as u32];
        let bufs = [(1, base.unwrap_or(self.dummy)), (2, vecs), (3, y)];
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
        let bufs = [(1, x), (2, &d.weight), (3, y), (4, self.dummy)];
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
    async fn attention(&mut self, cfg: &TransformerConfig, acts: &Activations) -> Result<()> {
        let s = self.shape;
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

    /// `y = GELU(y)` in place, in the form `act` names.
    async fn gelu(&mut self, y: &GpuBuffer, count: u32, act: Activation) -> Result<()> {
        let groups = ceil_div(count, 64);
        let gx = groups.min(65535);
        let tanh_form = (act == Activation::GeluTanh) as u32;
        self.dispatch(
            Kernel::Gelu,
            &[count, gx, tanh_form],
            &[(1, y)],
            [gx, ceil_div(groups, gx), 1],
        )
        .await
    }

    /// One layer of either family on `acts.x` (in place).
    pub async fn layer(
        &mut self,
        lw: &GpuLayer,
        cfg: &TransformerConfig,
        vecs: &GpuBuffer,
        acts: &Activations,
    ) -> Result<()> {
        match cfg.family {
            Family::Bert => self.encoder_layer(lw, cfg, vecs, acts).await,
            Family::Gpt2 | Family::Llama => self.decoder_layer(lw, cfg, vecs, acts).await,
        }
    }

    /// `h = GELU(a W₁ᵀ + b₁)` or `SiLU(a W_gateᵀ) ⊙ a W_upᵀ`: the feed-forward's first
    /// half, from `acts.a` into `acts.h`.
    async fn ffn_hidden(
        &mut self,
        lw: &GpuLayer,
        cfg: &TransformerConfig,
        vecs: &GpuBuffer,
        acts: &Activations,
    ) -> Result<()> {
        self.dense(&acts.a, &lw.ffn_in, None, vecs, &acts.h).await?;
        let count = self.shape.rows() * cfg.intermediate as u32;
        match &lw.ffn_gate {
            Some(gate) => {
                self.dense(&acts.a, gate, None, vecs, &acts.g).await?;
                self.silu_gate(&acts.g, &acts.h, count).await
            }
            None => self.gelu(&acts.h, count, cfg.activation).await,
        }
    }

    /// BERT (post-LN): `a = LN(x + MHA(x))`, `x = LN(a + FFN(a))`.
    async fn encoder_layer(
        &mut self,
        lw: &GpuLayer,
        cfg: &TransformerConfig,
        vecs: &GpuBuffer,
        acts: &Activations,
    ) -> Result<()> {
        self.qkv(&acts.x, lw, vecs, acts).await?;
        self.attention(cfg, acts).await?;
        self.dense(&acts.o, &lw.attn_output, Some(&acts.x), vecs, &acts.t)
            .await?;
        self.norm(&lw.attn_norm, cfg, &acts.t, vecs, &acts.a)
            .await?;
        self.ffn_hidden(lw, cfg, vecs, acts).await?;
        self.dense(&acts.h, &lw.ffn_out, Some(&acts.a), vecs, &acts.t)
            .await?;
        self.norm(&lw.ffn_norm, cfg, &acts.t, vecs, &acts.x).await
    }

    /// GPT-2 (pre-LN) and Llama (pre-RMSNorm, RoPE on q and k): `t = x + MHA(N₁(x))`,
    /// `x = t + FFN(N₂(t))`.
    async fn decoder_layer(
        &mut self,
        lw: &GpuLayer,
        cfg: &TransformerConfig,
        vecs: &GpuBuffer,
        acts: &Activations,
    ) -> Result<()> {
        self.norm(&lw.attn_norm, cfg, &acts.x, vecs, &acts.a)
            .await?;
        self.qkv(&acts.a, lw, vecs, acts).await?;
        if cfg.family == Family::Llama {
            self.rope(cfg, &acts.q, cfg.hidden, vecs).await?;
            self.rope(cfg, &acts.k, cfg.kv_width(), vecs).await?;
        }
        self.attention(cfg, acts).await?;
        self.dense(&acts.o, &lw.attn_output, Some(&acts.x), vecs, &acts.t)
            .await?;
        self.norm(&lw.ffn_norm, cfg, &acts.t, vecs, &acts.a).await?;
        self.ffn_hidden(lw, cfg, vecs, acts).await?;
        self.dense(&acts.h, &lw.ffn_out, Some(&acts.t), vecs, &acts.x)
            .await
    }

    /// `q, k, v = x W_{Q,K,V}ᵀ + b` into `acts.q`, `acts.k`, `acts.v`.
    async fn qkv(
        &mut self,
        x: &GpuBuffer,
        lw: &GpuLayer,
        vecs: &GpuBuffer,
        acts: &Activations,
    ) -> Result<()> {
        self.dense(x, &lw.query, None, vecs, &acts.q).await?;
        self.dense(x, &lw.key, None, vecs, &acts.k).await?;
        self.dense(x, &lw.value, None, vecs, &acts.v).await
    }

    pub fn copy(&mut self, from: &GpuBuffer, to: &GpuBuffer, offset: u64, size: u64) {
        self.encoder
            .copy_buffer_to_buffer(&from.buffer, 0, &to.buffer, offset, size);
    }

    pub fn submit(self) {
        self.ctx.queue.submit([self.encoder.finish()]);
    }
}
