// RWKV-6 data-dependent decay (the decay LoRA's up-projection and the double exponential):
//
//   z[t][c]    = time_decay[c] + Σ_d lora[t][d] · time_decay_w2[d][c]   lora = tanh(xw @ time_decay_w1)
//   logw[t][c] = −exp(z[t][c])            the per-step log-decay; the decay is w = exp(logw) = exp(−exp(z))
//
// Only the log-decay is stored: exp(−exp(z)) underflows to 0 for z ≳ 4.5 and loses all
// relative precision, while logw stays exact (it reaches about −20 in trained models).
// z is clamped at 80 so logw stays finite (exp(logw) is exactly 0 there either way), which
// keeps sums of log-decays free of inf − inf in the chunked WKV.
// One thread per 4 rows × 4 channels (lora_up.wgsl, prepended).
// Bindings: kernels::bindings::decay (Rust), in the order below.

struct Params {
    tokens: u32,   // B·T rows
    dim: u32,      // C
    rank: u32,     // D
    decay_off: u32, // offset of time_decay[0] in `vecs`
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> lora: array<f32>;
@group(0) @binding(2) var<storage, read> w2: array<f32>;
@group(0) @binding(3) var<storage, read> vecs: array<f32>;
@group(0) @binding(4) var<storage, read_write> logw: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let c0 = id.x * 4u;
    let row0 = id.y * BLOCK_ROWS;
    if c0 >= p.dim || row0 >= p.tokens {
        return;
    }
    let up = lora_up(row0, p.tokens, c0, p.rank, 0u, p.rank, 0u);
    for (var i = 0u; i < BLOCK_ROWS; i = i + 1u) {
        let row = row0 + i;
        if row < p.tokens {
            for (var e = 0u; e < 4u; e = e + 1u) {
                let c = c0 + e;
                let z = vecs[p.decay_off + c] + up[i][e];
                logw[row * p.dim + c] = -exp(min(z, 80.0));
            }
        }
    }
}
