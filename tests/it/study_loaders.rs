//! Task loaders: documented row counts on the shared data, domain labels, pair files.
//! Tests that need the data directory (../shared/data next to the repository, or
//! $RWKV_LENS_DATA) print a notice and return when it is absent (fail under CI=true).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common;

use rwkv_lens::data::domains;
use rwkv_lens::data::tasks::{load_source, load_task, Task, TaskSpec, SOURCES};

fn data_dir() -> Option<PathBuf> {
    common::data_dir("mrpc")
}

fn fixture(name: &str) -> PathBuf {
    common::fixture(&format!("study/{name}"))
}

fn load(spec: &str, dir: &Path) -> Task {
    load_task(&TaskSpec::parse(spec).unwrap(), dir, None).unwrap()
}

fn counts(
    task: &Task,
    key: impl Fn(&rwkv_lens::data::tasks::Pair) -> String,
) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for p in &task.pairs {
        *out.entry(key(p)).or_insert(0) += 1;
    }
    out
}

#[test]
fn builtin_row_counts_match_the_documentation() {
    let Some(dir) = data_dir() else { return };
    let expected = [
        ("mrpc:test", 1725),
        ("mrpc:train", 4076),
        ("mrpc:glue-train", 3668),
        ("mrpc:glue-validation", 408),
        ("mrpc:glue-train@1000+glue-validation", 1408),
        ("stsb:test", 1379),
        ("stsb:dev", 1500),
        ("stsb:train", 5749),
        ("sickr:test", 4927),
        ("sickr:train", 4500),
        ("sickr:trial", 500),
        ("sts12:test", 3108),
        ("sts12:train", 2234),
        ("sts13", 1500),
        ("sts14", 3750),
        ("sts15", 3000),
        ("sts16", 1186),
        ("biosses", 100),
    ];
    for (spec, rows) in expected {
        assert_eq!(load(spec, &dir).pairs.len(), rows, "{spec}");
    }
}

#[test]
fn labels_subsets_and_sources() {
    let Some(dir) = data_dir() else { return };
    let positives = |t: &Task| t.pairs.iter().filter(|p| p.gold == 1.0).count();
    assert_eq!(positives(&load("mrpc:glue-validation", &dir)), 279);
    assert_eq!(positives(&load("mrpc:test", &dir)), 1147);
    assert_eq!(positives(&load("mrpc:train", &dir)), 2753);
    let stsb = counts(&load("stsb:test", &dir), |p| p.subset.clone());
    let want = [
        ("MSRpar", 250),
        ("headlines", 250),
        ("MSRvid", 250),
        ("images", 250),
        ("track5.en-en", 125),
        ("answer-answer", 254),
    ];
    assert_eq!(
        stsb,
        want.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    );
    let sts12 = counts(&load("sts12", &dir), |p| p.subset.clone());
    let want = [
        ("MSRpar", 750),
        ("MSRvid", 750),
        ("SMTeuroparl", 459),
        ("OnWN", 750),
        ("SMTnews", 399),
    ];
    assert_eq!(
        sts12,
        want.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    );
    let sts16 = counts(&load("sts16", &dir), |p| p.domain.clone());
    // answer-answer 254 + question-question 209 ; plagiarism 230 ; postediting 244 ; headlines 249
    let want = [
        ("forums", 463),
        ("education", 230),
        ("translation", 244),
        ("news", 249),
    ];
    assert_eq!(
        sts16,
        want.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    );
    let source = load("mrpc:glue-train@1000+glue-validation", &dir);
    assert_eq!(
        counts(&source, |p| p.subset.clone()),
        [
            ("glue-train".to_string(), 1000),
            ("glue-validation".to_string(), 408)
        ]
        .into()
    );
    assert!(source.binary);
    // Quoting is disabled: MRPC sentences keep their unbalanced quotes.
    assert!(load("mrpc:glue-validation", &dir).pairs[0]
        .s2
        .starts_with('"'));
}

#[test]
fn every_builtin_pair_has_exactly_one_domain() {
    let Some(dir) = data_dir() else { return };
    let mut total = 0;
    for src in SOURCES {
        let (pairs, _) = load_source(src, &dir).unwrap();
        for p in &pairs {
            let hits = domains::matches(src.family, &p.subset);
            let at = format!("{}:{} subset {}", src.family, src.split, p.subset);
            assert_eq!(hits, [p.domain.as_str()], "{at}");
            assert!(domains::DOMAINS.iter().any(|(d, _)| *d == p.domain));
        }
        total += pairs.len();
    }
    // 4076+1725+3668+408 + 5749+1500+1379 + 4500+500+4927 + 3108+2234+1500+3750+3000+1186 + 100
    assert_eq!(total, 43310);
}

#[test]
fn max_pairs_keeps_an_even_share_of_subsets() {
    let Some(dir) = data_dir() else { return };
    let task = load_task(&TaskSpec::parse("sts12").unwrap(), &dir, Some(311)).unwrap();
    assert_eq!((task.pairs.len(), task.rows_loaded), (311, 3108));
    let per = counts(&task, |p| p.subset.clone());
    // 750/3108·311 ≈ 75.0, 459/3108·311 ≈ 45.9, 399/3108·311 ≈ 39.9
    for (subset, share) in [("MSRpar", 75), ("SMTeuroparl", 46), ("SMTnews", 40)] {
        assert!(
            per[subset].abs_diff(share) <= 1,
            "{subset}: {}",
            per[subset]
        );
    }
}

#[test]
fn pair_files_in_three_formats() {
    let tsv = load_task(
        &TaskSpec::parse(&format!("pairs:{}", fixture("tiny.tsv").display())).unwrap(),
        Path::new("."),
        None,
    )
    .unwrap();
    assert_eq!(tsv.pairs.len(), 4);
    assert!(!tsv.binary);
    assert_eq!(
        (
            tsv.pairs[1].s2.as_str(),
            tsv.pairs[1].gold,
            tsv.pairs[3].domain.as_str()
        ),
        ("aab", 3.0, "captions")
    );
    let csv = load_task(
        &TaskSpec::parse(&format!("pairs:{}", fixture("tiny.csv").display())).unwrap(),
        Path::new("."),
        None,
    )
    .unwrap();
    assert!(csv.binary);
    assert_eq!(csv.pairs[0].s1, "say \"hi\", then");
    assert_eq!(
        (csv.pairs[1].s2.as_str(), csv.pairs[1].gold),
        ("two, parts", 0.0)
    );
    assert_eq!(
        (csv.pairs[2].subset.as_str(), csv.pairs[2].domain.as_str()),
        ("other", "custom")
    );
    let jsonl = load_task(
        &TaskSpec::parse(&format!("pairs:{}", fixture("tiny.jsonl").display())).unwrap(),
        Path::new("."),
        None,
    )
    .unwrap();
    assert_eq!(jsonl.pairs.len(), 2);
    assert_eq!(
        (jsonl.pairs[0].domain.as_str(), jsonl.pairs[1].gold),
        ("forums", 0.25)
    );
}

#[test]
fn bad_rows_name_file_and_line() {
    let err = load_task(
        &TaskSpec::parse(&format!("pairs:{}", fixture("bad_score.tsv").display())).unwrap(),
        Path::new("."),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("bad_score.tsv:3") && err.contains("not-a-number"),
        "{err}"
    );
    assert!(!err.contains('\n'));
    let missing = load_task(
        &TaskSpec::parse("mrpc").unwrap(),
        Path::new("/nonexistent"),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(missing.contains("msr_paraphrase_test.txt"), "{missing}");
}
