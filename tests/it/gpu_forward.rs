//! The GPU engine (on lavapipe here) against the golden files of the official `rwkv`
//! package and the plain-Rust reference: per-token hidden states of every layer, pooled
//! embeddings, f32 and f16 weights, both matmul kernels, batches split across passes.

use crate::common::{checkpoint, max_err, Golden};
use rwkv_lens::embed::{Embeddings, Engine, Pooling};
use rwkv_lens::gpu::{GpuEngine, GpuOptions, Hidden, MatmulKind, Precision, ReduceKind, WkvKind};
use rwkv_lens::reference::CpuEngine;

const TOL_F32: f32 = 1e-4;
const TOL_F16: f32 = 2e-3;

fn engine(name: &str, opts: GpuOptions) -> GpuEngine {
    GpuEngine::new(&checkpoint(name), opts).expect("GPU engine (lavapipe) starts")
}

fn golden_sequences(name: &str) -> (Golden, Vec<Vec<u32>>) {
    let golden = Golden::open(name);
    let seqs = (0..golden.sequences()).map(|s| golden.tokens(s)).collect();
    (golden, seqs)
}

/// Worst error per layer of the GPU hidden states against the official package's.
fn hidden_errors(golden: &Golden, seqs: &[Vec<u32>], got: &Hidden) -> Vec<f32> {
    let (c, n_out) = (got.dim, got.hidden.len());
    let mut worst = vec![0.0f32; n_out];
    for (b, seq) in seqs.iter().enumerate() {
        let len = seq.len();
        let want = golden.f32(&format!("hidden.{b}"));
        assert_eq!(want.shape, vec![n_out, len, c]);
        for (l, w) in worst.iter_mut().enumerate() {
            let row = b * got.tokens * c;
            let g = &got.hidden[l][row..row + len * c];
            *w = w.max(max_err(g, &want.data[l * len * c..(l + 1) * len * c]));
        }
    }
    worst
}

/// Worst error per (pooling, layer) of GPU pooled embeddings against the CPU reference.
fn pooled_errors(gpu: &Embeddings, cpu: &Embeddings) -> Vec<f32> {
    let mut worst = vec![0.0f32; gpu.poolings.len() * gpu.layers.len()];
    for p in 0..gpu.poolings.len() {
        for l in 0..gpu.layers.len() {
            for t in 0..gpu.n {
                let e = max_err(gpu.get(p, l, t), cpu.get(p, l, t));
                let w = &mut worst[p * gpu.layers.len() + l];
                *w = w.max(e);
            }
        }
    }
    worst
}

fn check_against_goldens(name: &str, precision: Precision, matmul: MatmulKind, tol: f32) {
    let opts = GpuOptions {
        precision,
        matmul,
        ..Default::default()
    };
    check_options_against_goldens(name, opts, tol);
}

fn check_options_against_goldens(name: &str, opts: GpuOptions, tol: f32) {
    let (precision, matmul) = (opts.precision, opts.matmul);
    let mut gpu = engine(name, opts);
    let (golden, seqs) = golden_sequences(name);
    let hidden = gpu.forward_hidden(&seqs).unwrap();
    let errs = hidden_errors(&golden, &seqs, &hidden);
    println!("{name} {precision:?} {matmul:?}: per-token max err per layer {errs:?}");
    assert!(
        errs.iter().all(|&e| e < tol),
        "{name}: per-layer errors {errs:?} above {tol}"
    );

    let layers: Vec<usize> = (0..=gpu.config().n_layer).collect();
    let poolings = [Pooling::Mean, Pooling::Last];
    let got = gpu.embed_tokens(&seqs, &layers, &poolings).unwrap();
    let want = CpuEngine::new(&checkpoint(name))
        .unwrap()
        .embed_tokens(&seqs, &layers, &poolings)
        .unwrap();
    let errs = pooled_errors(&got, &want);
    println!("{name} {precision:?} {matmul:?}: pooled (mean.., last..) max err per layer {errs:?}");
    assert!(
        errs.iter().all(|&e| e < tol),
        "{name}: pooled errors {errs:?} above {tol}"
    );
}

#[test]
fn f32_weights_match_official_package_per_layer() {
    check_against_goldens("tiny-v6", Precision::F32, MatmulKind::Registers, TOL_F32);
}

