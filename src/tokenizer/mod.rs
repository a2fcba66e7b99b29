//! Tokenizers: the RWKV World tokenizer (embedded vocab, works in wasm) and, natively,
//! any Hugging Face `tokenizer.json` through the `tokenizers` crate.
