//! `y = x · Wᵀ` with `W` held as the checkpoint stores it (`[out][in]`, `nn.Linear`
//! layout, f16, bf16 or f32 bytes, never copied) and f32 accumulation: the fast engine's
//! one matrix product.
//!
//! ```text
//! y[r][o] = Σ_k x[r][k] · f32(W[o][k])       8 partial sums per (r, o), one per lane,
//!                                              then one fixed horizontal sum
//! ```
//! Tiles: `MR` = 4 rows of `x` × `NR` = 3 rows of `W` in 12 AVX2 accumulators; per 8
//! columns of k, 3 loads of 8 weights converted in registers (`vcvtph2ps` for f16, a
//! 16-bit shift for bf16), 4 loads of `x`, 12 FMAs. k runs in passes of 1024 so that a row
//! tile of `x` stays in L1 while the weight tiles of a 48-row block of `W` (in L2) pass;
//! the blocks are handed to rayon's threads.
//!
//! Why not a crate (measured, `tests/cpu_speed.rs` `fast_linear_gflops`, docs/benchmarks.md):
//! `matrixmultiply` (the oracle's GEMM) and the `gemm` crate (candle's, also under `faer`)
//! both need the weights as f32 or pack both operands in one dtype: `gemm`'s f16 path
//! takes f16 *activations* too (and rounds the output to f16), so a 16-bit engine would
//! need an f32 copy of each weight panel per call. This kernel reads the 16-bit weights in
//! place, which is what keeps the engine's memory at the checkpoint's size (the weights are
//! views into the memory-mapped file) and halves the bytes a short pass streams.
//!
//! Exactness: every output is the same sum in the same order whatever the number of rows,
//! the row's place in a batch or the thread count, so a sequence gets the same bits alone
//! or in a batch. The order differs from the oracle's GEMM (`reference::gemm`): results
//! agree to f32 rounding (tests/fast_engine.rs), not bit for bit.

use half::{bf16, f16};

/// How the weight bytes encode each value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    F32,
    F16,
    Bf16,
}

impl Kind {
    pub fn size(self) -> usize {
        match self {
            Kind::F32 => 4,
            Kind::F16 | Kind::Bf16 => 2,
        }
    }
    /// Element `i` of `bytes` as f32 (exact).
    fn value(self, bytes: &[u8], i: usize) -> f32 {
        match self {
            Kind::F32 => f32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().expect("4 bytes")),
            Kind::F16 => f16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]]).to_f32(),
            Kind::Bf16 => bf16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]]).to_f32(),
        }
    }
}

/// A borrowed `[rows][cols]` matrix (`rows` = out, `cols` = in), little-endian bytes.
#[derive(Debug, Clone, Copy)]
pub struct WeightView<'a> {
    pub bytes: &'a [u8],
    pub kind: Kind,
    pub rows: usize,
    pub cols: usize,
}

impl WeightView<'_> {
    /// Row `o` converted to f32 into `out` (`[cols]`).
    pub fn row_f32(&self, o: usize, out: &mut [f32]) {
        let size = self.kind.size();
        let row = &self.bytes[o * self.cols * size..(o + 1) * self.cols * size];
        for (i, v) in out.iter_mut().enumerate() {
            *v = self.kind.value(row, i);
        }
    }
}

/// Rows of `x` per register tile, rows of `W` per register tile.
const MR: usize = 4;
const NR: usize = 3;
/// Rows of `W` per parallel task (a multiple of `NR`).
const BLOCK_ROWS: usize = 48;
/// Columns of k per pass (a multiple of 8): a row tile of `x` (4 × 1024 f32, 16 KiB)
/// stays in L1 while the task's block of `W` (48 × 1024 × 2 bytes) streams from L2.
const KC: usize = 1024;

/// `x · Wᵀ`: `x` is `[n][in]`, the result `[n][out]`.
pub fn linear(x: &[f32], n: usize, w: &WeightView) -> Vec<f32> {
    let mut y = vec![0.0; n * w.rows];
    linear_into(x, n, w, &mut y);
    y
}

/// [`linear`] into `y` (`[n][out]`, overwritten).
pub fn linear_into(x: &[f32], n: usize, w: &WeightView, y: &mut [f32]) {
    let (k, m) = (w.cols, w.rows);
    assert_eq!(x.len(), n * k, "x must be [{n}][{k}]");
    assert_eq!(y.len(), n * m, "y must be [{n}][{m}]");
    assert_eq!(w.bytes.len(), m * k * w.kind.size(), "W must be [{m}][{k}]");
    if n == 0 || m == 0 {
        return;
    }
    let out = SendPtr(y.as_mut_ptr());
    let blocks = m.div_ceil(BLOCK_ROWS);
    let task = |b: usize| {
        let rows = b * BLOCK_ROWS..((b + 1) * BLOCK_ROWS).min(m);
        // SAFETY: task `b` writes only columns `rows` of each row of y, disjoint from
        // every other task's; `y` outlives the parallel loop.
        unsafe { block(x, n, w, rows, out.get(), m) }
    };
    for_each_task(blocks, n * k * BLOCK_ROWS, task);
}

