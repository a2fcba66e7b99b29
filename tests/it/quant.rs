//! Block-quantized weights (int8, NF4; docs/quantization.md): the file format round-trips,
//! the GPU kernels compute exactly what the dequantized reference computes, and the
//! per-layer error against the f16 model on the golden fixture stays within stated bounds.

use crate::common::{checkpoint, max_err, Golden};
use rwkv_lens::embed::Engine;
use rwkv_lens::gpu::{GpuEngine, GpuOptions, Hidden, MatmulKind, Precision};
use rwkv_lens::model::checkpoint::write_safetensors;
use rwkv_lens::model::quant::{is_projection, quantize_tensor, QuantFormat};
use rwkv_lens::model::{Checkpoint, DType, Tensor};
use rwkv_lens::reference::{forward, Options, Weights};

/// GPU kernels vs the reference on the same (dequantized) weights: the f32 tolerance.
const TOL_KERNEL: f32 = 1e-4;
/// Per-layer max error against the f16 model (max |q − f| / max(1, max |f|) over every
/// token's hidden state, as in tests/it/gpu_forward.rs), measured 2026-12 on tiny-v6-f16:
/// int8 [0, 0.012, 0.022, 0.024], nf4 [0, 0.19, 0.43, 0.41] (layers 0..=3).
const TOL_INT8: f32 = 0.04;
const TOL_NF4: f32 = 0.6;

fn quantized(ck: &Checkpoint, format: QuantFormat) -> Checkpoint {
    let tensors: Vec<(String, Tensor)> = ck
        .tensors()
        .map(|(n, t)| (n.clone(), quantize_tensor(n, t, format).unwrap()))
        .collect();
    let bytes = write_safetensors(&tensors).unwrap();
    Checkpoint::from_safetensors_bytes("quantized.safetensors", &bytes).unwrap()
}

fn gpu(ck: &Checkpoint, precision: Precision, max_binding: Option<u64>) -> GpuEngine {
    let opts = GpuOptions {
        precision,
        matmul: MatmulKind::Registers,
        max_binding_bytes: max_binding,
        ..Default::default()
    };
    GpuEngine::new(ck, opts).expect("GPU engine (lavapipe) starts")
}

fn sequences() -> Vec<Vec<u32>> {
    let golden = Golden::open("tiny-v6-f16");
    (0..golden.sequences()).map(|s| golden.tokens(s)).collect()
}

/// Per-layer max error of `got` against `want` over every real token.
fn layer_errors(got: &Hidden, want: &Hidden) -> Vec<f32> {
    let c = got.dim;
    (0..got.hidden.len())
        .map(|l| {
            let mut worst = 0.0f32;
            for (b, &len) in got.lengths.iter().enumerate() {
                let (g, w) = (b * got.tokens * c, b * want.tokens * c);
                let e = max_err(
                    &got.hidden[l][g..g + len * c],
                    &want.hidden[l][w..w + len * c],
                );
                worst = worst.max(e);
            }
            worst
        })
        .collect()
}

fn cpu_hidden(ck: &Checkpoint, seqs: &[Vec<u32>]) -> Hidden {
    let weights = Weights::from_checkpoint(ck).unwrap(); // dequantized at load
    let out = forward(&weights, seqs, &Options::default()).unwrap();
    Hidden {
        hidden: out.hidden,
        lengths: out.lengths,
        tokens: out.t_max,
        dim: ck.config.n_embd,
    }
}

#[test]
fn quantized_file_round_trips_and_names_what_it_holds() {
    let ck = checkpoint("tiny-v6-f16");
    for format in [QuantFormat::Int8, QuantFormat::Nf4] {
        let q = quantized(&ck, format);
        assert_eq!(q.config, ck.config);
        for (name, t) in q.tensors() {
            let want = if is_projection(name) {
                DType::Quant(format)
            } else {
                ck.get(name).unwrap().dtype
            };
            assert_eq!(t.dtype, want, "{name}");
            assert_eq!(t.shape, ck.get(name).unwrap().shape, "{name}");
        }
        // quantizing again is the identity
        let again = quantized(&q, format);
        for (name, t) in again.tensors() {
            assert_eq!(t.bytes, q.get(name).unwrap().bytes, "{name}");
        }
    }
}

#[test]
fn gpu_kernels_match_the_dequantized_reference() {
    let ck = checkpoint("tiny-v6-f16");
    let seqs = sequences();
    for format in [QuantFormat::Int8, QuantFormat::Nf4] {
        let q = quantized(&ck, format);
        let want = cpu_hidden(&q, &seqs);
        let mut engine = gpu(&q, Precision::quantized(format), None);
        let errs = layer_errors(&engine.forward_hidden(&seqs).unwrap(), &want);
        println!("{format:?} vs reference: {errs:?}");
        assert!(errs.iter().all(|&e| e < TOL_KERNEL), "{format:?}: {errs:?}");
    }
}

#[test]
fn quantized_error_against_f16_is_bounded_per_layer() {
    let ck = checkpoint("tiny-v6-f16");
    let seqs = sequences();
    let want = gpu(&ck, Precision::F16, None)
        .forward_hidden(&seqs)
        .unwrap();
    for (precision, tol) in [(Precision::Int8, TOL_INT8), (Precision::Nf4, TOL_NF4)] {
        // quantized on the fly from the f16 checkpoint while uploading
        let got = gpu(&ck, precision, None).forward_hidden(&seqs).unwrap();
        let errs = layer_errors(&got, &want);
        println!("{precision:?} vs f16, per-layer max relative error: {errs:?}");
        assert!(
            errs.iter().all(|&e| e < tol),
            "{precision:?}: {errs:?} above {tol}"
        );
    }
}

#[test]
fn device_memory_shrinks_with_the_format() {
    let ck = checkpoint("tiny-v6-f16");
    let peak = |p| gpu(&ck, p, None).peak_memory_bytes();
    let (f16, int8, nf4) = (
        peak(Precision::F16),
        peak(Precision::Int8),
        peak(Precision::Nf4),
    );
    println!("device peak: f16 {f16}, int8 {int8}, nf4 {nf4} bytes");
    assert!(nf4 < int8 && int8 < f16, "{f16} {int8} {nf4}");
}
