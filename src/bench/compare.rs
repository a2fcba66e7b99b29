//! Running the peers on the same weights and tokens, and checking that everyone computes
//! the same thing: max |diff| of the last layer's final state (and last-token logits)
//! between web-rwkv, our GPU engine and the CPU reference.
//!
//! The state is scale-free — att/ffn shifts are LayerNorm outputs, the WKV state is built
//! from LN-fed projections — so web-rwkv's halving of the residual every 6 layers leaves it
//! untouched; our GPU's att shift is `LN1_L(h_{L−1})` at the last token, from its hidden states.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::ours::{row, EngineSetup, LastRows};
use super::peer::{read_states, run_peer, write_token_batch, write_web_rwkv_model, PeerRun};
use super::report::{Agreement, PrefillRow};
use super::spec::{tokens, Point, Shape};
use crate::model::Checkpoint;
use crate::reference::ops::layer_norm;
use crate::reference::time_mix::LN_EPS;
use crate::reference::{forward, CpuEngine, Options};
use crate::Result;

/// The reference's final quantities per sequence of the agreement batch.
#[derive(Debug, Clone, Default)]
pub struct Finals {
    pub att_shift: Vec<Vec<f32>>,
    /// `[H][N][N]` [key][value].
    pub wkv: Vec<Vec<f32>>,
    pub ffn_shift: Vec<Vec<f32>>,
    pub logits: Vec<Vec<f32>>,
    /// Layer L at the last token.
    pub last_layer: Vec<Vec<f32>>,
}

/// Runs the reference once with states and logits on `toks`.
pub fn reference_finals(cpu: &CpuEngine, toks: &[Vec<u32>]) -> Result<Finals> {
    let w = cpu.weights();
    let want_logits = w.head.is_some();
    let out = forward(
        w,
        toks,
        &Options {
            states: true,
            logits: want_logits,
        },
    )?;
    let (c, t, v) = (w.config.n_embd, out.t_max, w.config.vocab_size);
    let last_state = out
        .states
        .as_ref()
        .and_then(|s| s.last())
        .expect("states were asked for");
    let per_seq = |all: &[f32], b: usize, n: usize| all[b * n..(b + 1) * n].to_vec();
    let hn2 = w.config.n_head * w.config.head_size * w.config.head_size;
    let mut f = Finals::default();
    for (b, &len) in out.lengths.iter().enumerate() {
        f.att_shift.push(per_seq(&last_state.att_shift, b, c));
        f.wkv.push(per_seq(&last_state.wkv, b, hn2));
        f.ffn_shift.push(per_seq(&last_state.ffn_shift, b, c));
        let last_row = (b * t + len - 1) * c;
        f.last_layer
            .push(out.hidden[w.config.n_layer][last_row..last_row + c].to_vec());
        if let Some(l) = &out.logits {
            let at = (b * t + len - 1) * v;
            f.logits.push(l[at..at + v].to_vec());
        }
    }
    Ok(f)
}

/// `LN1` of the last block applied to the GPU's layer L−1 rows: its final att shift.
pub fn gpu_att_shift(ck: &Checkpoint, gpu: &LastRows) -> Result<Vec<Vec<f32>>> {
    let last = ck.config.n_layer - 1;
    let w = ck.f32(&format!("blocks.{last}.ln1.weight"))?;
    let b = ck.f32(&format!("blocks.{last}.ln1.bias"))?;
    Ok(gpu
        .before_last_block
        .iter()
        .map(|x| {
            let mut out = vec![0.0; x.len()];
            layer_norm(x, &w, &b, LN_EPS, &mut out);
            out
        })
        .collect())
}

/// max |a − b| and max |b| over all sequences.
pub fn max_abs_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> (f64, f64) {
    let mut diff = 0.0f64;
    let mut scale = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        for (p, q) in x.iter().zip(y) {
            diff = diff.max((*p as f64 - *q as f64).abs());
            scale = scale.max((*q as f64).abs());
        }
        if x.len() != y.len() {
            diff = f64::INFINITY;
        }
    }
    if a.len() != b.len() {
        diff = f64::INFINITY;
    }
    (diff, scale)
}

