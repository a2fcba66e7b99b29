//! The other ways to run RWKV-6, driven as separate processes on the same weights and
//! token batches: web-rwkv (`peer/web-rwkv`, its own crate on wgpu 29) and, optionally,
//! the official Python `rwkv` package on the CPU (`scripts/bench-python-rwkv.py`).
//!
//! Both peers take a model file and token-batch JSON files (`{"sequences": [[id, ...], ...]}`,
//! one run each), print one JSON object (`runs[i].seconds`, `runs[i].tokens_per_s`,
//! `peak_rss_bytes`, or `error`) and write, for the first batch, the last layer's final
//! state per sequence as f32 safetensors
//! (`seq{b}.att_shift` `[C]`, `seq{b}.wkv` `[H][N][N]` [key][value], `seq{b}.ffn_shift` `[C]`,
//! `seq{b}.logits` `[V]`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::ours::{failed, row};
use super::report::PrefillRow;
use super::spec::{tokens, Point, Shape};
use super::BenchOptions;
use crate::io::write_atomic;
use crate::model::checkpoint::{read_safetensors, write_safetensors};
use crate::model::{Checkpoint, DType, Tensor};
use crate::{Error, Result};

/// Environment variable naming the web-rwkv peer binary.
pub const PEER_ENV: &str = "RWKV_LENS_WEB_RWKV_PEER";
const PEER_NAME: &str = "web-rwkv-peer";

/// web-rwkv's name for a canonical tensor: `time_maa*` → `time_mix*`, `time_faaaa` →
/// `time_first` (its `convert_safetensors.py` renames).
pub fn web_rwkv_name(name: &str) -> String {
    name.replace("time_maa", "time_mix")
        .replace("time_faaaa", "time_first")
}

/// The tensors web-rwkv stores with their last two axes swapped (the four LoRA matrices:
/// `time_mix_w1` `[5R][C]`, `time_mix_w2` `[5][C][R]`, `time_decay_w1` `[D][C]`,
/// `time_decay_w2` `[C][D]`), by the end of their web-rwkv name.
const TRANSPOSED: [&str; 4] = [
    "time_mix_w1",
    "time_mix_w2",
    "time_decay_w1",
    "time_decay_w2",
];

/// The checkpoint in web-rwkv's `.st` layout: every tensor f16, renamed, the LoRA
/// matrices transposed. Needs `head.weight` (web-rwkv always loads the LM head).
pub fn web_rwkv_tensors(ckpt: &Checkpoint) -> Result<Vec<(String, Tensor)>> {
    if !ckpt.has_head() {
        let why = "missing: web-rwkv needs the LM head";
        return Err(Error::tensor(&ckpt.source, "head.weight", why));
    }
    let mut out = Vec::new();
    for (name, t) in ckpt.tensors() {
        let web = web_rwkv_name(name);
        let (mut shape, mut bits) = (t.shape.clone(), t.to_f16_bits());
        if let [.., rows, cols] = &mut shape[..] {
            if TRANSPOSED.iter().any(|t| web.ends_with(t)) {
                bits = crate::kit::transpose(&bits, *rows, *cols);
                std::mem::swap(rows, cols);
            }
        }
        let bytes = bytemuck::cast_slice(&bits).to_vec();
        out.push((web, Tensor::new(shape, DType::F16, bytes)?));
    }
    Ok(out)
}

/// Where the web-rwkv peer binary is: `$RWKV_LENS_WEB_RWKV_PEER`, then beside the running
/// executable, then `peer/web-rwkv/target/release/` of this source tree, then of the
/// working directory.
pub fn locate_web_rwkv() -> Option<PathBuf> {
    let release = Path::new("peer/web-rwkv/target/release").join(PEER_NAME);
    let candidates = [
        std::env::var_os(PEER_ENV).map(PathBuf::from),
        std::env::current_exe()
            .ok()
            .map(|e| e.with_file_name(PEER_NAME)),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join(&release)),
        Some(release),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

/// One batch file's timed passes.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct PeerPass {
    pub seconds: Vec<f64>,
    pub tokens_per_s: f64,
}

/// The last line of `stdout` that is a JSON object, or its `error`.
fn last_json(what: &str, stdout: &str) -> Result<Value> {
    let json: Value = (stdout.lines().rev())
        .find_map(|l| serde_json::from_str(l.trim()).ok().filter(Value::is_object))
        .ok_or_else(|| Error::input(format!("{what} printed no JSON object")))?;
    match json.get("error").and_then(|e| e.as_str()) {
        Some(e) => Err(Error::input(format!("{what}: {e}"))),
        None => Ok(json),
    }
}

/// Parses a peer's stdout: its `runs`, one entry per batch file, in order.
pub fn parse_peer_output(what: &str, stdout: &str) -> Result<Vec<PeerPass>> {
    let json = last_json(what, stdout)?;
    json.get("runs")
        .and_then(|r| serde_json::from_value(r.clone()).ok())
        .ok_or_else(|| Error::input(format!("{what}: no `runs` list in its JSON")))
}

