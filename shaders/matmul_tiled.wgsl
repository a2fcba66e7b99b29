// Workgroup-memory tiled matrix multiply for discrete/integrated GPUs (equation and
// epilogue in matmul_common.wgsl):
//
//   Y[m][n] (op)= act( Σ_k X[m][k] · W[n][k] )
//
// A workgroup of 16×16 threads computes a 64 (m) × 64 (n) tile; K advances in steps of 16.
// Each step, all 256 threads cooperatively load a 64×16 slice of X and of W (one vec4 each,
// f16 weights unpacked to f32 here) into workgroup memory, transposed to [k][row]; then
// every thread accumulates its 4×4 outer products from there. 8 KiB of workgroup memory.

const BK: u32 = 16u;
const TILE: u32 = 64u;
var<workgroup> xs: array<f32, 1024>; // [BK][TILE] rows of X
var<workgroup> ws: array<f32, 1024>; // [BK][TILE] rows of W

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let m_base = wg.y * TILE;
    let n_base = wg.x * TILE;
    // the slice element this thread loads: tile row `lr`, k-quad `lq` (4 consecutive k)
    let lr = tid / 4u;
    let lq = tid % 4u;
    let xm = min(m_base + lr, p.m - 1u);
    let wn = min(n_base + lr, p.n - 1u);
    var acc: array<vec4<f32>, 4>; // acc[i][j]: row ty·4+i, column tx·4+j
    for (var i = 0u; i < 4u; i = i + 1u) {
        acc[i] = vec4<f32>(0.0);
    }
    let steps = (p.k4 + 3u) / 4u;
    for (var s = 0u; s < steps; s = s + 1u) {
        let kk = s * 4u + lq;
        var a = vec4<f32>(0.0);
        var b = vec4<f32>(0.0);
        if kk < p.k4 {
            a = x[xm * p.k4 + kk];
            b = load_w4(wn, kk, p.k4);
        }
        for (var e = 0u; e < 4u; e = e + 1u) {
            xs[(lq * 4u + e) * TILE + lr] = a[e];
            ws[(lq * 4u + e) * TILE + lr] = b[e];
        }
        workgroupBarrier();
        for (var k = 0u; k < BK; k = k + 1u) {
            let xo = k * TILE + lid.y * 4u;
            let wo = k * TILE + lid.x * 4u;
            let bv = vec4<f32>(ws[wo], ws[wo + 1u], ws[wo + 2u], ws[wo + 3u]);
            acc[0] = acc[0] + xs[xo] * bv;
            acc[1] = acc[1] + xs[xo + 1u] * bv;
            acc[2] = acc[2] + xs[xo + 2u] * bv;
            acc[3] = acc[3] + xs[xo + 3u] * bv;
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i = i + 1u) {
        for (var j = 0u; j < 4u; j = j + 1u) {
            store(m_base + lid.y * 4u + i, n_base + lid.x * 4u + j, acc[i][j]);
        }
    }
}
