//! Block-quantized weight matrices: int8 and NF4 with one scale per 64-value group.
//!
//! A `[N][K]` matrix is stored row by row; each row is a run of u32 words (little-endian),
//! exactly as the GPU reads it (`shaders/weights_int8.wgsl`, `weights_nf4.wgsl`):
//!
//! ```text
//! row n = [ code words ][ ⌈K/64⌉ scale words ]
//!   int8: ⌈K/4⌉ words, byte i of word j = code of W[n][4j+i]   (two's complement, −127..127)
//!   nf4:  ⌈K/8⌉ words, bits 4i..4i+3 of word j = code of W[n][8j+i]   (index into NF4)
//!   scale word g = f32 absmax of W[n][64g .. 64g+63]
//! W[n][k] ≈ scale · code/127 (int8),  scale · NF4[code] (nf4)
//! ```
//!
//! NF4 is the 4-bit NormalFloat code of QLoRA (Dettmers et al. 2023): the 16 quantiles of
//! a standard normal scaled to [−1, 1], with an exact zero. Codes are the nearest level.

use super::{Checkpoint, DType, Tensor};
use crate::{Error, Result};

/// The projection matrices of each block that are quantized (names after `blocks.{i}.`):
/// the GPU engine's eight large matmuls. Embedding, head, LoRA and vectors stay as stored.
pub const PROJECTIONS: [&str; 8] = [
    "att.receptance.weight",
    "att.key.weight",
    "att.value.weight",
    "att.gate.weight",
    "att.output.weight",
    "ffn.key.weight",
    "ffn.receptance.weight",
    "ffn.value.weight",
];

/// Whether a canonical tensor name is one of the [`PROJECTIONS`].
pub fn is_projection(name: &str) -> bool {
    let rest = name.strip_prefix("blocks.").and_then(|r| r.split_once('.'));
    rest.is_some_and(|(layer, p)| layer.parse::<usize>().is_ok() && PROJECTIONS.contains(&p))
}

/// One tensor of a checkpoint as it goes into a quantized file: projections quantized
/// (from any dtype, quantized ones included), every other tensor unchanged.
pub fn quantize_tensor(name: &str, t: &Tensor, format: QuantFormat) -> Result<Tensor> {
    if !is_projection(name) || t.dtype == DType::Quant(format) {
        return Ok(t.clone());
    }
    let shape = vec![t.shape[0], t.cols()];
    let bytes = quantize(&t.to_f32(), t.cols(), format);
    Tensor::new(shape, DType::Quant(format), bytes).map_err(|e| Error::tensor("quantize", name, e))
}

/// Bytes the projections of `ck` take in `format` (the quantized file's and the GPU's share).
pub fn projection_bytes(ck: &Checkpoint, format: QuantFormat) -> u64 {
    ck.tensors()
        .filter(|(n, _)| is_projection(n))
        .map(|(_, t)| (t.shape[0] * format.row_bytes(t.cols())) as u64)
        .sum()
}

/// Values sharing one scale (along a row).
pub const GROUP: usize = 64;

/// The 16 NF4 levels (QLoRA's table, ascending; the same decimals as `weights_nf4.wgsl`).
#[allow(clippy::excessive_precision)]
pub const NF4: [f32; 16] = [
    -1.0,
    -0.6961928009986877,
    -0.5250730514526367,
    -0.39491748809814453,
    -0.28444138169288635,
    -0.18477343022823334,
    -0.09105003625154495,
    0.0,
    0.07958029955625534,
    0.16093020141124725,
    0.24611230194568634,
    0.33791524171829224,
    0.44070982933044434,
    0.5626170039176941,
    0.7229568362236023,
    1.0,
];

/// A quantized storage format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuantFormat {
    /// 8-bit symmetric codes, 8.5 bits per weight with the scales.
    Int8,
    /// 4-bit NormalFloat codes, 4.5 bits per weight with the scales.
    Nf4,
}

