//! `y = x · B`, the one matrix product under `ops::linear` and `ops::matmul`, through the
//! `matrixmultiply` crate: packed operands and SIMD micro-kernels (AVX-512, FMA/AVX2, NEON
//! natively; simd128 in wasm when built with `+simd128`, as the page is). Natively the
//! output columns are split into blocks that rayon computes in parallel.
//!
//! Exactness: `matrixmultiply` blocks the inner dimension at a fixed depth and computes a
//! partial tile with the same kernel as a full one, so every output is the same sum in
//! the same order whatever the number of rows, the column block or the thread count. A
//! sequence therefore gets the same bits alone or in a batch, on any number of threads.
//!
//! Measured reason for the crate (`scripts/cpu_gemm_roof.py`, `docs/benchmarks.md`): the
//! plain dot-product loop it replaces ran at a few per cent of numpy's fp32 GEMM on the
//! 1.6B shapes (~7 against ~180 GFLOP/s on 2 cores); this runs at 0.6–2.7× numpy's rate
//! in the same run.

use super::ops::Matrix;

/// The right operand `B`, `[k][m]`, read in place: `B[i][j] = data[i·row_stride + j·col_stride]`.
pub struct Rhs<'a> {
    data: &'a [f32],
    k: usize,
    m: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> Rhs<'a> {
    /// `Wᵀ` of a `[out][in]` matrix (`nn.Linear` layout): `k` = in, `m` = out.
    pub fn transposed(w: &'a Matrix) -> Self {
        Rhs {
            data: &w.data,
            k: w.cols,
            m: w.rows,
            row_stride: 1,
            col_stride: w.cols,
        }
    }
    /// `M` itself, stored `[in][out]`: `k` = rows, `m` = cols.
    pub fn plain(m: &'a Matrix) -> Self {
        Rhs {
            data: &m.data,
            k: m.rows,
            m: m.cols,
            row_stride: m.cols,
            col_stride: 1,
        }
    }
}

/// `x · B`: `x` is `[n][k]`, the result `[n][m]`.
pub fn product(x: &[f32], n: usize, b: &Rhs) -> Vec<f32> {
    assert_eq!(x.len(), n * b.k, "x must be [{n}][{}]", b.k);
    let width = block_width(n, b.k, b.m);
    if width >= b.m || n == 0 {
        return block(x, n, b, 0, b.m);
    }
    let blocks = map_blocks(b.m.div_ceil(width), |i| {
        block(x, n, b, i * width, width.min(b.m - i * width))
    });
    let mut y = vec![0.0; n * b.m];
    for (i, yb) in blocks.iter().enumerate() {
        let w = yb.len() / n;
        for (y_row, yb_row) in y.chunks_exact_mut(b.m).zip(yb.chunks_exact(w)) {
            y_row[i * width..i * width + w].copy_from_slice(yb_row);
        }
    }
    y
}

/// Columns `j0..j0+width` of `x · B`, `[n][width]`.
fn block(x: &[f32], n: usize, b: &Rhs, j0: usize, width: usize) -> Vec<f32> {
    let mut y = vec![0.0; n * width];
    if n == 0 || width == 0 || b.k == 0 {
        return y;
    }
    let (rs, cs) = (b.row_stride, b.col_stride);
    let rhs = &b.data[j0 * cs..];
    // the last element sgemm reads is B[k−1][j0+width−1]
    assert!((b.k - 1) * rs + (width - 1) * cs < rhs.len(), "B too small");
    // SAFETY: sgemm reads x as [n][k] with strides (k, 1), inside `x` (asserted in
    // `product`); reads B[0..k][j0..j0+width] at rhs[i·rs + j·cs], inside `rhs` (asserted
    // above); writes y as [n][width] with strides (width, 1), exactly `y`. Strides are
    // element counts of slices, so they fit in isize. Nothing else aliases `y`.
    unsafe {
        matrixmultiply::sgemm(
            n,
            b.k,
            width,
            1.0,
            x.as_ptr(),
            b.k as isize,
            1,
            rhs.as_ptr(),
            rs as isize,
            cs as isize,
            0.0,
            y.as_mut_ptr(),
            width as isize,
            1,
        );
    }
    y
}

