// RWKV-6 data-dependent token shift ("ddlerp") for one target s ∈ {w, k, v, r, g}:
//
//   d         = xx[t−1] − xx[t]                                   (token shift of LN outputs)
//   lora[t]   = tanh((xx[t] + d · maa_x) @ time_maa_w1)            (computed before, [T][5R])
//   m_s[t][c] = Σ_r lora[t][s·R + r] · time_maa_w2[s][r][c]
//   out[t][c] = xx[t][c] + d[c] · (maa_s[c] + m_s[t][c])
//
// Layout: xx/out [B][T][C] right-padded; xx[b][−1] = 0, or shift_state[b] when the sequence
// continues from a previous chunk (run.load_state; shift_common.wgsl). time_maa_w2 is used in
// its checkpoint layout [5][R][C] (f32), so neighbouring threads read neighbouring c.
// Prepend run.wgsl and shift_common.wgsl. Bindings: kernels::bindings::ddlerp (Rust).

struct Params {
    tokens: u32,   // T
    batch: u32,    // B
    dim: u32,      // C
    rank: u32,     // R
    slice: u32,    // s: 0=w 1=k 2=v 3=r 4=g (the order of time_maa_w2's slices)
    maa_off: u32,  // offset of maa_s[0] in `vecs`
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> xx: array<f32>;
@group(0) @binding(2) var<storage, read> shift_state: array<f32>;
@group(0) @binding(3) var<storage, read> vecs: array<f32>;
@group(0) @binding(4) var<storage, read> lora: array<f32>;
@group(0) @binding(5) var<storage, read> w2: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let c = id.x;
    let row = id.y;
    if c >= p.dim || row >= p.tokens * p.batch {
        return;
    }
    let here = xx[row * p.dim + c];
    let prev = previous(row, c);
    let lora_base = row * 5u * p.rank + p.slice * p.rank;
    let w2_base = p.slice * p.rank * p.dim;
    var m = 0.0;
    for (var r = 0u; r < p.rank; r = r + 1u) {
        m = m + lora[lora_base + r] * w2[w2_base + r * p.dim + c];
    }
    out[row * p.dim + c] = here + (prev - here) * (vecs[p.maa_off + c] + m);
}
