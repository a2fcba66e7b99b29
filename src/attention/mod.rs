//! Attention models beside RWKV, in the same engine: the BERT-family encoder
//! (sentence-transformers models such as all-MiniLM-L6-v2) and the GPT-2 causal decoder.
//! The plain-Rust forward is the oracle for their kernels and the text a learner reads:
//!
//! ```text
//! BERT (post-LN)                                    GPT-2 (pre-LN, causal)
//! x₀ = LN(E_word[tok] + E_pos[t] + E_type[0])       x₀ = E_word[tok] + E_pos[t]      layer 0
//! for each layer i = 1..L:                          for each block i = 1..L:
//!     a = LN(x + MHA(x))                                a = x + MHA(LN₁(x))
//!     x ← LN(a + GELU(a W₁ᵀ + b₁) W₂ᵀ + b₂)             x ← a + GELU_tanh(LN₂(a) W₁ᵀ + b₁) W₂ᵀ + b₂
//!                                                   layer L is LN_f(x_L)
//! MHA(x) = Concat_h softmax(Q_h K_hᵀ / √d + M) V_h · W_Oᵀ + b_O,  M = padding (+ causal) mask
//! ```
//! (`forward::embeddings`, `encoder_layer`, `decoder_layer`, `self_attention`,
//! `feed_forward`.) Loading follows the Hugging Face layout: `config.json` (dimensions;
//! `model_type` `bert` or `gpt2`), `model.safetensors` (`BertModel` or `GPT2Model` names,
//! `gpt2.rs`), `tokenizer.json`, and for a sentence-transformers directory
//! `sentence_bert_config.json` (`max_seq_length`) and `modules.json` (pooling).

pub mod config;
mod engine;
pub mod forward;
pub mod gpt2;
pub mod llama;
#[cfg(feature = "native")]
pub mod sentence;
pub mod weights;

pub use config::{Family, TransformerConfig};
pub use engine::AttentionEngine;
pub use weights::TransformerWeights;
