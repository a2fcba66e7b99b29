//! Models by name from the Hugging Face Hub (native only).
//!
//! - [`model`]: a MODEL argument — a local path, `ORG/NAME`, `ORG/NAME:PATH`, each with
//!   an optional `@REVISION` — parsed once ([`ModelRef`]) and resolved to local files
//!   ([`ResolvedModel`]): which files a repo holds comes from the hub's listing; the
//!   tokenizer follows the repo (`tokenizer.json`) or the World vocabulary.
//! - [`client`]: listings and downloads: `HF_TOKEN`, `HF_HUB_OFFLINE`, a cache-first
//!   lookup that makes no request, content hashes checked after every download (a bad
//!   file never stays in the cache), one-line errors, indicatif progress bars. The cache
//!   is Python `huggingface_hub`'s layout (`HF_HUB_CACHE`, else `HF_HOME/hub`, else
//!   `~/.cache/huggingface/hub`), so a file downloaded by either is shared.
//! - [`names`]: what a hub may name (repo ids, revisions, file names, commits, ETags),
//!   checked before any file operation; [`http`]: GET with bounded, http(s)-only
//!   redirects; [`download`]: one file into the cache layout, every path checked to stay
//!   in the cache, the body bounded by its declared size (replacing `hf-hub`'s
//!   downloader, which trusts the server's names as paths; see SECURITY.md).
//! - [`convert`]: a torch `.pth` / `pytorch_model.bin` converted once, by the safe
//!   reader, to safetensors in rwkv-lens' own cache.
//!
//! `rwkv-lens data fetch` (the evaluation sets from hub datasets) lives with the data,
//! in `crate::data::fetch`, and goes through this room's [`client`].

pub mod client;
pub mod convert;
mod download;
mod http;
pub mod model;
pub mod names;

pub use client::{Hub, RepoId, RepoKind};
pub use model::{ModelRef, OpenedModel, ResolvedModel};

use std::path::PathBuf;

/// rwkv-lens' own cache: `$XDG_CACHE_HOME/rwkv-lens` (the platform's user cache
/// directory), holding converted checkpoints and fetched evaluation data.
pub fn lens_cache_dir() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("rwkv-lens")
}
