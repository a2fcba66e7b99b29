//! Checkpoint layouts → one canonical layout (BlinkDL's official `.pth` names), by pure
//! maps on the names (and, where a port stores a matrix transposed, a transpose decided by
//! the name alone).
//!
//! | Hugging Face (`RWKV/v6-Finch-*-HF`) | official |
//! |---|---|
//! | `rwkv.embeddings.weight`            | `emb.weight` |
//! | `rwkv.blocks.0.pre_ln.*`            | `blocks.0.ln0.*` |
//! | `rwkv.blocks.{i}.attention.*`       | `blocks.{i}.att.*` |
//! | `rwkv.blocks.{i}.feed_forward.*`    | `blocks.{i}.ffn.*` |
//! | `rwkv.ln_out.*`, `head.weight`      | `ln_out.*`, `head.weight` |
//!
//! `time_maa_*`, `time_decay*`, `time_faaaa`, `gate`, `ln_x` keep their names and
//! shapes in the HF v6 layout; v4/v5 HF names (`time_mix_key`…) are mapped too so that
//! version detection can name what it found.
//!
//! RWKV-7 ports (`transformers` `models/rwkv7/convert_rwkv7_checkpoint_to_hf.py`;
//! fla `utils/convert_from_rwkv7.py`):
//!
//! | `transformers` `Rwkv7ForCausalLM` | fla `RWKV7ForCausalLM` (`fla-hub/rwkv7-*`) | official |
//! |---|---|---|
//! | `rwkv7.emb.weight` | `model.embeddings.weight` | `emb.weight` |
//! | `rwkv7.blocks.{i}.*` | `model.layers.{i}.attn.*`, `.ffn.*` | `blocks.{i}.att.*`, `.ffn.*` |
//! | | `…pre_norm/attn_norm/ffn_norm.*` | `…ln0/ln1/ln2.*` |
//! | | `…attn.r_proj/k_proj/v_proj/o_proj.weight` | `…att.receptance/key/value/output.weight` |
//! | | `…attn.g_norm.*` | `…att.ln_x.*` |
//! | | `…attn.{w,a,v,g}_lora.lora.0.weight` (D,C) | `…att.{w,a,v,g}1` (C,D), **transposed** |
//! | | `…attn.{w,a,v,g}_lora.lora.2.weight` (C,D) | `…att.{w,a,v,g}2` (D,C), **transposed** |
//! | | `…attn.{w,a,v}_lora.lora.2.bias` | `…att.{w,a,v}0` |
//! | `rwkv7.ln_out.*`, `head.weight` | `model.norm.*`, `lm_head.weight` | `ln_out.*`, `head.weight` |
//!
//! fla squeezes `k_k`, `k_a`, `ffn.x_k` and the LoRA biases to (C) and drops block 0's
//! value LoRA; shapes are compared squeezed and block 0's `v0/v1/v2` are optional
//! (`crate::rwkv7::config`), so neither needs more than the name.

/// Which layout a checkpoint's names came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Layout {
    Official,
    HuggingFace,
}

/// What a tensor's values need on the way to their canonical name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reshape {
    /// Nothing: same values, same order.
    Keep,
    /// A 2-axis matrix stored transposed (fla's `nn.Linear` LoRA factors).
    Transpose,
}

/// Maps one tensor name to its canonical (official) spelling.
pub fn canonical_name(name: &str) -> String {
    canonical(name).0
}

/// [`canonical_name`] and what the tensor's values need.
pub fn canonical(name: &str) -> (String, Reshape) {
    if let Some(mapped) = fla_rwkv7(name) {
        return mapped;
    }
    let mut n = name;
    for prefix in ["rwkv7.", "rwkv.", "model."] {
        if let Some(rest) = n.strip_prefix(prefix) {
            n = rest;
        }
    }
    let mut s = n.to_string();
    if let Some(rest) = s.strip_prefix("embeddings.") {
        s = format!("emb.{rest}");
    }
    for (from, to) in [
        (".pre_ln.", ".ln0."),
        (".attention.", ".att."),
        (".feed_forward.", ".ffn."),
        (".time_mix_key", ".time_mix_k"),
        (".time_mix_value", ".time_mix_v"),
        (".time_mix_receptance", ".time_mix_r"),
        (".time_mix_gate", ".time_mix_g"),
    ] {
        s = s.replace(from, to);
    }
    (s, Reshape::Keep)
}

/// The fla RWKV-7 names (`model.layers.{i}.…`, `model.norm.*`, `lm_head.weight`); `None`
/// for any other name.
fn fla_rwkv7(name: &str) -> Option<(String, Reshape)> {
    let keep = |s: String| Some((s, Reshape::Keep));
    match name {
        "lm_head.weight" => return keep("head.weight".into()),
        "model.norm.weight" | "model.norm.bias" => {
            return keep(name.replacen("model.norm.", "ln_out.", 1))
        }
        _ => {}
    }
    let rest = name.strip_prefix("model.layers.")?;
    let (layer, rest) = rest.split_once('.')?;
    let (part, tail) = rest.split_once('.')?;
    let block = |s: &str| format!("blocks.{layer}.{s}");
    match part {
        "pre_norm" => keep(block(&format!("ln0.{tail}"))),
        "attn_norm" => keep(block(&format!("ln1.{tail}"))),
        "ffn_norm" => keep(block(&format!("ln2.{tail}"))),
        "ffn" => keep(block(&format!("ffn.{tail}"))),
        "attn" => {
            let (own, reshape) = fla_attention(tail);
            Some((block(&format!("att.{own}")), reshape))
        }
        _ => None,
    }
}

