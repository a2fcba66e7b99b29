//! The precision an engine keeps the large projection matrices in, and the one rule that
//! picks it from a checkpoint's dtype.

use super::{DType, QuantFormat};

/// Storage format of the large projection matrices on an engine (the maths is always f32):
/// on the GPU each has its weight-access prelude `shaders/weights_<name>.wgsl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "native", derive(clap::ValueEnum))]
pub enum Precision {
    /// f32 weights.
    #[cfg_attr(feature = "native", value(alias = "fp32"))]
    F32,
    /// f16 weights packed two per u32 (unpacked with `unpack2x16float`; no shader-f16 needed).
    #[cfg_attr(feature = "native", value(alias = "fp16"))]
    F16,
    /// int8 codes, four per u32, one f32 scale per 64 values ([`crate::model::quant`]).
    Int8,
    /// 4-bit NormalFloat codes, eight per u32, one f32 scale per 64 values.
    Nf4,
}

impl Precision {
    pub fn parse(s: &str) -> crate::Result<Precision> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" | "fp32" => Ok(Precision::F32),
            "f16" | "fp16" => Ok(Precision::F16),
            other => match QuantFormat::parse(other) {
                Ok(f) => Ok(Precision::quantized(f)),
                Err(_) => Err(crate::Error::input(format!(
                    "unknown precision `{other}` (expected f32, f16, int8 or nf4)"
                ))),
            },
        }
    }

    pub fn quantized(format: QuantFormat) -> Precision {
        match format {
            QuantFormat::Int8 => Precision::Int8,
            QuantFormat::Nf4 => Precision::Nf4,
        }
    }

    /// The block-quantized format, for int8 and nf4.
    pub fn quant(self) -> Option<QuantFormat> {
        match self {
            Precision::Int8 => Some(QuantFormat::Int8),
            Precision::Nf4 => Some(QuantFormat::Nf4),
            Precision::F32 | Precision::F16 => None,
        }
    }

    /// Bytes of one stored row of `cols` weights.
    pub fn row_bytes(self, cols: usize) -> usize {
        match self {
            Precision::F32 => 4 * cols,
            Precision::F16 => 2 * cols,
            Precision::Int8 | Precision::Nf4 => self.quant().map_or(0, |f| f.row_bytes(cols)),
        }
    }
    /// `f32`, `f16`, `int8` or `nf4` (the spelling of CLI flags, reports and the study's cache key).
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::Int8 => "int8",
            Precision::Nf4 => "nf4",
        }
    }
    /// The one default rule (CLI, study, bench and browser alike): weights keep the
    /// checkpoint's precision where the device has it: f32 checkpoints stay f32 (rounding
    /// them to f16 moved a held-out f32 checkpoint 3.3e-4 off the official numbers, against
    /// 6.9e-7 in f32), f16 stays f16 and bf16 becomes f16 (WGSL has no bf16; f16 keeps all
    /// of bf16's 8 mantissa bits for values inside f16's range).
    pub fn following(dtype: DType) -> Precision {
        match dtype {
            DType::F32 => Precision::F32,
            DType::F16 | DType::BF16 => Precision::F16,
            DType::Quant(format) => Precision::quantized(format),
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
