//! A host tensor as stored in a checkpoint: shape, dtype and raw little-endian bytes
//! (owned, or a view into a memory-mapped file: [`Bytes`]).

use super::quant::{self, QuantFormat};
use super::storage::Bytes;
use crate::{Error, Result};

/// Storage dtypes we accept in checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum DType {
    F32,
    F16,
    BF16,
    /// A block-quantized `[rows][cols]` matrix (rows of codes and scales, see [`quant`]).
    Quant(QuantFormat),
}

impl DType {
    /// Bytes per element of a float dtype (1 for quantized ones, whose codes take one
    /// byte or less: their true size is [`DType::byte_len`]).
    pub fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F16 | DType::BF16 => 2,
            DType::Quant(_) => 1,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
            DType::Quant(f) => f.name(),
        }
    }
    /// Bytes a tensor of this shape takes (quantized: rows = first axis).
    pub fn byte_len(self, shape: &[usize]) -> usize {
        let numel = shape.iter().product::<usize>();
        match self {
            DType::Quant(f) => {
                let rows = shape.first().copied().unwrap_or(1);
                rows * f.row_bytes(numel / rows.max(1))
            }
            _ => numel * self.size(),
        }
    }
    /// Byte range of row `row` of a tensor of this shape seen as `[shape[0]][rest]`
    /// (rows are contiguous in every dtype, quantized ones included); `None` past the end.
    pub fn row_range(self, shape: &[usize], row: usize) -> Option<std::ops::Range<usize>> {
        let rows = shape.first().copied().unwrap_or(1);
        let cols = shape.iter().product::<usize>() / rows.max(1);
        let len = self.byte_len(&[1, cols]);
        (row < rows).then(|| row * len..(row + 1) * len)
    }
}

/// One tensor: row-major, little-endian bytes of `dtype`.
#[derive(Debug, Clone)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub bytes: Bytes,
}

impl Tensor {
    /// Wraps bytes, checking that their length matches shape × dtype.
    pub fn new(shape: Vec<usize>, dtype: DType, bytes: impl Into<Bytes>) -> Result<Self> {
        let bytes = bytes.into();
        let want = dtype.byte_len(&shape);
        if bytes.len() != want {
            return Err(Error::input(format!(
                "tensor of shape {shape:?} {} needs {want} bytes, got {}",
                dtype.name(),
                bytes.len()
            )));
        }
        Ok(Tensor {
            shape,
            dtype,
            bytes,
        })
    }

    /// An f32 tensor from values (used by tests and generators).
    pub fn from_f32(shape: Vec<usize>, values: &[f32]) -> Self {
        assert_eq!(shape.iter().product::<usize>(), values.len());
        Tensor {
            shape,
            dtype: DType::F32,
            bytes: bytemuck::cast_slice(values).to_vec().into(),
        }
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Row length when seen as a `[shape[0]][rest]` matrix.
    pub fn cols(&self) -> usize {
        self.numel() / self.shape.first().copied().unwrap_or(1).max(1)
    }

    /// Shape with every size-1 axis removed: `(1,1,C)` → `(C)`.
    pub fn squeezed_shape(&self) -> Vec<usize> {
        self.shape.iter().copied().filter(|&d| d != 1).collect()
    }

    /// Row `row` of the `[shape[0]][rest]` view as a `[1][rest]` tensor; `None` past the end.
    pub fn row(&self, row: usize) -> Option<Tensor> {
        let range = self.dtype.row_range(&self.shape, row)?;
        let bytes = self.bytes[range].to_vec();
        Some(Tensor::new(vec![1, self.cols()], self.dtype, bytes).expect("one row's bytes"))
    }

    /// Values converted to f32 (exact for f16/bf16).
    pub fn to_f32(&self) -> Vec<f32> {
        match self.dtype {
            DType::F32 => self
                .bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            DType::F16 => self
                .bytes
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            DType::BF16 => self
                .bytes
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            DType::Quant(f) => quant::dequantize(&self.bytes, self.cols(), f),
        }
    }

    /// Flat index of the first NaN or ±Inf value, if any (checks the bit patterns
    /// directly: an all-ones exponent). Quantized: of the first non-finite or negative scale.
    pub fn first_non_finite(&self) -> Option<usize> {
        let halves = |exp_mask: u16| {
            self.bytes
                .chunks_exact(2)
                .position(|b| u16::from_le_bytes([b[0], b[1]]) & exp_mask == exp_mask)
        };
        match self.dtype {
            DType::F32 => self
                .bytes
                .chunks_exact(4)
                .position(|b| !f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite()),
            DType::F16 => halves(0x7C00),
            DType::BF16 => halves(0x7F80),
            DType::Quant(f) => quant::first_bad_scale(&self.bytes, self.cols(), f),
        }
    }

    /// Values rounded to f16 bits (what the GPU's packed-f16 path uploads).
    pub fn to_f16_bits(&self) -> Vec<u16> {
        match self.dtype {
            DType::F16 => self
                .bytes
                .chunks_exact(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .collect(),
            _ => self
                .to_f32()
                .into_iter()
                .map(|v| half::f16::from_f32(v).to_bits())
                .collect(),
        }
    }

    /// The same values stored as f16 (rounded; f16 tensors are returned as they are).
    pub fn to_f16(&self) -> Tensor {
        let bits = self.to_f16_bits();
        Tensor::new(
            self.shape.clone(),
            DType::F16,
            bytemuck::cast_slice::<u16, u8>(&bits).to_vec(),
        )
        .expect("same element count")
    }

    /// Same storage with a new shape of equal element count.
    pub fn reshaped(mut self, shape: Vec<usize>) -> Self {
        assert_eq!(shape.iter().product::<usize>(), self.numel());
        self.shape = shape;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_found_in_every_dtype() {
        let f32s = Tensor::from_f32(vec![3], &[1.0, f32::NAN, 2.0]);
        assert_eq!(f32s.first_non_finite(), Some(1));
        let h = |v: f32| half::f16::from_f32(v).to_le_bytes();
        let f16s = Tensor::new(
            vec![3],
            DType::F16,
            [h(1.0), h(65504.0), h(f32::INFINITY)].concat(),
        )
        .unwrap();
        assert_eq!(f16s.first_non_finite(), Some(2));
        let b = |v: f32| half::bf16::from_f32(v).to_le_bytes();
        let bf16s = Tensor::new(vec![2], DType::BF16, [b(-3e38), b(f32::NAN)].concat()).unwrap();
        assert_eq!(bf16s.first_non_finite(), Some(1));
        assert_eq!(
            Tensor::from_f32(vec![1], &[f32::MAX]).first_non_finite(),
            None
        );
    }
}
