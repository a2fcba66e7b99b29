//! `rwkv-lens trace --model M --text "..." --layer L --head H -o trace.json`: one head
//! of one block stepped token by token (state, decay, bonus, read-out, influences).

use std::path::PathBuf;

use anyhow::Context;
use rwkv_lens::hub::model::open;
use rwkv_lens::reference::Weights;

#[derive(clap::Args)]
pub struct Args {
    /// A local checkpoint or a hub id ORG/NAME[:FILE][@REVISION].
    #[arg(long)]
    model: String,
    /// The text to read.
    #[arg(long)]
    text: String,
    /// Block, 1-based (1..=L).
    #[arg(long, default_value_t = 1)]
    layer: usize,
    /// Head, 0-based.
    #[arg(long, default_value_t = 0)]
    head: usize,
    /// `world`, a tokenizer.json or a hub id (default: the model repo's tokenizer.json, else world).
    #[arg(long)]
    tokenizer: Option<String>,
    #[arg(short, long, default_value = "trace.json")]
    output: PathBuf,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let model = open(&a.model, a.tokenizer.as_deref())?;
    let (ckpt, tokenizer) = (model.checkpoint, model.tokenizer);
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
