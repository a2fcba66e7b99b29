//! The WKV of RWKV-6 in its parallel-in-time ("chunked") form: the same outputs and
//! final state as the token-by-token recurrence of wkv.rs, computed a chunk of L tokens
//! at a time — the shape of the computation a GPU wants.
//!
//! Unroll the recurrence `S_t = diag(w_t) S_{t−1} + k_t v_tᵀ` inside one chunk that
//! starts from the state S₀. With the cumulative log-decay of each key channel
//! `cum_j = Σ_{s≤j} log w_s` (inclusive, `cum_{−1} = 0`), per head:
//!
//! ```text
//! o_j   = (r_j ⊙ e^{cum_{j−1}})ᵀ S₀                                  what the chunk inherits
//!       + Σ_{i<j} [Σ_n r_j[n] k_i[n] e^{cum_{j−1}[n] − cum_i[n]}] v_i    earlier tokens of the chunk
//!       + (r_j · (u ⊙ k_j)) v_j                                      the token's own bonus
//! S_end = diag(e^{cum_{L−1}}) S₀ + Σ_i diag(e^{cum_{L−1} − cum_i}) k_i v_iᵀ
//! ```
//! In matrix form `O = R̃ S₀ + A V`: `A` is an L×L lower-triangular, attention-like
//! matrix, `A[j][i]` the bracket above for `i < j` and `A[j][j] = r_j·(u⊙k_j)`.
//!
//! Exactness: every exponent is a sum of log-decays, so it is ≤ 0 and nothing overflows,
//! even when a single step's log-decay is −25 (trained Finch models go below −20). The
//! tempting factorisation `(r e^{cum}) · (k e^{−cum})`, which would make the intra-chunk
//! term one matrix product, overflows f32 once a chunk's cumulative decay passes
//! e^{−88}. So the intra-chunk weights are pairwise (O(L²N) per chunk and head), and the
//! exponent `cum_{j−1} − cum_i = Σ_{s=i+1}^{j−1} log w_s` is summed directly over its
//! segment rather than subtracted, which also avoids cancellation (and `−∞ − −∞` if a
//! log-decay is −∞).

use std::ops::Range;

use super::time_mix::Projections;
use super::Packing;
use crate::Result;

/// Runs the chunked WKV over every sequence and head, `chunk_len` tokens at a time (the
/// last chunk of a sequence may be shorter). Same contract as [`super::wkv::recurrent`]:
/// `state` holds one `[H][N][N]` ([key][value]) per sequence, updated in place; returns
/// `o`, `[n][C]`.
pub fn chunked(
    p: &Projections,
    packing: &Packing,
    heads: usize,
    u: &[f32],
    state: &mut [Vec<f32>],
    chunk_len: usize,
) -> Result<Vec<f32>> {
    let per_head = |head: &Head, s: &mut [f32], out: &mut [f32]| {
        for tokens in head.chunks {
            let chunk = Chunk {
                r: &head.gather(&p.r, tokens),
                k: &head.gather(&p.k, tokens),
                v: &head.gather(&p.v, tokens),
                log_w: &head.gather(&p.log_w, tokens),
                n: head.n,
            };
            let o = chunk.apply(head.u, s);
            for (j, t) in tokens.clone().enumerate() {
                out[head.channels(t)].copy_from_slice(&o[j * head.n..(j + 1) * head.n]);
            }
        }
    };
    let chunks = packing.chunks(chunk_len)?;
    Ok(for_each_head(p, &chunks, heads, u, state, per_head))
}

/// One head of one sequence, as both parallel forms (this file's and chunk_scan.rs's) walk
/// them: its channels of the projections, its bonus and its sequence's chunks.
pub(super) struct Head<'a> {
    pub p: &'a Projections,
    /// C, the row stride.
    pub c: usize,
    pub h: usize,
    /// N, the head size.
    pub n: usize,
    /// This head's bonus `[N]`.
    pub u: &'a [f32],
    /// The sequence's chunks (token rows).
    pub chunks: &'a [Range<usize>],
}

impl Head<'_> {
    /// The channels of this head in row `t`.
    pub fn channels(&self, t: usize) -> Range<usize> {
        t * self.c + self.h * self.n..t * self.c + (self.h + 1) * self.n
    }

    /// This head's rows of `x` over `tokens`, `[L][N]`.
    fn gather(&self, x: &[f32], tokens: &Range<usize>) -> Vec<f32> {
        let rows = tokens.clone().map(|t| &x[self.channels(t)]);
        rows.flatten().copied().collect()
    }
}

