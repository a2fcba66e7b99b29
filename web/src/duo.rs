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

use crate::compare::{pair_cosines, ModelRun, PairResult, POOLINGS};
use crate::dom::yield_now;
use crate::loader;
use crate::protocol::{Added, AttentionMap, AttentionPick, Reply, Stage};

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

/// Downloads (or reads from the Cache API) the three files and builds the model.
pub async fn load(pick: AttentionPick, post: &impl Fn(Reply)) -> Result<AttentionModel> {
    let (base, label) = match &pick {
        AttentionPick::MiniLm => (MINILM_DIR.to_string(), "all-MiniLM-L6-v2 (f16)".to_string()),
        AttentionPick::Url(u) => {
            let base = if u.ends_with('/') {
                u.clone()
            } else {
                format!("{u}/")
            };
            let name = base
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("model");
            (base.clone(), name.to_string())
        }
    };
    let text = |name: &str| {
        let url = format!("{base}{name}");
        async move {
            let bytes = loader::fetch_bytes(&url).await?;
            String::from_utf8(bytes).map_err(|_| Error::file(&url, "not UTF-8 text"))
        }
    };
    let config_url = format!("{base}config.json");
    let config = TransformerConfig::from_json(&config_url, &text("config.json").await?)?;
    let max_len = match text("sentence_bert_config.json").await {
        Ok(json) => max_seq_length(&json).unwrap_or(config.max_positions),
        Err(_) => config.max_positions, // not a sentence-transformers folder: every position
    };
    let tok_url = format!("{base}tokenizer.json");
    let tokenizer =
        Tokenizer::for_encoder_bytes(&tok_url, &loader::fetch_bytes(&tok_url).await?, max_len)?;
    let model_url = format!("{base}model.safetensors");
    let file = loader::download(&model_url, |done, total| {
        progress(post, Stage::Download, done as f64, total.map(|t| t as f64));
    })
    .await?;
    progress(post, Stage::Parse, 0.0, Some(1.0));
    yield_now().await;
    let bytes = loader::slice(&file.blob, 0, file.bytes, &model_url).await?;
    let raw = read_safetensors_where(&model_url, &bytes, |n| !is_buffer(n))?;
    drop(bytes);
    progress(post, Stage::Upload, 0.0, None);
    yield_now().await;
    let weights = TransformerWeights::from_tensors(&model_url, config, raw)?;
    crate::tokens::fits(&tok_url, tokenizer.vocab_size(), weights.config.vocab_size)?;
    Ok(AttentionModel {
        label,
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
            wasm_bytes: crate::dom::wasm_memory_bytes(),
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
        let engine = m.engine_name();
        let n_layer = m.engine.config().n_layer;
        let layers: Vec<usize> = (0..=n_layer).collect();
        let mut pairs = Vec::new();
        for (i, (a, b)) in texts.iter().enumerate() {
            progress(post, Stage::Compare, i as f64, Some(texts.len() as f64));
            yield_now().await;
            crate::dom::check_cancel("Compare")?;
            let enc = |t: &str, side: &str| {
                (m.tokenizer.encode(t)).map_err(|e| {
                    Error::input(format!("{}: pair {}, sentence {side}: {e}", m.label, i + 1))
                })
            };
            let tokens = vec![enc(a, "A")?, enc(b, "B")?];
            let emb = m.engine.embed_tokens(&tokens, &layers, &POOLINGS)?;
            let (mean, last) = pair_cosines(&emb, 0);
            pairs.push(PairResult {
                a: a.clone(),
                b: b.clone(),
                tokens: (tokens[0].len(), tokens[1].len()),
                mean,
                last,
                glove: None,
            });
        }
        runs.push(ModelRun {
            label: m.label.clone(),
            engine,
            n_layer,
            pairs,
        });
    }
    Ok(runs)
}
