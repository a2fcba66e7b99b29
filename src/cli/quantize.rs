//! `rwkv-lens quantize MODEL OUT --format int8|nf4`: the eight projection matrices of every
//! block block-quantized (docs/quantization.md), everything else copied as stored. MODEL is
//! a local file or a hub id (`ORG/NAME[:FILE][@REV]`), as everywhere else.

use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use rwkv_lens::hub::{model::resolve, Hub};
use rwkv_lens::io::write_atomic;
use rwkv_lens::model::quant::{quantize_tensor, QuantFormat};
use rwkv_lens::model::{checkpoint::write_safetensors, Tensor};

#[derive(clap::Args)]
pub struct Args {
    /// Input: .pth, .safetensors, a shard index or a hub id (any dtype; already quantized
    /// works too).
    input: String,
    /// Output .safetensors file.
    output: PathBuf,
    /// Quantized format of the projections.
    #[arg(long, value_parser = ["int8", "nf4"])]
    format: String,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let format = QuantFormat::parse(&a.format)?;
    // validates version, every shape and finiteness
    let ckpt = resolve(&a.input, &Hub::from_env()?)?.load()?;
    let bar = ProgressBar::new(ckpt.tensors().count() as u64).with_style(
        ProgressStyle::with_template("quantize {bar:40} {pos}/{len} tensors {msg}")?,
    );
    let tensors = ckpt
        .tensors()
        .map(|(name, t)| {
            bar.inc(1);
            Ok((name.clone(), quantize_tensor(name, t, format)?))
        })
        .collect::<anyhow::Result<Vec<(String, Tensor)>>>()?;
    bar.finish_and_clear();
    let bytes = write_safetensors(&tensors)?;
    write_atomic(&a.output, &bytes)?;
    println!(
        "wrote {} ({} projections in {}, {:.2} MB; input {:.2} MB)",
        a.output.display(),
        tensors
            .iter()
            .filter(|(_, t)| t.dtype == rwkv_lens::model::DType::Quant(format))
            .count(),
        format.name(),
        bytes.len() as f64 / 1e6,
        ckpt.file_bytes as f64 / 1e6
    );
    Ok(())
}
