//! GPU time of kernel variants on this adapter from the timestamp profile, printed, never
//! asserted (`#[ignore]`; a debug build is enough: the time measured is the device's).
//! `docs/benchmarks.md` quotes them.
//!
//! ```text
//! cargo test --test alone -- gpu_speed:: --ignored --nocapture --test-threads 1
//! ```
//!
//! The model: the `small` width (C = 768: 12 heads of N = 64, FFN 2688) with 2 layers,
//! random f16 weights; one warm-up pass, then the median of three profiled passes.
//! - `wkv_serial_vs_chunked`: B = 1, T = 128 and 1024; ms of the WKV dispatches per pass
//!   (serial, and the chunked form's three phases for L = 16, 64) and of the whole pass.
//!   One line per point: `wkv T=128 serial wkv_ms=… pass_ms=…`.
//! - `norm_reductions`: B×T = 8×128; ms of the LayerNorms and GroupNorms per pass with the
//!   workgroup-memory tree and with subgroup sums. `norms reduce=Subgroup norm_ms=… pass_ms=…`.

use rwkv_lens::embed::{Engine, Pooling};
use rwkv_lens::gpu::{GpuEngine, GpuOptions, Precision, ReduceKind, WkvKind};
use rwkv_lens::model::random::{random_checkpoint, RandomSpec};
use rwkv_lens::model::{Architecture, Checkpoint, DType};

fn model() -> Checkpoint {
    let spec = RandomSpec {
        n_embd: 768,
        n_layer: 2,
        ffn_dim: 2688,
        vocab_size: 512,
        arch: Architecture::Rwkv6 {
            mix_lora: 32,
            decay_lora: 64,
        },
        ..RandomSpec::tiny(768).with_dtype(DType::F16)
    };
    random_checkpoint(&spec).unwrap()
}

/// Median over three profiled passes of (ms of the kernels named in `kernels`, ms of all).
fn profiled_ms(
    ck: &Checkpoint,
    opts: GpuOptions,
    batch: usize,
    tokens: usize,
    kernels: &[&str],
) -> (f64, f64) {
    let opts = GpuOptions {
        precision: Precision::F16,
        max_batch_tokens: batch * tokens,
        profile: true,
        ..opts
    };
    let mut gpu = GpuEngine::new(ck, opts).expect("GPU engine starts");
    let seqs: Vec<Vec<u32>> = (0..batch)
        .map(|b| {
            (0..tokens)
                .map(|t| ((b * 31 + t * 7) % 512) as u32)
                .collect()
        })
        .collect();
    let mut pass = || {
        gpu.embed_tokens(&seqs, &[2], &[Pooling::Mean]).unwrap();
        let p = gpu
            .last_profile()
            .expect("timestamp queries on this adapter");
        let part = p
            .rows
            .iter()
            .filter(|r| kernels.contains(&r.kernel.as_str()));
        (part.map(|r| r.ms).sum::<f64>(), p.total_ms())
    };
    pass(); // warm-up: pipelines, caches
    let mut runs: Vec<(f64, f64)> = (0..3).map(|_| pass()).collect();
    runs.sort_by(|a, b| a.1.total_cmp(&b.1));
    runs[1]
}

#[test]
#[ignore = "speed measurement: run with --ignored --nocapture"]
fn wkv_serial_vs_chunked() {
    let ck = model();
    let wkv = ["wkv", "wkv_chunked"];
    for tokens in [128, 1024] {
        for kind in [WkvKind::Serial, WkvKind::Chunked(16), WkvKind::Chunked(64)] {
            let opts = GpuOptions {
                wkv: kind,
                ..GpuOptions::default()
            };
            let (ms, total) = profiled_ms(&ck, opts, 1, tokens, &wkv);
            let form = match kind {
                WkvKind::Chunked(l) => format!("chunked-L{l}"),
                _ => "serial".into(),
            };
            println!("wkv T={tokens} {form} wkv_ms={ms:.1} pass_ms={total:.1}");
        }
    }
}

#[test]
#[ignore = "speed measurement: run with --ignored --nocapture"]
fn norm_reductions() {
    let ck = model();
    for reduce in [ReduceKind::Workgroup, ReduceKind::Subgroup] {
        let opts = GpuOptions {
            reduce,
            ..GpuOptions::default()
        };
        let norms = ["layer_norm", "group_norm"];
        let (ms, total) = profiled_ms(&ck, opts, 8, 128, &norms);
        println!("norms reduce={reduce:?} norm_ms={ms:.1} pass_ms={total:.1}");
    }
}
