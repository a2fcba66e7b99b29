//! Choosing the engine behind `--device auto|gpu|cpu` (shared by embed and study) and the
//! banner that says which engine and weight precision run, and why; attention models
//! (BERT-family encoders, GPT-2 and Llama decoders), local or by hub id.

use std::path::{Path, PathBuf};

use rwkv_lens::attention::sentence::{encoder_dir, SentenceEncoder};
use rwkv_lens::attention::AttentionEngine;
use rwkv_lens::embed::device::Choice;
use rwkv_lens::embed::{auto_engine, Engine, EngineKind};
use rwkv_lens::gpu::context::chosen_adapter;
use rwkv_lens::gpu::{GpuAttention, GpuEngine, GpuOptions, Precision};
use rwkv_lens::hub::model::resolve;
use rwkv_lens::hub::{Hub, ModelRef};
use rwkv_lens::model::{Architecture, Checkpoint, DType};
use rwkv_lens::reference::{CpuEngine, FastEngine};
use rwkv_lens::rwkv7::Rwkv7Engine;
use rwkv_lens::tokenizer::Tokenizer;

/// `--device`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// The GPU engine on a hardware adapter; on a software one (lavapipe, SwiftShader,
    /// WARP) the faster engine for the model's width (see `rwkv_lens::embed::device`).
    Auto,
    Gpu,
    Cpu,
}

#[derive(clap::Args, Clone, Debug)]
pub struct EngineArgs {
    /// Where to run the model.
    #[arg(long, value_enum, default_value_t = Device::Auto)]
    pub device: Device,
    /// GPU adapter: a name substring or an index (see the adapter list printed on start).
    #[arg(long)]
    pub adapter: Option<String>,
    /// GPU backend.
    #[arg(long, value_parser = ["vulkan", "gl", "metal", "dx12"])]
    pub backend: Option<String>,
    /// Weight precision [default: the checkpoint's: f32 for f32, f16 for f16 and bf16]. On
    /// the CPU, f32 runs the f32 oracle (the reference), anything else the fast engine on
    /// the checkpoint's own weights.
    #[arg(long, value_enum)]
    pub precision: Option<Precision>,
}

/// Builds the engine these flags ask for and prints one banner line saying which and why.
pub fn build(ckpt: &Checkpoint, a: &EngineArgs) -> anyhow::Result<Box<dyn Engine>> {
    if matches!(ckpt.config.arch, Architecture::Rwkv7 { .. }) {
        return build_rwkv7(ckpt, a);
    }
    let opts = gpu_options(ckpt, a);
    let choice = match a.device {
        Device::Cpu => Choice {
            kind: EngineKind::Cpu,
            why: "--device cpu".into(),
        },
        Device::Gpu => Choice {
            kind: EngineKind::Gpu,
            why: "--device gpu".into(),
        },
        Device::Auto => match pollster::block_on(chosen_adapter(&opts)) {
            Ok(info) => auto_engine(Some(&info), &ckpt.config),
            // an adapter or backend asked for by name must exist
            Err(e) if a.adapter.is_some() || a.backend.is_some() => return Err(e.into()),
            Err(e) => {
                let mut c = auto_engine(None, &ckpt.config);
                c.why = format!("{} ({e})", c.why);
                c
            }
        },
    };
    match choice.kind {
        EngineKind::Cpu => cpu_engine(ckpt, a.precision, &choice.why),
        EngineKind::Gpu => {
            let precision_why = match a.precision {
                Some(_) => "--precision".to_string(),
                None => format!("the checkpoint's dtype is {}", ckpt.dominant_dtype().name()),
            };
            let precision = opts.precision;
            let engine = GpuEngine::new(ckpt, opts)?;
            eprintln!(
                "engine: gpu ({}), weights {precision} ({precision_why})",
                choice.why
            );
            eprintln!("gpu: {}", engine.report());
            Ok(Box::new(engine))
        }
    }
}

