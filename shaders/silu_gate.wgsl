// SwiGLU's gate (Shazeer 2020; Llama's MLP), element-wise in place on the up projection:
//
//   h[i] = SiLU(g[i]) · h[i],   SiLU(z) = z · σ(z) = z / (1 + e^(−z))
//
// g = a W_gateᵀ and h = a W_upᵀ, both [B·T][F]; the down projection follows (matmul.wgsl).
// One thread per element on a 2-D grid (above 65535 workgroups), as gelu.wgsl.

struct Params {
    count: u32,      // elements
    groups_x: u32,   // workgroups along x
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wg.y * p.groups_x + wg.x) * 64u + lid;
    if i >= p.count {
        return;
    }
    let z = g[i];
    h[i] = z / (1.0 + exp(-z)) * h[i];
}
