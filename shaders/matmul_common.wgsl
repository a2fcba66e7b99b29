// Shared part of the matmul kernels: parameters, activations and the fused epilogue.
//
//   acc[m][n] = Σ_k X[m][k] · W[n][k]                      X: [M][K] activations, W: [N][K] weights
//   v         = act(acc)   act ∈ {identity, tanh, SiLU v·σ(v), sigmoid σ(v), squared ReLU max(v,0)²}
//   mode 0:  Y[m][n_offset+n]  = v                        (projection)
//   mode 1:  Y[m][n_offset+n] += v                        (residual add: x += y @ Wᵀ)
//   mode 2:  Y[m][n_offset+n] += aux[m][n_offset+n] · v   (channel-mix: x += σ(r) ⊙ (k @ Wvᵀ))
//
// `n_offset` lets a weight split into row blocks (to respect the storage-binding size
// limit) write its own column range of Y. K must be a multiple of 4.

struct Params {
    m: u32,          // rows of X and Y (tokens)
    n: u32,          // rows of this weight block (output columns it produces)
    k4: u32,         // K / 4
    n_offset: u32,   // first Y column of this block
    y_stride: u32,   // row length of Y (and aux)
    act: u32,        // 0 identity, 1 tanh, 2 silu, 3 sigmoid, 4 relu²
    mode: u32,       // 0 store, 1 add, 2 gated add
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read> aux: array<f32>;

fn sigmoid(v: f32) -> f32 {
    return 1.0 / (1.0 + exp(-v));
}

fn activate(v: f32) -> f32 {
    switch p.act {
        // tanh saturates to ±1 in f32 beyond |v| = 9; clamping avoids NaN from some drivers' tanh
        case 1u: { return tanh(clamp(v, -15.0, 15.0)); }
        case 2u: { return v * sigmoid(v); }
        case 3u: { return sigmoid(v); }
        case 4u: { let r = max(v, 0.0); return r * r; }
        default: { return v; }
    }
}

fn store(m: u32, n: u32, acc: f32) {
    if m >= p.m || n >= p.n {
        return;
    }
    let i = m * p.y_stride + p.n_offset + n;
    let v = activate(acc);
    switch p.mode {
        case 1u: { y[i] = y[i] + v; }
        case 2u: { y[i] = y[i] + aux[i] * v; }
        default: { y[i] = v; }
    }
}
