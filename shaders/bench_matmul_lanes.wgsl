// Proposed matmul variant for CPU adapters (lavapipe), measured by `rwkv-lens bench`'s
// roofline next to the engine's kernel; not used by the engine.
//
//   Y[m][n] = Σ_k X[m][k] · W[n][k]      X: [M][K] f32, W stored TRANSPOSED and packed:
//                                        wt[k][j] = u32 holding f16 W[2j][k] (low) and W[2j+1][k] (high)
//
// Why: lavapipe runs the invocations of a workgroup as SIMD lanes. In `matmul.wgsl` each
// lane reads its own weight row (W[n][k], lanes n apart by K), so every weight load is a
// gather. Here neighbouring lanes own neighbouring column pairs, so the weight load of a
// SIMD batch is one contiguous vector load; X[m][k] is the same for all lanes (a broadcast).
// Each invocation keeps an 8-row × 2-column block of sums (16 registers) and walks k four
// at a time (X read as vec4).

struct Params {
    m: u32,    // rows of X and Y
    n2: u32,   // N / 2: column pairs (N even)
    k4: u32,   // K / 4 (K multiple of 4)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> wt: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<vec2<f32>>;

const ROWS: u32 = 8u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;                 // column pair: columns 2j, 2j+1
    let m0 = gid.y * ROWS;
    if j >= p.n2 {
        return;
    }
    var acc: array<vec2<f32>, 8>;
    for (var r = 0u; r < ROWS; r = r + 1u) {
        acc[r] = vec2<f32>(0.0);
    }
    for (var kk = 0u; kk < p.k4; kk = kk + 1u) {
        // four k steps of the column pair: w_i = (W[2j][4kk+i], W[2j+1][4kk+i])
        let base = 4u * kk * p.n2 + j;
        let w0 = unpack2x16float(wt[base]);
        let w1 = unpack2x16float(wt[base + p.n2]);
        let w2 = unpack2x16float(wt[base + 2u * p.n2]);
        let w3 = unpack2x16float(wt[base + 3u * p.n2]);
        for (var r = 0u; r < ROWS; r = r + 1u) {
            let a = x[min(m0 + r, p.m - 1u) * p.k4 + kk];
            acc[r] = acc[r] + a.x * w0 + a.y * w1 + a.z * w2 + a.w * w3;
        }
    }
    for (var r = 0u; r < ROWS; r = r + 1u) {
        if m0 + r < p.m {
            y[(m0 + r) * p.n2 + j] = acc[r];
        }
    }
}
