//! The GPU engine's API: build from a checkpoint, embed batches of token sequences
//! (pooled per layer on the device), or return every layer's per-token hidden states.
//!
//! The core is `async` (it must not block in the browser); native code uses
//! [`GpuEngine::new`], [`GpuEngine::forward_hidden`] and the [`Engine`] trait, which wrap
//! the async versions with `pollster`.

use super::batch::{gather, make_groups, validate, Group};
use super::context::{Context, GpuBuffer};
use super::kernels::{Pipelines, Shape};
use super::layers::Builder;
use super::plan::{
    serial_windows, Activations, Capacity, ChunkInfo, Dispatch, PassForm, Plan, Step, SLOT,
};
use super::profile::{Profile, Timer};
use super::weights::GpuWeights;
use super::{GpuOptions, WkvKind};
use crate::embed::{Embeddings, Pooling};
use crate::model::{Config, Tensor, TensorSource};
use crate::{Error, Result};

/// Most sequences per pass by default (bounds the pooled-output buffers).
pub const DEFAULT_MAX_SEQUENCES: usize = 64;

/// Per-token hidden states of every layer, as the CPU reference returns them.
#[derive(Debug, Clone, PartialEq)]
pub struct Hidden {
    /// `[n_layer+1]` entries, each `[B][T][C]` (T = longest sequence; padding rows are 0).
    pub hidden: Vec<Vec<f32>>,
    pub lengths: Vec<usize>,
    /// T.
    pub tokens: usize,
    pub dim: usize,
}

/// One layer's recurrent state as carried between passes (see
/// [`GpuEngine::carried_state`]).
#[derive(Debug, Clone)]
pub struct CarriedState {
    /// LN1 output of the previous token, `[C]`.
    pub att_shift: Vec<f32>,
    /// WKV state `[H][N][N]`, [key][value].
    pub wkv: Vec<f32>,
    /// LN2 output of the previous token, `[C]`.
    pub ffn_shift: Vec<f32>,
}

/// RWKV-6 on a wgpu device.
pub struct GpuEngine {
    ctx: Context,
    config: Config,
    /// Kept alive for the bind groups (and for memory accounting).
    _weights: GpuWeights,
    plan: Plan,
    emb: Tensor,
    opts: GpuOptions,
    tiled: bool,
    last_profile: Option<Profile>,
}

/// What one pass over a group returns.
struct GroupOutput {
    /// Requested poolings, each `[L+1][B][C]`.
    pooled: Vec<Vec<f32>>,
    /// Per chunk `[L+1][B·T][C]` when capturing.
    captured: Vec<Vec<f32>>,
}

impl GpuEngine {
    /// Opens the device, uploads the weights and builds the cached pass.
    /// `ck`: a [`Checkpoint`](crate::model::Checkpoint), or any [`TensorSource`] (the page streams tensors from a
    /// `Blob`): each tensor is read, converted, uploaded and dropped in turn.
    pub async fn new_async(ck: &impl TensorSource, opts: GpuOptions) -> Result<GpuEngine> {
        let config = ck.config().clone();
        let why = "the GPU engine runs RWKV-6 only for now (RWKV-7 runs on the CPU: --device cpu)";
        config.require_rwkv6(ck.source(), why)?;
        if config.head_size == 0 || config.head_size > 256 {
            return Err(Error::gpu(format!(
                "{}: head size {} is not supported (1..=256)",
                ck.source(),
                config.head_size
            )));
        }
        let ctx = Context::new(&opts).await?;
        let weights = GpuWeights::upload(&ctx, ck, opts.precision).await?;
        let form = PassForm::new(&opts, &ctx);
        let cap = Capacity::new(&ctx, &config, opts.max_batch_tokens, DEFAULT_MAX_SEQUENCES)?;
        let mut pipes = Pipelines::default();
        let plan = build_plan(&ctx, &mut pipes, &weights, &config, cap, form).await?;
        ctx.flush()?;
        let emb = ck.tensor("emb.weight").await?.into_owned();
        Ok(GpuEngine {
            ctx,
            config,
            _weights: weights,
            plan,
            emb,
            opts,
            tiled: form.tiled,
            last_profile: None,
        })
    }

