//! The whole study pipeline with a fake engine whose embeddings are known in closed
//! form: token t at layer l has hidden state onehot(letter(t)) + l·e₃ (letters a, b, c
//! → dims 0, 1, 2), so mean pooling gives [f_a, f_b, f_c, l] and last pooling
//! onehot(last letter) + l·e₃. Fixture tests/fixtures/study/tiny.tsv:
//!   aa|aa 5 news · ab|aab 3 news · a|b 2 captions · abc|c 1 captions

use crate::common;

use std::path::PathBuf;

use crate::common::{fake_model, Calls, Fault};
use rwkv_lens::embed::Pooling;
use rwkv_lens::study::evaluate::GroupKind;
use rwkv_lens::study::metrics::pearson;
use rwkv_lens::study::{run, Preset, StudyArgs, StudyModel, StudyReport};

fn fake(calls: &Calls, n_layer: usize, path: Option<PathBuf>) -> StudyModel<'static> {
    fake_model(calls, n_layer, path, Fault::None)
}

fn fixture(name: &str) -> PathBuf {
    common::fixture(&format!("study/{name}"))
}

fn tiny_args() -> StudyArgs {
    StudyArgs {
        tasks: vec![format!("pairs:{}", fixture("tiny.tsv").display())],
        layers: Some("0,2".into()),
        pooling: Some("mean,last".into()),
        glove: Some(fixture("tiny_glove.txt")),
        batch_size: 3,
        bootstrap: 50,
        anisotropy_pairs: 200,
        ..Default::default()
    }
}

fn all_row<'a>(
    r: &'a StudyReport,
    model: &str,
    pooling: Option<Pooling>,
    layer: Option<usize>,
) -> &'a rwkv_lens::study::evaluate::Row {
    r.rows
        .iter()
        .find(|x| {
            x.group == GroupKind::All
                && x.model == model
                && x.pooling == pooling
                && x.layer == layer
        })
        .unwrap()
}

#[test]
fn hand_computed_scores_through_the_pipeline() {
    let calls: Calls = Default::default();
    let ckpt = common::scratch("hash").join("model.bin");
    std::fs::write(&ckpt, b"abc").unwrap();
    let report = run(&tiny_args(), &mut [fake(&calls, 3, Some(ckpt))], false).unwrap();
    // Layer 0, mean: cosines 1, 3/√10, 0, 1/√3 against gold 5, 3, 2, 1:
    // ranks 4,3,1,2 vs 4,3,2,1 → ρ = 1 − 6·2/(4·15) = 0.8.
    let mean0 = all_row(&report, "fake", Some(Pooling::Mean), Some(0));
    assert!((mean0.spearman.unwrap() - 80.0).abs() < 1e-9);
    let sims = [1.0, 3.0 / 10f64.sqrt(), 0.0, 1.0 / 3f64.sqrt()];
    let expected_pearson = pearson(&sims, &[5.0, 3.0, 2.0, 1.0]).unwrap() * 100.0;
    assert!((mean0.pearson.unwrap() - expected_pearson).abs() < 1e-5);
    // Layer 0, last: cosines 1, 1, 0, 1 → ranks 3,3,1,3 vs 4,3,2,1 → ρ = 1/√15.
    let last0 = all_row(&report, "fake", Some(Pooling::Last), Some(0));
    assert!((last0.spearman.unwrap() - 100.0 / 15f64.sqrt()).abs() < 1e-9);
    // The shared l·e₃ component makes layer 2 more anisotropic than layer 0.
    let mean2 = all_row(&report, "fake", Some(Pooling::Mean), Some(2));
    assert!(mean2.anisotropy.unwrap() > mean0.anisotropy.unwrap() + 0.3);
    // GloVe: `aab` and `c` have no known word → pairs 2 and 4 score 0 and are counted;
    // cosines 1, 0, cos(a, b) = 0, 0 → ranks 4,2,2,2 vs 4,3,2,1 → ρ = 3/√15.
    let glove = all_row(&report, "glove-6b-50d", None, None);
    assert_eq!(glove.undefined_pairs, 2);
    assert!((glove.spearman.unwrap() - 300.0 / 15f64.sqrt()).abs() < 1e-9);
    let cov = report.tasks[0].glove.as_ref().unwrap();
    assert_eq!((cov.sentences_without_vector, cov.undefined_pairs), (2, 2));
    assert!(report
        .notes
        .iter()
        .any(|n| n.contains("2 sentences have no known GloVe word")));
    // Identity: xxh64("abc") and the engine's profile.
    let file = report.models[0].file.as_ref().unwrap();
    assert_eq!((file.xxh64.as_str(), file.bytes), ("44bc2cf5ad770999", 3));
    let p = &report.profile[0];
    assert_eq!(
        (
            p.pairs,
            p.unique_sentences,
            p.tokens,
            p.passes,
            p.peak_gpu_bytes
        ),
        (4, 7, 13, 1, 12_345_678)
    );
    assert_eq!(p.engine, "fake bag-of-letters");
}

