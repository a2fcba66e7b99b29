//! The hub client: listings and downloads over `ureq` into Python `huggingface_hub`'s
//! cache layout (`REPO/blobs/ETAG`, `REPO/snapshots/COMMIT/FILE` → blob,
//! `REPO/refs/REVISION`), so a file downloaded by either is shared; `HF_TOKEN`,
//! `HF_HUB_CACHE`, `HF_HUB_OFFLINE`, a cache-first lookup that makes no request, content
//! hashes checked after every download (a bad file never stays in the cache), one-line
//! errors, an indicatif bar.
//!
//! Nothing the hub says is trusted as a path: repo ids, revisions, file names, commits
//! and ETags are checked against the hub's grammar ([`super::names`]) before any file
//! operation, and every path created or linked is checked to stay in the cache
//! ([`crate::io::inside_root`]). `hf-hub` 0.4.3 is used only for the layout's names
//! (`Repo::folder_name`) and the token file (`Cache::token`), behind [`guard`]; its
//! downloader is replaced by [`super::download`] (it creates paths from the server's
//! answer and can panic: see that module and docs/errors.md).

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::download::download;
use super::http::Http;
use super::names;
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

    fn hf(&self) -> hf_hub::Repo {
        let kind = match self.kind {
            RepoKind::Model => hf_hub::RepoType::Model,
            RepoKind::Dataset => hf_hub::RepoType::Dataset,
        };
        hf_hub::Repo::with_revision(self.id.clone(), kind, self.revision.clone())
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

    /// The id and the revision against the hub's grammar, before any request or path.
    pub fn check(&self) -> Result<()> {
        let refuse = |field: &str, value: &str, why: String| {
            Error::file(
                self.shown(),
                format!("{field} `{}` is refused: {why}", names::shown(value)),
            )
        };
        names::repo_id(&self.id).map_err(|why| refuse("repo id", &self.id, why))?;
        names::revision(&self.revision).map_err(|why| refuse("revision", &self.revision, why))
    }

    /// `api/models/ORG/NAME/revision/REV` (the listing) or `[datasets/]ORG/NAME/resolve/REV/FILE`.
    fn url(&self, endpoint: &str, file: Option<&str>) -> String {
        let rev = names::url_quote(&self.revision, false);
        let (api, files) = match self.kind {
            RepoKind::Model => ("models", ""),
            RepoKind::Dataset => ("datasets", "datasets/"),
        };
        match file {
            None => format!("{endpoint}/api/{api}/{}/revision/{rev}?blobs=true", self.id),
            Some(f) => format!(
                "{endpoint}/{files}{}/resolve/{rev}/{}",
                self.id,
                names::url_quote(f, true)
            ),
        }
    }
}

/// The hub as this process sees it: endpoint, token, cache and offline mode from the
/// environment (`HF_ENDPOINT`, `HF_TOKEN`, `HF_HOME`/`HF_HUB_CACHE`, `HF_HUB_OFFLINE`).
pub struct Hub {
    http: Http,
    root: PathBuf,
    endpoint: String,
    offline: bool,
    /// The files of the listings made so far, `(repo shown, file)`, with their sizes
    /// when the listing gives them.
    sizes: Mutex<HashMap<(String, String), Option<u64>>>,
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

/// Runs `f` (an `hf-hub` call, or our HTTP code) so that a panic in it becomes a
/// one-line error, not a backtrace: the panic hook is silenced for this thread meanwhile.
pub fn guard<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    use std::sync::Arc;
    let caught = Arc::new(Mutex::new(String::new()));
    let (me, note) = (std::thread::current().id(), caught.clone());
    let prev = Arc::new(std::panic::take_hook());
    let other = prev.clone();
    std::panic::set_hook(Box::new(move |info| {
        match std::thread::current().id() == me {
            true => *note.lock().unwrap_or_else(|e| e.into_inner()) = info.to_string(),
            false => (**other)(info),
        }
    }));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    drop(std::panic::take_hook()); // ours, with its clone of `prev`
    if let Ok(hook) = Arc::try_unwrap(prev) {
        std::panic::set_hook(hook);
    }
    result.unwrap_or_else(|_| {
        let msg = caught.lock().map(|m| m.clone()).unwrap_or_default();
        Err(Error::input(format!(
            "{what}: the hub client hit a panic ({}); nothing more was written (please report it)",
            msg.replace("panicked at ", "at ")
        )))
    })
}

