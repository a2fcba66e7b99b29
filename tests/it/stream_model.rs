//! The ~170M-shaped random checkpoint the browser streams (`tests/e2e/stream.mjs`):
//! C=768, 12 layers, FFN 2688, vocabulary 50277, f16, seed 13 — what
//! `rwkv-lens random-model --layers 12 --embd 768 --vocab 50277 --seed 13 --dtype f16`
//! writes. Its per-layer similarities with the CPU reference at each weight format the
//! page offers — as stored (f16), int8 and NF4 (the projections quantized exactly as the
//! page quantizes them while streaming: `quant::quantize` of the f32 values) — equal
//! `tests/e2e/stream-expected.json`, which the browser is held to.
//!
//! The tokenizer is `tests/fixtures/tokenizer/tiny_bpe.json`; the page gets it padded to
//! 50277 entries that no merge produces, so the token ids are the same.
//!
//! Regenerate the expected file: `RWKV_LENS_UPDATE_EXPECTED=1 cargo test --test it -- stream_model::`.

use crate::common;

use std::collections::BTreeMap;

use crate::common::pairs::{assert_close, similarities, Table};
use rwkv_lens::model::quant::quantize_tensor;
use rwkv_lens::model::random::{random_tensors, RandomSpec};
use rwkv_lens::model::{Checkpoint, DType, QuantFormat};
use rwkv_lens::tokenizer::Tokenizer;

/// The e2e's checkpoint (see the module comment for the equivalent command).
fn spec() -> RandomSpec {
    let mut spec = RandomSpec::tiny(13);
    (spec.n_layer, spec.n_embd, spec.ffn_dim) = (12, 768, 2688);
    (spec.vocab_size, spec.dtype) = (50277, DType::F16);
    spec
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Expected {
    /// The command that writes the e2e's checkpoint (stream.mjs runs it).
    command: String,
    pairs: Vec<(String, String)>,
    /// Page weight format (`stored`, `int8`, `nf4`) → similarities.
    formats: BTreeMap<String, Table>,
}

/// The checkpoint with its projections in `format` (`None`: as stored).
fn at_format(
    tensors: &[(String, rwkv_lens::model::Tensor)],
    format: Option<QuantFormat>,
) -> Checkpoint {
    let raw = tensors
        .iter()
        .map(|(n, t)| match format {
            Some(f) => (n.clone(), quantize_tensor(n, t, f).unwrap()),
            None => (n.clone(), t.clone()),
        })
        .collect();
    Checkpoint::from_tensors("stream-170m", raw, 0).unwrap()
}

#[test]
fn streamed_model_numbers_match_expected_file() {
    let path = common::fixture("../e2e/stream-expected.json");
    let text = std::fs::read_to_string(&path).expect("tests/e2e/stream-expected.json");
    let want: Expected = serde_json::from_str(&text).unwrap();
    let tok =
        Tokenizer::from_spec(common::fixture("tokenizer/tiny_bpe.json").to_str().unwrap()).unwrap();
    let tensors = random_tensors(&spec()).unwrap();
    let mut got = BTreeMap::new();
    for (name, format) in [
        ("stored", None),
        ("int8", Some(QuantFormat::Int8)),
        ("nf4", Some(QuantFormat::Nf4)),
    ] {
        let ck = at_format(&tensors, format);
        got.insert(name.to_string(), similarities(&ck, &tok, &want.pairs));
    }
    if std::env::var("RWKV_LENS_UPDATE_EXPECTED").is_ok() {
        let out = Expected {
            formats: got,
            ..want
        };
        let json = serde_json::to_string_pretty(&out).unwrap();
        std::fs::write(&path, json + "\n").unwrap();
        return;
    }
    for (format, table) in &want.formats {
        assert_close(&format!("{format} mean"), &got[format].mean, &table.mean);
        assert_close(&format!("{format} last"), &got[format].last, &table.last);
    }
    assert_eq!(want.formats.len(), 3, "stored, int8 and nf4");
}
