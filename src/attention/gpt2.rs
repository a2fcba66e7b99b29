//! GPT-2 (Radford et al. 2019) as Hugging Face ships it (`openai-community/gpt2`):
//! `config.json` (`model_type: gpt2`) and the `GPT2Model` tensor names (`wte`, `wpe`,
//! `h.{i}.ln_1`, `attn.c_attn` fused Q|K|V, `attn.c_proj`, `ln_2`, `mlp.c_fc`, `mlp.c_proj`,
//! `ln_f`; a `transformer.` prefix, as in `GPT2LMHeadModel` files, is dropped). Its
//! `Conv1D` weights are stored `[in][out]`; they load transposed into [`Dense`].
//!
//! [`Dense`]: super::weights::Dense

use super::config::{check_heads, Activation, Family, TransformerConfig};
use super::weights::{LayerWeights, Stack, Tensors, TransformerWeights};
use crate::{Error, Result};

/// The raw JSON fields (names as Hugging Face writes them; defaults are `GPT2Config`'s).
#[derive(serde::Deserialize)]
struct Raw {
    n_layer: usize,
    n_embd: usize,
    n_head: usize,
    /// null: 4·C.
    n_inner: Option<usize>,
    vocab_size: usize,
    n_positions: usize,
    #[serde(default = "gpt2_eps")]
    layer_norm_epsilon: f64,
    #[serde(default = "gelu_new")]
    activation_function: String,
    #[serde(default = "yes")]
    scale_attn_weights: bool,
    #[serde(default)]
    scale_attn_by_inverse_layer_idx: bool,
    #[serde(default)]
    add_cross_attention: bool,
}

fn gpt2_eps() -> f64 {
    1e-5
}
fn gelu_new() -> String {
    "gelu_new".into()
}
fn yes() -> bool {
    true
}

/// Parses a GPT-2 `config.json`; variants the forward does not compute are refused.
pub fn config_from_json(path: &str, text: &str) -> Result<TransformerConfig> {
    let raw: Raw = serde_json::from_str(text)
        .map_err(|e| Error::file(path, format!("not a GPT-2 config.json: {e}")))?;
    let activation = match raw.activation_function.as_str() {
        "gelu_new" | "gelu_pytorch_tanh" => Activation::GeluTanh,
        "gelu" => Activation::GeluErf,
        other => {
            return Err(Error::file(
                path,
                format!("activation_function `{other}` is not supported (expected gelu_new)"),
            ))
        }
    };
    let unsupported = [
        (!raw.scale_attn_weights, "scale_attn_weights false"),
        (
            raw.scale_attn_by_inverse_layer_idx,
            "scale_attn_by_inverse_layer_idx",
        ),
        (raw.add_cross_attention, "add_cross_attention"),
    ];
    if let Some((_, what)) = unsupported.iter().find(|(on, _)| *on) {
        return Err(Error::file(path, format!("`{what}` is not supported")));
    }
    check_heads(path, raw.n_embd, raw.n_head)?;
    Ok(TransformerConfig {
        family: Family::Gpt2,
        n_layer: raw.n_layer,
        hidden: raw.n_embd,
        n_head: raw.n_head,
        n_kv_head: raw.n_head,
        rope_theta: 0.0,
        intermediate: raw.n_inner.unwrap_or(4 * raw.n_embd),
        vocab_size: raw.vocab_size,
        max_positions: raw.n_positions,
        type_vocab_size: 0,
        layer_norm_eps: raw.layer_norm_epsilon as f32,
        activation,
    })
}

/// Every tensor the forward reads, with its file shape (`Conv1D`: `[in][out]`).
pub fn expected_shapes(cfg: &TransformerConfig) -> Vec<(String, Vec<usize>)> {
    let (c, f) = (cfg.hidden, cfg.intermediate);
    let mut out = vec![
        ("wte.weight".to_string(), vec![cfg.vocab_size, c]),
        ("wpe.weight".to_string(), vec![cfg.max_positions, c]),
        ("ln_f.weight".to_string(), vec![c]),
        ("ln_f.bias".to_string(), vec![c]),
    ];
    for i in 0..cfg.n_layer {
        for (name, rows, cols) in [
            ("attn.c_attn", c, 3 * c),
            ("attn.c_proj", c, c),
            ("mlp.c_fc", c, f),
            ("mlp.c_proj", f, c),
        ] {
            out.push((format!("h.{i}.{name}.weight"), vec![rows, cols]));
            out.push((format!("h.{i}.{name}.bias"), vec![cols]));
        }
        for name in ["ln_1", "ln_2"] {
            out.push((format!("h.{i}.{name}.weight"), vec![c]));
            out.push((format!("h.{i}.{name}.bias"), vec![c]));
        }
    }
    out
}

/// The weights in the shared layout: `c_attn` split into Q, K, V, every `Conv1D` transposed.
pub fn weights(t: &Tensors, config: TransformerConfig) -> Result<TransformerWeights> {
    let one = |name: &str| Ok(t.conv1d(name, 1)?.remove(0));
    let layers = (0..config.n_layer)
        .map(|i| {
            let p = |s: &str| format!("h.{i}.{s}");
            let [query, key, value]: [_; 3] = t
                .conv1d(&p("attn.c_attn"), 3)?
                .try_into()
                .expect("three parts");
            Ok(LayerWeights {
                query,
                key,
                value,
                attn_output: one(&p("attn.c_proj"))?,
                attn_norm: t.norm(&p("ln_1"))?,
                ffn_in: one(&p("mlp.c_fc"))?,
                ffn_gate: None,
                ffn_out: one(&p("mlp.c_proj"))?,
                ffn_norm: t.norm(&p("ln_2"))?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TransformerWeights {
        word: t.matrix("wte.weight")?,
        position: t.matrix("wpe.weight")?,
        stack: Stack::PreLn {
            final_norm: t.norm("ln_f")?,
        },
        layers,
        config,
    })
}
