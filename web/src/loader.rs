//! Getting a checkpoint into the page without ever holding the whole file in one buffer:
//! the file stays a `Blob` (the user's file on disk, or the Cache API's copy of a
//! download), the header is read from its first bytes, and tensors are sliced out and
//! copied into wasm memory one by one.
//!
//! All of it runs in the page's worker, except the cached-models list (page).
//! Downloads stream through `fetch` with an "x / y MB" progress callback and are stored in
//! the Cache API (`rwkv-lens-models`), so a reload reads them from disk instead.

use js_sys::Uint8Array;
use wasm_bindgen::JsCast;
use web_sys::{Blob, Cache, ReadableStreamDefaultReader, Request, RequestInit, Response};

use crate::dom::{await_js, caches, fetch_request, get};
use crate::header::{self, Header};
use rwkv_lens::model::{Checkpoint, Tensor};
use rwkv_lens::{Error, Result};

/// Where the bundled demo model is served (copied into dist/ by trunk).
pub const DEMO_URL: &str = "demo-model/rwkv6-demo.safetensors";
pub const GLOVE_URL: &str = "demo-model/glove-6B-50d-20k.bin";
const CACHE_NAME: &str = "rwkv-lens-models";

/// A checkpoint file as the browser holds it.
pub struct ModelFile {
    /// File name or URL, used in every message.
    pub name: String,
    pub blob: Blob,
    pub bytes: u64,
    /// Whether it came from the Cache API rather than the network.
    pub cached: bool,
}

impl ModelFile {
    pub fn from_blob(name: &str, blob: Blob) -> ModelFile {
        ModelFile {
            name: name.to_string(),
            bytes: blob.size() as u64,
            blob,
            cached: false,
        }
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
    let first8 = slice(&file.blob, 0, 8.min(file.bytes), &file.name).await?;
    if crate::archive::is_zip(&first8) {
        return crate::archive::read_pth_header(file).await;
    }
    let n = header::header_len(&file.name, &first8, file.bytes)?;
    let json = slice(&file.blob, 8, 8 + n, &file.name).await?;
    header::parse(&file.name, &json, file.bytes)
}

/// Copies the tensors into wasm memory one at a time (`progress(done, total)`), then
/// canonicalises and checks them.
pub async fn read_checkpoint(
    file: &ModelFile,
    header: &Header,
    mut progress: impl FnMut(usize, usize),
) -> Result<Checkpoint> {
    let mut raw = Vec::with_capacity(header.entries.len());
    for (i, e) in header.entries.iter().enumerate() {
        progress(i, header.entries.len());
        crate::dom::check_cancel("loading")?;
        let bytes = slice(&file.blob, e.begin, e.end, &file.name).await?;
        let t = Tensor::new(e.shape.clone(), e.dtype, bytes)
            .map_err(|err| Error::tensor(&file.name, &e.name, err))?;
        raw.push((e.name.clone(), t));
    }
    progress(header.entries.len(), header.entries.len());
    Checkpoint::from_tensors(&file.name, raw, file.bytes)
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
    let req = Request::new_with_str_and_init(url, &RequestInit::new()).ok()?;
    let range = format!("bytes={begin}-{}", end - 1);
    req.headers().set("Range", &range).ok()?;
    let resp = await_js(fetch_request(&req), url).await.ok()?;
    let resp = resp.dyn_into::<Response>().ok()?;
    if resp.status() != 206 {
        return None;
    }
    let total = resp
        .headers()
        .get("content-range")
        .ok()
        .flatten()
        .and_then(|v| v.rsplit('/').next()?.parse::<u64>().ok());
    let buf = await_js(resp.array_buffer().ok()?, url).await.ok()?;
    let bytes = Uint8Array::new(&buf).to_vec();
    (bytes.len() as u64 == end - begin).then_some((bytes, total))
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
        // No Cache API (e.g. not a secure context): keep the download as a blob.
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
    await_js(
        stored,
        &format!("{url}: storing the download in the Cache API"),
    )
    .await?;
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