    /// Blocking constructor for native code.
    #[cfg(feature = "native")]
    pub fn new(ck: &crate::model::Checkpoint, opts: GpuOptions) -> Result<GpuEngine> {
        pollster::block_on(Self::new_async(ck, opts))
    }

    /// What was chosen: adapter, backend, device type, kernels and limits.
    pub fn report(&self) -> String {
        let i = &self.ctx.info;
        format!(
            "adapter `{}` ({:?}, {:?}, driver {} {}); weights {}; {}; pass ≤ {} tokens / {} sequences; storage binding ≤ {} MiB; timestamps {}",
            i.name,
            i.backend,
            i.device_type,
            i.driver,
            i.driver_info,
            self.opts.precision,
            self.kernels(),
            self.plan.cap.tokens,
            self.plan.cap.batch,
            self.ctx.max_binding >> 20,
            if self.ctx.timestamps { "on" } else { "off" },
        )
    }

    /// The kernels chosen: matmul, WKV form, the norms' reduction (e.g. `matmul tiled,
    /// WKV chunked (L=16), norms' sums workgroup tree`).
    pub fn kernels(&self) -> String {
        let wkv = match self.opts.wkv {
            WkvKind::Auto => "auto".to_string(),
            WkvKind::Serial => "serial".to_string(),
            WkvKind::Chunked(l) => format!("chunked (L={l})"),
        };
        format!(
            "matmul {}, WKV {wkv}, norms' sums {}",
            if self.tiled {
                "tiled"
            } else {
                "register-blocked"
            },
            if self.ctx.subgroups {
                "subgroup"
            } else {
                "workgroup tree"
            },
        )
    }

    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.ctx.info
    }

    /// Per-kernel times of the last call, when built with `profile: true` and the
    /// adapter has timestamp queries.
    pub fn last_profile(&self) -> Option<&Profile> {
        self.last_profile.as_ref()
    }

    /// Turns per-kernel timing on or off for the next calls (needs timestamp queries,
    /// which are only requested when the engine was built with `profile: true`).
    pub fn set_profile(&mut self, on: bool) {
        self.opts.profile = on;
    }

    /// Bytes of device memory allocated by the engine: now, and at most so far.
    pub fn memory_bytes(&self) -> (u64, u64) {
        (self.ctx.memory.current(), self.ctx.memory.peak())
    }

    /// Number of kernel dispatches in one pass.
    pub fn dispatches_per_pass(&self) -> usize {
        self.plan.dispatches().count()
    }

    /// Dispatches that actually run for a pass of `batch` sequences padded to `tokens`
    /// (serial WKV windows past the end and the unused WKV form are skipped).
    pub fn dispatches_run(&self, batch: usize, tokens: usize) -> usize {
        let s = Shape {
            batch: batch as u32,
            tokens: tokens as u32,
        };
        let live = |d: &&Dispatch| d.op.workgroups(s).iter().all(|&n| n > 0);
        self.plan.dispatches().filter(live).count()
    }

    /// Per-layer pooled embeddings of a batch (any lengths; split into passes as needed).
    pub async fn embed_tokens_async(
        &mut self,
        tokens: &[Vec<u32>],
        layers: &[usize],
        poolings: &[Pooling],
    ) -> Result<Embeddings> {
        validate(tokens, self.config.vocab_size)?;
        crate::embed::check_layers(layers, self.config.n_layer)?;
        if poolings.is_empty() || layers.is_empty() {
            return Err(Error::input(
                "embed: ask for at least one layer and one pooling",
            ));
        }
        let lengths: Vec<usize> = tokens.iter().map(Vec::len).collect();
        let mut out = Embeddings::zeros(layers, poolings, tokens.len(), self.config.n_embd);
        self.last_profile = None;
        for group in make_groups(&lengths, self.plan.cap) {
            let res = self.run_group(tokens, &group, poolings, false).await?;
            self.scatter_pooled(&group, &res.pooled, layers, &mut out);
        }
        Ok(out)
    }

    /// Every layer's per-token hidden states (teaching and tests).
    pub async fn forward_hidden_async(&mut self, tokens: &[Vec<u32>]) -> Result<Hidden> {
        validate(tokens, self.config.vocab_size)?;
        let lengths: Vec<usize> = tokens.iter().map(Vec::len).collect();
        let t_max = lengths.iter().copied().max().unwrap_or(0);
        let (c, n_out) = (self.config.n_embd, self.config.n_layer + 1);
        let mut hidden = vec![vec![0.0f32; tokens.len() * t_max * c]; n_out];
        self.last_profile = None;
        for group in make_groups(&lengths, self.plan.cap) {
            let res = self
                .run_group(tokens, &group, &[Pooling::Mean], true)
                .await?;
            let rows = group.members.len() * group.tokens;
            for (chunk, data) in res.captured.iter().enumerate() {
                let t0 = chunk * group.tokens;
                for (b, &seq) in group.members.iter().enumerate() {
                    let real = lengths[seq].saturating_sub(t0).min(group.tokens);
                    for (l, layer) in hidden.iter_mut().enumerate() {
                        let src = (l * rows + b * group.tokens) * c;
                        let dst = (seq * t_max + t0) * c;
                        layer[dst..dst + real * c].copy_from_slice(&data[src..src + real * c]);
                    }
                }
            }
        }
        Ok(Hidden {
            hidden,
            lengths,
            tokens: t_max,
            dim: c,
        })
    }

    /// Blocking [`forward_hidden_async`](Self::forward_hidden_async) for native code.
    #[cfg(feature = "native")]
    pub fn forward_hidden(&mut self, tokens: &[Vec<u32>]) -> Result<Hidden> {
        pollster::block_on(self.forward_hidden_async(tokens))
    }

    /// The recurrent state the last pass of the most recent multi-pass sequence started
    /// from (what one pass hands the next), per layer: LN1 and LN2 outputs of the previous
    /// token `[C]` and the WKV state `[H][N][N]`. Tests compare it with the reference's.
    pub async fn carried_state_async(&self) -> Result<Vec<CarriedState>> {
        let bufs = &self.plan.bufs;
        let att = self.read_storage(&bufs.shift_att).await?;
        let ffn = self.read_storage(&bufs.shift_ffn).await?;
        let wkv = self.read_storage(&bufs.wkv_state).await?;
        let (c, n) = (self.config.n_embd, self.config.head_size);
        let (shift, state) = (
            bufs.shift_stride as usize / 4,
            bufs.state_stride as usize / 4,
        );
        Ok((0..self.config.n_layer)
            .map(|l| CarriedState {
                att_shift: att[l * shift..l * shift + c].to_vec(),
                wkv: wkv[l * state..l * state + c * n].to_vec(),
                ffn_shift: ffn[l * shift..l * shift + c].to_vec(),
            })
            .collect())
    }

    /// A storage buffer's contents as f32 (through a temporary read-back buffer).
    async fn read_storage(&self, b: &GpuBuffer) -> Result<Vec<f32>> {
        let usage = wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST;
        let staging = self.ctx.buffer("state read-back", b.size, usage)?;
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(&b.buffer, 0, &staging.buffer, 0, b.size);
        self.ctx.queue.submit([enc.finish()]);
        let bytes = self.ctx.read(&staging.buffer, staging.size).await?;
        Ok(bytemuck::cast_slice(&bytes).to_vec())
    }

    /// Blocking [`carried_state_async`](Self::carried_state_async) for native code.
    #[cfg(feature = "native")]
    pub fn carried_state(&self) -> Result<Vec<CarriedState>> {
        pollster::block_on(self.carried_state_async())
    }

    /// Runs one group through all its chunks; returns pooled blocks (and captures).
    async fn run_group(
        &mut self,
        tokens: &[Vec<u32>],
        g: &Group,
        poolings: &[Pooling],
        capture: bool,
    ) -> Result<GroupOutput> {
        let seqs: Vec<&[u32]> = g.members.iter().map(|&i| tokens[i].as_slice()).collect();
        let lengths: Vec<u32> = seqs.iter().map(|s| s.len() as u32).collect();
        let shape = Shape {
            batch: seqs.len() as u32,
            tokens: g.tokens as u32,
        };
        self.plan.write_params(&self.ctx, shape);
        let mut captured = Vec::new();
        for chunk in 0..g.chunks {
            let t0 = chunk * g.tokens;
            let x0 = gather(&self.emb, &seqs, t0, g.tokens, self.config.n_embd);
            self.ctx
                .queue
                .write_buffer(&self.plan.bufs.xx.buffer, 0, bytemuck::cast_slice(&x0));
            let info = ChunkInfo {
                t0: t0 as u32,
                load_state: chunk > 0,
                store_state: chunk + 1 < g.chunks,
                last_chunk: chunk + 1 == g.chunks,
            };
            self.plan.write_run(&self.ctx, info, &lengths);
            let data = self
                .run_chunk(
                    shape,
                    info.store_state,
                    capture,
                    info.last_chunk.then_some(poolings),
                )
                .await?;
            captured.extend(data);
        }
        let pooled = self.read_pooled(shape, poolings).await?;
        Ok(GroupOutput { pooled, captured })
    }

    /// Encodes and submits one chunk (one command encoder); returns its capture if asked.
    async fn run_chunk(
        &mut self,
        shape: Shape,
        carry: bool,
        capture: bool,
        pool_copy: Option<&[Pooling]>,
    ) -> Result<Option<Vec<f32>>> {
        let layer_bytes = shape.rows() as u64 * self.config.n_embd as u64 * 4;
        let cap_buf = if capture {
            let usage = wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST;
            Some(self.ctx.buffer(
                "capture",
                layer_bytes * (self.config.n_layer as u64 + 1),
                usage,
            )?)
        } else {
            None
        };
        let mut timer = match self.opts.profile && self.ctx.timestamps {
            true => Some(Timer::new(&self.ctx, self.dispatches_per_pass())?),
            false => None,
        };
        let mut enc = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("rwkv pass"),
            });
        self.plan.encode(
            &mut enc,
            shape,
            carry,
            cap_buf.as_ref().map(|b| &b.buffer),
            timer.as_mut(),
        );
        if let Some(poolings) = pool_copy {
            self.copy_pooled(&mut enc, shape, poolings);
        }
        if let Some(t) = &timer {
            t.resolve(&mut enc);
        }
        self.ctx.queue.submit([enc.finish()]);
        if let Some(t) = timer {
            let p = t.finish(&self.ctx).await?;
            self.last_profile
                .get_or_insert_with(Profile::default)
                .merge(&p);
        }
        match cap_buf {
            Some(b) => {
                let bytes = self.ctx.read(&b.buffer, b.size).await?;
                Ok(Some(bytemuck::cast_slice(&bytes).to_vec()))
            }
            None => {
                self.ctx.wait()?;
                Ok(None)
            }
        }
    }

    /// Bytes of one pooling block `[L+1][B][C]`.
    fn pooled_block_bytes(&self, shape: Shape) -> u64 {
        (self.config.n_layer as u64 + 1) * shape.batch as u64 * self.config.n_embd as u64 * 4
    }

    /// Copies the requested pooling blocks into the read-back buffer, back to back.
    fn copy_pooled(&self, enc: &mut wgpu::CommandEncoder, shape: Shape, poolings: &[Pooling]) {
        let block = self.pooled_block_bytes(shape);
        let bufs: &Activations = &self.plan.bufs;
        for (i, p) in poolings.iter().enumerate() {
            let src = match p {
                Pooling::Mean => 0,
                Pooling::Last => block,
            };
            enc.copy_buffer_to_buffer(
                &bufs.pooled.buffer,
                src,
                &bufs.readback.buffer,
                i as u64 * block,
                block,
            );
        }
    }

    async fn read_pooled(&self, shape: Shape, poolings: &[Pooling]) -> Result<Vec<Vec<f32>>> {
        let block = self.pooled_block_bytes(shape);
        let bytes = self
            .ctx
            .read(
                &self.plan.bufs.readback.buffer,
                block * poolings.len() as u64,
            )
            .await?;
        let all: &[f32] = bytemuck::cast_slice(&bytes);
        let n = block as usize / 4;
        let out: Vec<Vec<f32>> = (0..poolings.len())
            .map(|i| all[i * n..(i + 1) * n].to_vec())
            .collect();
        // each block is [L+1][B][C]: every layer is checked, requested or not
        let (c, b_n) = (self.config.n_embd, shape.batch as usize);
        for block in &out {
            if let Some(bad) = block.iter().position(|v| !v.is_finite()) {
                let (layer, seq) = (bad / (b_n * c), bad / c % b_n);
                return Err(Error::NonFinite(format!(
                    "layer {layer} of the GPU pass produced NaN/Inf (sequence {seq} of the pass)"
                )));
            }
        }
        Ok(out)
    }

    /// Places a group's pooled vectors at the members' positions in `out`.
    fn scatter_pooled(
        &self,
        g: &Group,
        pooled: &[Vec<f32>],
        layers: &[usize],
        out: &mut Embeddings,
    ) {
        let (c, b_n) = (self.config.n_embd, g.members.len());
        for (p, block) in pooled.iter().enumerate() {
            for (li, &layer) in layers.iter().enumerate() {
                for (b, &seq) in g.members.iter().enumerate() {
                    let at = (layer * b_n + b) * c;
                    out.get_mut(p, li, seq).copy_from_slice(&block[at..at + c]);
                }
            }
        }
    }
}

