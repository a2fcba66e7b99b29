//! Which engine runs a model: `--device gpu|cpu` force one, `--device auto` (the default)
//! decides by the adapter and the model's shape.
//!
//! On a hardware adapter the wgpu engine always wins. On a software adapter (lavapipe,
//! SwiftShader, WARP: wgpu's `DeviceType::Cpu`) every dispatch and barrier is paid on the
//! same cores the CPU engines use, and a CPU engine runs below a width threshold,
//! [`SOFTWARE_GPU_MIN_EMBD`]: measured by `scripts/device-crossover.sh`, the measurements
//! in `docs/benchmarks.md` ("`--device auto` on a software adapter").

use crate::model::Config;

/// Which engine runs the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EngineKind {
    /// The CPU engines: the fast engine on 16-bit checkpoints ([`crate::reference::FastEngine`]),
    /// the f32 oracle otherwise ([`crate::reference::CpuEngine`]).
    Cpu,
    /// The wgpu engine ([`crate::gpu::GpuEngine`]).
    Gpu,
}

impl EngineKind {
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Cpu => "cpu",
            EngineKind::Gpu => "gpu",
        }
    }
}

/// The narrowest width C at which `--device auto` runs the wgpu engine on a software
/// adapter (docs/benchmarks.md holds the measurements).
pub const SOFTWARE_GPU_MIN_EMBD: usize = 4096;

/// What `--device auto` runs, and why (one clause for the engine banner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub kind: EngineKind,
    pub why: String,
}

/// The `--device auto` rule. `adapter`: the adapter the GPU engine would open, or `None`
/// when there is none (then a CPU engine runs).
pub fn auto_engine(adapter: Option<&wgpu::AdapterInfo>, cfg: &Config) -> Choice {
    let c = cfg.n_embd;
    let (kind, why) = match adapter {
        None => (EngineKind::Cpu, "no GPU adapter".to_string()),
        Some(a) if crate::gpu::context::is_gpu(a) => (
            EngineKind::Gpu,
            format!("hardware adapter `{}`", a.name),
        ),
        Some(a) if c >= SOFTWARE_GPU_MIN_EMBD => (
            EngineKind::Gpu,
            format!(
                "software adapter `{}`, width C = {c} ≥ {SOFTWARE_GPU_MIN_EMBD}: the GPU engine, whose f16 weights halve an f32 checkpoint's memory",
                a.name
            ),
        ),
        Some(a) => (
            EngineKind::Cpu,
            format!(
                "software adapter `{}`, width C = {c} < {SOFTWARE_GPU_MIN_EMBD}: the CPU engine is faster there",
                a.name
            ),
        ),
    };
    Choice { kind, why }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Architecture;

    fn width(c: usize) -> Config {
        Config {
            arch: Architecture::Rwkv6 {
                mix_lora: 32,
                decay_lora: 64,
            },
            n_layer: 2,
            n_embd: c,
            n_head: c / 64,
            head_size: 64,
            ffn_dim: c * 7 / 2,
            vocab_size: 300,
        }
    }

    fn adapter(t: wgpu::DeviceType) -> wgpu::AdapterInfo {
        let mut i = wgpu::AdapterInfo::new(t, wgpu::Backend::Vulkan);
        i.name = "llvmpipe".into();
        i
    }

    #[test]
    fn auto_runs_narrow_models_on_the_cpu_only_on_software_adapters() {
        let (narrow, wide) = (width(128), width(4096));
        let cpu = adapter(wgpu::DeviceType::Cpu);
        let gpu = adapter(wgpu::DeviceType::DiscreteGpu);
        let kind = |a: Option<&wgpu::AdapterInfo>, c: &Config| auto_engine(a, c).kind;
        assert_eq!(kind(Some(&cpu), &narrow), EngineKind::Cpu);
        assert_eq!(kind(Some(&cpu), &wide), EngineKind::Gpu);
        assert_eq!(kind(Some(&gpu), &narrow), EngineKind::Gpu);
        assert_eq!(kind(None, &wide), EngineKind::Cpu);
        let why = auto_engine(Some(&cpu), &narrow).why;
        assert_eq!(
            why,
            "software adapter `llvmpipe`, width C = 128 < 4096: the CPU engine is faster there"
        );
    }
}
