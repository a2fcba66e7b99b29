//! The arithmetic behind [`super::trace`]: the block's input from the reference forward,
//! the token-shift mix amounts, and the traced head's recurrence written out step by step.

use super::{ChunkedCheck, Influence, ModelDims, ShiftMix, Step, Trace, CHECK_CHUNK_LEN, FORMAT};
use crate::model::Config;
use crate::reference::ops::layer_norm_rows;
use crate::reference::time_mix::{project, shift_amounts, token_shift, Projections, LN_EPS};
use crate::reference::weights::{Block, TimeMix};
use crate::reference::{chunked, wkv, Packing, Weights};
use crate::Result;

/// Head `head` of `block` (block `layer`, 1-based) on its input `x` (`[T][C]`, the
/// residual stream entering it).
pub(super) fn trace_block(
    cfg: &Config,
    (block, x): (&Block, &[f32]),
    tokens: &[u32],
    (layer, head): (usize, usize),
    piece: &dyn Fn(u32) -> Option<String>,
) -> Result<Trace> {
    let (c, n_t) = (cfg.n_embd, tokens.len());
    let packing = Packing::new(&[n_t]);
    let (att, ln1) = (&block.att, &block.ln1);
    // xx = LN1(x), sx = the previous token's xx (zeros before the first), [T][C]
    let xx = layer_norm_rows(x, &ln1.weight, &ln1.bias, LN_EPS);
    let sx = token_shift(&xx, c, &packing, &[vec![0.0; c]]);
    let p = project(&xx, &sx, n_t, att);
    let [mw, mk, mv, mr, mg] = shift_amounts(&xx, &sx, n_t, att);
    let mixes = (0..n_t).map(|t| {
        let row = |m: &[f32]| m[t * c..(t + 1) * c].to_vec();
        ShiftMix {
            w: row(&mw),
            k: row(&mk),
            v: row(&mv),
            r: row(&mr),
            g: row(&mg),
        }
    });
    let n = cfg.head_size;
    let u = att.u[head * n..(head + 1) * n].to_vec();
    let steps = head_steps(&p, &u, head, c, tokens, mixes.collect(), piece);
    Ok(Trace {
        format: FORMAT,
        model: ModelDims {
            n_layer: cfg.n_layer,
            n_embd: c,
            n_head: cfg.n_head,
            head_size: n,
            vocab_size: cfg.vocab_size,
        },
        layer,
        head,
        u,
        steps,
        check: chunked_check(&p, &packing, att, n, CHECK_CHUNK_LEN)?,
    })
}

/// The residual stream entering block `layer` (1-based): `x` after blocks 1..layer−1,
/// `[T][C]`, from the reference forward.
pub(super) fn block_input(w: &Weights, tokens: &[u32], layer: usize) -> Result<Vec<f32>> {
    let mut input = Vec::new();
    crate::reference::forward_with(w, &[tokens.to_vec()], false, |i, x| {
        if i + 1 == layer {
            input = x.to_vec();
        }
    })?;
    Ok(input)
}

/// The head's recurrence, one token at a time, from `S = 0`.
fn head_steps(
    p: &Projections,
    u: &[f32],
    head: usize,
    c: usize,
    tokens: &[u32],
    mixes: Vec<ShiftMix>,
    piece: &dyn Fn(u32) -> Option<String>,
) -> Vec<Step> {
    let n = u.len();
    let slice = |x: &[f32], t: usize| x[t * c + head * n..t * c + (head + 1) * n].to_vec();
    let mut state = vec![0.0f32; n * n];
    let mut steps: Vec<Step> = Vec::with_capacity(tokens.len());
    for (t, mix) in mixes.into_iter().enumerate() {
        let (r, k, v, log_w) = (
            slice(&p.r, t),
            slice(&p.k, t),
            slice(&p.v, t),
            slice(&p.log_w, t),
        );
        let w: Vec<f32> = log_w.iter().map(|l| l.exp()).collect();
        // write = k vᵀ, [key][value]
        let write: Vec<f32> = k
            .iter()
            .flat_map(|ki| v.iter().map(move |vj| ki * vj))
            .collect();
        // o[j] = Σ_i r[i]·(u[i]·write[i][j] + S[i][j]);  S'[i][j] = write[i][j] + w[i]·S[i][j]
        let (mut output, mut after) = (vec![0.0f32; n], state.clone());
        let one = wkv::Step {
            r: &r,
            k: &k,
            v: &v,
            log_w: &log_w,
        };
        one.apply(u, &mut after, &mut output);
        let mut step = Step {
            position: t,
            token: tokens[t],
            piece: piece(tokens[t]),
            mix,
            half_life: log_w.iter().map(|&l| half_life(l)).collect(),
            r,
            k,
            v,
            log_w,
            w,
            state_before: std::mem::replace(&mut state, after.clone()),
            write,
            state_after: after,
            output,
            influence: Vec::new(),
        };
        step.influence = influences(&steps, &step, u);
        steps.push(step);
    }
    steps
}

/// `ln ½ / log w`: the number of tokens after which the channel keeps half of what it
/// holds; +∞ when nothing decays (`log w = 0`).
pub fn half_life(log_w: f32) -> f32 {
    if log_w < 0.0 {
        std::f32::consts::LN_2 / -log_w
    } else {
        f32::INFINITY
    }
}

/// The influence of every token i ≤ t on `o_t`, from `earlier` (tokens 0..t) and `now`.
fn influences(earlier: &[Step], now: &Step, u: &[f32]) -> Vec<Influence> {
    let n = u.len();
    let score =
        |decay: &[f32], k: &[f32]| -> f32 { (0..n).map(|m| now.r[m] * decay[m] * k[m]).sum() };
    let mut out = Vec::with_capacity(earlier.len() + 1);
    // i = t: the bonus r_t·(u ⊙ k_t)
    out.push((now.position, score(u, &now.k)));
    // i < t: decay = Π_{s=i+1}^{t−1} w_s, grown as i walks back from t−1
    let mut decay = vec![1.0f32; n];
    for (i, then) in earlier.iter().enumerate().rev() {
        out.push((i, score(&decay, &then.k)));
        decay.iter_mut().zip(&then.w).for_each(|(d, w)| *d *= w);
    }
    out.reverse();
    out.into_iter()
        .map(|(i, score)| {
            let v = if i == now.position {
                &now.v
            } else {
                &earlier[i].v
            };
            Influence {
                from: i,
                score,
                contribution: v.iter().map(|v| score * v).collect(),
            }
        })
        .collect()
}

/// Runs the block's WKV (every head) both ways on the projections and compares.
fn chunked_check(
    p: &Projections,
    packing: &Packing,
    att: &TimeMix,
    n: usize,
    chunk_len: usize,
) -> Result<ChunkedCheck> {
    let fresh = vec![vec![0.0f32; att.heads * n * n]];
    let (mut s_rec, mut s_chk) = (fresh.clone(), fresh);
    let o_rec = wkv::recurrent(p, packing, att.heads, &att.u, &mut s_rec);
    let o_chk = chunked::chunked(p, packing, att.heads, &att.u, &mut s_chk, chunk_len)?;
    // a NaN anywhere must show, so no f32::max (which drops NaN)
    let max_diff = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, |m, d| if d.is_nan() || d > m { d } else { m })
    };
    Ok(ChunkedCheck {
        chunk_len,
        max_abs_diff: max_diff(&o_rec, &o_chk).max(max_diff(&s_rec[0], &s_chk[0])),
        max_abs_output: o_rec.iter().fold(0.0f32, |m, o| m.max(o.abs())),
    })
}
