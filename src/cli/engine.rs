//! Choosing the engine behind `--device cpu|gpu` (shared by embed, study, bench).

use std::path::Path;

use rwkv_lens::attention::sentence::{encoder_dir, SentenceEncoder};
use rwkv_lens::attention::EncoderEngine;
use rwkv_lens::embed::Engine;
use rwkv_lens::gpu::{GpuEncoder, GpuEngine, GpuOptions, Precision};
use rwkv_lens::model::{load::load, Checkpoint};
use rwkv_lens::reference::CpuEngine;
use rwkv_lens::tokenizer::Tokenizer;

#[derive(clap::Args, Clone, Debug)]
pub struct EngineArgs {
    /// Where to run the model.
    #[arg(long, value_parser = ["gpu", "cpu"], default_value = "gpu")]
    pub device: String,
    /// GPU adapter: a name substring or an index (see the adapter list printed on start).
    #[arg(long)]
    pub adapter: Option<String>,
    /// GPU backend.
    #[arg(long, value_parser = ["vulkan", "gl", "metal", "dx12"])]
    pub backend: Option<String>,
    /// Weight precision on the GPU.
    #[arg(long, value_parser = ["f32", "f16"], default_value = "f16")]
    pub precision: String,
}

pub fn build(ckpt: &Checkpoint, a: &EngineArgs) -> anyhow::Result<Box<dyn Engine>> {
    match a.device.as_str() {
        "cpu" => Ok(Box::new(CpuEngine::new(ckpt)?)),
        _ => {
            let engine = GpuEngine::new(ckpt, gpu_options(a))?;
            eprintln!("gpu: {}", engine.report());
            Ok(Box::new(engine))
        }
    }
}

/// A model named by `--model`, ready to embed: its engine and its tokenizer.
pub struct LoadedModel {
    pub engine: Box<dyn Engine>,
    pub tokenizer: Tokenizer,
}

/// Loads an RWKV checkpoint (tokenized with `tokenizer`) or, when `path` is a BERT-family
/// encoder directory (`config.json` with `model_type: bert`), a sentence-transformers
/// model with its own tokenizer.
pub fn load_model(path: &Path, tokenizer: &str, a: &EngineArgs) -> anyhow::Result<LoadedModel> {
    if encoder_dir(path).is_some() {
        let enc = SentenceEncoder::load(path)?;
        eprintln!(
            "{}: BERT encoder, max_seq_length {}, pooling {} (modules.json)",
            path.display(),
            enc.max_seq_length,
            enc.pooling.name()
        );
        let engine: Box<dyn Engine> = match a.device.as_str() {
            "cpu" => Box::new(EncoderEngine::new(enc.weights)),
            _ => {
                let gpu = GpuEncoder::new(&enc.weights, gpu_options(a))?;
                eprintln!("gpu: {}", gpu.report());
                Box::new(gpu)
            }
        };
        return Ok(LoadedModel {
            engine,
            tokenizer: enc.tokenizer,
        });
    }
    let ckpt = load(path)?;
    Ok(LoadedModel {
        engine: build(&ckpt, a)?,
        tokenizer: Tokenizer::from_spec(tokenizer)?,
    })
}

/// The GPU options these flags ask for.
pub fn gpu_options(a: &EngineArgs) -> GpuOptions {
    GpuOptions {
        adapter: a.adapter.clone(),
        backend: a.backend.clone(),
        precision: if a.precision == "f32" {
            Precision::F32
        } else {
            Precision::F16
        },
        ..GpuOptions::default()
    }
}
