//! The two roofs of the adapter, measured with our own kernels: the GEMM rate of the
//! engine's matmul kernel (`shaders/matmul*.wgsl`, the variant the engine picks) and the
//! copy bandwidth of `shaders/bench_copy.wgsl`. The forward pass is then placed under both.

use std::time::Instant;

use wgpu::BufferUsages as U;

use super::report::{AdapterReport, Roofline};
use crate::gpu::context::{Context, GpuBuffer};
use crate::gpu::kernels::matmul::{Act, MatmulOp, Mode};
use crate::gpu::kernels::{Kernel, Pipelines, Shape};
use crate::gpu::{GpuOptions, Precision};
use crate::Result;

/// Opens a device the way the engine does (same adapter choice and limits).
pub fn open(opts: &GpuOptions) -> Result<Context> {
    pollster::block_on(Context::new(opts))
}

/// Adapter name, backend, driver, the limits the device was opened with and the
/// adapter's features.
pub fn adapter_report(ctx: &Context) -> AdapterReport {
    let i = &ctx.info;
    let l = &ctx.limits;
    AdapterReport {
        name: i.name.clone(),
        backend: format!("{:?}", i.backend),
        device_type: format!("{:?}", i.device_type),
        driver: i.driver.clone(),
        driver_info: i.driver_info.clone(),
        limits: serde_json::json!({
            "max_storage_buffer_binding_size": l.max_storage_buffer_binding_size,
            "max_buffer_size": l.max_buffer_size,
            "max_storage_buffers_per_shader_stage": l.max_storage_buffers_per_shader_stage,
            "max_compute_workgroup_storage_size": l.max_compute_workgroup_storage_size,
            "max_compute_invocations_per_workgroup": l.max_compute_invocations_per_workgroup,
            "max_compute_workgroups_per_dimension": l.max_compute_workgroups_per_dimension,
            "engine_max_binding": ctx.max_binding,
        }),
        features: adapter_features(ctx),
    }
}

/// The adapter's feature names (from a fresh instance, matching the context's adapter).
fn adapter_features(ctx: &Context) -> Vec<String> {
    let inst = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    let adapters = pollster::block_on(inst.enumerate_adapters(wgpu::Backends::all()));
    let same = |i: wgpu::AdapterInfo| i.name == ctx.info.name && i.backend == ctx.info.backend;
    let adapter = adapters.iter().find(|a| same(a.get_info()));
    let features = adapter.map_or(wgpu::Features::empty(), |a| a.features());
    features.iter_names().map(|(n, _)| n.to_string()).collect()
}

fn storage(ctx: &Context, label: &str, bytes: u64) -> Result<GpuBuffer> {
    ctx.buffer(label, bytes, U::STORAGE | U::COPY_DST)
}

fn uniform(ctx: &Context, words: &[u32]) -> Result<GpuBuffer> {
    let b = ctx.buffer("params", (words.len() * 4) as u64, U::UNIFORM | U::COPY_DST)?;
    ctx.queue
        .write_buffer(&b.buffer, 0, bytemuck::cast_slice(words));
    Ok(b)
}

/// A storage buffer of small non-zero values (no denormals, no NaN).
fn filled(ctx: &Context, label: &str, bytes: u64) -> Result<GpuBuffer> {
    let words: Vec<u32> = (0..bytes / 4)
        .map(|i| 0x3C00_3C00 ^ (i as u32 & 0x0101))
        .collect();
    ctx.storage_init(label, bytemuck::cast_slice(&words))
}

/// One kernel with its buffers bound, ready to dispatch (also used by `benches/kernels.rs`).
pub struct Dispatch {
    pub pipe: wgpu::ComputePipeline,
    pub bind: wgpu::BindGroup,
    pub grid: [u32; 3],
    /// FLOPs (GEMM) or bytes read + written (copy) of one dispatch.
    pub work: f64,
    _buffers: Vec<GpuBuffer>,
}

impl Dispatch {
    /// Encodes `n` dispatches in one pass, submits, waits; returns the wall seconds.
    pub fn run(&self, ctx: &Context, n: u32) -> Result<f64> {
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.pipe);
            pass.set_bind_group(0, &self.bind, &[]);
            for _ in 0..n {
                pass.dispatch_workgroups(self.grid[0], self.grid[1], self.grid[2]);
            }
        }
        let t0 = Instant::now();
        ctx.queue.submit([enc.finish()]);
        ctx.wait()?;
        Ok(t0.elapsed().as_secs_f64())
    }

    /// Work per second: the best of three series of `iters` dispatches, after one untimed
    /// dispatch (the best, not the mean: other processes only ever slow a series down).
    pub fn rate(&self, ctx: &Context, iters: u32) -> Result<f64> {
        self.run(ctx, 1)?;
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            best = best.min(self.run(ctx, iters.max(1))?);
        }
        Ok(self.work * iters.max(1) as f64 / best)
    }
}

