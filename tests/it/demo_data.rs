//! The shipped demo data (`assets/demo-data/`): its files are the ones `SOURCE.md`
//! lists (sha256), the demo study runs on it alone (no `../shared`, no network: what
//! `make demo` does on a fresh clone), and its trimmed GloVe gives the baseline the same
//! scores as the full file (needs the full data: `$RWKV_LENS_DATA` or `../shared/data`;
//! absent, the check prints a notice, and fails under `CI=true`: `common::cannot_run`).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

#[test]
fn shipped_files_match_their_sha256_in_source_md() {
    let md = std::fs::read_to_string(repo("assets/demo-data/SOURCE.md")).unwrap();
    let mut checked = 0;
    for line in md.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split(" | ").collect();
        let file = cells[0].trim_start_matches("| ").trim_matches('`');
        let sha = cells
            .last()
            .unwrap()
            .trim_end_matches(" |")
            .trim_matches('`');
        let got =
            rwkv_lens::hub::client::sha256_file(&repo("assets/demo-data").join(file)).unwrap();
        assert_eq!(got, sha, "{file}");
        checked += 1;
    }
    assert_eq!(checked, 3);
}

/// Runs the demo preset from a scratch directory on `data`, returns results.json.
fn demo_study(data: &Path, name: &str) -> serde_json::Value {
    let dir = std::env::temp_dir().join(format!("rwkv-lens-demo-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let model = repo("assets/demo-model/rwkv6-demo.safetensors");
    common::run_ok(
        Command::new(env!("CARGO_BIN_EXE_rwkv-lens"))
            .args([
                "study",
                "--device",
                "cpu",
                "--preset",
                "demo",
                "--max-pairs",
                "60",
            ])
            .args(["--bootstrap", "0", "--no-cache", "--out", "run", "--model"])
            .arg(&model)
            .arg("--data-dir")
            .arg(data)
            .current_dir(&dir)
            .env_remove("RWKV_LENS_DATA")
            .env("HF_HUB_OFFLINE", "1")
            .env("XDG_CACHE_HOME", dir.join("cache")),
    );
    let json = std::fs::read_to_string(dir.join("run/results.json")).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    serde_json::from_str(&json).unwrap()
}

/// The GloVe rows of a report (model rows dropped), for comparison.
fn glove_rows(report: &serde_json::Value) -> Vec<serde_json::Value> {
    let rows = report["rows"].as_array().unwrap();
    let glove: Vec<_> = rows
        .iter()
        .filter(|r| r.to_string().contains("glove"))
        .cloned()
        .collect();
    assert!(!glove.is_empty(), "no GloVe rows in {rows:?}");
    glove
}

#[test]
fn the_demo_runs_on_the_shipped_data_alone_and_its_glove_scores_equal_the_full_file() {
    let shipped = demo_study(&repo("assets/demo-data"), "shipped");
    let Some(full) = common::data_dir("glove") else {
        return;
    };
    assert_eq!(glove_rows(&shipped), glove_rows(&demo_study(&full, "full")));
}
