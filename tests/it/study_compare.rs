//! The model comparison (`study::compare`): the paired bootstrap of the difference of
//! degradations against numpy/scipy (tests/fixtures/study/compare_goldens.json, written by
//! scripts/make_compare_goldens.py from explicit resample index lists that this test
//! reads too), and a study of two RWKV checkpoints and a BERT encoder on the fixtures
//! (tests/fixtures/study/domains.tsv: 14 word-salad pairs in each of news, captions and
//! forums, gold scores from word overlap plus noise).

use crate::common;

use rwkv_lens::attention::sentence::SentenceEncoder;
use rwkv_lens::attention::AttentionEngine;
use rwkv_lens::embed::Pooling;
use rwkv_lens::model::checkpoint::write_safetensors_with;
use rwkv_lens::model::random::{random_tensors, RandomSpec, UNTRAINED_KEY};
use rwkv_lens::model::{load::load, Architecture};
use rwkv_lens::reference::CpuEngine;
use rwkv_lens::study::bootstrap::RankPlan;
use rwkv_lens::study::compare::{self, Family, Verdict};
use rwkv_lens::study::evaluate::{DomainStat, GroupKind};
use rwkv_lens::study::metrics::{spearman, weighted_pearson};
use rwkv_lens::study::report::ModelInfo;
use rwkv_lens::study::{ood, run, StudyArgs, StudyModel, StudyReport};
use serde_json::Value;

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() < 1e-9, "{what}: ours {a}, golden {b}");
}

