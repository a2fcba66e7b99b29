//! The WKV in the form of the GPU's chunked kernel (`shaders/wkv_chunked.wgsl`), its
//! oracle. Over one chunk c of L tokens the recurrence of wkv.rs is affine in the state the
//! chunk starts from, `S_end = diag(D_c) S_start + ΔS_c`, per (sequence, head):
//!
//! ```text
//! 1. chunk states   ΔS_c = the recurrence run from S = 0 over chunk c     [N][N]
//!                   D_c  = exp(Σ_{t∈c} log w_t)                            [N]
//! 2. scan           S_start(0) = the carried state
//!                   S_start(c+1) = diag(D_c) S_start(c) + ΔS_c            (serial over T/L chunks)
//! 3. chunk outputs  o_t = the recurrence again from S_start(c), for t ∈ c
//! ```
//! Phases 1 and 3 are independent across chunks (the GPU runs them side by side). Every
//! step multiplies by decays ≤ 1 and adds, exactly as the recurrence does, so no
//! `exp(−Σ log w)` can overflow. (chunked.rs is the other parallel form: the
//! attention-like matrix inside a chunk.)

use std::ops::Range;

use super::chunked::{for_each_head, Head};
use super::time_mix::Projections;
use super::wkv::Step;
use super::Packing;
use crate::Result;

/// Runs the three phases over every sequence and head, `chunk_len` tokens per chunk (the
/// last chunk of a sequence may be shorter). Same contract as [`super::wkv::recurrent`]:
/// `state` holds one `[H][N][N]` ([key][value]) per sequence, updated in place; returns
/// `o`, `[n][C]`.
pub fn chunk_scan(
    p: &Projections,
    packing: &Packing,
    heads: usize,
    u: &[f32],
    state: &mut [Vec<f32>],
    chunk_len: usize,
) -> Result<Vec<f32>> {
    let per_head = |head: &Head, s: &mut [f32], out: &mut [f32]| {
        let (mut starts, decays): (Vec<_>, Vec<_>) = (head.chunks.iter())
            .map(|ch| chunk_state(head, ch.clone()))
            .unzip();
        scan(s, &mut starts, &decays);
        for (ch, s_start) in head.chunks.iter().zip(starts) {
            chunk_outputs(head, ch.clone(), s_start, out);
        }
    };
    let chunks = packing.chunks(chunk_len)?;
    Ok(for_each_head(p, &chunks, heads, u, state, per_head))
}

/// The recurrence's step at row `t`, on this head's channels.
fn step<'a>(head: &Head<'a>, t: usize) -> Step<'a> {
    let ch = head.channels(t);
    Step {
        r: &head.p.r[ch.clone()],
        k: &head.p.k[ch.clone()],
        v: &head.p.v[ch.clone()],
        log_w: &head.p.log_w[ch],
    }
}

/// Phase 1: `(ΔS_c [N][N], D_c [N])` of the chunk `tokens` (its outputs are dropped).
fn chunk_state(head: &Head, tokens: Range<usize>) -> (Vec<f32>, Vec<f32>) {
    let n = head.n;
    let (mut s, mut log_decay, mut unused) = (vec![0.0; n * n], vec![0.0f32; n], vec![0.0; n]);
    for t in tokens {
        let step = step(head, t);
        step.apply(head.u, &mut s, &mut unused);
        for (d, lw) in log_decay.iter_mut().zip(step.log_w) {
            *d += lw;
        }
    }
    (s, log_decay.iter().map(|d| d.exp()).collect())
}

/// Phase 3: the outputs of the chunk `tokens`, from its start state.
fn chunk_outputs(head: &Head, tokens: Range<usize>, mut s: Vec<f32>, out: &mut [f32]) {
    for t in tokens {
        step(head, t).apply(head.u, &mut s, &mut out[head.channels(t)]);
    }
}

/// Phase 2: replaces every `ΔS_c` by `S_start(c)`; `s` ([N][N]) goes from the carried
/// state to the state after the last chunk.
fn scan(s: &mut [f32], chunk_states: &mut [Vec<f32>], decays: &[Vec<f32>]) {
    for (delta, d) in chunk_states.iter_mut().zip(decays) {
        let n = d.len();
        for (i, di) in d.iter().enumerate() {
            for j in 0..n {
                let x = i * n + j;
                let start = s[x];
                s[x] = di * start + delta[x];
                delta[x] = start;
            }
        }
    }
}
