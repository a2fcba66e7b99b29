//! `rwkv-lens embed --model M --layers all|1,3,5 --pooling mean INPUT.txt -o out.safetensors|out.npy`
//! One sentence per line; every requested layer from one forward pass.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rwkv_lens::embed::{
    embed_all, parse_layers, BatchError, Batching, Blame, Engine, Pooling, TOO_LARGE_HINT,
};
use rwkv_lens::hub::model::open;
use rwkv_lens::io::{npy_f32, write_atomic};
use rwkv_lens::model::{checkpoint::write_safetensors, Tensor};
use rwkv_lens::tokenizer::Tokenizer;
use rwkv_lens::Error;

use super::engine::{build, load_encoder, EngineArgs};

#[derive(clap::Args)]
pub struct Args {
    /// A local checkpoint or a hub id ORG/NAME[:FILE][@REVISION]; or a local Hugging Face
    /// directory of an attention model (`config.json` with `model_type` bert or gpt2).
    #[arg(long)]
    model: String,
    /// `all` or a comma list (0 = LN0(emb), i = output of block i).
    #[arg(long, default_value = "all")]
    layers: String,
    /// Comma list of mean, last.
    #[arg(long, default_value = "mean")]
    pooling: String,
    /// `world`, a tokenizer.json or a hub id (default: the model repo's tokenizer.json, else world).
    #[arg(long)]
    tokenizer: Option<String>,
    /// Text file, one sentence per line.
    input: PathBuf,
    /// .safetensors (one tensor per layer and pooling) or .npy ([pooling][layer][sentence][C]).
    #[arg(short, long)]
    output: PathBuf,
    /// Sentences per forward pass (length-sorted batches).
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    #[command(flatten)]
    engine: EngineArgs,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let (mut engine, tokenizer) = open_engine(&a)?;
    let (n_layer, vocab) = (engine.config().n_layer, engine.config().vocab_size);
    let layers = parse_layers(&a.layers, n_layer)?;
    let poolings = Pooling::parse_list(&a.pooling)?;
    let tokens = tokenize_lines(&a, &tokenizer, vocab)?;
    eprintln!("engine: {}", engine.name());
    let bar = indicatif::ProgressBar::new(tokens.len() as u64);
    let opt = Batching {
        layers: &layers,
        poolings: &poolings,
        max_batch: a.batch_size,
        what: &a.model,
        blame: Blame::Earliest,
    };
    let emb = embed_all(engine.as_mut(), &tokens, &opt, |d| {
        bar.set_position(d as u64)
    })
    .map_err(|e| by_line(e, &a))?;
    bar.finish_and_clear();
    let bytes = if a.output.extension().is_some_and(|e| e == "npy") {
        npy_f32(&[poolings.len(), layers.len(), emb.n, emb.dim], &emb.data)
    } else {
        let mut tensors = Vec::new();
        for (p, pooling) in poolings.iter().enumerate() {
            for (l, layer) in layers.iter().enumerate() {
                let rows: Vec<f32> = (0..emb.n).flat_map(|t| emb.get(p, l, t).to_vec()).collect();
                tensors.push((
                    format!("layer{layer}.{}", pooling.name()),
                    Tensor::from_f32(vec![emb.n, emb.dim], &rows),
                ));
            }
        }
        write_safetensors(&tensors)?
    };
    write_atomic(&a.output, &bytes).context("writing the embeddings")?;
    println!(
        "wrote {} ({} sentences × {} layers × {} poolings × {})",
        a.output.display(),
        emb.n,
        layers.len(),
        poolings.len(),
        emb.dim
    );
    Ok(())
}

/// The engine and tokenizer of `--model`: an attention model's directory brings its own
/// tokenizer; an RWKV checkpoint takes `--tokenizer` (or its repo's).
fn open_engine(a: &Args) -> anyhow::Result<(Box<dyn Engine>, Tokenizer)> {
    if let Some(found) = load_encoder(Path::new(&a.model), &a.engine)? {
        return Ok(found);
    }
    let model = open(&a.model, a.tokenizer.as_deref())?;
    Ok((build(&model.checkpoint, &a.engine)?, model.tokenizer))
}

/// Token ids of every line of the input, each non-empty and inside the vocabulary.
fn tokenize_lines(a: &Args, tokenizer: &Tokenizer, vocab: usize) -> Result<Vec<Vec<u32>>, Error> {
    let text = std::fs::read_to_string(&a.input)
        .map_err(|e| Error::file(a.input.display(), format!("cannot read: {e}")))?;
    if text.is_empty() {
        let why = "no sentences (expected one sentence per line)";
        return Err(Error::file(a.input.display(), why));
    }
    let row = |i: usize, e: String| Error::row(a.input.display(), i + 1, e);
    let ids = |(i, line): (usize, &str)| {
        let ids = tokenizer.encode(line).map_err(|e| row(i, e.to_string()))?;
        match rwkv_lens::embed::outside_vocabulary(&ids, vocab) {
            Some(why) => Err(row(i, why)),
            None => Ok(ids),
        }
    };
    text.lines().enumerate().map(ids).collect()
}

/// A failed embedding told by the input line it concerns.
fn by_line(e: BatchError, a: &Args) -> Error {
    let line = |i: usize| format!("{}: {}:{}", a.model, a.input.display(), i + 1);
    match e {
        BatchError::NonFinite { index, why } => Error::NonFinite(format!("{}: {why}", line(index))),
        BatchError::NonFiniteTogether { first, len, why } => Error::NonFinite(format!(
            "{}: {why} in a batch of {len} lines; each alone is finite",
            line(first)
        )),
        BatchError::TooLarge { index, .. } => Error::out_of_memory(format!(
            "{}: even this line alone does not fit the device ({TOO_LARGE_HINT})",
            line(index)
        )),
        BatchError::Device { error, .. } | BatchError::Engine(error) => error,
    }
}
