// GELU in place, the exact (erf) form BERT uses or GPT-2's tanh form (`gelu_new`):
//
//   erf:  y = x · Φ(x) = x/2 · (1 + erf(x / √2))
//   tanh: y = x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))
//
// WGSL has no erf: Abramowitz & Stegun 7.1.26, erf(z) = 1 − (a₁s + a₂s² + a₃s³ + a₄s⁴ + a₅s⁵)·e^(−z²)
// with s = 1/(1 + 0.3275911·z) for z ≥ 0 (odd extension), |error| ≤ 1.5·10⁻⁷.

struct Params {
    count: u32,      // elements
    groups_x: u32,   // workgroups along x (the grid is 2-D above 65535 groups)
    tanh_form: u32,  // 1: the tanh form
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

fn erf(x: f32) -> f32 {
    let z = abs(x);
    let s = 1.0 / (1.0 + 0.3275911 * z);
    let poly = s * (0.254829592 + s * (-0.284496736 + s * (1.421413741 + s * (-1.453152027 + s * 1.061405429))));
    return sign(x) * (1.0 - poly * exp(-z * z));
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wg.y * p.groups_x + wg.x) * 64u + lid;
    if i >= p.count {
        return;
    }
    let x = y[i];
    if p.tanh_form == 1u {
        // tanh(z) = 1 − 2/(e^(2z) + 1), saturating without inf/inf for large |z|
        let z = 0.7978845608028654 * (x + 0.044715 * x * x * x);
        let t = 1.0 - 2.0 / (exp(2.0 * z) + 1.0);
        y[i] = 0.5 * x * (1.0 + t);
    } else {
        y[i] = 0.5 * x * (1.0 + erf(x * 0.70710678118654752));
    }
}
