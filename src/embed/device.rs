//! Which engine runs a model: `--device gpu|cpu` force one, `--device auto` (the default)
//! decides by the adapter and the model's shape.
//!
//! On a hardware adapter the wgpu engine always wins. On a software adapter (lavapipe,
//! SwiftShader, WARP: wgpu's `DeviceType::Cpu`) every dispatch and barrier is paid on the
//! same cores the CPU reference uses. The rule is a threshold on the width C,
//! [`SOFTWARE_GPU_MIN_EMBD`], measured as the marginal embedding time of both engines
//! (80 minus 16 MRPC sentences = 64 sentences, 1681 tokens; random checkpoints of 4 blocks,
//! f16, vocab 65536; batch 32; release build) by `scripts/device-crossover.sh`, which
//! prints the table below. Re-run it when either engine gets faster (a faster CPU GEMM
//! moves the threshold up, a faster lavapipe path down) and update the constant, this
//! table, README.md and docs/architecture.md.
//!
//! ```text
//! lavapipe (llvmpipe, LLVM 15, 256 bits), 2 cores shared with builds (load ≈ 6),
//! 2026-12-01; tokens/s of the marginal 64 sentences (seconds):
//!      C   cpu reference        gpu engine          faster
//!     64   4030 (0.42 s)        5160 (0.33 s)       gpu ×1.3, but its start-up (shader
//!                                                   compilation) costs ≈ 2.5 s more
//!    256    380 (4.42 s)         217 (7.76 s)       cpu ×1.8
//!    512    160 (10.5 s)          92 (18.3 s)       cpu ×1.7
//!   1024   36.8 (45.7 s)        32.5 (51.8 s)       cpu ×1.1 (gpu start-up ≈ 55 s)
//!   2048    7.8 (215 s)          5.0 (338 s)        cpu ×1.6 (gpu start-up ≈ 75 s)
//! ```
//! No measured width favours the GPU engine for batched embedding on lavapipe (the bench's
//! single-sequence 1×16 prefill of the 1.6B shape does, docs/benchmarks.md, but that is not
//! what embed and study run). The threshold sits above the measured range, at C = 4096
//! (7B and larger), where the CPU reference's f32 copy of the weights needs twice the host
//! memory of the GPU engine's f16 ones.

use crate::model::Config;

/// Which engine runs the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EngineKind {
    /// The plain-Rust reference forward ([`crate::reference::CpuEngine`]).
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
/// adapter (see the module's table).
pub const SOFTWARE_GPU_MIN_EMBD: usize = 4096;

/// What `--device auto` runs, and why (one clause for the engine banner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub kind: EngineKind,
    pub why: String,
}

/// The `--device auto` rule. `adapter`: the adapter the GPU engine would open, or `None`
/// when there is none (then the CPU reference runs).
pub fn auto_engine(adapter: Option<&wgpu::AdapterInfo>, cfg: &Config) -> Choice {
    let c = cfg.n_embd;
    let (kind, why) = match adapter {
        None => (EngineKind::Cpu, "no GPU adapter".to_string()),
        Some(a) if a.device_type != wgpu::DeviceType::Cpu => (
            EngineKind::Gpu,
            format!("hardware adapter `{}`", a.name),
        ),
        Some(a) if c >= SOFTWARE_GPU_MIN_EMBD => (
            EngineKind::Gpu,
            format!(
                "software adapter `{}`, width C = {c} ≥ {SOFTWARE_GPU_MIN_EMBD}: the GPU engine's f16 weights halve the memory",
                a.name
            ),
        ),
        Some(a) => (
            EngineKind::Cpu,
            format!(
                "software adapter `{}`, width C = {c} < {SOFTWARE_GPU_MIN_EMBD}: the CPU reference is faster there",
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
            "software adapter `llvmpipe`, width C = 128 < 4096: the CPU reference is faster there"
        );
    }
}
