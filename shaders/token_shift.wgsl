// Static token shift ("maa" lerp) of one sequence chunk, one or two mixes of the same shift
// in one dispatch: time-mix's x-mix (one), channel-mix's k and r mixes (two):
//
//   d[b][t][c]    = xx[b][t−1][c] − xx[b][t][c]
//   out[b][t][c]  = xx[b][t][c] + d[b][t][c] · mu[c]
//   out2[b][t][c] = xx[b][t][c] + d[b][t][c] · mu2[c]          (only when mixes = 2)
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
    mu2_off: u32,  // offset of mu2[0] in `vecs` (mixes = 2)
    mixes: u32,    // 1: out only, 2: out and out2
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> xx: array<f32>;
@group(0) @binding(2) var<storage, read> shift_state: array<f32>;
@group(0) @binding(3) var<storage, read> vecs: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> out2: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let c = id.x;
    let row = id.y;
    if c >= p.dim || row >= p.tokens * p.batch {
        return;
    }
    let here = xx[row * p.dim + c];
    let d = previous(row, c) - here;
    out[row * p.dim + c] = here + d * vecs[p.mu_off + c];
    if p.mixes == 2u {
        out2[row * p.dim + c] = here + d * vecs[p.mu2_off + c];
    }
}
