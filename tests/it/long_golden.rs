//! Long inputs against the official package (issue 17): `tests/fixtures/tiny-v6-long`
//! (C = 64, one 64-wide head, 2 layers) holds, for sequences of 1025, 4097 and 5000
//! tokens, the package's per-layer mean over all positions, the hidden states at every
//! 97th position and the last 8, and the final state (`scripts/make_goldens.py`,
//! docs/goldens.md). The plain-Rust reference and the GPU engine (lavapipe here; default
//! options, which split a sequence into passes of 4096 tokens, and the chunked WKV) must
//! match them per layer, and the state the GPU carries between passes must match the final
//! state.

use crate::common::{assert_final_states, checkpoint, golden_ratio, max_err, sci, Golden};
use rwkv_lens::gpu::{GpuEngine, GpuOptions, WkvKind};
use rwkv_lens::reference::{forward, Options};

const FIXTURE: &str = "tiny-v6-long";
/// The reference against the goldens: max |diff| / max(1, max |golden|) per tensor, as in
/// tests/it/reference_golden.rs.
const REF_TOL: f32 = 1e-5;

/// The GPU's final state against the goldens: max |diff| / max(1, max |golden|) per tensor
/// (the WKV state reaches 91, so an element-wise bound would judge its small entries by the
/// rounding of its large ones). Measured ≤ 6.6e-6 (WKV after 5000 tokens); the bound is
/// twice the docs' per-tensor 1e-5, the GPU's windowed sums rounding differently.
const STATE_TOL: f32 = 2e-5;

/// Per-layer hidden states of a batch, `[L+1]` × `[B][t_stride][C]`, from either engine.
struct Layers<'a> {
    hidden: &'a [Vec<f32>],
    t_stride: usize,
    c: usize,
}

impl Layers<'_> {
    fn row(&self, l: usize, b: usize, t: usize) -> &[f32] {
        let at = (b * self.t_stride + t) * self.c;
        &self.hidden[l][at..at + self.c]
    }

    /// Mean over the first `len` positions of sequence `b` (accumulated in f64, as the golden).
    fn mean(&self, l: usize, b: usize, len: usize) -> Vec<f32> {
        let mut sum = vec![0f64; self.c];
        for t in 0..len {
            sum.iter_mut()
                .zip(self.row(l, b, t))
                .for_each(|(s, &x)| *s += x as f64);
        }
        sum.iter().map(|s| (s / len as f64) as f32).collect()
    }
}

/// Worst error per layer over every sequence, means and sampled positions, with `err`
/// (max_err for the reference, the docs' element-wise tolerance ratio for the GPU).
fn compare(
    what: &str,
    got: &Layers,
    golden: &Golden,
    err: fn(&[f32], &[f32]) -> f32,
    limit: f32,
) -> Vec<f32> {
    let layers = golden.f32("hidden_mean.0").shape[0];
    let mut worst = vec![0f32; layers];
    for b in 0..golden.sequences() {
        let len = golden.tokens(b).len();
        let mean = golden.f32(&format!("hidden_mean.{b}"));
        let sampled = golden.f32(&format!("hidden_sampled.{b}"));
        let positions = golden.i32(&format!("positions.{b}"));
        for (l, w) in worst.iter_mut().enumerate() {
            let want = &mean.data[l * got.c..(l + 1) * got.c];
            let e = err(&got.mean(l, b, len), want);
            assert!(e <= limit, "{what}: T={len} layer {l} mean: error {e:.2e}");
            *w = w.max(e);
            for (i, &t) in positions.iter().enumerate() {
                let at = (l * positions.len() + i) * got.c;
                let e = err(got.row(l, b, t as usize), &sampled.data[at..at + got.c]);
                assert!(
                    e <= limit,
                    "{what}: T={len} layer {l} position {t}: error {e:.2e}"
                );
                *w = w.max(e);
            }
        }
    }
    println!("{what}: worst error per layer {}", sci(&worst));
    worst
}

