//! RWKV-7 dimensions from shapes: `r_k` gives the heads, `emb.weight` the width and
//! vocabulary, `ffn.key.weight` the feed-forward width, and each LoRA's first matrix its
//! rank (the ranks differ per model size, so they are always read, never assumed).
//!
//! | tensor (per block `i`) | shape | |
//! |---|---|---|
//! | `att.x_r/_w/_k/_v/_a/_g` | (1,1,C) | token-shift mixes |
//! | `att.w0` (1,1,C), `att.w1` (C,Dw), `att.w2` (Dw,C) | | decay LoRA |
//! | `att.a0` (1,1,C), `att.a1` (C,Da), `att.a2` (Da,C) | | in-context learning rate LoRA |
//! | `att.v0` (1,1,C), `att.v1` (C,Dv), `att.v2` (Dv,C) | | value residual; optional in block 0, never read there |
//! | `att.g1` (C,Dg), `att.g2` (Dg,C) | | gate LoRA |
//! | `att.k_k`, `att.k_a` (1,1,C), `att.r_k` (H,N) | | removal key, key scaling, bonus |
//! | `att.receptance/key/value/output.weight` | (C,C) | |
//! | `att.ln_x.*` | (C) | GroupNorm, eps 64e-5 |
//! | `ffn.x_k` (1,1,C), `ffn.key.weight` (F,C), `ffn.value.weight` (C,F) | | no receptance |

use std::collections::BTreeMap;

use crate::model::config::{count_layers, heads, squeezed, two, Architecture};
use crate::model::{Config, Tensor};
use crate::{Error, Result};

/// The DeepEmbed tensors (`rwkv/model.py`, `RWKV_DE_VERSION`) this forward does not run.
const DEEP_EMBED: [&str; 5] = ["s_emb", "s_emb_x", "s0", "s1", "s2"];

/// Reads an RWKV-7 [`Config`] and checks every tensor's shape against it.
pub fn from_tensors(path: &str, tensors: &BTreeMap<String, Tensor>) -> Result<Config> {
    refuse_deep_embed(path, tensors)?;
    let shape = |name: &str| squeezed(path, tensors, name);
    let [vocab_size, n_embd] = two(path, "emb.weight", &shape("emb.weight")?)?;
    let [n_head, head_size] = heads(path, tensors, "blocks.0.att.r_k")?;
    let [ffn_dim, _] = two(
        path,
        "blocks.0.ffn.key.weight",
        &shape("blocks.0.ffn.key.weight")?,
    )?;
    let n_layer = count_layers(tensors);
    let rank = |lora: &str| -> Result<usize> {
        // block 0's value LoRA may be absent (fla drops it): read the first block that has it
        let block = (0..n_layer.max(1))
            .find(|i| tensors.contains_key(&format!("blocks.{i}.att.{lora}1")))
            .unwrap_or(0);
        let name = format!("blocks.{block}.att.{lora}1");
        Ok(two(path, &name, &shape(&name)?)?[1])
    };
    let config = Config {
        arch: Architecture::Rwkv7 {
            w_lora: rank("w")?,
            a_lora: rank("a")?,
            v_lora: if n_layer > 1 { rank("v")? } else { 0 },
            g_lora: rank("g")?,
        },
        n_layer,
        n_embd,
        n_head,
        head_size,
        ffn_dim,
        vocab_size,
    };
    config.check_heads(path, "blocks.0.att.r_k")?;
    config.check_shapes(path, tensors)?;
    check_block0_value_lora(path, tensors, &config)?;
    Ok(config)
}

/// One line naming the first DeepEmbed tensor found.
fn refuse_deep_embed(path: &str, tensors: &BTreeMap<String, Tensor>) -> Result<()> {
    let deep = tensors.keys().find(|k| {
        k.starts_with("blocks.")
            && k.contains(".ffn.")
            && DEEP_EMBED.iter().any(|d| {
                let last = k.rsplit('.').find(|p| *p != "weight").unwrap_or("");
                last == *d
            })
    });
    match deep {
        Some(name) => Err(Error::tensor(
            path,
            name,
            "DeepEmbed RWKV-7 variant (s_emb/s0/s1/s2 tensors) is not supported",
        )),
        None => Ok(()),
    }
}

/// Block 0's `v0/v1/v2`, when present, must still have the shapes of the others (they are
/// never read: block 0 sets `v_first` instead of mixing towards it).
fn check_block0_value_lora(
    path: &str,
    tensors: &BTreeMap<String, Tensor>,
    cfg: &Config,
) -> Result<()> {
    let Architecture::Rwkv7 { v_lora, .. } = cfg.arch else {
        return Ok(());
    };
    let c = cfg.n_embd;
    for (name, want) in [
        ("blocks.0.att.v0", vec![c]),
        ("blocks.0.att.v1", vec![c, v_lora]),
        ("blocks.0.att.v2", vec![v_lora, c]),
    ] {
        if let Some(t) = tensors.get(name) {
            let want_sq: Vec<usize> = want.iter().copied().filter(|&x| x != 1).collect();
            if v_lora > 0 && t.squeezed_shape() != want_sq {
                return Err(Error::tensor(
                    path,
                    name,
                    format!(
                        "shape {:?} does not match {want:?} of the other blocks",
                        t.shape
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Every tensor the RWKV-7 forward reads, with its squeezed shape (block 0's value LoRA is
/// not listed: it is never read).
pub fn expected_shapes(cfg: &Config) -> Vec<(String, Vec<usize>)> {
    let Architecture::Rwkv7 {
        w_lora,
        a_lora,
        v_lora,
        g_lora,
    } = cfg.arch
    else {
        return Vec::new();
    };
    let (c, f) = (cfg.n_embd, cfg.ffn_dim);
    let mut out = cfg.outer_shapes();
    for i in 0..cfg.n_layer {
        let p = |s: &str| format!("blocks.{i}.{s}");
        for n in ["ln1", "ln2", "att.ln_x"] {
            out.push((p(&format!("{n}.weight")), vec![c]));
            out.push((p(&format!("{n}.bias")), vec![c]));
        }
        for n in [
            "x_r", "x_w", "x_k", "x_v", "x_a", "x_g", "w0", "a0", "k_k", "k_a",
        ] {
            out.push((p(&format!("att.{n}")), vec![c]));
        }
        let mut loras = vec![("w", w_lora), ("a", a_lora), ("g", g_lora)];
        if i > 0 {
            out.push((p("att.v0"), vec![c]));
            loras.push(("v", v_lora));
        }
        for (name, rank) in loras {
            out.push((p(&format!("att.{name}1")), vec![c, rank]));
            out.push((p(&format!("att.{name}2")), vec![rank, c]));
        }
        out.push((p("att.r_k"), vec![cfg.n_head, cfg.head_size]));
        for n in ["receptance", "key", "value", "output"] {
            out.push((p(&format!("att.{n}.weight")), vec![c, c]));
        }
        out.push((p("ffn.x_k"), vec![c]));
        out.push((p("ffn.key.weight"), vec![f, c]));
        out.push((p("ffn.value.weight"), vec![c, f]));
    }
    out
}