impl QuantFormat {
    pub fn name(self) -> &'static str {
        match self {
            QuantFormat::Int8 => "int8",
            QuantFormat::Nf4 => "nf4",
        }
    }

    pub fn parse(s: &str) -> Result<QuantFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "int8" | "q8" => Ok(QuantFormat::Int8),
            "nf4" | "4bit" => Ok(QuantFormat::Nf4),
            other => Err(Error::input(format!(
                "unknown quantized format `{other}` (expected int8 or nf4)"
            ))),
        }
    }

    /// Code words of a row of `k` values.
    pub fn code_words(self, k: usize) -> usize {
        match self {
            QuantFormat::Int8 => k.div_ceil(4),
            QuantFormat::Nf4 => k.div_ceil(8),
        }
    }

    /// Bytes of one stored row (codes, then scales).
    pub fn row_bytes(self, k: usize) -> usize {
        4 * (self.code_words(k) + k.div_ceil(GROUP))
    }
}

/// What a quantized checkpoint's `__metadata__` says about one tensor, under the key
/// `quant.<tensor name>` as JSON: `{"format":"int8","shape":[N,K],"group_size":64}`.
/// The tensor itself is stored as `U8` `[N][row_bytes]` (the rows described above).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QuantSpec {
    pub format: QuantFormat,
    pub shape: Vec<usize>,
    pub group_size: usize,
}

impl QuantSpec {
    pub fn key(tensor: &str) -> String {
        format!("quant.{tensor}")
    }

    /// Parses and checks the metadata entry against the stored `U8` shape.
    pub fn check(source: &str, tensor: &str, json: &str, stored: &[usize]) -> Result<QuantSpec> {
        let bad = |msg: String| Error::tensor(source, tensor, msg);
        let spec: QuantSpec = serde_json::from_str(json)
            .map_err(|e| bad(format!("quantization metadata `{json}` is not valid: {e}")))?;
        if spec.group_size != GROUP {
            return Err(bad(format!(
                "quantization group size {} is not supported (expected {GROUP})",
                spec.group_size
            )));
        }
        let rows = spec.shape.first().copied().unwrap_or(0);
        let cols = spec.shape.iter().skip(1).product::<usize>();
        let want = [rows, spec.format.row_bytes(cols)];
        if spec.shape.len() != 2 || stored != want {
            return Err(bad(format!(
                "stored as u8 {stored:?} but {} {:?} with {GROUP}-wide groups needs u8 {want:?} (codes + scales per row): wrong scales shape or corrupt file",
                spec.format.name(),
                spec.shape
            )));
        }
        Ok(spec)
    }
}

/// Index of the NF4 level nearest to `x` (in [−1, 1]): the midpoints split the line.
fn nf4_code(x: f32) -> u32 {
    let mut code = 0;
    for i in 1..16 {
        if x > 0.5 * (NF4[i - 1] + NF4[i]) {
            code = i as u32;
        }
    }
    code
}

/// One row of values → its stored words.
fn quantize_row(row: &[f32], format: QuantFormat, out: &mut Vec<u32>) {
    let start = out.len();
    out.resize(start + format.code_words(row.len()), 0);
    let mut scales = Vec::with_capacity(row.len().div_ceil(GROUP));
    for (g, group) in row.chunks(GROUP).enumerate() {
        let absmax = group.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let inv = if absmax > 0.0 { 1.0 / absmax } else { 0.0 };
        for (i, &v) in group.iter().enumerate() {
            let k = g * GROUP + i;
            let (word, bits, code) = match format {
                QuantFormat::Int8 => {
                    let q = (v * inv * 127.0).round().clamp(-127.0, 127.0) as i8;
                    (k / 4, 8 * (k % 4), q as u8 as u32)
                }
                QuantFormat::Nf4 => (k / 8, 4 * (k % 8), nf4_code(v * inv)),
            };
            out[start + word] |= code << bits;
        }
        scales.push(absmax.to_bits());
    }
    out.extend(scales);
}

