//! A loaded checkpoint: canonical names → tensors, plus the detected [`Config`].

use std::collections::BTreeMap;

use super::config::Config;
use super::layout::{canonical, detect_layout, Layout, Reshape};
use super::quant::QuantSpec;
use super::storage::{Bytes, Shared};
use super::tensor::{DType, Tensor};
use crate::{Error, Result};

/// Canonical (official-layout) tensors of one RWKV-6 model.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// Where it came from (file name or URL), used in every error message.
    pub source: String,
    pub config: Config,
    /// Layout of the names as they were found in the file.
    pub layout: Layout,
    /// Bytes of the file(s) read.
    pub file_bytes: u64,
    tensors: BTreeMap<String, Tensor>,
}

impl Checkpoint {
    /// Canonicalises names, squeezes nothing (shapes stay as stored), detects the
    /// config, checks every shape and refuses NaN/Inf weights.
    pub fn from_tensors(source: &str, raw: Vec<(String, Tensor)>, file_bytes: u64) -> Result<Self> {
        let layout = detect_layout(raw.iter().map(|(n, _)| n.as_str()));
        let mut tensors = BTreeMap::new();
        for (name, t) in raw {
            let (canon, reshape) = canonical(&name);
            let t = match reshape {
                Reshape::Keep => t,
                Reshape::Transpose => transposed(source, &name, t)?,
            };
            if tensors.insert(canon.clone(), t).is_some() {
                return Err(Error::tensor(
                    source,
                    canon,
                    "appears twice after mapping to official names",
                ));
            }
        }
        let config = Config::from_tensors(source, &tensors)?;
        for (name, t) in &tensors {
            check_finite(source, name, t)?;
        }
        Ok(Checkpoint {
            source: source.to_string(),
            config,
            layout,
            file_bytes,
            tensors,
        })
    }

    /// Parses one `.safetensors` file held in memory (tensors are copied out).
    pub fn from_safetensors_bytes(source: &str, bytes: &[u8]) -> Result<Self> {
        let raw = read_safetensors(source, bytes)?;
        Self::from_tensors(source, raw, bytes.len() as u64)
    }

    /// Parses one `.safetensors` file in a shared buffer (tensors are views into it).
    pub fn from_safetensors_shared(source: &str, file: &Shared) -> Result<Self> {
        let raw = read_safetensors_shared(source, file)?;
        Self::from_tensors(source, raw, file.as_slice().len() as u64)
    }

    /// The tensor with this canonical name.
    pub fn get(&self, name: &str) -> Result<&Tensor> {
        self.tensors
            .get(name)
            .ok_or_else(|| Error::tensor(&self.source, name, "missing"))
    }

    /// The tensor as f32 values (row-major).
    pub fn f32(&self, name: &str) -> Result<Vec<f32>> {
        Ok(self.get(name)?.to_f32())
    }

    /// Whether the LM head is present (only used for verification, never for embeddings).
    pub fn has_head(&self) -> bool {
        self.tensors.contains_key("head.weight")
    }

    /// All canonical names and tensors.
    pub fn tensors(&self) -> impl Iterator<Item = (&String, &Tensor)> {
        self.tensors.iter()
    }

    /// The dtype most tensors are stored in.
    pub fn dominant_dtype(&self) -> DType {
        let mut bytes: Vec<(DType, usize)> = Vec::new();
        for t in self.tensors.values() {
            match bytes.iter_mut().find(|(d, _)| *d == t.dtype) {
                Some((_, n)) => *n += t.bytes.len(),
                None => bytes.push((t.dtype, t.bytes.len())),
            }
        }
        bytes
            .into_iter()
            .max_by_key(|&(_, n)| n)
            .map_or(DType::F32, |(d, _)| d)
    }
}

/// A 2-axis float matrix with its axes swapped (a port's transposed LoRA factor).
fn transposed(source: &str, name: &str, t: Tensor) -> Result<Tensor> {
    let (&[rows, cols], false) = (&t.shape[..], matches!(t.dtype, DType::Quant(_))) else {
        let why = format!(
            "expected a 2-axis float matrix to transpose, got {:?} {}",
            t.shape,
            t.dtype.name()
        );
        return Err(Error::tensor(source, name, why));
    };
    let size = t.dtype.size();
    let mut out = vec![0u8; t.bytes.len()];
    for (i, row) in t.bytes.chunks_exact(cols * size).enumerate() {
        for (j, value) in row.chunks_exact(size).enumerate() {
            out[(j * rows + i) * size..][..size].copy_from_slice(value);
        }
    }
    Tensor::new(vec![cols, rows], t.dtype, out)
}

/// Refuses a tensor holding NaN or ±Inf (quantized: a negative or non-finite scale).
pub fn check_finite(source: &str, name: &str, t: &Tensor) -> Result<()> {
    let Some(pos) = t.first_non_finite() else {
        return Ok(());
    };
    let msg = match t.dtype {
        DType::Quant(f) => format!(
            "{} scale #{pos} is negative or non-finite: corrupt quantized file",
            f.name()
        ),
        _ => format!("non-finite weight at flat index {pos}"),
    };
    Err(Error::tensor(source, name, msg))
}

