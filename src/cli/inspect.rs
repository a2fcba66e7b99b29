//! `rwkv-lens inspect MODEL`

use std::path::PathBuf;

use rwkv_lens::model::load::load;

#[derive(clap::Args)]
pub struct Args {
    /// A .safetensors file, a shard index (*.safetensors.index.json) or a directory.
    model: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let ckpt = load(&args.model)?;
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
