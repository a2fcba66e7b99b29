//! Checkpoint layouts → one canonical layout (BlinkDL's official `.pth` names).
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

/// Which layout a checkpoint's names came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Layout {
    Official,
    HuggingFace,
}

/// Maps one tensor name to its canonical (official) spelling.
pub fn canonical_name(name: &str) -> String {
    let mut n = name;
    for prefix in ["rwkv.", "model."] {
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
    s
}

/// Guesses the layout from the raw names (HF names carry the `rwkv.` prefix or HF words).
pub fn detect_layout<'a>(names: impl IntoIterator<Item = &'a str>) -> Layout {
    let hf = names.into_iter().any(|n| {
        n.starts_with("rwkv.")
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
}
