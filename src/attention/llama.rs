//! Llama (Touvron et al. 2023) as Hugging Face ships it (`HuggingFaceTB/SmolLM2-135M`,
//! `LlamaForCausalLM`): `config.json` (`model_type: llama`) and the `LlamaModel` tensor names
//! (`embed_tokens`, `layers.{i}.input_layernorm`, `self_attn.{q,k,v,o}_proj`,
//! `post_attention_layernorm`, `mlp.{gate,up,down}_proj`, `norm`; a `model.` prefix, as in
//! `LlamaForCausalLM` files, is dropped). Every projection is a bias-free `nn.Linear`
//! `[out][in]`; K and V have H_kv heads (grouped-query attention). No position table:
//! RoPE rotates Q and K by the position (`forward::rope`).

use super::config::{check_heads, Activation, Family, TransformerConfig};
use super::weights::{Dense, LayerWeights, Norm, Stack, Tensors, TransformerWeights};
use crate::reference::ops::Matrix;
use crate::{Error, Result};

/// The raw JSON fields (names as Hugging Face writes them; defaults are `LlamaConfig`'s).
#[derive(serde::Deserialize)]
struct Raw {
    num_hidden_layers: usize,
    hidden_size: usize,
    num_attention_heads: usize,
    /// null or absent: H (no grouping).
    num_key_value_heads: Option<usize>,
    intermediate_size: usize,
    vocab_size: usize,
    #[serde(default = "llama_positions")]
    max_position_embeddings: usize,
    #[serde(default = "llama_eps")]
    rms_norm_eps: f64,
    #[serde(default = "silu")]
    hidden_act: String,
    /// transformers < 5 writes `rope_theta` and `rope_scaling`; 5 writes `rope_parameters`.
    rope_theta: Option<f64>,
    #[serde(default)]
    rope_scaling: Option<serde_json::Value>,
    #[serde(default)]
    rope_parameters: Option<RopeParameters>,
    head_dim: Option<usize>,
    #[serde(default)]
    attention_bias: bool,
    #[serde(default)]
    mlp_bias: bool,
}

#[derive(serde::Deserialize)]
struct RopeParameters {
    rope_theta: Option<f64>,
    rope_type: Option<String>,
}

fn llama_positions() -> usize {
    2048
}
fn llama_eps() -> f64 {
    1e-6
}
fn silu() -> String {
    "silu".into()
}

/// Parses a Llama `config.json`; variants the forward does not compute are refused.
pub fn config_from_json(path: &str, text: &str) -> Result<TransformerConfig> {
    let raw: Raw = serde_json::from_str(text)
        .map_err(|e| Error::file(path, format!("not a Llama config.json: {e}")))?;
    if raw.hidden_act != "silu" {
        return Err(Error::file(
            path,
            format!(
                "hidden_act `{}` is not supported (expected silu)",
                raw.hidden_act
            ),
        ));
    }
    let rope_theta = rope_theta(path, &raw)?;
    let (c, h) = (raw.hidden_size, raw.num_attention_heads);
    check_heads(path, c, h)?;
    let kv = raw.num_key_value_heads.unwrap_or(h);
    if kv == 0 || !h.is_multiple_of(kv) {
        return Err(Error::file(
            path,
            format!("num_key_value_heads {kv} does not divide num_attention_heads {h}"),
        ));
    }
    if raw.head_dim.is_some_and(|d| d * h != c) {
        return Err(Error::file(
            path,
            format!(
                "head_dim {:?} is not hidden_size / num_attention_heads",
                raw.head_dim
            ),
        ));
    }
    Ok(TransformerConfig {
        family: Family::Llama,
        n_layer: raw.num_hidden_layers,
        hidden: c,
        n_head: h,
        n_kv_head: kv,
        rope_theta,
        intermediate: raw.intermediate_size,
        vocab_size: raw.vocab_size,
        max_positions: raw.max_position_embeddings,
        type_vocab_size: 0,
        layer_norm_eps: raw.rms_norm_eps as f32,
        activation: Activation::SwiGlu,
    })
}

