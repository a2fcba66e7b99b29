//! Shared helpers for integration tests: fixture paths and golden files.
#![allow(dead_code)]

use std::path::PathBuf;

use rwkv_lens::model::{load::load, Checkpoint};
use rwkv_lens::reference::Output;

pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

pub fn checkpoint(name: &str) -> Checkpoint {
    load(&fixture(&format!("{name}/model.safetensors"))).expect("fixture checkpoint loads")
}

/// The golden file written by `scripts/make_goldens.py` from the official `rwkv` package.
pub struct Golden {
    bytes: Vec<u8>,
}

pub struct GoldenTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Golden {
    pub fn open(name: &str) -> Golden {
        Golden::open_file(name, "golden.safetensors")
    }
    pub fn sequences(&self) -> usize {
        let st = safetensors::SafeTensors::deserialize(&self.bytes).unwrap();
        st.names()
            .iter()
            .filter(|n| n.starts_with("tokens."))
            .count()
    }
    /// Another golden file of fixture `name` (e.g. `golden-bf16.safetensors`).
    pub fn open_file(name: &str, file: &str) -> Golden {
        Golden {
            bytes: std::fs::read(fixture(&format!("{name}/{file}"))).unwrap(),
        }
    }
    pub fn tokens(&self, s: usize) -> Vec<u32> {
        self.i32(&format!("tokens.{s}"))
            .into_iter()
            .map(|t| t as u32)
            .collect()
    }
    pub fn i32(&self, name: &str) -> Vec<i32> {
        let st = safetensors::SafeTensors::deserialize(&self.bytes).unwrap();
        let t = st
            .tensor(name)
            .unwrap_or_else(|_| panic!("golden tensor {name}"));
        t.data()
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }
    pub fn f32(&self, name: &str) -> GoldenTensor {
        let st = safetensors::SafeTensors::deserialize(&self.bytes).unwrap();
        let t = st
            .tensor(name)
            .unwrap_or_else(|_| panic!("golden tensor {name}"));
        let data = t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        GoldenTensor {
            shape: t.shape().to_vec(),
            data,
        }
    }
}

/// max |a − b| / max(1, max |b|): absolute error for tensors of values up to 1,
/// relative to the tensor's largest value where values are large.
pub fn max_err(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    max_abs(a, b) / scale
}

/// max |a − b|.
pub fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// max over elements of |a − b| / (1e-4 + 1e-5·|b|): at most 1 when every element is within
/// the golden tolerance of docs/goldens.md.
pub fn golden_ratio(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / (1e-4 + 1e-5 * y.abs()))
        .fold(0.0, f32::max)
}

/// `[1.2e-6, 3.4e-5]`: per-layer errors for a test's output.
pub fn sci(v: &[f32]) -> String {
    let parts: Vec<String> = v.iter().map(|e| format!("{e:.2e}")).collect();
    format!("[{}]", parts.join(", "))
}

/// Asserts that the reference's final state of sequence `b` (per layer: `att_shift`, `wkv`,
/// `ffn_shift`) matches the golden's `state.{b}.*` within `tol` (`max_err`).
pub fn assert_final_states(what: &str, out: &Output, golden: &Golden, b: usize, tol: f32) {
    let states = out.states.as_ref().expect("forward with states");
    let batch = out.lengths.len();
    for kind in ["att_shift", "wkv", "ffn_shift"] {
        let want = golden.f32(&format!("state.{b}.{kind}"));
        for (l, st) in states.iter().enumerate() {
            let all = match kind {
                "att_shift" => &st.att_shift,
                "wkv" => &st.wkv,
                _ => &st.ffn_shift,
            };
            let size = all.len() / batch;
            let got = &all[b * size..(b + 1) * size];
            let err = max_err(got, &want.data[l * size..(l + 1) * size]);
            assert!(
                err < tol,
                "{what} seq {b} block {l} {kind}: max err {err:e}"
            );
        }
    }
}
