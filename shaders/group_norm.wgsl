// GroupNorm over each head (H groups of N channels, eps = 64e-5, the `ln_x` of RWKV-6),
// fused with the SiLU gate g (already activated by the gate projection):
//
//   mean_th  = Σ_i o[t][h·N+i] / N,    var_th = Σ_i (o[t][h·N+i] − mean_th)² / N
//   y[t][c]  = ((o[t][c] − mean_th) / √(var_th + eps) · ln_x.weight[c] + ln_x.bias[c]) · g[t][c]
//
// One workgroup of 64 threads per (token, head).

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
@group(0) @binding(1) var<storage, read> o: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> vecs: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const WG: u32 = 64u;
var<workgroup> partial: array<f32, WG>;

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
    let head = wg.x;
    let row = wg.y;
    if row >= p.rows || head >= p.heads {
        return;
    }
    let base = row * p.dim + head * p.head_size;
    var s = 0.0;
    for (var i = tid; i < p.head_size; i = i + WG) {
        s = s + o[base + i];
    }
    let mean = workgroup_sum(tid, s) / f32(p.head_size);
    var q = 0.0;
    for (var i = tid; i < p.head_size; i = i + WG) {
        let d = o[base + i] - mean;
        q = q + d * d;
    }
    let variance = workgroup_sum(tid, q) / f32(p.head_size);
    let inv_std = 1.0 / sqrt(variance + p.eps);
    for (var i = tid; i < p.head_size; i = i + WG) {
        let c = head * p.head_size + i;
        let n = (o[base + i] - mean) * inv_std;
        y[base + i] = (n * vecs[p.weight_off + c] + vecs[p.bias_off + c]) * g[base + i];
    }
}
