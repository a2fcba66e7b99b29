//! The equations of one RWKV-6 time-mix, each paired with the line of the plain-Rust
//! reference that computes it: the side panel of the browser's Recurrence view, and a
//! checked index for `docs/recurrence.md`. The sources are embedded, so the line numbers
//! are found at run time and cannot go stale (a test checks every fragment is found once).

/// One equation and the code that computes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Equation {
    /// A short label.
    pub name: &'static str,
    /// The maths, plain Unicode.
    pub math: &'static str,
    /// The source file, relative to the repository root.
    pub file: &'static str,
    /// An exact fragment of that file: the line that computes it.
    pub code: &'static str,
}

const fn eq(
    name: &'static str,
    math: &'static str,
    file: &'static str,
    code: &'static str,
) -> Equation {
    Equation {
        name,
        math,
        file,
        code,
    }
}

const TIME_MIX: &str = "src/reference/time_mix.rs";
const WKV: &str = "src/reference/wkv.rs";
const CHUNKED: &str = "src/reference/chunked.rs";
const TRACE: &str = "src/trace/compute.rs";

/// In the order of the computation.
pub const EQUATIONS: &[Equation] = &[
    eq(
        "LayerNorm",
        "xx = LN1(x)",
        TIME_MIX,
        "let xx = layer_norm_rows(x, &ln1.weight, &ln1.bias, LN_EPS);",
    ),
    eq(
        "token shift",
        "sx_t = xx_{t−1}  (0 before the first token)",
        TIME_MIX,
        "sx[(start + 1) * c..(start + len) * c]",
    ),
    eq(
        "mix amount",
        "a_∗ = μ_∗ + tanh((xx + (sx−xx)·μx) W1) W2[∗]",
        TIME_MIX,
        "(0..n * c).map(|i| att.maa[j][i % c] + m[i]).collect()",
    ),
    eq(
        "ddlerp",
        "x_∗ = xx + (sx − xx)·a_∗",
        TIME_MIX,
        "(0..a.len()).map(|i| xx[i] + d[i] * a[i])",
    ),
    eq(
        "receptance",
        "r = x_r W_rᵀ",
        TIME_MIX,
        "r: linear(&xr, n, &att.receptance),",
    ),
    eq(
        "key",
        "k = x_k W_kᵀ",
        TIME_MIX,
        "k: linear(&xk, n, &att.key),",
    ),
    eq(
        "value",
        "v = x_v W_vᵀ",
        TIME_MIX,
        "v: linear(&xv, n, &att.value),",
    ),
    eq(
        "gate",
        "g = SiLU(x_g W_gᵀ)",
        TIME_MIX,
        "g: linear(&xg, n, &att.gate).into_iter().map(silu).collect(),",
    ),
    eq(
        "log-decay",
        "log w = −exp(time_decay + tanh(x_w D1) D2)",
        TIME_MIX,
        ".map(|i| -(att.decay[i % c] + lora[i]).exp())",
    ),
    eq(
        "decay",
        "w = exp(log w) ∈ (0, 1]",
        WKV,
        "let (ri, ki, wi) = (self.r[i], self.k[i], self.log_w[i].exp());",
    ),
    eq(
        "half-life",
        "h = ln ½ / log w  (tokens)",
        TRACE,
        "std::f32::consts::LN_2 / -log_w",
    ),
    eq("write", "k vᵀ", WKV, "let kv = ki * self.v[j];"),
    eq(
        "read-out",
        "o = rᵀ (S + diag(u) k vᵀ)",
        WKV,
        "out[j] += ri * (u[i] * kv + row[j]);",
    ),
    eq(
        "state update",
        "S ← diag(w) S + k vᵀ",
        WKV,
        "row[j] = kv + wi * row[j];",
    ),
    eq(
        "influence",
        "r_t · (Π_{s=i+1}^{t−1} w_s ⊙ k_i)",
        TRACE,
        "out.push((i, score(&decay, &then.k)));",
    ),
    eq(
        "chunk: intra",
        "A[j][i] = Σ_n r_j k_i e^{cum_{j−1} − cum_i}",
        CHUNKED,
        "a[j * l + i] = (0..n).map(|m| rj[m] * ki[m] * seg[m].exp()).sum();",
    ),
    eq(
        "chunk: bonus",
        "A[j][j] = r_j · (u ⊙ k_j)",
        CHUNKED,
        "a[j * l + j] = (0..n).map(|m| rj[m] * u[m] * kj[m]).sum();",
    ),
    eq(
        "chunk: inherited",
        "(r_j ⊙ e^{cum_{j−1}})ᵀ S₀",
        CHUNKED,
        "let coef = self.r[j * n + key] * inherit[j * n + key].exp();",
    ),
    eq(
        "GroupNorm",
        "y = GroupNorm_H(o), eps 64e-5",
        TIME_MIX,
        "let y = group_norm_rows(&o, heads, &att.ln_x.weight, &att.ln_x.bias, LN_X_EPS);",
    ),
    eq(
        "gate × output",
        "out = (y ⊙ g) W_oᵀ",
        TIME_MIX,
        "linear(&gated, n, &att.output),",
    ),
];

/// The embedded text of a file named in [`EQUATIONS`].
pub fn source(file: &str) -> Option<&'static str> {
    match file {
        TIME_MIX => Some(include_str!("../reference/time_mix.rs")),
        WKV => Some(include_str!("../reference/wkv.rs")),
        CHUNKED => Some(include_str!("../reference/chunked.rs")),
        TRACE => Some(include_str!("compute.rs")),
        _ => None,
    }
}

/// The 1-based line of the equation's code in its embedded source.
pub fn line(e: &Equation) -> Option<usize> {
    let text = source(e.file)?;
    let at = text.find(e.code)?;
    Some(text[..at].matches('\n').count() + 1)
}
