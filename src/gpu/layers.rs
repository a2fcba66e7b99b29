//! Builds the forward pass, block by block, as a list of [`Step`]s. This is where the
//! RWKV-6 equations are sequenced, in the reference's notation (reference/time_mix.rs,
//! reference/channel_mix.rs); each step's maths is in its shader's header:
//!
//! ```text
//! x = LN0(emb[tokens])                                              → pool(layer 0)
//! for each block i = 1..L:
//!   TimeMix
//!     xx = LN1(x);  d = shift(xx) − xx                   layer_norm, token_shift: x_x = xx + d·μx
//!     m  = tanh((xx + d·μx) @ W1) @ W2                    matmul (tanh) → lora; @ W2 in ddlerp
//!     x∗ = xx + d·(μ∗ + m∗)   for ∗ ∈ {w, k, v, r, g}     ddlerp
//!     r, k, v = x_r Wrᵀ, x_k Wkᵀ, x_v Wvᵀ;  g = SiLU(x_g Wgᵀ)   matmul
//!     log w = −exp(time_decay + tanh(x_w @ D1) @ D2)      matmul (tanh) → lora, decay
//!     o = WKV(r, k, v, w, u)                              wkv or wkv_chunked (3 phases)
//!     x ← x + (GroupNorm_H(o) · g) Woᵀ                    group_norm, matmul (add)
//!   ChannelMix
//!     xx = LN2(x);  d = shift(xx) − xx                   layer_norm
//!     x_k = xx + d·μk;   x_r = xx + d·μr                  token_shift (both in one dispatch)
//!     x ← x + σ(x_r Wrᵀ) ⊙ (ReLU(x_k Wkᵀ)² Wvᵀ)           matmul (sigmoid, relu², gated add)
//!                                                                   → pool(layer i)
//! ```
//!
//! The pass is recorded twice through the same code: first only counting dispatches
//! (which sizes the parameter buffer), then for real (`record_pass` in engine.rs).

use super::context::{Context, GpuBuffer};
use super::kernels::bindings::{self as bind, PARAMS};
use super::kernels::matmul::{Act, MatmulOp, Mode};
use super::kernels::mix::{DdlerpOp, DecayOp, Target, TokenShiftOp};
use super::kernels::norm::{GroupNormOp, LayerNormOp};
use super::kernels::pool::PoolOp;
use super::kernels::wkv::{Phase, WkvOp};
use super::kernels::{Kernel, Op, Pipelines};
use super::plan::{Activations, Dispatch, PassForm, Step, SLOT};
use super::weights::{GpuWeights, LayerVec, Matrix};
use crate::model::Config;
use crate::Result;

