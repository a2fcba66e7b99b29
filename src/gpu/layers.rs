//! Builds the forward pass, block by block, as a list of [`Step`]s. This is where the
//! RWKV-6 equations are sequenced; each step's maths is in its shader's header.
//!
//! ```text
//! x  = LN0(emb[tokens])                                   → pool(layer 0)
//! for each block l:
//!   xx = LN1(x);  a = xx + d·maa_x;  lora = tanh(a @ maa_w1)           (d = xx[t−1] − xx[t])
//!   k,v,r,g = (xx + d·(maa_s + lora_s @ maa_w2_s)) @ W_sᵀ   (g: SiLU)
//!   logw = −exp(time_decay + tanh(xw @ decay_w1) @ decay_w2)
//!   a = WKV(r, k, v, logw, u);  r = GroupNorm(a)·g;  x += r @ Woᵀ
//!   xx = LN2(x);  a = xx + d·maa_k;  k = xx + d·maa_r
//!   v = σ(k @ Wrᵀ);  ffn = relu(a @ Wkᵀ)²;  x += v ⊙ (ffn @ Wvᵀ)          → pool(layer l+1)
//! ```

use super::context::{Context, GpuBuffer};
use super::kernels::matmul::{Act, MatmulOp, Mode};
use super::kernels::mix::{DdlerpOp, DecayOp, Target, TokenShiftOp};
use super::kernels::norm::{GroupNormOp, LayerNormOp};
use super::kernels::pool::PoolOp;
use super::kernels::wkv::{Phase, WkvOp};
use super::kernels::{Kernel, Op, Pipelines};
use super::plan::{Activations, Dispatch, Step, SLOT};
use super::weights::{GpuWeights, LayerVec, Matrix};
use super::WkvKind;
use crate::model::Config;
use crate::Result;

/// Collects steps and creates their bind groups.
pub struct Builder<'a> {
    pub ctx: &'a Context,
    pub pipes: &'a mut Pipelines,
    pub bufs: &'a Activations,
    pub weights: &'a GpuWeights,
    pub cfg: &'a Config,
    pub tiled: bool,
    pub wkv: WkvKind,
    /// The adapter is a GPU (not a CPU implementation such as lavapipe).
    pub gpu: bool,
    pub steps: Vec<Step>,
    slots: u32,
}

type Binding<'b> = (u32, wgpu::BindingResource<'b>);

/// Where a matmul's activated sums go: `y = v`, `y += v` or `y += gate ⊙ v`.
enum Dest<'b> {
    Store(&'b GpuBuffer),
    Add(&'b GpuBuffer),
    GatedAdd {
        y: &'b GpuBuffer,
        gate: &'b GpuBuffer,
    },
}

fn whole(b: &GpuBuffer) -> wgpu::BindingResource<'_> {
    Activations::whole(b)
}

impl<'a> Builder<'a> {
    pub fn new(
        ctx: &'a Context,
        pipes: &'a mut Pipelines,
        bufs: &'a Activations,
        weights: &'a GpuWeights,
        cfg: &'a Config,
    ) -> Self {
        Builder {
            ctx,
            pipes,
            bufs,
            weights,
            cfg,
            tiled: false,
            wkv: WkvKind::Serial,
            gpu: false,
            steps: Vec::new(),
            slots: 0,
        }
    }

