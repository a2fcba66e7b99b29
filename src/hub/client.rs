//! The hub client: `hf-hub`'s blocking API plus what this project needs of it.
//!
//! `hf-hub` 0.4 (sync, over ureq) downloads into Python `huggingface_hub`'s cache layout
//! (`REPO/blobs/ETAG`, `REPO/snapshots/COMMIT/FILE` → blob, `REPO/refs/REVISION`) and
//! resumes a `.part` file with a range request. It does not read `HF_TOKEN`,
//! `HF_HUB_CACHE` or `HF_HUB_OFFLINE`, does not check what it downloaded, and asks the
//! hub before every download; all of that is added here.

use std::io::Read;
use std::path::{Path, PathBuf};

use hf_hub::api::sync::{Api, ApiBuilder, ApiError};
use hf_hub::{Cache, Repo, RepoType};

use crate::{Error, Result};

/// A model or a dataset repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepoKind {
    Model,
    Dataset,
}

/// A repository at a revision (branch, tag or commit; `main` by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoId {
    pub id: String,
    pub kind: RepoKind,
    pub revision: String,
}

impl RepoId {
    pub fn new(id: &str, kind: RepoKind, revision: Option<&str>) -> RepoId {
        RepoId {
            id: id.to_string(),
            kind,
            revision: revision.unwrap_or("main").to_string(),
        }
    }

    fn hf(&self) -> Repo {
        let kind = match self.kind {
            RepoKind::Model => RepoType::Model,
            RepoKind::Dataset => RepoType::Dataset,
        };
        Repo::with_revision(self.id.clone(), kind, self.revision.clone())
    }

    /// `ORG/NAME` or `ORG/NAME@REV` (`datasets/` in front of a dataset), for messages.
    pub fn shown(&self) -> String {
        let prefix = match self.kind {
            RepoKind::Model => "",
            RepoKind::Dataset => "datasets/",
        };
        match self.revision.as_str() {
            "main" => format!("{prefix}{}", self.id),
            rev => format!("{prefix}{}@{rev}", self.id),
        }
    }
}

/// The hub as this process sees it: endpoint, token, cache and offline mode from the
/// environment (`HF_ENDPOINT`, `HF_TOKEN`, `HF_HOME`/`HF_HUB_CACHE`, `HF_HUB_OFFLINE`).
pub struct Hub {
    api: Api,
    cache: Cache,
    endpoint: String,
    offline: bool,
}

/// `HF_HUB_OFFLINE`'s truthy values, as `huggingface_hub` reads them.
fn env_flag(name: &str) -> bool {
    std::env::var(name)
        .is_ok_and(|v| ["1", "on", "yes", "true"].contains(&v.trim().to_ascii_lowercase().as_str()))
}

