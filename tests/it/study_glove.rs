//! The GloVe 6B 50d baseline end to end (load, tokenize, average, cosine, Spearman)
//! against the numpy/scipy port in scripts/make_metric_goldens.py, on MRPC and STS-B.
//! Needs the data directory (skips with a notice when absent; fails under CI=true).

use std::path::{Path, PathBuf};

use crate::common;

use rwkv_lens::study::evaluate::GroupKind;
use rwkv_lens::study::{run, Preset, StudyArgs, StudyReport};

fn data_dir() -> Option<PathBuf> {
    common::data_dir("glove/glove.6B.50d.txt.gz")
}

fn golden(task: &str) -> f64 {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/study/metric_goldens.json"
    );
    let g: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    g["glove"][task]["spearman"].as_f64().unwrap()
}

fn check(report: &StudyReport, task: &str) -> f64 {
    let row = report
        .rows
        .iter()
        .find(|r| r.task == task && r.group == GroupKind::All)
        .unwrap();
    let ours = row.spearman.unwrap();
    // Our vectors are f32 means (numpy's are f64): near-equal cosines may swap ranks.
    assert!(
        (ours - golden(task)).abs() < 0.005,
        "{task}: ours {ours}, golden {}",
        golden(task)
    );
    let ci = row.spearman_ci.unwrap();
    assert!(
        ci[0] < ours && ours < ci[1],
        "{task}: CI {ci:?} around {ours}"
    );
    eprintln!(
        "GloVe 6B 50d {task}: Spearman x100 = {ours:.2} [{:.2}, {:.2}]",
        ci[0], ci[1]
    );
    ours
}

#[test]
fn glove_baseline_on_mrpc_and_stsb() {
    let Some(dir) = data_dir() else { return };
    let args = StudyArgs {
        tasks: vec![
            "mrpc:glue-validation".into(),
            "mrpc:test".into(),
            "stsb:test".into(),
        ],
        data_dir: Some(dir.clone()),
        bootstrap: 200,
        ..Default::default()
    };
    let report = run(&args, &mut [], false).unwrap();
    for task in ["mrpc:glue-validation", "mrpc:test", "stsb:test"] {
        check(&report, task);
    }
    let b = &report.baselines[0];
    assert_eq!((b.vocab_size, b.dim), (400_000, 50));
    let stsb = report.tasks.iter().find(|t| t.name == "stsb:test").unwrap();
    let cov = stsb.glove.as_ref().unwrap();
    assert_eq!(cov.sentences_without_vector, 0);
    assert!(cov.known_tokens as f64 / cov.tokens as f64 > 0.99);
    // STS-B has three domains, so the OOD view exists and news is its reference.
    let ood = report.ood.as_ref().unwrap();
    assert_eq!(ood.domains, ["news", "captions", "forums"]);
}

#[test]
fn glove_on_the_source_study_protocol() {
    let Some(dir) = data_dir() else { return };
    let args = StudyArgs {
        preset: Some(Preset::SourceStudy),
        data_dir: Some(dir),
        bootstrap: 200,
        ..Default::default()
    };
    let report = run(&args, &mut [], false).unwrap();
    assert_eq!(report.tasks[0].rows, 1408);
    check(&report, "mrpc:glue-train@1000+glue-validation");
    let subsets: Vec<_> = report
        .rows
        .iter()
        .filter(|r| r.group == GroupKind::Subset)
        .map(|r| (r.subset.clone().unwrap(), r.n))
        .collect();
    assert_eq!(
        subsets,
        [
            ("glue-train".to_string(), 1000),
            ("glue-validation".to_string(), 408)
        ]
    );
}

/// The page's dashed GloVe line is the study's baseline: the page's table (the bundled
/// trimmed GloVe), written out as a GloVe text file and loaded by the study, gives the
/// study's per-pair cosines, and they equal the page's similarity for the same pairs.
#[test]
fn page_glove_numbers_are_the_study_baseline() {
    use rwkv_lens::data::Pair;
    use rwkv_lens::glove::{candidates, Glove};
    use rwkv_lens::study::embedding::{glove_series, SentenceTable};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let table = std::fs::read(root.join("assets/demo-model/glove-6B-50d-20k.bin")).unwrap();
    let page = Glove::from_bytes("page", &table).unwrap();
    let words = [
        "the", "cat", "sat", "on", "mat", "a", "dog", "n't", "do", "'s", ",", ".",
    ];
    let texts = [
        ("The cat sat on the mat.", "A dog sat on the mat."),
        ("Don't panic, it's fine!", "The dog's mat"),
        ("zzzqqq", "the cat"),
        ("“U.S.” long-term", "u.s. long-term"),
    ];
    let mut lines = String::new();
    let sentences = texts.iter().flat_map(|(a, b)| [*a, *b]);
    for w in candidates(sentences)
        .iter()
        .map(String::as_str)
        .chain(words)
    {
        if let Some(v) = page.get(w) {
            let values: Vec<String> = v.iter().map(|x| x.to_string()).collect();
            lines += &format!("{w} {}\n", values.join(" "));
        }
    }
    let dir = std::env::temp_dir().join(format!("rwkv-lens-glove-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("glove.txt"), lines).unwrap();
    let pairs: Vec<Pair> = texts
        .iter()
        .map(|(a, b)| Pair {
            s1: a.to_string(),
            s2: b.to_string(),
            gold: 0.0,
            subset: "s".into(),
            domain: "d".into(),
        })
        .collect();
    let wanted = candidates(pairs.iter().flat_map(|p| [p.s1.as_str(), p.s2.as_str()]));
    let study = Glove::load(&dir.join("glove.txt"), &wanted).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let (series, _, _) = glove_series(&study, "glove", &SentenceTable::new(&pairs), "t", &[]);
    for (k, (a, b)) in texts.iter().enumerate() {
        let page_says = page.similarity(a, b);
        assert_eq!(series.undefined[k], page_says.is_none(), "{a} / {b}");
        assert_eq!(series.sims[k], page_says.unwrap_or(0.0), "{a} / {b}");
    }
    assert!(series.undefined[2] && !series.undefined[0]);
}
