//! The forward pass as a fixed list of steps (dispatches with cached bind groups, plus the
//! few copies between them), built once per engine over buffers sized for the largest
//! pass. Per batch only the uniform parameters are rewritten and the grid sizes change.

use std::num::NonZeroU64;

use super::context::{Context, GpuBuffer};
use super::kernels::wkv::{max_scan_chunks, serial_window, WkvChoice, LOOP_BUDGET};
use super::kernels::{Kernel, Op, Shape};
use super::profile::Timer;
use super::{GpuOptions, MatmulKind};
use crate::model::Config;
use crate::{Error, Result};

/// Size of one dispatch's parameter slot in the params uniform buffer.
pub const SLOT: u64 = 256;
/// Most sequences one pass can hold (the `lengths` array of `shaders/run.wgsl`).
pub const MAX_SEQUENCES: usize = 4096;
const RUN_HEADER: usize = 16;

/// The kernels one engine records, decided once from the options and the adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassForm {
    /// `matmul_tiled.wgsl` rather than the register-blocked `matmul.wgsl`.
    pub tiled: bool,
    /// The WKV forms recorded, and which one each pass runs.
    pub wkv: WkvChoice,
}

impl PassForm {
    /// `Auto` picks the tiled matmul and lets the WKV chunk on a real GPU only.
    pub fn new(opts: &GpuOptions, ctx: &Context) -> PassForm {
        let gpu = super::context::is_gpu(&ctx.info);
        let tiled = match opts.matmul {
            MatmulKind::Auto => gpu,
            MatmulKind::Registers => false,
            MatmulKind::Tiled => true,
        };
        PassForm {
            tiled,
            wkv: WkvChoice {
                kind: opts.wkv,
                gpu,
            },
        }
    }
}

/// Largest pass the buffers are sized for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// Padded tokens B·T per pass.
    pub tokens: usize,
    /// Sequences per pass.
    pub batch: usize,
}

impl Capacity {
    /// The biggest pass that keeps every activation within the binding limit.
    pub fn new(
        ctx: &Context,
        cfg: &Config,
        max_tokens: usize,
        max_batch: usize,
    ) -> Result<Capacity> {
        let widest = cfg.n_embd.max(cfg.ffn_dim).max(cfg.lora_width());
        let by_binding = (ctx.max_binding / (widest as u64 * 4)) as usize;
        let tokens = max_tokens.min(by_binding).min(65535);
        let pooled_row = 2 * (cfg.n_layer + 1) * cfg.n_embd * 4;
        let batch = max_batch
            .min(tokens)
            .min(MAX_SEQUENCES)
            .min((ctx.max_binding / pooled_row as u64) as usize);
        if tokens == 0 || batch == 0 {
            return Err(Error::gpu(format!(
                "the storage-binding limit {} B is too small for one token of width {widest}",
                ctx.max_binding
            )));
        }
        Ok(Capacity { tokens, batch })
    }

    /// Keeps every invocation's loops within [`LOOP_BUDGET`]: pooling walks each position
    /// of a pass once, and the chunked WKV's scan walks its ⌈T / L⌉ chunks. (The serial WKV
    /// splits long passes into time windows instead.)
    pub fn within_loop_budget(self, head_size: usize, chunk: Option<u32>) -> Capacity {
        let mut tokens = self.tokens.min(LOOP_BUDGET as usize);
        if let Some(l) = chunk {
            let chunks = max_scan_chunks(head_size as u32) as usize;
            tokens = tokens.min(l.max(1) as usize * chunks);
        }
        Capacity {
            tokens,
            batch: self.batch.min(tokens),
        }
    }
}