/// Columns `cols` (rows of `W`) of `y = x · Wᵀ`, all rows of `x`, written through `y`
/// (`[n][ldy]`). Loops: k in passes of [`KC`] → row tiles → weight tiles, so that a row
/// tile of `x` is read from L1 by every weight tile of the block.
///
/// # Safety
/// `y` must point to `n · ldy` writable floats that no one else touches in these columns.
unsafe fn block(
    x: &[f32],
    n: usize,
    w: &WeightView,
    cols: std::ops::Range<usize>,
    y: *mut f32,
    ldy: usize,
) {
    let k = w.cols;
    if !simd::available() || k == 0 {
        let mut scratch = Vec::new();
        let mut o = cols.start;
        while o < cols.end {
            let nr = NR.min(cols.end - o);
            // SAFETY: the caller's contract
            unsafe { portable_tile(x, 0..n, w, o, nr, y, ldy, &mut scratch) };
            o += nr;
        }
        return;
    }
    for k0 in (0..k).step_by(KC) {
        let k1 = (k0 + KC).min(k);
        let mut r = 0;
        while r < n {
            let mr = MR.min(n - r);
            let mut o = cols.start;
            while o < cols.end {
                let nr = NR.min(cols.end - o);
                let at = simd::At { r, o, k0, k1 };
                // SAFETY: features checked above; the caller's contract for y
                unsafe { simd::tile(x, w, at, mr, nr, y, ldy) };
                o += nr;
            }
            r += mr;
        }
    }
}

/// The tile without SIMD intrinsics: the `nr` weight rows converted once, then plain
/// dot products (8 partial sums, which the compiler vectorises).
#[allow(clippy::too_many_arguments)]
unsafe fn portable_tile(
    x: &[f32],
    rows: std::ops::Range<usize>,
    w: &WeightView,
    o: usize,
    nr: usize,
    y: *mut f32,
    ldy: usize,
    scratch: &mut Vec<f32>,
) {
    let k = w.cols;
    scratch.resize(nr * k, 0.0);
    for j in 0..nr {
        w.row_f32(o + j, &mut scratch[j * k..(j + 1) * k]);
    }
    for r in rows {
        let xr = &x[r * k..(r + 1) * k];
        for j in 0..nr {
            let v = dot(xr, &scratch[j * k..(j + 1) * k]);
            // SAFETY: (r, o + j) is inside y and owned by this tile (caller's contract)
            unsafe { *y.add(r * ldy + o + j) = v };
        }
    }
}

/// `Σ a[i]·b[i]` in 8 lanes, then the lanes pairwise.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = (ca.remainder().iter().zip(cb.remainder()))
        .map(|(x, y)| x * y)
        .sum();
    for (xa, xb) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += xa[l] * xb[l];
        }
    }
    let s = [
        acc[0] + acc[4],
        acc[1] + acc[5],
        acc[2] + acc[6],
        acc[3] + acc[7],
    ];
    (s[0] + s[2]) + (s[1] + s[3]) + tail
}

/// A raw output pointer handed to the parallel tasks (each writes its own columns).
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: the tasks write disjoint elements (see `linear_into`).
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}
impl SendPtr {
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// `task(0..count)`, on rayon's threads natively when there is enough work (`work`
/// multiply-adds per task).
#[cfg(feature = "native")]
pub(crate) fn for_each_task(count: usize, work: usize, task: impl Fn(usize) + Sync + Send) {
    use rayon::prelude::*;
    if count > 1 && work >= 1 << 16 && rayon::current_num_threads() > 1 {
        (0..count).into_par_iter().for_each(task);
    } else {
        (0..count).for_each(task);
    }
}

#[cfg(not(feature = "native"))]
pub(crate) fn for_each_task(count: usize, _work: usize, task: impl Fn(usize)) {
    (0..count).for_each(task);
}

#[cfg(target_arch = "x86_64")]
mod simd {
    //! The AVX2 + FMA + F16C tile (checked once at run time; else the portable tile).
    use super::{Kind, WeightView, MR, NR};
    use std::arch::x86_64::*;
    use std::sync::OnceLock;

    pub fn available() -> bool {
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| {
            is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c")
        })
    }

