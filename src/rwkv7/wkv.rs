//! The WKV recurrence of RWKV-7, the generalized delta rule, one head at a time, state
//! in f32, laid out as the official package lays it out:
//!
//! ```text
//! S ∈ R^{N×N}, [value i][key j], starts at the carried state (zeros when fresh)
//! S ← S·diag(w) + (S·(−κ̂)) (κ̂ ⊙ a)ᵀ + v kᵀ          decay, remove along κ̂, write
//! o = S r                                             read-out after the update
//! ```
//! Per value row i: `S[i] ← w ⊙ S[i] − (S[i]·κ̂)(κ̂ ⊙ a) + v[i] k`. The middle term is
//! the delta rule: what the row held along the unit removal key κ̂ is taken out again,
//! at the in-context learning rate a, before the new pair `(k, v)` is written. RWKV-6
//! only decayed and added (`S ← diag(w) S + k vᵀ`), and added a bonus `u` inside the
//! read-out; RWKV-7's bonus sits outside (time_mix.rs).

use super::time_mix::Projections;
use crate::reference::Packing;

/// Runs the recurrence over every sequence and head. `state`: one `[H][N][N]` per
/// sequence ([value][key]), updated in place. Returns `o`, `[n][C]`.
pub fn recurrent(
    p: &Projections,
    packing: &Packing,
    heads: usize,
    state: &mut [Vec<f32>],
) -> Vec<f32> {
    let c = p.r.len() / packing.rows().max(1);
    let n_h = c / heads;
    let mut out = vec![0.0; p.r.len()];
    for (b, (start, len)) in packing.spans().enumerate() {
        for h in 0..heads {
            let s = &mut state[b][h * n_h * n_h..(h + 1) * n_h * n_h];
            for t in start..start + len {
                let ch = t * c + h * n_h..t * c + (h + 1) * n_h;
                let step = Step {
                    r: &p.r[ch.clone()],
                    log_w: &p.log_w[ch.clone()],
                    k: &p.k[ch.clone()],
                    v: &p.v[ch.clone()],
                    kk: &p.kk[ch.clone()],
                    a: &p.a[ch.clone()],
                };
                step.apply(s, &mut out[ch]);
            }
        }
    }
    out
}

/// One token of one head: every field `[N]`.
pub struct Step<'a> {
    pub r: &'a [f32],
    pub log_w: &'a [f32],
    pub k: &'a [f32],
    pub v: &'a [f32],
    /// The removal key κ̂.
    pub kk: &'a [f32],
    /// The in-context learning rate a.
    pub a: &'a [f32],
}

impl Step<'_> {
    /// Advances `s` (`[N][N]`, [value][key]) by one token and writes `o = S r` into `out`.
    pub fn apply(&self, s: &mut [f32], out: &mut [f32]) {
        let n = self.r.len();
        let w: Vec<f32> = self.log_w.iter().map(|l| l.exp()).collect();
        let b: Vec<f32> = self.kk.iter().zip(self.a).map(|(k, a)| k * a).collect();
        for (i, row) in s.chunks_exact_mut(n).enumerate() {
            // what the row holds along the removal key: S[i]·(−κ̂)
            let held: f32 = row.iter().zip(self.kk).map(|(s, k)| -s * k).sum();
            let vi = self.v[i];
            let mut o = 0.0;
            for j in 0..n {
                row[j] = row[j] * w[j] + held * b[j] + vi * self.k[j];
                o += row[j] * self.r[j];
            }
            out[i] = o;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_step_by_hand() {
        // S = [[1, 2], [3, 4]] ([value][key]); w = (½, 1); κ̂ = (1, 0), a = ½ → b = (½, 0)
        let mut s = [1.0, 2.0, 3.0, 4.0];
        let mut out = [0.0; 2];
        let step = Step {
            r: &[1.0, 1.0],
            log_w: &[0.5f32.ln(), 0.0],
            k: &[1.0, 1.0],
            v: &[1.0, 0.0],
            kk: &[1.0, 0.0],
            a: &[0.5, 0.5],
        };
        step.apply(&mut s, &mut out);
        // row 0: held −1 → (½ − ½ + 1, 2 + 0 + 1); row 1: held −3 → (3/2 − 3/2, 4)
        let want = [1.0, 3.0, 0.0, 4.0];
        assert!(
            s.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6),
            "{s:?}"
        );
        assert!(
            out.iter()
                .zip([4.0, 4.0])
                .all(|(a, b)| (a - b).abs() < 1e-6),
            "{out:?}"
        );
    }
}
