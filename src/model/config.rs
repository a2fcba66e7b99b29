//! Which architecture a checkpoint holds and every dimension, read from tensor names and
//! shapes (shapes are authoritative; `config.json` files are never needed).
//!
//! Families are peers: [`Config`] holds what every model has (layers, width, heads,
//! feed-forward width, vocabulary) and [`Architecture`] each family's own dimensions
//! (the RWKV-6 and RWKV-7 LoRA ranks; nothing for the attention models).

use std::collections::BTreeMap;

use super::tensor::Tensor;
use crate::{Error, Result};

/// The model family with its own dimensions, detected once from a checkpoint's keys
/// (`rwkv/model.py RWKV.__init__`) or, for the attention models beside RWKV
/// (`crate::attention`), from their `config.json`.
///
/// Serialised inside [`Config`] as `"version": "V6" | "V7" | "Bert" | "Gpt2" | "Llama"`
/// next to the family's own fields (the layout `results.json` has always had for RWKV-6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "version")]
pub enum Architecture {
    /// RWKV-6 "Finch" (x060).
    #[serde(rename = "V6")]
    Rwkv6 {
        /// Rank R of the token-shift LoRA (`time_maa_w1` is C × 5R).
        mix_lora: usize,
        /// Rank D of the decay LoRA (`time_decay_w1` is C × D).
        decay_lora: usize,
    },
    /// RWKV-7 "Goose" (x070).
    #[serde(rename = "V7")]
    Rwkv7 {
        /// Rank of the decay LoRA (`att.w1` is C × Dw).
        w_lora: usize,
        /// Rank of the in-context learning rate LoRA (`att.a1` is C × Da).
        a_lora: usize,
        /// Rank of the value-residual LoRA (`att.v1` of layers ≥ 1 is C × Dv).
        v_lora: usize,
        /// Rank of the gate LoRA (`att.g1` is C × Dg).
        g_lora: usize,
    },
    /// A BERT-family encoder.
    Bert,
    /// A GPT-2 causal decoder.
    Gpt2,
    /// A Llama-family causal decoder.
    Llama,
}

impl Architecture {
    /// `RWKV-6`, `RWKV-7`, `BERT`, ...
    pub fn name(self) -> &'static str {
        match self {
            Architecture::Rwkv6 { .. } => "RWKV-6",
            Architecture::Rwkv7 { .. } => "RWKV-7",
            Architecture::Bert => "BERT",
            Architecture::Gpt2 => "GPT-2",
            Architecture::Llama => "Llama",
        }
    }

    /// The paper's name of an RWKV generation (`Finch`, `Goose`); `None` for the others.
    pub fn nickname(self) -> Option<&'static str> {
        match self {
            Architecture::Rwkv6 { .. } => Some("Finch"),
            Architecture::Rwkv7 { .. } => Some("Goose"),
            _ => None,
        }
    }

    /// Whether this is an RWKV (recurrent) model.
    pub fn is_rwkv(self) -> bool {
        matches!(
            self,
            Architecture::Rwkv6 { .. } | Architecture::Rwkv7 { .. }
        )
    }
}

/// Dimensions of a model: the common ones here, the family's own in [`Architecture`].
/// Serialised flat (see the `Serialize` impl below).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub arch: Architecture,
    /// Number of blocks L.
    pub n_layer: usize,
    /// Residual width C.
    pub n_embd: usize,
    /// Heads H (C = H·N).
    pub n_head: usize,
    /// Head size N (64 in every released model).
    pub head_size: usize,
    /// Feed-forward width F (RWKV-6: 3.5·C rounded to 32; RWKV-7: 4·C).
    pub ffn_dim: usize,
    /// Embedding rows V.
    pub vocab_size: usize,
}