/// Runs a peer command to completion; its stderr's last line is passed on on failure.
fn run_peer(what: &str, mut cmd: Command) -> Result<Vec<PeerPass>> {
    let out = cmd
        .output()
        .map_err(|e| Error::input(format!("{what}: cannot start {:?}: {e}", cmd.get_program())))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    match parse_peer_output(what, &stdout) {
        Err(e) if !out.status.success() => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
            let (last, status) = (last.unwrap_or(""), out.status);
            Err(Error::input(format!("{e} (exit {status}; stderr: {last})")))
        }
        result => result,
    }
}

/// Files a peer run reads and writes, in a scratch directory.
pub struct PeerFiles {
    pub dir: PathBuf,
    /// One `{"sequences": [...]}` file per point.
    pub batches: Vec<PathBuf>,
    pub states: PathBuf,
}

impl PeerFiles {
    /// Writes one token-batch file per point (first = `points[0]`).
    pub fn write(dir: &Path, ck: &Checkpoint, points: &[Point], seed: u64) -> Result<PeerFiles> {
        let mut batches = Vec::new();
        for (i, &p) in points.iter().enumerate() {
            let path = dir.join(format!("tokens-{i}.json"));
            let json = serde_json::json!({ "sequences": tokens(p, ck.config.vocab_size, seed) });
            write_atomic(&path, json.to_string().as_bytes())?;
            batches.push(path);
        }
        Ok(PeerFiles {
            dir: dir.to_path_buf(),
            batches,
            states: dir.join("states.safetensors"),
        })
    }

    /// Runs `cmd` (a peer given `--model model`) on every batch file, then reads the
    /// states it wrote; removes `model` afterwards.
    fn run(&self, what: &str, mut cmd: Command, model: &Path) -> Result<PeerRun> {
        let _ = std::fs::remove_file(&self.states);
        cmd.arg("--model").arg(model);
        cmd.arg("--states-out").arg(&self.states);
        for b in &self.batches {
            cmd.arg("--tokens").arg(b);
        }
        let passes = run_peer(what, cmd);
        let _ = std::fs::remove_file(model);
        let states = || -> Option<BTreeMap<String, Vec<f32>>> {
            let bytes = std::fs::read(&self.states).ok()?;
            let tensors = read_safetensors(&self.states.display().to_string(), &bytes).ok()?;
            Some(tensors.into_iter().map(|(n, t)| (n, t.to_f32())).collect())
        };
        Ok(PeerRun {
            passes: passes?,
            states: states(),
        })
    }
}

/// What a peer run gave: its timed passes per batch file and, if it wrote them, its
/// final states (name → f32 values).
pub struct PeerRun {
    pub passes: Vec<PeerPass>,
    pub states: Option<BTreeMap<String, Vec<f32>>>,
}

/// Rows for a peer's runs (on an f16 job: f16 weights), or one error row per point when it
/// failed.
pub fn peer_rows(
    engine: &str,
    shape: &Shape,
    points: &[Point],
    run: &Result<PeerRun>,
) -> Vec<PrefillRow> {
    (points.iter().enumerate())
        .map(|(i, &p)| match run.as_ref().map(|r| r.passes.get(i)) {
            Ok(Some(pass)) => row(engine, shape, p, pass.seconds.clone()),
            Ok(None) => failed(engine, shape, p, "no result for this batch"),
            Err(e) => failed(engine, shape, p, e.to_string()),
        })
        .collect()
}

/// web-rwkv (f16 weights, f16 activations, its default) on the same adapter choice.
pub fn run_web_rwkv(
    bin: &Path,
    opts: &BenchOptions,
    ck: &Checkpoint,
    files: &PeerFiles,
) -> Result<PeerRun> {
    let model = files.dir.join("model-web-rwkv.st");
    write_atomic(&model, &write_safetensors(&web_rwkv_tensors(ck)?)?)?;
    let mut cmd = Command::new(bin);
    cmd.args(["--warmup", &opts.warmup.min(1).to_string()]);
    cmd.args(["--repeat", &opts.repeat.max(1).to_string()]);
    for (flag, value) in [("--adapter", &opts.adapter), ("--backend", &opts.backend)] {
        if let Some(v) = value {
            cmd.args([flag, v]);
        }
    }
    files.run("web-rwkv", cmd, &model)
}

/// `$PYTHON` (default `python3`) running `scripts/bench-python-rwkv.py`.
fn python_script() -> Command {
    let mut cmd = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()));
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bench-python-rwkv.py"));
    cmd
}

