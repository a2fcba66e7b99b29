//! What a model carries from one token to the next, per sequence, in f32 values: an
//! RWKV-6's state has a fixed size; an attention model's key/value cache grows with every
//! token it has read.
//!
//! ```text
//! RWKV-6 state   = L · (H·N² + 2·C)      per block: H heads' N×N WKV states, and the two
//!                                         token-shift inputs (time mix, channel mix), C each
//! KV cache(t)    = L · 2 · t · d          per layer: a key and a value of width d per token
//! KV cache(t) > state  ⇔  t > (H·N² + 2·C) / (2·d)
//! ```
//! With d = C = H·N that is t > N/2 + 1: past 33 tokens for N = 64, an attention model of
//! the same depth and width carries more than RWKV's whole state.

/// A model's depth and width, as the carried memory needs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carrier {
    /// RWKV-6: L blocks, width C, head size N.
    Rwkv {
        n_layer: usize,
        n_embd: usize,
        head_size: usize,
    },
    /// An attention model's key/value cache: L layers, key/value width d.
    Attention { n_layer: usize, kv_width: usize },
}

impl Carrier {
    /// Values carried after `t` tokens (f32 each: × 4 for bytes).
    pub fn values_after(self, t: usize) -> usize {
        match self {
            Carrier::Rwkv {
                n_layer,
                n_embd,
                head_size,
            } => n_layer * ((n_embd / head_size) * head_size * head_size + 2 * n_embd),
            Carrier::Attention { n_layer, kv_width } => n_layer * 2 * t * kv_width,
        }
    }

    /// Depth L and width (C for RWKV-6, the key/value width d for attention).
    pub fn depth_width(self) -> (usize, usize) {
        match self {
            Carrier::Rwkv {
                n_layer, n_embd, ..
            } => (n_layer, n_embd),
            Carrier::Attention { n_layer, kv_width } => (n_layer, kv_width),
        }
    }

    /// Bytes carried after `t` tokens in f32.
    pub fn bytes_after(self, t: usize) -> usize {
        4 * self.values_after(t)
    }
}

/// The first token count t at which `attention`'s cache holds more values than `rwkv`'s
/// state (the state does not depend on t).
pub fn crossover(rwkv: Carrier, attention: Carrier) -> usize {
    let state = rwkv.values_after(0);
    let per_token = attention.values_after(1).max(1);
    state / per_token + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_depth_and_width_cross_at_half_the_head_size() {
        // C = 2048, N = 64 (Finch 1B6's width), 24 layers each.
        let rwkv = Carrier::Rwkv {
            n_layer: 24,
            n_embd: 2048,
            head_size: 64,
        };
        let attn = Carrier::Attention {
            n_layer: 24,
            kv_width: 2048,
        };
        // State: 24 · (32·4096 + 4096) = 24 · 135168 values.
        assert_eq!(rwkv.values_after(7), 24 * 135_168);
        assert_eq!(rwkv.values_after(7), rwkv.values_after(7000));
        assert_eq!(attn.values_after(10), 24 * 2 * 10 * 2048);
        assert_eq!(
            (rwkv.depth_width(), attn.depth_width()),
            ((24, 2048), (24, 2048))
        );
        let t = crossover(rwkv, attn);
        assert_eq!(t, 34);
        assert!(attn.values_after(t) > rwkv.values_after(t));
        assert!(attn.values_after(t - 1) <= rwkv.values_after(t - 1));
    }
}