#[test]
fn each_sentence_once_length_sorted_all_layers_in_one_pass() {
    let calls: Calls = Default::default();
    run(&tiny_args(), &mut [fake(&calls, 3, None)], false).unwrap();
    let calls = calls.borrow();
    let mut seen: Vec<Vec<u32>> = calls.iter().flat_map(|(b, _)| b.clone()).collect();
    let lengths: Vec<usize> = seen.iter().map(Vec::len).collect();
    assert!(
        lengths.windows(2).all(|w| w[0] >= w[1]),
        "length-sorted: {lengths:?}"
    );
    assert!(calls
        .iter()
        .all(|(b, layers)| b.len() <= 3 && layers == &[0, 2]));
    seen.sort();
    let n = seen.len();
    seen.dedup();
    assert_eq!(
        (n, seen.len()),
        (7, 7),
        "7 unique sentences, each embedded once"
    );
}

#[test]
fn memory_budget_splits_layers_without_changing_scores() {
    let calls: Calls = Default::default();
    let one = run(&tiny_args(), &mut [fake(&calls, 3, None)], false).unwrap();
    let split_calls: Calls = Default::default();
    let args = StudyArgs {
        embed_memory_mib: 0,
        ..tiny_args()
    };
    let two = run(&args, &mut [fake(&split_calls, 3, None)], false).unwrap();
    assert_eq!(two.profile[0].passes, 2);
    let layers: Vec<Vec<usize>> = split_calls
        .borrow()
        .iter()
        .map(|(_, l)| l.clone())
        .collect();
    assert_eq!(
        (
            layers.first().unwrap().as_slice(),
            layers.last().unwrap().as_slice()
        ),
        (&[0][..], &[2][..])
    );
    for (a, b) in one.rows.iter().zip(&two.rows) {
        assert_eq!(
            (a.spearman, a.spearman_ci, a.layer),
            (b.spearman, b.spearman_ci, b.layer)
        );
    }
}

