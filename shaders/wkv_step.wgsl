// Prelude of wkv.wgsl and wkv_chunked.wgsl (after HEAD_SIZE, TOKEN_BLOCK and run.wgsl): the
// WKV token step of one head, thread q owning the four value columns j = 4q .. 4q+3 of the
// state S ∈ R^{N×N} ([key i][value j]) in registers, `s[i]` = S[i][4q .. 4q+3]:
//
//   o_t[j]  = Σ_i r_t[i] · (S[i][j] + u[i] · k_t[i] · v_t[j])          u = time_faaaa[h]
//   S[i][j] ← exp(logw_t[i]) · S[i][j] + k_t[i] · v_t[j]
//
// r_t, k_t and the decay exp(logw_t) of a block of TOKEN_BLOCK tokens are staged in
// workgroup memory (each thread loads its own four channels, then all share them): two
// barriers per block instead of per token. Four columns per thread: each staged number read
// serves four multiply-adds (CPU adapters load memory lane by lane; N/4 threads per head).
// Reads `p` (tokens T, dim C), `r`, `k`, `v`, `logw` ([B][T][C]) and writes `out`; `u_s`
// must hold u before the first call. N must be a multiple of 4.
// Declares what both kernels bind alike (kernels::bindings::wkv, in the order below): their
// one Params (kernels::wkv::WkvOp::params) and the projections, `vecs` and `out`; each
// kernel declares its own state buffers.

struct Params {
    tokens: u32,       // T (the pass's positions, run.wgsl)
    batch: u32,        // B
    dim: u32,          // C
    heads: u32,        // H
    u_off: u32,        // offset of time_faaaa[0][0] in `vecs`
    chunk: u32,        // L (chunked kernel only)
    chunks: u32,       // ⌈T / L⌉ (chunked kernel only)
    window_begin: u32, // first position of this dispatch's time window (serial kernel only)
    window_len: u32,   // positions per window, a multiple of TOKEN_BLOCK (serial kernel only)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> r: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> logw: array<f32>;
@group(0) @binding(5) var<storage, read> vecs: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

const COLUMN_THREADS: u32 = HEAD_SIZE / 4u; // threads per head

var<workgroup> r_s: array<f32, TOKEN_BLOCK * HEAD_SIZE>; // [token in block][i]
var<workgroup> k_s: array<f32, TOKEN_BLOCK * HEAD_SIZE>;
var<workgroup> w_s: array<f32, TOKEN_BLOCK * HEAD_SIZE>;
var<workgroup> u_s: array<f32, HEAD_SIZE>;

// u_s ← time_faaaa[h] (this thread's four channels).
fn stage_u(h: u32, q: u32) {
    for (var e = 0u; e < 4u; e = e + 1u) {
        u_s[4u * q + e] = vecs[p.u_off + h * HEAD_SIZE + 4u * q + e];
    }
}

// Positions [begin, end) of sequence b, head h through the recurrence: writes o_t[4q .. 4q+3]
// to `out` and leaves the state after the last of them in `s`.
fn wkv_tokens(b: u32, h: u32, q: u32, begin: u32, end: u32, s: ptr<function, array<vec4<f32>, HEAD_SIZE>>) {
    let n = HEAD_SIZE;
    let j0 = 4u * q;
    for (var t0 = begin; t0 < end; t0 = t0 + TOKEN_BLOCK) {
        let count = min(TOKEN_BLOCK, end - t0);
        for (var tt = 0u; tt < count; tt = tt + 1u) {
            let idx = (b * p.tokens + t0 + tt) * p.dim + h * n + j0;
            for (var e = 0u; e < 4u; e = e + 1u) {
                r_s[tt * n + j0 + e] = r[idx + e];
                k_s[tt * n + j0 + e] = k[idx + e];
                w_s[tt * n + j0 + e] = exp(logw[idx + e]);
            }
        }
        workgroupBarrier();
        for (var tt = 0u; tt < count; tt = tt + 1u) {
            let idx = (b * p.tokens + t0 + tt) * p.dim + h * n + j0;
            let vj = vec4<f32>(v[idx], v[idx + 1u], v[idx + 2u], v[idx + 3u]);
            let at = tt * n;
            var o = vec4<f32>(0.0);
            for (var i = 0u; i < n; i = i + 1u) {
                let kv = k_s[at + i] * vj;
                o = o + r_s[at + i] * ((*s)[i] + u_s[i] * kv);
                (*s)[i] = w_s[at + i] * (*s)[i] + kv;
            }
            for (var e = 0u; e < 4u; e = e + 1u) {
                out[idx + e] = o[e];
            }
        }
        workgroupBarrier();
    }
}
