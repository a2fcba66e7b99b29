//! Getting a checkpoint into the page without ever holding the whole file in wasm memory:
//! the file stays a `Blob` (the user's file on disk, or the Cache API's copy of a
//! download) or on the server (read by range requests where there is no Cache API), the
//! header is read from its first bytes, and the engine reads tensors one by one
//! ([`super::stream`]).
//!
//! Downloads stream through `fetch` with an "x / y MB" progress callback and are stored in
//! the Cache API (`rwkv-lens-models`), so a reload reads them from disk instead. Without a
//! Cache API (a page not served from a secure origin) a URL is read by range requests
//! while the engine is built; a server that ignores `Range` is then downloaded whole into
//! a `Blob` (browser memory, outside wasm's).

use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, Cache, ReadableStreamDefaultReader, Request, RequestInit, Response};

use rwkv_lens::{Error, Result};

use super::js::{caches, check_cancel, fetch_request};
use crate::protocol::js::{await_js, get, message};
use crate::protocol::CachedModel;

/// Where the bundled demo model is served (copied into dist/ by trunk).
pub const DEMO_URL: &str = "demo-model/rwkv6-demo.safetensors";
pub const GLOVE_URL: &str = "demo-model/glove-6B-50d-20k.bin";
const CACHE_NAME: &str = "rwkv-lens-models";

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
            ByteSource::Blob(blob) => slice(blob, begin, end, name).await,
            ByteSource::Range(url) => Ok(fetch_range(url, begin, end).await?.0),
        }
    }
}

/// A checkpoint file as the browser holds it.
pub struct ModelFile {
    /// File name or URL, used in every message.
    pub name: String,
    pub source: ByteSource,
    pub bytes: u64,
    /// Whether it came from the Cache API rather than the network.
    pub cached: bool,
}

impl ModelFile {
    pub fn from_blob(name: &str, blob: Blob) -> ModelFile {
        ModelFile {
            name: name.to_string(),
            bytes: blob.size() as u64,
            source: ByteSource::Blob(blob),
            cached: false,
        }
    }

    /// `url` read tensor by tensor with range requests, if its server answers them.
    async fn remote(url: &str) -> Option<ModelFile> {
        let (_, total) = fetch_range(url, 0, 8).await.ok()?;
        Some(ModelFile {
            name: url.to_string(),
            source: ByteSource::Range(url.to_string()),
            bytes: total?,
            cached: false,
        })
    }

    /// Bytes `begin..end` (past the end: as many as there are, like a slice of a blob).
    pub async fn read(&self, begin: u64, end: u64) -> Result<Vec<u8>> {
        let end = end.min(self.bytes);
        self.source.read(begin.min(end), end, &self.name).await
    }
}

/// Bytes `begin..end` of a blob, copied into wasm memory.
pub async fn slice(blob: &Blob, begin: u64, end: u64, name: &str) -> Result<Vec<u8>> {
    let part = blob
        .slice_with_f64_and_f64(begin as f64, end as f64)
        .map_err(|e| Error::file(name, message(&e)))?;
    let buf = await_js(
        part.array_buffer(),
        &format!("{name}: reading bytes {begin}..{end}"),
    )
    .await?;
    Ok(Uint8Array::new(&buf).to_vec())
}

/// `GET url`, refused in one line unless the server answers 2xx with something that is
/// not an HTML page (a login page or a site's fallback instead of the file).
async fn fetch(url: &str) -> Result<Response> {
    check_address(url)?;
    let req = Request::new_with_str(url).map_err(|e| Error::file(url, message(&e)))?;
    let resp = await_js(
        fetch_request(&req),
        &format!("download of {url} failed (offline, wrong address, or the server refuses cross-origin requests)"),
    )
    .await?
    .unchecked_into::<Response>();
    if !resp.ok() {
        return Err(Error::file(
            url,
            format!(
                "download failed: HTTP {} {}",
                resp.status(),
                resp.status_text()
            ),
        ));
    }
    not_html(url, &resp)?;
    Ok(resp)
}

/// Refuses an address that is not `http:`, `https:` or `blob:` (`protocol::check_url`).
pub fn check_address(url: &str) -> Result<()> {
    crate::protocol::check_url("address", url).map_err(Error::input)
}