fn floats(v: &Value) -> Vec<f64> {
    (v.as_array().unwrap().iter())
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Spearman ×100 of the resample given by explicit indices (our count-based ranks).
fn resampled(plans: (&RankPlan, &RankPlan), indices: &[u32], n: usize) -> Option<f64> {
    let mut counts = vec![0u32; n];
    indices.iter().for_each(|&i| counts[i as usize] += 1);
    let (mut rx, mut ry) = (Vec::new(), Vec::new());
    plans.0.ranks(&counts, &mut rx);
    plans.1.ranks(&counts, &mut ry);
    weighted_pearson(&rx, &ry, &counts).map(|r| r * 100.0)
}

fn stats_from(g: &Value) -> Vec<DomainStat> {
    let mut out = Vec::new();
    for group in g["groups"].as_array().unwrap() {
        let y = floats(&group["gold"]);
        let py = RankPlan::new(&y);
        let resamples: Vec<Vec<u32>> = (group["resamples"].as_array().unwrap().iter())
            .map(|r| floats(r).iter().map(|&i| i as u32).collect())
            .collect();
        for (key, sims) in group["sims"].as_object().unwrap() {
            let (model, layer) = key.split_once('/').unwrap();
            let x = floats(sims);
            let px = RankPlan::new(&x);
            out.push(DomainStat {
                task: group["task"].as_str().unwrap().into(),
                domain: group["domain"].as_str().unwrap().into(),
                model: model.into(),
                pooling: Some(Pooling::Mean),
                layer: Some(layer.parse().unwrap()),
                n: x.len(),
                spearman: spearman(&x, &y).map(|r| r * 100.0),
                replicates: (resamples.iter())
                    .map(|idx| resampled((&px, &py), idx, x.len()))
                    .collect(),
            });
        }
    }
    out
}

fn info(label: &str, arch: Architecture, n_layer: usize) -> ModelInfo {
    let mut config = common::fake_config(n_layer);
    config.arch = arch;
    ModelInfo {
        label: label.into(),
        path: None,
        file: None,
        engine: "golden".into(),
        config,
        layers: vec![],
        untrained: None,
    }
}

#[test]
fn paired_bootstrap_of_degradations_matches_numpy() {
    let path = common::fixture("study/compare_goldens.json");
    let g: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let level = g["confidence"].as_f64().unwrap();
    let report = ood::build(&stats_from(&g), "news", level).unwrap();
    let rwkv6 = common::fake_config(3).arch;
    let infos = [info("rwkv", rwkv6, 3), info("attn", Architecture::Bert, 2)];
    let c = compare::build(&infos, &[], Some(&report), level).unwrap();
    for want in g["degradations"].as_array().unwrap() {
        let (model, domain) = (want["model"].as_str().unwrap(), want["domain"].as_str());
        let ours = (c.degradations.iter())
            .find(|d| d.model == model && Some(d.domain.as_str()) == domain)
            .unwrap();
        let what = format!("{model}/{}", domain.unwrap());
        assert_eq!(
            ours.layer as u64,
            g["chosen_layer"][model].as_u64().unwrap()
        );
        close(
            ours.spearman.unwrap(),
            want["spearman"].as_f64().unwrap(),
            &what,
        );
        close(
            ours.degradation.unwrap(),
            want["degradation"].as_f64().unwrap(),
            &what,
        );
        let ci = floats(&want["ci"]);
        close(ours.ci.unwrap()[0], ci[0], &what);
        close(ours.ci.unwrap()[1], ci[1], &what);
    }
    assert_eq!(c.differences.len(), 3); // captions, forums, mean
    for want in g["differences"].as_array().unwrap() {
        let domain = want["domain"].as_str();
        let ours = (c.differences.iter())
            .find(|d| d.domain.as_deref() == domain)
            .unwrap();
        let what = domain.unwrap_or("mean");
        close(
            ours.rwkv_degradation.unwrap(),
            want["rwkv"].as_f64().unwrap(),
            what,
        );
        close(
            ours.attention_degradation.unwrap(),
            want["attn"].as_f64().unwrap(),
            what,
        );
        close(
            ours.difference.unwrap(),
            want["difference"].as_f64().unwrap(),
            what,
        );
        let ci = floats(&want["ci"]);
        close(ours.ci.unwrap()[0], ci[0], what);
        close(ours.ci.unwrap()[1], ci[1], what);
    }
}

/// A random RWKV checkpoint marked untrained, as `rwkv-lens random-model` writes it.
fn marked_random_model() -> std::path::PathBuf {
    let path = common::scratch("compare-random").join("random.safetensors");
    let tensors = random_tensors(&RandomSpec::tiny(5)).unwrap();
    let bytes = write_safetensors_with(&tensors, &[(UNTRAINED_KEY, "random weights")]).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

fn rwkv_model(path: &std::path::Path) -> StudyModel<'static> {
    let engine = CpuEngine::new(&load(path).unwrap()).unwrap();
    // bytes as token ids: both RWKV fixtures have vocabularies above 256
    let bytes = |s: &str| Ok(s.bytes().map(u32::from).collect());
    StudyModel::new(path, Box::new(engine), Box::new(bytes))
}

fn study(out: &str) -> (StudyReport, std::path::PathBuf) {
    let bert_dir = common::fixture("tiny-bert");
    let enc = SentenceEncoder::load(&bert_dir).unwrap();
    let tokenizer = enc.tokenizer;
    let mut models = vec![
        rwkv_model(&common::fixture("tiny-v6/model.safetensors")),
        rwkv_model(&marked_random_model()),
        StudyModel::new(
            &bert_dir,
            Box::new(AttentionEngine::new(enc.weights)),
            Box::new(move |s: &str| tokenizer.encode(s)),
        ),
    ];
    let out = common::scratch(out);
    let args = StudyArgs {
        tasks: vec![format!(
            "pairs:{}",
            common::fixture("study/domains.tsv").display()
        )],
        baselines: vec!["none".into()],
        bootstrap: 200,
        out: out.clone(),
        ..Default::default()
    };
    let report = run(&args, &mut models, false).unwrap();
    report.write(&out).unwrap();
    (report, out)
}

#[test]
fn study_of_rwkv_and_bert_fixtures_compares_them() {
    let (r, out) = study("compare-study");
    let c = r
        .comparison
        .as_ref()
        .expect("a comparison with three models");
    let families: Vec<Family> = c.models.iter().map(|m| m.family).collect();
    assert_eq!(families, [Family::Rwkv, Family::Rwkv, Family::Attention]);
    let untrained: Vec<bool> = c.models.iter().map(|m| m.untrained.is_some()).collect();
    assert_eq!(untrained, [false, true, false]);
    // Curves: every layer of every model, depth = layer / blocks, the rows' scores.
    assert_eq!(c.curves.len(), 3);
    for (curve, m) in c.curves.iter().zip(&c.models) {
        assert_eq!(curve.points.len(), m.n_layer + 1, "{}", m.label);
        for p in &curve.points {
            assert_eq!(p.depth, p.layer as f64 / m.n_layer as f64);
            let row = (r.rows_for(&curve.task, GroupKind::All))
                .find(|x| x.model == curve.model && x.layer == Some(p.layer))
                .unwrap();
            assert_eq!(p.spearman, row.spearman);
        }
        assert_eq!(curve.points.last().unwrap().depth, 1.0);
    }
    // Degradations: at the best layer on news, news score − domain score.
    let ood = r.ood.as_ref().unwrap();
    let cell = |m: &str, l: usize, d: &str| {
        (ood.cells.iter())
            .find(|x| x.model == m && x.layer == Some(l) && x.domain == d)
            .unwrap()
            .spearman
            .unwrap()
    };
    assert_eq!(c.degradations.len(), 3 * 3);
    for d in &c.degradations {
        let n_layer = c
            .models
            .iter()
            .find(|m| m.label == d.model)
            .unwrap()
            .n_layer;
        let best = (0..=n_layer)
            .map(|l| cell(&d.model, l, "news"))
            .fold(f64::MIN, f64::max);
        assert_eq!(cell(&d.model, d.layer, "news"), best, "{}", d.model);
        match d.domain.as_str() {
            "news" => assert!(d.degradation.is_none()),
            dom => {
                let want = cell(&d.model, d.layer, "news") - cell(&d.model, d.layer, dom);
                assert!((d.degradation.unwrap() - want).abs() < 1e-12);
            }
        }
    }
    // Differences: two RWKV × one attention × (captions, forums, mean).
    assert_eq!(c.differences.len(), 2 * 3);
    for x in &c.differences {
        let deg = |m: &str, dom: &str| {
            (c.degradations.iter())
                .find(|d| d.model == m && d.domain == dom)
                .and_then(|d| d.degradation)
                .unwrap()
        };
        let want = match x.domain.as_deref() {
            Some(dom) => deg(&x.rwkv, dom) - deg(&x.attention, dom),
            None => {
                let each = ["captions", "forums"].map(|d| deg(&x.rwkv, d) - deg(&x.attention, d));
                (each[0] + each[1]) / 2.0
            }
        };
        assert!((x.difference.unwrap() - want).abs() < 1e-9);
        let [lo, hi] = x.ci.unwrap();
        let expected = if hi < 0.0 {
            Verdict::RwkvDegradesLess
        } else if lo > 0.0 {
            Verdict::RwkvDegradesMore
        } else {
            Verdict::Indistinguishable
        };
        assert_eq!(x.verdict, expected);
    }
    // The answer: one sentence per RWKV × attention pair, and the caveat for the random one.
    assert_eq!(
        c.answer
            .iter()
            .filter(|a| a.contains(" vs tiny-bert"))
            .count(),
        2
    );
    assert!(c.answer.iter().any(|a| a.starts_with("caveat: random")));
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(md.contains("## Comparing models") && md.contains("caveat: random"));
    let json = std::fs::read_to_string(out.join("results.json")).unwrap();
    assert!(json.contains("\"differences\"") && json.contains("\"verdict\""));
    let plots: Vec<String> = (std::fs::read_dir(&out).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("domains.tsv.svg"))
        .collect();
    assert_eq!(plots.len(), 2, "{plots:?}"); // by layer and by relative depth
    let depth = plots
        .iter()
        .find(|n| n.starts_with("spearman-depth-"))
        .unwrap();
    let svg = std::fs::read_to_string(out.join(depth)).unwrap();
    assert!(svg.contains("relative depth") && svg.contains("tiny-bert (mean)"));
}
