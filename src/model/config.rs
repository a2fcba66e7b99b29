//! Version detection and every dimension, read from tensor names and shapes
//! (shapes are authoritative; `config.json` files are never needed).

use std::collections::BTreeMap;

use super::tensor::Tensor;
use crate::{Error, Result};

/// RWKV generation of a checkpoint, detected from its keys (`rwkv/model.py RWKV.__init__`),
/// or, for the attention models beside it (`crate::attention`), their family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Version {
    V4,
    V5,
    V6,
    V7,
    /// A BERT-family encoder (not RWKV; described in the same [`Config`] so that every
    /// engine answers the same questions).
    Bert,
    /// A GPT-2 causal decoder (not RWKV; described the same way).
    Gpt2,
    /// A Llama-family causal decoder (not RWKV; described the same way).
    Llama,
}

impl Version {
    /// `RWKV-6`, `BERT`, ...
    pub fn name(self) -> &'static str {
        match self {
            Version::V4 => "RWKV-4",
            Version::V5 => "RWKV-5",
            Version::V6 => "RWKV-6",
            Version::V7 => "RWKV-7",
            Version::Bert => "BERT",
            Version::Gpt2 => "GPT-2",
            Version::Llama => "Llama",
        }
    }
}

/// Dimensions of an RWKV-6 model.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Config {
    pub version: Version,
    /// Number of blocks L.
    pub n_layer: usize,
    /// Residual width C.
    pub n_embd: usize,
    /// Heads H (C = H·N).
    pub n_head: usize,
    /// Head size N (64 in every released model).
    pub head_size: usize,
    /// Channel-mix width F (3.5·C rounded to 32).
    pub ffn_dim: usize,
    /// Embedding rows V.
    pub vocab_size: usize,
    /// Rank R of the token-shift LoRA (`time_maa_w1` is C × 5R).
    pub mix_lora: usize,
    /// Rank D of the decay LoRA (`time_decay_w1` is C × D).
    pub decay_lora: usize,
}

/// Detects the version from canonical names; only the key set matters here.
pub fn detect_version(tensors: &BTreeMap<String, Tensor>) -> Option<Version> {
    let has = |suffix: &str| {
        tensors
            .keys()
            .any(|k| k.starts_with("blocks.0.") && k.ends_with(suffix))
    };
    if has("att.r_k") || has("att.x_r") || has("att.w0") {
        Some(Version::V7)
    } else if has("att.time_maa_x") {
        Some(Version::V6)
    } else if has("att.ln_x.weight") {
        Some(Version::V5)
    } else if has("att.time_mix_k") || has("att.time_first") {
        Some(Version::V4)
    } else {
        None
    }
}

impl Config {
    /// Reads every dimension from shapes and checks the whole key set against them.
    pub fn from_tensors(path: &str, tensors: &BTreeMap<String, Tensor>) -> Result<Config> {
        let version = detect_version(tensors).ok_or_else(|| {
            let sample: Vec<&str> = tensors.keys().take(4).map(|s| s.as_str()).collect();
            Error::file(path, format!("not an RWKV checkpoint: no blocks.0.att.* keys of v4/v5/v6/v7 found (first keys: {sample:?})"))
        })?;
        if version != Version::V6 {
            return Err(Error::file(
                path,
                format!(
                    "this is an {} checkpoint; rwkv-lens runs RWKV-6 (Finch) only for now",
                    version.name()
                ),
            ));
        }
        if tensors.keys().any(|k| k.contains("s_emb")) {
            return Err(Error::file(
                path,
                "DeepEmbed variant (`s_emb` tensors) is not supported",
            ));
        }
        let shape = |name: &str| -> Result<Vec<usize>> {
            tensors
                .get(name)
                .map(|t| t.squeezed_shape())
                .ok_or_else(|| Error::tensor(path, name, "missing"))
        };
        let emb = shape("emb.weight")?;
        let [vocab_size, n_embd] = two(path, "emb.weight", &emb)?;
        // (H, N), possibly with leading singleton axes; H may itself be 1
        let u = tensors
            .get("blocks.0.att.time_faaaa")
            .map(|t| {
                t.shape
                    .iter()
                    .copied()
                    .skip_while(|&d| d == 1)
                    .collect::<Vec<_>>()
            })
            .ok_or_else(|| Error::tensor(path, "blocks.0.att.time_faaaa", "missing"))?;
        let u = if u.len() == 1 { vec![1, u[0]] } else { u };
        let [n_head, head_size] = two(path, "blocks.0.att.time_faaaa", &u)?;
        let [ffn_dim, _] = two(
            path,
            "blocks.0.ffn.key.weight",
            &shape("blocks.0.ffn.key.weight")?,
        )?;
        let [_, five_r] = two(
            path,
            "blocks.0.att.time_maa_w1",
            &shape("blocks.0.att.time_maa_w1")?,
        )?;
        let [_, decay_lora] = two(
            path,
            "blocks.0.att.time_decay_w1",
            &shape("blocks.0.att.time_decay_w1")?,
        )?;
        let n_layer = (0..)
            .take_while(|i| tensors.contains_key(&format!("blocks.{i}.ln1.weight")))
            .count();
        if five_r % 5 != 0 {
            return Err(Error::tensor(
                path,
                "blocks.0.att.time_maa_w1",
                format!("second axis {five_r} is not 5·R"),
            ));
        }
        let config = Config {
            version,
            n_layer,
            n_embd,
            n_head,
            head_size,
            ffn_dim,
            vocab_size,
            mix_lora: five_r / 5,
            decay_lora,
        };
        if n_head * head_size != n_embd {
            return Err(Error::tensor(
                path,
                "blocks.0.att.time_faaaa",
                format!("H·N = {n_head}·{head_size} does not equal C = {n_embd} from emb.weight"),
            ));
        }
        config.check_shapes(path, tensors)?;
        Ok(config)
    }