/// One fla `attn.` suffix → its official `att.` suffix.
fn fla_attention(tail: &str) -> (String, Reshape) {
    for (fla, own) in [
        ("r_proj.", "receptance."),
        ("k_proj.", "key."),
        ("v_proj.", "value."),
        ("o_proj.", "output."),
        ("g_norm.", "ln_x."),
    ] {
        if let Some(rest) = tail.strip_prefix(fla) {
            return (format!("{own}{rest}"), Reshape::Keep);
        }
    }
    if let Some((lora, which)) = tail.split_once("_lora.lora.") {
        match which {
            "0.weight" => return (format!("{lora}1"), Reshape::Transpose),
            "2.weight" => return (format!("{lora}2"), Reshape::Transpose),
            "2.bias" => return (format!("{lora}0"), Reshape::Keep),
            _ => {}
        }
    }
    (tail.to_string(), Reshape::Keep)
}

/// Guesses the layout from the raw names (HF names carry the `rwkv.`/`rwkv7.` prefix, fla
/// names `model.`, or HF words); fla's layout counts as Hugging Face (it ships on the hub).
pub fn detect_layout<'a>(names: impl IntoIterator<Item = &'a str>) -> Layout {
    let hf = names.into_iter().any(|n| {
        n.starts_with("rwkv.")
            || n.starts_with("rwkv7.")
            || n.starts_with("model.")
            || n == "lm_head.weight"
            || n.contains(".attention.")
            || n.contains(".feed_forward.")
            || n.starts_with("embeddings.")
    });
    if hf {
        Layout::HuggingFace
    } else {
        Layout::Official
    }
}

/// The inverse map, official → HF (used by tests and `convert --layout hf`).
pub fn hf_name(official: &str) -> String {
    let s = official
        .replace("blocks.0.ln0.", "blocks.0.pre_ln.")
        .replace(".att.", ".attention.")
        .replace(".ffn.", ".feed_forward.");
    if official == "head.weight" {
        return s;
    }
    match s.strip_prefix("emb.") {
        Some(rest) => format!("rwkv.embeddings.{rest}"),
        None => format!("rwkv.{s}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hf_round_trip() {
        for n in [
            "emb.weight",
            "blocks.0.ln0.bias",
            "blocks.3.att.time_maa_w1",
            "blocks.3.ffn.key.weight",
            "ln_out.weight",
            "head.weight",
        ] {
            assert_eq!(canonical_name(&hf_name(n)), n, "{n}");
        }
        assert_eq!(hf_name("emb.weight"), "rwkv.embeddings.weight");
        assert_eq!(
            hf_name("blocks.0.ln0.weight"),
            "rwkv.blocks.0.pre_ln.weight"
        );
    }

    #[test]
    fn rwkv7_ports_map_to_official_names() {
        let keep = |n: &str| (n.to_string(), Reshape::Keep);
        let flip = |n: &str| (n.to_string(), Reshape::Transpose);
        for (port, want) in [
            ("rwkv7.emb.weight", keep("emb.weight")),
            ("rwkv7.blocks.2.att.a1", keep("blocks.2.att.a1")),
            ("rwkv7.ln_out.bias", keep("ln_out.bias")),
            ("model.embeddings.weight", keep("emb.weight")),
            ("model.norm.weight", keep("ln_out.weight")),
            ("lm_head.weight", keep("head.weight")),
            ("model.layers.0.pre_norm.bias", keep("blocks.0.ln0.bias")),
            (
                "model.layers.1.attn_norm.weight",
                keep("blocks.1.ln1.weight"),
            ),
            (
                "model.layers.1.ffn_norm.weight",
                keep("blocks.1.ln2.weight"),
            ),
            (
                "model.layers.1.attn.r_proj.weight",
                keep("blocks.1.att.receptance.weight"),
            ),
            (
                "model.layers.1.attn.o_proj.weight",
                keep("blocks.1.att.output.weight"),
            ),
            (
                "model.layers.1.attn.g_norm.bias",
                keep("blocks.1.att.ln_x.bias"),
            ),
            (
                "model.layers.1.attn.w_lora.lora.0.weight",
                flip("blocks.1.att.w1"),
            ),
            (
                "model.layers.1.attn.v_lora.lora.2.weight",
                flip("blocks.1.att.v2"),
            ),
            (
                "model.layers.1.attn.a_lora.lora.2.bias",
                keep("blocks.1.att.a0"),
            ),
            ("model.layers.1.attn.x_a", keep("blocks.1.att.x_a")),
            ("model.layers.1.attn.r_k", keep("blocks.1.att.r_k")),
            ("model.layers.1.ffn.x_k", keep("blocks.1.ffn.x_k")),
            (
                "model.layers.1.ffn.value.weight",
                keep("blocks.1.ffn.value.weight"),
            ),
        ] {
            assert_eq!(canonical(port), want, "{port}");
        }
        assert_eq!(
            detect_layout(["model.layers.0.attn.r_k"]),
            Layout::HuggingFace
        );
        assert_eq!(detect_layout(["rwkv7.emb.weight"]), Layout::HuggingFace);
        assert_eq!(detect_layout(["blocks.0.att.r_k"]), Layout::Official);
    }
}
