// RMSNorm over each row (token) of C channels (Llama's input_layernorm,
// post_attention_layernorm and final norm; Zhang & Sennrich 2019):
//
//   ms_t    = Σ_c x[t][c]² / C
//   y[t][c] = x[t][c] / √(ms_t + eps) · weight[c]               (no centring, no bias)
//
// One workgroup of 64 threads per row; the sum is the reduction prelude's workgroup_sum
// (prepended with norm_common.wgsl; kernels::norm_prelude). `weight` lives in the packed
// vector buffer. Same Params as layer_norm.wgsl
// (`bias_off` unused), so `LayerNormOp` drives both.

struct Params {
    rows: u32,        // tokens B·T
    dim: u32,         // C
    weight_off: u32,  // offset of weight[0] in `vecs`
    bias_off: u32,    // unused (RMSNorm has no bias)
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
    var s = 0.0;
    for (var c = l.tid; c < p.dim; c = c + WG) {
        s = s + x[base + c] * x[base + c];
    }
    let inv = 1.0 / sqrt(workgroup_sum(l, s) / f32(p.dim) + p.eps);
    for (var c = l.tid; c < p.dim; c = c + WG) {
        y[base + c] = x[base + c] * inv * vecs[p.weight_off + c];
    }
}
