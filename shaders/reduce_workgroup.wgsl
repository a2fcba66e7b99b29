// Prelude of the norms (norm_common.wgsl), for adapters without subgroup operations:
// the sum of one value per thread over the workgroup, as a tree in workgroup memory
// (log₂ 64 = 6 halving steps, one barrier each):
//
//   total = Σ_{tid < WG} v[tid]        (every thread gets it)

// The invocation ids a reduction needs (the kernel's entry takes `l: Lanes`).
struct Lanes {
    @builtin(local_invocation_index) tid: u32,
}

fn workgroup_sum(l: Lanes, v: f32) -> f32 {
    partial[l.tid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if l.tid < s {
            partial[l.tid] = partial[l.tid] + partial[l.tid + s];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
}
