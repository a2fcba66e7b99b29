//! Criterion micro-benchmarks of the kernels behind `rwkv-lens bench` (`cargo bench`;
//! `make bench` runs them with the rest). Sizes are one layer of the `small` shape
//! (C=768, F=2688) at 64 tokens, so one iteration stays short on lavapipe.
//!
//! - `matmul/f16` and `matmul/f32`: the engine's matmul kernel, `Y[64][2688] = X·Wᵀ`, K=768
//! - `copy/16MiB`: `shaders/bench_copy.wgsl` (the bandwidth roof)
//! - `reference/linear`: the CPU reference's `x @ Wᵀ` on the same shape
//! - `prefill/tiny`: the whole GPU engine on a tiny random model, 2 × 16 tokens
//!
//! Without an adapter the GPU benchmarks are skipped (the CPU one still runs).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rwkv_lens::bench::roofline::{copy_dispatch, gemm_dispatch, open};
use rwkv_lens::embed::{Engine, Pooling};
use rwkv_lens::gpu::{GpuEngine, GpuOptions};
use rwkv_lens::model::random::{random_checkpoint, RandomSpec};
use rwkv_lens::reference::ops::{linear, Matrix};

const M: u32 = 64;
const N: u32 = 2688;
const K: u32 = 768;

fn gpu(c: &mut Criterion) {
    let Ok(ctx) = open(&GpuOptions::default()) else {
        eprintln!("kernels: no wgpu adapter, GPU benchmarks skipped");
        return;
    };
    let tiled = ctx.info.device_type != wgpu::DeviceType::Cpu;
    let mut g = c.benchmark_group("matmul");
    g.sample_size(10);
    for f16 in [true, false] {
        let d = gemm_dispatch(&ctx, [M, N, K], f16, tiled).expect("matmul dispatch");
        g.throughput(Throughput::Elements(d.work as u64));
        g.bench_function(if f16 { "f16" } else { "f32" }, |b| {
            b.iter(|| d.run(&ctx, 1).expect("run"))
        });
    }
    g.finish();
    let (d, _src, _dst) = copy_dispatch(&ctx, 16 << 20).expect("copy dispatch");
    let mut g = c.benchmark_group("copy");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(d.work as u64));
    g.bench_function("16MiB", |b| b.iter(|| d.run(&ctx, 1).expect("run")));
    g.finish();
}

fn prefill(c: &mut Criterion) {
    let ck = random_checkpoint(&RandomSpec::tiny(1)).expect("tiny checkpoint");
    let Ok(mut engine) = GpuEngine::new(&ck, GpuOptions::default()) else {
        return;
    };
    let toks: Vec<Vec<u32>> = (0..2)
        .map(|b| (0..16).map(|t| 1 + (b * 31 + t * 7) % 299).collect())
        .collect();
    let mut g = c.benchmark_group("prefill");
    g.sample_size(10);
    g.throughput(Throughput::Elements(32));
    g.bench_function("tiny", |b| {
        b.iter(|| {
            engine
                .embed_tokens(&toks, &[2], &[Pooling::Mean])
                .expect("embed")
        })
    });
    g.finish();
}

fn reference(c: &mut Criterion) {
    let x: Vec<f32> = (0..(M * K) as usize)
        .map(|i| ((i % 97) as f32 - 48.0) / 97.0)
        .collect();
    let w = Matrix::new(
        N as usize,
        K as usize,
        (0..(N * K) as usize)
            .map(|i| ((i % 89) as f32 - 44.0) / 890.0)
            .collect(),
    );
    let mut g = c.benchmark_group("reference");
    g.sample_size(10);
    g.throughput(Throughput::Elements(2 * (M * N * K) as u64));
    g.bench_function("linear", |b| b.iter(|| linear(&x, M as usize, &w)));
    g.finish();
}

criterion_group!(benches, gpu, prefill, reference);
criterion_main!(benches);
