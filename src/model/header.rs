//! The safetensors header, read alone: names, dtypes, shapes, byte ranges and
//! `__metadata__`, each range checked against the file's size. One reader for the loader
//! (to name what a refused file gets wrong), the metadata lookup (`load::safetensors_metadata`)
//! and the page, which reads the header by a range request before any tensor.
//!
//! Layout: `u64 little-endian n` · `n bytes of JSON` · data. The JSON maps each tensor name
//! to `{dtype, shape, data_offsets: [begin, end]}` (relative to the data start) and may
//! hold `__metadata__` (string → string).
//!
//! Why not `safetensors::SafeTensors::read_metadata`: it takes the whole file (it checks
//! the data section's length against the buffer it is given), while the page and the
//! metadata lookup hold only the header's bytes; and its refusals (`TensorInvalidInfo`,
//! `InvalidHeaderLength`) do not name the tensor or the sizes. The JSON is still decoded by
//! the crate's own types (`TensorInfo`, `Dtype`); this file adds the range checks with
//! messages that name the tensor. Whole files are still opened by `SafeTensors::deserialize`
//! (`checkpoint.rs`), which asks this reader why when it refuses one.

use std::collections::BTreeMap;

use safetensors::tensor::TensorInfo;
pub use safetensors::Dtype;

use crate::{Error, Result};

/// Largest header accepted: the `safetensors` crate's own limit (real ones are tens of KB).
pub const MAX_HEADER: u64 = 100_000_000;

/// One tensor's entry: its dtype and shape as stored, and where its bytes are.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub name: String,
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    /// Absolute byte range in the file.
    pub begin: u64,
    pub end: u64,
}

/// A parsed header: entries sorted by offset (then name).
#[derive(Debug, Clone)]
pub struct Header {
    pub entries: Vec<Entry>,
    pub metadata: BTreeMap<String, String>,
    /// Where tensor data starts (8 + header length).
    pub data_start: u64,
}

/// The header's JSON as the crate's types decode it.
#[derive(serde::Deserialize)]
struct Json {
    #[serde(rename = "__metadata__", default)]
    metadata: BTreeMap<String, String>,
    #[serde(flatten)]
    tensors: BTreeMap<String, TensorInfo>,
}

/// Length of the JSON header from the first 8 bytes of a `file_bytes`-byte file.
pub fn header_len(source: &str, first8: &[u8], file_bytes: u64) -> Result<u64> {
    let bytes: [u8; 8] = (first8.get(..8).and_then(|b| b.try_into().ok()))
        .ok_or_else(|| Error::file(source, "shorter than 8 bytes: not a safetensors file"))?;
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(Error::file(
            source,
            "a PyTorch .pth (zip) checkpoint: convert it first with `rwkv-lens convert IN.pth OUT.safetensors`",
        ));
    }
    let n = u64::from_le_bytes(bytes);
    let follow = file_bytes.saturating_sub(8);
    if n > follow {
        return Err(Error::file(
            source,
            format!("the first 8 bytes announce a {n}-byte header but only {follow} bytes follow: truncated, or not a safetensors file"),
        ));
    }
    if n == 0 || n > MAX_HEADER {
        return Err(Error::file(
            source,
            format!("the first 8 bytes announce a {n}-byte header: not a safetensors file"),
        ));
    }
    Ok(n)
}

/// Parses the JSON header of a `file_bytes`-byte file and checks every tensor's range: its
/// length is its shape × dtype, and it lies inside the data section.
pub fn parse(source: &str, json: &[u8], file_bytes: u64) -> Result<Header> {
    let data_start = 8 + json.len() as u64;
    let raw: Json = serde_json::from_slice(json)
        .map_err(|e| Error::file(source, format!("safetensors header is not valid: {e}")))?;
    let mut entries: Vec<Entry> = (raw.tensors.into_iter())
        .map(|(name, info)| Entry {
            name,
            dtype: info.dtype,
            shape: info.shape,
            begin: data_start + info.data_offsets.0 as u64,
            end: data_start + info.data_offsets.1 as u64,
        })
        .collect();
    entries.sort_by(|a, b| (a.begin, &a.name).cmp(&(b.begin, &b.name)));
    let data_len = file_bytes.saturating_sub(data_start);
    for e in &entries {
        e.check(data_start, data_len)
            .map_err(|why| Error::tensor(source, &e.name, why))?;
    }
    Ok(Header {
        entries,
        metadata: raw.metadata,
        data_start,
    })
}

