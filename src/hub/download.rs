//! One file of a repo into the hub cache, Python `huggingface_hub`'s layout:
//! `REPO/blobs/ETAG`, `REPO/snapshots/COMMIT/FILE` → `../../blobs/ETAG` (a relative
//! symlink), `REPO/refs/REVISION` holding COMMIT; a `.part` file resumed by a range
//! request.
//!
//! Our own code rather than `hf-hub` 0.4.3's `download_with_progress`: that one takes
//! the commit (`X-Repo-Commit`) and the blob name (`ETag`) from the server's answer into
//! paths unchecked, so a hostile mirror makes it create directories and symlinks
//! outside the cache, then panic (`assertion failed: pointer_path.exists()`,
//! `sync.rs:785`); it also follows relative redirects without a limit and copies a body
//! of any length. Here every name is checked ([`super::names`]) and every path we create
//! or link is checked to stay inside the cache ([`crate::io::inside_root`]) before the
//! first file operation, and the body is bounded by the declared size.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::http::Http;
use super::names;

/// Where the parts of one download go, all checked inside the cache root.
struct Paths {
    blob: PathBuf,
    part: PathBuf,
    pointer: PathBuf,
    reference: Option<PathBuf>,
}

/// What the hub says about a file before its body: the commit, the blob name, the size.
struct Meta {
    commit: String,
    etag: String,
    size: u64,
}

/// The file `file` of `repo_dir` (`root/models--ORG--NAME`) at `revision`, downloaded
/// from `url` unless its blob is there; `listed` is its size in the repo's listing.
/// `Err` is the message (the caller names the repo and the file).
pub fn download(
    http: &Http,
    (root, repo_dir): (&Path, &Path),
    (revision, file, url): (&str, &str, &str),
    listed: Option<u64>,
    bar: &indicatif::ProgressBar,
) -> Result<PathBuf, String> {
    let probe = http.get(url, Some("bytes=0-0"))?;
    let meta = meta(&probe, http.endpoint(), listed)?;
    drop(probe);
    let paths = paths(root, repo_dir, revision, file, &meta)?;
    let mkdir = |p: &Path| match p.parent() {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| format!("cannot create {}: {e}", d.display()))
        }
        None => Ok(()),
    };
    if !paths.blob.is_file() {
        mkdir(&paths.blob)?;
        body(http, url, &paths.part, meta.size, bar)?;
        std::fs::rename(&paths.part, &paths.blob)
            .map_err(|e| format!("cannot move {} into place: {e}", paths.part.display()))?;
    }
    mkdir(&paths.pointer)?;
    link(&paths.blob, &paths.pointer)?;
    if let Some(reference) = &paths.reference {
        mkdir(reference)?;
        std::fs::write(reference, &meta.commit)
            .map_err(|e| format!("cannot write {}: {e}", reference.display()))?;
    }
    Ok(paths.pointer)
}

/// The commit, blob name and size from the probe's headers, each checked.
fn meta(probe: &super::http::Reply, endpoint: &str, listed: Option<u64>) -> Result<Meta, String> {
    let missing = |h: &str| format!("the hub at {endpoint} answered without the `{h}` header");
    let commit = probe
        .header("x-repo-commit")
        .ok_or_else(|| missing("X-Repo-Commit"))?;
    names::commit(commit).map_err(|why| {
        format!(
            "commit `{}` in the hub's X-Repo-Commit header is refused: {why}",
            names::shown(commit)
        )
    })?;
    let raw = (probe
        .header("x-linked-etag")
        .or_else(|| probe.header("etag")))
    .ok_or_else(|| missing("ETag"))?;
    let etag = names::etag(raw).map_err(|why| {
        format!(
            "ETag `{}` from the hub is refused: {why}",
            names::shown(raw)
        )
    })?;
    let size = match probe.header("x-linked-size") {
        Some(s) => s,
        None => (probe.last("content-range"))
            .and_then(|r| r.rsplit('/').next())
            .ok_or_else(|| missing("Content-Range"))?,
    };
    let size: u64 = (size.trim().parse()).map_err(|_| {
        format!(
            "the hub declared the size `{}`, which is no number",
            names::shown(size)
        )
    })?;
    if let Some(listed) = listed.filter(|&l| size > l) {
        return Err(format!(
            "the hub declares {size} bytes but its listing says {listed}: refused before writing"
        ));
    }
    Ok(Meta {
        commit: commit.to_string(),
        etag,
        size,
    })
}

