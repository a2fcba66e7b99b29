//! Long inputs on the GPU engine (lavapipe here) against the plain-Rust reference: every
//! layer's hidden state at every position and the state carried between passes, for
//! lengths around every power of two up to past the 4096-token pass, alone and in mixed
//! batches split by the token cap, on every kernel path (serial and chunked WKV, both
//! matmul kernels, f32 and f16 weights).
//!
//! Why these lengths: llvmpipe ends an invocation's loops silently after 65535 iterations
//! in all, so a serial WKV over one long pass went wrong after ~960 tokens of a 64-wide
//! head (issue 17); the earlier tests never ran more than 40 tokens per pass. The model is
//! small (C = 64, one 64-wide head, 2 layers) to keep CI's time in bounds: the fault
//! depended on the head size and the length, not on C.

use crate::common::max_err;
use rwkv_lens::gpu::{GpuEngine, GpuOptions, MatmulKind, Precision, WkvKind};
use rwkv_lens::model::random::{random_checkpoint, RandomSpec};
use rwkv_lens::model::{Checkpoint, DType};
use rwkv_lens::reference::{forward, forward_with, CpuEngine, Options};

const LENGTHS: [usize; 16] = [
    1, 2, 255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 2048, 4095, 4096, 4097, 5000,
];
const TOL: f32 = 1e-4;

fn model(dtype: DType) -> Checkpoint {
    let spec = RandomSpec {
        n_embd: 64,
        n_layer: 2,
        ffn_dim: 224,
        head_size: 64,
        ..RandomSpec::tiny(17)
    };
    random_checkpoint(&spec.with_dtype(dtype)).expect("random checkpoint")
}

/// Token ids that do not repeat with a short period (so every position differs).
fn sequence(len: usize, salt: usize) -> Vec<u32> {
    (0..len)
        .map(|i| ((i * 7919 + salt * 104729 + i * i) % 300) as u32)
        .collect()
}

fn gpu(ck: &Checkpoint, opts: GpuOptions) -> GpuEngine {
    GpuEngine::new(ck, opts).expect("GPU engine (lavapipe) starts")
}

/// Worst error over every layer and real position of `seqs` run as one batch.
fn worst_error(engine: &mut GpuEngine, cpu: &CpuEngine, seqs: &[Vec<u32>]) -> f32 {
    let got = engine.forward_hidden(seqs).expect("GPU forward");
    let want = forward(cpu.weights(), seqs, &Options::default()).expect("reference");
    let c = got.dim;
    let mut worst = 0.0f32;
    for (b, seq) in seqs.iter().enumerate() {
        for (l, (g, w)) in got.hidden.iter().zip(&want.hidden).enumerate() {
            let (gr, wr) = (b * got.tokens * c, b * want.t_max * c);
            let n = seq.len() * c;
            let e = max_err(&g[gr..gr + n], &w[wr..wr + n]);
            assert!(
                e <= TOL,
                "layer {l}, sequence {b} of {} tokens: error {e:.2e} above {TOL:.0e}",
                seq.len()
            );
            worst = worst.max(e);
        }
    }
    worst
}

#[test]
fn every_length_alone_matches_the_reference() {
    let ck = model(DType::F32);
    let cpu = CpuEngine::new(&ck).unwrap();
    let mut engine = gpu(&ck, GpuOptions::default());
    for &len in &LENGTHS {
        let e = worst_error(&mut engine, &cpu, &[sequence(len, 1)]);
        println!("T = {len:>4}: worst error over every layer {e:.2e}");
    }
}

#[test]
fn mixed_batches_split_by_the_token_cap_match_the_reference() {
    let ck = model(DType::F32);
    let cpu = CpuEngine::new(&ck).unwrap();
    let lengths = [5000, 1, 257, 1025, 4096, 2, 513, 700, 3, 255, 1024, 90];
    let seqs: Vec<Vec<u32>> = lengths
        .iter()
        .enumerate()
        .map(|(i, &n)| sequence(n, i))
        .collect();
    for cap in [4096, 1500] {
        let opts = GpuOptions {
            max_batch_tokens: cap,
            ..GpuOptions::default()
        };
        let e = worst_error(&mut gpu(&ck, opts), &cpu, &seqs);
        println!("mixed batch, passes of ≤ {cap} tokens: worst error {e:.2e}");
    }
}

/// The other kernel paths at the lengths that cross a window, a pass or a chunk boundary.
#[test]
fn every_kernel_path_holds_at_long_lengths() {
    let f32_model = model(DType::F32);
    let f16_model = model(DType::F16);
    let paths = [
        (
            "chunked WKV (L=64)",
            &f32_model,
            Precision::F32,
            MatmulKind::Registers,
            WkvKind::Chunked(64),
        ),
        (
            "chunked WKV (L=16)",
            &f32_model,
            Precision::F32,
            MatmulKind::Registers,
            WkvKind::Chunked(16),
        ),
        (
            "tiled matmul",
            &f32_model,
            Precision::F32,
            MatmulKind::Tiled,
            WkvKind::Serial,
        ),
        (
            "f16 weights",
            &f16_model,
            Precision::F16,
            MatmulKind::Registers,
            WkvKind::Serial,
        ),
        (
            "f16 weights, tiled, chunked",
            &f16_model,
            Precision::F16,
            MatmulKind::Tiled,
            WkvKind::Chunked(64),
        ),
    ];
    for (name, ck, precision, matmul, wkv) in paths {
        let cpu = CpuEngine::new(ck).unwrap();
        let opts = GpuOptions {
            precision,
            matmul,
            wkv,
            ..GpuOptions::default()
        };
        let mut engine = gpu(ck, opts);
        for len in [1, 513, 1025, 4097] {
            let e = worst_error(&mut engine, &cpu, &[sequence(len, 3)]);
            println!("{name}, T = {len}: worst error {e:.2e}");
        }
    }
}

/// The state one pass hands the next (token-shift inputs and WKV state) equals the
/// reference's state after the same prefix.
#[test]
fn carried_state_matches_the_reference() {
    let ck = model(DType::F32);
    let cpu = CpuEngine::new(&ck).unwrap();
    for (len, cap) in [(4097, 4096), (5000, 4096), (2048, 1000)] {
        let opts = GpuOptions {
            max_batch_tokens: cap,
            ..GpuOptions::default()
        };
        let mut engine = gpu(&ck, opts);
        let seq = sequence(len, 5);
        engine.forward_hidden(std::slice::from_ref(&seq)).unwrap();
        let got = engine.carried_state().unwrap();
        // the last pass starts at the last multiple of the cap below the length
        let prefix = (len - 1) / cap * cap;
        let (_, states) = forward_with(cpu.weights(), &[seq[..prefix].to_vec()], true, |_, _| {})
            .expect("reference");
        for (l, (g, w)) in got.iter().zip(states.unwrap()).enumerate() {
            let errors = [
                max_err(&g.att_shift, &w.att_shift),
                max_err(&g.wkv, &w.wkv),
                max_err(&g.ffn_shift, &w.ffn_shift),
            ];
            let e = errors.iter().copied().fold(0.0, f32::max);
            assert!(
                e <= TOL,
                "T={len}, cap {cap}, layer {l}: carried state off by {errors:?}"
            );
            println!("T = {len}, passes of {cap}: layer {l} carried state error {e:.2e}");
        }
    }
}