/// One flat map in the order `results.json` has always had: `version`, the common
/// dimensions, then the family's own (RWKV-6: `mix_lora`, `decay_lora`), so a report from
/// before the families became peers is byte-identical.
impl serde::Serialize for Config {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let tag = match self.arch {
            Architecture::Rwkv6 { .. } => "V6",
            Architecture::Rwkv7 { .. } => "V7",
            Architecture::Bert => "Bert",
            Architecture::Gpt2 => "Gpt2",
            Architecture::Llama => "Llama",
        };
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("version", tag)?;
        m.serialize_entry("n_layer", &self.n_layer)?;
        m.serialize_entry("n_embd", &self.n_embd)?;
        m.serialize_entry("n_head", &self.n_head)?;
        m.serialize_entry("head_size", &self.head_size)?;
        m.serialize_entry("ffn_dim", &self.ffn_dim)?;
        m.serialize_entry("vocab_size", &self.vocab_size)?;
        let own: Vec<(&str, usize)> = match self.arch {
            Architecture::Rwkv6 {
                mix_lora,
                decay_lora,
            } => {
                vec![("mix_lora", mix_lora), ("decay_lora", decay_lora)]
            }
            Architecture::Rwkv7 {
                w_lora,
                a_lora,
                v_lora,
                g_lora,
            } => vec![
                ("w_lora", w_lora),
                ("a_lora", a_lora),
                ("v_lora", v_lora),
                ("g_lora", g_lora),
            ],
            _ => vec![],
        };
        for (k, v) in own {
            m.serialize_entry(k, &v)?;
        }
        m.end()
    }
}

/// The RWKV generation whose keys `blocks.0.*` carry (4, 5, 6 or 7), from the key set
/// alone; `None` when none matches.
pub fn detect_generation(tensors: &BTreeMap<String, Tensor>) -> Option<u32> {
    let has = |suffix: &str| {
        tensors
            .keys()
            .any(|k| k.starts_with("blocks.0.") && k.ends_with(suffix))
    };
    if has("att.r_k") || has("att.x_r") || has("att.w0") {
        Some(7)
    } else if has("att.time_maa_x") {
        Some(6)
    } else if has("att.ln_x.weight") {
        Some(5)
    } else if has("att.time_mix_k") || has("att.time_first") {
        Some(4)
    } else {
        None
    }
}

impl Config {
    /// Detects the generation, reads every dimension from shapes and checks the whole key
    /// set against them. RWKV-6 and RWKV-7 are read; v4 and v5 are refused in one line.
    pub fn from_tensors(path: &str, tensors: &BTreeMap<String, Tensor>) -> Result<Config> {
        let generation = detect_generation(tensors).ok_or_else(|| {
            let sample: Vec<&str> = tensors.keys().take(4).map(|s| s.as_str()).collect();
            Error::file(path, format!("not an RWKV checkpoint: no blocks.0.att.* keys of v4/v5/v6/v7 found (first keys: {sample:?})"))
        })?;
        match generation {
            6 => Self::rwkv6_from_tensors(path, tensors),
            7 => crate::rwkv7::config::from_tensors(path, tensors),
            g => Err(Error::file(
                path,
                format!("this is an RWKV-{g} checkpoint; rwkv-lens runs RWKV-6 (Finch) and RWKV-7 (Goose)"),
            )),
        }
    }

    /// The RWKV-6 LoRA ranks `(R, D)` (token shift, decay); `None` for another family.
    pub fn rwkv6_ranks(&self) -> Option<(usize, usize)> {
        match self.arch {
            Architecture::Rwkv6 {
                mix_lora,
                decay_lora,
            } => Some((mix_lora, decay_lora)),
            _ => None,
        }
    }

    /// [`Config::rwkv6_ranks`], or one line naming `source`, the family found and `why`
    /// (e.g. "the GPU engine runs RWKV-6 only").
    pub fn require_rwkv6(&self, source: &str, why: &str) -> Result<(usize, usize)> {
        self.rwkv6_ranks().ok_or_else(|| {
            let found = self.arch.name();
            Error::file(source, format!("this is an {found} model; {why}"))
        })
    }

    /// The widest LoRA hidden row one token needs (RWKV-6: max(5R, D); RWKV-7: the largest
    /// of its four ranks; 0 for the attention models).
    pub fn lora_width(&self) -> usize {
        match self.arch {
            Architecture::Rwkv6 {
                mix_lora,
                decay_lora,
            } => (5 * mix_lora).max(decay_lora),
            Architecture::Rwkv7 {
                w_lora,
                a_lora,
                v_lora,
                g_lora,
            } => w_lora.max(a_lora).max(v_lora).max(g_lora),
            _ => 0,
        }
    }

