// LayerNorm over each row (token) of C channels, eps = 1e-5 (ln0, ln1, ln2):
//
//   mean_t  = Σ_c x[t][c] / C
//   var_t   = Σ_c (x[t][c] − mean_t)² / C                      (biased, as torch)
//   y[t][c] = (x[t][c] − mean_t) / √(var_t + eps) · weight[c] + bias[c]
//
// One workgroup of 64 threads per row; the statistics come from norm_common.wgsl and a
// reduction prelude, the Params, bindings and entry point from row_norm.wgsl (all
// prepended; kernels::Kernel::source).

fn normalize_row(l: Lanes, base: u32) {
    let stats = mean_inv_std(l, base, p.dim, p.eps);
    for (var c = l.tid; c < p.dim; c = c + WG) {
        let n = (x[base + c] - stats.x) * stats.y;
        y[base + c] = n * vecs[p.weight_off + c] + vecs[p.bias_off + c];
    }
}
