// RWKV-6 WKV, chunked (parallel in time), exact and overflow-free. Same recurrence as
// wkv.wgsl, state S ∈ R^{N×N} per (sequence, head) laid out [key i][value j]:
//
//   o_t[j]  = Σ_i r_t[i] · (S[i][j] + u[i] · k_t[i] · v_t[j])
//   S[i][j] ← w_t[i] · S[i][j] + k_t[i] · v_t[j],          w_t = exp(logw_t)
//
// Split the T tokens into chunks of L. Over one chunk c, the recurrence is affine in the
// state it starts from:  S_end = diag(D_c) · S_start + ΔS_c  with
//   D_c[i]      = Π_{t∈c} w_t[i] = exp(Σ_{t∈c} logw_t[i])
//   ΔS_c[i][j]  = the state the chunk reaches from S = 0.
// Three entry points:
//   1. chunk_states  (one workgroup per sequence × head × chunk): ΔS_c and D_c by running
//      the recurrence from zero over the chunk;
//   2. scan          (one workgroup per sequence × head, serial over chunks):
//      S_start(0) = carried state (or 0);  S_start(c+1) = D_c ⊙ S_start(c) + ΔS_c,
//      written over ΔS_c; the final S_start is the state carried to the next pass;
//   3. chunk_outputs (one workgroup per sequence × head × chunk): the recurrence again
//      from S_start(c), emitting o_t.
// Every step only multiplies by decays ≤ 1 and adds, exactly as the serial kernel does,
// so no exp(−Σ logw) factor can overflow (log-decays reach −20 per step and below).
// Work is 2× the serial kernel's; parallelism is (T/L)× larger, which pays when
// sequences are few and long. In chunk_states and scan thread j owns column j; chunk_outputs
// is the token step of wkv_step.wgsl (four columns per thread), chunk_states the same
// staging without read-out. Prepend HEAD_SIZE,
// TOKEN_BLOCK, run.wgsl and wkv_step.wgsl. Plain-Rust oracle: reference/chunk_scan.rs.
// Bindings: kernels::bindings::wkv (Rust); Params and bindings 0–6 are wkv_step.wgsl's,
// the state buffers below this kernel's own.

@group(0) @binding(8) var<storage, read_write> state: array<f32>;        // [B][H][N][N] carried
@group(0) @binding(9) var<storage, read_write> chunk_state: array<f32>;  // [B][H][chunks][N][N]
@group(0) @binding(10) var<storage, read_write> chunk_decay: array<f32>; // [B][H][chunks][N]

// Real tokens of chunk `c` of sequence `b` in this pass: positions t_first .. t_first+count−1.
fn chunk_span(b: u32, c: u32) -> vec2<u32> {
    let t_first = c * p.chunk;
    let len = seq_len(b);
    let real = min(p.tokens, select(0u, len - run.t0, len > run.t0));
    let count = min(p.chunk, select(0u, real - t_first, real > t_first));
    return vec2<u32>(t_first, count);
}

fn chunk_base(b: u32, h: u32, c: u32) -> u32 {
    return ((b * p.heads + h) * p.chunks + c) * HEAD_SIZE;
}

@compute @workgroup_size(HEAD_SIZE)
fn chunk_states(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) j: u32) {
    let h = wg.x;
    let c = wg.y;
    let b = wg.z;
    let n = HEAD_SIZE;
    let span = chunk_span(b, c);
    var s: array<f32, HEAD_SIZE>;
    for (var i = 0u; i < n; i = i + 1u) {
        s[i] = 0.0;
    }
    var log_decay = 0.0; // Σ logw[i = j] over the chunk, for D_c[j]
    let end = span.x + span.y;
    for (var t0 = span.x; t0 < end; t0 = t0 + TOKEN_BLOCK) {
        let count = min(TOKEN_BLOCK, end - t0);
        for (var tt = 0u; tt < count; tt = tt + 1u) {
            let idx = (b * p.tokens + t0 + tt) * p.dim + h * n + j;
            k_s[tt * n + j] = k[idx];
            w_s[tt * n + j] = exp(logw[idx]);
            log_decay = log_decay + logw[idx];
        }
        workgroupBarrier();
        for (var tt = 0u; tt < count; tt = tt + 1u) {
            let vj = v[(b * p.tokens + t0 + tt) * p.dim + h * n + j];
            let at = tt * n;
            for (var i = 0u; i < n; i = i + 1u) {
                s[i] = w_s[at + i] * s[i] + k_s[at + i] * vj;
            }
        }
        workgroupBarrier();
    }
    let base = chunk_base(b, h, c);
    for (var i = 0u; i < n; i = i + 1u) {
        chunk_state[(base + i) * n + j] = s[i];
    }
    chunk_decay[base + j] = exp(log_decay);
}

@compute @workgroup_size(HEAD_SIZE)
fn scan(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) j: u32) {
    let h = wg.x;
    let b = wg.y;
    let n = HEAD_SIZE;
    let s_base = (b * p.heads + h) * n * n;
    var s: array<f32, HEAD_SIZE>;
    for (var i = 0u; i < n; i = i + 1u) {
        s[i] = 0.0;
    }
    if run.load_state == 1u {
        for (var i = 0u; i < n; i = i + 1u) {
            s[i] = state[s_base + i * n + j];
        }
    }
    for (var c = 0u; c < p.chunks; c = c + 1u) {
        let base = chunk_base(b, h, c);
        for (var i = 0u; i < n; i = i + 1u) {
            let delta = chunk_state[(base + i) * n + j];
            chunk_state[(base + i) * n + j] = s[i];
            s[i] = chunk_decay[base + i] * s[i] + delta;
        }
    }
    if run.store_state == 1u {
        for (var i = 0u; i < n; i = i + 1u) {
            state[s_base + i * n + j] = s[i];
        }
    }
}

@compute @workgroup_size(COLUMN_THREADS)
fn chunk_outputs(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) q: u32) {
    let h = wg.x;
    let c = wg.y;
    let b = wg.z;
    let n = HEAD_SIZE;
    stage_u(h, q);
    let span = chunk_span(b, c);
    let base = chunk_base(b, h, c);
    var s: array<vec4<f32>, HEAD_SIZE>; // s[i] = S_start(c)[i][4q .. 4q+3]
    for (var i = 0u; i < n; i = i + 1u) {
        let at = (base + i) * n + 4u * q;
        s[i] = vec4<f32>(chunk_state[at], chunk_state[at + 1u], chunk_state[at + 2u], chunk_state[at + 3u]);
    }
    wkv_tokens(b, h, q, span.x, span.x + span.y, &s);
}
