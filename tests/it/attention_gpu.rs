//! The attention models on the GPU (lavapipe here) against the `transformers` goldens of
//! `tests/fixtures/tiny-bert`, `tiny-gpt2` and `tiny-llama` (every layer, every real position, one
//! right-padded batch) and against the CPU reference's pooled embeddings; same tolerance
//! as RWKV's GPU path.

use crate::common::{fixture, max_err, Golden};
use rwkv_lens::attention::{AttentionEngine, TransformerWeights};
use rwkv_lens::embed::{Engine, Pooling};
use rwkv_lens::gpu::{GpuAttention, GpuOptions};

const TOL_F32: f32 = 1e-4;
const FIXTURES: [&str; 3] = ["tiny-bert", "tiny-gpt2", "tiny-llama"];

fn setup(name: &str) -> (TransformerWeights, GpuAttention, Golden, Vec<Vec<u32>>) {
    let weights = TransformerWeights::load(&fixture(name)).unwrap();
    let gpu = GpuAttention::new(&weights, GpuOptions::default()).expect("GPU (lavapipe) starts");
    let golden = Golden::open(name);
    let seqs = (0..golden.sequences()).map(|s| golden.tokens(s)).collect();
    (weights, gpu, golden, seqs)
}

#[test]
fn gpu_matches_transformers_per_layer() {
    for name in FIXTURES {
        let (weights, mut gpu, golden, seqs) = setup(name);
        let (c, n_layer) = (weights.config.hidden, weights.config.n_layer);
        let layers: Vec<usize> = (0..=n_layer).rev().collect(); // any order comes back as asked
        let hidden = pollster::block_on(gpu.forward_async(&seqs, &layers)).unwrap();
        let t_max = seqs.iter().map(Vec::len).max().unwrap();
        let mut worst = vec![0.0f32; n_layer + 1];
        for (b, seq) in seqs.iter().enumerate() {
            let n = seq.len() * c;
            let want = golden.f32(&format!("hidden.{b}"));
            for (x, &l) in hidden.iter().zip(&layers) {
                let got = &x[b * t_max * c..b * t_max * c + n];
                let err = max_err(got, &want.data[l * n..(l + 1) * n]);
                worst[l] = worst[l].max(err);
            }
        }
        println!(
            "{name} on {}: scaled max err per layer {worst:?}",
            gpu.name()
        );
        assert!(worst.iter().all(|&e| e < TOL_F32), "{name}: {worst:?}");
    }
}

#[test]
fn gpu_pooling_matches_the_cpu_reference() {
    for name in FIXTURES {
        let (weights, mut gpu, _, seqs) = setup(name);
        let layers = [0, 2, 3];
        let poolings = [Pooling::Mean, Pooling::Last];
        let want = AttentionEngine::new(weights)
            .embed_tokens(&seqs, &layers, &poolings)
            .unwrap();
        let got = gpu.embed_tokens(&seqs, &layers, &poolings).unwrap();
        for p in 0..poolings.len() {
            for (l, layer) in layers.iter().enumerate() {
                for s in 0..seqs.len() {
                    let err = max_err(got.get(p, l, s), want.get(p, l, s));
                    assert!(
                        err < TOL_F32,
                        "{name} pooling {p} layer {layer} seq {s}: {err:e}"
                    );
                }
            }
        }
        assert!(gpu.peak_memory_bytes() > 0);
    }
}