    /// Where a tile sits: rows `r..r+mr` of `x`, weight rows `o..o+nr`, k in `k0..k1`
    /// (a pass after the first, `k0 > 0`, adds to `y`).
    #[derive(Clone, Copy)]
    pub struct At {
        pub r: usize,
        pub o: usize,
        pub k0: usize,
        pub k1: usize,
    }

    /// One `mr × nr` tile (mr ≤ MR, nr ≤ NR) in the weights' own dtype.
    ///
    /// # Safety
    /// [`available`] is true; indices inside x, W (asserted in `linear_into`); `y` as in
    /// `super::block`.
    pub unsafe fn tile(
        x: &[f32],
        w: &WeightView,
        at: At,
        mr: usize,
        nr: usize,
        y: *mut f32,
        ldy: usize,
    ) {
        const _: () = assert!(MR == 4 && NR == 3, "the match below lists every tile");
        // SAFETY: the caller's contract
        unsafe {
            match (mr, nr) {
                (4, 3) => kind::<4, 3>(x, w, at, y, ldy),
                (4, 2) => kind::<4, 2>(x, w, at, y, ldy),
                (4, 1) => kind::<4, 1>(x, w, at, y, ldy),
                (3, 3) => kind::<3, 3>(x, w, at, y, ldy),
                (3, 2) => kind::<3, 2>(x, w, at, y, ldy),
                (3, 1) => kind::<3, 1>(x, w, at, y, ldy),
                (2, 3) => kind::<2, 3>(x, w, at, y, ldy),
                (2, 2) => kind::<2, 2>(x, w, at, y, ldy),
                (2, 1) => kind::<2, 1>(x, w, at, y, ldy),
                (1, 3) => kind::<1, 3>(x, w, at, y, ldy),
                (1, 2) => kind::<1, 2>(x, w, at, y, ldy),
                _ => kind::<1, 1>(x, w, at, y, ldy),
            }
        }
    }

    /// The `R × C` tile for the weights' dtype.
    #[inline(always)]
    unsafe fn kind<const R: usize, const C: usize>(
        x: &[f32],
        w: &WeightView,
        at: At,
        y: *mut f32,
        ldy: usize,
    ) {
        // SAFETY: the caller's contract.
        unsafe {
            match w.kind {
                Kind::F16 => tile_f16::<R, C>(x, w, at, y, ldy),
                Kind::Bf16 => tile_bf16::<R, C>(x, w, at, y, ldy),
                Kind::F32 => tile_f32::<R, C>(x, w, at, y, ldy),
            }
        }
    }

    /// 8 consecutive weights at `p` as f32, one function per dtype (the same tile body).
    macro_rules! tile_fn {
        ($name:ident, $size:expr, |$p:ident| $load:expr) => {
            #[target_feature(enable = "avx2,fma,f16c")]
            unsafe fn $name<const R: usize, const C: usize>(
                x: &[f32],
                w: &WeightView,
                at: At,
                y: *mut f32,
                ldy: usize,
            ) {
                let k = w.cols;
                let At { r, o, k0, k1 } = at;
                // `wrapping_add`, not `add`: in builds with debug assertions `add` checks its
                // precondition in a call, and a call inside the loop spills every accumulator
                let xp = x.as_ptr().wrapping_add(r * k + k0);
                let wp = w.bytes.as_ptr().wrapping_add((o * k + k0) * $size);
                let mut acc = [[_mm256_setzero_ps(); C]; R];
                let k8 = (k1 - k0) / 8 * 8;
                let mut i = 0;
                while i < k8 {
                    let mut wv = [_mm256_setzero_ps(); C];
                    for (j, v) in wv.iter_mut().enumerate() {
                        let $p = wp.wrapping_add((j * k + i) * $size);
                        *v = $load;
                    }
                    for (ri, a) in acc.iter_mut().enumerate() {
                        let xv = _mm256_loadu_ps(xp.wrapping_add(ri * k + i));
                        for (a, wv) in a.iter_mut().zip(&wv) {
                            *a = _mm256_fmadd_ps(xv, *wv, *a);
                        }
                    }
                    i += 8;
                }
                for (ri, a) in acc.iter().enumerate() {
                    for (j, a) in a.iter().enumerate() {
                        let mut s = hsum(*a);
                        for t in k0 + k8..k1 {
                            let wt = w.kind.value(w.bytes, (o + j) * k + t);
                            s += *x.as_ptr().add((r + ri) * k + t) * wt;
                        }
                        let out = y.add((r + ri) * ldy + o + j);
                        *out = if k0 > 0 { *out + s } else { s };
                    }
                }
            }
        };
    }

