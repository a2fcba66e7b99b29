//! Checking that every engine computes the same thing on the same weights and tokens:
//! max |diff| of the last layer's final state (and last-token logits) between the peers,
//! our GPU engine and the CPU reference.
//!
//! The state is scale-free — att/ffn shifts are LayerNorm outputs, the WKV state is built
//! from LN-fed projections — so web-rwkv's halving of the residual every 6 layers leaves it
//! untouched; our GPU's att shift is `LN1_L(h_{L−1})` at the last token, from its hidden states.

use std::collections::BTreeMap;

use super::report::{Agreement, CPU, FAST, OURS};
use crate::gpu::GpuEngine;
use crate::model::Checkpoint;
use crate::reference::ops::layer_norm;
use crate::reference::time_mix::LN_EPS;
use crate::reference::{forward, CpuEngine, Options};
use crate::Result;

/// Final quantities per sequence of the agreement batch: all of them from the reference,
/// `last_layer` and `att_shift` from our GPU.
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

/// Each sequence's last token in a right-padded `[B][T][n]` array: `[B][n]`.
fn last_tokens(all: &[f32], lengths: &[usize], t: usize, n: usize) -> Vec<Vec<f32>> {
    (lengths.iter().enumerate())
        .map(|(b, &len)| all[(b * t + len - 1) * n..][..n].to_vec())
        .collect()
}

/// Runs the reference once with states and logits on `toks`.
pub fn reference_finals(cpu: &CpuEngine, toks: &[Vec<u32>]) -> Result<Finals> {
    let w = cpu.weights();
    let opts = Options {
        states: true,
        logits: w.head.is_some(),
    };
    let out = forward(w, toks, &opts)?;
    let (c, t, v) = (w.config.n_embd, out.t_max, w.config.vocab_size);
    let hn2 = w.config.n_head * w.config.head_size * w.config.head_size;
    let last_state = (out.states.as_ref())
        .and_then(|s| s.last())
        .expect("states were asked for");
    let per_seq = |all: &[f32], n| all.chunks_exact(n).map(<[f32]>::to_vec).collect();
    let last = |all: &[f32], n: usize| last_tokens(all, &out.lengths, t, n);
    Ok(Finals {
        att_shift: per_seq(&last_state.att_shift, c),
        wkv: per_seq(&last_state.wkv, hn2),
        ffn_shift: per_seq(&last_state.ffn_shift, c),
        logits: out.logits.as_ref().map_or(vec![], |l| last(l, v)),
        last_layer: last(&out.hidden[w.config.n_layer], c),
    })
}

/// Our GPU's side at each last token, from its per-token hidden states: layer L, and the
/// final att shift `LN1_L(h_{L−1})` from layer L−1.
pub fn gpu_finals(engine: &mut GpuEngine, ck: &Checkpoint, toks: &[Vec<u32>]) -> Result<Finals> {
    let h = engine.forward_hidden(toks)?;
    let l = h.hidden.len() - 1;
    let at = |layer: usize| last_tokens(&h.hidden[layer], &h.lengths, h.tokens, h.dim);
    let w = ck.f32(&format!("blocks.{}.ln1.weight", l - 1))?;
    let b = ck.f32(&format!("blocks.{}.ln1.bias", l - 1))?;
    let ln1 = |x: &Vec<f32>| {
        let mut out = vec![0.0; x.len()];
        layer_norm(x, &w, &b, LN_EPS, &mut out);
        out
    };
    Ok(Finals {
        att_shift: at(l - 1).iter().map(ln1).collect(),
        last_layer: at(l),
        ..Finals::default()
    })
}

/// max |a − b| (infinite when the shapes differ) and max |b| over all sequences.
pub fn max_abs_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> (f64, f64) {
    let same_shape = a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.len() == y.len());
    let pairs = a.iter().zip(b).flat_map(|(x, y)| x.iter().zip(y));
    let (mut diff, mut scale) = (0.0f64, 0.0f64);
    for (&p, &q) in pairs {
        diff = diff.max((p as f64 - q as f64).abs());
        scale = scale.max((q as f64).abs());
    }
    (if same_shape { diff } else { f64::INFINITY }, scale)
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

/// Relative tolerance of our GPU (f32 maths) and of the Python package against the reference.
pub const GPU_REL_TOL: f64 = 2e-3;
/// Relative tolerance of web-rwkv (f16 activations) against the reference.
pub const WEB_RWKV_REL_TOL: f64 = 1e-2;

/// GPU vs reference: layer L and the final att shift at each last token.
pub fn gpu_agreement(shape: &str, gpu: &Finals, r: &Finals) -> Vec<Agreement> {
    let pair = format!("{OURS} vs {CPU}");
    let check = |quantity, ours, want| agree(shape, &pair, quantity, ours, want, GPU_REL_TOL);
    let hidden = "last-layer hidden (last token)";
    vec![
        check(hidden, &gpu.last_layer, &r.last_layer),
        check("last-layer att_shift", &gpu.att_shift, &r.att_shift),
    ]
}

/// Relative tolerance of the fast CPU engine against the f32 oracle (f32 maths, sums in
/// another order; tests/fast_engine.rs holds it to 1e-4 on the goldens' models).
pub const FAST_REL_TOL: f64 = 1e-4;

/// The fast CPU engine vs the f32 oracle: layer L at each last token and the last block's
/// final state.
pub fn fast_agreement(shape: &str, fast: &Finals, r: &Finals) -> Vec<Agreement> {
    let pair = format!("{FAST} vs {CPU}");
    let check = |quantity, ours, want| agree(shape, &pair, quantity, ours, want, FAST_REL_TOL);
    vec![
        check(
            "last-layer hidden (last token)",
            &fast.last_layer,
            &r.last_layer,
        ),
        check("last-layer att_shift", &fast.att_shift, &r.att_shift),
        check("last-layer wkv state", &fast.wkv, &r.wkv),
        check("last-layer ffn_shift", &fast.ffn_shift, &r.ffn_shift),
    ]
}

/// A peer's final last-layer state (and logits) vs the reference, and its att shift vs
/// our GPU's when given; the states are `seq{b}.{att_shift,wkv,ffn_shift,logits}`.
pub fn peer_agreement(
    shape: &str,
    peer: &str,
    rel: f64,
    states: &BTreeMap<String, Vec<f32>>,
    r: &Finals,
    gpu_att_shift: Option<&[Vec<f32>]>,
) -> Vec<Agreement> {
    let get = |q: &str| -> Vec<Vec<f32>> {
        let seq = |b| states.get(&format!("seq{b}.{q}")).cloned();
        let n = r.att_shift.len();
        (0..n).map(|b| seq(b).unwrap_or_default()).collect()
    };
    let quantities = [
        ("att_shift", "last-layer att_shift", &r.att_shift),
        ("wkv", "last-layer wkv state", &r.wkv),
        ("ffn_shift", "last-layer ffn_shift", &r.ffn_shift),
        ("logits", "last-token logits", &r.logits),
    ];
    let pair = format!("{peer} vs {CPU}");
    let mut out: Vec<Agreement> = (quantities.into_iter())
        .filter(|(_, _, want)| !want.is_empty()) // no logits without an LM head
        .map(|(key, quantity, want)| agree(shape, &pair, quantity, &get(key), want, rel))
        .collect();
    if let Some(g) = gpu_att_shift {
        let (pair, quantity) = (format!("{peer} vs {OURS}"), "last-layer att_shift");
        out.push(agree(shape, &pair, quantity, &get("att_shift"), g, rel));
    }
    out
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