fn bind(ctx: &Context, pipe: &wgpu::ComputePipeline, buffers: &[&GpuBuffer]) -> wgpu::BindGroup {
    let layout = pipe.get_bind_group_layout(0);
    let entries: Vec<wgpu::BindGroupEntry> = (buffers.iter().enumerate())
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.buffer.as_entire_binding(),
        })
        .collect();
    ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("bench"),
        layout: &layout,
        entries: &entries,
    })
}

/// The engine's matmul kernel for f16 or f32 weights.
fn matmul(f16: bool, tiled: bool) -> Kernel {
    let weights = if f16 { Precision::F16 } else { Precision::F32 };
    Kernel::Matmul { weights, tiled }
}

/// The engine's matmul on `Y[m][n] = X[m][k] · W[n][k]ᵀ`, f16 or f32 weights.
pub fn gemm_dispatch(ctx: &Context, mnk: [u32; 3], f16: bool, tiled: bool) -> Result<Dispatch> {
    let [m, n, k] = mnk;
    let pipe = pollster::block_on(Pipelines::default().get(ctx, matmul(f16, tiled)))?;
    let op = MatmulOp {
        n,
        k,
        n_offset: 0,
        y_stride: n,
        act: Act::None,
        mode: Mode::Store,
        tiled,
    };
    let shape = Shape {
        batch: 1,
        tokens: m,
    };
    let params = uniform(ctx, &op.params(shape))?;
    let x = filled(ctx, "x", m as u64 * k as u64 * 4)?;
    let w = filled(ctx, "w", n as u64 * k as u64 * if f16 { 2 } else { 4 })?;
    let y = storage(ctx, "y", m as u64 * n as u64 * 4)?;
    let aux = storage(ctx, "aux", 16)?;
    let bind = bind(ctx, &pipe, &[&params, &x, &w, &y, &aux]);
    Ok(Dispatch {
        pipe,
        bind,
        grid: op.workgroups(shape),
        work: op.flops(shape),
        _buffers: vec![params, x, w, y, aux],
    })
}

/// `shaders/bench_copy.wgsl` over `bytes` (rounded down to 16); work = bytes read + written.
pub fn copy_dispatch(ctx: &Context, bytes: u64) -> Result<(Dispatch, GpuBuffer, GpuBuffer)> {
    let pipe = pollster::block_on(Pipelines::default().get(ctx, Kernel::BenchCopy))?;
    let n = (bytes / 16) as u32;
    let groups = n.div_ceil(256);
    let gx = groups.clamp(1, 65535);
    let gy = groups.div_ceil(gx).max(1);
    let params = uniform(ctx, &[n, gx * 256])?;
    let src = filled(ctx, "src", n as u64 * 16)?;
    let dst = ctx.buffer("dst", n as u64 * 16, U::STORAGE | U::COPY_SRC)?;
    let bind = bind(ctx, &pipe, &[&params, &src, &dst]);
    let d = Dispatch {
        pipe,
        bind,
        grid: [gx, gy, 1],
        work: 2.0 * n as f64 * 16.0,
        _buffers: vec![params],
    };
    Ok((d, src, dst))
}

/// Measures both roofs, `iters` dispatches a series: the GEMM `mnk` (f16 or f32 weights)
/// and a copy of `copy_bytes`; the forward-pass fields are filled in by the caller.
pub fn measure(
    ctx: &Context,
    mnk: [u32; 3],
    copy_bytes: u64,
    iters: u32,
    f16: bool,
) -> Result<Roofline> {
    let tiled = crate::gpu::context::is_gpu(&ctx.info); // the engine's Auto rule (gpu::plan::PassForm)
    let gemm = gemm_dispatch(ctx, mnk, f16, tiled)?.rate(ctx, iters)? / 1e9;
    let (copy, _src, _dst) = copy_dispatch(ctx, copy_bytes)?;
    let copy = copy.rate(ctx, iters)? / 1e9;
    let weights = if f16 { "f16" } else { "f32" };
    Ok(Roofline {
        gemm_kernel: format!("{}, {weights} weights", matmul(f16, tiled).name()),
        gemm_mnk: mnk,
        gemm_gflops: gemm,
        copy_bytes,
        copy_gbps: copy,
        ..Roofline::default()
    })
}

/// Places a forward pass (FLOPs and minimal bytes moved, in `seconds`) under the roofs.
pub fn place_forward(r: &mut Roofline, point: String, flops: f64, bytes: f64, seconds: f64) {
    r.forward_point = point;
    r.forward_gflops = flops / seconds / 1e9;
    r.forward_gbps = bytes / seconds / 1e9;
    r.fraction_of_gemm = r.forward_gflops / r.gemm_gflops;
    r.fraction_of_copy = r.forward_gbps / r.copy_gbps;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_fractions_are_ratios_of_rates() {
        let mut r = Roofline {
            gemm_gflops: 100.0,
            copy_gbps: 50.0,
            ..Default::default()
        };
        place_forward(&mut r, "1×16".into(), 20e9, 10e9, 2.0);
        assert_eq!((r.forward_gflops, r.forward_gbps), (10.0, 5.0));
        assert_eq!((r.fraction_of_gemm, r.fraction_of_copy), (0.1, 0.1));
    }
}
