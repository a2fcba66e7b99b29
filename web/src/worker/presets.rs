//! Real RWKV-6 checkpoints one click away. Each preset knows its shape and dtype, so the
//! page builds the header the file will have and runs the same checks as for a real
//! header (model card, wasm memory, device limits) before anything is downloaded: a
//! preset this browser cannot run is shown disabled with the reason.

use rwkv_lens::model::config::{Architecture, Config};
use rwkv_lens::model::DType;
use rwkv_lens::Result;

use super::header::{check_device_limits, Entry, Header, Summary};

/// A checkpoint the picker offers.
#[derive(Debug, Clone)]
pub struct Preset {
    pub label: &'static str,
    pub model_url: String,
    /// `None`: the World tokenizer.
    pub tokenizer_url: Option<String>,
    pub config: Config,
    pub dtype: DType,
}

const HF: &str = "https://huggingface.co";

/// The presets, smallest first.
pub fn presets() -> Vec<Preset> {
    let shape = |n_embd, n_layer, ffn_dim, vocab_size| Config {
        arch: Architecture::Rwkv6 {
            mix_lora: 32,
            decay_lora: 64,
        },
        n_layer,
        n_embd,
        n_head: n_embd / 64,
        head_size: 64,
        ffn_dim,
        vocab_size,
    };
    vec![
        Preset {
            label: "RWKV-6 Pile 173M (BlinkDL, GPT-NeoX-20B tokenizer)",
            model_url: hf(
                "/BlinkDL/temp-latest-training-models/resolve/main/temp/rwkv-x060-173m-pile-20240515-ctx4k.pth",
            ),
            tokenizer_url: Some(hf(
                "/EleutherAI/gpt-neox-20b/resolve/main/tokenizer.json",
            )),
            config: shape(768, 12, 2688, 50277),
            dtype: DType::BF16,
        },
        Preset {
            label: "RWKV-6 Finch 1B6 World v2.1 (BlinkDL, World tokenizer)",
            model_url: hf(
                "/BlinkDL/rwkv-6-world/resolve/main/RWKV-x060-World-1B6-v2.1-20240328-ctx4096.pth",
            ),
            tokenizer_url: None,
            config: shape(2048, 24, 7168, 65536),
            dtype: DType::BF16,
        },
    ]
}

/// `https://huggingface.co` + path.
fn hf(path: &str) -> String {
    format!("{HF}{path}")
}

impl Preset {
    /// The header the official checkpoint has: every tensor of the config (and
    /// `head.weight`), laid end to end in `dtype`.
    pub fn header(&self) -> Header {
        let mut shapes = self.config.expected_shapes();
        shapes.push((
            "head.weight".into(),
            vec![self.config.vocab_size, self.config.n_embd],
        ));
        let mut at = 0u64;
        let entries = shapes
            .into_iter()
            .map(|(name, shape)| {
                let bytes = (shape.iter().product::<usize>() * self.dtype.size()) as u64;
                at += bytes;
                Entry {
                    name,
                    dtype: self.dtype,
                    shape,
                    begin: at - bytes,
                    end: at,
                }
            })
            .collect();
        Header {
            entries,
            metadata: Default::default(),
            data_start: 0,
        }
    }

    /// The model card's numbers, from the header above (file size ≈ tensor bytes).
    pub fn summary(&self) -> Result<Summary> {
        let header = self.header();
        let bytes = header.entries.last().map_or(0, |e| e.end);
        header.summary(&self.model_url, bytes)
    }

    /// Why this browser cannot run it (`binding`: the WebGPU storage-binding limit,
    /// `None` without WebGPU), or `None` when it can.
    pub fn refusal(&self, binding: Option<u64>) -> Option<String> {
        let check = || -> Result<()> {
            let summary = self.summary()?;
            if let Some(limit) = binding {
                check_device_limits(&self.model_url, &self.header(), limit)?;
            }
            summary.check_memory(&self.model_url, binding.is_some())
        };
        check().err().map(|e| {
            let msg = e.to_string();
            // the URL is in the option's label already
            msg.strip_prefix(&format!("{}: ", self.model_url))
                .map_or(msg.clone(), str::to_string)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pile_173m_shape_and_size() {
        let p = &presets()[0];
        let s = p.summary().unwrap();
        assert_eq!(
            s.describe(),
            "RWKV-6, 12 layers, C=768 (12 heads × 64), FFN 2688, vocab 50277"
        );
        assert!(
            (170e6..176e6).contains(&(s.parameters as f64)),
            "{}",
            s.parameters
        );
        assert!(p.refusal(Some(128 << 20)).is_none());
        assert!(p.refusal(None).is_none(), "fits the CPU fallback too");
    }

    #[test]
    fn finch_1b6_is_refused_on_the_cpu_fallback_with_the_reason() {
        let p = &presets()[1];
        let s = p.summary().unwrap();
        assert!(
            (1.5e9..1.7e9).contains(&(s.parameters as f64)),
            "{}",
            s.parameters
        );
        let why = p.refusal(None).unwrap();
        assert!(why.starts_with("loading needs about"), "{why}");
        assert!(why.contains("CPU path"), "{why}");
    }
}
