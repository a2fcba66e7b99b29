//! Which tokenizer the page uses: a `tokenizer.json` the user gives (local file, URL, or a
//! Hugging Face repo `owner/name`),
//! else the World tokenizer for World vocabularies (the default), else the
//! `tokenizer.json` next to a model URL. One that does not fit the model's vocabulary is
//! refused in one line before any tensor is read.

use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;

use rwkv_lens::tokenizer::Tokenizer;
use rwkv_lens::{Error, Result};

use crate::dom::by_id;
use crate::loader::{fetch_bytes, slice};

/// Embedding rows of the World models (and ids the World tokenizer can produce).
const WORLD_VOCAB: usize = 65536;

/// What the tokenizer inputs of the picker hold.
pub enum TokenizerSource {
    /// Nothing given: World, or the `tokenizer.json` next to a model URL.
    Auto,
    File(web_sys::File),
    Url(String),
}

/// The tokenizer inputs (a file wins over a URL).
pub fn picked() -> TokenizerSource {
    if let Some(f) = by_id::<HtmlInputElement>("tokenizer-file")
        .files()
        .and_then(|f| f.get(0))
    {
        return TokenizerSource::File(f);
    }
    let url = by_id::<HtmlInputElement>("tokenizer-url").value();
    match url.trim() {
        "" => TokenizerSource::Auto,
        u => TokenizerSource::Url(repo_url(u)),
    }
}

/// A Hugging Face repo (`owner/name`) → its `tokenizer.json` on the main branch; a URL
/// is kept as it is.
pub fn repo_url(input: &str) -> String {
    let is_repo = !input.contains("://")
        && input.split('/').count() == 2
        && input
            .split('/')
            .all(|p| !p.is_empty() && !p.starts_with('.'));
    if is_repo {
        format!("https://huggingface.co/{input}/resolve/main/tokenizer.json")
    } else {
        input.to_string()
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
