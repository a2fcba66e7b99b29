// Prelude of layer_norm.wgsl and group_norm.wgsl: the workgroup reduction and the
// normalisation statistics of one slice of a row, computed by the 64 threads of a workgroup.
// Reads the kernel's `x` (its input, `array<f32>`), so declare that under this name.

const WG: u32 = 64u;
var<workgroup> partial: array<f32, WG>;

// Sum of `v` over the 64 threads of the workgroup (every thread gets the total).
fn workgroup_sum(tid: u32, v: f32) -> f32 {
    partial[tid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if tid < s {
            partial[tid] = partial[tid] + partial[tid + s];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
}

// (mean, 1 / √(var + eps)) of x[base .. base + len), two passes (mean, then the centred
// variance, biased as torch's), each a tree reduction:
//   mean = Σ_i x[base+i] / len,   var = Σ_i (x[base+i] − mean)² / len
fn mean_inv_std(tid: u32, base: u32, len: u32, eps: f32) -> vec2<f32> {
    var s = 0.0;
    for (var i = tid; i < len; i = i + WG) {
        s = s + x[base + i];
    }
    let mean = workgroup_sum(tid, s) / f32(len);
    var q = 0.0;
    for (var i = tid; i < len; i = i + WG) {
        let d = x[base + i] - mean;
        q = q + d * d;
    }
    let variance = workgroup_sum(tid, q) / f32(len);
    return vec2<f32>(mean, 1.0 / sqrt(variance + eps));
}
