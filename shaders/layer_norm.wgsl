// LayerNorm over each row (token) of C channels, eps = 1e-5 (ln0, ln1, ln2):
//
//   mean_t  = Σ_c x[t][c] / C
//   var_t   = Σ_c (x[t][c] − mean_t)² / C                      (biased, as torch)
//   y[t][c] = (x[t][c] − mean_t) / √(var_t + eps) · weight[c] + bias[c]
//
// One workgroup of 64 threads per row; the statistics come from norm_common.wgsl and a
// reduction prelude (prepended; kernels::norm_prelude).
// `weight`/`bias` live in the packed vector buffer.
// Bindings: kernels::bindings::layer_norm (Rust), in the order below.

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

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, l: Lanes) {
    let row = wg.y * p.row_groups_x + wg.x;
    if row >= p.rows {
        return;
    }
    let base = row * p.dim;
    let stats = mean_inv_std(l, base, p.dim, p.eps);
    for (var c = l.tid; c < p.dim; c = c + WG) {
        let n = (x[base + c] - stats.x) * stats.y;
        y[base + c] = n * vecs[p.weight_off + c] + vecs[p.bias_off + c];
    }
}
