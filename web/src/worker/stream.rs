//! What a checkpoint holds and its tensors one at a time. [`read_header`] reads the
//! safetensors header (or a `.pth` archive's tensor list, [`super::archive`]) from the
//! file's first bytes; [`preview`] reads it from a URL by two range requests before any
//! download. Then streaming engine construction: the checkpoint's bytes stay outside wasm
//! memory (a `Blob` the browser holds — the user's file, the Cache API's copy of a
//! download — or the server itself, read by HTTP range requests), and the engine asks for
//! one tensor at a time ([`TensorSource`]): its bytes are read, checked, converted (and
//! quantized), uploaded and dropped before the next. Peak wasm memory while loading is
//! the largest tensor plus the engine's own state (on the GPU path the host-side
//! embedding; on the CPU path the reference's f32 weights), never the file.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;

use super::archive;
use super::header::{self, Entry, Header};
use super::js::check_cancel;
use super::loader::{self, fetch_range, ModelFile};
use crate::protocol::{Reply, Stage};
use rwkv_lens::model::checkpoint::check_finite;
use rwkv_lens::model::layout::canonical_name;
use rwkv_lens::model::source::no_row;
use rwkv_lens::model::{Config, Tensor, TensorSource};
use rwkv_lens::{Error, Result};

/// Reads and parses the safetensors header, or the tensor list of a `.pth` archive.
pub async fn read_header(file: &ModelFile) -> Result<Header> {
    let first8 = file.read(0, 8).await?;
    if archive::is_zip(&first8) {
        return archive::read_pth_header(file).await;
    }
    let n = header::header_len(&file.name, &first8, file.bytes)?;
    let json = file.read(8, 8 + n).await?;
    header::parse(&file.name, &json, file.bytes)
}

/// The header of a not-yet-downloaded URL, read with two HTTP range requests, and the
/// file size when the server tells it. `Ok(None)` when the URL is already cached or the
/// server ignores ranges (the full download then tells the same); `Err` when the bytes
/// are there but are not a usable safetensors header, so nothing big is downloaded.
pub async fn preview(url: &str) -> Result<Option<(Header, Option<u64>)>> {
    if loader::is_cached(url).await? {
        return Ok(None);
    }
    let Ok((first8, total)) = fetch_range(url, 0, 8).await else {
        return Ok(None);
    };
    if archive::is_zip(&first8) {
        // a `.pth`: its directory is at the end; the download's blob is read instead
        return Ok(None);
    }
    let size = total.unwrap_or(u64::MAX);
    let n = header::header_len(url, &first8, size)?;
    let (json, _) = fetch_range(url, 8, 8 + n).await?;
    Ok(Some((header::parse(url, &json, size)?, total)))
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
        super::post(&Reply::Progress {
            stage: Stage::Parse,
            done: done.min(total) as f64,
            total: Some(total as f64),
        });
        check_cancel("loading")?;
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
