//! The safetensors header, read before any tensor: names, dtypes, shapes and byte ranges,
//! plus a summary (dimensions, parameters, size, label) to show before loading.
//!
//! File layout: `u64 little-endian n` · `n bytes of JSON` · tensor data. The JSON maps each
//! name to `{dtype, shape, data_offsets: [begin, end]}` (offsets relative to the data start)
//! and may hold `__metadata__` (string → string).

use std::collections::BTreeMap;

use rwkv_lens::gpu::Precision;
use rwkv_lens::model::config::Config;
use rwkv_lens::model::layout::{canonical_name, detect_layout};
use rwkv_lens::model::quant::is_projection;
use rwkv_lens::model::{DType, Layout, Tensor};
use rwkv_lens::{Error, Result};

/// Largest header we accept (real ones are tens of KB).
const MAX_HEADER: u64 = 100 << 20;

/// One tensor's entry: where its bytes are in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
    /// Absolute byte range in the file.
    pub begin: u64,
    pub end: u64,
}

/// A parsed header.
#[derive(Debug, Clone)]
pub struct Header {
    pub entries: Vec<Entry>,
    pub metadata: BTreeMap<String, String>,
    /// Where tensor data starts (8 + header length).
    pub data_start: u64,
}

/// What the page shows before loading: everything comes from the header alone.
#[derive(Debug, Clone)]
pub struct Summary {
    pub config: Config,
    pub layout: Layout,
    pub dtype: DType,
    pub parameters: usize,
    pub file_bytes: u64,
    /// Largest tensor by bytes as stored: (name, bytes).
    pub largest: (String, u64),
    /// `__metadata__["rwkv_lens_model"]`, e.g. "constructed demo model, not trained".
    pub label: Option<String>,
    /// `__metadata__["rwkv_lens_description"]`: what the model does, in a few sentences.
    pub description: Option<String>,
}

/// Length of the JSON header from the first 8 bytes of the file.
pub fn header_len(source: &str, first8: &[u8], file_bytes: u64) -> Result<u64> {
    let bytes: [u8; 8] = first8
        .try_into()
        .map_err(|_| Error::file(source, "shorter than 8 bytes: not a safetensors file"))?;
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(Error::file(
            source,
            "a PyTorch .pth (zip) checkpoint: convert it first with `rwkv-lens convert IN.pth OUT.safetensors`",
        ));
    }
    let n = u64::from_le_bytes(bytes);
    if n == 0 || n > MAX_HEADER || 8 + n > file_bytes {
        return Err(Error::file(
            source,
            format!(
                "header length {n} does not fit a {file_bytes}-byte file: not a safetensors file"
            ),
        ));
    }
    Ok(n)
}

/// Parses the JSON header and checks every range against the file size.
pub fn parse(source: &str, json: &[u8], file_bytes: u64) -> Result<Header> {
    let data_start = 8 + json.len() as u64;
    let value: serde_json::Value = serde_json::from_slice(json)
        .map_err(|e| Error::file(source, format!("safetensors header is not valid JSON: {e}")))?;
    let map = value
        .as_object()
        .ok_or_else(|| Error::file(source, "safetensors header is not a JSON object"))?;
    let mut entries = Vec::new();
    let mut metadata = BTreeMap::new();
    for (name, v) in map {
        if name == "__metadata__" {
            for (k, m) in v.as_object().into_iter().flatten() {
                metadata.insert(k.clone(), m.as_str().unwrap_or_default().to_string());
            }
            continue;
        }
        entries.push(entry(source, name, v, data_start, file_bytes)?);
    }
    entries.sort_by_key(|e| e.begin);
    Ok(Header {
        entries,
        metadata,
        data_start,
    })
}