/// One agreement line; the tolerance is `rel · max(1, max |reference|)`.
pub fn agree(
    shape: &str,
    pair: &str,
    quantity: &str,
    a: &[Vec<f32>],
    reference: &[Vec<f32>],
    rel: f64,
) -> Agreement {
    let (max_abs_diff, max_abs_ref) = max_abs_diff(a, reference);
    let tolerance = rel * max_abs_ref.max(1.0);
    Agreement {
        shape: shape.into(),
        pair: pair.into(),
        quantity: quantity.into(),
        max_abs_diff,
        max_abs_ref,
        tolerance,
        pass: max_abs_diff <= tolerance,
    }
}

/// Relative tolerance of our GPU (f32 maths) against the reference.
pub const GPU_REL_TOL: f64 = 2e-3;
/// Relative tolerance of web-rwkv (f16 activations) against the reference.
pub const WEB_RWKV_REL_TOL: f64 = 1e-2;

/// GPU vs reference: layer L and the final att shift at each last token.
pub fn gpu_agreement(
    shape: &str,
    ck: &Checkpoint,
    gpu: &LastRows,
    r: &Finals,
) -> Result<Vec<Agreement>> {
    let pair = "rwkv-lens gpu vs cpu reference";
    Ok(vec![
        agree(
            shape,
            pair,
            "last-layer hidden (last token)",
            &gpu.last_layer,
            &r.last_layer,
            GPU_REL_TOL,
        ),
        agree(
            shape,
            pair,
            "last-layer att_shift",
            &gpu_att_shift(ck, gpu)?,
            &r.att_shift,
            GPU_REL_TOL,
        ),
    ])
}

