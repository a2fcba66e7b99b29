//! Attention vs recurrence on one sentence: what each output token reads from the tokens
//! before it. An attention head reads them through its probability matrix
//! `P = softmax(Q Kᵀ / √d + M)` (`attention::forward::attention_map`: row t sums to 1). An
//! RWKV-6 head reads them through its state; unrolling `S` gives the same row shape:
//!
//! ```text
//! o_t = Σ_{i≤t} A[t][i] · v_i,   A[t][i] = r_t · (Π_{s=i+1}^{t−1} w_s ⊙ k_i)   (i < t)
//!                                A[t][t] = r_t · (u ⊙ k_t)
//! share[t][i] = |A[t][i]| / Σ_{j≤t} |A[t][j]|       (a row of non-negative shares summing to 1)
//! ```
//! `A` is the trace's `influence[i].score` laid out as a matrix; unlike `P` it is signed,
//! unnormalised, and no softmax ties a row together: each earlier token's weight is its
//! key, decayed channel by channel, read by `r_t`. Attention keeps every `k_i, v_i` (its
//! cache grows with t); RWKV keeps only `S_t` (N×N per head, whatever t is) and `A` is
//! implied by it, never stored. What each carries: [`super::memory`].

use super::Trace;

/// `A` of the module docs, `[T][T]` row-major (row t = output token, column i = earlier
/// token; 0 above the diagonal), from the trace's influence scores.
pub fn influence_matrix(trace: &Trace) -> Vec<f32> {
    let t_len = trace.steps.len();
    let mut a = vec![0.0f32; t_len * t_len];
    for (t, step) in trace.steps.iter().enumerate() {
        for inf in &step.influence {
            a[t * t_len + inf.from] = inf.score;
        }
    }
    a
}

/// `share` of the module docs: each row of a `[T][T]` matrix as `|a| / Σ|a|` over the
/// row (an all-zero row stays zero), so an RWKV row can be set beside an attention row.
pub fn shares(matrix: &[f32], t_len: usize) -> Vec<f32> {
    let mut out: Vec<f32> = matrix.iter().map(|a| a.abs()).collect();
    for row in out.chunks_exact_mut(t_len.max(1)) {
        let sum: f32 = row.iter().sum();
        if sum > 0.0 {
            row.iter_mut().for_each(|a| *a /= sum);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_normalise_rows_by_absolute_value() {
        let m = [1.0, 0.0, -1.0, 3.0];
        assert_eq!(shares(&m, 2), [1.0, 0.0, 0.25, 0.75]);
        assert_eq!(shares(&[0.0, 0.0], 2), [0.0, 0.0]);
    }
}
