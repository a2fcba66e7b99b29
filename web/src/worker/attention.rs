//! The worker's attention models beside the RWKV (issue #15): load one in the Hugging
//! Face layout (`config.json`, `model.safetensors`, `tokenizer.json`; the bundled default
//! is all-MiniLM-L6-v2 in f16, which `make web` writes to `dist/minilm/`), run it on every
//! Compare, and give the "Attention vs recurrence" view one head's attention probabilities
//! (`rwkv_lens::attention::forward::attention_map`).
//!
//! The attention model runs on the plain-Rust reference (`AttentionEngine`) in wasm on
//! both paths: MiniLM's 22 M parameters on sentence-length inputs take milliseconds there,
//! and the view needs its f32 weights on the CPU anyway.

use rwkv_lens::attention::forward::attention_map;
use rwkv_lens::attention::weights::is_buffer;
use rwkv_lens::attention::{AttentionEngine, TransformerConfig, TransformerWeights};
use rwkv_lens::embed::Engine;
use rwkv_lens::model::checkpoint::read_safetensors_where;
use rwkv_lens::tokenizer::Tokenizer;
use rwkv_lens::{Error, Result};

use super::compare::{compare_pairs, POOLINGS};
use super::js::{wasm_memory_bytes, yield_now};
use super::loader::{self, ModelFile};
use super::tokens::fits;
use crate::protocol::{Added, AttentionMap, AttentionPick, ModelRun, Reply, Stage};
use web_sys::File;

/// Where the bundled MiniLM lies, relative to the page.
pub const MINILM_DIR: &str = "minilm/";

/// One loaded attention model.
pub struct AttentionModel {
    pub label: String,
    engine: AttentionEngine,
    tokenizer: Tokenizer,
}

fn progress(post: &impl Fn(Reply), stage: Stage, done: f64, total: Option<f64>) {
    post(Reply::Progress { stage, done, total });
}

/// What a pick gives: `config.json` (name, text), `sentence_bert_config.json`'s text if
/// any, `tokenizer.json` (name, bytes) and the `.safetensors` file.
struct Parts {
    label: String,
    config: (String, String),
    sentence_config: Option<String>,
    tokenizer: (String, Vec<u8>),
    model: ModelFile,
}

/// Fetches, downloads (or reads from the Cache API) the files and builds the model; local
/// files come as `model_file` (`.safetensors`) and `tokenizer_file`.
pub async fn load(
    pick: AttentionPick,
    (model_file, tokenizer_file): (Option<File>, Option<File>),
    post: &impl Fn(Reply),
) -> Result<AttentionModel> {
    let parts = match pick {
        AttentionPick::MiniLm => fetch_parts(MINILM_DIR, "all-MiniLM-L6-v2 (f16)", post).await?,
        AttentionPick::Url(u) => {
            crate::protocol::check_url("attention model URL", &u).map_err(Error::input)?;
            let base = if u.ends_with('/') { u } else { format!("{u}/") };
            let name = base
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("model");
            fetch_parts(&base, name, post).await?
        }
        AttentionPick::Files { config } => file_parts(config, model_file, tokenizer_file).await?,
    };
    build(parts, post).await
}

async fn fetch_text(url: &str) -> Result<String> {
    let bytes = loader::fetch_bytes(url).await?;
    String::from_utf8(bytes).map_err(|_| Error::file(url, "not UTF-8 text"))
}

/// The files of a folder URL.
async fn fetch_parts(base: &str, label: &str, post: &impl Fn(Reply)) -> Result<Parts> {
    let config_url = format!("{base}config.json");
    let config = (config_url.clone(), fetch_text(&config_url).await?);
    // not a sentence-transformers folder: no file, every learned position
    let sentence_config = fetch_text(&format!("{base}sentence_bert_config.json"))
        .await
        .ok();
    let tok_url = format!("{base}tokenizer.json");
    let tokenizer = (tok_url.clone(), loader::fetch_bytes(&tok_url).await?);
    let model = loader::download(&format!("{base}model.safetensors"), |done, total| {
        progress(post, Stage::Download, done as f64, total.map(|t| t as f64));
    })
    .await?;
    Ok(Parts {
        label: label.to_string(),
        config,
        sentence_config,
        tokenizer,
        model,
    })
}