/// Device buffers of the activations (`[B·T][·]`, row-major, right-padded sequences).
pub struct Activations {
    /// Residual stream x.
    pub x: GpuBuffer,
    /// LayerNorm outputs (and the gathered embedding rows before ln0).
    pub xx: GpuBuffer,
    /// The token-shifted input of the next projection: `x_x`, then `x∗ = xx + d·(μ∗ + m∗)`
    /// for ∗ ∈ {k, v, r, g, w} in turn; the channel-mix's `x_k`. Reused for the WKV output
    /// ([`Self::wkv_out`]).
    pub mix: GpuBuffer,
    /// Receptance, key, value and SiLU gate of the time-mix, `[B·T][C]` each; `r` is reused
    /// after the WKV ([`Self::att_out`]), `k` and `v` by the channel-mix
    /// ([`Self::ffn_x_r`], [`Self::ffn_gate`]).
    pub r: GpuBuffer,
    pub k: GpuBuffer,
    pub v: GpuBuffer,
    pub g: GpuBuffer,
    /// Log-decay `log w = −exp(·)`.
    pub logw: GpuBuffer,
    /// LoRA hidden `[B·T][max(5R, D)]`.
    pub lora: GpuBuffer,
    /// Channel-mix hidden `[B·T][F]`.
    pub ffn: GpuBuffer,
    /// Pooled embeddings `[2][L+1][B][C]` (mean block, last-token block).
    pub pooled: GpuBuffer,
    pub readback: GpuBuffer,
    /// Carried token-shift inputs `[L][C]` (padded rows) and WKV states `[L][H][N][N]`,
    /// used when one sequence spans several time chunks.
    pub shift_att: GpuBuffer,
    pub shift_ffn: GpuBuffer,
    pub wkv_state: GpuBuffer,
    /// Serial WKV: states handed from one time window to the next within a pass,
    /// `[B][H][N][N]` for the sequences long enough to span windows.
    pub window_state: GpuBuffer,
    /// Chunked WKV: per-chunk states `[B][H][chunks][N][N]` and decays `[B][H][chunks][N]`
    /// (16-byte stand-ins when the chunked form is not used).
    pub chunk_state: GpuBuffer,
    pub chunk_decay: GpuBuffer,
    /// Stand-in for unused bindings.
    pub dummy: GpuBuffer,
    pub run: GpuBuffer,
    pub shift_stride: u64,
    pub state_stride: u64,
}

fn aligned(bytes: u64) -> u64 {
    bytes.next_multiple_of(256)
}

impl Activations {
    /// `wkv_chunk`: the chunk length when the chunked WKV may run.
    pub fn new(
        ctx: &Context,
        cfg: &Config,
        cap: Capacity,
        wkv_chunk: Option<u32>,
    ) -> Result<Activations> {
        use wgpu::BufferUsages as U;
        let storage = U::STORAGE | U::COPY_DST | U::COPY_SRC;
        let rows = cap.tokens as u64;
        let c = cfg.n_embd as u64;
        let act = |name: &str, width: u64| ctx.buffer(name, rows * width * 4, storage);
        let pooled_bytes = 2 * (cfg.n_layer as u64 + 1) * cap.batch as u64 * c * 4;
        let shift_stride = aligned(c * 4);
        let state_stride = aligned(c * cfg.head_size as u64 * 4);
        let layers = cfg.n_layer as u64;
        let lora_width = cfg.lora_width() as u64;
        let (chunk_state, chunk_decay) = chunk_buffers(ctx, cfg, cap, wkv_chunk)?;
        let window_state = window_buffer(ctx, cfg, cap)?;
        Ok(Activations {
            x: act("x", c)?,
            xx: act("xx", c)?,
            mix: act("mix", c)?,
            r: act("r", c)?,
            k: act("k", c)?,
            v: act("v", c)?,
            g: act("g", c)?,
            logw: act("logw", c)?,
            lora: act("lora", lora_width)?,
            ffn: act("ffn", cfg.ffn_dim as u64)?,
            pooled: ctx.buffer("pooled", pooled_bytes, storage)?,
            readback: ctx.buffer("readback", pooled_bytes, U::MAP_READ | U::COPY_DST)?,
            shift_att: ctx.buffer("shift_att", layers * shift_stride, storage)?,
            shift_ffn: ctx.buffer("shift_ffn", layers * shift_stride, storage)?,
            wkv_state: ctx.buffer("wkv_state", layers * state_stride, storage)?,
            window_state,
            chunk_state,
            chunk_decay,
            dummy: ctx.buffer("dummy", 16, U::STORAGE)?,
            run: ctx.buffer(
                "run",
                (RUN_HEADER + 4 * MAX_SEQUENCES) as u64,
                U::UNIFORM | U::COPY_DST,
            )?,
            shift_stride,
            state_stride,
        })
    }

