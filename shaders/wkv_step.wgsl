// Prelude of wkv.wgsl and wkv_chunked.wgsl (after HEAD_SIZE, TOKEN_BLOCK and run.wgsl): the
// WKV token step of one head, thread j owning value column j of the state S ∈ R^{N×N}
// ([key i][value j]) in registers:
//
//   o_t[j]  = Σ_i r_t[i] · (S[i][j] + u[i] · k_t[i] · v_t[j])          u = time_faaaa[h]
//   S[i][j] ← exp(logw_t[i]) · S[i][j] + k_t[i] · v_t[j]
//
// r_t, k_t and the decay exp(logw_t) of a block of TOKEN_BLOCK tokens are staged in
// workgroup memory (each thread loads its own channel, then all share them): two barriers
// per block instead of per token. Reads the kernel's `p` (tokens T, dim C), `r`, `k`, `v`,
// `logw` ([B][T][C]) and writes `out`; `u_s` must hold u before the first call.

var<workgroup> r_s: array<f32, TOKEN_BLOCK * HEAD_SIZE>; // [token in block][i]
var<workgroup> k_s: array<f32, TOKEN_BLOCK * HEAD_SIZE>;
var<workgroup> w_s: array<f32, TOKEN_BLOCK * HEAD_SIZE>;
var<workgroup> u_s: array<f32, HEAD_SIZE>;

// Positions [begin, end) of sequence b, head h through the recurrence: writes o_t[j] to
// `out` and leaves the state after the last of them in `s`.
fn wkv_tokens(b: u32, h: u32, j: u32, begin: u32, end: u32, s: ptr<function, array<f32, HEAD_SIZE>>) {
    let n = HEAD_SIZE;
    for (var t0 = begin; t0 < end; t0 = t0 + TOKEN_BLOCK) {
        let count = min(TOKEN_BLOCK, end - t0);
        for (var tt = 0u; tt < count; tt = tt + 1u) {
            let idx = (b * p.tokens + t0 + tt) * p.dim + h * n + j;
            r_s[tt * n + j] = r[idx];
            k_s[tt * n + j] = k[idx];
            w_s[tt * n + j] = exp(logw[idx]);
        }
        workgroupBarrier();
        for (var tt = 0u; tt < count; tt = tt + 1u) {
            let idx = (b * p.tokens + t0 + tt) * p.dim + h * n + j;
            let vj = v[idx];
            let at = tt * n;
            var o = 0.0;
            for (var i = 0u; i < n; i = i + 1u) {
                let kv = k_s[at + i] * vj;
                o = o + r_s[at + i] * ((*s)[i] + u_s[i] * kv);
                (*s)[i] = w_s[at + i] * (*s)[i] + kv;
            }
            out[idx] = o;
        }
        workgroupBarrier();
    }
}
