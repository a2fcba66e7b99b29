// Weight access for the matmul kernels, f32 storage: W is [N][K] row-major (nn.Linear layout),
// read four consecutive k at a time.  load_w4(n, kk, k4) = W[n][4·kk .. 4·kk+3].

@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;

fn load_w4(n: u32, kk: u32, k4: u32) -> vec4<f32> {
    return w[n * k4 + kk];
}
