// RMSNorm over each row (token) of C channels (Llama's input_layernorm,
// post_attention_layernorm and final norm; Zhang & Sennrich 2019):
//
//   ms_t    = Σ_c x[t][c]² / C
//   y[t][c] = x[t][c] / √(ms_t + eps) · weight[c]               (no centring, no bias)
//
// One workgroup of 64 threads per row; the sum is the reduction prelude's workgroup_sum,
// the Params, bindings and entry point those of row_norm.wgsl, shared with
// layer_norm.wgsl (`bias_off` unused), so `LayerNormOp` drives both (all prepended;
// kernels::Kernel::source).

fn normalize_row(l: Lanes, base: u32) {
    var s = 0.0;
    for (var c = l.tid; c < p.dim; c = c + WG) {
        s = s + x[base + c] * x[base + c];
    }
    let inv = 1.0 / sqrt(workgroup_sum(l, s) / f32(p.dim) + p.eps);
    for (var c = l.tid; c < p.dim; c = c + WG) {
        y[base + c] = x[base + c] * inv * vecs[p.weight_off + c];
    }
}
