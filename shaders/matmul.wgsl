// Register-blocked matrix multiply for CPU adapters (equation and epilogue in
// matmul_common.wgsl):
//
//   Y[m][n] (op)= act( Σ_k X[m][k] · W[n][k] )
//
// A workgroup of LANES = 8 threads covers 8 rows (m) × 128 columns (n): thread t keeps the
// sums of rows m0..m0+7 and columns n0 + 8j (n0 = first column + t, j = 0..15) in eight
// 4×4 matrices, and per step of 4 k multiplies two 4×4 blocks of X by four 4×4 blocks of W
// (`acc += Xᵀ · W`, 128 multiply-adds per 48 loaded numbers). No workgroup memory, no
// barriers. Why this shape: lavapipe (llvmpipe) runs 8 threads as one SIMD vector and loads
// every storage-buffer component lane by lane, so a load costs far more than a multiply-add;
// each thread here does 5.3 multiply-adds per loaded component where the older 4×4 block did
// 2.7, measured 2× faster on 16–128 × 768 × 768 (docs/benchmarks.md). Rows and columns past
// the end are clamped on load (valid memory) and never stored.

const LANES: u32 = 8u;

// X rows m .. m+3 at k-quad kk, as the columns of a matrix.
fn x_block(m: u32, kk: u32) -> mat4x4<f32> {
    let last = p.m - 1u;
    return mat4x4<f32>(
        x[min(m, last) * p.k4 + kk],
        x[min(m + 1u, last) * p.k4 + kk],
        x[min(m + 2u, last) * p.k4 + kk],
        x[min(m + 3u, last) * p.k4 + kk],
    );
}

// W columns n, n + LANES, n + 2·LANES, n + 3·LANES at k-quad kk, as the columns of a matrix.
fn w_block(n: u32, kk: u32) -> mat4x4<f32> {
    let last = p.n - 1u;
    return mat4x4<f32>(
        load_w4(min(n, last), kk, p.k4),
        load_w4(min(n + LANES, last), kk, p.k4),
        load_w4(min(n + 2u * LANES, last), kk, p.k4),
        load_w4(min(n + 3u * LANES, last), kk, p.k4),
    );
}

// acc[c][r] = Y before the epilogue at row m + r, column n + c·LANES.
fn store_block(m: u32, n: u32, acc: mat4x4<f32>) {
    for (var c = 0u; c < 4u; c = c + 1u) {
        for (var r = 0u; r < 4u; r = r + 1u) {
            store(m + r, n + c * LANES, acc[c][r]);
        }
    }
}

@compute @workgroup_size(LANES)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let m0 = wg.y * 8u;
    let n0 = wg.x * 16u * LANES + lid.x;
    let q = 4u * LANES; // column distance of the four W blocks
    // acc_hq: rows m0 + 4h .. +3, columns n0 + q·(block q) + LANES·c
    var acc00 = mat4x4<f32>();
    var acc01 = mat4x4<f32>();
    var acc02 = mat4x4<f32>();
    var acc03 = mat4x4<f32>();
    var acc10 = mat4x4<f32>();
    var acc11 = mat4x4<f32>();
    var acc12 = mat4x4<f32>();
    var acc13 = mat4x4<f32>();
    for (var kk = 0u; kk < p.k4; kk = kk + 1u) {
        let a0 = transpose(x_block(m0, kk));
        let a1 = transpose(x_block(m0 + 4u, kk));
        let b0 = w_block(n0, kk);
        let b1 = w_block(n0 + q, kk);
        let b2 = w_block(n0 + 2u * q, kk);
        let b3 = w_block(n0 + 3u * q, kk);
        acc00 = acc00 + a0 * b0;
        acc01 = acc01 + a0 * b1;
        acc02 = acc02 + a0 * b2;
        acc03 = acc03 + a0 * b3;
        acc10 = acc10 + a1 * b0;
        acc11 = acc11 + a1 * b1;
        acc12 = acc12 + a1 * b2;
        acc13 = acc13 + a1 * b3;
    }
    store_block(m0, n0, acc00);
    store_block(m0, n0 + q, acc01);
    store_block(m0, n0 + 2u * q, acc02);
    store_block(m0, n0 + 3u * q, acc03);
    store_block(m0 + 4u, n0, acc10);
    store_block(m0 + 4u, n0 + q, acc11);
    store_block(m0 + 4u, n0 + 2u * q, acc12);
    store_block(m0 + 4u, n0 + 3u * q, acc13);
}