/// The user's files: `config.json`'s text (read by the page), the model and the tokenizer.
async fn file_parts(config: String, model: Option<File>, tokenizer: Option<File>) -> Result<Parts> {
    let (Some(model), Some(tokenizer)) = (model, tokenizer) else {
        return Err(Error::input(
            "choose the model's config.json, model.safetensors and tokenizer.json together",
        ));
    };
    let tok_name = tokenizer.name();
    let tok_blob: web_sys::Blob = tokenizer.into();
    let tok_bytes = loader::slice(&tok_blob, 0, tok_blob.size() as u64, &tok_name).await?;
    let model = ModelFile::from_blob(&model.name(), model.into());
    Ok(Parts {
        label: model.name.trim_end_matches(".safetensors").to_string(),
        config: ("config.json".into(), config),
        sentence_config: None,
        tokenizer: (tok_name, tok_bytes),
        model,
    })
}

/// The weights and tokenizer of `parts`, checked against each other.
async fn build(parts: Parts, post: &impl Fn(Reply)) -> Result<AttentionModel> {
    let config = TransformerConfig::from_json(&parts.config.0, &parts.config.1)?;
    let max_len = (parts.sentence_config.as_deref())
        .and_then(max_seq_length)
        .unwrap_or(config.max_positions);
    let (tok_name, tok_bytes) = &parts.tokenizer;
    let tokenizer = Tokenizer::for_encoder_bytes(tok_name, tok_bytes, max_len)?;
    progress(post, Stage::Parse, 0.0, Some(1.0));
    yield_now().await;
    let file = &parts.model;
    let bytes = file.read(0, file.bytes).await?;
    let raw = read_safetensors_where(&file.name, &bytes, |n| !is_buffer(n))?;
    drop(bytes);
    progress(post, Stage::Upload, 0.0, None);
    yield_now().await;
    let weights = TransformerWeights::from_tensors(&file.name, config, raw)?;
    fits(tok_name, tokenizer.vocab_size(), weights.config.vocab_size)?;
    Ok(AttentionModel {
        label: parts.label,
        engine: AttentionEngine::new(weights),
        tokenizer,
    })
}

/// `max_seq_length` of a `sentence_bert_config.json`.
fn max_seq_length(json: &str) -> Option<usize> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    Some(v.get("max_seq_length")?.as_u64()? as usize)
}

impl AttentionModel {
    /// What the page shows once the model is loaded.
    pub fn added(&self) -> Added {
        let cfg = &self.engine.weights().config;
        Added {
            label: self.label.clone(),
            engine: self.engine_name(),
            n_layer: cfg.n_layer,
            n_head: cfg.n_head,
            hidden: cfg.hidden,
            wasm_bytes: wasm_memory_bytes(),
        }
    }

    fn engine_name(&self) -> String {
        let family = self.engine.weights().config.family.describe();
        format!("CPU: Rust reference compiled to wasm ({family})")
    }

    /// The probabilities of `layer` (1-based) and `head` (0-based) on `sentence`.
    pub fn attend(&self, sentence: &str, layer: usize, head: usize) -> Result<AttentionMap> {
        let ids = self
            .tokenizer
            .encode(sentence.trim())
            .map_err(|e| Error::input(format!("attention sentence: {e}")))?;
        let weights = self.engine.weights();
        let probs = attention_map(weights, &ids, layer, head)?;
        let tokens = ids
            .iter()
            .map(|&t| self.tokenizer.decode(&[t]).unwrap_or_default())
            .collect();
        Ok(AttentionMap {
            model: self.label.clone(),
            layer,
            head,
            tokens,
            probs,
            n_layer: weights.config.n_layer,
            hidden: weights.config.hidden,
        })
    }
}

/// Every attention model on every pair (after the RWKV's), pair by pair with Cancel.
pub async fn compare(
    models: &mut [AttentionModel],
    texts: &[(String, String)],
    post: &impl Fn(Reply),
) -> Result<Vec<ModelRun>> {
    let mut runs = Vec::new();
    for m in models.iter_mut() {
        let n_layer = m.engine.config().n_layer;
        let layers: Vec<usize> = (0..=n_layer).collect();
        let engine = &mut m.engine;
        let embed = async |tokens: &[Vec<u32>]| engine.embed_tokens(tokens, &layers, &POOLINGS);
        let who = (&m.tokenizer, Some(m.label.as_str()));
        let pairs = compare_pairs(texts, who, embed, None, post).await?;
        runs.push(ModelRun {
            label: m.label.clone(),
            engine: m.engine_name(),
            n_layer,
            pairs,
        });
    }
    Ok(runs)
}
