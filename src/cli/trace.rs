//! `rwkv-lens trace --model M --text "..." --layer L --head H -o trace.json`: one head
//! of one block stepped token by token (state, decay, bonus, read-out, influences).

use std::path::PathBuf;

use anyhow::Context;
use rwkv_lens::model::load::load;
use rwkv_lens::reference::Weights;
use rwkv_lens::tokenizer::Tokenizer;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    model: PathBuf,
    /// The text to read.
    #[arg(long)]
    text: String,
    /// Block, 1-based (1..=L).
    #[arg(long, default_value_t = 1)]
    layer: usize,
    /// Head, 0-based.
    #[arg(long, default_value_t = 0)]
    head: usize,
    /// `world` or a tokenizer.json path.
    #[arg(long, default_value = "world")]
    tokenizer: String,
    #[arg(short, long, default_value = "trace.json")]
    output: PathBuf,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let ckpt = load(&a.model)?;
    let tokenizer = Tokenizer::from_spec(&a.tokenizer)?;
    let tokens = tokenizer.encode(&a.text).context("--text")?;
    let weights = Weights::from_checkpoint(&ckpt)?;
    let trace = rwkv_lens::trace::trace_with(&weights, &tokens, a.layer, a.head, |t| {
        tokenizer.decode(&[t]).ok()
    })?;
    rwkv_lens::trace::write_json(&trace, &a.output)?;
    println!(
        "wrote {} ({} tokens, block {}, head {})",
        a.output.display(),
        tokens.len(),
        a.layer,
        a.head
    );
    Ok(())
}
