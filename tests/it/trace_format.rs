//! The trace as data: JSON round trip (with +∞ half-lives), atomic writes, one-line
//! errors for bad arguments, token pieces, and the equation → code index.

use std::path::PathBuf;

use crate::common::checkpoint;
use rwkv_lens::reference::Weights;
use rwkv_lens::trace::equations::{line, source, EQUATIONS};
use rwkv_lens::trace::{from_json, read_json, to_json, trace, trace_with, write_json};

fn weights() -> Weights {
    Weights::from_checkpoint(&checkpoint("tiny-v6")).unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rwkv-lens-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn json_round_trip_keeps_every_number_and_infinite_half_lives() {
    let w = weights();
    let mut tr = trace(&w, &[3, 1, 4, 1, 5], 1, 0).unwrap();
    tr.steps[0].half_life[0] = f32::INFINITY; // as for a channel with w = 1
    let text = to_json(&tr).unwrap();
    assert!(
        text.contains("\"half_life\":[null,"),
        "+∞ is written as null"
    );
    assert_eq!(from_json(&text).unwrap(), tr);

    let path = scratch("trace.json");
    write_json(&tr, &path).unwrap();
    assert_eq!(read_json(&path).unwrap(), tr);
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary file left behind");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn json_has_the_documented_shape() {
    let w = weights();
    let tr = trace(&w, &[7, 8], 1, 1).unwrap();
    let v: serde_json::Value = serde_json::from_str(&to_json(&tr).unwrap()).unwrap();
    let n = w.config.head_size;
    assert_eq!(v["format"], 1);
    assert_eq!(v["layer"], 1);
    assert_eq!(v["head"], 1);
    assert_eq!(v["model"]["head_size"], n);
    let step = &v["steps"][1];
    assert_eq!(step["position"], 1);
    assert_eq!(step["token"], 8);
    assert_eq!(step["state_after"].as_array().unwrap().len(), n * n);
    assert_eq!(step["mix"]["k"].as_array().unwrap().len(), w.config.n_embd);
    assert_eq!(step["influence"][0]["from"], 0);
    assert_eq!(v["check"]["chunk_len"], 16);
}

#[test]
fn writing_under_a_file_names_the_path() {
    let w = weights();
    let tr = trace(&w, &[1], 1, 0).unwrap();
    // the parent "directory" is a regular file, so it can be neither created nor used
    let file = std::env::temp_dir().join(format!("rwkv-lens-not-a-dir-{}", std::process::id()));
    std::fs::write(&file, b"x").unwrap();
    let path = file.join("trace.json");
    let err = write_json(&tr, &path).unwrap_err().to_string();
    std::fs::remove_file(&file).unwrap();
    assert!(err.starts_with(&format!("{}", file.display())), "{err}");
    assert!(!err.contains('\n'));
}

#[test]
fn bad_arguments_are_one_line_errors() {
    let w = weights();
    let cases: [(&[u32], usize, usize, &str); 5] = [
        (
            &[1, 2],
            0,
            0,
            "layer 0 is out of range: trace needs a block 1..=3",
        ),
        (&[1, 2], 4, 0, "layer 4 is out of range"),
        (
            &[1, 2],
            1,
            2,
            "head 2 is out of range: this model has heads 0..=1",
        ),
        (&[], 1, 0, "at least one token"),
        (&[1, 512], 1, 0, "token id 512"),
    ];
    for (tokens, layer, head, want) in cases {
        let err = trace(&w, tokens, layer, head).unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
        assert!(!err.contains('\n'));
    }
}

#[test]
fn pieces_come_from_the_decoder() {
    let w = weights();
    let tr = trace_with(&w, &[10, 20], 1, 0, |t| Some(format!("<{t}>"))).unwrap();
    let pieces: Vec<_> = tr.steps.iter().map(|s| s.piece.clone()).collect();
    assert_eq!(pieces, [Some("<10>".into()), Some("<20>".into())]);
    assert!(trace(&w, &[10], 1, 0).unwrap().steps[0].piece.is_none());
}

#[test]
fn every_equation_points_at_one_line_of_its_file() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for e in EQUATIONS {
        let on_disk = std::fs::read_to_string(root.join(e.file)).unwrap();
        assert_eq!(
            on_disk.matches(e.code).count(),
            1,
            "{}: `{}`",
            e.name,
            e.code
        );
        assert_eq!(source(e.file), Some(on_disk.as_str()));
        let at = line(e).unwrap();
        let text = on_disk.lines().nth(at - 1).unwrap();
        let first = e.code.lines().next().unwrap();
        assert!(text.contains(first), "{} line {at}: {text}", e.name);
    }
}
