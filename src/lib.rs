//! rwkv-lens: RWKV-6 ("Finch") as WGSL compute shaders through wgpu, used to
//! study zero-shot sentence embeddings layer by layer.
//!
//! Rooms (see `docs/architecture.md`):
//! - [`model`]: checkpoint formats, config from shapes, canonical weights.
//! - [`reference`]: the plain-Rust RWKV-6 forward pass, the oracle and the teaching text
//!   (and `reference::fast`, the CPU engine on 16-bit weights).
//! - [`rwkv7`]: the plain-Rust RWKV-7 forward pass, its peer.
//! - [`attention`]: the attention families beside RWKV: BERT encoders, GPT-2 and Llama
//!   decoders (config, reference forward, Hugging Face loading).
//! - [`gpu`]: the wgpu engine, one WGSL kernel per file in `shaders/`.
//! - [`tokenizer`]: the RWKV World tokenizer (and HF `tokenizer.json` natively).
//! - [`embed`]: the engine trait both paths implement, pooling, batching.
//! - [`data`]: the evaluation tasks: one table of sources, one loader, fetch by name.
//! - [`glove`]: the GloVe average-word-vector baseline (study and page).
//! - [`study`], [`trace`]: the experiment and the teaching traces.
//! - [`hub`]: models by name from the Hugging Face Hub (native); datasets through it.
//! - [`bench`]: `rwkv-lens bench`, prefill/embedding throughput against peers, roofline.
//! - [`kit`]: small tools the rooms share (Markdown tables, SVG, file hashes, memory, progress).

pub mod attention;
#[cfg(feature = "native")]
pub mod bench;
pub mod data;
pub mod embed;
pub mod error;
pub mod glove;
pub mod gpu;
#[cfg(feature = "native")]
pub mod hub;
#[cfg(feature = "native")]
pub mod io;
pub mod kit;
pub mod model;
pub mod reference;
pub mod rwkv7;
#[cfg(feature = "native")]
pub mod study;
pub mod tokenizer;
pub mod trace;

pub use error::{Error, Result};