    /// Adds one dispatch: its pipeline, its parameter slot and its bind group.
    async fn dispatch(
        &mut self,
        op: Op,
        kernel: Kernel,
        label: &'static str,
        bindings: Vec<Binding<'_>>,
    ) -> Result<()> {
        let pipeline = self.pipes.get(self.ctx, kernel).await?;
        let slot = self.slots;
        self.slots += 1;
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: Activations::range(&self.bufs.params, slot as u64 * SLOT, SLOT),
        }];
        entries.extend(
            bindings
                .into_iter()
                .map(|(binding, resource)| wgpu::BindGroupEntry { binding, resource }),
        );
        let bind_group = self
            .ctx
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(label),
                layout: &pipeline.get_bind_group_layout(0),
                entries: &entries,
            });
        let d = Dispatch {
            op,
            kernel,
            label,
            pipeline,
            bind_group,
            slot,
        };
        self.steps.push(Step::Dispatch(Box::new(d)));
        Ok(())
    }

    /// WKV forms the pass may use: (serial, chunked).
    pub fn wkv_forms(kind: WkvKind, gpu: bool) -> (bool, bool) {
        match kind {
            WkvKind::Serial => (true, false),
            WkvKind::Chunked(_) => (false, true),
            WkvKind::Auto => (true, gpu),
        }
    }

    /// Number of dispatches (= parameter slots) of the whole pass: ln0 and pool(0), then per
    /// block 13 fixed dispatches, the WKV ones (1 serial, 3 chunked) and one per row block
    /// of each of its 10 matrices.
    pub fn count_dispatches(weights: &GpuWeights, kind: WkvKind, gpu: bool) -> usize {
        let (serial, chunked) = Self::wkv_forms(kind, gpu);
        let wkv = serial as usize + 3 * chunked as usize;
        let per_layer = weights.layers.iter().map(|lw| {
            let matrices = [
                &lw.maa_w1,
                &lw.att_key,
                &lw.att_value,
                &lw.att_receptance,
                &lw.att_gate,
                &lw.decay_w1,
                &lw.att_output,
                &lw.ffn_receptance,
                &lw.ffn_key,
                &lw.ffn_value,
            ];
            13 + wkv + matrices.iter().map(|m| m.blocks.len()).sum::<usize>()
        });
        2 + per_layer.sum::<usize>()
    }

    pub fn slots_used(&self) -> usize {
        self.slots as usize
    }

    async fn layer_norm(
        &mut self,
        src: &GpuBuffer,
        dst: &GpuBuffer,
        weight_off: u32,
        bias_off: u32,
        label: &'static str,
    ) -> Result<()> {
        let op = LayerNormOp {
            dim: self.cfg.n_embd as u32,
            weight_off,
            bias_off,
        };
        let b = vec![
            (1, whole(src)),
            (2, whole(&self.weights.vecs)),
            (3, whole(dst)),
        ];
        self.dispatch(Op::LayerNorm(op), Kernel::LayerNorm, label, b)
            .await
    }

    /// `y (op)= act(x @ Wᵀ)`, one dispatch per row block of W.
    async fn matmul(
        &mut self,
        x: &GpuBuffer,
        w: &Matrix,
        act: Act,
        dest: Dest<'_>,
        label: &'static str,
    ) -> Result<()> {
        let (y, mode, aux) = match dest {
            Dest::Store(y) => (y, Mode::Store, None),
            Dest::Add(y) => (y, Mode::Add, None),
            Dest::GatedAdd { y, gate } => (y, Mode::GatedAdd, Some(gate)),
        };
        let kernel = Kernel::Matmul {
            weights: w.format,
            tiled: self.tiled,
        };
        for block in &w.blocks {
            let op = MatmulOp {
                n: block.rows as u32,
                k: w.cols as u32,
                n_offset: block.row_start as u32,
                y_stride: w.rows as u32,
                act,
                mode,
                tiled: self.tiled,
            };
            let aux = aux.unwrap_or(&self.bufs.dummy);
            let b = vec![
                (1, whole(x)),
                (2, whole(&block.buffer)),
                (3, whole(y)),
                (4, whole(aux)),
            ];
            self.dispatch(Op::Matmul(op), kernel, label, b).await?;
        }
        Ok(())
    }

    fn shift_state(&self, layer: usize, ffn: bool) -> wgpu::BindingResource<'a> {
        let buf = if ffn {
            &self.bufs.shift_ffn
        } else {
            &self.bufs.shift_att
        };
        let stride = self.bufs.shift_stride;
        Activations::range(buf, layer as u64 * stride, self.cfg.n_embd as u64 * 4)
    }

    async fn token_shift(
        &mut self,
        layer: usize,
        ffn: bool,
        mu: LayerVec,
        out: &GpuBuffer,
        label: &'static str,
    ) -> Result<()> {
        let op = TokenShiftOp {
            dim: self.cfg.n_embd as u32,
            mu_off: self.weights.layout.layer(layer, mu),
        };
        let state = self.shift_state(layer, ffn);
        let b = vec![
            (1, whole(&self.bufs.xx)),
            (2, state),
            (3, whole(&self.weights.vecs)),
            (4, whole(out)),
            (7, whole(&self.bufs.run)),
        ];
        self.dispatch(Op::TokenShift(op), Kernel::TokenShift, label, b)
            .await
    }

    async fn ddlerp(&mut self, layer: usize, target: Target, maa: LayerVec) -> Result<()> {
        let op = DdlerpOp {
            dim: self.cfg.n_embd as u32,
            rank: self.cfg.mix_lora as u32,
            target,
            maa_off: self.weights.layout.layer(layer, maa),
        };
        let w2 = &self.weights.layers[layer].maa_w2;
        let b = vec![
            (1, whole(&self.bufs.xx)),
            (2, self.shift_state(layer, false)),
            (3, whole(&self.weights.vecs)),
            (4, whole(&self.bufs.lora)),
            (5, whole(w2)),
            (6, whole(&self.bufs.a)),
            (7, whole(&self.bufs.run)),
        ];
        self.dispatch(Op::Ddlerp(op), Kernel::Ddlerp, "att.ddlerp", b)
            .await
    }

    async fn decay(&mut self, layer: usize) -> Result<()> {
        let op = DecayOp {
            dim: self.cfg.n_embd as u32,
            rank: self.cfg.decay_lora as u32,
            decay_off: self.weights.layout.layer(layer, LayerVec::TimeDecay),
        };
        let w2 = &self.weights.layers[layer].decay_w2;
        let b = vec![
            (1, whole(&self.bufs.lora)),
            (2, whole(w2)),
            (3, whole(&self.weights.vecs)),
            (4, whole(&self.bufs.w)),
        ];
        self.dispatch(Op::Decay(op), Kernel::Decay, "att.decay", b)
            .await
    }

    /// The WKV dispatches: the serial kernel and/or the three chunked phases (each pass
    /// runs one form, chosen from its shape by [`WkvOp::chunked`]).
    async fn wkv(&mut self, layer: usize) -> Result<()> {
        let (serial, chunked) = Self::wkv_forms(self.wkv, self.gpu);
        let mut phases = Vec::new();
        if serial {
            phases.push((Phase::Serial, "att.wkv"));
        }
        if chunked {
            phases.push((Phase::ChunkStates, "att.wkv_chunk_states"));
            phases.push((Phase::Scan, "att.wkv_scan"));
            phases.push((Phase::ChunkOutputs, "att.wkv_chunk_outputs"));
        }
        for (phase, label) in phases {
            self.wkv_phase(layer, phase, label).await?;
        }
        Ok(())
    }

    async fn wkv_phase(&mut self, layer: usize, phase: Phase, label: &'static str) -> Result<()> {
        let op = WkvOp {
            dim: self.cfg.n_embd as u32,
            heads: self.cfg.n_head as u32,
            u_off: self.weights.layout.layer(layer, LayerVec::TimeFaaaa),
            phase,
            kind: self.wkv,
            gpu: self.gpu,
        };
        let state_bytes = (self.cfg.n_embd * self.cfg.head_size * 4) as u64;
        let (bufs, vecs) = (self.bufs, &self.weights.vecs);
        let state = || {
            Activations::range(
                &bufs.wkv_state,
                layer as u64 * bufs.state_stride,
                state_bytes,
            )
        };
        let b: Vec<Binding<'_>> = match phase {
            Phase::Serial => vec![
                (1, whole(&bufs.r)),
                (2, whole(&bufs.k)),
                (3, whole(&bufs.v)),
                (4, whole(&bufs.w)),
                (5, whole(vecs)),
                (6, whole(&bufs.a)),
                (7, whole(&bufs.run)),
                (8, state()),
            ],
            Phase::ChunkStates => vec![
                (2, whole(&bufs.k)),
                (3, whole(&bufs.v)),
                (4, whole(&bufs.w)),
                (7, whole(&bufs.run)),
                (9, whole(&bufs.chunk_state)),
                (10, whole(&bufs.chunk_decay)),
            ],
            Phase::Scan => vec![
                (7, whole(&bufs.run)),
                (8, state()),
                (9, whole(&bufs.chunk_state)),
                (10, whole(&bufs.chunk_decay)),
            ],
            Phase::ChunkOutputs => vec![
                (1, whole(&bufs.r)),
                (2, whole(&bufs.k)),
                (3, whole(&bufs.v)),
                (4, whole(&bufs.w)),
                (5, whole(vecs)),
                (6, whole(&bufs.a)),
                (7, whole(&bufs.run)),
                (9, whole(&bufs.chunk_state)),
            ],
        };
        let kernel = Kernel::Wkv {
            head_size: self.cfg.head_size as u32,
            phase,
        };
        self.dispatch(Op::Wkv(op), kernel, label, b).await
    }

    async fn group_norm(&mut self, layer: usize) -> Result<()> {
        let op = GroupNormOp {
            dim: self.cfg.n_embd as u32,
            heads: self.cfg.n_head as u32,
            weight_off: self.weights.layout.layer(layer, LayerVec::LnxWeight),
            bias_off: self.weights.layout.layer(layer, LayerVec::LnxBias),
        };
        let bufs = self.bufs;
        let b = vec![
            (1, whole(&bufs.a)),
            (2, whole(&bufs.g)),
            (3, whole(&self.weights.vecs)),
            (4, whole(&bufs.r)),
        ];
        self.dispatch(Op::GroupNorm(op), Kernel::GroupNorm, "att.group_norm", b)
            .await
    }

    async fn pool(&mut self, layer: usize) -> Result<()> {
        let op = PoolOp {
            dim: self.cfg.n_embd as u32,
            layer: layer as u32,
            layers: self.cfg.n_layer as u32 + 1,
        };
        let b = vec![
            (1, whole(&self.bufs.x)),
            (2, whole(&self.bufs.pooled)),
            (7, whole(&self.bufs.run)),
        ];
        self.dispatch(Op::Pool(op), Kernel::Pool, "pool", b).await?;
        self.steps.push(Step::Capture { layer });
        Ok(())
    }

    /// `x = LN0(emb rows)` (the rows are uploaded into `xx`), pooled as layer 0.
    pub async fn embedding(&mut self) -> Result<()> {
        let (w, b) = (
            self.weights.layout.ln0_weight(),
            self.weights.layout.ln0_bias(),
        );
        let bufs = self.bufs;
        self.layer_norm(&bufs.xx, &bufs.x, w, b, "ln0").await?;
        self.pool(0).await
    }

    /// Time-mix of block `l`: x += TimeMix(LN1(x)). First half: LN1, token shift, the
    /// mix LoRA and the k, v, r, g projections.
    pub async fn time_mix(&mut self, l: usize) -> Result<()> {
        let (bufs, lw, vl) = (self.bufs, &self.weights.layers[l], self.weights.layout);
        self.layer_norm(
            &bufs.x,
            &bufs.xx,
            vl.layer(l, LayerVec::Ln1Weight),
            vl.layer(l, LayerVec::Ln1Bias),
            "ln1",
        )
        .await?;
        self.token_shift(l, false, LayerVec::MaaX, &bufs.a, "att.token_shift")
            .await?;
        self.matmul(
            &bufs.a,
            &lw.maa_w1,
            Act::Tanh,
            Dest::Store(&bufs.lora),
            "att.maa_lora",
        )
        .await?;
        let projections = [
            (Target::K, LayerVec::MaaK, &lw.att_key, &bufs.k, Act::None),
            (Target::V, LayerVec::MaaV, &lw.att_value, &bufs.v, Act::None),
            (
                Target::R,
                LayerVec::MaaR,
                &lw.att_receptance,
                &bufs.r,
                Act::None,
            ),
            (Target::G, LayerVec::MaaG, &lw.att_gate, &bufs.g, Act::Silu),
        ];
        for (target, maa, w, out, act) in projections {
            self.ddlerp(l, target, maa).await?;
            self.matmul(&bufs.a, w, act, Dest::Store(out), "att.rkvg (C→C)")
                .await?;
        }
        self.time_mix_recurrence(l).await
    }

    /// Second half of the time-mix: decay, WKV, GroupNorm·gate and output projection.
    async fn time_mix_recurrence(&mut self, l: usize) -> Result<()> {
        let (bufs, lw) = (self.bufs, &self.weights.layers[l]);
        self.ddlerp(l, Target::W, LayerVec::MaaW).await?;
        self.matmul(
            &bufs.a,
            &lw.decay_w1,
            Act::Tanh,
            Dest::Store(&bufs.lora),
            "att.decay_lora",
        )
        .await?;
        self.decay(l).await?;
        self.steps.push(Step::SaveShift {
            layer: l,
            ffn: false,
        });
        self.wkv(l).await?;
        self.group_norm(l).await?;
        self.matmul(
            &bufs.r,
            &lw.att_output,
            Act::None,
            Dest::Add(&bufs.x),
            "att.output (C→C)",
        )
        .await
    }

    /// Channel-mix of block `l`: x += ChannelMix(LN2(x)); then pool layer l+1.
    pub async fn channel_mix(&mut self, l: usize) -> Result<()> {
        let (bufs, lw, vl) = (self.bufs, &self.weights.layers[l], self.weights.layout);
        self.layer_norm(
            &bufs.x,
            &bufs.xx,
            vl.layer(l, LayerVec::Ln2Weight),
            vl.layer(l, LayerVec::Ln2Bias),
            "ln2",
        )
        .await?;
        self.token_shift(l, true, LayerVec::FfnMaaK, &bufs.a, "ffn.token_shift")
            .await?;
        self.token_shift(l, true, LayerVec::FfnMaaR, &bufs.k, "ffn.token_shift")
            .await?;
        self.steps.push(Step::SaveShift {
            layer: l,
            ffn: true,
        });
        self.matmul(
            &bufs.k,
            &lw.ffn_receptance,
            Act::Sigmoid,
            Dest::Store(&bufs.v),
            "ffn.receptance (C→C)",
        )
        .await?;
        self.matmul(
            &bufs.a,
            &lw.ffn_key,
            Act::ReluSquared,
            Dest::Store(&bufs.ffn),
            "ffn.key (C→F)",
        )
        .await?;
        self.matmul(
            &bufs.ffn,
            &lw.ffn_value,
            Act::None,
            Dest::GatedAdd {
                y: &bufs.x,
                gate: &bufs.v,
            },
            "ffn.value (F→C)",
        )
        .await?;
        self.pool(l + 1).await
    }
}