    tile_fn!(tile_f16, 2, |p| _mm256_cvtph_ps(_mm_loadu_si128(
        p as *const __m128i
    )));
    tile_fn!(tile_bf16, 2, |p| _mm256_castsi256_ps(
        _mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(_mm_loadu_si128(p as *const __m128i)))
    ));
    tile_fn!(tile_f32, 4, |p| _mm256_loadu_ps(p as *const f32));

    /// `((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7))`, as the portable `dot` sums its lanes.
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn hsum(v: __m256) -> f32 {
        let s4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
        let s1 = _mm_add_ss(s2, _mm_shuffle_ps::<0b01>(s2, s2));
        _mm_cvtss_f32(s1)
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod simd {
    use super::WeightView;
    #[derive(Clone, Copy)]
    pub struct At {
        pub r: usize,
        pub o: usize,
        pub k0: usize,
        pub k1: usize,
    }
    pub fn available() -> bool {
        false
    }
    pub unsafe fn tile(
        _: &[f32],
        _: &WeightView,
        _: At,
        _: usize,
        _: usize,
        _: *mut f32,
        _: usize,
    ) {
        unreachable!("no SIMD tile on this target")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(len: usize, period: usize) -> Vec<f32> {
        (0..len)
            .map(|i| ((i * 7) % period) as f32 / period as f32 - 0.5)
            .collect()
    }

    fn bytes_of(w: &[f32], kind: Kind) -> Vec<u8> {
        match kind {
            Kind::F32 => w.iter().flat_map(|v| v.to_le_bytes()).collect(),
            Kind::F16 => w
                .iter()
                .flat_map(|v| f16::from_f32(*v).to_le_bytes())
                .collect(),
            Kind::Bf16 => w
                .iter()
                .flat_map(|v| bf16::from_f32(*v).to_le_bytes())
                .collect(),
        }
    }

    /// `x · Wᵀ` in f64 from the stored (rounded) weights.
    fn naive(x: &[f32], n: usize, w: &WeightView) -> Vec<f32> {
        let (k, m) = (w.cols, w.rows);
        let mut y = vec![0.0; n * m];
        for r in 0..n {
            for o in 0..m {
                let s: f64 = (0..k)
                    .map(|i| x[r * k + i] as f64 * w.kind.value(w.bytes, o * k + i) as f64)
                    .sum();
                y[r * m + o] = s as f32;
            }
        }
        y
    }

    #[test]
    fn every_dtype_and_tile_matches_the_textbook_product() {
        // odd sizes: row and column tails of every width, a k tail
        for (n, k, m) in [(7, 37, 53), (13, 64, 100), (1, 8, 1), (5, 300, 50)] {
            let x = values(n * k, 89);
            let wf = values(m * k, 97);
            for kind in [Kind::F32, Kind::F16, Kind::Bf16] {
                let bytes = bytes_of(&wf, kind);
                let w = WeightView {
                    bytes: &bytes,
                    kind,
                    rows: m,
                    cols: k,
                };
                for (got, want) in linear(&x, n, &w).iter().zip(naive(&x, n, &w)) {
                    assert!(
                        (got - want).abs() < 1e-4,
                        "{kind:?} {n}x{k}x{m}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn each_row_is_the_same_bits_in_any_batch() {
        let (n, k, m) = (41, 264, 130);
        let x = values(n * k, 61);
        let bytes = bytes_of(&values(m * k, 53), Kind::F16);
        let w = WeightView {
            bytes: &bytes,
            kind: Kind::F16,
            rows: m,
            cols: k,
        };
        let all = linear(&x, n, &w);
        for r in [0, 1, 17, 40] {
            let alone = linear(&x[r * k..(r + 1) * k], 1, &w);
            assert_eq!(alone, all[r * m..(r + 1) * m], "row {r}");
        }
    }

    #[test]
    fn portable_and_simd_tiles_agree() {
        let (n, k, m) = (6, 72, 7);
        let x = values(n * k, 31);
        let bytes = bytes_of(&values(m * k, 29), Kind::Bf16);
        let w = WeightView {
            bytes: &bytes,
            kind: Kind::Bf16,
            rows: m,
            cols: k,
        };
        let mut y = vec![0.0; n * m];
        let mut scratch = Vec::new();
        // SAFETY: y is [n][m], this call owns all of it
        unsafe { portable_tile(&x, 0..n, &w, 0, m.min(NR), y.as_mut_ptr(), m, &mut scratch) };
        let fast = linear(&x, n, &w);
        for r in 0..n {
            for j in 0..m.min(NR) {
                let (a, b) = (y[r * m + j], fast[r * m + j]);
                assert!((a - b).abs() <= 1e-6 * a.abs().max(1.0), "{a} vs {b}");
            }
        }
    }
}