#[test]
fn outputs_are_written_whole() {
    let calls: Calls = Default::default();
    let report = run(&tiny_args(), &mut [fake(&calls, 3, None)], false).unwrap();
    let dir = common::scratch("out");
    let written = report.write(&dir).unwrap();
    let names: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 7, "{names:?}"); // json, md, 2 profile files, layer plot, 2 OOD heatmaps
    assert!(names
        .iter()
        .any(|n| n.starts_with("spearman-pairs") && n.ends_with("tiny.tsv.svg")));
    assert!(
        names.contains(&"ood-fake-mean.svg".to_string())
            && names.contains(&"ood-fake-last.svg".to_string())
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "tmp")
        })
        .collect();
    assert!(leftovers.is_empty());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["schema_version"], 2);
    // run-dependent numbers live in profile.json only
    assert!(json.get("profile").is_none() && json.get("created_unix").is_none());
    let profile: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("profile.json")).unwrap()).unwrap();
    assert_eq!(profile["profile"].as_array().unwrap().len(), 2); // fake + GloVe
                                                                 // 5 series (2 poolings × 2 layers + GloVe) × 3 groups (all, news, captions).
    assert_eq!(json["rows"].as_array().unwrap().len(), 15);
    assert_eq!(
        json["ood"]["domains"],
        serde_json::json!(["news", "captions"])
    );
    let md = std::fs::read_to_string(dir.join("results.md")).unwrap();
    assert!(md.contains("| fake | mean | 0 | 80.00 |"), "{md}");
    let svg = std::fs::read_to_string(
        written
            .iter()
            .find(|p| p.to_string_lossy().contains("spearman-"))
            .unwrap(),
    )
    .unwrap();
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
    assert_eq!(svg.matches("<polyline").count(), 2); // mean and last
    assert_eq!(svg.matches("stroke-dasharray").count(), 2); // GloVe line + its legend entry
}

#[test]
fn bad_tokens_and_non_finite_outputs_are_errors() {
    let calls: Calls = Default::default();
    let mut empty = fake(&calls, 3, None);
    empty.tokenize = Box::new(|s: &str| Ok(if s == "c" { vec![] } else { vec![1] }));
    let err = run(&tiny_args(), &mut [empty], false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("sentence `c` tokenizes to no tokens"), "{err}");
    let mut nan = fake(&calls, 3, None);
    nan.engine = fake_model(&calls, 3, None, Fault::Nan).engine;
    let err = run(&tiny_args(), &mut [nan], false)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("non-finite value: fake on task pairs:") && err.contains("layer 0"),
        "{err}"
    );
}

#[test]
fn source_study_table_shape() {
    let Some(dir) = common::data_dir("mrpc") else {
        return;
    };
    let calls: Calls = Default::default();
    let args = StudyArgs {
        preset: Some(Preset::SourceStudy),
        data_dir: Some(dir),
        bootstrap: 20,
        ..Default::default()
    };
    let report = run(&args, &mut [fake(&calls, 24, None)], false).unwrap();
    let summary = report.summary();
    let lines: Vec<&str> = summary.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(lines[0], "| model | pooling | layer | Spearman ×100 | 95% CI | ms / pair | peak GPU MiB | peak RSS MiB |");
    let layers: Vec<&str> = lines[2..]
        .iter()
        .map(|l| l.split(" | ").nth(2).unwrap())
        .collect();
    // the study's "1,3,5,7,9,11" read both ways (block numbers; HF hidden_states indices
    // = our 2,4,…,12): layers 1–12 from one pass
    let want: Vec<String> = (1..=12)
        .map(|l| l.to_string())
        .chain(["—".into()])
        .collect();
    assert_eq!(layers, want);
    assert!(lines[2].starts_with("| fake | mean | 1 |") && lines[2].contains("| 11.8 |"));
    assert!(lines[14].starts_with("| glove-6b-50d | — | — | 38.14 |"));
    let full = rwkv_lens::study::markdown::full(&report);
    let at = full
        .find("## The source study's layers, two readings")
        .expect("the readings section");
    let section = &full[at..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
    let readings: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("| "))
        .skip(1)
        .collect();
    assert_eq!(readings.len(), 6, "{section}");
    let first: Vec<&str> = readings[0].trim_end_matches(" |").split(" | ").collect();
    assert_eq!(&first[1..3], ["1", "1"]);
    assert_eq!(first[4], "2");
    assert_eq!(
        first[3],
        lines[2].split(" | ").nth(3).unwrap(),
        "layer 1's score"
    );
    assert_eq!(
        first[5],
        lines[3].split(" | ").nth(3).unwrap(),
        "layer 2's score"
    );
}
