//! What the worker tells the page about a model before loading it: the model card from
//! a header's [`Summary`], and each preset as this device sees it. Plain data: the page
//! renders (and escapes) it.

use rwkv_lens::gpu::Precision;
use rwkv_lens::model::Layout;

use super::header::Summary;
use super::presets::Preset;
use crate::protocol::{Card, PresetOption};

/// The card of `name` (`cached`: read from the Cache API); the GPU weight sizes only when
/// there is WebGPU (`gpu`), since the CPU fallback keeps f32 weights whatever is chosen.
pub fn card(name: &str, s: &Summary, cached: bool, gpu: bool) -> Card {
    let formats = [
        Precision::following(s.dtype),
        Precision::Int8,
        Precision::Nf4,
    ];
    let gpu_weights = match gpu {
        true => (formats.iter())
            .map(|&p| (p.to_string(), s.gpu_weight_bytes(p)))
            .collect(),
        false => Vec::new(),
    };
    Card {
        name: name.to_string(),
        label: s.label.clone(),
        description: s.description.clone(),
        architecture: s.describe(),
        parameters: s.parameters,
        file_bytes: s.file_bytes,
        dtype: s.dtype.name().to_string(),
        layout: match s.layout {
            Layout::Official => "official names",
            Layout::HuggingFace => "Hugging Face names",
        }
        .to_string(),
        cached,
        largest: s.largest.clone(),
        loading_bytes: (s.loading_bytes(true), s.loading_bytes(false)),
        gpu_weights,
    }
}

/// A preset for the picker on this device (`binding`: the storage-binding limit the GPU
/// path would have, `None` on the CPU fallback); `None` if its shape does not summarise.
pub fn preset(p: &Preset, binding: Option<u64>) -> Option<PresetOption> {
    let s = p.summary().ok()?;
    Some(PresetOption {
        label: p.label.to_string(),
        model_url: p.model_url.clone(),
        tokenizer_url: p.tokenizer_url.clone(),
        download_bytes: s.file_bytes,
        loading_bytes: s.loading_bytes(binding.is_some()),
        gpu_path: binding.is_some(),
        refusal: p.refusal(binding),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::presets::presets;

    #[test]
    fn gpu_weight_sizes_only_with_webgpu() {
        let p = &presets()[0];
        let s = p.summary().unwrap();
        let gpu = card("pile.pth", &s, false, true);
        let names: Vec<&str> = gpu.gpu_weights.iter().map(|w| w.0.as_str()).collect();
        assert_eq!(names, ["f16", "int8", "nf4"]);
        assert!(card("pile.pth", &s, false, false).gpu_weights.is_empty());
        assert_eq!(gpu.layout, "official names");
    }

    #[test]
    fn presets_carry_their_reason_on_this_path() {
        let finch = preset(&presets()[1], None).unwrap();
        assert!(!finch.gpu_path && finch.refusal.is_some());
        let pile = preset(&presets()[0], Some(128 << 20)).unwrap();
        assert!(pile.gpu_path && pile.refusal.is_none() && pile.download_bytes > 300_000_000);
    }
}
