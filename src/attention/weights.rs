//! The weights of an attention model, from the Hugging Face layout (`model.safetensors`
//! beside `config.json`; `BertModel`, `GPT2Model` or `LlamaModel` names), as f32 matrices the
//! reference multiplies directly. Every family loads into one shape: `nn.Linear` matrices
//! `[out][in]` (GPT-2's `Conv1D` `[in][out]` is transposed on load and its fused `c_attn`
//! split into Q, K, V; Llama's bias-free projections and RMSNorms get zero biases), so the
//! reference's `dense` and the GPU's matmul serve all three.

use std::collections::BTreeMap;

use super::config::{Family, TransformerConfig};
use crate::model::Tensor;
use crate::reference::ops::Matrix;
use crate::{Error, Result};

/// `y = x Wᵀ + b`: a `nn.Linear` with bias, `weight` `[out][in]`.
#[derive(Debug, Clone)]
pub struct Dense {
    pub weight: Matrix,
    pub bias: Vec<f32>,
}

/// A LayerNorm's affine parameters `[C]`, RWKV's own type (an RMSNorm's weight, with a
/// zero bias).
pub use crate::reference::weights::Norm;

/// One Transformer layer.
#[derive(Debug, Clone)]
pub struct LayerWeights {
    pub query: Dense,
    pub key: Dense,
    pub value: Dense,
    /// The attention output projection `W_O`.
    pub attn_output: Dense,
    /// The attention sublayer's LayerNorm: after its residual sum in BERT (post-LN),
    /// on its input in GPT-2 (pre-LN, `ln_1`).
    pub attn_norm: Norm,
    /// Feed-forward `W₁` `[F][C]` and `W₂` `[C][F]` (Llama: `up_proj`, `down_proj`).
    pub ffn_in: Dense,
    /// SwiGLU's gate `W_gate` `[F][C]` (Llama's `gate_proj`); None in BERT and GPT-2.
    pub ffn_gate: Option<Dense>,
    pub ffn_out: Dense,
    /// The feed-forward sublayer's LayerNorm (BERT: after, GPT-2: before, `ln_2`).
    pub ffn_norm: Norm,
}

/// What surrounds the layers; it differs between the families.
#[derive(Debug, Clone)]
pub enum Stack {
    /// BERT: `x₀ = LN(E_word + E_pos + E_type[0])`; `type_row` = `E_type[0]` `[C]`.
    PostLn { type_row: Vec<f32>, emb_norm: Norm },
    /// GPT-2: `x₀ = E_word + E_pos`; `ln_f` on the last layer's output. Llama:
    /// `x₀ = E_word`; the RMSNorm `norm` on the last layer's output.
    PreLn { final_norm: Norm },
}

/// Every weight the hidden states need (BERT's pooler and GPT-2's LM head are unused).
#[derive(Debug, Clone)]
pub struct TransformerWeights {
    pub config: TransformerConfig,
    /// `[V][C]`, `[P][C]` (`[0][C]` for Llama: RoPE has no table).
    pub word: Matrix,
    pub position: Matrix,
    pub stack: Stack,
    pub layers: Vec<LayerWeights>,
}

/// A checkpoint's tensors by name, shape-checked, read as f32 with every value finite.
pub struct Tensors {
    path: String,
    map: BTreeMap<String, Tensor>,
}

impl Tensors {
    /// Checks every tensor `config` expects (names after `prefix`, if any, is dropped).
    pub fn new(
        path: &str,
        config: &TransformerConfig,
        raw: Vec<(String, Tensor)>,
        prefix: &str,
    ) -> Result<Tensors> {
        let map: BTreeMap<String, Tensor> = raw
            .into_iter()
            .map(|(n, t)| (n.strip_prefix(prefix).unwrap_or(&n).to_string(), t))
            .collect();
        config.check_shapes(path, &map)?;
        Ok(Tensors {
            path: path.to_string(),
            map,
        })
    }
    /// Any expected tensor, flat.
    pub fn values(&self, name: &str) -> Result<Vec<f32>> {
        let t = &self.map[name]; // present: `new` checked every expected name
        match t.first_non_finite() {
            Some(pos) => Err(Error::tensor(
                &self.path,
                name,
                format!("non-finite weight at flat index {pos}"),
            )),
            None => Ok(t.to_f32()),
        }
    }
    pub fn matrix(&self, name: &str) -> Result<Matrix> {
        let shape = &self.map[name].shape;
        Ok(Matrix::new(shape[0], shape[1], self.values(name)?))
    }
    /// `{name}.weight` `[out][in]` and `{name}.bias` (`nn.Linear`).
    pub fn dense(&self, name: &str) -> Result<Dense> {
        Ok(Dense {
            weight: self.matrix(&format!("{name}.weight"))?,
            bias: self.values(&format!("{name}.bias"))?,
        })
    }
    /// A `Conv1D` (`{name}.weight` `[in][out]`) split into `parts` equal column blocks,
    /// each as a [`Dense`] `[out/parts][in]`: `c_attn` → Q, K, V; `c_fc` → one.
    pub fn conv1d(&self, name: &str, parts: usize) -> Result<Vec<Dense>> {
        let w = self.matrix(&format!("{name}.weight"))?;
        let bias = self.values(&format!("{name}.bias"))?;
        let width = w.cols / parts;
        let part = |p: usize| {
            let cols = p * width..(p + 1) * width;
            let data = cols
                .clone()
                .flat_map(|j| (0..w.rows).map(move |i| (i, j)))
                .map(|(i, j)| w.data[i * w.cols + j])
                .collect();
            Dense {
                weight: Matrix::new(width, w.rows, data),
                bias: bias[cols].to_vec(),
            }
        };
        Ok((0..parts).map(part).collect())
    }
    pub fn norm(&self, name: &str) -> Result<Norm> {
        Ok(Norm {
            weight: self.values(&format!("{name}.weight"))?,
            bias: self.values(&format!("{name}.bias"))?,
        })
    }
}

