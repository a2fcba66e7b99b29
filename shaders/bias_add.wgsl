// Bias (and residual) before a matmul that accumulates (`Mode::Add`), since the matmul
// epilogue has no bias: `Y = base + b`, then `Y += X Wᵀ` gives `base + X Wᵀ + b`.
//
//   y[m][n] = (residual ? base[m][n] : 0) + vecs[bias_off + n]
//
// One thread per (n, m).

struct Params {
    rows: u32,       // M
    dim: u32,        // N
    bias_off: u32,   // offset of b[0] in `vecs`
    residual: u32,   // 1: add `base`
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> base: array<f32>;
@group(0) @binding(2) var<storage, read> vecs: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let n = id.x;
    let m = id.y + id.z * 65535u;
    if n >= p.dim || m >= p.rows {
        return;
    }
    let i = m * p.dim + n;
    var v = vecs[p.bias_off + n];
    if p.residual == 1u {
        v = v + base[i];
    }
    y[i] = v;
}