fn sequences(golden: &Golden) -> Vec<Vec<u32>> {
    (0..golden.sequences()).map(|s| golden.tokens(s)).collect()
}

#[test]
fn fixture_covers_long_inputs() {
    let golden = Golden::open(FIXTURE);
    let lengths: Vec<usize> = sequences(&golden).iter().map(Vec::len).collect();
    assert_eq!(lengths, [1025, 4097, 5000]);
}

#[test]
fn reference_matches_the_official_package_on_long_inputs() {
    let weights = rwkv_lens::reference::Weights::from_checkpoint(&checkpoint(FIXTURE)).unwrap();
    let golden = Golden::open(FIXTURE);
    let seqs = sequences(&golden);
    let opts = Options {
        states: true,
        logits: false,
    };
    let out = forward(&weights, &seqs, &opts).unwrap();
    let got = Layers {
        hidden: &out.hidden,
        t_stride: out.t_max,
        c: weights.config.n_embd,
    };
    compare("reference", &got, &golden, max_err, REF_TOL);
    for b in 0..seqs.len() {
        assert_final_states("reference", &out, &golden, b, REF_TOL);
    }
}

/// The GPU engine with default options (serial WKV in time windows on lavapipe, passes of
/// 4096 tokens) and with the chunked WKV, against the goldens, with the element-wise
/// tolerance of docs/goldens.md: |a − b| ≤ 1e-4 + 1e-5·|b|.
#[test]
fn gpu_engine_matches_the_official_package_on_long_inputs() {
    let ck = checkpoint(FIXTURE);
    let golden = Golden::open(FIXTURE);
    let seqs = sequences(&golden);
    for (name, wkv) in [
        ("GPU default", WkvKind::Auto),
        ("GPU chunked WKV (L=64)", WkvKind::Chunked(64)),
    ] {
        let opts = GpuOptions {
            wkv,
            ..GpuOptions::default()
        };
        let mut engine = GpuEngine::new(&ck, opts).expect("GPU engine (lavapipe) starts");
        let out = engine.forward_hidden(&seqs).expect("GPU forward");
        let got = Layers {
            hidden: &out.hidden,
            t_stride: out.tokens,
            c: out.dim,
        };
        compare(name, &got, &golden, golden_ratio, 1.0);
    }
}

/// The GPU engine's state against the package's final state: a sequence of T + 1 tokens
/// in passes of T / k tokens starts its last pass from the state after T tokens, which is
/// what the engine carries (`carried_state`).
#[test]
fn gpu_carried_state_matches_the_official_final_state() {
    let ck = checkpoint(FIXTURE);
    let golden = Golden::open(FIXTURE);
    // pass sizes that divide T = 1025, 4097 (= 17 · 241) and 5000
    for (b, cap) in [(0, 1025), (1, 241), (2, 2500)] {
        let mut seq = golden.tokens(b);
        let len = seq.len();
        assert_eq!(len % cap, 0, "pass size {cap} must divide {len}");
        seq.push(0);
        let opts = GpuOptions {
            max_batch_tokens: cap,
            ..GpuOptions::default()
        };
        let mut engine = GpuEngine::new(&ck, opts).expect("GPU engine (lavapipe) starts");
        engine.forward_hidden(&[seq]).expect("GPU forward");
        for (l, got) in engine.carried_state().unwrap().iter().enumerate() {
            for (kind, got) in [
                ("att_shift", &got.att_shift),
                ("wkv", &got.wkv),
                ("ffn_shift", &got.ffn_shift),
            ] {
                let want = golden.f32(&format!("state.{b}.{kind}"));
                let size = got.len();
                let e = max_err(got, &want.data[l * size..(l + 1) * size]);
                assert!(
                    e <= STATE_TOL,
                    "T={len}, passes of {cap}: layer {l} {kind} off by {e:.2e}"
                );
                println!("T = {len}, passes of {cap}: layer {l} {kind} error {e:.2e}");
            }
        }
    }
}
