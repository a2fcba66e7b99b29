//! `rwkv-lens random-model [--arch rwkv6|rwkv7] -o M.safetensors`: a seeded random RWKV-6
//! or RWKV-7 checkpoint with the real tensor names and shapes (for benchmarks and the source-study protocol check;
//! its numbers mean nothing linguistically).

use std::path::PathBuf;

use rwkv_lens::io::write_atomic;
use rwkv_lens::model::checkpoint::write_safetensors_with;
use rwkv_lens::model::random::{random_tensors, RandomSpec, UNTRAINED_KEY};
use rwkv_lens::model::{Architecture, DType};

#[derive(clap::Args)]
pub struct Args {
    /// The generation: RWKV-6 (Finch) or RWKV-7 (Goose).
    #[arg(long, value_parser = ["rwkv6", "rwkv7"], default_value = "rwkv6")]
    arch: String,
    /// RWKV-7 LoRA ranks `decay,rate,value,gate` (default: those of the 0.1B World model,
    /// 64,64,32,128).
    #[arg(long, value_delimiter = ',')]
    ranks: Option<Vec<usize>>,
    #[arg(long, default_value_t = 12)]
    layers: usize,
    /// Width C (a multiple of the head size 64).
    #[arg(long, default_value_t = 128)]
    embd: usize,
    /// Channel-mix width F (default: RWKV-6 3.5·C rounded down to 32, RWKV-7 4·C).
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
    let v7 = a.arch == "rwkv7";
    let mut spec = RandomSpec::tiny(a.seed);
    spec.n_layer = a.layers;
    spec.n_embd = a.embd;
    spec.ffn_dim = match v7 {
        true => a.ffn.unwrap_or(4 * a.embd),
        false => a.ffn.unwrap_or(a.embd * 7 / 2 / 32 * 32),
    };
    if v7 {
        let [w, r, v, g] = a.ranks.as_deref().unwrap_or(&[64, 64, 32, 128]) else {
            anyhow::bail!("--ranks takes four numbers: decay,rate,value,gate");
        };
        spec.arch = Architecture::Rwkv7 {
            w_lora: *w,
            a_lora: *r,
            v_lora: *v,
            g_lora: *g,
        };
    } else if a.ranks.is_some() {
        anyhow::bail!("--ranks is for --arch rwkv7 (RWKV-6's ranks are fixed at 8 and 16 here)");
    }
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
        "wrote {} (random {}: {} layers, C={}, F={}, vocab {})",
        a.output.display(),
        spec.arch.name(),
        spec.n_layer,
        spec.n_embd,
        spec.ffn_dim,
        spec.vocab_size
    );
    Ok(())
}
