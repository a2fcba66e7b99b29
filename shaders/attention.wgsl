// Scaled dot-product self-attention with a padding mask (and, for decoders, a causal one),
// batched and right-padded:
//
//   O[b,i,h] = Σ_j softmax_j(S[b,i,j,h]) · V[b,j,h],   S = Q[b,i,h]·K[b,j,h] / √d + M[b,i,j]
//   M[b,i,j] = 0 for j < len_b (and j ≤ i when causal), −∞ otherwise (weight exactly 0)
//
// Q, O are [B·T][C] with head h in columns h·d .. h·d+d−1; K, V are [B·T][C_kv] and query head h
// reads key/value head h / group (grouped-query attention, group = H / H_kv; 1 in BERT and
// GPT-2, where C_kv = C). One thread per (query, head)
// keeps its output row in registers and walks the keys once with the online softmax
// (running max m, running sum l: on a new maximum both rescale by e^(m_old − m_new)).
// Pad queries (i ≥ len_b) are computed too and ignored by pooling. Prepend `HEAD_SIZE`.

struct Params {
    batch: u32,    // B
    tokens: u32,   // T (padded length)
    dim: u32,      // C
    heads: u32,    // H
    scale: f32,    // 1/√d
    causal: u32,   // 1: query i sees keys j ≤ i only (GPT-2, Llama)
    kv_dim: u32,   // C_kv = H_kv · d
    group: u32,    // query heads per key/value head
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> lengths: array<u32>;
@group(0) @binding(5) var<storage, read_write> o: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let h = id.x % p.heads;
    let row = id.x / p.heads;   // b·T + i (a 1-D grid: B·T·H ≤ 65535·64)
    if row >= p.batch * p.tokens {
        return;
    }
    let b = row / p.tokens;
    let i = row % p.tokens;
    let len = select(lengths[b], min(lengths[b], i + 1u), p.causal == 1u);
    let qo = row * p.dim + h * HEAD_SIZE;
    var qi: array<f32, HEAD_SIZE>;
    var acc: array<f32, HEAD_SIZE>;
    for (var e = 0u; e < HEAD_SIZE; e = e + 1u) {
        qi[e] = q[qo + e] * p.scale;
        acc[e] = 0.0;
    }
    var m = -3.0e38;
    var l = 0.0;
    for (var j = 0u; j < len; j = j + 1u) {
        let ko = (b * p.tokens + j) * p.kv_dim + (h / p.group) * HEAD_SIZE;
        var s = 0.0;
        for (var e = 0u; e < HEAD_SIZE; e = e + 1u) {
            s = s + qi[e] * k[ko + e];
        }
        let m_new = max(m, s);
        let rescale = exp(m - m_new);
        let w = exp(s - m_new);
        l = l * rescale + w;
        for (var e = 0u; e < HEAD_SIZE; e = e + 1u) {
            acc[e] = acc[e] * rescale + w * v[ko + e];
        }
        m = m_new;
    }
    for (var e = 0u; e < HEAD_SIZE; e = e + 1u) {
        o[qo + e] = acc[e] / l;
    }
}
