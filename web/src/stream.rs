//! Streaming engine construction in the page: the checkpoint's bytes stay outside wasm
//! memory (a `Blob` the browser holds — the user's file, the Cache API's copy of a
//! download — or the server itself, read by HTTP range requests), and the engine asks for
//! one tensor at a time ([`TensorSource`]): its bytes are read, checked, converted (and
//! quantized), uploaded and dropped before the next. Peak wasm memory while loading is
//! the largest tensor plus the engine's own state (on the GPU path the host-side
//! embedding; on the CPU path the reference's f32 weights), never the file.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;

use web_sys::Blob;

use crate::header::{Entry, Header};
use crate::loader::{self, ModelFile};
use crate::protocol::{Reply, Stage};
use rwkv_lens::model::checkpoint::check_finite;
use rwkv_lens::model::layout::canonical_name;
use rwkv_lens::model::source::no_row;
use rwkv_lens::model::{Config, Tensor, TensorSource};
use rwkv_lens::{Error, Result};

/// Where a checkpoint's bytes are read from.
pub enum ByteSource {
    /// A `Blob` the browser holds (on disk or in its own memory, not in wasm's).
    Blob(Blob),
    /// A URL whose server answers `Range` requests with 206.
    Range(String),
}

impl ByteSource {
    /// Bytes `begin..end`, copied into wasm memory.
    pub async fn read(&self, begin: u64, end: u64, name: &str) -> Result<Vec<u8>> {
        match self {
            ByteSource::Blob(blob) => loader::slice(blob, begin, end, name).await,
            ByteSource::Range(url) => loader::range(url, begin, end).await,
        }
    }
}

/// A checkpoint read tensor by tensor: its header's entries by canonical name.
pub struct Stream {
    file: ModelFile,
    config: Config,
    entries: HashMap<String, Entry>,
    /// Tensors read so far (progress: the GPU engine reads each once, the head never).
    reads: Cell<usize>,
}

impl Stream {
    /// `config`: from the header's shapes ([`Header::summary`]).
    pub fn new(file: ModelFile, header: &Header, config: Config) -> Result<Stream> {
        let mut entries = HashMap::new();
        for e in &header.entries {
            let canon = canonical_name(&e.name);
            if entries.insert(canon.clone(), e.clone()).is_some() {
                return Err(Error::tensor(
                    &file.name,
                    canon,
                    "appears twice after mapping to official names",
                ));
            }
        }
        Ok(Stream {
            file,
            config,
            entries,
            reads: Cell::new(0),
        })
    }

    /// Starts counting reads again (a second pass: the CPU fallback, the Recurrence view).
    pub fn restart(&self) {
        self.reads.set(0);
    }
}

impl TensorSource for Stream {
    fn source(&self) -> &str {
        &self.file.name
    }
    fn config(&self) -> &Config {
        &self.config
    }
    fn has(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }
    async fn tensor(&self, name: &str) -> Result<Cow<'_, Tensor>> {
        let source = &self.file.name;
        let e = (self.entries.get(name)).ok_or_else(|| Error::tensor(source, name, "missing"))?;
        let done = self.reads.replace(self.reads.get() + 1);
        let total = self.entries.len();
        crate::worker::post(&Reply::Progress {
            stage: Stage::Parse,
            done: done.min(total) as f64,
            total: Some(total as f64),
        });
        crate::dom::check_cancel("loading")?;
        let bytes = self.file.source.read(e.begin, e.end, source).await?;
        let t = Tensor::new(e.shape.clone(), e.dtype, bytes)
            .map_err(|err| Error::tensor(source, &e.name, err))?;
        check_finite(source, &e.name, &t)?;
        Ok(Cow::Owned(t))
    }
    /// Only the rows' bytes, one read per row (the embedding rows of the Recurrence
    /// view's few tokens, not the whole embedding).
    async fn f32_rows(&self, name: &str, rows: &[usize]) -> Result<Vec<f32>> {
        let source = &self.file.name;
        let e = (self.entries.get(name)).ok_or_else(|| Error::tensor(source, name, "missing"))?;
        let cols = e.shape.iter().product::<usize>() / e.shape.first().copied().unwrap_or(1).max(1);
        let mut out = Vec::with_capacity(rows.len() * cols);
        for &r in rows {
            let span = (e.dtype.row_range(&e.shape, r))
                .ok_or_else(|| no_row(source, name, r, &e.shape))?;
            let at = |i: usize| e.begin + i as u64;
            let bytes = self
                .file
                .source
                .read(at(span.start), at(span.end), source)
                .await?;
            let t = Tensor::new(vec![1, cols], e.dtype, bytes)
                .map_err(|err| Error::tensor(source, &e.name, err))?;
            check_finite(source, &e.name, &t)?;
            out.extend(t.to_f32());
        }
        Ok(out)
    }
}
