//! The dimensions of an attention model (a BERT-family encoder, a GPT-2 or a Llama decoder),
//! read from its Hugging Face `config.json` and checked against the tensor shapes (the shapes
//! must agree with the file). GPT-2's and Llama's own fields are read in `gpt2.rs`, `llama.rs`.

use std::collections::BTreeMap;

use crate::model::{Architecture, Config, Tensor};
use crate::{Error, Result};

/// The activation of the feed-forward block (`hidden_act`, `activation_function`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Activation {
    /// `gelu`: the exact form `x · Φ(x) = x/2 · (1 + erf(x/√2))` (BERT).
    GeluErf,
    /// `gelu_new`: the tanh form `x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))` (GPT-2).
    GeluTanh,
    /// `silu` in a gated unit (SwiGLU, Llama): `SiLU(a W_gateᵀ) ⊙ (a W_upᵀ)`,
    /// `SiLU(x) = x · σ(x)`.
    SwiGlu,
}

/// Which Transformer stack: it fixes the mask, where the LayerNorms sit and the tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Family {
    /// `model_type: bert`: bidirectional (padding mask only), post-LN, an embedding LayerNorm.
    Bert,
    /// `model_type: gpt2`: causal, pre-LN, `ln_f` on the last layer's output.
    Gpt2,
    /// `model_type: llama`: causal, pre-RMSNorm, rotary positions (RoPE), grouped-query
    /// attention, SwiGLU; `norm` on the last layer's output.
    Llama,
}

impl Family {
    /// `BERT encoder`, `GPT-2 decoder`.
    pub fn describe(self) -> &'static str {
        match self {
            Family::Bert => "BERT encoder",
            Family::Gpt2 => "GPT-2 decoder",
            Family::Llama => "Llama decoder",
        }
    }
    /// Whether a query sees only keys at or before its position.
    pub fn causal(self) -> bool {
        self != Family::Bert
    }
    /// Whether its norms are RMSNorms (`x / √(mean x² + ε) · γ`) rather than LayerNorms.
    pub fn rms_norm(self) -> bool {
        self == Family::Llama
    }
}

/// `config.json` of a `BertModel`, `GPT2Model` or `LlamaModel` (only the fields the forward
/// pass reads).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TransformerConfig {
    pub family: Family,
    /// Layers L (`num_hidden_layers`, `n_layer`).
    pub n_layer: usize,
    /// Width C (`hidden_size`).
    pub hidden: usize,
    /// Heads H (`num_attention_heads`); head size d = C / H.
    pub n_head: usize,
    /// Key/value heads H_kv (`num_key_value_heads`; = H but in grouped-query attention,
    /// where query head h reads key/value head h / (H / H_kv)).
    pub n_kv_head: usize,
    /// RoPE base θ (`rope_theta`; Llama only, 0 for learned positions).
    pub rope_theta: f32,
    /// Feed-forward width F (`intermediate_size`).
    pub intermediate: usize,
    /// Word-piece vocabulary V.
    pub vocab_size: usize,
    /// Positions P (`max_position_embeddings`, `n_positions`): the longest input (learned
    /// rows in BERT and GPT-2; RoPE's trained context in Llama).
    pub max_positions: usize,
    /// Token-type (segment) rows; every sentence here is segment 0 (0 in GPT-2).
    pub type_vocab_size: usize,
    /// ε of every LayerNorm or RMSNorm (`layer_norm_eps`, 1e-12 in BERT; 1e-5 in GPT-2;
    /// `rms_norm_eps` in Llama).
    pub layer_norm_eps: f32,
    pub activation: Activation,
}

/// The raw JSON fields (names as Hugging Face writes them).
#[derive(serde::Deserialize)]
struct Raw {
    num_hidden_layers: usize,
    hidden_size: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    vocab_size: usize,
    max_position_embeddings: usize,
    #[serde(default = "two")]
    type_vocab_size: usize,
    #[serde(default = "bert_eps")]
    layer_norm_eps: f64,
    #[serde(default = "gelu")]
    hidden_act: String,
    #[serde(default = "absolute")]
    position_embedding_type: String,
}

fn two() -> usize {
    2
}
fn bert_eps() -> f64 {
    1e-12
}
fn gelu() -> String {
    "gelu".into()
}
fn absolute() -> String {
    "absolute".into()
}

#[derive(serde::Deserialize)]
struct ModelType {
    model_type: Option<String>,
}

impl TransformerConfig {
    /// Parses `config.json` text (`model_type` `bert`, or none, or `gpt2`); `path` names
    /// the file in errors.
    pub fn from_json(path: &str, text: &str) -> Result<TransformerConfig> {
        let kind: ModelType = serde_json::from_str(text)
            .map_err(|e| Error::file(path, format!("not a config.json: {e}")))?;
        match kind.model_type.as_deref() {
            Some("bert") | None => Self::bert_from_json(path, text),
            Some("gpt2") => super::gpt2::config_from_json(path, text),
            Some("llama") => super::llama::config_from_json(path, text),
            Some(other) => Err(Error::file(
                path,
                format!("model_type `{other}` is not supported (expected bert, gpt2 or llama)"),
            )),
        }
    }