/// Names a checkpoint may hold besides weights, never read: BERT's integer buffers,
/// GPT-2's causal-mask buffers (`h.N.attn.bias`, `masked_bias`), old Llama files'
/// `rotary_emb.inv_freq` and the (tied or not) LM head.
pub fn is_buffer(name: &str) -> bool {
    name.ends_with("position_ids")
        || name.ends_with("rotary_emb.inv_freq")
        || name.ends_with("token_type_ids")
        || name.ends_with(".attn.bias")
        || name.ends_with(".attn.masked_bias")
        || name == "lm_head.weight"
}

impl TransformerWeights {
    /// Builds the weights from a checkpoint's tensors, checking every shape and value.
    pub fn from_tensors(
        path: &str,
        config: TransformerConfig,
        raw: Vec<(String, Tensor)>,
    ) -> Result<TransformerWeights> {
        match config.family {
            Family::Bert => Self::bert(Tensors::new(path, &config, raw, "bert.")?, config),
            Family::Gpt2 => {
                let t = Tensors::new(path, &config, raw, "transformer.")?;
                super::gpt2::weights(&t, config)
            }
            Family::Llama => {
                let t = Tensors::new(path, &config, raw, "model.")?;
                super::llama::weights(&t, config)
            }
        }
    }

    /// A `BertModel` (a `bert.` prefix, as in `BertForMaskedLM` files, is dropped).
    fn bert(t: Tensors, config: TransformerConfig) -> Result<TransformerWeights> {
        let layers = (0..config.n_layer)
            .map(|i| {
                let p = |s: &str| format!("encoder.layer.{i}.{s}");
                Ok(LayerWeights {
                    query: t.dense(&p("attention.self.query"))?,
                    key: t.dense(&p("attention.self.key"))?,
                    value: t.dense(&p("attention.self.value"))?,
                    attn_output: t.dense(&p("attention.output.dense"))?,
                    attn_norm: t.norm(&p("attention.output.LayerNorm"))?,
                    ffn_in: t.dense(&p("intermediate.dense"))?,
                    ffn_gate: None,
                    ffn_out: t.dense(&p("output.dense"))?,
                    ffn_norm: t.norm(&p("output.LayerNorm"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let types = t.matrix("embeddings.token_type_embeddings.weight")?;
        Ok(TransformerWeights {
            word: t.matrix("embeddings.word_embeddings.weight")?,
            position: t.matrix("embeddings.position_embeddings.weight")?,
            stack: Stack::PostLn {
                type_row: types.row(0).to_vec(),
                emb_norm: t.norm("embeddings.LayerNorm")?,
            },
            layers,
            config,
        })
    }

    /// Loads `config.json` and `model.safetensors` from a model directory, or a
    /// `.safetensors` file with `config.json` beside it.
    #[cfg(feature = "native")]
    pub fn load(path: &std::path::Path) -> Result<TransformerWeights> {
        let (dir, file) = if path.is_dir() {
            (path.to_path_buf(), path.join("model.safetensors"))
        } else {
            let dir = path.parent().unwrap_or(std::path::Path::new("."));
            (dir.to_path_buf(), path.to_path_buf())
        };
        let config = read_config(&dir.join("config.json"))?;
        let shown = file.display().to_string();
        let bytes =
            std::fs::read(&file).map_err(|e| Error::file(&shown, format!("cannot read: {e}")))?;
        let raw =
            crate::model::checkpoint::read_safetensors_where(&shown, &bytes, |n| !is_buffer(n))?;
        TransformerWeights::from_tensors(&shown, config, raw)
    }
}

/// Reads and parses a `config.json`.
#[cfg(feature = "native")]
pub fn read_config(path: &std::path::Path) -> Result<TransformerConfig> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::file(&shown, format!("cannot read: {e}")))?;
    TransformerConfig::from_json(&shown, &text)
}
