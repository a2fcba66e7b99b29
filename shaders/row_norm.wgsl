// Prelude of the per-row norms, layer_norm.wgsl and rms_norm.wgsl (after the reduction
// prelude and norm_common.wgsl): their Params, bindings and entry point. One workgroup of
// 64 threads per row (token) of C channels, rows on a 2-D grid; the kernel defines
// `normalize_row(l, base)`, which writes y[base .. base + C) from x[base .. base + C).
// `weight`/`bias` live in the packed vector buffer (RMSNorm leaves `bias_off` unused).
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
    normalize_row(l, row * p.dim);
}
