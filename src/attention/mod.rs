//! Attention models beside RWKV, in the same engine: the BERT-family encoder
//! (sentence-transformers models such as all-MiniLM-L6-v2). The plain-Rust forward is
//! the oracle for its kernels and the text a learner reads:
//!
//! ```text
//! x₀ = LN(E_word[token] + E_pos[t] + E_type[0])        layer 0   (forward::embeddings)
//! for each layer i = 1..L:
//!     a = LN(x + MHA(x))                                          (forward::self_attention)
//!     x ← LN(a + GELU(a W₁ᵀ + b₁) W₂ᵀ + b₂)           layer i   (forward::feed_forward)
//! MHA(x) = Concat_h softmax(Q_h K_hᵀ / √d + M) V_h · W_Oᵀ + b_O,  M = padding mask
//! ```
//! Loading follows the Hugging Face layout: `config.json` (dimensions), `model.safetensors`
//! (`BertModel` names), and for a sentence-transformers directory `tokenizer.json`,
//! `sentence_bert_config.json` (`max_seq_length`) and `modules.json` (pooling).

pub mod config;
mod engine;
pub mod forward;
#[cfg(feature = "native")]
pub mod sentence;
pub mod weights;

pub use config::BertConfig;
pub use engine::EncoderEngine;
pub use weights::BertWeights;
