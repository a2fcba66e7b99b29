//! The GloVe 6B 50d baseline end to end (load, tokenize, average, cosine, Spearman)
//! against the numpy/scipy port in scripts/make_metric_goldens.py, on MRPC and STS-B.
//! Needs the data directory (skips with a notice when absent).

use std::path::{Path, PathBuf};

use rwkv_lens::study::{run, Preset, StudyArgs, StudyReport};

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("RWKV_LENS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    if dir.join("glove/glove.6B.50d.txt.gz").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "NOTICE: GloVe vectors under {} absent: skipping",
            dir.display()
        );
        None
    }
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
        .find(|r| r.task == task && r.group == "all")
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
        .filter(|r| r.group == "subset")
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
