//! The study's metrics against values computed by scipy / scikit-learn / numpy
//! (tests/fixtures/study/metric_goldens.json, written by scripts/make_metric_goldens.py).

use rwkv_lens::study::bootstrap::{bootstrap_spearman, percentile_ci};
use rwkv_lens::study::metrics::{
    average_ranks, best_accuracy, best_f1, pearson, roc_auc, spearman,
};
use serde_json::Value;

fn goldens() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/study/metric_goldens.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: ours {a}, golden {b}");
}

#[test]
fn correlations_match_scipy() {
    let g = goldens();
    for case in g["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (x, y) = (floats(&case["x"]), floats(&case["y"]));
        assert_eq!(average_ranks(&x), floats(&case["ranks_x"]), "{name} ranks");
        close(
            spearman(&x, &y).unwrap() * 100.0,
            case["spearman"].as_f64().unwrap(),
            1e-9,
            name,
        );
        close(
            pearson(&x, &y).unwrap() * 100.0,
            case["pearson"].as_f64().unwrap(),
            1e-9,
            name,
        );
    }
}

#[test]
fn binary_metrics_match_sklearn() {
    let g = goldens();
    let binary: Vec<&Value> = g["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["binary"] == true)
        .collect();
    assert_eq!(binary.len(), 2);
    for case in binary {
        let name = case["name"].as_str().unwrap();
        let x = floats(&case["x"]);
        let labels: Vec<bool> = floats(&case["y"]).iter().map(|&v| v == 1.0).collect();
        close(
            roc_auc(&x, &labels).unwrap() * 100.0,
            case["roc_auc"].as_f64().unwrap(),
            1e-9,
            name,
        );
        for (ours, key) in [
            (best_accuracy(&x, &labels).unwrap(), "best_accuracy"),
            (best_f1(&x, &labels).unwrap(), "best_f1"),
        ] {
            close(
                ours.value * 100.0,
                case[key]["value"].as_f64().unwrap(),
                1e-9,
                key,
            );
            assert_eq!(
                ours.threshold,
                case[key]["threshold"].as_f64(),
                "{name} {key} threshold"
            );
        }
    }
}

#[test]
fn bootstrap_ci_matches_materialised_scipy_resamples() {
    let g = goldens();
    for case in g["bootstrap"].as_array().unwrap() {
        let (x, y) = (floats(&case["x"]), floats(&case["y"]));
        let reps = case["reps"].as_u64().unwrap() as usize;
        let stats: Vec<Option<f64>> =
            bootstrap_spearman(&x, &y, reps, case["seed"].as_u64().unwrap())
                .into_iter()
                .map(|s| s.map(|v| v * 100.0))
                .collect();
        let defined = stats.iter().flatten().count();
        assert_eq!(
            defined as u64,
            case["defined"].as_u64().unwrap(),
            "undefined replicates are skipped, not NaN"
        );
        let ci = percentile_ci(&stats, 0.95).unwrap();
        let golden = floats(&case["ci"]);
        close(ci[0], golden[0], 1e-9, "ci low");
        close(ci[1], golden[1], 1e-9, "ci high");
    }
}
