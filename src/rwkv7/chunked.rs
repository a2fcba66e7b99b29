//! The WKV of RWKV-7 in a chunked (parallel-in-time) form: the same outputs and final
//! state as the token-by-token delta rule of wkv.rs, a chunk of L tokens at a time.
//!
//! Per head, with `a' = −κ̂`, `b = κ̂ ⊙ a` and the step `S_t = S_{t−1}(diag(w_t) + a'_t b_tᵀ)
//! + v_t k_tᵀ` ([value][key]), write `S_t = P_t diag(c_t)` with `c_t = Π_{s≤t} w_s`
//! (inside the chunk, `c_{−1} = 1`, so `P_{−1} = S₀`). Then
//! `P_t = P_{t−1} + u_t (b_t/c_t)ᵀ + v_t (k_t/c_t)ᵀ` with `u_t = S_{t−1} a'_t`, so every
//! `P_t` is S₀ plus a sum of rank-one terms, and
//!
//! ```text
//! u_t   = S₀ (e^{cum_{t−1}} ⊙ a'_t) + Σ_{i<t} [a'_t·(b_i ⊙ e^{cum_{t−1}−cum_i})] u_i + [a'_t·(k_i ⊙ e^{cum_{t−1}−cum_i})] v_i
//! o_t   = S₀ (e^{cum_t} ⊙ r_t)      + Σ_{i≤t} [r_t·(b_i ⊙ e^{cum_t−cum_i})] u_i     + [r_t·(k_i ⊙ e^{cum_t−cum_i})] v_i
//! S_end = S₀ diag(e^{cum_{L−1}})    + Σ_i (u_i b_iᵀ + v_i k_iᵀ) diag(e^{cum_{L−1}−cum_i})
//! ```
//! with `cum_t = Σ_{s≤t} log w_s`. The `u_t` are a unit-lower-triangular system, solved
//! here by forward substitution (the row `u_t` needs only the rows before it); the rest
//! is matrix products over the chunk. As in the RWKV-6 chunked form, every exponent is a
//! segment sum of log-decays (≤ 0, summed over its segment, never subtracted), so nothing
//! overflows and nothing cancels; RWKV-7's decay is bounded (log w > −0.6066), which is
//! what lets implementations that factorise `c_t` and `1/c_i` apart use chunks of 64.

use super::time_mix::Projections;
use crate::reference::Packing;
use crate::Result;

/// Same contract as [`super::wkv::recurrent`], `chunk_len` tokens at a time (a
/// sequence's last chunk may be shorter).
pub fn chunked(
    p: &Projections,
    packing: &Packing,
    heads: usize,
    state: &mut [Vec<f32>],
    chunk_len: usize,
) -> Result<Vec<f32>> {
    let c = p.r.len() / packing.rows().max(1);
    let n = c / heads;
    let mut out = vec![0.0; p.r.len()];
    for (b, chunks) in packing.chunks(chunk_len)?.iter().enumerate() {
        for h in 0..heads {
            let s = &mut state[b][h * n * n..(h + 1) * n * n];
            for tokens in chunks {
                let rows = |x: &[f32]| -> Vec<f32> {
                    let ch = |t: usize| t * c + h * n..t * c + (h + 1) * n;
                    tokens.clone().flat_map(|t| x[ch(t)].to_vec()).collect()
                };
                let chunk = Chunk {
                    r: rows(&p.r),
                    log_w: rows(&p.log_w),
                    k: rows(&p.k),
                    v: rows(&p.v),
                    a_neg: rows(&p.kk).into_iter().map(|x| -x).collect(),
                    b: (rows(&p.kk).iter().zip(rows(&p.a)))
                        .map(|(k, a)| k * a)
                        .collect(),
                    n,
                };
                let o = chunk.apply(s);
                for (j, t) in tokens.clone().enumerate() {
                    let ch = t * c + h * n..t * c + (h + 1) * n;
                    out[ch].copy_from_slice(&o[j * n..(j + 1) * n]);
                }
            }
        }
    }
    Ok(out)
}

/// One chunk of one head, every field `[L][N]`.
pub struct Chunk {
    pub r: Vec<f32>,
    pub log_w: Vec<f32>,
    pub k: Vec<f32>,
    pub v: Vec<f32>,
    /// `a' = −κ̂`.
    pub a_neg: Vec<f32>,
    /// `b = κ̂ ⊙ a`.
    pub b: Vec<f32>,
    pub n: usize,
}

