//! Tokenizers: the RWKV World tokenizer (embedded vocab, works in wasm) and, with the
//! `tokenizer-json` feature (native and the browser build), any Hugging Face
//! `tokenizer.json` through the `tokenizers` crate.
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
    /// A Hugging Face `tokenizer.json`. For RWKV no special tokens are added; for an
    /// encoder (`add_special_tokens`) they are (`[CLS] … [SEP]`), after truncation.
    #[cfg(feature = "tokenizer-json")]
    HuggingFace {
        path: String,
        inner: Box<tokenizers::Tokenizer>,
        add_special_tokens: bool,
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

    #[cfg(feature = "tokenizer-json")]
    fn from_json_path(path: &str) -> Result<Tokenizer> {
        let bytes =
            std::fs::read(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
        Self::from_json_bytes(path, &bytes)
    }

    /// A `tokenizer.json` held in memory; `path` names it in every error.
    #[cfg(feature = "tokenizer-json")]
    pub fn from_json_bytes(path: &str, bytes: &[u8]) -> Result<Tokenizer> {
        Ok(Tokenizer::HuggingFace {
            path: path.to_string(),
            inner: Box::new(parse_tokenizer_json(path, bytes)?),
            add_special_tokens: false,
        })
    }

    #[cfg(not(feature = "tokenizer-json"))]
    fn from_json_path(path: &str) -> Result<Tokenizer> {
        Err(Error::input(format!(
            "tokenizer `{path}`: only `world` is available in this build (tokenizer.json needs the `tokenizer-json` feature)"
        )))
    }

    /// An encoder's `tokenizer.json` as sentence-transformers runs it: special tokens
    /// added, at most `max_len` tokens (them included; longer texts are truncated), and
    /// no padding (whatever the file asks for: the engines pad internally).
    #[cfg(feature = "native")]
    pub fn for_encoder(path: &str, max_len: usize) -> Result<Tokenizer> {
        let bytes =
            std::fs::read(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
        Self::for_encoder_bytes(path, &bytes, max_len)
    }

    /// As [`Tokenizer::for_encoder`], from the file's bytes (the browser's download).
    #[cfg(feature = "tokenizer-json")]
    pub fn for_encoder_bytes(path: &str, bytes: &[u8], max_len: usize) -> Result<Tokenizer> {
        let mut inner = parse_tokenizer_json(path, bytes)?;
        inner.with_padding(None);
        let truncation = tokenizers::TruncationParams {
            max_length: max_len,
            ..Default::default()
        };
        inner
            .with_truncation(Some(truncation))
            .map_err(|e| Error::file(path, format!("cannot truncate to {max_len} tokens: {e}")))?;
        Ok(Tokenizer::HuggingFace {
            path: path.to_string(),
            inner: Box::new(inner),
            add_special_tokens: true,
        })
    }

    /// `world`, or the tokenizer.json path.
    pub fn name(&self) -> &str {
        match self {
            Tokenizer::World(_) => "world",
            #[cfg(feature = "tokenizer-json")]
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
            #[cfg(feature = "tokenizer-json")]
            Tokenizer::HuggingFace {
                path,
                inner,
                add_special_tokens,
            } => {
                let special = *add_special_tokens;
                without_panics(|| inner.encode(text, special).map_err(|e| e.to_string()))
                    .and_then(|r| r)
                    .map_err(|e| Error::file(path, format!("cannot encode text: {e}")))?
                    .get_ids()
                    .to_vec()
            }
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
            #[cfg(feature = "tokenizer-json")]
            Tokenizer::HuggingFace { path, inner, .. } => inner
                .decode(ids, false)
                .map_err(|e| Error::file(path, format!("cannot decode ids: {e}"))),
        }
    }

    /// Number of token ids the tokenizer can produce (added tokens included).
    pub fn vocab_size(&self) -> usize {
        match self {
            Tokenizer::World(w) => w.vocab_size(),
            #[cfg(feature = "tokenizer-json")]
            Tokenizer::HuggingFace { inner, .. } => inner.get_vocab_size(true),
        }
    }
}

/// A `tokenizer.json`'s bytes through the `tokenizers` crate, refusing bad files in one line.
#[cfg(feature = "tokenizer-json")]
fn parse_tokenizer_json(path: &str, bytes: &[u8]) -> Result<tokenizers::Tokenizer> {
    // JSON syntax first: the tokenizers crate panics (`expect("Helper")`) on some
    // malformed JSON instead of returning an error
    serde_json::from_slice::<serde_json::Value>(bytes)
        .map_err(|e| Error::file(path, format!("not a valid tokenizer.json: {e}")))?;
    let inner = without_panics(|| tokenizers::Tokenizer::from_bytes(bytes))
        .and_then(|r| r.map_err(|e| e.to_string()))
        .map_err(|e| {
            let msg = e.replace(['\n', '\r'], " ");
            Error::file(path, format!("not a valid tokenizer.json: {msg}"))
        })?;
    Ok(inner)
}

/// Runs `f`, turning a panic into an error message. The `tokenizers` crate panics on
/// some hostile tokenizer.json files (slicing past a string's end, `expect` on a parse
/// error) instead of returning an error; the panic message is silenced meanwhile so that
/// the user sees one error line. (The hook is process-wide: a panic on another thread
/// during the call would go unprinted.)
#[cfg(feature = "tokenizer-json")]
fn without_panics<T>(
    f: impl FnOnce() -> T + std::panic::UnwindSafe,
) -> std::result::Result<T, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(f);
    std::panic::set_hook(hook);
    result.map_err(|p| {
        let what = (p.downcast_ref::<&str>().map(|s| s.to_string()))
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        format!("the tokenizers crate failed on it ({what})")
    })
}