impl Hub {
    pub fn from_env() -> Result<Hub> {
        let root = hub_cache_dir();
        let endpoint = std::env::var("HF_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| "https://huggingface.co".into());
        let endpoint = endpoint.trim_end_matches('/').to_string();
        let file_token = || guard("hub token", || Ok(hf_hub::Cache::new(root.clone()).token()));
        let token = match std::env::var("HF_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
        {
            Some(t) => Some(t.trim().to_string()),
            None => file_token()?,
        };
        Ok(Hub {
            http: Http::new(&endpoint, token),
            root,
            endpoint,
            offline: env_flag("HF_HUB_OFFLINE"),
            sizes: Mutex::new(HashMap::new()),
        })
    }

    pub fn offline(&self) -> bool {
        self.offline
    }

    /// `root/models--ORG--NAME` (the layout's name, from `hf-hub`).
    fn repo_dir(&self, repo: &RepoId) -> Result<PathBuf> {
        let name = guard(&repo.shown(), || Ok(repo.hf().folder_name()))?;
        Ok(self.root.join(name))
    }

    /// The snapshot directory of `repo` already in the cache and the files in it
    /// (relative paths, sorted), without any request. A ref that names no commit is
    /// ignored (as if nothing were cached).
    pub fn cached_snapshot(&self, repo: &RepoId) -> Option<(PathBuf, Vec<String>)> {
        let snapshot = self.cached_dir(repo)?;
        let mut files = Vec::new();
        list_files(&snapshot, &snapshot, &mut files);
        files.sort();
        (!files.is_empty()).then_some((snapshot, files))
    }

    fn cached_dir(&self, repo: &RepoId) -> Option<PathBuf> {
        repo.check().ok()?;
        let root = self.repo_dir(repo).ok()?;
        let commit = std::fs::read_to_string(root.join("refs").join(&repo.revision))
            .ok()
            .map(|c| c.trim().to_string())
            .or_else(|| Some(repo.revision.clone()))
            .filter(|c| names::commit(c).is_ok())?;
        let snapshot = root.join("snapshots").join(commit);
        crate::io::inside_root(&self.root, &snapshot).ok()?;
        Some(snapshot)
    }

    /// The files the hub lists for `repo` at its revision, each name checked.
    pub fn list(&self, repo: &RepoId) -> Result<Vec<String>> {
        repo.check()?;
        if self.offline {
            return Err(self.offline_miss(repo, None));
        }
        let fail = |msg: String| Error::file(what(repo, None), msg);
        let url = repo.url(&self.endpoint, None);
        let text = guard(&repo.shown(), || {
            let reply = self.http.get(&url, None).map_err(fail)?;
            let mut text = String::new();
            let limit = 64 << 20;
            let read = (reply.response.into_reader().take(limit + 1)).read_to_string(&mut text);
            read.map_err(|e| fail(format!("cannot read the hub's listing: {e}")))?;
            match text.len() as u64 > limit {
                true => Err(fail(format!(
                    "the hub's listing is larger than {limit} bytes: refused"
                ))),
                false => Ok(text),
            }
        })?;
        let info: Listing = serde_json::from_str(&text)
            .map_err(|e| fail(format!("the hub's listing is not the expected JSON: {e}")))?;
        let refuse = |field: &str, value: &str, why: String| {
            fail(format!(
                "{field} `{}` in the hub's listing is refused: {why}",
                names::shown(value)
            ))
        };
        if let Some(sha) = &info.sha {
            names::commit(sha).map_err(|why| refuse("commit", sha, why))?;
        }
        let mut sizes = self.sizes.lock().unwrap_or_else(|e| e.into_inner());
        let mut files = Vec::new();
        for s in info.siblings {
            names::repo_file(&s.rfilename).map_err(|why| refuse("file name", &s.rfilename, why))?;
            let size = s.lfs.map(|l| l.size).or(s.size);
            sizes.insert((repo.shown(), s.rfilename.clone()), size);
            files.push(s.rfilename);
        }
        files.sort();
        Ok(files)
    }

    /// A file of `repo`: from the cache when there (no request), else downloaded with a
    /// progress bar and checked against its content hash.
    pub fn fetch(&self, repo: &RepoId, file: &str) -> Result<PathBuf> {
        repo.check()?;
        names::repo_file(file).map_err(|why| {
            Error::file(
                repo.shown(),
                format!("file name `{}` is refused: {why}", names::shown(file)),
            )
        })?;
        if let Some(path) = self.cached_dir(repo).map(|d| d.join(file)) {
            if path.exists() && crate::io::inside_root(&self.root, &path).is_ok() {
                return Ok(path);
            }
        }
        if self.offline {
            return Err(self.offline_miss(repo, Some(file)));
        }
        let key = (repo.shown(), file.to_string());
        let known = |hub: &Hub| hub.sizes.lock().ok().and_then(|s| s.get(&key).copied());
        if known(self).is_none() {
            self.list(repo)?; // the listing's size bounds the download
        }
        let listed = known(self).flatten();
        let repo_dir = self.repo_dir(repo)?;
        let url = repo.url(&self.endpoint, Some(file));
        let bar = bytes_bar(file);
        let path = guard(&what(repo, Some(file)), || {
            let places = (self.root.as_path(), repo_dir.as_path());
            download(
                &self.http,
                places,
                (repo.revision.as_str(), file, url.as_str()),
                listed,
                &bar,
            )
            .map_err(|msg| Error::file(what(repo, Some(file)), msg))
        })?;
        verify(&path).map_err(|msg| Error::file(what(repo, Some(file)), msg))?;
        Ok(path)
    }

    fn offline_miss(&self, repo: &RepoId, file: Option<&str>) -> Error {
        Error::file(
            what(repo, file),
            "not in the local hub cache and HF_HUB_OFFLINE is set (run once online, or unset HF_HUB_OFFLINE)",
        )
    }
}

/// The repo listing's fields read here (`?blobs=true` adds the sizes).
#[derive(serde::Deserialize)]
struct Listing {
    sha: Option<String>,
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(serde::Deserialize)]
struct Sibling {
    rfilename: String,
    size: Option<u64>,
    lfs: Option<Lfs>,
}

#[derive(serde::Deserialize)]
struct Lfs {
    size: u64,
}

/// `ORG/NAME@REV` or `ORG/NAME@REV: file `PATH``, the subject of every message.
fn what(repo: &RepoId, file: Option<&str>) -> String {
    match file {
        Some(f) => format!("{}: file `{}`", repo.shown(), names::shown(f)),
        None => repo.shown(),
    }
}

/// Every file under `dir`, as paths relative to `root` with `/` separators (folders
/// are entered only when they are real folders: a symlinked folder, or a loop of them,
/// is not followed).
fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            list_files(root, &path, out);
        } else if path.is_file() {
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

#[cfg(test)]
mod tests {
    #[test]
    fn a_panic_in_the_hub_client_becomes_one_line() {
        let e = super::guard("test/x", || -> crate::Result<()> {
            panic!("assertion failed: pointer_path.exists()")
        });
        let e = e.unwrap_err().to_string();
        assert!(
            e.starts_with("test/x: the hub client hit a panic (at "),
            "{e}"
        );
        assert!(
            e.contains("pointer_path.exists()") && !e.contains('\n'),
            "{e}"
        );
        assert_eq!(super::guard("x", || Ok(1)).unwrap(), 1);
    }
}
