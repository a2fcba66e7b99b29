//! The WKV recurrence of RWKV-6, one head at a time, state in f32:
//!
//! ```text
//! S ∈ R^{N×N}, laid out [key i][value j], starts at the carried state (zeros when fresh)
//! o_t[j] = Σ_i r_t[i] · (u[i]·k_t[i]·v_t[j] + S[i][j])        read-out with bonus u
//! S[i][j] ← w_t[i]·S[i][j] + k_t[i]·v_t[j],  w_t = exp(log w_t)  decay, then write
//! ```
//! A linear state-space model: the state is a matrix, the transition a data-dependent
//! diagonal (per key channel), the input a rank-one outer product `k vᵀ`.

use super::time_mix::Projections;
use super::Packing;

/// Runs the recurrence over every sequence and head. `state`: one `[H][N][N]` per
/// sequence, updated in place. Returns `o`, `[n][C]`.
pub fn recurrent(
    p: &Projections,
    packing: &Packing,
    heads: usize,
    u: &[f32],
    state: &mut [Vec<f32>],
) -> Vec<f32> {
    let c = u.len();
    let n_h = c / heads;
    let mut out = vec![0.0; p.r.len()];
    for (b, (start, len)) in packing.spans().enumerate() {
        for h in 0..heads {
            let s = &mut state[b][h * n_h * n_h..(h + 1) * n_h * n_h];
            for t in start..start + len {
                let ch = t * c + h * n_h..t * c + (h + 1) * n_h;
                let step = Step {
                    r: &p.r[ch.clone()],
                    k: &p.k[ch.clone()],
                    v: &p.v[ch.clone()],
                    log_w: &p.log_w[ch.clone()],
                };
                step.apply(&u[h * n_h..(h + 1) * n_h], s, &mut out[ch]);
            }
        }
    }
    out
}

/// One token of one head: `r`, `k`, `v`, `log w` are `[N]`.
pub struct Step<'a> {
    pub r: &'a [f32],
    pub k: &'a [f32],
    pub v: &'a [f32],
    pub log_w: &'a [f32],
}

impl Step<'_> {
    /// Writes `o_t` into `out` and advances `s` (`[N][N]`, [key][value]) by one token.
    pub fn apply(&self, u: &[f32], s: &mut [f32], out: &mut [f32]) {
        let n = self.r.len();
        out.fill(0.0);
        for i in 0..n {
            let (ri, ki, wi) = (self.r[i], self.k[i], self.log_w[i].exp());
            let row = &mut s[i * n..(i + 1) * n];
            for j in 0..n {
                let kv = ki * self.v[j];
                out[j] += ri * (u[i] * kv + row[j]);
                row[j] = kv + wi * row[j];
            }
        }
    }
}