/// The blob, its `.part`, the snapshot link and the ref, each inside `root`.
fn paths(
    root: &Path,
    repo_dir: &Path,
    revision: &str,
    file: &str,
    m: &Meta,
) -> Result<Paths, String> {
    let blob = repo_dir.join("blobs").join(&m.etag);
    let mut part = blob.clone().into_os_string();
    part.push(".part");
    let pointer = repo_dir.join("snapshots").join(&m.commit).join(file);
    let reference = (revision != m.commit).then(|| repo_dir.join("refs").join(revision));
    let paths = Paths {
        blob,
        part: part.into(),
        pointer,
        reference,
    };
    for p in [&paths.blob, &paths.part, &paths.pointer]
        .into_iter()
        .chain(&paths.reference)
    {
        crate::io::inside_root(root, p).map_err(|e| e.to_string())?;
    }
    Ok(paths)
}

/// The body into `part` (resumed from its length), at most `size` bytes in all.
fn body(
    http: &Http,
    url: &str,
    part: &Path,
    size: u64,
    bar: &indicatif::ProgressBar,
) -> Result<(), String> {
    let interrupted = |e: &dyn std::fmt::Display| {
        format!("download interrupted: {e} (run the command again: the part already downloaded is resumed)")
    };
    let mut start = std::fs::metadata(part).map_or(0, |m| m.len());
    if start > size {
        start = 0;
    }
    let range = format!("bytes={start}-");
    let reply = http.get(url, Some(range.as_str()))?;
    if reply.response.status() != 206 {
        start = 0; // the whole file, not the range asked for
    }
    let left = size - start;
    let declared = reply
        .last("content-length")
        .and_then(|l| l.trim().parse::<u64>().ok());
    if let Some(length) = declared.filter(|&l| l > left) {
        return Err(format!(
            "the hub sends {length} bytes where {left} are left of the {size} it declared: refused before writing"
        ));
    }
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(start > 0)
        .truncate(start == 0)
        .open(part)
        .map_err(|e| format!("cannot write {}: {e}", part.display()))?;
    bar.set_length(size);
    bar.set_position(start);
    let within = copy_at_most(reply.response.into_reader(), &mut out, left, bar)
        .map_err(|e| interrupted(&e))?;
    if !within {
        drop(out);
        let _ = std::fs::remove_file(part);
        return Err(format!(
            "the hub sent more than the {size} bytes it declared: refused (the part was removed)"
        ));
    }
    bar.finish_and_clear();
    Ok(())
}

/// Appends `reader` to `out` up to `left` bytes; `Ok(false)` when it has more (then
/// what is past `left` is not written).
fn copy_at_most(
    reader: impl Read,
    out: &mut std::fs::File,
    left: u64,
    bar: &indicatif::ProgressBar,
) -> std::io::Result<bool> {
    let mut reader = reader.take(left + 1);
    let mut buf = vec![0u8; 1 << 16];
    let mut got = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(true);
        }
        got += n as u64;
        if got > left {
            return Ok(false);
        }
        out.write_all(&buf[..n])?;
        bar.inc(n as u64);
    }
}

/// `pointer` → `blob` as a relative symlink (a copy where symlinks are not allowed).
fn link(blob: &Path, pointer: &Path) -> Result<(), String> {
    if let Ok(meta) = std::fs::symlink_metadata(pointer) {
        if pointer.is_file() && !meta.file_type().is_symlink() {
            return Ok(()); // a copy made earlier
        }
        let _ = std::fs::remove_file(pointer);
    }
    let fail = |e: std::io::Error| format!("cannot link {}: {e}", pointer.display());
    // snapshots/COMMIT/a/b/FILE → ../../../../blobs/ETAG: one `..` per folder below REPO
    let below = pointer
        .parent()
        .and_then(|d| d.strip_prefix(blob.parent()?.parent()?).ok());
    let ups = below.map_or(0, |d| d.components().count());
    let mut target: PathBuf = std::iter::repeat_n("..", ups).collect();
    target.push("blobs");
    target.push(blob.file_name().unwrap_or_default());
    #[cfg(unix)]
    let made = std::os::unix::fs::symlink(&target, pointer);
    #[cfg(not(unix))]
    let made = std::fs::copy(blob, pointer).map(|_| drop(target));
    made.map_err(fail)
}
