// Prelude of the norms (norm_common.wgsl), for adapters with subgroup operations
// (Features::SUBGROUP): the same workgroup sum with two barriers instead of eight.
// Every subgroup (S lanes, S a power of two) sums all WG partial values itself, lane j
// taking partial[j], partial[j + S], …, then `subgroupAdd` over its lanes:
//
//   total = Σ_{j < S} Σ_{i ≡ j (mod S), i < WG} v[i] = Σ_{tid < WG} v[tid]
//
// No assumption on which invocations form a subgroup (only that a subgroup's lanes are
// 0..S−1, all active here: the call sites are in uniform control flow).

struct Lanes {
    @builtin(local_invocation_index) tid: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(subgroup_size) size: u32,
}

fn workgroup_sum(l: Lanes, v: f32) -> f32 {
    partial[l.tid] = v;
    workgroupBarrier();
    var s = 0.0;
    for (var i = l.lane; i < WG; i = i + l.size) {
        s = s + partial[i];
    }
    let total = subgroupAdd(s);
    workgroupBarrier();
    return total;
}