    /// The WKV output `o` (`mix` is free once the projections have read it).
    pub fn wkv_out(&self) -> &GpuBuffer {
        &self.mix
    }
    /// `GroupNorm_H(o) · g`, the input of the output projection (`r` is free after the WKV).
    pub fn att_out(&self) -> &GpuBuffer {
        &self.r
    }
    /// The channel-mix's `x_r = xx + d·μr` (`k` is free after the time-mix).
    pub fn ffn_x_r(&self) -> &GpuBuffer {
        &self.k
    }
    /// The channel-mix's gate `σ(x_r Wrᵀ)` (`v` is free after the time-mix).
    pub fn ffn_gate(&self) -> &GpuBuffer {
        &self.v
    }

    /// The whole buffer as a binding.
    pub fn whole(b: &GpuBuffer) -> wgpu::BindingResource<'_> {
        b.buffer.as_entire_binding()
    }

    /// `size` bytes of `b` from `offset` as a binding.
    pub fn range(b: &GpuBuffer, offset: u64, size: u64) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &b.buffer,
            offset,
            size: NonZeroU64::new(size),
        })
    }
}

/// Serial time windows (`kernels/wkv.rs`) of the pass's longest sequence length.
pub fn serial_windows(cfg: &Config, cap: Capacity) -> usize {
    cap.tokens
        .div_ceil(serial_window(cfg.head_size as u32) as usize)
}

/// The serial WKV's window hand-off states. A pass only spans two windows when its padded
/// length T exceeds the window W, and then it holds B ≤ tokens / T < tokens / W sequences.
fn window_buffer(ctx: &Context, cfg: &Config, cap: Capacity) -> Result<GpuBuffer> {
    let window = serial_window(cfg.head_size as u32) as usize;
    let sequences = (cap.tokens / (window + 1)).min(cap.batch);
    let bytes = (sequences * cfg.n_embd * cfg.head_size * 4).max(16) as u64;
    ctx.buffer("window_state", bytes, wgpu::BufferUsages::STORAGE)
}

/// The chunked WKV's buffers: B·⌈T/L⌉ ≤ tokens/L + batch chunks of `[C][N]` states.
fn chunk_buffers(
    ctx: &Context,
    cfg: &Config,
    cap: Capacity,
    chunk: Option<u32>,
) -> Result<(GpuBuffer, GpuBuffer)> {
    let storage = wgpu::BufferUsages::STORAGE;
    let Some(l) = chunk else {
        return Ok((
            ctx.buffer("chunk_state", 16, storage)?,
            ctx.buffer("chunk_decay", 16, storage)?,
        ));
    };
    let chunks = (cap.tokens.div_ceil(l.max(1) as usize) + cap.batch) as u64;
    let bytes = chunks * (cfg.n_embd * cfg.head_size * 4) as u64;
    if bytes > ctx.max_binding {
        return Err(Error::gpu(format!(
            "chunked WKV with chunk length {l} needs {bytes} B of chunk states, above the binding limit {}: use a longer chunk or fewer tokens per pass",
            ctx.max_binding
        )));
    }
    let decay = chunks * cfg.n_embd as u64 * 4;
    Ok((
        ctx.buffer("chunk_state", bytes, storage)?,
        ctx.buffer("chunk_decay", decay, storage)?,
    ))
}

/// One kernel launch with its bind group, built once.
pub struct Dispatch {
    pub op: Op,
    pub kernel: Kernel,
    pub label: &'static str,
    pub pipeline: wgpu::ComputePipeline,
    pub bind_group: wgpu::BindGroup,
    pub slot: u32,
}

/// One step of the forward pass.
pub enum Step {
    Dispatch(Box<Dispatch>),
    /// Save the last LN output of sequence 0 as the token-shift state of `layer`
    /// (only when a sequence spans several chunks).
    SaveShift {
        layer: usize,
        ffn: bool,
    },
    /// Copy hidden state `layer` (x) into the capture buffer (forward_hidden only).
    Capture {
        layer: usize,
    },
}

/// Per-chunk values of `shaders/run.wgsl`.
#[derive(Debug, Clone, Copy)]
pub struct ChunkInfo {
    pub t0: u32,
    pub load_state: bool,
    pub store_state: bool,
    pub last_chunk: bool,
}

/// The forward pass: buffers plus steps.
pub struct Plan {
    pub cap: Capacity,
    pub bufs: Activations,
    /// One [`SLOT`] of parameters per dispatch, sized from the recorded steps.
    pub params: GpuBuffer,
    pub steps: Vec<Step>,
    pub dim: usize,
}

impl Plan {
    pub fn dispatches(&self) -> impl Iterator<Item = &Dispatch> {
        self.steps.iter().filter_map(|s| match s {
            Step::Dispatch(d) => Some(d.as_ref()),
            _ => None,
        })
    }

