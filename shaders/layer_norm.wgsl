// LayerNorm over each row (token) of C channels, eps = 1e-5 (ln0, ln1, ln2):
//
//   mean_t  = Σ_c x[t][c] / C
//   var_t   = Σ_c (x[t][c] − mean_t)² / C                      (biased, as torch)
//   y[t][c] = (x[t][c] − mean_t) / √(var_t + eps) · weight[c] + bias[c]
//
// One workgroup of 64 threads per row; two passes (mean, then centred variance) with a
// tree reduction in workgroup memory. `weight`/`bias` live in the packed vector buffer.

struct Params {
    rows: u32,        // tokens B·T
    dim: u32,         // C
    weight_off: u32,  // offset of weight[0] in `vecs`
    bias_off: u32,    // offset of bias[0] in `vecs`
    eps: f32,
    row_groups_x: u32, // rows are dispatched as a 2-D grid: row = wg.y · row_groups_x + wg.x
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> vecs: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

const WG: u32 = 64u;
var<workgroup> partial: array<f32, WG>;

// Sum of `v` over the 64 threads of the workgroup (every thread gets the total).
fn workgroup_sum(tid: u32, v: f32) -> f32 {
    partial[tid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if tid < s {
            partial[tid] = partial[tid] + partial[tid + s];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let row = wg.y * p.row_groups_x + wg.x;
    if row >= p.rows {
        return;
    }
    let base = row * p.dim;
    var s = 0.0;
    for (var c = tid; c < p.dim; c = c + WG) {
        s = s + x[base + c];
    }
    let mean = workgroup_sum(tid, s) / f32(p.dim);
    var q = 0.0;
    for (var c = tid; c < p.dim; c = c + WG) {
        let d = x[base + c] - mean;
        q = q + d * d;
    }
    let variance = workgroup_sum(tid, q) / f32(p.dim);
    let inv_std = 1.0 / sqrt(variance + p.eps);
    for (var c = tid; c < p.dim; c = c + WG) {
        let n = (x[base + c] - mean) * inv_std;
        y[base + c] = n * vecs[p.weight_off + c] + vecs[p.bias_off + c];
    }
}
