//! A random checkpoint with the real RWKV-6 1.6B shapes (C=2048, 24 layers, F=7168,
//! vocab 65536; generated here, never committed) loads within WebGPU's 128 MiB
//! storage-binding limit and runs a short batch on lavapipe.
//!
//! `finch_1b6_measurements` (ignored; `make gpu-bench`) also times the GPU against the
//! CPU reference on the same model and prints the per-kernel profile.

use std::time::Instant;

use rwkv_lens::embed::{Embeddings, Engine, Pooling};
use rwkv_lens::gpu::{GpuEngine, GpuOptions, Precision};
use rwkv_lens::model::random::{random_checkpoint, RandomSpec};
use rwkv_lens::model::Checkpoint;

fn big_model() -> Checkpoint {
    let t = Instant::now();
    let ck = random_checkpoint(&RandomSpec::finch_1b6(1606)).unwrap();
    println!(
        "generated {:?} in {:.1} s",
        ck.source,
        t.elapsed().as_secs_f64()
    );
    ck
}

/// Layer 0 is LN0 of the embedding rows: computed here on the host, independently.
fn ln0_mean(ck: &Checkpoint, seq: &[u32]) -> Vec<f32> {
    let c = ck.config.n_embd;
    let emb = ck.get("emb.weight").unwrap();
    let (w, b) = (
        ck.f32("blocks.0.ln0.weight").unwrap(),
        ck.f32("blocks.0.ln0.bias").unwrap(),
    );
    let mut mean = vec![0.0f64; c];
    for &tok in seq {
        let row: Vec<f64> = emb.bytes[tok as usize * c * 2..(tok as usize + 1) * c * 2]
            .chunks_exact(2)
            .map(|h| half::f16::from_le_bytes([h[0], h[1]]).to_f32() as f64)
            .collect();
        let mu = row.iter().sum::<f64>() / c as f64;
        let var = row.iter().map(|x| (x - mu) * (x - mu)).sum::<f64>() / c as f64;
        for i in 0..c {
            mean[i] += ((row[i] - mu) / (var + 1e-5).sqrt() * w[i] as f64 + b[i] as f64)
                / seq.len() as f64;
        }
    }
    mean.into_iter().map(|v| v as f32).collect()
}

fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The second sequence of the batch, run alone, gives the same pooled vectors.
fn check_batch_vs_alone(gpu: &mut GpuEngine, seqs: &[Vec<u32>], batch: &Embeddings) {
    let alone = gpu
        .embed_tokens(&seqs[1..], &batch.layers, &batch.poolings)
        .unwrap();
    for p in 0..batch.poolings.len() {
        for l in 0..batch.layers.len() {
            let (a, b) = (batch.get(p, l, 1), alone.get(p, l, 0));
            let err = max_abs(a, b);
            assert!(
                err <= 1e-5,
                "pooling {p} layer {l}: batch vs alone differ by {err}"
            );
            assert!(
                a.iter().any(|&v| v != 0.0),
                "pooling {p} layer {l} is all zeros"
            );
        }
    }
}

#[test]
fn finch_1b6_shape_loads_within_binding_limit_and_runs() {
    let ck = big_model();
    let opts = GpuOptions {
        precision: Precision::F16,
        max_batch_tokens: 64,
        ..Default::default()
    };
    let t = Instant::now();
    let mut gpu = GpuEngine::new(&ck, opts).unwrap();
    let report = gpu.report();
    println!(
        "engine ready in {:.1} s: {report}",
        t.elapsed().as_secs_f64()
    );
    assert!(report.contains("storage binding ≤ 128 MiB"), "{report}");
    let seqs = vec![vec![1, 65535, 300, 7], vec![42, 9]];
    let layers: Vec<usize> = (0..=24).collect();
    let t = Instant::now();
    let batch = gpu
        .embed_tokens(&seqs, &layers, &[Pooling::Mean, Pooling::Last])
        .unwrap();
    println!(
        "2 sequences (6 tokens) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    for (s, seq) in seqs.iter().enumerate() {
        let err = max_abs(&ln0_mean(&ck, seq), batch.get(0, 0, s));
        assert!(
            err < 1e-4,
            "sequence {s}: layer-0 mean differs from host LN0 by {err}"
        );
    }
    check_batch_vs_alone(&mut gpu, &seqs, &batch);
    let (_, peak) = gpu.memory_bytes();
    println!("peak GPU memory {:.0} MiB", peak as f64 / (1 << 20) as f64);
    assert!(
        peak > 2_500_000_000,
        "f16 body of 1.6B is ~2.6 GB, engine reports {peak}"
    );
}

fn pseudo_random_tokens(n: usize, len: usize, vocab: u32) -> Vec<Vec<u32>> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % vocab as u64) as u32
    };
    (0..n).map(|_| (0..len).map(|_| next()).collect()).collect()
}

#[test]
#[ignore = "minutes: 1.6B on lavapipe and on the CPU reference; run with `make gpu-bench`"]
fn finch_1b6_measurements() {
    let (n, len) = (4, 16);
    let ck = big_model();
    let seqs = pseudo_random_tokens(n, len, 65536);
    let layers: Vec<usize> = (0..=24).collect();
    let poolings = [Pooling::Mean, Pooling::Last];
    let opts = GpuOptions {
        precision: Precision::F16,
        profile: true,
        ..Default::default()
    };
    let mut gpu = GpuEngine::new(&ck, opts).unwrap();
    println!("{}", gpu.report());
    gpu.embed_tokens(&seqs, &layers, &poolings).unwrap();
    println!(
        "kernel profile, {n} × {len} tokens:\n{}",
        gpu.last_profile().unwrap().table()
    );
    gpu.set_profile(false);
    let t = Instant::now();
    let got = gpu.embed_tokens(&seqs, &layers, &poolings).unwrap();
    let gpu_s = t.elapsed().as_secs_f64();
    let (_, peak) = gpu.memory_bytes();
    drop(gpu);
    let mut cpu = rwkv_lens::reference::CpuEngine::new(&ck).unwrap();
    drop(ck);
    let t = Instant::now();
    let want = cpu.embed_tokens(&seqs, &layers, &poolings).unwrap();
    let cpu_s = t.elapsed().as_secs_f64();
    let tokens = (n * len) as f64;
    println!(
        "GPU (lavapipe, f16 weights): {:.2} tokens/s ({gpu_s:.1} s); CPU reference (f32): {:.2} tokens/s ({cpu_s:.1} s); peak GPU memory {:.0} MiB",
        tokens / gpu_s,
        tokens / cpu_s,
        peak as f64 / (1 << 20) as f64
    );
    let mut worst = vec![0.0f32; layers.len()];
    for p in 0..2 {
        for (l, w) in worst.iter_mut().enumerate() {
            for s in 0..n {
                let (a, b) = (got.get(p, l, s), want.get(p, l, s));
                *w = w.max(rwkv_lens::embed::scaled_error(a, b));
            }
        }
    }
    println!("max error per layer vs CPU reference: {worst:?}");
    assert!(worst.iter().all(|&e| e < 2e-3), "{worst:?}");
}