    /// The RWKV-6 dimensions (`time_faaaa` gives H, N; the LoRA ranks from their matrices).
    fn rwkv6_from_tensors(path: &str, tensors: &BTreeMap<String, Tensor>) -> Result<Config> {
        if tensors.keys().any(|k| k.contains("s_emb")) {
            return Err(Error::file(
                path,
                "DeepEmbed variant (`s_emb` tensors) is not supported",
            ));
        }
        let shape = |name: &str| squeezed(path, tensors, name);
        let [vocab_size, n_embd] = two(path, "emb.weight", &shape("emb.weight")?)?;
        // (H, N), possibly with leading singleton axes; H may itself be 1
        let [n_head, head_size] = heads(path, tensors, "blocks.0.att.time_faaaa")?;
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
        if five_r % 5 != 0 {
            return Err(Error::tensor(
                path,
                "blocks.0.att.time_maa_w1",
                format!("second axis {five_r} is not 5·R"),
            ));
        }
        let config = Config {
            arch: Architecture::Rwkv6 {
                mix_lora: five_r / 5,
                decay_lora,
            },
            n_layer: count_layers(tensors),
            n_embd,
            n_head,
            head_size,
            ffn_dim,
            vocab_size,
        };
        config.check_heads(path, "blocks.0.att.time_faaaa")?;
        config.check_shapes(path, tensors)?;
        Ok(config)
    }

    /// Refuses H·N ≠ C, naming the tensor H and N were read from.
    pub fn check_heads(&self, path: &str, from: &str) -> Result<()> {
        let (h, n, c) = (self.n_head, self.head_size, self.n_embd);
        if h * n == c {
            return Ok(());
        }
        Err(Error::tensor(
            path,
            from,
            format!("H·N = {h}·{n} does not equal C = {c} from emb.weight"),
        ))
    }

    /// Every tensor the forward pass needs, with the shape it must have (squeezed); empty
    /// for the attention models, whose own configs list theirs (`crate::attention`).
    pub fn expected_shapes(&self) -> Vec<(String, Vec<usize>)> {
        match self.arch {
            Architecture::Rwkv6 {
                mix_lora,
                decay_lora,
            } => self.rwkv6_shapes(mix_lora, decay_lora),
            Architecture::Rwkv7 { .. } => crate::rwkv7::config::expected_shapes(self),
            Architecture::Bert | Architecture::Gpt2 | Architecture::Llama => Vec::new(),
        }
    }

    /// The embedding, `ln0` and `ln_out`: what every RWKV generation has outside its blocks.
    pub fn outer_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let c = self.n_embd;
        vec![
            ("emb.weight".to_string(), vec![self.vocab_size, c]),
            ("blocks.0.ln0.weight".into(), vec![c]),
            ("blocks.0.ln0.bias".into(), vec![c]),
            ("ln_out.weight".into(), vec![c]),
            ("ln_out.bias".into(), vec![c]),
        ]
    }

    fn rwkv6_shapes(&self, r: usize, d: usize) -> Vec<(String, Vec<usize>)> {
        let (c, f) = (self.n_embd, self.ffn_dim);
        let mut out = self.outer_shapes();
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

    /// Checks every expected tensor's shape (and the head's, when present).
    pub fn check_shapes(&self, path: &str, tensors: &BTreeMap<String, Tensor>) -> Result<()> {
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

/// The squeezed shape of tensor `name`, or "missing" naming it.
pub fn squeezed(path: &str, tensors: &BTreeMap<String, Tensor>, name: &str) -> Result<Vec<usize>> {
    tensors
        .get(name)
        .map(|t| t.squeezed_shape())
        .ok_or_else(|| Error::tensor(path, name, "missing"))
}

/// `(H, N)` from a per-head tensor stored `(H, N)`, possibly with leading singleton axes
/// (H may itself be 1).
pub fn heads(path: &str, tensors: &BTreeMap<String, Tensor>, name: &str) -> Result<[usize; 2]> {
    let t = tensors
        .get(name)
        .ok_or_else(|| Error::tensor(path, name, "missing"))?;
    let u: Vec<usize> = t.shape.iter().copied().skip_while(|&d| d == 1).collect();
    let u = if u.len() == 1 { vec![1, u[0]] } else { u };
    two(path, name, &u)
}

/// L: the blocks `blocks.{i}.ln1.weight` counts from 0.
pub fn count_layers(tensors: &BTreeMap<String, Tensor>) -> usize {
    (0..)
        .take_while(|i| tensors.contains_key(&format!("blocks.{i}.ln1.weight")))
        .count()
}

/// A 2-axis shape as `[a, b]`, or one line naming the tensor.
pub fn two(path: &str, name: &str, shape: &[usize]) -> Result<[usize; 2]> {
    match shape {
        [a, b] => Ok([*a, *b]),
        _ => Err(Error::tensor(
            path,
            name,
            format!("expected 2 axes, got shape {shape:?}"),
        )),
    }
}