    /// Rewrites every dispatch's parameters for this batch shape (one upload).
    pub fn write_params(&self, ctx: &Context, s: Shape) {
        let n = self.dispatches().count();
        let mut bytes = vec![0u8; n.max(1) * SLOT as usize];
        for d in self.dispatches() {
            let words = d.op.params(s);
            let at = d.slot as usize * SLOT as usize;
            bytes[at..at + 4 * words.len()].copy_from_slice(bytemuck::cast_slice(&words));
        }
        ctx.queue.write_buffer(&self.params.buffer, 0, &bytes);
    }

    /// Uploads the chunk's run information and the sequences' lengths.
    pub fn write_run(&self, ctx: &Context, info: ChunkInfo, lengths: &[u32]) {
        let mut words = vec![
            info.t0,
            info.load_state as u32,
            info.store_state as u32,
            info.last_chunk as u32,
        ];
        words.extend_from_slice(lengths);
        words.resize(words.len().next_multiple_of(4), 0);
        ctx.queue
            .write_buffer(&self.bufs.run.buffer, 0, bytemuck::cast_slice(&words));
    }

    /// Records the whole pass. `carry` saves the token-shift inputs for the next pass (when
    /// the sequence continues there); `capture` receives every
    /// layer's hidden states `[L+1][B·T][C]`; `timer` puts each dispatch in its own timed pass.
    pub fn encode(
        &self,
        enc: &mut wgpu::CommandEncoder,
        s: Shape,
        carry: bool,
        capture: Option<&wgpu::Buffer>,
        mut timer: Option<&mut Timer>,
    ) {
        let mut i = 0;
        while i < self.steps.len() {
            match &self.steps[i] {
                Step::Dispatch(_) => {
                    let end = (i..self.steps.len())
                        .find(|&j| !matches!(self.steps[j], Step::Dispatch(_)))
                        .unwrap_or(self.steps.len());
                    self.encode_dispatches(enc, &self.steps[i..end], s, timer.as_deref_mut());
                    i = end;
                    continue;
                }
                Step::SaveShift { layer, ffn } if carry => {
                    self.encode_save_shift(enc, s, *layer, *ffn)
                }
                Step::Capture { layer } => {
                    if let Some(dst) = capture {
                        let bytes = s.rows() as u64 * self.dim as u64 * 4;
                        enc.copy_buffer_to_buffer(
                            &self.bufs.x.buffer,
                            0,
                            dst,
                            *layer as u64 * bytes,
                            bytes,
                        );
                    }
                }
                Step::SaveShift { .. } => {}
            }
            i += 1;
        }
    }

    fn encode_dispatches(
        &self,
        enc: &mut wgpu::CommandEncoder,
        steps: &[Step],
        s: Shape,
        mut timer: Option<&mut Timer>,
    ) {
        let dispatches = steps.iter().filter_map(|st| match st {
            Step::Dispatch(d) => Some(d.as_ref()),
            _ => None,
        });
        if timer.is_none() {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes: None,
            });
            for d in dispatches {
                record(&mut pass, d, s);
            }
            return;
        }
        for d in dispatches.filter(|d| d.op.workgroups(s)[0] > 0) {
            let writes = timer.as_deref_mut().and_then(|t| t.next(d, s));
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(d.label),
                timestamp_writes: writes,
            });
            record(&mut pass, d, s);
        }
    }

    fn encode_save_shift(&self, enc: &mut wgpu::CommandEncoder, s: Shape, layer: usize, ffn: bool) {
        let row_bytes = self.dim as u64 * 4;
        let last_row = (s.tokens as u64 - 1) * row_bytes;
        let dst = if ffn {
            &self.bufs.shift_ffn
        } else {
            &self.bufs.shift_att
        };
        let at = layer as u64 * self.bufs.shift_stride;
        enc.copy_buffer_to_buffer(&self.bufs.xx.buffer, last_row, &dst.buffer, at, row_bytes);
    }
}

fn record(pass: &mut wgpu::ComputePass<'_>, d: &Dispatch, s: Shape) {
    let [x, y, z] = d.op.workgroups(s);
    if x == 0 || y == 0 || z == 0 {
        return;
    }
    pass.set_pipeline(&d.pipeline);
    pass.set_bind_group(0, &d.bind_group, &[]);
    pass.dispatch_workgroups(x, y, z);
}