/// web-rwkv's final last-layer state (and logits) vs the reference and vs our GPU.
pub fn web_rwkv_agreement(
    shape: &str,
    states: &BTreeMap<String, Vec<f32>>,
    r: &Finals,
    gpu_att_shift: Option<&[Vec<f32>]>,
) -> Vec<Agreement> {
    let get = |q: &str| -> Vec<Vec<f32>> {
        (0..r.att_shift.len())
            .map(|b| {
                states
                    .get(&format!("seq{b}.{q}"))
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    };
    let pair = "web-rwkv vs cpu reference";
    let tol = WEB_RWKV_REL_TOL;
    let mut out = vec![
        agree(
            shape,
            pair,
            "last-layer att_shift",
            &get("att_shift"),
            &r.att_shift,
            tol,
        ),
        agree(
            shape,
            pair,
            "last-layer wkv state",
            &get("wkv"),
            &r.wkv,
            tol,
        ),
        agree(
            shape,
            pair,
            "last-layer ffn_shift",
            &get("ffn_shift"),
            &r.ffn_shift,
            tol,
        ),
    ];
    if !r.logits.is_empty() {
        out.push(agree(
            shape,
            pair,
            "last-token logits",
            &get("logits"),
            &r.logits,
            tol,
        ));
    }
    if let Some(g) = gpu_att_shift {
        out.push(agree(
            shape,
            "web-rwkv vs rwkv-lens gpu",
            "last-layer att_shift",
            &get("att_shift"),
            g,
            tol,
        ));
    }
    out
}

/// Files a peer run reads and writes, in a scratch directory.
pub struct PeerFiles {
    pub dir: PathBuf,
    pub batches: Vec<PathBuf>,
    pub states: PathBuf,
}

/// Writes one token-batch file per point (first = `points[0]`).
pub fn write_batches(
    dir: &Path,
    ck: &Checkpoint,
    points: &[Point],
    seed: u64,
) -> Result<PeerFiles> {
    let mut batches = Vec::new();
    for (i, &p) in points.iter().enumerate() {
        let path = dir.join(format!("tokens-{i}.json"));
        write_token_batch(&tokens(p, ck.config.vocab_size, seed), &path)?;
        batches.push(path);
    }
    Ok(PeerFiles {
        dir: dir.to_path_buf(),
        batches,
        states: dir.join("states.safetensors"),
    })
}

/// Rows for a peer's runs, or one error row per point when it failed.
pub fn peer_rows(
    engine: &str,
    shape: &Shape,
    points: &[Point],
    run: &Result<PeerRun>,
) -> Vec<PrefillRow> {
    let dtype = crate::model::DType::F16;
    points
        .iter()
        .enumerate()
        .map(|(i, &p)| match run.as_ref().map(|r| r.runs.get(i)) {
            Ok(Some(pass)) => row(engine, shape, dtype, p, pass.seconds.clone()),
            Ok(None) => failed(engine, shape, p, "no result for this batch".into()),
            Err(e) => failed(engine, shape, p, e.to_string()),
        })
        .collect()
}

/// A row without a number, saying why.
pub fn failed(engine: &str, shape: &Shape, p: Point, status: String) -> PrefillRow {
    let mut r = row(engine, shape, crate::model::DType::F16, p, vec![]);
    r.tokens_per_s = 0.0;
    r.status = status;
    r
}

/// web-rwkv on `points` (f16 weights, f16 activations, its default), same adapter choice.
pub fn run_web_rwkv(
    bin: &Path,
    setup: &EngineSetup,
    ck: &Checkpoint,
    files: &PeerFiles,
) -> Result<PeerRun> {
    let model = files.dir.join("model-web-rwkv.st");
    write_web_rwkv_model(ck, &model)?;
    let mut cmd = Command::new(bin);
    cmd.arg("--model")
        .arg(&model)
        .arg("--states-out")
        .arg(&files.states);
    for b in &files.batches {
        cmd.arg("--tokens").arg(b);
    }
    cmd.args(["--warmup", &setup.reps.warmup.min(1).to_string()]);
    cmd.args(["--repeat", &setup.reps.timed.to_string()]);
    if let Some(a) = &setup.adapter {
        cmd.args(["--adapter", a]);
    }
    if let Some(b) = &setup.backend {
        cmd.args(["--backend", b]);
    }
    let run = run_peer("web-rwkv", cmd);
    let _ = std::fs::remove_file(&model);
    run
}

/// The official Python `rwkv` package on the CPU (`scripts/bench-python-rwkv.py`), batch 1:
/// it reads our official-name safetensors, runs each sequence alone in `cpu fp32`.
pub fn run_python(script: &Path, ck_path: &Path, files: &PeerFiles) -> Result<PeerRun> {
    let mut cmd = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()));
    cmd.arg(script)
        .arg("--model")
        .arg(ck_path)
        .arg("--states-out")
        .arg(&files.states);
    for b in &files.batches {
        cmd.arg("--tokens").arg(b);
    }
    run_peer("python rwkv", cmd)
}

/// Reads the states file a peer wrote, if it did.
pub fn peer_states(files: &PeerFiles) -> Option<BTreeMap<String, Vec<f32>>> {
    read_states(&files.states).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_and_tolerance() {
        let a = vec![vec![1.0, 2.0], vec![3.0]];
        let b = vec![vec![1.5, 2.0], vec![-4.0]];
        assert_eq!(max_abs_diff(&a, &b), (7.0, 4.0));
        let g = agree("s", "p", "q", &a, &a, 1e-3);
        assert!(g.pass && g.max_abs_diff == 0.0);
        let g = agree("s", "p", "q", &a, &b, 0.5); // tol = 0.5 · 4
        assert_eq!((g.tolerance, g.pass), (2.0, false));
        assert_eq!(
            max_abs_diff(&a, &a[..1]).0,
            f64::INFINITY,
            "missing sequences never pass"
        );
    }
}
