//! The attention models' plain-Rust reference against goldens written by the
//! `transformers` package: the BERT encoder (`scripts/make_attention_goldens.py`,
//! `tests/fixtures/tiny-bert`), the GPT-2 decoder (`scripts/make_decoder_goldens.py`,
//! `tests/fixtures/tiny-gpt2`) and the Llama decoder (`scripts/make_llama_goldens.py`,
//! `tests/fixtures/tiny-llama`: RoPE, grouped-query attention, RMSNorm, SwiGLU): every
//! layer, every position, the masked mean pooling, and the directories' packaging
//! (tokenizer with special tokens and truncation, pooling).

use crate::common::{fixture, max_err, run_ok, scratch, Golden};
use rwkv_lens::attention::forward::forward_with;
use rwkv_lens::attention::sentence::{encoder_dir, SentenceEncoder};
use rwkv_lens::attention::{AttentionEngine, TransformerWeights};
use rwkv_lens::embed::{Engine, Pooling};

/// The RWKV goldens' tolerance: max |a − b| / max(1, max |b|) per tensor.
const TOL: f32 = 1e-5;
const FIXTURES: [&str; 3] = ["tiny-bert", "tiny-gpt2", "tiny-llama"];

fn sequences(golden: &Golden) -> Vec<Vec<u32>> {
    (0..golden.sequences()).map(|s| golden.tokens(s)).collect()
}

#[test]
fn every_layer_matches_transformers() {
    for name in FIXTURES {
        let weights = TransformerWeights::load(&fixture(name)).unwrap();
        let golden = Golden::open(name);
        let seqs = sequences(&golden);
        let (c, layers) = (weights.config.hidden, weights.config.n_layer);
        let mut seen = 0;
        let mut worst = vec![0.0f32; layers + 1];
        // all sequences packed in one call: each must still see only its own tokens
        forward_with(&weights, &seqs, |l, x| {
            let mut start = 0;
            for (s, seq) in seqs.iter().enumerate() {
                let want = golden.f32(&format!("hidden.{s}"));
                assert_eq!(want.shape, vec![layers + 1, seq.len(), c]);
                let n = seq.len() * c;
                let err = max_err(&x[start * c..start * c + n], &want.data[l * n..(l + 1) * n]);
                worst[l] = worst[l].max(err);
                assert!(
                    err < TOL,
                    "{name} seq {s} layer {l}: scaled max err {err:e}"
                );
                start += seq.len();
            }
            seen += 1;
        })
        .unwrap();
        assert_eq!(seen, layers + 1);
        println!("{name}: scaled max err per layer {worst:?}");
    }
}

#[test]
fn mean_pooling_matches_the_masked_mean_of_a_padded_batch() {
    for (name, family) in FIXTURES.into_iter().zip(["BERT", "GPT-2", "Llama"]) {
        let weights = TransformerWeights::load(&fixture(name)).unwrap();
        let layers: Vec<usize> = (0..=weights.config.n_layer).collect();
        let mut engine = AttentionEngine::new(weights);
        let golden = Golden::open(name);
        let seqs = sequences(&golden);
        let emb = engine
            .embed_tokens(&seqs, &layers, &[Pooling::Mean])
            .unwrap();
        for s in 0..seqs.len() {
            let want = golden.f32(&format!("mean.{s}"));
            for &l in &layers {
                let c = emb.dim;
                let err = max_err(emb.get(0, l, s), &want.data[l * c..(l + 1) * c]);
                assert!(
                    err < TOL,
                    "{name} seq {s} layer {l}: mean pooling err {err:e}"
                );
            }
        }
        assert_eq!(engine.config().n_layer, 3);
        assert_eq!(engine.config().arch.name(), family);
        let err = engine
            .embed_tokens(&seqs, &[4], &[Pooling::Mean])
            .unwrap_err();
        assert!(err.to_string().contains("layer 4 is out of range"), "{err}");
    }
}

/// Causal: a prefix gets exactly the hidden states it has inside the longer sequence.
#[test]
fn the_decoders_never_look_ahead() {
    for name in ["tiny-gpt2", "tiny-llama"] {
        let weights = TransformerWeights::load(&fixture(name)).unwrap();
        let seq = sequences(&Golden::open(name))[3].clone();
        let c = weights.config.hidden;
        let mut full = Vec::new();
        forward_with(&weights, std::slice::from_ref(&seq), |_, x| {
            full.push(x.to_vec())
        })
        .unwrap();
        let mut prefix = Vec::new();
        forward_with(&weights, &[seq[..10].to_vec()], |_, x| {
            prefix.push(x.to_vec())
        })
        .unwrap();
        for (l, (f, p)) in full.iter().zip(&prefix).enumerate() {
            assert!(max_err(p, &f[..10 * c]) < 1e-6, "{name} layer {l}");
        }
    }
}

