// Prelude of ddlerp.wgsl and decay.wgsl: a LoRA up-projection for a block of 4 rows × 4
// channels per thread (the loads of `lora` are shared by the 4 channels, those of `w2` by
// the 4 rows: 8 loaded numbers per 16 multiply-adds, where one output per thread loaded 2
// per multiply-add, which is what costs on CPU adapters):
//
//   up[i][e] = Σ_r lora[row0 + i][base + r] · w2[w2_base + r·C + c0 + e]     i, e = 0..3
//
// lora is [rows][stride], w2 [rank][C] (C = p.dim, a multiple of 4 as the matmul requires).
// Rows past `rows` are clamped on load (their sums are never stored). Reads the kernel's
// `p.dim`, `lora` and `w2`; column i of the result is row row0 + i.

const BLOCK_ROWS: u32 = 4u;

fn lora_up(row0: u32, rows: u32, c0: u32, stride: u32, base: u32, rank: u32, w2_base: u32) -> mat4x4<f32> {
    let last = rows - 1u;
    let l0 = min(row0, last) * stride + base;
    let l1 = min(row0 + 1u, last) * stride + base;
    let l2 = min(row0 + 2u, last) * stride + base;
    let l3 = min(row0 + 3u, last) * stride + base;
    var up = mat4x4<f32>();
    for (var r = 0u; r < rank; r = r + 1u) {
        let at = w2_base + r * p.dim + c0;
        let w = vec4<f32>(w2[at], w2[at + 1u], w2[at + 2u], w2[at + 3u]);
        up[0] = up[0] + lora[l0 + r] * w;
        up[1] = up[1] + lora[l1 + r] * w;
        up[2] = up[2] + lora[l2 + r] * w;
        up[3] = up[3] + lora[l3 + r] * w;
    }
    return up;
}