/// Collects steps and creates their bind groups.
pub struct Builder<'a> {
    pub ctx: &'a Context,
    pub pipes: &'a mut Pipelines,
    pub bufs: &'a Activations,
    pub weights: &'a GpuWeights,
    pub cfg: &'a Config,
    /// The kernels chosen for this engine.
    pub form: PassForm,
    pub steps: Vec<Step>,
    /// Serial WKV time windows per pass (see `kernels/wkv.rs`).
    pub windows: usize,
    /// The parameter buffer; `None` while counting dispatches (then nothing is created).
    params: Option<&'a GpuBuffer>,
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
    /// The RWKV-6 LoRA ranks `(R, D)`; [`crate::gpu::GpuEngine::new_async`] refuses every
    /// other family before a pass is built, so the default is never read.
    fn ranks(&self) -> (usize, usize) {
        self.cfg.rwkv6_ranks().unwrap_or_default()
    }

    pub fn new(
        ctx: &'a Context,
        pipes: &'a mut Pipelines,
        bufs: &'a Activations,
        weights: &'a GpuWeights,
        cfg: &'a Config,
        form: PassForm,
        params: Option<&'a GpuBuffer>,
    ) -> Self {
        Builder {
            ctx,
            pipes,
            bufs,
            weights,
            cfg,
            form,
            steps: Vec::new(),
            windows: 1,
            params,
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
        let slot = self.slots;
        self.slots += 1;
        let Some(params) = self.params else {
            return Ok(()); // counting
        };
        let pipeline = self.pipes.get(self.ctx, kernel).await?;
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: PARAMS,
            resource: Activations::range(params, slot as u64 * SLOT, SLOT),
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
            (bind::layer_norm::X, whole(src)),
            (bind::layer_norm::VECS, whole(&self.weights.vecs)),
            (bind::layer_norm::Y, whole(dst)),
        ];
        let kernel = Kernel::LayerNorm {
            subgroups: self.ctx.subgroups,
        };
        self.dispatch(Op::LayerNorm(op), kernel, label, b).await
    }

    /// `xx = LN(x)` with block `l`'s `(weight, bias)`: LN1 before the time-mix, LN2 before
    /// the channel-mix.
    async fn block_norm(
        &mut self,
        l: usize,
        (weight, bias): (LayerVec, LayerVec),
        label: &'static str,
    ) -> Result<()> {
        let (bufs, vl) = (self.bufs, self.weights.layout);
        let (w, b) = (vl.layer(l, weight), vl.layer(l, bias));
        self.layer_norm(&bufs.x, &bufs.xx, w, b, label).await
    }

    /// `lora = tanh(mix @ w1)`: the first half of a LoRA (the five mixes' or the decay's),
    /// from the token-shifted `mix`.
    async fn lora_down(&mut self, w1: &Matrix, label: &'static str) -> Result<()> {
        let bufs = self.bufs;
        let lora = Dest::Store(&bufs.lora);
        self.matmul(&bufs.mix, w1, Act::Tanh, lora, label).await
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
            tiled: self.form.tiled,
        };
        for block in &w.blocks {
            let op = MatmulOp {
                n: block.rows as u32,
                k: w.cols as u32,
                n_offset: block.row_start as u32,
                y_stride: w.rows as u32,
                act,
                mode,
                tiled: self.form.tiled,
            };
            let aux = aux.unwrap_or(&self.bufs.dummy);
            let b = vec![
                (bind::matmul::X, whole(x)),
                (bind::matmul::W, whole(&block.buffer)),
                (bind::matmul::Y, whole(y)),
                (bind::matmul::AUX, whole(aux)),
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

    /// `out = xx + d·μ` and, when `second` is given, `out2 = xx + d·μ2` in the same dispatch.
    async fn token_shift(
        &mut self,
        layer: usize,
        ffn: bool,
        (mu, out): (LayerVec, &GpuBuffer),
        second: Option<(LayerVec, &GpuBuffer)>,
        label: &'static str,
    ) -> Result<()> {
        let layout = self.weights.layout;
        let op = TokenShiftOp {
            dim: self.cfg.n_embd as u32,
            mu_off: layout.layer(layer, mu),
            mu2_off: second.map(|(mu2, _)| layout.layer(layer, mu2)),
        };
        let state = self.shift_state(layer, ffn);
        let out2 = second.map_or(&self.bufs.dummy, |(_, out2)| out2);
        let b = vec![
            (bind::token_shift::XX, whole(&self.bufs.xx)),
            (bind::token_shift::SHIFT_STATE, state),
            (bind::token_shift::VECS, whole(&self.weights.vecs)),
            (bind::token_shift::OUT, whole(out)),
            (bind::token_shift::OUT2, whole(out2)),
            (bind::RUN, whole(&self.bufs.run)),
        ];
        self.dispatch(Op::TokenShift(op), Kernel::TokenShift, label, b)
            .await
    }

    async fn ddlerp(&mut self, layer: usize, target: Target, maa: LayerVec) -> Result<()> {
        let op = DdlerpOp {
            dim: self.cfg.n_embd as u32,
            rank: self.ranks().0 as u32,
            target,
            maa_off: self.weights.layout.layer(layer, maa),
        };
        let w2 = &self.weights.layers[layer].maa_w2;
        let b = vec![
            (bind::ddlerp::XX, whole(&self.bufs.xx)),
            (bind::ddlerp::SHIFT_STATE, self.shift_state(layer, false)),
            (bind::ddlerp::VECS, whole(&self.weights.vecs)),
            (bind::ddlerp::LORA, whole(&self.bufs.lora)),
            (bind::ddlerp::W2, whole(w2)),
            (bind::ddlerp::OUT, whole(&self.bufs.mix)),
            (bind::RUN, whole(&self.bufs.run)),
        ];
        self.dispatch(Op::Ddlerp(op), Kernel::Ddlerp, "att.ddlerp", b)
            .await
    }

    async fn decay(&mut self, layer: usize) -> Result<()> {
        let op = DecayOp {
            dim: self.cfg.n_embd as u32,
            rank: self.ranks().1 as u32,
            decay_off: self.weights.layout.layer(layer, LayerVec::TimeDecay),
        };
        let w2 = &self.weights.layers[layer].decay_w2;
        let b = vec![
            (bind::decay::LORA, whole(&self.bufs.lora)),
            (bind::decay::W2, whole(w2)),
            (bind::decay::VECS, whole(&self.weights.vecs)),
            (bind::decay::LOGW, whole(&self.bufs.logw)),
        ];
        self.dispatch(Op::Decay(op), Kernel::Decay, "att.decay", b)
            .await
    }

    /// The WKV dispatches: the serial kernel and/or the three chunked phases (each pass
    /// runs one form, chosen from its shape by [`WkvOp::chunked`]).
    async fn wkv(&mut self, layer: usize) -> Result<()> {
        let mut phases = Vec::new();
        if self.form.wkv.serial() {
            let windows = (0..self.windows as u32).map(|w| (Phase::Serial, w, "att.wkv"));
            phases.extend(windows);
        }
        if self.form.wkv.chunk().is_some() {
            phases.push((Phase::ChunkStates, 0, "att.wkv_chunk_states"));
            phases.push((Phase::Scan, 0, "att.wkv_scan"));
            phases.push((Phase::ChunkOutputs, 0, "att.wkv_chunk_outputs"));
        }
        for (phase, window, label) in phases {
            self.wkv_phase(layer, phase, window, label).await?;
        }
        Ok(())
    }

    async fn wkv_phase(
        &mut self,
        layer: usize,
        phase: Phase,
        window: u32,
        label: &'static str,
    ) -> Result<()> {
        let op = WkvOp {
            dim: self.cfg.n_embd as u32,
            heads: self.cfg.n_head as u32,
            u_off: self.weights.layout.layer(layer, LayerVec::TimeFaaaa),
            phase,
            wkv: self.form.wkv,
            window,
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
        use bind::wkv::*;
        // the token step's inputs and output (wkv_step.wgsl): the serial kernel and chunk_outputs
        let token_step = || -> Vec<Binding<'_>> {
            vec![
                (R, whole(&bufs.r)),
                (K, whole(&bufs.k)),
                (V, whole(&bufs.v)),
                (LOGW, whole(&bufs.logw)),
                (VECS, whole(vecs)),
                (OUT, whole(bufs.wkv_out())),
                (bind::RUN, whole(&bufs.run)),
            ]
        };
        let b: Vec<Binding<'_>> = match phase {
            Phase::Serial => {
                let mut b = token_step();
                b.extend([(STATE, state()), (WINDOW_STATE, whole(&bufs.window_state))]);
                b
            }
            Phase::ChunkStates => vec![
                (K, whole(&bufs.k)),
                (V, whole(&bufs.v)),
                (LOGW, whole(&bufs.logw)),
                (bind::RUN, whole(&bufs.run)),
                (CHUNK_STATE, whole(&bufs.chunk_state)),
                (CHUNK_DECAY, whole(&bufs.chunk_decay)),
            ],
            Phase::Scan => vec![
                (bind::RUN, whole(&bufs.run)),
                (STATE, state()),
                (CHUNK_STATE, whole(&bufs.chunk_state)),
                (CHUNK_DECAY, whole(&bufs.chunk_decay)),
            ],
            Phase::ChunkOutputs => {
                let mut b = token_step();
                b.push((CHUNK_STATE, whole(&bufs.chunk_state)));
                b
            }
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
            (bind::group_norm::X, whole(bufs.wkv_out())),
            (bind::group_norm::G, whole(&bufs.g)),
            (bind::group_norm::VECS, whole(&self.weights.vecs)),
            (bind::group_norm::Y, whole(bufs.att_out())),
        ];
        let kernel = Kernel::GroupNorm {
            subgroups: self.ctx.subgroups,
        };
        self.dispatch(Op::GroupNorm(op), kernel, "att.group_norm", b)
            .await
    }

    async fn pool(&mut self, layer: usize) -> Result<()> {
        let op = PoolOp {
            dim: self.cfg.n_embd as u32,
            layer: layer as u32,
            layers: self.cfg.n_layer as u32 + 1,
        };
        let b = vec![
            (bind::pool::X, whole(&self.bufs.x)),
            (bind::pool::POOLED, whole(&self.bufs.pooled)),
            (bind::RUN, whole(&self.bufs.run)),
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
        let (bufs, lw) = (self.bufs, &self.weights.layers[l]);
        let ln1 = (LayerVec::Ln1Weight, LayerVec::Ln1Bias);
        self.block_norm(l, ln1, "ln1").await?;
        let x_mix = (LayerVec::MaaX, &bufs.mix);
        self.token_shift(l, false, x_mix, None, "att.token_shift")
            .await?;
        self.lora_down(&lw.maa_w1, "att.maa_lora").await?;
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
            self.ddlerp(l, target, maa).await?; // x∗ → mix
            self.matmul(&bufs.mix, w, act, Dest::Store(out), "att.rkvg (C→C)")
                .await?;
        }
        self.time_mix_recurrence(l).await
    }

    /// Second half of the time-mix: decay, WKV, GroupNorm·gate and output projection.
    async fn time_mix_recurrence(&mut self, l: usize) -> Result<()> {
        let (bufs, lw) = (self.bufs, &self.weights.layers[l]);
        self.ddlerp(l, Target::W, LayerVec::MaaW).await?; // x_w → mix
        self.lora_down(&lw.decay_w1, "att.decay_lora").await?;
        self.decay(l).await?;
        self.steps.push(Step::SaveShift {
            layer: l,
            ffn: false,
        });
        self.wkv(l).await?;
        self.group_norm(l).await?;
        self.matmul(
            bufs.att_out(),
            &lw.att_output,
            Act::None,
            Dest::Add(&bufs.x),
            "att.output (C→C)",
        )
        .await
    }

    /// Channel-mix of block `l`: x += ChannelMix(LN2(x)); then pool layer l+1.
    pub async fn channel_mix(&mut self, l: usize) -> Result<()> {
        let (bufs, lw) = (self.bufs, &self.weights.layers[l]);
        let ln2 = (LayerVec::Ln2Weight, LayerVec::Ln2Bias);
        self.block_norm(l, ln2, "ln2").await?;
        let (x_k, x_r, gate) = (&bufs.mix, bufs.ffn_x_r(), bufs.ffn_gate());
        let (k_mix, r_mix) = ((LayerVec::FfnMaaK, x_k), (LayerVec::FfnMaaR, x_r));
        self.token_shift(l, true, k_mix, Some(r_mix), "ffn.token_shift")
            .await?;
        self.steps.push(Step::SaveShift {
            layer: l,
            ffn: true,
        });
        self.matmul(
            x_r,
            &lw.ffn_receptance,
            Act::Sigmoid,
            Dest::Store(gate),
            "ffn.receptance (C→C)",
        )
        .await?;
        self.matmul(
            x_k,
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
            Dest::GatedAdd { y: &bufs.x, gate },
            "ffn.value (F→C)",
        )
        .await?;
        self.pool(l + 1).await
    }
}