    fn bert_from_json(path: &str, text: &str) -> Result<TransformerConfig> {
        let raw: Raw = serde_json::from_str(text)
            .map_err(|e| Error::file(path, format!("not a BERT config.json: {e}")))?;
        let activation = match raw.hidden_act.as_str() {
            "gelu" => Activation::GeluErf,
            other => {
                return Err(Error::file(
                    path,
                    format!("hidden_act `{other}` is not supported (expected gelu)"),
                ))
            }
        };
        if raw.position_embedding_type != "absolute" {
            return Err(Error::file(
                path,
                format!(
                    "position_embedding_type `{}` is not supported (expected absolute)",
                    raw.position_embedding_type
                ),
            ));
        }
        check_heads(path, raw.hidden_size, raw.num_attention_heads)?;
        Ok(TransformerConfig {
            family: Family::Bert,
            n_layer: raw.num_hidden_layers,
            hidden: raw.hidden_size,
            n_head: raw.num_attention_heads,
            n_kv_head: raw.num_attention_heads,
            rope_theta: 0.0,
            intermediate: raw.intermediate_size,
            vocab_size: raw.vocab_size,
            max_positions: raw.max_position_embeddings,
            type_vocab_size: raw.type_vocab_size,
            layer_norm_eps: raw.layer_norm_eps as f32,
            activation,
        })
    }

    /// Head size d = C / H.
    pub fn head_size(&self) -> usize {
        self.hidden / self.n_head
    }

    /// The shared model description the [`crate::embed::Engine`] trait hands out.
    pub fn summary(&self) -> Config {
        Config {
            arch: match self.family {
                Family::Bert => Architecture::Bert,
                Family::Gpt2 => Architecture::Gpt2,
                Family::Llama => Architecture::Llama,
            },
            n_layer: self.n_layer,
            n_embd: self.hidden,
            n_head: self.n_head,
            head_size: self.head_size(),
            ffn_dim: self.intermediate,
            vocab_size: self.vocab_size,
        }
    }

    /// Every tensor the forward pass reads (Hugging Face `BertModel`, `GPT2Model` or
    /// `LlamaModel` names), with its shape.
    pub fn expected_shapes(&self) -> Vec<(String, Vec<usize>)> {
        match self.family {
            Family::Bert => self.bert_shapes(),
            Family::Gpt2 => super::gpt2::expected_shapes(self),
            Family::Llama => super::llama::expected_shapes(self),
        }
    }

    fn bert_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (c, f) = (self.hidden, self.intermediate);
        let mut out = vec![
            (
                "embeddings.word_embeddings.weight".into(),
                vec![self.vocab_size, c],
            ),
            (
                "embeddings.position_embeddings.weight".into(),
                vec![self.max_positions, c],
            ),
            (
                "embeddings.token_type_embeddings.weight".into(),
                vec![self.type_vocab_size, c],
            ),
            ("embeddings.LayerNorm.weight".into(), vec![c]),
            ("embeddings.LayerNorm.bias".into(), vec![c]),
        ];
        for i in 0..self.n_layer {
            let p = |s: &str| format!("encoder.layer.{i}.{s}");
            for (name, rows, cols) in [
                ("attention.self.query", c, c),
                ("attention.self.key", c, c),
                ("attention.self.value", c, c),
                ("attention.output.dense", c, c),
                ("intermediate.dense", f, c),
                ("output.dense", c, f),
            ] {
                out.push((p(&format!("{name}.weight")), vec![rows, cols]));
                out.push((p(&format!("{name}.bias")), vec![rows]));
            }
            for name in ["attention.output.LayerNorm", "output.LayerNorm"] {
                out.push((p(&format!("{name}.weight")), vec![c]));
                out.push((p(&format!("{name}.bias")), vec![c]));
            }
        }
        out
    }

    /// Width of K and V: H_kv · d.
    pub fn kv_width(&self) -> usize {
        self.n_kv_head * self.head_size()
    }

    /// Checks that sequence `s` fits the positions and the vocabulary.
    pub fn check_sequence(&self, s: usize, seq: &[u32]) -> Result<()> {
        if seq.is_empty() || seq.len() > self.max_positions {
            return Err(Error::input(format!(
                "sequence {s} has {} tokens; this model takes 1..={} (its positions)",
                seq.len(),
                self.max_positions
            )));
        }
        match crate::embed::outside_vocabulary(seq, self.vocab_size) {
            Some(why) => Err(Error::input(format!("sequence {s}: {why}"))),
            None => Ok(()),
        }
    }

    /// Checks that every expected tensor is present with the shape the config implies.
    pub fn check_shapes(&self, path: &str, tensors: &BTreeMap<String, Tensor>) -> Result<()> {
        for (name, want) in self.expected_shapes() {
            let t = tensors
                .get(&name)
                .ok_or_else(|| Error::tensor(path, &name, "missing"))?;
            if t.shape != want {
                return Err(Error::tensor(
                    path,
                    &name,
                    format!(
                        "shape {:?} does not match {want:?} from config.json",
                        t.shape
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The width must split into whole heads.
pub(super) fn check_heads(path: &str, hidden: usize, heads: usize) -> Result<()> {
    if heads == 0 || !hidden.is_multiple_of(heads) {
        return Err(Error::file(
            path,
            format!("the width {hidden} is not a multiple of the head count {heads}"),
        ));
    }
    Ok(())
}
