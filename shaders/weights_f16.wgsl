// Weight access for the matmul kernels, f16 storage packed two per u32 (no shader-f16 needed):
// W is [N][K] row-major; u32 number i holds W[2i] in its low half and W[2i+1] in its high half.
// The maths stays f32: load_w4(n, kk, k4) = f32(W[n][4·kk .. 4·kk+3]) via unpack2x16float.

@group(0) @binding(2) var<storage, read> w: array<vec2<u32>>;

fn load_w4(n: u32, kk: u32, k4: u32) -> vec4<f32> {
    let q = w[n * k4 + kk];
    return vec4<f32>(unpack2x16float(q.x), unpack2x16float(q.y));
}
