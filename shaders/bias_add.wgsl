// Bias (and residual) before a matmul that accumulates (`Mode::Add`), since the matmul
// epilogue has no bias: `Y = base + b`, then `Y += X Wᵀ` gives `base + X Wᵀ + b`.
//
//   y[m][n] = (residual ? base[m][n] : 0) + vecs[bias_off + n]
//
// One thread per (n, m): prepend `row_grid.wgsl`.

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

fn element(n: u32, m: u32) {
    let i = m * p.dim + n;
    var v = vecs[p.bias_off + n];
    if p.residual == 1u {
        v = v + base[i];
    }
    y[i] = v;
}
