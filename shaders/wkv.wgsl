// RWKV-6 WKV recurrence, one workgroup per (sequence b, head h), token by token.
// The head's state S ∈ R^{N×N} is laid out [key i][value j]; thread q owns the columns
// S[:, 4q .. 4q+3] in registers for the whole sequence (N/4 threads, wkv_step.wgsl):
//
//   o_t[j]  = Σ_i r_t[i] · (S[i][j] + u[i] · k_t[i] · v_t[j])          u = time_faaaa[h]
//   S[i][j] ← exp(logw_t[i]) · S[i][j] + k_t[i] · v_t[j]
//
// The token step (blocks of TOKEN_BLOCK tokens staged in workgroup memory) is wkv_step.wgsl.
// The state is only read from / written to global memory at pass boundaries, when a
// sequence spans several passes. Steps stop at the sequence's real length, so the saved
// state is exact for padded batches too.
//
// Time windows: one dispatch covers the tokens [window_begin, window_begin + window_len) of
// the pass, and a pass runs ⌈T / window_len⌉ such dispatches in order, handing the state
// from one to the next through `window_state`. llvmpipe (lavapipe) ends every loop of an
// invocation silently once that invocation has made 65535 loop iterations in all
// (LP_MAX_TGSI_LOOP_ITERATIONS in Mesa's gallivm): a single dispatch over ~960 tokens of a
// 64-wide head would stop its recurrence there and return wrong outputs for every later
// token. window_len keeps each invocation far below that budget (kernels/wkv.rs).
// Prepend `const HEAD_SIZE: u32 = N; const TOKEN_BLOCK: u32 = ..;`, run.wgsl and wkv_step.wgsl.
// Bindings: kernels::bindings::wkv (Rust); Params and bindings 0–6 are wkv_step.wgsl's,
// the state buffers below this kernel's own.

@group(0) @binding(8) var<storage, read_write> state: array<f32>;        // [H][N][N] carried between passes
@group(0) @binding(9) var<storage, read_write> window_state: array<f32>; // [B][H][N][N] between windows

@compute @workgroup_size(COLUMN_THREADS)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) q: u32) {
    let h = wg.x;
    let b = wg.y;
    let n = HEAD_SIZE;
    // this sequence's real tokens in the pass, and the part of them in this window
    let len = seq_len(b);
    let steps = min(p.tokens, select(0u, len - run.t0, len > run.t0));
    let begin = p.window_begin;
    if begin >= steps {
        return; // the sequence ended in an earlier window (its state was stored there)
    }
    let end = min(steps, begin + p.window_len);
    stage_u(h, q);
    var s: array<vec4<f32>, HEAD_SIZE>; // s[i] = S[i][4q .. 4q+3]
    for (var i = 0u; i < n; i = i + 1u) {
        s[i] = vec4<f32>(0.0);
    }
    let carried = h * n * n + 4u * q;                  // this head in `state` (one sequence)
    let handed = (b * p.heads + h) * n * n + 4u * q;   // this sequence and head in `window_state`
    if begin > 0u {
        for (var i = 0u; i < n; i = i + 1u) {
            let at = handed + i * n;
            s[i] = vec4<f32>(window_state[at], window_state[at + 1u], window_state[at + 2u], window_state[at + 3u]);
        }
    } else if run.load_state == 1u {
        for (var i = 0u; i < n; i = i + 1u) {
            let at = carried + i * n;
            s[i] = vec4<f32>(state[at], state[at + 1u], state[at + 2u], state[at + 3u]);
        }
    }
    wkv_tokens(b, h, q, begin, end, &s);
    for (var i = 0u; i < n; i = i + 1u) {
        for (var e = 0u; e < 4u; e = e + 1u) {
            if end < steps {
                window_state[handed + i * n + e] = s[i][e];
            } else if run.store_state == 1u {
                state[carried + i * n + e] = s[i][e];
            }
        }
    }
}