#[test]
fn f16_weights_match_official_package_per_layer() {
    check_against_goldens(
        "tiny-v6-f16",
        Precision::F16,
        MatmulKind::Registers,
        TOL_F16,
    );
}

#[test]
fn tiled_matmul_matches_too() {
    check_against_goldens("tiny-v6", Precision::F32, MatmulKind::Tiled, TOL_F32);
    check_against_goldens("tiny-v6-f16", Precision::F16, MatmulKind::Tiled, TOL_F16);
}

/// The norms' two reductions, each forced: subgroup sums (lavapipe has `Features::SUBGROUP`;
/// an adapter without it fails here in one line) and the workgroup-memory tree.
#[test]
fn both_norm_reductions_match_the_goldens() {
    for reduce in [ReduceKind::Subgroup, ReduceKind::Workgroup] {
        for (name, precision, tol) in [
            ("tiny-v6", Precision::F32, TOL_F32),
            ("tiny-v6-f16", Precision::F16, TOL_F16),
        ] {
            println!("norms' sums: {reduce:?}");
            let opts = GpuOptions {
                precision,
                reduce,
                ..Default::default()
            };
            check_options_against_goldens(name, opts, tol);
        }
    }
}

/// Batch vs alone on the default kernels, and on the GPU-oriented ones (tiled matmul,
/// chunked WKV) with f32 and f16 weights.
#[test]
fn unequal_lengths_in_one_batch_equal_each_sentence_alone() {
    let gpu_kernels = |precision| GpuOptions {
        precision,
        matmul: MatmulKind::Tiled,
        wkv: WkvKind::Chunked(8),
        ..Default::default()
    };
    for (name, opts) in [
        ("tiny-v6", GpuOptions::default()),
        ("tiny-v6", gpu_kernels(Precision::F32)),
        ("tiny-v6-f16", gpu_kernels(Precision::F16)),
    ] {
        let mut gpu = engine(name, opts);
        let kernels = gpu.kernels();
        let (_, seqs) = golden_sequences(name);
        let batch = gpu.forward_hidden(&seqs).unwrap();
        let c = batch.dim;
        for (b, seq) in seqs.iter().enumerate() {
            let alone = gpu.forward_hidden(std::slice::from_ref(seq)).unwrap();
            for l in 0..batch.hidden.len() {
                let row = b * batch.tokens * c;
                let got = &batch.hidden[l][row..row + seq.len() * c];
                let err = max_err(got, &alone.hidden[l]);
                assert!(
                    err <= 1e-6,
                    "{name}, {kernels}: sequence {b} layer {l}: batch differs from alone by {err:e}"
                );
            }
        }
    }
}

#[test]
fn batches_beyond_one_pass_give_the_same_results() {
    let (_, seqs) = golden_sequences("tiny-v6");
    let layers = [0, 1, 2, 3];
    let poolings = [Pooling::Mean, Pooling::Last];
    let mut one_pass = engine("tiny-v6", GpuOptions::default());
    let want_h = one_pass.forward_hidden(&seqs).unwrap();
    let want_e = one_pass.embed_tokens(&seqs, &layers, &poolings).unwrap();
    // 16 tokens per pass: four groups, and the 23- and 40-token sequences in time chunks
    // that carry the token-shift and WKV states; a 96 KiB binding limit also splits the
    // FFN matrices into row blocks.
    for opts in [
        GpuOptions {
            max_batch_tokens: 16,
            ..Default::default()
        },
        GpuOptions {
            max_binding_bytes: Some(96 << 10),
            ..Default::default()
        },
        GpuOptions {
            max_batch_tokens: 7,
            max_binding_bytes: Some(96 << 10),
            ..Default::default()
        },
    ] {
        let label = format!(
            "tokens ≤ {}, binding ≤ {:?}",
            opts.max_batch_tokens, opts.max_binding_bytes
        );
        let mut split = engine("tiny-v6", opts);
        let got_h = split.forward_hidden(&seqs).unwrap();
        for l in 0..want_h.hidden.len() {
            let err = max_err(&got_h.hidden[l], &want_h.hidden[l]);
            assert!(err < 1e-5, "{label}: layer {l} hidden differs by {err:e}");
        }
        let got_e = split.embed_tokens(&seqs, &layers, &poolings).unwrap();
        let errs = pooled_errors(&got_e, &want_e);
        assert!(
            errs.iter().all(|&e| e < 1e-5),
            "{label}: pooled errors {errs:?}"
        );
    }
}

