//! A loaded checkpoint: canonical names → tensors, plus the detected [`Config`].

use std::collections::BTreeMap;

use super::config::Config;
use super::layout::{canonical_name, detect_layout, Layout};
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
            let canon = canonical_name(&name);
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
            if let Some(pos) = t.first_non_finite() {
                return Err(Error::tensor(
                    source,
                    name,
                    format!("non-finite weight at flat index {pos}"),
                ));
            }
        }
        Ok(Checkpoint {
            source: source.to_string(),
            config,
            layout,
            file_bytes,
            tensors,
        })
    }

    /// Parses one `.safetensors` file held in memory.
    pub fn from_safetensors_bytes(source: &str, bytes: &[u8]) -> Result<Self> {
        let raw = read_safetensors(source, bytes)?;
        Self::from_tensors(source, raw, bytes.len() as u64)
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
        let mut bytes = [0usize; 3];
        for t in self.tensors.values() {
            let i = match t.dtype {
                DType::F32 => 0,
                DType::F16 => 1,
                DType::BF16 => 2,
            };
            bytes[i] += t.bytes.len();
        }
        let max = (0..3).max_by_key(|&i| bytes[i]).unwrap_or(0);
        [DType::F32, DType::F16, DType::BF16][max]
    }
}

/// Reads every tensor of a safetensors buffer, validating header offsets and sizes.
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
    let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| {
        header_problem(source, bytes)
            .unwrap_or_else(|| Error::file(source, format!("not a valid safetensors file: {e}")))
    })?;
    let mut names = st.names();
    names.sort(); // a deterministic first error when several tensors are bad
    let mut out = Vec::new();
    for name in names.into_iter().filter(|n| keep(n)) {
        let view = st
            .tensor(name)
            .map_err(|e| Error::tensor(source, name, e))?;
        let name = name.to_string();
        let dtype = match view.dtype() {
            safetensors::Dtype::F32 => DType::F32,
            safetensors::Dtype::F16 => DType::F16,
            safetensors::Dtype::BF16 => DType::BF16,
            other => {
                return Err(Error::tensor(
                    source,
                    &name,
                    format!("dtype {other:?} is not supported (expected f32, f16 or bf16)"),
                ))
            }
        };
        let t = Tensor::new(view.shape().to_vec(), dtype, view.data().to_vec())
            .map_err(|e| Error::tensor(source, &name, e))?;
        out.push((name, t));
    }
    Ok(out)
}

/// Explains why safetensors refused a file when the crate's message would not name
/// the culprit: a header length beyond the file, or the first tensor (by offset) whose
/// byte range disagrees with its shape × dtype or runs past the data.
fn header_problem(source: &str, bytes: &[u8]) -> Option<Error> {
    let n = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let len = bytes.len() as u64;
    if n.saturating_add(8) > len {
        return Some(Error::file(
            source,
            format!("the first 8 bytes announce a {n}-byte header but only {} bytes follow: truncated, or not a safetensors file", len.saturating_sub(8)),
        ));
    }
    let data_len = len - 8 - n;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n as usize]).ok()?;
    let mut entries: Vec<(u64, &String, &serde_json::Value)> = header
        .iter()
        .filter(|(name, _)| *name != "__metadata__")
        .filter_map(|(name, info)| Some((info["data_offsets"][0].as_u64()?, name, info)))
        .collect();
    entries.sort_by_key(|(start, name, _)| (*start, *name));
    entries.into_iter().find_map(|(start, name, info)| {
        let dtype = info["dtype"].as_str()?;
        let size: u64 = match dtype {
            "F64" | "I64" | "U64" => 8,
            "F32" | "I32" | "U32" => 4,
            "F16" | "BF16" | "I16" | "U16" => 2,
            _ => 1,
        };
        let stop = info["data_offsets"][1].as_u64()?;
        let shape: Vec<u64> = (info["shape"].as_array()?.iter())
            .map(|d| d.as_u64())
            .collect::<Option<_>>()?;
        let need = shape.iter().try_fold(size, |a, &d| a.checked_mul(d));
        let msg = match need {
            None => format!("shape {shape:?} overflows"),
            Some(need) if stop.checked_sub(start) != Some(need) => format!(
                "header gives bytes [{start}, {stop}) but shape {shape:?} of {dtype} needs {need} bytes"
            ),
            _ if stop > data_len => format!(
                "header gives bytes [{start}, {stop}) but the data section holds {data_len} bytes (file truncated?)"
            ),
            _ => return None,
        };
        Some(Error::tensor(source, name, msg))
    })
}

/// Writes tensors to a safetensors buffer (names as given, dtypes as stored).
pub fn write_safetensors(tensors: &[(String, Tensor)]) -> Result<Vec<u8>> {
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(n, t)| {
            let dt = match t.dtype {
                DType::F32 => safetensors::Dtype::F32,
                DType::F16 => safetensors::Dtype::F16,
                DType::BF16 => safetensors::Dtype::BF16,
            };
            safetensors::tensor::TensorView::new(dt, t.shape.clone(), &t.bytes)
                .map(|v| (n.clone(), v))
                .map_err(|e| Error::input(format!("tensor `{n}`: {e}")))
        })
        .collect::<Result<_>>()?;
    safetensors::tensor::serialize(views, None)
        .map_err(|e| Error::input(format!("safetensors serialisation failed: {e}")))
}
