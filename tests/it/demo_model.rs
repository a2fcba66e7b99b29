//! The bundled demo model (`assets/demo-model/`, built by `scripts/make_demo_model.py`):
//! it loads, its decays have the documented half-lives, block 1 computes exactly the
//! moving averages the README describes, and the per-layer similarities of the browser
//! test's pairs equal `tests/e2e/expected.json` (which the browser is held to, within 1e-3),
//! as do those of the small random checkpoint `tiny-v6` with its own `tokenizer.json`
//! (safetensors and `.pth`).
//!
//! Regenerate the expected file: `RWKV_LENS_UPDATE_EXPECTED=1 cargo test --test it -- demo_model::`.

use std::path::PathBuf;

use crate::common::pairs::{assert_close, similarities, Table};

use rwkv_lens::model::{load::load, Checkpoint};
use rwkv_lens::reference::{self, Options, Weights};
use rwkv_lens::tokenizer::Tokenizer;

fn root(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn demo() -> Checkpoint {
    load(&root("assets/demo-model/rwkv6-demo.safetensors")).expect("demo model loads")
}

#[test]
fn dimensions_and_half_lives() {
    let ck = demo();
    let c = &ck.config;
    assert_eq!(
        (c.n_embd, c.n_head, c.head_size, c.n_layer),
        (128, 2, 64, 4)
    );
    assert_eq!(c.vocab_size, 65536);
    for l in 0..c.n_layer {
        let decay = ck.f32(&format!("blocks.{l}.att.time_decay")).unwrap();
        let bonus = ck.f32(&format!("blocks.{l}.att.time_faaaa")).unwrap();
        for (ch, (&td, &u)) in decay.iter().zip(&bonus).enumerate() {
            let w = (-(td as f64).exp()).exp();
            let half_life = -(2f64.ln()) / w.ln();
            let designed = 2f64.powf((ch % 64) as f64 / 8.0);
            assert!(
                (half_life / designed - 1.0).abs() < 2e-3,
                "block {l} channel {ch}: half-life {half_life}, designed {designed}"
            );
            assert!((u as f64 * w - 1.0).abs() < 2e-3, "u·w = {}", u as f64 * w);
        }
    }
}

/// `sqrt(128)·x/|x|` on the content channels: what LN1/LN2 do to a residual.
fn normalise(x: &[f32], scale: f32) -> Vec<f32> {
    let norm = x.iter().map(|v| v * v).sum::<f32>().sqrt();
    x.iter().map(|v| v * scale / norm).collect()
}

#[test]
fn block_one_is_two_moving_averages_plus_identity() {
    let ck = demo();
    let weights = Weights::from_checkpoint(&ck).unwrap();
    let tok = Tokenizer::from_spec("world").unwrap();
    let ids = tok
        .encode("The cat sat on the mat and the dog slept")
        .unwrap();
    let out =
        reference::forward(&weights, std::slice::from_ref(&ids), &Options::default()).unwrap();
    let (c, t_len) = (128, ids.len());
    let x0 = &out.hidden[0];
    let decay = ck.f32("blocks.0.att.time_decay").unwrap();
    let bonus = ck.f32("blocks.0.att.time_faaaa").unwrap();
    // Block 1 reads key channel 0 in head 0 and key channel 8 in head 1.
    let mut expected = Vec::new();
    for (head, key) in [(0usize, 0usize), (1, 8)] {
        let ch = head * 64 + key;
        let w = (-(decay[ch]).exp()).exp();
        let mut state = vec![0.0f32; 63];
        let mut per_token = Vec::new();
        for t in 0..t_len {
            let v = normalise(&x0[t * c..t * c + 63], (c as f32).sqrt());
            // o_t = S_{t-1} + u·v_t ; S_t = w·S_{t-1} + v_t   (k = r = 1)
            let o: Vec<f32> = state
                .iter()
                .zip(&v)
                .map(|(s, v)| s + bonus[ch] * v)
                .collect();
            state.iter_mut().zip(&v).for_each(|(s, v)| *s = w * *s + v);
            per_token.push(normalise(&o, 8.0)); // GroupNorm over the head's 64 channels
        }
        expected.push(per_token);
    }
    for t in 0..t_len {
        let mut x: Vec<f32> = x0[t * c..t * c + 63].to_vec();
        for head in &expected {
            x.iter_mut().zip(&head[t]).for_each(|(x, a)| *x += a);
        }
        let ffn = normalise(&x, (c as f32).sqrt());
        x.iter_mut().zip(&ffn).for_each(|(x, f)| *x += f);
        let got = &out.hidden[1][t * c..(t + 1) * c];
        for (j, (&g, &e)) in got.iter().zip(&x).enumerate() {
            assert!((g - e).abs() < 2e-3, "token {t} channel {j}: {g} vs {e}");
        }
        let spare = got[63..].iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(
            spare < 1e-2,
            "spare channels stay (nearly: f16 rounding) zero: {spare}"
        );
    }
}

#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
struct Expected {
    pairs: Vec<(String, String)>,
    /// `[pooling][pair][layer]` cosine similarities.
    mean: Vec<Vec<f64>>,
    last: Vec<Vec<f64>>,
    /// The browser's Recurrence view is held to these (`web/src/page/recurrence/`).
    recurrence: Recurrence,
    /// The small random checkpoint with its own `tokenizer.json`.
    tiny: Tiny,
}

/// `tests/fixtures/tiny-v6` (vocabulary 512) with `tests/fixtures/tokenizer/tiny_bpe.json`:
/// the browser loads it as f32 safetensors and as the bf16 `.pth`, each with the tokenizer.
#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
struct Tiny {
    pairs: Vec<(String, String)>,
    safetensors: Table,
    pth: Table,
}

/// One traced sentence: `state_after[key][value]` at one cell for some steps, and the
/// recurrent-vs-chunked check.
#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
struct Recurrence {
    sentence: String,
    /// 1-based block.
    layer: usize,
    head: usize,
    /// (key row, value column): `recurrence::PROBE` in the web app.
    cell: (usize, usize),
    tokens: usize,
    /// (0-based step, `state_after` at `cell`): steps 1, 3 and the last.
    steps: Vec<(usize, f64)>,
    max_abs_diff: f64,
}

fn recurrence(want: &Recurrence) -> Recurrence {
    let weights = Weights::from_checkpoint(&demo()).unwrap();
    let tok = Tokenizer::from_spec("world").unwrap();
    let ids = tok.encode(&want.sentence).unwrap();
    let tr = rwkv_lens::trace::trace(&weights, &ids, want.layer, want.head).unwrap();
    let n = tr.head_size();
    let (row, col) = want.cell;
    let steps = [1, 3, ids.len() - 1]
        .into_iter()
        .map(|t| (t, tr.steps[t].state_after[row * n + col] as f64))
        .collect();
    Recurrence {
        sentence: want.sentence.clone(),
        layer: want.layer,
        head: want.head,
        cell: want.cell,
        tokens: ids.len(),
        steps,
        max_abs_diff: tr.check.max_abs_diff as f64,
    }
}

fn tiny(pairs: &[(String, String)]) -> Tiny {
    let tok = Tokenizer::from_spec(
        root("tests/fixtures/tokenizer/tiny_bpe.json")
            .to_str()
            .unwrap(),
    )
    .unwrap();
    let model = |f: &str| load(&root(&format!("tests/fixtures/tiny-v6/{f}"))).unwrap();
    Tiny {
        pairs: pairs.to_vec(),
        safetensors: similarities(&model("model.safetensors"), &tok, pairs),
        pth: similarities(&model("model.pth"), &tok, pairs),
    }
}

fn compute(want: &Expected) -> Expected {
    let tok = Tokenizer::from_spec("world").unwrap();
    let Table { mean, last } = similarities(&demo(), &tok, &want.pairs);
    Expected {
        pairs: want.pairs.clone(),
        mean,
        last,
        recurrence: recurrence(&want.recurrence),
        tiny: tiny(&want.tiny.pairs),
    }
}

#[test]
fn browser_pairs_match_expected_file() {
    let path = root("tests/e2e/expected.json");
    let text = std::fs::read_to_string(&path).expect("tests/e2e/expected.json");
    let want: Expected = serde_json::from_str(&text).unwrap();
    let got = compute(&want);
    if std::env::var("RWKV_LENS_UPDATE_EXPECTED").is_ok() {
        let json = serde_json::to_string_pretty(&got).unwrap();
        std::fs::write(&path, json + "\n").unwrap();
        return;
    }
    assert_close("mean", &got.mean, &want.mean);
    assert_close("last", &got.last, &want.last);
    for (name, g, w) in [
        (
            "tiny safetensors",
            &got.tiny.safetensors,
            &want.tiny.safetensors,
        ),
        ("tiny pth", &got.tiny.pth, &want.tiny.pth),
    ] {
        assert_close(&format!("{name} mean"), &g.mean, &w.mean);
        assert_close(&format!("{name} last"), &g.last, &w.last);
    }
    let (g, w) = (&got.recurrence, &want.recurrence);
    assert_eq!(g.tokens, w.tokens, "recurrence sentence's token count");
    for ((tg, a), (tw, b)) in g.steps.iter().zip(&w.steps) {
        assert_eq!(tg, tw);
        assert!((a - b).abs() < 1e-5, "recurrence step {tg}: {a} vs {b}");
    }
    assert!(
        g.max_abs_diff < 1e-4,
        "recurrent vs chunked: {}",
        g.max_abs_diff
    );
}