/// The CPU engine for `ckpt`, with its banner line: the fast engine on the checkpoint's own
/// weights (16 bits stay 16 bits, f32 maths, every core), or the f32 oracle for f32
/// checkpoints and `--precision f32` (the reference the goldens check, bit for bit).
pub fn cpu_engine(
    ckpt: &Checkpoint,
    precision: Option<Precision>,
    why: &str,
) -> anyhow::Result<Box<dyn Engine>> {
    let dtype = ckpt.dominant_dtype();
    let oracle = match precision {
        Some(p) => p == Precision::F32,
        None => dtype == DType::F32,
    };
    let threads = rayon::current_num_threads();
    if oracle {
        let whose = match precision {
            Some(_) => "--precision f32".to_string(),
            None => "the checkpoint's dtype is f32".to_string(),
        };
        eprintln!("engine: cpu reference, weights f32 ({why}; the f32 oracle: {whose})");
        return Ok(Box::new(CpuEngine::new(ckpt)?));
    }
    let engine = FastEngine::new(ckpt)?;
    eprintln!(
        "engine: {} ({why}), f32 maths on {threads} threads; `--precision f32` runs the f32 oracle",
        engine.name()
    );
    Ok(Box::new(engine))
}

/// An RWKV-7 checkpoint's engine: the CPU reference (`--device auto|cpu`); `--device gpu`
/// is refused in one line by the GPU engine itself (no RWKV-7 kernels yet).
fn build_rwkv7(ckpt: &Checkpoint, a: &EngineArgs) -> anyhow::Result<Box<dyn Engine>> {
    let why = match a.device {
        Device::Gpu => return Ok(Box::new(GpuEngine::new(ckpt, gpu_options(ckpt, a))?)),
        Device::Cpu => "--device cpu",
        Device::Auto => "RWKV-7 runs on the CPU reference only for now",
    };
    eprintln!("engine: cpu reference (RWKV-7), weights f32 ({why})");
    Ok(Box::new(Rwkv7Engine::new(ckpt)?))
}

/// The GPU options these flags ask for; the precision follows the checkpoint unless given.
pub fn gpu_options(ckpt: &Checkpoint, a: &EngineArgs) -> GpuOptions {
    GpuOptions {
        precision: a
            .precision
            .unwrap_or(Precision::following(ckpt.dominant_dtype())),
        ..gpu_options_base(a)
    }
}

/// Adapter and backend as asked; everything else at its default.
fn gpu_options_base(a: &EngineArgs) -> GpuOptions {
    GpuOptions {
        adapter: a.adapter.clone(),
        backend: a.backend.clone(),
        ..GpuOptions::default()
    }
}

/// The attention model `spec` names: a local directory (or `.safetensors` file in one) whose
/// `config.json` has a non-RWKV `model_type`, or a hub id (`ORG/NAME`) whose repo's
/// `config.json` does (its files resolved into the hub cache first, as for RWKV ids:
/// `model.safetensors`, `config.json`, `tokenizer.json`). `None` for anything else.
fn attention_model(spec: &Path) -> anyhow::Result<Option<PathBuf>> {
    if encoder_dir(spec).is_some() {
        return Ok(Some(spec.to_path_buf()));
    }
    let text = spec.to_string_lossy();
    if !matches!(ModelRef::parse(&text), ModelRef::Hub { .. }) {
        return Ok(None);
    }
    let resolved = resolve(&text, &Hub::from_env()?)?;
    Ok(encoder_dir(&resolved.weights).map(|_| resolved.weights))
}

/// An attention model (a Hugging Face directory whose `config.json` has `model_type` `bert`,
/// as sentence-transformers ships it, `gpt2` or `llama`; local or by hub id), with its own
/// tokenizer; `None` when `spec` is not one.
pub fn load_encoder(
    spec: &Path,
    a: &EngineArgs,
) -> anyhow::Result<Option<(Box<dyn Engine>, Tokenizer)>> {
    let Some(path) = attention_model(spec)? else {
        return Ok(None);
    };
    let path = path.as_path();
    let enc = SentenceEncoder::load(path)?;
    eprintln!(
        "{}: {}, max_seq_length {}, pooling {} (modules.json; mean without one)",
        path.display(),
        enc.weights.config.family.describe(),
        enc.max_seq_length,
        enc.pooling.name()
    );
    // the weights are f32 on both engines; `auto` takes the GPU engine on any adapter (the
    // software-adapter width rule of `embed::device` is measured for RWKV only)
    let engine: Box<dyn Engine> = match a.device {
        Device::Cpu => Box::new(AttentionEngine::new(enc.weights)),
        _ => {
            let opts = GpuOptions {
                precision: Precision::F32,
                ..gpu_options_base(a)
            };
            let gpu = GpuAttention::new(&enc.weights, opts)?;
            eprintln!("engine: gpu attention\ngpu: {}", gpu.report());
            Box::new(gpu)
        }
    };
    Ok(Some((engine, enc.tokenizer)))
}
