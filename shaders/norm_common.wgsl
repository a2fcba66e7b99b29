// Prelude of the norms (layer_norm.wgsl, rms_norm.wgsl, group_norm.wgsl): the normalisation statistics of one slice
// of a row, computed by the 64 threads of a workgroup. `workgroup_sum` and `Lanes` come from
// the reduction prelude before this one (reduce_workgroup.wgsl or reduce_subgroup.wgsl).
// Reads the kernel's `x` (its input, `array<f32>`), so declare that under this name.

const WG: u32 = 64u;
var<workgroup> partial: array<f32, WG>;

// (mean, 1 / √(var + eps)) of x[base .. base + len), two passes (mean, then the centred
// variance, biased as torch's), each one workgroup sum:
//   mean = Σ_i x[base+i] / len,   var = Σ_i (x[base+i] − mean)² / len
fn mean_inv_std(l: Lanes, base: u32, len: u32, eps: f32) -> vec2<f32> {
    var s = 0.0;
    for (var i = l.tid; i < len; i = i + WG) {
        s = s + x[base + i];
    }
    let mean = workgroup_sum(l, s) / f32(len);
    var q = 0.0;
    for (var i = l.tid; i < len; i = i + WG) {
        let d = x[base + i] - mean;
        q = q + d * d;
    }
    let variance = workgroup_sum(l, q) / f32(len);
    return vec2<f32>(mean, 1.0 / sqrt(variance + eps));
}
