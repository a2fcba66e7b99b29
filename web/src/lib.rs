//! rwkv-lens in the browser: pick a model (bundled demo, local file, preset or URL), type
//! sentence pairs, see their cosine similarity at every layer.
//!
//! Two rooms, one wasm (docs/web.md):
//! - [`page`]: the main thread, the UI only (DOM, views, charts, events);
//! - [`worker`]: a Web Worker running the same wasm, owning loading, streaming,
//!   tokenizers and every engine;
//! - [`protocol`]: the only thing both import (their messages and the data in them).
//!
//! Neither room imports the other. The pure parts of each (SVG and HTML strings, the
//! header, presets, the messages) also build natively and are tested with `cargo test`.

pub mod page;
pub mod protocol;
pub mod worker;
