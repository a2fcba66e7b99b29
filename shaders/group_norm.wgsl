// GroupNorm over each head (H groups of N channels, eps = 64e-5, the `ln_x` of RWKV-6),
// fused with the SiLU gate g (already activated by the gate projection); x is the WKV output:
//
//   mean_th  = Σ_i x[t][h·N+i] / N,    var_th = Σ_i (x[t][h·N+i] − mean_th)² / N
//   y[t][c]  = ((x[t][c] − mean_th) / √(var_th + eps) · ln_x.weight[c] + ln_x.bias[c]) · g[t][c]
//
// One workgroup of 64 threads per (token, head); the statistics come from norm_common.wgsl
// (prepended). Bindings: kernels::bindings::group_norm (Rust), in the order below.

struct Params {
    rows: u32,        // tokens B·T
    dim: u32,         // C
    heads: u32,       // H
    head_size: u32,   // N
    weight_off: u32,
    bias_off: u32,
    eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> vecs: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, l: Lanes) {
    let head = wg.x;
    let row = wg.y;
    if row >= p.rows || head >= p.heads {
        return;
    }
    let base = row * p.dim + head * p.head_size;
    let stats = mean_inv_std(l, base, p.head_size, p.eps);
    for (var i = l.tid; i < p.head_size; i = i + WG) {
        let c = head * p.head_size + i;
        let n = (x[base + i] - stats.x) * stats.y;
        y[base + i] = (n * vecs[p.weight_off + c] + vecs[p.bias_off + c]) * g[base + i];
    }
}
