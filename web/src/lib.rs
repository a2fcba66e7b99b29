//! rwkv-lens in the browser: pick a model (bundled demo, local file, or URL), type
//! sentence pairs, see their cosine similarity at every layer.
//!
//! Two threads: the page (main thread) only does the UI ([`app`], [`client`], [`view`],
//! [`pairs`], [`models`], [`recurrence`]); a Web Worker running the same wasm owns loading
//! and both engines ([`worker`], [`session`], [`loader`], [`archive`], [`stream`], [`backend`],
//! [`tokens`]). They talk in [`protocol`]'s typed messages.
//!
//! Pure parts (tested natively): [`header`] (safetensors header → summary and limits), [`protocol`],
//! [`glove`] (the reference line), [`compare`] (cosines per layer), [`chart`] (SVG), [`presets`]
//! (real checkpoints, checked before download).
//! Browser parts (wasm32 only): [`app`] (state and buttons), [`archive`] (`.pth` from a blob), [`loader`] (blobs, fetch
//! with progress, Cache API, range requests), [`stream`] (the engine built tensor by tensor), [`backend`] (WebGPU probe, engine choice), [`tokens`] (which tokenizer), [`models`] (presets, cached list), [`view`], [`pairs`], [`dom`].

pub mod chart;
pub mod compare;
pub mod duo_view;
pub mod glove;
pub mod header;
pub mod presets;
pub mod protocol;
pub mod recurrence_view;

#[cfg(target_arch = "wasm32")]
pub mod app;
#[cfg(target_arch = "wasm32")]
pub mod archive;
#[cfg(target_arch = "wasm32")]
pub mod backend;
#[cfg(target_arch = "wasm32")]
pub mod client;
#[cfg(target_arch = "wasm32")]
pub mod dom;
#[cfg(target_arch = "wasm32")]
pub mod duo;
#[cfg(target_arch = "wasm32")]
pub mod duo_page;
#[cfg(target_arch = "wasm32")]
pub mod loader;
#[cfg(target_arch = "wasm32")]
pub mod models;
#[cfg(target_arch = "wasm32")]
pub mod pairs;
#[cfg(target_arch = "wasm32")]
pub mod recurrence;
#[cfg(target_arch = "wasm32")]
pub mod session;
#[cfg(target_arch = "wasm32")]
pub mod stream;
#[cfg(target_arch = "wasm32")]
pub mod tokens;
#[cfg(target_arch = "wasm32")]
pub mod view;
#[cfg(target_arch = "wasm32")]
pub mod worker;