/// Multiply-adds below which a block is not worth handing to another thread.
const MIN_BLOCK_WORK: usize = 1 << 20;

/// Columns per parallel block: about four blocks per thread, none narrower than 64
/// columns or smaller than [`MIN_BLOCK_WORK`]; a multiple of 16 (the widest kernel tile).
fn block_width(n: usize, k: usize, m: usize) -> usize {
    let threads = thread_count();
    if threads == 1 {
        return m;
    }
    let smallest = (MIN_BLOCK_WORK / (n * k).max(1)).max(64);
    m.div_ceil(4 * threads).max(smallest).next_multiple_of(16)
}

#[cfg(feature = "native")]
fn thread_count() -> usize {
    rayon::current_num_threads()
}

#[cfg(not(feature = "native"))]
fn thread_count() -> usize {
    1
}

/// `f(0..count)`, in parallel natively.
#[cfg(feature = "native")]
fn map_blocks(count: usize, f: impl Fn(usize) -> Vec<f32> + Sync + Send) -> Vec<Vec<f32>> {
    use rayon::prelude::*;
    (0..count).into_par_iter().map(f).collect()
}

#[cfg(not(feature = "native"))]
fn map_blocks(count: usize, f: impl Fn(usize) -> Vec<f32>) -> Vec<Vec<f32>> {
    (0..count).map(f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `x · B` by the textbook triple loop, in f64.
    fn naive(x: &[f32], n: usize, b: &Rhs) -> Vec<f32> {
        let at = |i: usize, j: usize| b.data[i * b.row_stride + j * b.col_stride] as f64;
        (0..n)
            .flat_map(|r| {
                (0..b.m).map(move |j| {
                    (0..b.k)
                        .map(|i| x[r * b.k + i] as f64 * at(i, j))
                        .sum::<f64>() as f32
                })
            })
            .collect()
    }

    fn values(len: usize, period: usize) -> Vec<f32> {
        (0..len)
            .map(|i| ((i * 7) % period) as f32 / period as f32 - 0.5)
            .collect()
    }

    #[test]
    fn blocks_match_the_textbook_product() {
        // wide enough to be split into several blocks natively; odd sizes for partial tiles
        let (n, k, m) = (37, 300, 1000);
        let x = values(n * k, 89);
        let w = Matrix::new(m, k, values(m * k, 97));
        assert!(block_width(n, k, m) < m || thread_count() == 1);
        let b = Rhs::transposed(&w);
        for (got, want) in product(&x, n, &b).iter().zip(naive(&x, n, &b)) {
            assert!((got - want).abs() < 1e-4, "{got} vs {want}");
        }
    }

    #[test]
    fn each_row_is_the_same_bits_in_any_batch() {
        let (n, k, m) = (40, 257, 700);
        let x = values(n * k, 61);
        let w = Matrix::new(k, m, values(k * m, 53));
        let all = product(&x, n, &Rhs::plain(&w));
        for r in [0, 1, 17, 39] {
            let alone = product(&x[r * k..(r + 1) * k], 1, &Rhs::plain(&w));
            assert_eq!(alone, all[r * m..(r + 1) * m], "row {r}");
        }
    }

    #[test]
    fn empty_shapes_give_zeros() {
        let w = Matrix::new(0, 3, vec![]);
        assert_eq!(product(&[], 0, &Rhs::plain(&w)), Vec::<f32>::new());
        let w = Matrix::new(2, 0, vec![]);
        assert_eq!(product(&[], 3, &Rhs::transposed(&w)), vec![0.0; 6]);
    }
}
