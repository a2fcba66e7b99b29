//! Choosing the engine behind `--device cpu|gpu` (shared by embed, study, bench).

use rwkv_lens::embed::Engine;
use rwkv_lens::gpu::{GpuEngine, GpuOptions, Precision};
use rwkv_lens::model::Checkpoint;
use rwkv_lens::reference::CpuEngine;

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
    /// Weight precision on the GPU (int8 / nf4: projections block-quantized, on the fly
    /// from a float checkpoint or as stored in a quantized one).
    #[arg(long, value_parser = ["f32", "f16", "int8", "nf4"], default_value = "f16")]
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

/// The GPU options these flags ask for.
pub fn gpu_options(a: &EngineArgs) -> GpuOptions {
    GpuOptions {
        adapter: a.adapter.clone(),
        backend: a.backend.clone(),
        precision: Precision::parse(&a.precision).unwrap_or(Precision::F16),
        ..GpuOptions::default()
    }
}
