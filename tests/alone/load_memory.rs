//! Native streaming load: the host memory that building a GPU engine needs beyond its own
//! device buffers is bounded by the largest tensor, not by the checkpoint's size.
//!
//! Two random f16 checkpoints (C=512 × 6 layers, 108 MB; C=1024 × 12 layers, 460 MB) are
//! written, memory-mapped and built at f16 and int8 on the default adapter. On lavapipe
//! device buffers are host memory too, so the host overhead is
//! `peak RssAnon while loading and building − RssAnon before − the engine's device peak`.
//! The bound, [`FIXED`] plus four copies of the largest projection as f32 (read,
//! converted, quantized, staged), is the same for both files and below the larger one:
//! a loader that held the file would fail it. Numbers: docs/quantization.md.
//!
//! `make test-load-memory` (part of `make test`; about 20 s: `#[ignore]`d so that it runs
//! alone in its process, without other tests' allocations).

use crate::common;

use rwkv_lens::gpu::{GpuEngine, GpuOptions, Precision};
use rwkv_lens::io::write_atomic;
use rwkv_lens::kit::memory::{anon_rss_bytes, AnonPeak};
use rwkv_lens::model::checkpoint::write_safetensors;
use rwkv_lens::model::load::load;
use rwkv_lens::model::random::{random_tensors, RandomSpec};
use rwkv_lens::model::DType;

const MIB: u64 = 1 << 20;
/// The adapter's own state (device, shader compiler, pipelines) and the engine's host-side
/// scratch. Measured on lavapipe: 0–24 MiB of overhead in all (docs/quantization.md).
const FIXED: u64 = 64 * MIB;

fn spec(n_embd: usize, n_layer: usize) -> RandomSpec {
    let mut s = RandomSpec::tiny(7);
    (s.n_embd, s.n_layer, s.ffn_dim) = (n_embd, n_layer, n_embd * 7 / 2);
    (s.vocab_size, s.dtype) = (65536, DType::F16);
    s
}

/// Host overhead of loading `path` and building the engine at `precision`.
fn overhead(path: &std::path::Path, precision: Precision) -> (u64, u64) {
    let before = anon_rss_bytes().expect("RssAnon (Linux)");
    let sampler = AnonPeak::start();
    let ck = load(path).unwrap();
    let opts = GpuOptions {
        precision,
        max_batch_tokens: 512,
        ..GpuOptions::default()
    };
    let engine = GpuEngine::new(&ck, opts).unwrap();
    let peak = sampler.stop();
    let device = engine.memory_bytes().1;
    (peak.saturating_sub(before).saturating_sub(device), device)
}

#[test]
#[ignore]
fn streaming_load_host_memory_is_bounded_by_the_largest_tensor() {
    if !common::adapter() {
        return;
    }
    let dir = common::scratch("load-memory");
    let mut largest_file = 0;
    for (c, l) in [(512, 6), (1024, 12)] {
        let s = spec(c, l);
        let path = dir.join(format!("c{c}-l{l}.safetensors"));
        write_atomic(
            &path,
            &write_safetensors(&random_tensors(&s).unwrap()).unwrap(),
        )
        .unwrap();
        let file = std::fs::metadata(&path).unwrap().len();
        largest_file = largest_file.max(file);
        let bound = FIXED + 4 * (s.ffn_dim * s.n_embd * 4) as u64;
        for precision in [Precision::F16, Precision::Int8] {
            let (host, device) = overhead(&path, precision);
            eprintln!(
                "C={c} L={l} ({} MiB file) {precision}: host overhead {} MiB (device {} MiB), bound {} MiB",
                file / MIB,
                host / MIB,
                device / MIB,
                bound / MIB
            );
            assert!(
                host < bound,
                "C={c} {precision}: {} MiB ≥ {} MiB",
                host / MIB,
                bound / MIB
            );
        }
    }
    assert!(
        FIXED + 4 * (3584 * 1024 * 4) < largest_file,
        "the bound must be below the larger file"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