/// Quantizes a row-major `[rows][cols]` matrix into stored rows (see the module header).
pub fn quantize(values: &[f32], cols: usize, format: QuantFormat) -> Vec<u8> {
    let rows = values.len() / cols.max(1);
    let mut words = Vec::with_capacity(rows * format.row_bytes(cols) / 4);
    for row in values.chunks(cols.max(1)) {
        quantize_row(row, format, &mut words);
    }
    bytemuck::cast_slice(&words).to_vec()
}

fn word(bytes: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([
        bytes[4 * i],
        bytes[4 * i + 1],
        bytes[4 * i + 2],
        bytes[4 * i + 3],
    ])
}

/// Stored rows → row-major f32 values (what the kernels compute from them).
pub fn dequantize(bytes: &[u8], cols: usize, format: QuantFormat) -> Vec<f32> {
    let row_bytes = format.row_bytes(cols);
    let codes = format.code_words(cols);
    let mut out = Vec::with_capacity(bytes.len() / row_bytes.max(1) * cols);
    for row in bytes.chunks_exact(row_bytes.max(1)) {
        for k in 0..cols {
            let scale = f32::from_bits(word(row, codes + k / GROUP));
            let v = match format {
                QuantFormat::Int8 => {
                    let q = (word(row, k / 4) >> (8 * (k % 4))) as u8 as i8;
                    // as unpack4x8snorm: max(q / 127, −1)
                    (q as f32 / 127.0).max(-1.0) * scale
                }
                QuantFormat::Nf4 => {
                    NF4[((word(row, k / 8) >> (4 * (k % 8))) & 15) as usize] * scale
                }
            };
            out.push(v);
        }
    }
    out
}

/// Flat index (row·groups + group) of the first scale that is negative, NaN or infinite.
pub fn first_bad_scale(bytes: &[u8], cols: usize, format: QuantFormat) -> Option<usize> {
    let (row_bytes, codes, groups) = (
        format.row_bytes(cols),
        format.code_words(cols),
        cols.div_ceil(GROUP),
    );
    let rows = bytes.chunks_exact(row_bytes.max(1));
    let mut scales =
        rows.flat_map(|row| (0..groups).map(move |g| f32::from_bits(word(row, codes + g))));
    scales.position(|s| !(s.is_finite() && s >= 0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect()
    }

    #[test]
    fn round_trip_error_is_within_half_a_step() {
        // 3 rows of 100: a full group and a partial one per row
        let v = ramp(300);
        for (format, step) in [(QuantFormat::Int8, 1.0 / 127.0), (QuantFormat::Nf4, 0.304)] {
            let q = quantize(&v, 100, format);
            assert_eq!(q.len(), 3 * format.row_bytes(100));
            let back = dequantize(&q, 100, format);
            let groups = |x: &[f32]| {
                x.chunks(100)
                    .flat_map(|r| r.chunks(GROUP))
                    .map(<[f32]>::to_vec)
                    .collect::<Vec<_>>()
            };
            for (g, (a, b)) in groups(&v).iter().zip(groups(&back)).enumerate() {
                let absmax = a.iter().fold(0.0f32, |m, x| m.max(x.abs()));
                let err = a
                    .iter()
                    .zip(&b)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0, f32::max);
                assert!(
                    err <= 0.5 * step * absmax + 1e-6,
                    "{format:?} group {g}: {err}"
                );
            }
            assert_eq!(first_bad_scale(&q, 100, format), None);
        }
    }

    #[test]
    fn nf4_codes_are_nearest_and_exact_at_levels() {
        for (i, &l) in NF4.iter().enumerate() {
            assert_eq!(nf4_code(l), i as u32);
        }
        let q = quantize(&[0.0; 8], 8, QuantFormat::Nf4);
        assert_eq!(dequantize(&q, 8, QuantFormat::Nf4), vec![0.0; 8]);
    }

    #[test]
    fn negative_scale_is_found() {
        let mut q = quantize(&ramp(128), 128, QuantFormat::Int8);
        let at = QuantFormat::Int8.code_words(128) * 4 + 4; // row 0, group 1
        q[at..at + 4].copy_from_slice(&(-1.0f32).to_le_bytes());
        assert_eq!(first_bad_scale(&q, 128, QuantFormat::Int8), Some(1));
    }
}
