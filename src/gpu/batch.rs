//! Batching on the host: checking token ids, grouping sentences into passes that fit the
//! buffers, and gathering the embedding rows a chunk needs (the table stays on the host).

use std::cmp::Reverse;

use super::plan::Capacity;
use crate::model::{quant, DType, Tensor};
use crate::{Error, Result};

/// Sequences that run together, right-padded to `tokens` per chunk, in `chunks` time chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Indices into the caller's batch.
    pub members: Vec<usize>,
    /// Chunk length T (the padded length when `chunks == 1`).
    pub tokens: usize,
    pub chunks: usize,
}

/// Every sequence non-empty, every id inside the vocabulary.
pub fn validate(tokens: &[Vec<u32>], vocab: usize) -> Result<()> {
    if tokens.is_empty() {
        return Err(Error::input("no sequences to embed"));
    }
    crate::embed::check_tokens(tokens, vocab)
}

/// Groups sequences, longest first, so each pass has at most `cap.batch` sequences and
/// `cap.tokens` padded tokens. A sequence longer than `cap.tokens` runs alone in chunks
/// of `cap.tokens` positions, carrying its state from chunk to chunk.
pub fn make_groups(lengths: &[usize], cap: Capacity) -> Vec<Group> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| Reverse(lengths[i]));
    let mut groups = Vec::new();
    let mut i = 0;
    while i < order.len() {
        let longest = lengths[order[i]];
        if longest > cap.tokens {
            groups.push(Group {
                members: vec![order[i]],
                tokens: cap.tokens,
                chunks: longest.div_ceil(cap.tokens),
            });
            i += 1;
            continue;
        }
        let fit = (cap.tokens / longest).min(cap.batch).max(1);
        let end = (i + fit).min(order.len());
        groups.push(Group {
            members: order[i..end].to_vec(),
            tokens: longest,
            chunks: 1,
        });
        i = end;
    }
    groups
}

/// Row `id` of the embedding table as f32.
fn emb_row(emb: &Tensor, id: usize, dim: usize, out: &mut [f32]) {
    if let DType::Quant(f) = emb.dtype {
        let row = f.row_bytes(dim);
        let values = quant::dequantize(&emb.bytes[id * row..(id + 1) * row], dim, f);
        out.copy_from_slice(&values);
        return;
    }
    let size = emb.dtype.size();
    let bytes = &emb.bytes[id * dim * size..(id + 1) * dim * size];
    match emb.dtype {
        DType::F32 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        DType::F16 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = half::f16::from_le_bytes([b[0], b[1]]).to_f32();
            }
        }
        DType::BF16 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = half::bf16::from_le_bytes([b[0], b[1]]).to_f32();
            }
        }
        DType::Quant(_) => {} // handled above
    }
}

/// `[B][T][C]` embedding rows of positions `t0..t0+T` (zeros past each sequence's end).
pub fn gather(emb: &Tensor, seqs: &[&[u32]], t0: usize, tokens: usize, dim: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; seqs.len() * tokens * dim];
    for (b, seq) in seqs.iter().enumerate() {
        for t in 0..tokens {
            if let Some(&id) = seq.get(t0 + t) {
                let row = (b * tokens + t) * dim;
                emb_row(emb, id as usize, dim, &mut out[row..row + dim]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_respect_capacity_and_cover_everything() {
        let cap = Capacity {
            tokens: 12,
            batch: 3,
        };
        let groups = make_groups(&[3, 5, 30, 2, 4, 1], cap);
        // longest first: 30 alone in 3 chunks of 12; then 5,4 (2·5 ≤ 12); then 3,2,1
        assert_eq!(
            groups[0],
            Group {
                members: vec![2],
                tokens: 12,
                chunks: 3
            }
        );
        assert_eq!(
            groups[1],
            Group {
                members: vec![1, 4],
                tokens: 5,
                chunks: 1
            }
        );
        assert_eq!(
            groups[2],
            Group {
                members: vec![0, 3, 5],
                tokens: 3,
                chunks: 1
            }
        );
    }

    #[test]
    fn bad_tokens_are_named() {
        let e = validate(&[vec![1, 2], vec![7, 99]], 50)
            .unwrap_err()
            .to_string();
        assert!(e.contains("sequence 1: token id 99 at position 1"), "{e}");
        assert!(validate(&[vec![]], 50)
            .unwrap_err()
            .to_string()
            .contains("no tokens"));
    }

    #[test]
    fn gather_pads_with_zeros() {
        let emb = Tensor::from_f32(vec![3, 2], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        let a: &[u32] = &[2, 1];
        let b: &[u32] = &[0];
        assert_eq!(
            gather(&emb, &[a, b], 0, 2, 2),
            vec![4.0, 5.0, 2.0, 3.0, 0.0, 1.0, 0.0, 0.0]
        );
        assert_eq!(gather(&emb, &[a], 1, 2, 2), vec![2.0, 3.0, 0.0, 0.0]);
    }
}