/// The loop both parallel forms share: calls `per_head(head, its state [N][N], o)` for
/// every (sequence, head), `chunks` holding each sequence's chunks; returns `o`, `[n][C]`.
pub(super) fn for_each_head(
    p: &Projections,
    chunks: &[Vec<Range<usize>>],
    heads: usize,
    u: &[f32],
    state: &mut [Vec<f32>],
    mut per_head: impl FnMut(&Head, &mut [f32], &mut [f32]),
) -> Vec<f32> {
    let c = u.len();
    let n = c / heads;
    let mut out = vec![0.0; p.r.len()];
    for (b, chunks) in chunks.iter().enumerate() {
        for h in 0..heads {
            let u = &u[h * n..(h + 1) * n];
            let head = Head {
                p,
                c,
                h,
                n,
                u,
                chunks,
            };
            per_head(&head, &mut state[b][h * n * n..(h + 1) * n * n], &mut out);
        }
    }
    out
}

/// One chunk of one head: `r`, `k`, `v`, `log w` are `[L][N]`.
pub struct Chunk<'a> {
    pub r: &'a [f32],
    pub k: &'a [f32],
    pub v: &'a [f32],
    pub log_w: &'a [f32],
    /// N, the head size.
    pub n: usize,
}

impl Chunk<'_> {
    /// L, the number of tokens in the chunk.
    pub fn len(&self) -> usize {
        self.r.len() / self.n
    }
    pub fn is_empty(&self) -> bool {
        self.r.is_empty()
    }
    fn row<'b>(&self, x: &'b [f32], j: usize) -> &'b [f32] {
        &x[j * self.n..(j + 1) * self.n]
    }

    /// Returns `o`, `[L][N]`, and advances `s` (`[N][N]`, [key][value]) from S₀ to S_end.
    pub fn apply(&self, u: &[f32], s: &mut [f32]) -> Vec<f32> {
        let (a, inherit) = self.attention(u);
        let (l, n) = (self.len(), self.n);
        let mut o = vec![0.0; l * n];
        for j in 0..l {
            let oj = &mut o[j * n..(j + 1) * n];
            // (r_j ⊙ e^{cum_{j−1}})ᵀ S₀
            for key in 0..n {
                let coef = self.r[j * n + key] * inherit[j * n + key].exp();
                for (o, s0) in oj.iter_mut().zip(&s[key * n..(key + 1) * n]) {
                    *o += coef * s0;
                }
            }
            // Σ_{i≤j} A[j][i] v_i
            for i in 0..=j {
                for (o, vi) in oj.iter_mut().zip(self.row(self.v, i)) {
                    *o += a[j * l + i] * vi;
                }
            }
        }
        self.advance(s);
        o
    }

    /// The intra-chunk matrix `A` (`[L][L]`, lower-triangular with the bonus on the
    /// diagonal) and, per token j, the inherited log-decay `cum_{j−1}` (`[L][N]`).
    pub fn attention(&self, u: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let (l, n) = (self.len(), self.n);
        let mut a = vec![0.0; l * l];
        let mut inherit = vec![0.0; l * n];
        for j in 0..l {
            let rj = self.row(self.r, j);
            let kj = self.row(self.k, j);
            a[j * l + j] = (0..n).map(|m| rj[m] * u[m] * kj[m]).sum();
            // seg[n] = Σ_{s=i+1}^{j−1} log w_s[n], grown as i walks back from j−1 to 0
            let mut seg = vec![0.0f32; n];
            for i in (0..j).rev() {
                let ki = self.row(self.k, i);
                a[j * l + i] = (0..n).map(|m| rj[m] * ki[m] * seg[m].exp()).sum();
                for (sg, lw) in seg.iter_mut().zip(self.row(self.log_w, i)) {
                    *sg += lw;
                }
            }
            inherit[j * n..(j + 1) * n].copy_from_slice(&seg); // now Σ_{s=0}^{j−1} = cum_{j−1}
        }
        (a, inherit)
    }

    /// `S ← diag(e^{cum_{L−1}}) S + Σ_i diag(e^{cum_{L−1} − cum_i}) k_i v_iᵀ`.
    fn advance(&self, s: &mut [f32]) {
        let (l, n) = (self.len(), self.n);
        let mut written = vec![0.0f32; n * n];
        // seg[n] = Σ_{s=i+1}^{L−1} log w_s[n], grown as i walks back from L−1 to 0
        let mut seg = vec![0.0f32; n];
        for i in (0..l).rev() {
            let (ki, vi) = (self.row(self.k, i), self.row(self.v, i));
            for key in 0..n {
                let coef = seg[key].exp() * ki[key];
                for (wr, v) in written[key * n..(key + 1) * n].iter_mut().zip(vi) {
                    *wr += coef * v;
                }
            }
            for (sg, lw) in seg.iter_mut().zip(self.row(self.log_w, i)) {
                *sg += lw;
            }
        }
        // seg is now cum_{L−1}
        for key in 0..n {
            let decay = seg[key].exp();
            for (s, wr) in s[key * n..(key + 1) * n]
                .iter_mut()
                .zip(&written[key * n..(key + 1) * n])
            {
                *s = decay * *s + wr;
            }
        }
    }
}