/// Allocates the activations and records every step of the forward pass.
async fn build_plan(
    ctx: &Context,
    pipes: &mut Pipelines,
    weights: &GpuWeights,
    cfg: &Config,
    cap: Capacity,
    form: PassForm,
) -> Result<Plan> {
    let chunk = form.wkv.chunk();
    let cap = cap.within_loop_budget(cfg.head_size, chunk);
    let windows = serial_windows(cfg, cap);
    let bufs = Activations::new(ctx, cfg, cap, chunk)?;
    let forms = (form, windows);
    // the same code counts the dispatches (sizing the parameter buffer), then records them
    let (slots, _) = record_pass(ctx, pipes, &bufs, weights, cfg, forms, None).await?;
    let params = ctx.buffer(
        "params",
        slots.max(1) as u64 * SLOT,
        wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
    )?;
    let (_, steps) = record_pass(ctx, pipes, &bufs, weights, cfg, forms, Some(&params)).await?;
    Ok(Plan {
        cap,
        bufs,
        params,
        steps,
        dim: cfg.n_embd,
    })
}

/// Records the whole pass, or only counts its dispatches when `params` is `None`.
/// `forms`: the kernels and the serial WKV's time windows per pass.
/// Returns (dispatches, steps).
async fn record_pass(
    ctx: &Context,
    pipes: &mut Pipelines,
    bufs: &Activations,
    weights: &GpuWeights,
    cfg: &Config,
    (form, windows): (PassForm, usize),
    params: Option<&GpuBuffer>,
) -> Result<(usize, Vec<Step>)> {
    let mut b = Builder::new(ctx, pipes, bufs, weights, cfg, form, params);
    b.windows = windows;
    b.embedding().await?;
    for l in 0..cfg.n_layer {
        b.time_mix(l).await?;
        b.channel_mix(l).await?;
    }
    Ok((b.slots_used(), b.steps))
}

#[cfg(feature = "native")]
impl crate::embed::Engine for GpuEngine {
    fn name(&self) -> String {
        let i = &self.ctx.info;
        format!("{} ({:?}, {:?})", i.name, i.backend, i.device_type)
    }
    fn config(&self) -> &Config {
        &self.config
    }
    fn embed_tokens(
        &mut self,
        tokens: &[Vec<u32>],
        layers: &[usize],
        poolings: &[Pooling],
    ) -> Result<Embeddings> {
        pollster::block_on(self.embed_tokens_async(tokens, layers, poolings))
    }
    fn precision(&self) -> super::Precision {
        self.opts.precision
    }
    fn kind(&self) -> crate::embed::EngineKind {
        crate::embed::EngineKind::Gpu
    }
    fn peak_memory_bytes(&self) -> u64 {
        self.ctx.memory.peak()
    }
}
