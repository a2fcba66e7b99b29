// Rotary position embedding (RoPE, Su et al. 2021) in place on Q or K, Hugging Face's
// `rotate_half` convention (each head's first and second halves pair up):
//
//   for head h, i < d/2, position t (row b·T + t of a right-padded batch):
//     a = x[h·d + i],  b = x[h·d + i + d/2],  φ = t · inv_freq[i]   (inv_freq[i] = θ^(−2i/d))
//     x[h·d + i]       = a cos φ − b sin φ
//     x[h·d + i + d/2] = b cos φ + a sin φ
//
// `inv_freq` (d/2 values, computed on the host as transformers does) lives in the packed
// vector buffer. One thread per (i, head, row): i·heads + h on x, rows on y (and z above 65535).

struct Params {
    rows: u32,      // B·T
    tokens: u32,    // T (padded length): the position is row % T
    width: u32,     // heads · d (C for Q, C_kv for K)
    half: u32,      // d/2
    freq_off: u32,  // offset of inv_freq[0] in `vecs`
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> vecs: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let row = id.y + id.z * 65535u;
    let pairs = p.width / 2u;
    if id.x >= pairs || row >= p.rows {
        return;
    }
    let i = id.x % p.half;
    let h = id.x / p.half;
    let phi = f32(row % p.tokens) * vecs[p.freq_off + i];
    let c = cos(phi);
    let s = sin(phi);
    let lo = row * p.width + h * 2u * p.half + i;
    let a = x[lo];
    let b = x[lo + p.half];
    x[lo] = a * c - b * s;
    x[lo + p.half] = b * c + a * s;
}