#[test]
fn bad_input_and_bad_adapter_are_clear_errors() {
    let mut gpu = engine("tiny-v6", GpuOptions::default());
    let err = gpu
        .embed_tokens(&[vec![1, 600]], &[1], &[Pooling::Mean])
        .unwrap_err()
        .to_string();
    assert!(err.contains("token id 600") && err.contains("512"), "{err}");
    let err = gpu
        .embed_tokens(&[vec![1]], &[9], &[Pooling::Mean])
        .unwrap_err()
        .to_string();
    assert!(err.contains("layer 9"), "{err}");
    let refused = |opts: GpuOptions| {
        let engine = GpuEngine::new(&checkpoint("tiny-v6"), opts);
        engine.err().expect("a bad option fails").to_string()
    };
    let err = refused(GpuOptions {
        adapter: Some("no-such-gpu-xyz".into()),
        ..Default::default()
    });
    assert!(
        err.starts_with("GPU: no adapter matches `no-such-gpu-xyz`"),
        "{err}"
    );
    let err = refused(GpuOptions {
        backend: Some("glide".into()),
        ..Default::default()
    });
    assert!(err.contains("unknown backend `glide`"), "{err}");
}

#[test]
fn profile_times_every_kernel_with_timestamp_queries() {
    let mut gpu = engine(
        "tiny-v6",
        GpuOptions {
            profile: true,
            ..Default::default()
        },
    );
    let (_, seqs) = golden_sequences("tiny-v6");
    gpu.embed_tokens(&seqs, &[3], &[Pooling::Mean]).unwrap();
    let profile = gpu.last_profile().expect("lavapipe has timestamp queries");
    let table = profile.table();
    println!("{table}");
    let calls = |label: &str| {
        profile
            .rows
            .iter()
            .find(|r| r.label == label)
            .map(|r| r.calls)
    };
    assert_eq!(calls("att.wkv"), Some(3), "{table}");
    assert_eq!(calls("att.ddlerp"), Some(15), "{table}");
    assert_eq!(calls("pool"), Some(4), "{table}");
    // 2 + 3·(17 + 6) dispatches: ln0, pool(0); per block 17 in the time-mix and 6 in the
    // channel-mix (its two token shifts are one dispatch), every one timed once (the chunked
    // WKV phases are not in this pass)
    let dispatched: usize = profile.rows.iter().map(|r| r.calls).sum();
    let longest = seqs.iter().map(Vec::len).max().unwrap();
    assert_eq!(
        dispatched,
        gpu.dispatches_run(seqs.len(), longest),
        "{table}"
    );
    assert!(profile.total_ms() > 0.0 && profile.rows.iter().all(|r| r.ms >= 0.0));
}

#[test]
fn chunked_wkv_equals_serial_wkv_and_goldens() {
    let (golden, seqs) = golden_sequences("tiny-v6");
    let mut serial = engine(
        "tiny-v6",
        GpuOptions {
            wkv: WkvKind::Serial,
            ..Default::default()
        },
    );
    let want = serial.forward_hidden(&seqs).unwrap();
    // chunk lengths that do and do not divide the lengths 1, 7, 23, 40; then passes of
    // 16 tokens, so the scan also starts from and saves a carried state
    for (chunk, max_batch_tokens) in [(4, 4096), (16, 4096), (64, 4096), (5, 16)] {
        let opts = GpuOptions {
            wkv: WkvKind::Chunked(chunk),
            max_batch_tokens,
            ..Default::default()
        };
        let mut chunked = engine("tiny-v6", opts);
        let got = chunked.forward_hidden(&seqs).unwrap();
        for l in 0..want.hidden.len() {
            let err = max_err(&got.hidden[l], &want.hidden[l]);
            assert!(err < 1e-5, "chunk {chunk}, pass ≤ {max_batch_tokens}: layer {l} differs from serial by {err:e}");
        }
        let errs = hidden_errors(&golden, &seqs, &got);
        println!("chunked WKV (L={chunk}, pass ≤ {max_batch_tokens} tokens): max err per layer vs official {errs:?}");
        assert!(errs.iter().all(|&e| e < TOL_F32), "{errs:?}");
    }
}
