//! Which tokenizer the worker uses: a `tokenizer.json` the user gives (local file, or a
//! URL, which the page makes of a Hugging Face repo `owner/name`), else the World tokenizer for World vocabularies (the default), else the
//! `tokenizer.json` next to a model URL. One that does not fit the model's vocabulary is
//! refused in one line before any tensor is read.

use wasm_bindgen::JsCast;

use rwkv_lens::tokenizer::Tokenizer;
use rwkv_lens::{Error, Result};

use super::loader::{fetch_bytes, slice};
use crate::protocol::TokenizerPick;

/// Embedding rows of the World models (and ids the World tokenizer can produce).
const WORLD_VOCAB: usize = 65536;

/// A tokenizer choice as it arrived: the pick and the file beside it.
pub enum TokenizerSource {
    /// Nothing given: World, or the `tokenizer.json` next to a model URL.
    Auto,
    File(web_sys::File),
    Url(String),
}

impl TokenizerSource {
    /// The pick and the file that came with it; a URL that is not `http(s):` or `blob:`
    /// is refused.
    pub fn from_pick(pick: TokenizerPick, file: Option<web_sys::File>) -> Result<Self> {
        Ok(match (pick, file) {
            (TokenizerPick::File, Some(f)) => TokenizerSource::File(f),
            (TokenizerPick::Url(u), _) => {
                crate::protocol::check_url("tokenizer URL", &u).map_err(Error::input)?;
                TokenizerSource::Url(u)
            }
            _ => TokenizerSource::Auto,
        })
    }
}

/// The tokenizer for a model of `vocab` embedding rows (`model_url`: where the model was
/// downloaded from, if it was), checked to fit.
pub async fn choose(
    source: TokenizerSource,
    model_url: Option<&str>,
    vocab: usize,
) -> Result<Tokenizer> {
    let tok = match source {
        TokenizerSource::File(f) => {
            let blob: &web_sys::Blob = f.unchecked_ref();
            let bytes = slice(blob, 0, blob.size() as u64, &f.name()).await?;
            Tokenizer::from_json_bytes(&f.name(), &bytes)?
        }
        TokenizerSource::Url(url) => from_url(&url).await?,
        TokenizerSource::Auto if vocab == WORLD_VOCAB => Tokenizer::from_spec("world")?,
        TokenizerSource::Auto => {
            let not_world = format!(
                "the model's vocabulary of {vocab} is not the World tokenizer's {WORLD_VOCAB}"
            );
            let Some(url) = model_url.and_then(sibling) else {
                return Err(Error::input(format!(
                    "{not_world}: give its tokenizer.json (file or URL)"
                )));
            };
            from_url(&url)
                .await
                .map_err(|e| Error::input(format!("{not_world}, and {e}")))?
        }
    };
    fits(tok.name(), tok.vocab_size(), vocab)?;
    Ok(tok)
}

async fn from_url(url: &str) -> Result<Tokenizer> {
    Tokenizer::from_json_bytes(url, &fetch_bytes(url).await?)
}

/// `tokenizer.json` in the same folder as a model URL.
pub fn sibling(model_url: &str) -> Option<String> {
    let path_end = model_url.find(['?', '#']).unwrap_or(model_url.len());
    let slash = model_url[..path_end].rfind('/')?;
    Some(format!("{}tokenizer.json", &model_url[..=slash]))
}

/// Refuses a tokenizer that can produce ids past the model's embedding rows.
pub fn fits(name: &str, tokens: usize, vocab: usize) -> Result<()> {
    if tokens > vocab {
        return Err(Error::file(
            name,
            format!(
                "the tokenizer has {tokens} tokens but the model's vocabulary only {vocab}: not this model's tokenizer"
            ),
        ));
    }
    Ok(())
}
