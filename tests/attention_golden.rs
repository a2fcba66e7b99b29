//! The BERT-family encoder's plain-Rust reference against goldens written by the
//! `transformers` package (`scripts/make_attention_goldens.py`, `tests/fixtures/tiny-bert`):
//! every layer, every position, the masked mean pooling, and the sentence-transformers
//! packaging (tokenizer with special tokens and truncation, max_seq_length, pooling).

mod common;

use common::{fixture, max_err, Golden};
use rwkv_lens::attention::forward::forward_with;
use rwkv_lens::attention::sentence::{encoder_dir, SentenceEncoder};
use rwkv_lens::attention::{BertWeights, EncoderEngine};
use rwkv_lens::embed::{Engine, Pooling};

/// The RWKV goldens' tolerance: max |a − b| / max(1, max |b|) per tensor.
const TOL: f32 = 1e-5;
const FIXTURE: &str = "tiny-bert";

fn sequences(golden: &Golden) -> Vec<Vec<u32>> {
    (0..golden.sequences()).map(|s| golden.tokens(s)).collect()
}

#[test]
fn every_layer_matches_transformers() {
    let weights = BertWeights::load(&fixture(FIXTURE)).unwrap();
    let golden = Golden::open(FIXTURE);
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
            assert!(err < TOL, "seq {s} layer {l}: scaled max err {err:e}");
            start += seq.len();
        }
        seen += 1;
    })
    .unwrap();
    assert_eq!(seen, layers + 1);
    println!("tiny-bert: scaled max err per layer {worst:?}");
}

#[test]
fn mean_pooling_matches_the_masked_mean_of_a_padded_batch() {
    let weights = BertWeights::load(&fixture(FIXTURE)).unwrap();
    let layers: Vec<usize> = (0..=weights.config.n_layer).collect();
    let mut engine = EncoderEngine::new(weights);
    let golden = Golden::open(FIXTURE);
    let seqs = sequences(&golden);
    let emb = engine
        .embed_tokens(&seqs, &layers, &[Pooling::Mean])
        .unwrap();
    for s in 0..seqs.len() {
        let want = golden.f32(&format!("mean.{s}"));
        for &l in &layers {
            let c = emb.dim;
            let err = max_err(emb.get(0, l, s), &want.data[l * c..(l + 1) * c]);
            assert!(err < TOL, "seq {s} layer {l}: mean pooling err {err:e}");
        }
    }
    assert_eq!(engine.config().n_layer, 3);
    assert_eq!(engine.config().version.name(), "BERT");
}

#[test]
fn sentence_transformers_directory_tokenizes_like_the_hub() {
    let dir = fixture(FIXTURE);
    assert_eq!(encoder_dir(&dir), Some(dir.clone()));
    assert_eq!(
        encoder_dir(&dir.join("model.safetensors")),
        Some(dir.clone())
    );
    assert_eq!(
        encoder_dir(&fixture("tiny-v6")),
        None,
        "an RWKV folder is no encoder"
    );
    let enc = SentenceEncoder::load(&dir).unwrap();
    assert_eq!((enc.max_seq_length, enc.pooling), (32, Pooling::Mean));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
    let golden = Golden::open(FIXTURE);
    let texts = meta["texts"].as_object().unwrap();
    assert_eq!(texts.len(), 3);
    for (s, text) in texts {
        let s: usize = s.parse().unwrap();
        let got = enc.tokenizer.encode(text.as_str().unwrap()).unwrap();
        // [CLS] … [SEP], truncated to max_seq_length, never padded
        assert_eq!(got, golden.tokens(s), "text {s}");
    }
}
