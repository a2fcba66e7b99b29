//! The encoder's weights, from the Hugging Face `BertModel` layout (`model.safetensors`
//! beside `config.json`), as f32 matrices the reference multiplies directly.

use std::collections::BTreeMap;

use super::config::BertConfig;
use crate::model::Tensor;
use crate::reference::ops::Matrix;
use crate::{Error, Result};

/// `y = x Wᵀ + b`: a `nn.Linear` with bias, `weight` `[out][in]`.
#[derive(Debug, Clone)]
pub struct Dense {
    pub weight: Matrix,
    pub bias: Vec<f32>,
}

/// A LayerNorm's affine parameters `[C]`.
#[derive(Debug, Clone)]
pub struct Norm {
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// One encoder layer.
#[derive(Debug, Clone)]
pub struct LayerWeights {
    pub query: Dense,
    pub key: Dense,
    pub value: Dense,
    /// The attention output projection `W_O`.
    pub attn_output: Dense,
    /// LayerNorm after the attention residual.
    pub attn_norm: Norm,
    /// Feed-forward `W₁` `[F][C]` and `W₂` `[C][F]`.
    pub ffn_in: Dense,
    pub ffn_out: Dense,
    /// LayerNorm after the feed-forward residual.
    pub out_norm: Norm,
}

/// Every weight of a `BertModel` the sentence embedding needs (the pooler is unused).
#[derive(Debug, Clone)]
pub struct BertWeights {
    pub config: BertConfig,
    /// `[V][C]`, `[P][C]`, `[types][C]`.
    pub word: Matrix,
    pub position: Matrix,
    pub token_type: Matrix,
    pub emb_norm: Norm,
    pub layers: Vec<LayerWeights>,
}

/// Names a `BertModel` checkpoint may hold besides weights: integer buffers, never read.
pub fn is_buffer(name: &str) -> bool {
    name.ends_with("position_ids") || name.ends_with("token_type_ids")
}

impl BertWeights {
    /// Builds the weights from a checkpoint's tensors (a `bert.` prefix, as in
    /// `BertForMaskedLM` files, is dropped), checking every shape and value.
    pub fn from_tensors(
        path: &str,
        config: BertConfig,
        raw: Vec<(String, Tensor)>,
    ) -> Result<BertWeights> {
        let tensors: BTreeMap<String, Tensor> = raw
            .into_iter()
            .map(|(n, t)| (n.strip_prefix("bert.").unwrap_or(&n).to_string(), t))
            .collect();
        config.check_shapes(path, &tensors)?;
        let get = |name: &str| -> Result<Vec<f32>> {
            let t = &tensors[name]; // present: check_shapes saw it
            match t.first_non_finite() {
                Some(pos) => Err(Error::tensor(
                    path,
                    name,
                    format!("non-finite weight at flat index {pos}"),
                )),
                None => Ok(t.to_f32()),
            }
        };
        let matrix = |name: &str| -> Result<Matrix> {
            let t = &tensors[name];
            Ok(Matrix::new(t.shape[0], t.shape[1], get(name)?))
        };
        let dense = |name: &str| -> Result<Dense> {
            Ok(Dense {
                weight: matrix(&format!("{name}.weight"))?,
                bias: get(&format!("{name}.bias"))?,
            })
        };
        let norm = |name: &str| -> Result<Norm> {
            Ok(Norm {
                weight: get(&format!("{name}.weight"))?,
                bias: get(&format!("{name}.bias"))?,
            })
        };
        let layers = (0..config.n_layer)
            .map(|i| {
                let p = |s: &str| format!("encoder.layer.{i}.{s}");
                Ok(LayerWeights {
                    query: dense(&p("attention.self.query"))?,
                    key: dense(&p("attention.self.key"))?,
                    value: dense(&p("attention.self.value"))?,
                    attn_output: dense(&p("attention.output.dense"))?,
                    attn_norm: norm(&p("attention.output.LayerNorm"))?,
                    ffn_in: dense(&p("intermediate.dense"))?,
                    ffn_out: dense(&p("output.dense"))?,
                    out_norm: norm(&p("output.LayerNorm"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(BertWeights {
            word: matrix("embeddings.word_embeddings.weight")?,
            position: matrix("embeddings.position_embeddings.weight")?,
            token_type: matrix("embeddings.token_type_embeddings.weight")?,
            emb_norm: norm("embeddings.LayerNorm")?,
            layers,
            config,
        })
    }

    /// Loads `config.json` and `model.safetensors` from a model directory, or a
    /// `.safetensors` file with `config.json` beside it.
    #[cfg(feature = "native")]
    pub fn load(path: &std::path::Path) -> Result<BertWeights> {
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
        BertWeights::from_tensors(&shown, config, raw)
    }
}

/// Reads and parses a `config.json`.
#[cfg(feature = "native")]
pub fn read_config(path: &std::path::Path) -> Result<BertConfig> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::file(&shown, format!("cannot read: {e}")))?;
    BertConfig::from_json(&shown, &text)
}
