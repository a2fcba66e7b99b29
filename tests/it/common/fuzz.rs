//! What the fuzz tests share: the case count, byte mutations and a valid tiny checkpoint.

use proptest::prelude::*;
use proptest::sample::Index;
use rwkv_lens::model::checkpoint::write_safetensors;
use rwkv_lens::model::{Architecture, Config, Tensor};

/// 2000 cases per property, or `PROPTEST_CASES` (the long run, `make fuzz-long`).
pub fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    ProptestConfig::with_cases(cases)
}

/// Up to 8 byte overwrites and an optional truncation.
pub fn mutation() -> impl Strategy<Value = (Vec<(Index, u8)>, Option<Index>)> {
    (
        prop::collection::vec((any::<Index>(), any::<u8>()), 1..8),
        any::<Option<Index>>(),
    )
}

pub fn mutate(mut bytes: Vec<u8>, (edits, cut): &(Vec<(Index, u8)>, Option<Index>)) -> Vec<u8> {
    for (at, value) in edits {
        let i = at.index(bytes.len());
        bytes[i] = *value;
    }
    if let Some(cut) = cut {
        bytes.truncate(cut.index(bytes.len() + 1));
    }
    bytes
}

pub fn tiny_config() -> Config {
    Config {
        arch: Architecture::Rwkv6 {
            mix_lora: 2,
            decay_lora: 3,
        },
        n_layer: 1,
        n_embd: 8,
        n_head: 2,
        head_size: 4,
        ffn_dim: 16,
        vocab_size: 10,
    }
}

/// A valid tiny RWKV-6 checkpoint (C=8, 2 heads, 1 layer) as safetensors bytes.
pub fn tiny_checkpoint() -> Vec<u8> {
    let tensors: Vec<(String, Tensor)> = tiny_config()
        .expected_shapes()
        .into_iter()
        .map(|(name, shape)| {
            let n = shape.iter().product::<usize>();
            let values: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            (name, Tensor::from_f32(shape, &values))
        })
        .collect();
    write_safetensors(&tensors).unwrap()
}