/// Reads every tensor of a safetensors buffer, validating header offsets and sizes
/// (each tensor's bytes are copied out of `bytes`).
pub fn read_safetensors(source: &str, bytes: &[u8]) -> Result<Vec<(String, Tensor)>> {
    read_safetensors_where(source, bytes, |_| true)
}

/// Reads the tensors whose names pass `keep` (the others, e.g. integer buffers such as
/// BERT's `embeddings.position_ids`, are not decoded at all).
pub fn read_safetensors_where(
    source: &str,
    bytes: &[u8],
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<(String, Tensor)>> {
    parse_safetensors(source, bytes, keep, |data| data.to_vec().into())
}

/// [`read_safetensors`] without copies: every tensor is a view into `file`.
pub fn read_safetensors_shared(source: &str, file: &Shared) -> Result<Vec<(String, Tensor)>> {
    parse_safetensors(
        source,
        file.as_slice(),
        |_| true,
        |data| file.slice_of(data),
    )
}

/// The tensors named by `keep`, their bytes held as `hold` makes them (a copy or a view).
fn parse_safetensors(
    source: &str,
    bytes: &[u8],
    keep: impl Fn(&str) -> bool,
    hold: impl Fn(&[u8]) -> Bytes,
) -> Result<Vec<(String, Tensor)>> {
    let invalid = |e: safetensors::SafeTensorError| {
        header_problem(source, bytes)
            .unwrap_or_else(|| Error::file(source, format!("not a valid safetensors file: {e}")))
    };
    let st = safetensors::SafeTensors::deserialize(bytes).map_err(invalid)?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).map_err(invalid)?;
    let meta = meta.metadata().clone().unwrap_or_default();
    let mut names = st.names();
    names.sort(); // a deterministic first error when several tensors are bad
    let mut out = Vec::new();
    for name in names.into_iter().filter(|n| keep(n)) {
        let view = st
            .tensor(name)
            .map_err(|e| Error::tensor(source, name, e))?;
        let quant = meta.get(&QuantSpec::key(name));
        let (shape, dtype) = match (view.dtype(), quant) {
            (safetensors::Dtype::F32, None) => (view.shape().to_vec(), DType::F32),
            (safetensors::Dtype::F16, None) => (view.shape().to_vec(), DType::F16),
            (safetensors::Dtype::BF16, None) => (view.shape().to_vec(), DType::BF16),
            (safetensors::Dtype::U8, Some(json)) => {
                let spec = QuantSpec::check(source, name, json, view.shape())?;
                (spec.shape, DType::Quant(spec.format))
            }
            (other, _) => {
                return Err(Error::tensor(
                    source,
                    name,
                    format!("dtype {other:?} is not supported (expected f32, f16 or bf16, or u8 with quantization metadata)"),
                ))
            }
        };
        let t = Tensor::new(shape, dtype, hold(view.data()))
            .map_err(|e| Error::tensor(source, name, e))?;
        out.push((name.to_string(), t));
    }
    Ok(out)
}

/// Explains why safetensors refused a file when the crate's message would not name
/// the culprit (a header length beyond the file, a tensor whose byte range disagrees with
/// its shape × dtype or runs past the data): the one header reader's verdict.
fn header_problem(source: &str, bytes: &[u8]) -> Option<Error> {
    super::header::read_bytes(source, bytes).err()
}

/// Writes tensors to a safetensors buffer (names as given, dtypes as stored; quantized
/// tensors as `U8` rows with a `quant.<name>` metadata entry, see [`QuantSpec`]).
pub fn write_safetensors(tensors: &[(String, Tensor)]) -> Result<Vec<u8>> {
    write_safetensors_with(tensors, &[])
}

/// [`write_safetensors`] with extra `__metadata__` entries (e.g. [`super::random::UNTRAINED_KEY`]).
pub fn write_safetensors_with(
    tensors: &[(String, Tensor)],
    extra: &[(&str, &str)],
) -> Result<Vec<u8>> {
    let mut meta: std::collections::HashMap<String, String> = (extra.iter())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(n, t)| {
            let (dt, shape) = match t.dtype {
                DType::F32 => (safetensors::Dtype::F32, t.shape.clone()),
                DType::F16 => (safetensors::Dtype::F16, t.shape.clone()),
                DType::BF16 => (safetensors::Dtype::BF16, t.shape.clone()),
                DType::Quant(format) => {
                    let spec = QuantSpec {
                        format,
                        shape: vec![t.shape[0], t.cols()],
                        group_size: super::quant::GROUP,
                    };
                    let json =
                        serde_json::to_string(&spec).map_err(|e| Error::input(e.to_string()))?;
                    meta.insert(QuantSpec::key(n), json);
                    (
                        safetensors::Dtype::U8,
                        vec![t.shape[0], format.row_bytes(t.cols())],
                    )
                }
            };
            safetensors::tensor::TensorView::new(dt, shape, &t.bytes)
                .map(|v| (n.clone(), v))
                .map_err(|e| Error::input(format!("tensor `{n}`: {e}")))
        })
        .collect::<Result<_>>()?;
    let meta = (!meta.is_empty()).then_some(meta);
    safetensors::tensor::serialize(views, meta)
        .map_err(|e| Error::input(format!("safetensors serialisation failed: {e}")))
}
