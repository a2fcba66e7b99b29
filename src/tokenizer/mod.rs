//! Tokenizers: the RWKV World tokenizer (embedded vocab, works in wasm) and, natively,
//! any Hugging Face `tokenizer.json` through the `tokenizers` crate.
//!
//! [`Tokenizer::from_spec`] takes `world` or a path to a `tokenizer.json`;
//! [`Tokenizer::encode`] refuses empty text with the one-line error `empty text`
//! (the caller adds the file and row).

pub mod world;

pub use world::WorldTokenizer;

use crate::{Error, Result};

/// A text → token-ids mapping.
pub enum Tokenizer {
    /// The RWKV World tokenizer (shared, parsed once per process).
    World(&'static WorldTokenizer),
    /// A Hugging Face `tokenizer.json` (no special tokens are added when encoding).
    #[cfg(feature = "native")]
    HuggingFace {
        path: String,
        inner: Box<tokenizers::Tokenizer>,
    },
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokenizer({})", self.name())
    }
}

impl Tokenizer {
    /// `world` (any case) → the World tokenizer; anything else is a `tokenizer.json` path.
    pub fn from_spec(spec: &str) -> Result<Tokenizer> {
        let spec = spec.trim();
        if spec.eq_ignore_ascii_case("world") {
            return Ok(Tokenizer::World(WorldTokenizer::shared()?));
        }
        Self::from_json_path(spec)
    }

    #[cfg(feature = "native")]
    fn from_json_path(path: &str) -> Result<Tokenizer> {
        let bytes =
            std::fs::read(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
        let inner = tokenizers::Tokenizer::from_bytes(&bytes).map_err(|e| {
            let msg = e.to_string().replace(['\n', '\r'], " ");
            Error::file(path, format!("not a valid tokenizer.json: {msg}"))
        })?;
        Ok(Tokenizer::HuggingFace {
            path: path.to_string(),
            inner: Box::new(inner),
        })
    }

    #[cfg(not(feature = "native"))]
    fn from_json_path(path: &str) -> Result<Tokenizer> {
        Err(Error::input(format!(
            "tokenizer `{path}`: only `world` is available in this build (tokenizer.json needs the native build)"
        )))
    }

    /// `world`, or the tokenizer.json path.
    pub fn name(&self) -> &str {
        match self {
            Tokenizer::World(_) => "world",
            #[cfg(feature = "native")]
            Tokenizer::HuggingFace { path, .. } => path,
        }
    }

    /// Token ids of one non-empty text.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        if text.is_empty() {
            return Err(Error::input("empty text"));
        }
        let ids = match self {
            Tokenizer::World(w) => w.encode(text),
            #[cfg(feature = "native")]
            Tokenizer::HuggingFace { path, inner } => inner
                .encode(text, false)
                .map_err(|e| Error::file(path, format!("cannot encode text: {e}")))?
                .get_ids()
                .to_vec(),
        };
        if ids.is_empty() {
            return Err(Error::input("text produced no tokens"));
        }
        Ok(ids)
    }

    /// Text of token ids (invalid UTF-8 is replaced by U+FFFD).
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        match self {
            Tokenizer::World(w) => Ok(String::from_utf8_lossy(&w.decode(ids)).into_owned()),
            #[cfg(feature = "native")]
            Tokenizer::HuggingFace { path, inner } => inner
                .decode(ids, false)
                .map_err(|e| Error::file(path, format!("cannot decode ids: {e}"))),
        }
    }

    /// Number of token ids the tokenizer can produce (added tokens included).
    pub fn vocab_size(&self) -> usize {
        match self {
            Tokenizer::World(w) => w.vocab_size(),
            #[cfg(feature = "native")]
            Tokenizer::HuggingFace { inner, .. } => inner.get_vocab_size(true),
        }
    }
}