/// A server that answers with an HTML page where a file was asked for.
fn not_html(url: &str, resp: &Response) -> Result<()> {
    let kind = resp.headers().get("content-type").ok().flatten();
    match kind {
        Some(k) if k.trim_start().to_ascii_lowercase().starts_with("text/html") => {
            Err(Error::file(
                url,
                format!(
                    "the server answered with an HTML page ({k}), not the file: check the address"
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// A small file (the demo model, the GloVe table) fetched whole.
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>> {
    let resp = fetch(url).await?;
    let promise = resp
        .array_buffer()
        .map_err(|e| Error::file(url, message(&e)))?;
    let buf = await_js(promise, url).await?;
    Ok(Uint8Array::new(&buf).to_vec())
}

/// The bundled demo model, as a blob.
pub async fn demo() -> Result<ModelFile> {
    let resp = fetch(DEMO_URL).await?;
    let blob = response_blob(&resp, DEMO_URL).await?;
    Ok(ModelFile::from_blob("demo model", blob))
}

async fn response_blob(resp: &Response, url: &str) -> Result<Blob> {
    let promise = resp.blob().map_err(|e| Error::file(url, message(&e)))?;
    Ok(await_js(promise, url).await?.unchecked_into::<Blob>())
}

async fn open_cache() -> Option<Cache> {
    let caches = caches()?;
    let cache = await_js(caches.open(CACHE_NAME), "Cache API").await.ok()?;
    Some(cache.unchecked_into())
}

/// Whether the Cache API holds a download of `url`.
pub async fn is_cached(url: &str) -> Result<bool> {
    let Some(cache) = open_cache().await else {
        return Ok(false);
    };
    let hit = await_js(cache.match_with_str(url), "Cache API").await?;
    Ok(hit.is_instance_of::<Response>())
}

/// The downloads the Cache API holds.
pub async fn cached_models() -> Result<Vec<CachedModel>> {
    let Some(cache) = open_cache().await else {
        return Ok(Vec::new());
    };
    let keys = await_js(cache.keys(), "Cache API").await?;
    let mut out = Vec::new();
    for req in js_sys::Array::from(&keys).iter() {
        let url = req.unchecked_into::<Request>().url();
        let hit = await_js(cache.match_with_str(&url), "Cache API").await?;
        if let Some(resp) = hit.dyn_ref::<Response>() {
            let bytes = response_blob(resp, &url).await?.size() as u64;
            out.push(CachedModel { url, bytes });
        }
    }
    Ok(out)
}

/// Removes one download from the Cache API.
pub async fn delete_cached(url: &str) -> Result<()> {
    if let Some(cache) = open_cache().await {
        await_js(
            cache.delete_with_str(url),
            &format!("{url}: deleting from the Cache API"),
        )
        .await?;
    }
    Ok(())
}

/// Bytes `begin..end` of a URL by one range request, with the file's total size from
/// `Content-Range`; `Err` in one line unless the server answers 206 with exactly those
/// bytes (a server that ignores ranges, a truncated or padded answer).
pub async fn fetch_range(url: &str, begin: u64, end: u64) -> Result<(Vec<u8>, Option<u64>)> {
    check_address(url)?;
    let err = |e: &JsValue| Error::file(url, message(e));
    let req = Request::new_with_str_and_init(url, &RequestInit::new()).map_err(|e| err(&e))?;
    let range = format!("bytes={begin}-{}", end.max(begin + 1) - 1);
    req.headers().set("Range", &range).map_err(|e| err(&e))?;
    let what =
        format!("range request for bytes {begin}..{end} failed (offline, or the server went away)");
    let resp = await_js(fetch_request(&req), &format!("{url}: {what}")).await?;
    let resp = resp.unchecked_into::<Response>();
    if resp.status() != 206 {
        return Err(Error::file(
            url,
            format!(
                "the server answered HTTP {} instead of 206 to a range request for bytes {begin}..{end}: it does not serve byte ranges",
                resp.status()
            ),
        ));
    }
    not_html(url, &resp)?;
    let total = resp
        .headers()
        .get("content-range")
        .ok()
        .flatten()
        .and_then(|v| v.rsplit('/').next()?.parse::<u64>().ok());
    let promise = resp.array_buffer().map_err(|e| err(&e))?;
    let buf = await_js(promise, &format!("{url}: {what}")).await?;
    let bytes = Uint8Array::new(&buf).to_vec();
    if bytes.len() as u64 != end - begin {
        return Err(Error::file(
            url,
            format!(
                "a range request for bytes {begin}..{end} returned {} bytes (file changed or truncated on the server?)",
                bytes.len()
            ),
        ));
    }
    Ok((bytes, total))
}

/// Downloads `url` with progress (`progress(received, total)`), or reads it from the
/// Cache API if an earlier visit stored it.
pub async fn download(url: &str, mut progress: impl FnMut(u64, Option<u64>)) -> Result<ModelFile> {
    check_address(url)?;
    let cache = open_cache().await;
    if let Some(cache) = &cache {
        let hit = await_js(cache.match_with_str(url), "Cache API").await?;
        if let Some(resp) = hit.dyn_ref::<Response>() {
            let blob = response_blob(resp, url).await?;
            let mut file = ModelFile::from_blob(url, blob);
            file.cached = true;
            return Ok(file);
        }
    }
    if cache.is_none() {
        if let Some(file) = ModelFile::remote(url).await {
            // No Cache API to keep a copy: the engine reads the tensors from the server.
            return Ok(file);
        }
    }
    let resp = fetch(url).await?;
    let headers = resp.headers();
    // A compressed transfer's length is not the file's: then the total is unknown.
    let encoded = headers.get("content-encoding").ok().flatten().is_some();
    let total = headers
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|_| !encoded);
    let Some(cache) = cache else {
        // No Cache API and a server that ignores `Range`: the whole download as a blob
        // (browser memory, outside wasm's; the engine still reads it tensor by tensor).
        let blob = response_blob(&resp, url).await?;
        progress(blob.size() as u64, total);
        return Ok(ModelFile::from_blob(url, blob));
    };
    // One copy streams into the cache (on disk), the other is only counted.
    let for_cache = resp.clone().map_err(|e| Error::file(url, message(&e)))?;
    let stored = cache.put_with_str(url, &for_cache);
    if let Err(e) = count_stream(&resp, url, total, &mut progress).await {
        // never a partial file left in the cache
        let _ = await_js(stored, url).await;
        let _ = await_js(cache.delete_with_str(url), url).await;
        return Err(e);
    }
    if let Err(e) = await_js(stored, "storing the download in the Cache API").await {
        // The Cache API refused the copy (its quota, or a private window's memory-only
        // storage): nothing partial stays, and the engine reads the tensors by range.
        let _ = await_js(cache.delete_with_str(url), url).await;
        return ModelFile::remote(url).await.ok_or_else(|| {
            Error::file(
                url,
                format!("{e}, and the server does not answer Range requests"),
            )
        });
    }
    let hit = await_js(cache.match_with_str(url), "Cache API").await?;
    let resp = hit
        .dyn_into::<Response>()
        .map_err(|_| Error::file(url, "the Cache API lost the download"))?;
    Ok(ModelFile::from_blob(url, response_blob(&resp, url).await?))
}

/// Reads the body to the end, calling `progress` as bytes arrive (chunks are dropped).
async fn count_stream(
    resp: &Response,
    url: &str,
    total: Option<u64>,
    progress: &mut impl FnMut(u64, Option<u64>),
) -> Result<()> {
    let body = resp
        .body()
        .ok_or_else(|| Error::file(url, "the response has no body"))?;
    let reader = body
        .get_reader()
        .unchecked_into::<ReadableStreamDefaultReader>();
    let mut received = 0u64;
    loop {
        let chunk = await_js(reader.read(), &format!("{url}: download interrupted")).await?;
        if get(&chunk, "done").as_bool().unwrap_or(true) {
            break;
        }
        received += Uint8Array::new(&get(&chunk, "value")).length() as u64;
        progress(received, total);
        if let Err(e) = check_cancel(&format!("download of {url}")) {
            let _ = reader.cancel();
            return Err(e);
        }
    }
    if let Some(t) = total.filter(|&t| t != received) {
        return Err(Error::file(
            url,
            format!("download incomplete: {received} of {t} bytes"),
        ));
    }
    Ok(())
}