fn entry(source: &str, name: &str, v: &serde_json::Value, start: u64, size: u64) -> Result<Entry> {
    let bad = |msg: &str| Error::tensor(source, name, msg);
    let dtype = match v.get("dtype").and_then(|d| d.as_str()) {
        Some("F32") => DType::F32,
        Some("F16") => DType::F16,
        Some("BF16") => DType::BF16,
        Some(other) => {
            return Err(bad(&format!(
                "dtype {other} is not supported (expected F32, F16 or BF16)"
            )))
        }
        None => return Err(bad("no dtype in the header")),
    };
    let shape: Vec<usize> = v
        .get("shape")
        .and_then(|s| s.as_array())
        .ok_or_else(|| bad("no shape in the header"))?
        .iter()
        .map(|d| d.as_u64().map(|d| d as usize))
        .collect::<Option<_>>()
        .ok_or_else(|| bad("shape is not a list of sizes"))?;
    let offsets = v
        .get("data_offsets")
        .and_then(|o| o.as_array())
        .and_then(|o| Some((o.first()?.as_u64()?, o.get(1)?.as_u64()?)))
        .ok_or_else(|| bad("no data_offsets [begin, end] in the header"))?;
    let (begin, end) = (start + offsets.0, start + offsets.1);
    let want = shape.iter().product::<usize>() as u64 * dtype.size() as u64;
    if end < begin || end - begin != want {
        return Err(bad(&format!(
            "byte range {}..{} does not hold shape {shape:?} {}",
            offsets.0,
            offsets.1,
            dtype.name()
        )));
    }
    if end > size {
        return Err(bad(&format!(
            "ends at byte {end}, past the end of the {size}-byte file (truncated download?)"
        )));
    }
    Ok(Entry {
        name: name.to_string(),
        dtype,
        shape,
        begin,
        end,
    })
}

impl Header {
    /// Dimensions and size from the shapes alone (no tensor data read); refuses a
    /// checkpoint that is not RWKV-6 with the library's own one-line errors.
    pub fn summary(&self, source: &str, file_bytes: u64) -> Result<Summary> {
        // Shape-only stand-ins: Config reads names and shapes, never bytes.
        let shells: BTreeMap<String, Tensor> = self
            .entries
            .iter()
            .map(|e| {
                let t = Tensor {
                    shape: e.shape.clone(),
                    dtype: e.dtype,
                    bytes: Vec::<u8>::new().into(),
                };
                (canonical_name(&e.name), t)
            })
            .collect();
        let config = Config::from_tensors(source, &shells)?;
        let layout = detect_layout(self.entries.iter().map(|e| e.name.as_str()));
        let largest = self
            .entries
            .iter()
            .max_by_key(|e| e.end - e.begin)
            .map(|e| (e.name.clone(), e.end - e.begin))
            .unwrap_or_default();
        let mut by_dtype: BTreeMap<&str, u64> = BTreeMap::new();
        for e in &self.entries {
            *by_dtype.entry(e.dtype.name()).or_default() += e.end - e.begin;
        }
        let dtype = self
            .entries
            .iter()
            .max_by_key(|e| by_dtype[e.dtype.name()])
            .map_or(DType::F32, |e| e.dtype);
        Ok(Summary {
            parameters: self
                .entries
                .iter()
                .map(|e| e.shape.iter().product::<usize>())
                .sum(),
            label: self.metadata.get("rwkv_lens_model").cloned(),
            description: self.metadata.get("rwkv_lens_description").cloned(),
            config,
            layout,
            dtype,
            file_bytes,
            largest,
        })
    }
}

/// Refuses a checkpoint the GPU engine cannot hold within a storage-binding limit of
/// `max_binding` bytes. Matrices are split by rows, so only a single f32 row above the
/// limit is fatal; the embedding stays on the host and the head is never used.
pub fn check_device_limits(source: &str, header: &Header, max_binding: u64) -> Result<()> {
    for e in &header.entries {
        let canon = canonical_name(&e.name);
        if canon == "emb.weight" || canon == "head.weight" || e.shape.is_empty() {
            continue;
        }
        let row_bytes = e.shape[1..].iter().product::<usize>().max(1) as u64 * 4;
        if row_bytes > max_binding {
            return Err(Error::tensor(
                source,
                &e.name,
                format!(
                    "one row is {row_bytes} bytes as f32, above this device's storage-binding limit of {max_binding} bytes"
                ),
            ));
        }
    }
    Ok(())
}

/// Bytes a wasm32 heap can hold (4 GiB); loading must stay below it.
pub const WASM_MEMORY_LIMIT: u64 = 4 << 30;

