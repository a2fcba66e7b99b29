//! Speed of the CPU reference, printed, never asserted (`#[ignore]`: run them in release).
//! `scripts/cpu_gemm_roof.py` runs them and numpy's fp32 GEMM in the same run and prints
//! the ratio table that `docs/benchmarks.md` quotes.
//!
//! ```text
//! cargo test --release --test alone -- cpu_speed:: --ignored --nocapture --test-threads 1
//! ```
//!
//! - `linear_gflops`: `reference::ops::linear` (`x @ Wᵀ`) on the 1.6B shapes: C=2048,
//!   F=7168; the three products `[M][C]·[C][C]ᵀ`, `[M][C]·[F][C]ᵀ`, `[M][F]·[C][F]ᵀ`
//!   for M = 16, 64, 128 rows. One line per point:
//!   `linear M=16 N=2048 K=2048 gflops=…`.
//! - `fast_linear_gflops`: the fast engine's GEMM (`reference::fast::gemm::linear`, f16
//!   weights) on the same shapes: `fast M=16 N=2048 K=2048 gflops=…`.
//! - `demo_model_tokens_per_s`: the whole reference forward (`CpuEngine`) on the
//!   bundled demo model, B×T = 1×16, 1×128, 8×64. One line per point:
//!   `demo B=1 T=16 tokens_per_s=…`.

use std::path::PathBuf;
use std::time::Instant;

use rwkv_lens::embed::{Engine, Pooling};
use rwkv_lens::model::load::load;
use rwkv_lens::reference::ops::{linear, Matrix};
use rwkv_lens::reference::CpuEngine;

/// Best seconds per call of `f` over `rounds` rounds of about `budget_s` seconds each.
fn best_seconds(rounds: usize, budget_s: f64, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    f(); // warm-up, and a first estimate of one call
    let reps = ((budget_s / t.elapsed().as_secs_f64()) as usize).clamp(1, 10_000);
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            (0..reps).for_each(|_| f());
            t.elapsed().as_secs_f64() / reps as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// Deterministic values in about ±0.5, no RNG needed for a speed test.
fn fill(len: usize, period: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i % period) as f32 - period as f32 / 2.0) / period as f32)
        .collect()
}

#[test]
#[ignore = "speed measurement: run in release with --ignored --nocapture"]
fn linear_gflops() {
    let (c, f) = (2048, 7168);
    for (n_out, k) in [(c, c), (f, c), (c, f)] {
        let w = Matrix::new(n_out, k, fill(n_out * k, 89));
        for m in [16, 64, 128] {
            let x = fill(m * k, 97);
            let s = best_seconds(5, 0.2, || {
                std::hint::black_box(linear(&x, m, &w));
            });
            let gflops = 2.0 * (m * n_out * k) as f64 / s / 1e9;
            println!("linear M={m} N={n_out} K={k} gflops={gflops:.2}");
        }
    }
}

/// The fast engine's GEMM (`reference::fast::gemm`, f16 weights read in place, f32
/// accumulation, every core) on the same shapes as `linear_gflops`:
/// `fast M=16 N=2048 K=2048 gflops=…`.
#[test]
#[ignore = "speed measurement: run in release with --ignored --nocapture"]
fn fast_linear_gflops() {
    use rwkv_lens::reference::fast::gemm::{linear as fast_linear, Kind, WeightView};
    let (c, f) = (2048, 7168);
    for (n_out, k) in [(c, c), (f, c), (c, f)] {
        let bytes: Vec<u8> = (fill(n_out * k, 89).iter())
            .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
            .collect();
        let w = WeightView {
            bytes: &bytes,
            kind: Kind::F16,
            rows: n_out,
            cols: k,
        };
        for m in [16, 64, 128] {
            let x = fill(m * k, 97);
            let s = best_seconds(5, 0.2, || {
                std::hint::black_box(fast_linear(&x, m, &w));
            });
            let gflops = 2.0 * (m * n_out * k) as f64 / s / 1e9;
            println!("fast M={m} N={n_out} K={k} gflops={gflops:.2}");
        }
    }
}

#[test]
#[ignore = "speed measurement: run in release with --ignored --nocapture"]
fn demo_model_tokens_per_s() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/demo-model/rwkv6-demo.safetensors");
    let mut cpu = CpuEngine::new(&load(&path).expect("demo model loads")).expect("weights");
    let layers: Vec<usize> = (0..=cpu.config().n_layer).collect();
    for (b, t) in [(1, 16), (1, 128), (8, 64)] {
        let toks: Vec<Vec<u32>> = (0..b)
            .map(|s| {
                (0..t)
                    .map(|i| (1 + 7919 * (s * t + i)) as u32 % 65_000)
                    .collect()
            })
            .collect();
        let s = best_seconds(3, 0.5, || {
            cpu.embed_tokens(&toks, &layers, &[Pooling::Mean])
                .expect("embed");
        });
        println!("demo B={b} T={t} tokens_per_s={:.1}", (b * t) as f64 / s);
    }
}