    /// Every tensor the forward pass needs, with the shape it must have (squeezed).
    pub fn expected_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (c, f, r, d) = (self.n_embd, self.ffn_dim, self.mix_lora, self.decay_lora);
        let mut out = vec![
            ("emb.weight".to_string(), vec![self.vocab_size, c]),
            ("blocks.0.ln0.weight".into(), vec![c]),
            ("blocks.0.ln0.bias".into(), vec![c]),
            ("ln_out.weight".into(), vec![c]),
            ("ln_out.bias".into(), vec![c]),
        ];
        for i in 0..self.n_layer {
            let p = |s: &str| format!("blocks.{i}.{s}");
            for n in [
                "ln1.weight",
                "ln1.bias",
                "ln2.weight",
                "ln2.bias",
                "att.ln_x.weight",
                "att.ln_x.bias",
            ] {
                out.push((p(n), vec![c]));
            }
            for n in ["x", "w", "k", "v", "r", "g"] {
                out.push((p(&format!("att.time_maa_{n}")), vec![c]));
            }
            out.push((p("att.time_maa_w1"), vec![c, 5 * r]));
            out.push((p("att.time_maa_w2"), vec![5, r, c]));
            out.push((p("att.time_decay"), vec![c]));
            out.push((p("att.time_decay_w1"), vec![c, d]));
            out.push((p("att.time_decay_w2"), vec![d, c]));
            out.push((p("att.time_faaaa"), vec![self.n_head, self.head_size]));
            for n in ["receptance", "key", "value", "gate", "output"] {
                out.push((p(&format!("att.{n}.weight")), vec![c, c]));
            }
            out.push((p("ffn.time_maa_k"), vec![c]));
            out.push((p("ffn.time_maa_r"), vec![c]));
            out.push((p("ffn.key.weight"), vec![f, c]));
            out.push((p("ffn.receptance.weight"), vec![c, c]));
            out.push((p("ffn.value.weight"), vec![c, f]));
        }
        out
    }

    fn check_shapes(&self, path: &str, tensors: &BTreeMap<String, Tensor>) -> Result<()> {
        for (name, want) in self.expected_shapes() {
            let t = tensors
                .get(&name)
                .ok_or_else(|| Error::tensor(path, &name, "missing"))?;
            let got = t.squeezed_shape();
            // squeezing can drop a real axis of size 1 (e.g. R=1); compare squeezed both ways
            let want_sq: Vec<usize> = want.iter().copied().filter(|&x| x != 1).collect();
            if got != want_sq {
                return Err(Error::tensor(
                    path,
                    &name,
                    format!(
                        "shape {:?} does not match {:?} expected from the detected dimensions",
                        t.shape, want
                    ),
                ));
            }
        }
        if let Some(h) = tensors.get("head.weight") {
            if h.squeezed_shape() != [self.vocab_size, self.n_embd] {
                return Err(Error::tensor(
                    path,
                    "head.weight",
                    format!(
                        "shape {:?}, expected [{}, {}]",
                        h.shape, self.vocab_size, self.n_embd
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Parameter count of the tensors the forward pass uses (head included when present).
    pub fn parameter_count(&self, with_head: bool) -> usize {
        let body: usize = self
            .expected_shapes()
            .iter()
            .map(|(_, s)| s.iter().product::<usize>())
            .sum();
        body + if with_head {
            self.vocab_size * self.n_embd
        } else {
            0
        }
    }
}

fn two(path: &str, name: &str, shape: &[usize]) -> Result<[usize; 2]> {
    match shape {
        [a, b] => Ok([*a, *b]),
        _ => Err(Error::tensor(
            path,
            name,
            format!("expected 2 axes, got shape {shape:?}"),
        )),
    }
}
