//! Getting a checkpoint into the page without ever holding the whole file in wasm memory:
//! the file stays a `Blob` (the user's file on disk, or the Cache API's copy of a
//! download) or on the server (read by range requests where there is no Cache API), the
//! header is read from its first bytes, and the engine reads tensors one by one
//! ([`crate::stream`]).
//!
//! All of it runs in the page's worker, except the cached-models list (page).
//! Downloads stream through `fetch` with an "x / y MB" progress callback and are stored in
//! the Cache API (`rwkv-lens-models`), so a reload reads them from disk instead. Without a
//! Cache API (a page not served from a secure origin) a URL is read by range requests
//! while the engine is built; a server that ignores `Range` is then downloaded whole into
//! a `Blob` (browser memory, outside wasm's).

use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, Cache, ReadableStreamDefaultReader, Request, RequestInit, Response};

use crate::dom::{await_js, caches, fetch_request, get};
use crate::header::{self, Header};
use crate::stream::ByteSource;
use rwkv_lens::{Error, Result};

/// Where the bundled demo model is served (copied into dist/ by trunk).
pub const DEMO_URL: &str = "demo-model/rwkv6-demo.safetensors";
pub const GLOVE_URL: &str = "demo-model/glove-6B-50d-20k.bin";
const CACHE_NAME: &str = "rwkv-lens-models";

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
        .map_err(|e| Error::file(name, crate::dom::js_message(&e)))?;
    let buf = await_js(
        part.array_buffer(),
        &format!("{name}: reading bytes {begin}..{end}"),
    )
    .await?;
    Ok(Uint8Array::new(&buf).to_vec())
}

/// Reads and parses the safetensors header, or the tensor list of a `.pth` archive.
pub async fn read_header(file: &ModelFile) -> Result<Header> {
    let first8 = file.read(0, 8).await?;
    if crate::archive::is_zip(&first8) {
        return crate::archive::read_pth_header(file).await;
    }
    let n = header::header_len(&file.name, &first8, file.bytes)?;
    let json = file.read(8, 8 + n).await?;
    header::parse(&file.name, &json, file.bytes)
}

async fn fetch(url: &str) -> Result<Response> {
    let req =
        Request::new_with_str(url).map_err(|e| Error::file(url, crate::dom::js_message(&e)))?;
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
    Ok(resp)
}

/// A small file (the demo model, the GloVe table) fetched whole.
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>> {
    let resp = fetch(url).await?;
    let promise = resp
        .array_buffer()
        .map_err(|e| Error::file(url, crate::dom::js_message(&e)))?;
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
    let promise = resp
        .blob()
        .map_err(|e| Error::file(url, crate::dom::js_message(&e)))?;
    Ok(await_js(promise, url).await?.unchecked_into::<Blob>())
}

async fn open_cache() -> Option<Cache> {
    let caches = caches()?;
    let cache = await_js(caches.open(CACHE_NAME), "Cache API").await.ok()?;
    Some(cache.unchecked_into())
}

/// The downloads the Cache API holds: (URL, bytes).
pub async fn cached_models() -> Result<Vec<(String, u64)>> {
    let Some(cache) = open_cache().await else {
        return Ok(Vec::new());
    };
    let keys = await_js(cache.keys(), "Cache API").await?;
    let mut out = Vec::new();
    for req in js_sys::Array::from(&keys).iter() {
        let url = req.unchecked_into::<Request>().url();
        let hit = await_js(cache.match_with_str(&url), "Cache API").await?;
        if let Some(resp) = hit.dyn_ref::<Response>() {
            out.push((url.clone(), response_blob(resp, &url).await?.size() as u64));
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

/// The header of a not-yet-downloaded URL, read with two HTTP range requests, and the
/// file size when the server tells it. `Ok(None)` when the URL is already cached or the
/// server ignores ranges (the full download then tells the same); `Err` when the bytes
/// are there but are not a usable safetensors header, so nothing big is downloaded.
pub async fn preview(url: &str) -> Result<Option<(Header, Option<u64>)>> {
    if let Some(cache) = open_cache().await {
        let hit = await_js(cache.match_with_str(url), "Cache API").await?;
        if hit.is_instance_of::<Response>() {
            return Ok(None);
        }
    }
    let Some((first8, total)) = fetch_range(url, 0, 8).await else {
        return Ok(None);
    };
    if crate::archive::is_zip(&first8) {
        // a `.pth`: its directory is at the end; the download's blob is read instead
        return Ok(None);
    }
    let size = total.unwrap_or(u64::MAX);
    let n = header::header_len(url, &first8, size)?;
    let Some((json, _)) = fetch_range(url, 8, 8 + n).await else {
        return Ok(None);
    };
    Ok(Some((header::parse(url, &json, size)?, total)))
}

/// Bytes `begin..end` of a URL by a range request, with the total size from
/// `Content-Range`; `None` unless the server answers 206 with exactly those bytes.
async fn fetch_range(url: &str, begin: u64, end: u64) -> Option<(Vec<u8>, Option<u64>)> {
    ranged(url, begin, end).await.ok()
}

/// Bytes `begin..end` of a URL by a range request (a tensor streamed from the server).
pub async fn range(url: &str, begin: u64, end: u64) -> Result<Vec<u8>> {
    Ok(ranged(url, begin, end).await?.0)
}

/// [`fetch_range`], saying in one line what went wrong.
async fn ranged(url: &str, begin: u64, end: u64) -> Result<(Vec<u8>, Option<u64>)> {
    let err = |e: &JsValue| Error::file(url, crate::dom::js_message(e));
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

/// `url` read tensor by tensor with range requests, if its server answers them.
async fn by_range(url: &str) -> Option<ModelFile> {
    let (_, total) = fetch_range(url, 0, 8).await?;
    Some(ModelFile {
        name: url.to_string(),
        source: ByteSource::Range(url.to_string()),
        bytes: total?,
        cached: false,
    })
}

/// Downloads `url` with progress (`progress(received, total)`), or reads it from the
/// Cache API if an earlier visit stored it.
pub async fn download(url: &str, mut progress: impl FnMut(u64, Option<u64>)) -> Result<ModelFile> {
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
        if let Some(file) = by_range(url).await {
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
    let for_cache = resp
        .clone()
        .map_err(|e| Error::file(url, crate::dom::js_message(&e)))?;
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
        return by_range(url).await.ok_or_else(|| {
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
        if let Err(e) = crate::dom::check_cancel(&format!("download of {url}")) {
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
