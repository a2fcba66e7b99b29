//! Shared helpers for integration tests: fixture paths, golden files, scratch
//! directories, the shared data directory and the rule for tests that cannot run here
//! (no data, no adapter): a notice locally, a failure under `CI=true`.
#![allow(dead_code)]

pub mod bad_files;
pub mod fuzz;
pub mod pairs;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use rwkv_lens::embed::{pool, Embeddings, Engine, Pooling};
use rwkv_lens::model::{load::load, Architecture, Checkpoint, Config};
use rwkv_lens::reference::Output;
use rwkv_lens::study::StudyModel;
use rwkv_lens::Error;

pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// A test that cannot run here: under `CI=true` it fails (a test never passes by
/// skipping there); elsewhere a notice, and the caller returns.
pub fn cannot_run(why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{why}: CI=true, so this test must not skip");
    }
    eprintln!("NOTICE: {why}: skipping");
}

/// The shared data directory (`$RWKV_LENS_DATA`, else `../shared/data` next to the
/// repository) when it holds `rel`; else [`cannot_run`] and `None`.
pub fn data_dir(rel: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("RWKV_LENS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    if dir.join(rel).exists() {
        return Some(dir);
    }
    cannot_run(&format!("{} absent", dir.join(rel).display()));
    None
}

/// Whether wgpu finds an adapter (lavapipe counts); else [`cannot_run`].
pub fn adapter() -> bool {
    let found = pollster::block_on(rwkv_lens::gpu::context::list_adapters(None));
    let ok = found.is_ok_and(|a| !a.is_empty());
    if !ok {
        cannot_run("no wgpu adapter");
    }
    ok
}

/// Runs `cmd` (the binary, as a test calls it) and asserts that it succeeded, its stderr
/// the failure's message.
pub fn run_ok(cmd: &mut std::process::Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    out
}

/// A fresh, empty scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rwkv-lens-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
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

/// Calls a [`FakeEngine`] received: (token batch, layers).
pub type Calls = Rc<RefCell<Vec<(Vec<Vec<u32>>, Vec<usize>)>>>;

/// What goes wrong in a [`FakeEngine`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    None,
    /// Every output is NaN.
    Nan,
    /// The device is lost on this call number (1-based, counted over the whole run).
    LostAt(usize),
    /// Batches larger than this run out of memory.
    MemoryFor(usize),
}

/// A bag-of-letters engine for study tests: width 4, token `a`..`c` one-hot in the
/// first three dimensions, the layer index in the fourth, pooled like a real one.
pub struct FakeEngine {
    pub config: Config,
    pub fault: Fault,
    pub calls: Calls,
}

pub fn fake_config(n_layer: usize) -> Config {
    Config {
        arch: Architecture::Rwkv6 {
            mix_lora: 32,
            decay_lora: 64,
        },
        n_layer,
        n_embd: 4,
        n_head: 1,
        head_size: 4,
        ffn_dim: 14,
        vocab_size: 256,
    }
}

impl FakeEngine {
    fn fault(&self, batch: usize) -> rwkv_lens::Result<()> {
        match self.fault {
            Fault::LostAt(n) if self.calls.borrow().len() == n => {
                Err(Error::gpu("device lost (Unknown): the test pulled it"))
            }
            Fault::MemoryFor(n) if batch > n => {
                Err(Error::out_of_memory("Out of Memory (1 error(s) in total)"))
            }
            _ => Ok(()),
        }
    }
}

impl Engine for FakeEngine {
    fn name(&self) -> String {
        "fake bag-of-letters".into()
    }
    fn config(&self) -> &Config {
        &self.config
    }
    fn embed_tokens(
        &mut self,
        tokens: &[Vec<u32>],
        layers: &[usize],
        poolings: &[Pooling],
    ) -> rwkv_lens::Result<Embeddings> {
        let call = (tokens.to_vec(), layers.to_vec());
        self.calls.borrow_mut().push(call);
        self.fault(tokens.len())?;
        let mut out = Embeddings::zeros(layers, poolings, tokens.len(), 4);
        for (t, seq) in tokens.iter().enumerate() {
            for (l, &layer) in layers.iter().enumerate() {
                let mut hidden = vec![0.0f32; seq.len() * 4]; // [T][4]
                for (i, &tok) in seq.iter().enumerate() {
                    if (b'a'..=b'c').contains(&(tok as u8)) {
                        hidden[i * 4 + (tok as u8 - b'a') as usize] = 1.0;
                    }
                    let nan = self.fault == Fault::Nan;
                    hidden[i * 4 + 3] = if nan { f32::NAN } else { layer as f32 };
                }
                for (p, &pooling) in poolings.iter().enumerate() {
                    pool(&hidden, seq.len(), 4, pooling, out.get_mut(p, l, t));
                }
            }
        }
        Ok(out)
    }
    fn peak_memory_bytes(&self) -> u64 {
        12_345_678
    }
}

/// A study model on a [`FakeEngine`] of `n_layer` layers; bytes are token ids.
pub fn fake_model<'a>(
    calls: &Calls,
    n_layer: usize,
    path: Option<PathBuf>,
    fault: Fault,
) -> StudyModel<'a> {
    StudyModel {
        label: "fake".into(),
        path,
        engine: Box::new(FakeEngine {
            config: fake_config(n_layer),
            fault,
            calls: calls.clone(),
        }),
        tokenize: Box::new(|s: &str| Ok(s.bytes().map(u32::from).collect())),
        reference: None,
    }
}
