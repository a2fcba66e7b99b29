//! `rwkv-lens convert IN.pth OUT.safetensors`: an official `.pth` (or any checkpoint we
//! read) to safetensors, without Python; the pickle is read by an allow-list VM and
//! never executed.

use std::path::PathBuf;

use rwkv_lens::io::write_atomic;
use rwkv_lens::model::{checkpoint::write_safetensors, layout::hf_name, load::load, DType, Tensor};

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
    let ckpt = load(&a.input)?; // validates version, every shape and finiteness
    let tensors: Vec<(String, Tensor)> = ckpt
        .tensors()
        .map(|(name, t)| {
            let name = if a.layout == "hf" {
                hf_name(name)
            } else {
                name.clone()
            };
            let t = match a.dtype.as_str() {
                "f32" if t.dtype != DType::F32 => Tensor::from_f32(t.shape.clone(), &t.to_f32()),
                "f16" if t.dtype != DType::F16 => Tensor::new(
                    t.shape.clone(),
                    DType::F16,
                    bytemuck::cast_slice(&t.to_f16_bits()).to_vec(),
                )
                .expect("same element count"),
                _ => t.clone(),
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