impl Chunk {
    fn len(&self) -> usize {
        self.r.len() / self.n
    }
    fn row<'a>(&self, x: &'a [f32], t: usize) -> &'a [f32] {
        &x[t * self.n..(t + 1) * self.n]
    }

    /// Returns `o` (`[L][N]`) and advances `s` (`[N][N]`, [value][key]) from S₀ to S_end.
    pub fn apply(&self, s: &mut [f32]) -> Vec<f32> {
        let (l, n) = (self.len(), self.n);
        let mut u = vec![0.0f32; l * n];
        let mut o = vec![0.0f32; l * n];
        for t in 0..l {
            // u_t first: o_t reads it (i = t)
            let ut = self.read(s, &u, t, Query::Removal);
            u[t * n..(t + 1) * n].copy_from_slice(&ut);
            let ot = self.read(s, &u, t, Query::Receptance);
            o[t * n..(t + 1) * n].copy_from_slice(&ot);
        }
        self.advance(s, &u);
        o
    }

    /// `u_t` (query a'_t over tokens i < t, decay up to t−1) or `o_t` (query r_t over
    /// i ≤ t, decay up to t): `S₀ (e^{seg} ⊙ q) + Σ_i [q·(b_i ⊙ e^{seg_i})] u_i + [q·(k_i ⊙ e^{seg_i})] v_i`.
    fn read(&self, s0: &[f32], u: &[f32], t: usize, query: Query) -> Vec<f32> {
        let n = self.n;
        let (q, last) = match query {
            Query::Removal => (self.row(&self.a_neg, t), t),
            Query::Receptance => (self.row(&self.r, t), t + 1),
        };
        let mut out = vec![0.0f32; n];
        // seg[m] = Σ_{s=i+1}^{last−1} log w_s[m], grown as i walks back from last−1 to 0
        let mut seg = vec![0.0f32; n];
        for i in (0..last).rev() {
            let decayed = |x: &[f32]| -> f32 {
                let xi = self.row(x, i);
                (0..n).map(|m| q[m] * xi[m] * seg[m].exp()).sum()
            };
            let (cb, ck) = (decayed(&self.b), decayed(&self.k));
            for (o, (ui, vi)) in out
                .iter_mut()
                .zip(self.row(u, i).iter().zip(self.row(&self.v, i)))
            {
                *o += cb * ui + ck * vi;
            }
            for (sg, lw) in seg.iter_mut().zip(self.row(&self.log_w, i)) {
                *sg += lw;
            }
        }
        // seg is now Σ_{s=0}^{last−1} log w_s: what S₀ has decayed by
        for (i, o) in out.iter_mut().enumerate() {
            let row = &s0[i * n..(i + 1) * n];
            *o += (0..n).map(|m| row[m] * seg[m].exp() * q[m]).sum::<f32>();
        }
        out
    }

    /// `S ← S diag(e^{cum_{L−1}}) + Σ_i (u_i b_iᵀ + v_i k_iᵀ) diag(e^{cum_{L−1} − cum_i})`.
    fn advance(&self, s: &mut [f32], u: &[f32]) {
        let (l, n) = (self.len(), self.n);
        let mut written = vec![0.0f32; n * n];
        // seg[m] = Σ_{s=i+1}^{L−1} log w_s[m], grown as i walks back from L−1 to 0
        let mut seg = vec![0.0f32; n];
        for i in (0..l).rev() {
            let decay: Vec<f32> = seg.iter().map(|x| x.exp()).collect();
            let (ui, vi) = (self.row(u, i), self.row(&self.v, i));
            let (bi, ki) = (self.row(&self.b, i), self.row(&self.k, i));
            for (row, w_row) in written.chunks_exact_mut(n).enumerate() {
                for m in 0..n {
                    w_row[m] += (ui[row] * bi[m] + vi[row] * ki[m]) * decay[m];
                }
            }
            for (sg, lw) in seg.iter_mut().zip(self.row(&self.log_w, i)) {
                *sg += lw;
            }
        }
        let total: Vec<f32> = seg.iter().map(|x| x.exp()).collect();
        for (s_row, w_row) in s.chunks_exact_mut(n).zip(written.chunks_exact(n)) {
            for m in 0..n {
                s_row[m] = s_row[m] * total[m] + w_row[m];
            }
        }
    }
}

/// Which read-out of the chunk [`Chunk::read`] computes.
#[derive(Clone, Copy)]
enum Query {
    /// `u_t = S_{t−1} a'_t`.
    Removal,
    /// `o_t = S_t r_t`.
    Receptance,
}
