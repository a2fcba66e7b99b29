// Weight access for the matmul kernels, NF4 block-quantized (src/model/quant.rs):
// W is [N][K], each row stored as ⌈K/8⌉ code words then ⌈K/64⌉ f32 scale words:
//
//   word j of the codes: bits 4i..4i+3 = code c of W[n][8j+i] (an index into NF4)
//   scale word g       = absmax of W[n][64g .. 64g+63]
//   load_w4(n, kk, k4) = W[n][4·kk .. 4·kk+3] = NF4[c] · scale[kk / 16]
//
// NF4 is QLoRA's 4-bit NormalFloat: 16 quantiles of N(0,1) scaled to [−1, 1].

@group(0) @binding(2) var<storage, read> w: array<u32>;

var<private> NF4: array<f32, 16> = array<f32, 16>(
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0);

fn load_w4(n: u32, kk: u32, k4: u32) -> vec4<f32> {
    let row = n * ((k4 + 1u) / 2u + (k4 + 15u) / 16u);
    let scale = bitcast<f32>(w[row + (k4 + 1u) / 2u + kk / 16u]);
    let codes = w[row + kk / 2u] >> ((kk & 1u) * 16u);
    return vec4<f32>(NF4[codes & 15u], NF4[(codes >> 4u) & 15u],
                     NF4[(codes >> 8u) & 15u], NF4[(codes >> 12u) & 15u]) * scale;
}
