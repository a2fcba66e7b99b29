// Static token shift ("maa" lerp) of one sequence chunk, for time-mix's x-mix and
// channel-mix's k/r mixes:
//
//   out[b][t][c] = xx[b][t][c] + (xx[b][t−1][c] − xx[b][t][c]) · mu[c]
//
// xx are LayerNorm outputs, right-padded sequences laid out [B][T][C]; xx[b][−1] is zero
// for a fresh sequence, or `shift_state[b]` (the previous chunk's last LN output) when
// run.load_state says the sequence continues (shift_common.wgsl). One thread per (token,
// channel). Prepend run.wgsl and shift_common.wgsl.
// Bindings: kernels::bindings::token_shift (Rust), in the order below.

struct Params {
    tokens: u32,   // T (chunk length)
    batch: u32,    // B
    dim: u32,      // C
    mu_off: u32,   // offset of mu[0] in `vecs`
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> xx: array<f32>;
@group(0) @binding(2) var<storage, read> shift_state: array<f32>;
@group(0) @binding(3) var<storage, read> vecs: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let c = id.x;
    let row = id.y;
    if c >= p.dim || row >= p.tokens * p.batch {
        return;
    }
    let here = xx[row * p.dim + c];
    let prev = previous(row, c);
    out[row * p.dim + c] = here + (prev - here) * vecs[p.mu_off + c];
}