/// [`header_len`] then [`parse`] over a whole file held in memory.
pub fn read_bytes(source: &str, bytes: &[u8]) -> Result<Header> {
    let len = bytes.len() as u64;
    let n = header_len(source, bytes, len)? as usize;
    parse(source, &bytes[8..8 + n], len)
}

/// The header of a file on disk; only its first `8 + n` bytes are read.
#[cfg(feature = "native")]
pub fn read_file(path: &std::path::Path) -> Result<Header> {
    use std::io::Read;
    let shown = path.display().to_string();
    let bad = |e: String| Error::file(&shown, e);
    let mut f = std::fs::File::open(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let len = f
        .metadata()
        .map_err(|e| bad(format!("cannot read: {e}")))?
        .len();
    let mut first8 = [0u8; 8];
    f.read_exact(&mut first8)
        .map_err(|_| bad("shorter than 8 bytes: not a safetensors file".into()))?;
    let n = header_len(&shown, &first8, len)?;
    let mut json = Vec::new();
    (f.take(n).read_to_end(&mut json)).map_err(|e| bad(format!("cannot read the header: {e}")))?;
    parse(&shown, &json, len)
}

impl Entry {
    /// Bytes as stored.
    pub fn bytes(&self) -> u64 {
        self.end - self.begin
    }

    /// Why this entry's range is wrong for a data section of `data_len` bytes, if it is.
    fn check(&self, data_start: u64, data_len: u64) -> std::result::Result<(), String> {
        let (start, stop) = (self.begin - data_start, self.end - data_start);
        let (shape, dtype) = (&self.shape, self.dtype);
        let bits = (shape.iter()).try_fold(dtype.bitsize() as u64, |a, &d| a.checked_mul(d as u64));
        match bits.map(|b| b.div_ceil(8)) {
            None => Err(format!("shape {shape:?} overflows")),
            Some(need) if stop.checked_sub(start) != Some(need) => Err(format!(
                "header gives bytes [{start}, {stop}) but shape {shape:?} of {dtype:?} needs {need} bytes"
            )),
            _ if stop > data_len => Err(format!(
                "header gives bytes [{start}, {stop}) but the data section holds {data_len} bytes (file truncated?)"
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file: 8-byte length, the JSON, `data` bytes of zeros.
    fn file(json: &str, data: usize) -> Vec<u8> {
        let mut b = (json.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(json.as_bytes());
        b.resize(b.len() + data, 0);
        b
    }

    #[test]
    fn reads_entries_by_offset_and_metadata() {
        let json = r#"{"__metadata__":{"k":"v"},"b":{"dtype":"F16","shape":[2,3],"data_offsets":[16,28]},"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#;
        let h = read_bytes("m", &file(json, 28)).unwrap();
        assert_eq!(h.metadata["k"], "v");
        let names: Vec<_> = h.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(h.entries[1].begin, h.data_start + 16);
        assert_eq!((h.entries[1].dtype, h.entries[1].bytes()), (Dtype::F16, 12));
    }

    #[test]
    fn names_the_tensor_and_the_sizes() {
        let json = r#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,12]}}"#;
        let e = read_bytes("m", &file(json, 12)).unwrap_err().to_string();
        assert_eq!(
            e,
            "m: tensor `a`: header gives bytes [0, 12) but shape [4] of F32 needs 16 bytes"
        );
        let json = r#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#;
        let e = read_bytes("m", &file(json, 8)).unwrap_err().to_string();
        assert!(e.contains("data section holds 8 bytes"), "{e}");
        let e = read_bytes("m", &[9, 0, 0, 0, 0, 0, 0, 0, 1])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("announce a 9-byte header but only 1 bytes"),
            "{e}"
        );
        let e = read_bytes("m.pth", b"PK\x03\x04\0\0\0\0")
            .unwrap_err()
            .to_string();
        assert!(e.contains("rwkv-lens convert"), "{e}");
        let e = read_bytes("m", &file("[1]", 0)).unwrap_err().to_string();
        assert!(e.starts_with("m: safetensors header is not valid"), "{e}");
    }
}
