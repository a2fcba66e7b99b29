// RWKV-6 data-dependent token shift ("ddlerp") for one target s ∈ {w, k, v, r, g}:
//
//   d         = xx[t−1] − xx[t]                                   (token shift of LN outputs)
//   lora[t]   = tanh((xx[t] + d · maa_x) @ time_maa_w1)            (computed before, [T][5R])
//   m_s[t][c] = Σ_r lora[t][s·R + r] · time_maa_w2[s][r][c]
//   out[t][c] = xx[t][c] + d[c] · (maa_s[c] + m_s[t][c])
//
// Layout: xx/out [B][T][C] right-padded; xx[b][−1] = 0, or shift_state[b] when the sequence
// continues from a previous chunk (run.load_state; shift_common.wgsl). time_maa_w2 is used in
// its checkpoint layout [5][R][C] (f32). One thread per 4 rows × 4 channels (lora_up.wgsl).
// Prepend run.wgsl, shift_common.wgsl and lora_up.wgsl.
// Bindings: kernels::bindings::ddlerp (Rust).

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
    let c0 = id.x * 4u;
    let row0 = id.y * BLOCK_ROWS;
    let rows = p.tokens * p.batch;
    if c0 >= p.dim || row0 >= rows {
        return;
    }
    let m = lora_up(row0, rows, c0, 5u * p.rank, p.slice * p.rank, p.rank, p.slice * p.rank * p.dim);
    for (var i = 0u; i < BLOCK_ROWS; i = i + 1u) {
        let row = row0 + i;
        if row < rows {
            for (var e = 0u; e < 4u; e = e + 1u) {
                let c = c0 + e;
                let here = xx[row * p.dim + c];
                out[row * p.dim + c] = here + (previous(row, c) - here) * (vecs[p.maa_off + c] + m[i][e]);
            }
        }
    }
}
