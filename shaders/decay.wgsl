// RWKV-6 data-dependent decay (the decay LoRA's up-projection and the double exponential):
//
//   z[t][c]    = time_decay[c] + Σ_d lora[t][d] · time_decay_w2[d][c]   lora = tanh(xw @ time_decay_w1)
//   logw[t][c] = −exp(z[t][c])            the per-step log-decay; the decay is w = exp(logw) = exp(−exp(z))
//
// Only the log-decay is stored: exp(−exp(z)) underflows to 0 for z ≳ 4.5 and loses all
// relative precision, while logw stays exact (it reaches about −20 in trained models).
// z is clamped at 80 so logw stays finite (exp(logw) is exactly 0 there either way), which
// keeps sums of log-decays free of inf − inf in the chunked WKV.
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
    let c = id.x;
    let row = id.y;
    if c >= p.dim || row >= p.tokens {
        return;
    }
    var z = vecs[p.decay_off + c];
    let lora_base = row * p.rank;
    for (var d = 0u; d < p.rank; d = d + 1u) {
        z = z + lora[lora_base + d] * w2[d * p.dim + c];
    }
    logw[row * p.dim + c] = -exp(min(z, 80.0));
}
