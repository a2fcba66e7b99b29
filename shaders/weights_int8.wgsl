// Weight access for the matmul kernels, int8 block-quantized (src/model/quant.rs):
// W is [N][K], each row stored as ⌈K/4⌉ code words then ⌈K/64⌉ f32 scale words:
//
//   word j of the codes: byte i = code q of W[n][4j+i] (two's complement, −127..127)
//   scale word g       = absmax of W[n][64g .. 64g+63]
//   load_w4(n, kk, k4) = W[n][4·kk .. 4·kk+3] = unpack4x8snorm(codes[kk]) · scale[kk / 16]
//
// unpack4x8snorm gives max(q/127, −1) per byte (no shader-f16 or 8-bit storage needed).

@group(0) @binding(2) var<storage, read> w: array<u32>;

fn load_w4(n: u32, kk: u32, k4: u32) -> vec4<f32> {
    let row = n * (k4 + (k4 + 15u) / 16u);
    let scale = bitcast<f32>(w[row + k4 + kk / 16u]);
    return unpack4x8snorm(w[row + kk]) * scale;
}
