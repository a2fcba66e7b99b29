//! `rwkv-lens convert IN.pth OUT.safetensors`: an official `.pth` (or any checkpoint we
//! read) to safetensors, without Python; the pickle is read by an allow-list VM and
//! never executed. An attention model (a Hugging Face directory with `config.json`,
//! or its `model.safetensors`) keeps its names; `--dtype f16` halves it for the browser.

use std::path::{Path, PathBuf};

use rwkv_lens::attention::{weights::is_buffer, TransformerWeights};
use rwkv_lens::io::write_atomic;
use rwkv_lens::model::checkpoint::{read_safetensors_where, write_safetensors};
use rwkv_lens::model::{layout::hf_name, load::load, DType, Tensor};
use rwkv_lens::Error;

#[derive(clap::Args)]
pub struct Args {
    /// Input: .pth, .safetensors or a shard index.
    input: PathBuf,
    /// Output .safetensors file.
    output: PathBuf,
    /// Storage dtype of the output.
    #[arg(long, value_parser = ["keep", "f32", "f16"], default_value = "keep")]
    dtype: String,
    /// Tensor names of the output.
    #[arg(long, value_parser = ["official", "hf"], default_value = "official")]
    layout: String,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let tensors = match rwkv_lens::attention::sentence::encoder_dir(&a.input) {
        Some(_) => attention_tensors(&a.input)?,
        None => rwkv_tensors(&a.input, &a.layout)?,
    };
    let tensors: Vec<(String, Tensor)> = tensors
        .into_iter()
        .map(|(name, t)| {
            let t = match a.dtype.as_str() {
                "f32" if t.dtype != DType::F32 => Tensor::from_f32(t.shape.clone(), &t.to_f32()),
                "f16" if t.dtype != DType::F16 => t.to_f16(),
                _ => t,
            };
            (name, t)
        })
        .collect();
    let bytes = write_safetensors(&tensors)?;
    write_atomic(&a.output, &bytes)?;
    println!(
        "wrote {} ({} tensors, {:.2} MB)",
        a.output.display(),
        tensors.len(),
        bytes.len() as f64 / 1e6
    );
    Ok(())
}

/// An RWKV checkpoint's tensors, renamed to `layout`.
fn rwkv_tensors(input: &Path, layout: &str) -> anyhow::Result<Vec<(String, Tensor)>> {
    let ckpt = load(input)?; // validates version, every shape and finiteness
    Ok(ckpt
        .tensors()
        .map(|(name, t)| {
            let name = match layout {
                "hf" => hf_name(name),
                _ => name.clone(),
            };
            (name, t.clone())
        })
        .collect())
}

/// An attention model's weights (a Hugging Face directory or its `.safetensors`; names
/// kept, buffers dropped), checked by loading them first: the browser reads the f16 copy
/// `make web` writes this way.
fn attention_tensors(input: &Path) -> anyhow::Result<Vec<(String, Tensor)>> {
    TransformerWeights::load(input)?; // validates config.json, every shape and finiteness
    let file = if input.is_dir() {
        input.join("model.safetensors")
    } else {
        input.to_path_buf()
    };
    let shown = file.display().to_string();
    let bytes =
        std::fs::read(&file).map_err(|e| Error::file(&shown, format!("cannot read: {e}")))?;
    Ok(read_safetensors_where(&shown, &bytes, |n| !is_buffer(n))?)
}