/// `huggingface_hub`'s cache directory: `HF_HUB_CACHE`, else `HF_HOME/hub`, else
/// `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
pub fn hub_cache_dir() -> PathBuf {
    let var = |n: &str| {
        std::env::var_os(n)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = var("HF_HUB_CACHE") {
        return dir;
    }
    let home = var("HF_HOME").unwrap_or_else(|| {
        (var("XDG_CACHE_HOME").or_else(|| dirs::home_dir().map(|h| h.join(".cache"))))
            .unwrap_or_else(std::env::temp_dir)
            .join("huggingface")
    });
    home.join("hub")
}

impl Hub {
    pub fn from_env() -> Result<Hub> {
        let cache = Cache::new(hub_cache_dir());
        let endpoint = std::env::var("HF_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| "https://huggingface.co".into());
        let endpoint = endpoint.trim_end_matches('/').to_string();
        let token = (std::env::var("HF_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty()))
        .or_else(|| cache.token());
        let api = ApiBuilder::from_cache(cache.clone())
            .with_endpoint(endpoint.clone())
            .with_token(token)
            .with_progress(false)
            .with_user_agent("rwkv-lens", env!("CARGO_PKG_VERSION"))
            .build()
            .map_err(|e| Error::input(format!("hub client: {e}")))?;
        Ok(Hub {
            api,
            cache,
            endpoint,
            offline: env_flag("HF_HUB_OFFLINE"),
        })
    }

    pub fn offline(&self) -> bool {
        self.offline
    }

    /// The snapshot directory of `repo` already in the cache and the files in it
    /// (relative paths, sorted), without any request.
    pub fn cached_snapshot(&self, repo: &RepoId) -> Option<(PathBuf, Vec<String>)> {
        let root = self.cache.path().join(repo.hf().folder_name());
        let commit = std::fs::read_to_string(root.join("refs").join(&repo.revision))
            .ok()
            .map(|c| c.trim().to_string())
            .or_else(|| is_commit(&repo.revision).then(|| repo.revision.clone()))?;
        let snapshot = root.join("snapshots").join(commit);
        let mut files = Vec::new();
        list_files(&snapshot, &snapshot, &mut files);
        files.sort();
        (!files.is_empty()).then_some((snapshot, files))
    }

    /// The files the hub lists for `repo` at its revision.
    pub fn list(&self, repo: &RepoId) -> Result<Vec<String>> {
        if self.offline {
            return Err(self.offline_miss(repo, None));
        }
        let info = (self.api.repo(repo.hf()).info()).map_err(|e| self.error(repo, None, e))?;
        let mut files: Vec<String> = info.siblings.into_iter().map(|s| s.rfilename).collect();
        files.sort();
        Ok(files)
    }

    /// A file of `repo`: from the cache when there (no request), else downloaded with a
    /// progress bar and checked against its content hash.
    pub fn fetch(&self, repo: &RepoId, file: &str) -> Result<PathBuf> {
        if let Some(path) = self.cache.repo(repo.hf()).get(file) {
            return Ok(path);
        }
        if self.offline {
            return Err(self.offline_miss(repo, Some(file)));
        }
        let bar = Bar(bytes_bar(file));
        let path = (self.api.repo(repo.hf()).download_with_progress(file, bar))
            .map_err(|e| self.error(repo, Some(file), e))?;
        verify(&path).map_err(|msg| Error::file(what(repo, Some(file)), msg))?;
        Ok(path)
    }

    fn offline_miss(&self, repo: &RepoId, file: Option<&str>) -> Error {
        Error::file(
            what(repo, file),
            "not in the local hub cache and HF_HUB_OFFLINE is set (run once online, or unset HF_HUB_OFFLINE)",
        )
    }

    /// One line for what `hf-hub` reports.
    fn error(&self, repo: &RepoId, file: Option<&str>, e: ApiError) -> Error {
        let msg = match e {
            ApiError::RequestError(e) => match *e {
                ureq::Error::Status(code, _) => status_message(code, &self.endpoint),
                ureq::Error::Transport(t) => {
                    format!("cannot reach the hub at {}: {t}", self.endpoint)
                }
            },
            ApiError::IoError(e) => format!(
                "download interrupted: {e} (run the command again: the part already downloaded is resumed)"
            ),
            ApiError::MissingHeader(h) => format!(
                "the hub at {} answered without the `{h}` header",
                self.endpoint
            ),
            other => other.to_string(),
        };
        Error::file(what(repo, file), msg)
    }
}

/// `ORG/NAME@REV` or `ORG/NAME@REV: file `PATH``, the subject of every message.
fn what(repo: &RepoId, file: Option<&str>) -> String {
    match file {
        Some(f) => format!("{}: file `{f}`", repo.shown()),
        None => repo.shown(),
    }
}

fn status_message(code: u16, endpoint: &str) -> String {
    match code {
        401 | 403 => format!(
            "the hub refused access ({code}): a gated or private repo needs a token: set HF_TOKEN (and accept the repo's terms on its page)"
        ),
        404 => format!("not found on the hub at {endpoint} (404): check the id, the file name and the revision"),
        _ => format!("the hub at {endpoint} answered HTTP {code}"),
    }
}

fn is_commit(revision: &str) -> bool {
    revision.len() == 40 && revision.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Every file under `dir`, as paths relative to `root` with `/` separators.
fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            list_files(root, &path, out);
        } else if path.exists() {
            if let Ok(rel) = path.strip_prefix(root) {
                let parts: Vec<_> = rel.iter().map(|p| p.to_string_lossy()).collect();
                out.push(parts.join("/"));
            }
        }
    }
}

/// Checks a downloaded file against the hash its blob is named by (the hub's ETag: the
/// sha256 of an LFS file, the git blob sha1 of any other); on a mismatch removes the
/// blob and the snapshot link, so that no bad file stays in the cache.
fn verify(pointer: &Path) -> std::result::Result<(), String> {
    let blob = std::fs::canonicalize(pointer).map_err(|e| format!("cannot read: {e}"))?;
    let etag = blob.file_name().map(|n| n.to_string_lossy().into_owned());
    let etag = etag.unwrap_or_default().to_ascii_lowercase();
    let got = match etag.len() {
        64 => hash_file::<sha2::Sha256>(&blob, None),
        40 => hash_file::<sha1::Sha1>(&blob, Some(blob_header(&blob))),
        _ => return Ok(()), // an ETag that is no content hash: nothing to compare
    }
    .map_err(|e| format!("cannot read: {e}"))?;
    if got == etag {
        return Ok(());
    }
    let size = std::fs::metadata(&blob).map_or(0, |m| m.len());
    let _ = std::fs::remove_file(pointer);
    let _ = std::fs::remove_file(&blob);
    Err(format!(
        "content hash mismatch: expected {etag}, the {size} bytes received hash to {got} (removed from the cache; run the command again)"
    ))
}

/// Git's blob header `blob LEN\0`, which a git sha1 hashes before the content.
fn blob_header(path: &Path) -> Vec<u8> {
    let len = std::fs::metadata(path).map_or(0, |m| m.len());
    format!("blob {len}\0").into_bytes()
}

fn hash_file<D: sha1::Digest>(path: &Path, prefix: Option<Vec<u8>>) -> std::io::Result<String> {
    let mut hasher = D::new();
    if let Some(p) = prefix {
        hasher.update(&p);
    }
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The sha256 of a file, lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    hash_file::<sha2::Sha256>(path, None)
        .map_err(|e| Error::file(path.display(), format!("cannot read: {e}")))
}

/// A download bar on stderr (drawn only on a terminal).
fn bytes_bar(file: &str) -> indicatif::ProgressBar {
    let style = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ({eta})",
    )
    .expect("a valid template");
    let bar = indicatif::ProgressBar::new(0).with_style(style);
    bar.set_message(format!("downloading {file}"));
    bar
}

/// An indicatif bar behind `hf-hub`'s progress trait.
struct Bar(indicatif::ProgressBar);

impl hf_hub::api::Progress for Bar {
    fn init(&mut self, size: usize, _filename: &str) {
        self.0.set_length(size as u64);
        self.0.set_position(0);
    }
    fn update(&mut self, size: usize) {
        self.0.inc(size as u64);
    }
    fn finish(&mut self) {
        self.0.finish_and_clear();
    }
}
