//! Choosing the engine behind `--device cpu|gpu` (shared by embed, study, bench).

use rwkv_lens::embed::Engine;
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
    /// Weight precision on the GPU.
    #[arg(long, value_parser = ["f32", "f16"], default_value = "f16")]
    pub precision: String,
    /// Sequences per batch.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
}

pub fn build(ckpt: &Checkpoint, a: &EngineArgs) -> anyhow::Result<Box<dyn Engine>> {
    match a.device.as_str() {
        "cpu" => Ok(Box::new(CpuEngine::new(ckpt)?)),
        _ => anyhow::bail!("the GPU engine is not wired into the CLI yet; use --device cpu"),
    }
}
