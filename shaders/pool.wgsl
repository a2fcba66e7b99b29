// Masked pooling of one layer's hidden states on the GPU, accumulated over time chunks,
// so only [layers][B][C] per pooling ever leaves the device:
//
//   mean[l][b][c] = (1/len_b) · Σ_{t < len_b} x[b][t][c]        (sum over chunks, scaled at the last)
//   last[l][b][c] = x[b][len_b − 1][c]
//
// `pooled` is [2][L+1][B][C]: the mean block, then the last-token block. One thread per (b, c).
// Prepend run.wgsl. Bindings: kernels::bindings::pool (Rust), in the order below.

struct Params {
    tokens: u32,   // T (chunk length)
    batch: u32,    // B
    dim: u32,      // C
    layer: u32,    // l (0 = ln0(emb))
    layers: u32,   // L+1
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> pooled: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let c = id.x;
    let b = id.y;
    if c >= p.dim || b >= p.batch {
        return;
    }
    let len = seq_len(b);
    let mean_i = (p.layer * p.batch + b) * p.dim + c;
    let last_i = ((p.layers + p.layer) * p.batch + b) * p.dim + c;
    var sum = select(pooled[mean_i], 0.0, run.t0 == 0u);
    let end = min(p.tokens, select(0u, len - run.t0, len > run.t0));
    for (var t = 0u; t < end; t = t + 1u) {
        sum = sum + x[(b * p.tokens + t) * p.dim + c];
    }
    if run.last_chunk == 1u {
        sum = sum * (1.0 / f32(len));
    }
    pooled[mean_i] = sum;
    if len > run.t0 && len <= run.t0 + p.tokens {
        pooled[last_i] = x[(b * p.tokens + len - 1u - run.t0) * p.dim + c];
    }
}