impl Summary {
    /// Estimated peak wasm memory while loading (streaming, web/src/stream.rs): the
    /// largest tensor as stored and as f32 (its conversion), plus — on the CPU path — all
    /// weights as f32 (the reference keeps f32) or — on the GPU path — the host-side
    /// embedding. The file itself is never held.
    pub fn loading_bytes(&self, gpu: bool) -> u64 {
        let stored = self.largest.1;
        let largest_f32 = self.largest.1 / self.dtype.size() as u64 * 4;
        let engine = if gpu {
            (self.config.vocab_size * self.config.n_embd * self.dtype.size()) as u64
        } else {
            self.config.parameter_count(false) as u64 * 4
        };
        stored + largest_f32 + engine
    }

    /// Bytes of weights the GPU engine holds at `precision`: the projection matrices
    /// (`model::quant::PROJECTIONS`) in that format, every other tensor in f32, the
    /// embedding on the host (activations and scratch come on top).
    pub fn gpu_weight_bytes(&self, precision: Precision) -> u64 {
        self.config
            .expected_shapes()
            .into_iter()
            .filter(|(name, _)| name != "emb.weight")
            .map(|(name, shape)| match shape.as_slice() {
                [rows, cols] if is_projection(&name) => rows * precision.row_bytes(*cols),
                _ => 4 * shape.iter().product::<usize>(),
            } as u64)
            .sum()
    }

    /// Refuses, before any tensor is read, a model whose loading would not fit in wasm32.
    pub fn check_memory(&self, source: &str, gpu: bool) -> Result<()> {
        let need = self.loading_bytes(gpu);
        if need > WASM_MEMORY_LIMIT - (256 << 20) {
            let hint = if gpu {
                ""
            } else {
                " (the CPU fallback keeps f32 weights: use a browser with WebGPU)"
            };
            return Err(Error::file(
                source,
                format!(
                    "loading needs about {:.1} GB of wasm memory on the {} path, above the browser's 4 GB wasm32 limit{hint}",
                    need as f64 / 1e9,
                    if gpu { "GPU" } else { "CPU" },
                ),
            ));
        }
        Ok(())
    }

    /// "RWKV-6, 4 layers, C=128 (2 heads × 64), vocab 65536".
    pub fn describe(&self) -> String {
        let c = &self.config;
        format!(
            "{}, {} layers, C={} ({} heads × {}), FFN {}, vocab {}",
            c.arch.name(),
            c.n_layer,
            c.n_embd,
            c.n_head,
            c.head_size,
            c.ffn_dim,
            c.vocab_size
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_json(entries: &[(&str, &str, &[usize], u64, u64)]) -> Vec<u8> {
        let mut m = serde_json::Map::new();
        m.insert(
            "__metadata__".into(),
            serde_json::json!({"rwkv_lens_model": "x"}),
        );
        for (n, d, s, b, e) in entries {
            m.insert(
                (*n).into(),
                serde_json::json!({"dtype": d, "shape": s, "data_offsets": [b, e]}),
            );
        }
        serde_json::to_vec(&m).unwrap()
    }

    #[test]
    fn parses_ranges_and_metadata() {
        let json = header_json(&[("b", "F16", &[2, 3], 16, 28), ("a", "F32", &[4], 0, 16)]);
        let size = 8 + json.len() as u64 + 28;
        let h = parse("m.st", &json, size).unwrap();
        assert_eq!(h.metadata["rwkv_lens_model"], "x");
        assert_eq!(h.entries[0].name, "a"); // sorted by offset
        assert_eq!(h.entries[1].begin, h.data_start + 16);
        assert_eq!(h.entries[1].end - h.entries[1].begin, 12);
    }

    #[test]
    fn refuses_bad_ranges_and_dtypes() {
        let json = header_json(&[("a", "F32", &[4], 0, 12)]);
        let e = parse("m.st", &json, 1000).unwrap_err().to_string();
        assert!(e.contains("m.st: tensor `a`: byte range 0..12"), "{e}");
        let json = header_json(&[("a", "F32", &[4], 0, 16)]);
        let e = parse("m.st", &json, 20).unwrap_err().to_string();
        assert!(e.contains("past the end"), "{e}");
        let json = header_json(&[("a", "I8", &[4], 0, 4)]);
        let e = parse("m.st", &json, 1000).unwrap_err().to_string();
        assert!(e.contains("dtype I8 is not supported"), "{e}");
        let e = header_len("m.st", &[255; 8], 100).unwrap_err().to_string();
        assert!(e.contains("not a safetensors file"), "{e}");
        let e = header_len("m.pth", b"PK\x03\x04\0\0\0\0", 100)
            .unwrap_err()
            .to_string();
        assert!(e.contains("rwkv-lens convert"), "{e}");
    }

    #[test]
    fn summary_rejects_non_rwkv6() {
        let json = header_json(&[("blocks.0.att.time_mix_k", "F32", &[4], 0, 16)]);
        let h = parse("v4.st", &json, 8 + json.len() as u64 + 16).unwrap();
        let e = h.summary("v4.st", 0).unwrap_err().to_string();
        assert!(e.contains("RWKV-4 checkpoint"), "{e}");
    }

    #[test]
    fn device_limit_names_the_tensor() {
        let json = header_json(&[("blocks.0.ffn.key.weight", "F16", &[2, 64], 0, 256)]);
        let h = parse("m.st", &json, 8 + json.len() as u64 + 256).unwrap();
        assert!(check_device_limits("m.st", &h, 256).is_ok());
        let e = check_device_limits("m.st", &h, 255)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("m.st: tensor `blocks.0.ffn.key.weight`: one row is 256 bytes"),
            "{e}"
        );
    }

    fn demo_summary() -> Summary {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../assets/demo-model/rwkv6-demo.safetensors"
        );
        let bytes = std::fs::read(path).unwrap();
        let size = bytes.len() as u64;
        let n = header_len("demo", &bytes[..8], size).unwrap() as usize;
        let h = parse("demo", &bytes[8..8 + n], size).unwrap();
        h.summary("demo", size).unwrap()
    }

