//! The small numeric building blocks of the reference: matrix products, norms and
//! activations on row-major `f32` slices. Plain loops, f32 maths, f64 accumulators only
//! where a norm sums many terms; the matrix products go through one GEMM (gemm.rs).

use super::gemm::{product, Rhs};

/// Row-major matrix `[rows][cols]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    pub fn new(rows: usize, cols: usize, data: Vec<f32>) -> Self {
        assert_eq!(
            rows * cols,
            data.len(),
            "matrix {rows}x{cols} needs {} values",
            rows * cols
        );
        Matrix { rows, cols, data }
    }
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
}

/// `y[n][o] = Σ_i x[n][i] · W[o][i]` — a `nn.Linear` without bias: `x @ Wᵀ`.
/// `x`: `[n][in]`, `w`: `[out][in]` → `[n][out]`. Each output is one fixed sum (see
/// gemm.rs), so the result depends neither on the thread count nor on the other rows.
pub fn linear(x: &[f32], n: usize, w: &Matrix) -> Vec<f32> {
    product(x, n, &Rhs::transposed(w))
}

/// `y = x @ M` for a matrix stored `[in][out]` (the LoRA matrices `time_maa_w1`,
/// `time_decay_w1/w2` are stored this way, not transposed).
pub fn matmul(x: &[f32], n: usize, m: &Matrix) -> Vec<f32> {
    product(x, n, &Rhs::plain(m))
}

/// LayerNorm of one vector: `(x − mean) / sqrt(var + eps) · weight + bias` (biased var).
pub fn layer_norm(x: &[f32], weight: &[f32], bias: &[f32], eps: f32, out: &mut [f32]) {
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let inv = 1.0 / (var + eps as f64).sqrt();
    for i in 0..x.len() {
        out[i] = ((x[i] as f64 - mean) * inv) as f32 * weight[i] + bias[i];
    }
}

/// LayerNorm applied to every row of `[n][C]`.
pub fn layer_norm_rows(x: &[f32], weight: &[f32], bias: &[f32], eps: f32) -> Vec<f32> {
    let c = weight.len();
    let mut out = vec![0.0; x.len()];
    for (xr, or) in x.chunks_exact(c).zip(out.chunks_exact_mut(c)) {
        layer_norm(xr, weight, bias, eps, or);
    }
    out
}

/// GroupNorm with `groups` groups per row: each head's N channels normalised on their
/// own, then the per-channel affine `weight`, `bias` (`ln_x`).
pub fn group_norm_rows(
    x: &[f32],
    groups: usize,
    weight: &[f32],
    bias: &[f32],
    eps: f32,
) -> Vec<f32> {
    let c = weight.len();
    let g = c / groups;
    let mut out = vec![0.0; x.len()];
    for (xr, or) in x.chunks_exact(c).zip(out.chunks_exact_mut(c)) {
        for h in 0..groups {
            let s = h * g..(h + 1) * g;
            layer_norm(
                &xr[s.clone()],
                &weight[s.clone()],
                &bias[s.clone()],
                eps,
                &mut or[s],
            );
        }
    }
    out
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// SiLU (swish): `x · σ(x)`.
pub fn silu(x: f32) -> f32 {
    x * sigmoid(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_is_x_times_w_transposed() {
        // x = [[1,2],[3,4]], W = [[1,0],[1,1],[0,2]] (out=3,in=2)
        let w = Matrix::new(3, 2, vec![1., 0., 1., 1., 0., 2.]);
        assert_eq!(
            linear(&[1., 2., 3., 4.], 2, &w),
            vec![1., 3., 4., 3., 7., 8.]
        );
    }

    #[test]
    fn matmul_is_x_times_m() {
        let m = Matrix::new(2, 3, vec![1., 0., 2., 0., 1., 3.]);
        assert_eq!(matmul(&[1., 2.], 1, &m), vec![1., 2., 8.]);
    }

    #[test]
    fn layer_norm_hand_computed() {
        let mut out = [0.0; 4];
        layer_norm(&[1., 2., 3., 4.], &[1.; 4], &[0.; 4], 0.0, &mut out);
        let s = (1.25f32).sqrt(); // var of 1..4 is 1.25
        for (o, want) in out.iter().zip([-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s]) {
            assert!((o - want).abs() < 1e-6);
        }
    }

    #[test]
    fn group_norm_normalises_each_group_alone() {
        let out = group_norm_rows(&[1., 3., 10., 30.], 2, &[1.; 4], &[0.; 4], 0.0);
        assert!(
            out.iter()
                .zip([-1., 1., -1., 1.])
                .all(|(a, b)| (a - b).abs() < 1e-6),
            "{out:?}"
        );
    }
}