/// RoPE's base θ (`rope_parameters.rope_theta`, else `rope_theta`, else 10⁴); biases and
/// scaled RoPE variants are refused.
fn rope_theta(path: &str, raw: &Raw) -> Result<f32> {
    let rope_type = raw
        .rope_parameters
        .as_ref()
        .and_then(|r| r.rope_type.clone());
    if let Some(t) = rope_type.filter(|t| t != "default") {
        return Err(Error::file(
            path,
            format!("rope_type `{t}` is not supported (expected default)"),
        ));
    }
    let unsupported = [
        (raw.attention_bias, "attention_bias"),
        (raw.mlp_bias, "mlp_bias"),
        (
            raw.rope_scaling.as_ref().is_some_and(|v| !v.is_null()),
            "rope_scaling",
        ),
    ];
    if let Some((_, what)) = unsupported.iter().find(|(on, _)| *on) {
        return Err(Error::file(path, format!("`{what}` is not supported")));
    }
    let theta = (raw.rope_parameters.as_ref().and_then(|r| r.rope_theta)).or(raw.rope_theta);
    Ok(theta.unwrap_or(10000.0) as f32)
}

/// Every tensor the forward reads, with its shape (`nn.Linear`: `[out][in]`).
pub fn expected_shapes(cfg: &TransformerConfig) -> Vec<(String, Vec<usize>)> {
    let (c, f, kv) = (cfg.hidden, cfg.intermediate, cfg.kv_width());
    let mut out = vec![
        ("embed_tokens.weight".to_string(), vec![cfg.vocab_size, c]),
        ("norm.weight".to_string(), vec![c]),
    ];
    for i in 0..cfg.n_layer {
        for (name, rows, cols) in [
            ("self_attn.q_proj", c, c),
            ("self_attn.k_proj", kv, c),
            ("self_attn.v_proj", kv, c),
            ("self_attn.o_proj", c, c),
            ("mlp.gate_proj", f, c),
            ("mlp.up_proj", f, c),
            ("mlp.down_proj", c, f),
        ] {
            out.push((format!("layers.{i}.{name}.weight"), vec![rows, cols]));
        }
        for name in ["input_layernorm", "post_attention_layernorm"] {
            out.push((format!("layers.{i}.{name}.weight"), vec![c]));
        }
    }
    out
}

/// The RoPE frequencies `θ^(−2i/d)`, i < d/2, computed in f32 as `transformers`' default
/// rotary embedding does (`1 / base ** (arange(0, d, 2).float() / d)`).
pub fn rope_inv_freq(cfg: &TransformerConfig) -> Vec<f32> {
    let d = cfg.head_size();
    (0..d / 2)
        .map(|i| 1.0 / cfg.rope_theta.powf((2 * i) as f32 / d as f32))
        .collect()
}

/// The weights in the shared layout: zero biases (Llama has none), RMSNorm weights with
/// zero biases, no position table.
pub fn weights(t: &Tensors, config: TransformerConfig) -> Result<TransformerWeights> {
    let linear = |name: &str| -> Result<Dense> {
        let weight = t.matrix(&format!("{name}.weight"))?;
        let bias = vec![0.0; weight.rows];
        Ok(Dense { weight, bias })
    };
    let rms = |name: &str| -> Result<Norm> {
        let weight = t.values(&format!("{name}.weight"))?;
        let bias = vec![0.0; weight.len()];
        Ok(Norm { weight, bias })
    };
    let layers = (0..config.n_layer)
        .map(|i| {
            let p = |s: &str| format!("layers.{i}.{s}");
            Ok(LayerWeights {
                query: linear(&p("self_attn.q_proj"))?,
                key: linear(&p("self_attn.k_proj"))?,
                value: linear(&p("self_attn.v_proj"))?,
                attn_output: linear(&p("self_attn.o_proj"))?,
                attn_norm: rms(&p("input_layernorm"))?,
                ffn_in: linear(&p("mlp.up_proj"))?,
                ffn_gate: Some(linear(&p("mlp.gate_proj"))?),
                ffn_out: linear(&p("mlp.down_proj"))?,
                ffn_norm: rms(&p("post_attention_layernorm"))?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TransformerWeights {
        word: t.matrix("embed_tokens.weight")?,
        position: Matrix::new(0, config.hidden, Vec::new()),
        stack: Stack::PreLn {
            final_norm: rms("norm")?,
        },
        layers,
        config,
    })
}