    #[test]
    fn memory_estimate_refuses_what_wasm32_cannot_hold() {
        let mut s = demo_summary();
        // GPU: emb as stored and as f32 (largest tensor) + emb as stored (kept on the
        // host); the file is streamed, never held.
        let emb = 65536 * 128 * 2;
        assert_eq!(s.loading_bytes(true), emb + 2 * emb + emb);
        assert!(s.check_memory("demo", false).is_ok());
        // A 1.6B-shaped f16 model (3.2 GB file) does not fit on the CPU path.
        s.file_bytes = 3_200_000_000;
        (s.config.n_embd, s.config.n_layer, s.config.ffn_dim) = (2048, 24, 7168);
        let e = s.check_memory("big", false).unwrap_err().to_string();
        assert!(e.starts_with("big: loading needs about"), "{e}");
    }

    #[test]
    fn gpu_weight_bytes_follow_the_format() {
        let mut s = demo_summary();
        (s.config.n_embd, s.config.n_layer, s.config.ffn_dim) = (2048, 24, 7168);
        let mb = |p| s.gpu_weight_bytes(p) as f64 / (1u64 << 20) as f64;
        let (f32, f16, int8, nf4) = (
            mb(Precision::F32),
            mb(Precision::F16),
            mb(Precision::Int8),
            mb(Precision::Nf4),
        );
        // The 1.6B shape's projections: 24 · (5·C² + 2·C·F) values; the rest is small.
        let proj = 24.0 * (5.0 * 2048.0 * 2048.0 + 2.0 * 2048.0 * 7168.0) / (1u64 << 20) as f64;
        // The rest (LoRAs, mixes, norms, in f32) adds about a tenth.
        assert!(
            f16 > 2.0 * proj && f16 < 1.15 * 2.0 * proj,
            "{f16} vs {proj}"
        );
        assert!(
            f32 > f16 && f16 > int8 && int8 > nf4,
            "{f32} {f16} {int8} {nf4}"
        );
        // Measured device peaks (weights + activations, docs/quantization.md): f16 2629,
        // int8 1459, nf4 835 MiB: the weights alone sit below them.
        assert!(
            f16 < 2629.0 && int8 < 1459.0 && nf4 < 835.0,
            "{f16} {int8} {nf4}"
        );
    }

    #[test]
    fn demo_model_summary_from_header_alone() {
        let s = demo_summary();
        assert_eq!(
            s.describe(),
            "RWKV-6, 4 layers, C=128 (2 heads × 64), FFN 128, vocab 65536"
        );
        assert_eq!(
            s.label.as_deref(),
            Some("constructed demo model, not trained")
        );
        assert_eq!(s.largest, ("emb.weight".to_string(), 65536 * 128 * 2));
        assert_eq!(s.parameters, s.config.parameter_count(false));
        assert_eq!(s.dtype, DType::F16);
    }
}