#[test]
fn sentence_transformers_directory_tokenizes_like_the_hub() {
    let enc = encoder("tiny-bert");
    let dir = fixture("tiny-bert");
    assert_eq!(encoder_dir(&dir.join("model.safetensors")), Some(dir));
    assert_eq!(
        encoder_dir(&fixture("tiny-v6")),
        None,
        "an RWKV folder is no encoder"
    );
    assert_eq!((enc.max_seq_length, enc.pooling), (32, Pooling::Mean));
    // [CLS] … [SEP], truncated to max_seq_length, never padded
    tokenizes_texts_like_the_golden("tiny-bert", &enc, 3);
}

#[test]
fn gpt2_directory_tokenizes_like_transformers() {
    let enc = encoder("tiny-gpt2");
    // no sentence-transformers files: every learned position, mean pooling
    assert_eq!((enc.max_seq_length, enc.pooling), (64, Pooling::Mean));
    // byte-level BPE, no special tokens added
    tokenizes_texts_like_the_golden("tiny-gpt2", &enc, 3);
}

#[test]
fn llama_directory_reads_grouped_query_attention_and_rope() {
    let enc = encoder("tiny-llama");
    let cfg = &enc.weights.config;
    // transformers 5 writes `rope_parameters`; 4's `rope_theta` is read too (tests/it/errors.rs)
    assert_eq!((cfg.n_head, cfg.n_kv_head, cfg.rope_theta), (4, 2, 10000.0));
    assert_eq!((enc.max_seq_length, enc.pooling), (64, Pooling::Mean));
    tokenizes_texts_like_the_golden("tiny-llama", &enc, 3);
}

/// The fixture `name` as `--model DIR` takes it: found to be an encoder directory, loaded.
fn encoder(name: &str) -> SentenceEncoder {
    let dir = fixture(name);
    assert_eq!(encoder_dir(&dir), Some(dir.clone()), "{name}");
    SentenceEncoder::load(&dir).unwrap()
}

fn tokenizes_texts_like_the_golden(name: &str, enc: &SentenceEncoder, count: usize) {
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(name).join("meta.json")).unwrap())
            .unwrap();
    let golden = Golden::open(name);
    let texts = meta["texts"].as_object().unwrap();
    assert_eq!(texts.len(), count);
    for (s, text) in texts {
        let s: usize = s.parse().unwrap();
        let got = enc.tokenizer.encode(text.as_str().unwrap()).unwrap();
        assert_eq!(got, golden.tokens(s), "{name} text {s}");
    }
}

/// `rwkv-lens embed --model DIR` detects the GPT-2 directory, tokenizes with its own
/// tokenizer.json and writes the mean-pooled layers `transformers` gives.
#[test]
fn embed_cli_reads_a_gpt2_directory() {
    let dir = scratch("embed-gpt2");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("tiny-gpt2/meta.json")).unwrap())
            .unwrap();
    let texts: Vec<(usize, &str)> = (meta["texts"].as_object().unwrap().iter())
        .map(|(s, t)| (s.parse().unwrap(), t.as_str().unwrap()))
        .collect();
    let lines: Vec<&str> = texts.iter().map(|(_, t)| *t).collect();
    std::fs::write(dir.join("input.txt"), lines.join("\n")).unwrap();
    run_ok(
        std::process::Command::new(env!("CARGO_BIN_EXE_rwkv-lens"))
            .args(["embed", "--device", "cpu", "--model"])
            .arg(fixture("tiny-gpt2"))
            .args(["-o", "out.safetensors", "input.txt"])
            .current_dir(&dir),
    );
    let bytes = std::fs::read(dir.join("out.safetensors")).unwrap();
    let got = rwkv_lens::model::checkpoint::read_safetensors("out", &bytes).unwrap();
    let golden = Golden::open("tiny-gpt2");
    for l in 0..=3 {
        let name = format!("layer{l}.mean");
        let t = &got.iter().find(|(n, _)| *n == name).expect("every layer").1;
        let c = t.shape[1];
        for (row, (s, _)) in t.to_f32().chunks_exact(c).zip(&texts) {
            let want = golden.f32(&format!("mean.{s}"));
            let err = max_err(row, &want.data[l * c..(l + 1) * c]);
            assert!(err < TOL, "text {s} layer {l}: {err:e}");
        }
    }
}
