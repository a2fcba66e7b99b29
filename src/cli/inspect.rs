//! `rwkv-lens inspect MODEL`

use rwkv_lens::hub::{model::resolve, Hub};
use rwkv_lens::model::Architecture;

#[derive(clap::Args)]
pub struct Args {
    /// A .safetensors/.pth file, a shard index, a directory, or a hub id
    /// ORG/NAME[:FILE][@REVISION].
    model: String,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let ckpt = resolve(&args.model, &Hub::from_env()?)?.load()?;
    let c = &ckpt.config;
    println!("file        {}", ckpt.source);
    println!("layout      {:?}", ckpt.layout);
    match c.arch.nickname() {
        Some(nick) => println!("version     {} ({nick})", c.arch.name()),
        None => println!("version     {}", c.arch.name()),
    }
    println!("layers      {}", c.n_layer);
    println!("width C     {}", c.n_embd);
    println!("heads       {} × head size {}", c.n_head, c.head_size);
    println!("ffn width   {}", c.ffn_dim);
    println!("vocab       {}", c.vocab_size);
    println!("LoRA ranks  {}", lora_ranks(c.arch));
    let params = c.parameter_count(ckpt.has_head());
    println!(
        "parameters  {} ({:.2} M){}",
        params,
        params as f64 / 1e6,
        if ckpt.has_head() { "" } else { ", no LM head" }
    );
    println!("dtype       {}", ckpt.dominant_dtype().name());
    println!(
        "file size   {} bytes ({:.2} MB)",
        ckpt.file_bytes,
        ckpt.file_bytes as f64 / 1e6
    );
    Ok(())
}

/// Each LoRA's rank in the family's own words.
fn lora_ranks(arch: Architecture) -> String {
    match arch {
        Architecture::Rwkv6 {
            mix_lora,
            decay_lora,
        } => format!("token-shift {mix_lora} · decay {decay_lora}"),
        Architecture::Rwkv7 {
            w_lora,
            a_lora,
            v_lora,
            g_lora,
        } => format!("decay {w_lora} · in-context rate {a_lora} · value {v_lora} · gate {g_lora}"),
        _ => "none".into(),
    }
}
