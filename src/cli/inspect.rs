//! `rwkv-lens inspect MODEL`

use rwkv_lens::hub::{model::resolve, Hub};

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
    println!("version     {} (Finch)", c.version.name());
    println!("layers      {}", c.n_layer);
    println!("width C     {}", c.n_embd);
    println!("heads       {} × head size {}", c.n_head, c.head_size);
    println!("ffn width   {}", c.ffn_dim);
    println!("vocab       {}", c.vocab_size);
    println!(
        "LoRA ranks  token-shift {} · decay {}",
        c.mix_lora, c.decay_lora
    );
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