/// Whether the Python peers can run (Python with the official `rwkv` package, torch and
/// numpy); `Err` says why not, in one line.
pub fn python_available() -> std::result::Result<(), String> {
    let out = (python_script().arg("--check").output())
        .map_err(|e| format!("cannot start python3: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    match last_json("python", &stdout) {
        Ok(_) if out.status.success() => Ok(()),
        Ok(_) => Err(format!("python exited with {}", out.status)),
        Err(e) => Err(e.to_string()),
    }
}

/// The official Python `rwkv` package on the CPU, batch 1: it reads our official-name
/// safetensors, runs each sequence alone in `cpu fp32`.
pub fn run_python(ck: &Checkpoint, files: &PeerFiles) -> Result<PeerRun> {
    let model = files.dir.join("model-official.safetensors");
    let tensors: Vec<_> = ck.tensors().map(|(n, t)| (n.clone(), t.clone())).collect();
    write_atomic(&model, &write_safetensors(&tensors)?)?;
    run_python_file(&model, files)
}

/// [`run_python`] on a checkpoint already written with the official names (removed
/// afterwards), with torch on as many threads as our CPU engines.
pub fn run_python_file(model: &Path, files: &PeerFiles) -> Result<PeerRun> {
    let mut cmd = python_script();
    cmd.args(["--threads", &rayon::current_num_threads().to_string()]);
    files.run("python rwkv", cmd, model)
}

/// numpy's fp32 GEMM `x[m][k] · W[n][k]ᵀ` in GFLOP/s: the CPU's optimised roof.
pub fn numpy_gemm_gflops([m, n, k]: [u32; 3]) -> Result<f64> {
    let what = "numpy GEMM";
    let mut cmd = python_script();
    cmd.args(["--gemm", &format!("{m},{n},{k}")]);
    let out = (cmd.output()).map_err(|e| Error::input(format!("{what}: cannot start: {e}")))?;
    let json = last_json(what, &String::from_utf8_lossy(&out.stdout))?;
    (json.get("gemm_gflops").and_then(|g| g.as_f64()))
        .ok_or_else(|| Error::input(format!("{what}: no `gemm_gflops` in its JSON")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::random::{random_checkpoint, RandomSpec};

    #[test]
    fn names_follow_the_web_rwkv_converter() {
        for (ours, theirs) in [
            ("blocks.3.att.time_maa_w1", "blocks.3.att.time_mix_w1"),
            ("blocks.0.att.time_faaaa", "blocks.0.att.time_first"),
            ("blocks.0.ffn.time_maa_k", "blocks.0.ffn.time_mix_k"),
            ("blocks.0.att.key.weight", "blocks.0.att.key.weight"),
        ] {
            assert_eq!(web_rwkv_name(ours), theirs);
        }
    }

    #[test]
    fn converted_model_has_the_shapes_web_rwkv_reads() {
        let spec = RandomSpec {
            with_head: true,
            ..RandomSpec::tiny(3)
        };
        let ck = random_checkpoint(&spec).unwrap();
        let t: BTreeMap<String, Tensor> = web_rwkv_tensors(&ck).unwrap().into_iter().collect();
        let shape = |n: &str| t[n].shape.clone();
        let ((r, d), c) = (spec.rwkv6_ranks(), spec.n_embd);
        // web-rwkv's Loader::info: R = shape(time_mix_w1)[0] / 5, D = shape(time_decay_w1)[0]
        assert_eq!(shape("blocks.0.att.time_mix_w1"), vec![5 * r, c]);
        assert_eq!(shape("blocks.0.att.time_mix_w2"), vec![5, c, r]);
        assert_eq!(shape("blocks.0.att.time_decay_w1"), vec![d, c]);
        assert_eq!(shape("blocks.0.att.time_decay_w2"), vec![c, d]);
        assert_eq!(shape("blocks.0.att.time_first"), vec![c / 64, 64]);
        assert!(t.values().all(|x| x.dtype == DType::F16));
        // values survive: time_mix_w1ᵀ[j][i] = time_maa_w1[i][j]
        let w1 = ck.get("blocks.1.att.time_maa_w1").unwrap().to_f16_bits();
        let w1t = t["blocks.1.att.time_mix_w1"].to_f16_bits();
        assert_eq!(w1t[7 * c + 5], w1[5 * 5 * r + 7]);
    }

    #[test]
    fn peer_output_parsing() {
        let ok = "log line\n{\"runs\":[{\"seconds\":[2.0],\"tokens_per_s\":8.0}],\"peak_rss_bytes\":5,\"adapter\":{\"name\":\"llvmpipe\"}}\n";
        let runs = parse_peer_output("web-rwkv", ok).unwrap();
        assert_eq!(runs[0].tokens_per_s, 8.0);
        let err =
            parse_peer_output("web-rwkv", "{\"error\":\"failed to request device\"}").unwrap_err();
        assert_eq!(err.to_string(), "web-rwkv: failed to request device");
        assert!(parse_peer_output("web-rwkv", "no json").is_err());
    }
}
