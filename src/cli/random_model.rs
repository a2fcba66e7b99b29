//! `rwkv-lens random-model -o M.safetensors`: a seeded random RWKV-6 checkpoint with the
//! real tensor names and shapes (for benchmarks and the source-study protocol check;
//! its numbers mean nothing linguistically).

use std::path::PathBuf;

use rwkv_lens::io::write_atomic;
use rwkv_lens::model::checkpoint::write_safetensors_with;
use rwkv_lens::model::random::{random_tensors, RandomSpec, UNTRAINED_KEY};
use rwkv_lens::model::DType;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 12)]
    layers: usize,
    /// Width C (a multiple of the head size 64).
    #[arg(long, default_value_t = 128)]
    embd: usize,
    /// Channel-mix width F (default 3.5·C rounded down to 32).
    #[arg(long)]
    ffn: Option<usize>,
    #[arg(long, default_value_t = 65536)]
    vocab: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, value_parser = ["f32", "f16"], default_value = "f16")]
    dtype: String,
    #[arg(short, long)]
    output: PathBuf,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let mut spec = RandomSpec::tiny(a.seed);
    spec.n_layer = a.layers;
    spec.n_embd = a.embd;
    spec.ffn_dim = a.ffn.unwrap_or(a.embd * 7 / 2 / 32 * 32);
    spec.vocab_size = a.vocab;
    spec.with_head = false;
    spec.dtype = if a.dtype == "f32" {
        DType::F32
    } else {
        DType::F16
    };
    let tensors = random_tensors(&spec)?;
    let what = format!("random weights (seed {}), not trained", a.seed);
    let bytes = write_safetensors_with(&tensors, &[(UNTRAINED_KEY, &what)])?;
    write_atomic(&a.output, &bytes)?;
    println!(
        "wrote {} (random RWKV-6: {} layers, C={}, F={}, vocab {})",
        a.output.display(),
        spec.n_layer,
        spec.n_embd,
        spec.ffn_dim,
        spec.vocab_size
    );
    Ok(())
}
