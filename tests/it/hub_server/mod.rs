//! A local Hugging Face Hub on loopback, for tests (`HF_ENDPOINT` points at it).
//!
//! It speaks what `hf-hub`'s blocking client uses: the repo listing
//! (`GET /api/{models,datasets}/ORG/NAME/revision/REV` → `{sha, siblings}`) and file
//! resolution (`GET [/datasets]/ORG/NAME/resolve/REV/FILE` with a `Range` header, answered
//! 206 with `Content-Range`, `ETag` (`X-Linked-Etag` for LFS files) and `X-Repo-Commit`).
//! Plain `std::net` rather than an HTTP server crate: the tests need to misbehave in
//! ways such a crate prevents — send fewer bytes than the `Content-Length` it announced
//! and drop the connection mid-body.
#![allow(dead_code)]

pub mod datasets;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use sha1::Digest as _;

/// How the server serves one file.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    Normal,
    /// Announces and sends only the first half (a short file, no transport error).
    Short,
    /// Serves other bytes than those its ETag hashes.
    WrongHash,
    /// The first body transfer stops at half and drops the connection; later ones work.
    DropOnce,
    // Hostile answers (tests/hub_hostile.rs):
    /// This `X-Repo-Commit` header instead of the revision's commit.
    CommitHeader(&'static str),
    /// This `ETag` (and `X-Linked-Etag`) instead of the content hash.
    Etag(&'static str),
    /// `X-Linked-Size` and the `Content-Range` total say 1 TiB.
    Oversized,
    /// The body's `Content-Length` says 1 TiB (the `Content-Range` total is true).
    LongBody,
    /// A body without `Content-Length` that goes on (up to 64 MiB, then the server stops).
    Endless,
    /// `302` to the same path, again and again.
    RedirectLoop,
    /// `302` to this location.
    RedirectTo(&'static str),
}

#[derive(Clone)]
pub struct File {
    pub name: String,
    pub bytes: Vec<u8>,
    pub mode: Mode,
}

impl File {
    pub fn new(name: &str, bytes: Vec<u8>) -> File {
        File {
            name: name.into(),
            bytes,
            mode: Mode::Normal,
        }
    }
    pub fn with(mut self, mode: Mode) -> File {
        self.mode = mode;
        self
    }
    /// LFS files (weights, data) carry a sha256 ETag, the others a git blob sha1.
    fn lfs(&self) -> bool {
        [".safetensors", ".pth", ".bin", ".gz", ".parquet"]
            .iter()
            .any(|e| self.name.ends_with(e))
    }
    pub fn etag(&self) -> String {
        match self.lfs() {
            true => hex(&sha2::Sha256::digest(&self.bytes)),
            false => {
                let mut h = sha1::Sha1::new();
                h.update(format!("blob {}\0", self.bytes.len()).as_bytes());
                h.update(&self.bytes);
                hex(&h.finalize())
            }
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One repo: `models` or `datasets`, its id, and per revision name a commit and files.
#[derive(Clone)]
pub struct Repo {
    pub kind: &'static str,
    pub id: String,
    pub private: bool,
    pub revisions: Vec<(Vec<String>, String, Vec<File>)>,
}

impl Repo {
    pub fn model(id: &str, files: Vec<File>) -> Repo {
        Repo::new("models", id, files)
    }
    pub fn dataset(id: &str, files: Vec<File>) -> Repo {
        Repo::new("datasets", id, files)
    }
    fn new(kind: &'static str, id: &str, files: Vec<File>) -> Repo {
        let commit = hex(&sha1::Sha1::digest(format!("{id}@main")));
        Repo {
            kind,
            id: id.into(),
            private: false,
            revisions: vec![(vec!["main".into(), commit.clone()], commit, files)],
        }
    }
    /// Adds a revision (a tag or branch name) with other files.
    pub fn with_revision(mut self, name: &str, files: Vec<File>) -> Repo {
        let commit = hex(&sha1::Sha1::digest(format!("{}@{name}", self.id)));
        self.revisions
            .push((vec![name.into(), commit.clone()], commit, files));
        self
    }
    /// The main revision's commit replaced by `sha` (in the listing and `X-Repo-Commit`).
    pub fn with_commit(mut self, sha: &str) -> Repo {
        self.revisions[0].1 = sha.into();
        self
    }
    pub fn private(mut self) -> Repo {
        self.private = true;
        self
    }
}

#[derive(Default)]
pub struct Log {
    /// Every request: (path, Range header).
    pub requests: Vec<(String, Option<String>)>,
    /// Files whose one drop has happened.
    dropped: Vec<String>,
}

pub struct HubServer {
    pub url: String,
    pub log: Arc<Mutex<Log>>,
}

impl HubServer {
    pub fn start(repos: Vec<Repo>) -> HubServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Log::default()));
        let (repos, shared) = (Arc::new(repos), log.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (repos, log) = (repos.clone(), shared.clone());
                std::thread::spawn(move || serve(stream, &repos, &log));
            }
        });
        HubServer { url, log }
    }
    pub fn request_count(&self) -> usize {
        self.log.lock().unwrap().requests.len()
    }
    pub fn ranges(&self) -> Vec<String> {
        let log = self.log.lock().unwrap();
        log.requests.iter().filter_map(|(_, r)| r.clone()).collect()
    }
}

fn serve(stream: TcpStream, repos: &[Repo], log: &Mutex<Log>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let range = headers.get("range").cloned();
    log.lock()
        .unwrap()
        .requests
        .push((path.clone(), range.clone()));
    let mut out = stream;
    let path = path.split('?').next().unwrap_or("/").to_string();
    let reply = route(&path.replace("%2F", "/"), repos);
    let _ = match reply {
        Reply::Status(code) => respond(&mut out, code, &[], b"{\"error\": \"no\"}"),
        Reply::Json(json) => respond(&mut out, 200, &[], json.as_bytes()),
        Reply::File(_, file) if hostile(&file.mode) => send_hostile(&mut out, &path, &file),
        Reply::File(commit, file) => send_file(&mut out, &commit, &file, range, log),
    };
}

enum Reply {
    Status(u16),
    Json(String),
    File(String, File),
}

fn route(path: &str, repos: &[Repo]) -> Reply {
    let (kind, rest) = match path.strip_prefix("/api/") {
        Some(api) => match api.split_once('/') {
            Some((kind, rest)) => (kind, rest),
            None => return Reply::Status(404),
        },
        None => match path.strip_prefix("/datasets/") {
            Some(rest) => ("datasets", rest),
            None => ("models", &path[1..]),
        },
    };
    let api = path.starts_with("/api/");
    let marker = if api { "/revision/" } else { "/resolve/" };
    let Some((id, tail)) = rest.split_once(marker) else {
        return Reply::Status(404);
    };
    let Some(repo) = repos.iter().find(|r| r.kind == kind && r.id == id) else {
        return Reply::Status(401); // the hub answers 401 for unknown repos too
    };
    if repo.private {
        return Reply::Status(401);
    }
    let (rev, file) = match api {
        true => (tail, None),
        false => match tail.split_once('/') {
            Some((r, f)) => (r, Some(f)),
            None => return Reply::Status(404),
        },
    };
    let Some((_, commit, files)) = repo
        .revisions
        .iter()
        .find(|(n, _, _)| n.iter().any(|x| x == rev))
    else {
        return Reply::Status(404);
    };
    match file {
        None => {
            let siblings: Vec<_> = (files.iter())
                .map(|f| serde_json::json!({ "rfilename": f.name, "size": f.bytes.len() }))
                .collect();
            Reply::Json(serde_json::json!({ "sha": commit, "siblings": siblings }).to_string())
        }
        Some(name) => match files.iter().find(|f| f.name == name) {
            Some(f) => Reply::File(commit.clone(), f.clone()),
            None => Reply::Status(404),
        },
    }
}

fn respond(
    out: &mut TcpStream,
    code: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    out.write_all(body)?;
    out.flush()
}

/// A file from `Range: bytes=A-[B]` on, 206 with the headers `hf-hub` reads.
fn send_file(
    out: &mut TcpStream,
    commit: &str,
    f: &File,
    range: Option<String>,
    log: &Mutex<Log>,
) -> std::io::Result<()> {
    let total = f.bytes.len();
    let (start, end) = parse_range(range.as_deref(), total);
    let etag = format!("\"{}\"", f.etag());
    let commit = match f.mode {
        Mode::CommitHeader(c) => c,
        _ => commit,
    };
    let etag = match f.mode {
        Mode::Etag(e) => format!("\"{e}\""),
        _ => etag,
    };
    let mut headers = vec![
        ("ETag".to_string(), etag.clone()),
        ("X-Repo-Commit".to_string(), commit.to_string()),
        (
            "Content-Range".to_string(),
            format!("bytes {start}-{end}/{total}"),
        ),
    ];
    if f.lfs() {
        headers.push(("X-Linked-Etag".to_string(), etag));
    }
    let mut body = f.bytes.clone();
    if f.mode == Mode::WrongHash {
        body[total / 2] ^= 0xff;
    }
    let body = &body[start.min(total)..(end + 1).min(total)];
    let metadata_probe = end == start; // `bytes=0-0`
    match f.mode {
        Mode::Short if !metadata_probe => respond(out, 206, &headers, &body[..body.len() / 2]),
        Mode::DropOnce if !metadata_probe && !log.lock().unwrap().dropped.contains(&f.name) => {
            log.lock().unwrap().dropped.push(f.name.clone());
            let head = format!(
                "HTTP/1.1 206 X\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{end}/{total}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            out.write_all(head.as_bytes())?;
            out.write_all(&body[..body.len() / 2])?;
            out.flush()?;
            out.shutdown(std::net::Shutdown::Both)
        }
        _ => respond(out, 206, &headers, body),
    }
}

fn parse_range(range: Option<&str>, total: usize) -> (usize, usize) {
    let last = total.saturating_sub(1);
    let Some(spec) = range.and_then(|r| r.strip_prefix("bytes=")) else {
        return (0, last);
    };
    let (a, b) = spec.split_once('-').unwrap_or((spec, ""));
    let start = a.parse().unwrap_or(0);
    let end = b.parse().unwrap_or(last).min(last);
    (start, end)
}

fn hostile(mode: &Mode) -> bool {
    matches!(
        mode,
        Mode::Oversized | Mode::LongBody | Mode::Endless | Mode::RedirectLoop | Mode::RedirectTo(_)
    )
}

/// The hostile answers to a file request (probe or body alike).
fn send_hostile(out: &mut TcpStream, path: &str, f: &File) -> std::io::Result<()> {
    const TIB: u64 = 1 << 40;
    let total = f.bytes.len() as u64;
    let base = |size: u64| {
        format!(
            "ETag: \"{}\"\r\nX-Repo-Commit: {}\r\nContent-Range: bytes 0-{}/{size}\r\nConnection: close\r\n",
            f.etag(),
            "0".repeat(40),
            size - 1
        )
    };
    let head = match f.mode {
        Mode::RedirectLoop => {
            format!("HTTP/1.1 302 X\r\nLocation: {path}\r\nContent-Length: 0\r\n\r\n")
        }
        Mode::RedirectTo(to) => {
            format!("HTTP/1.1 302 X\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n")
        }
        Mode::Oversized => format!(
            "HTTP/1.1 206 X\r\n{}X-Linked-Size: {TIB}\r\nContent-Length: 1\r\n\r\n",
            base(TIB)
        ),
        Mode::LongBody => format!(
            "HTTP/1.1 206 X\r\n{}Content-Length: {TIB}\r\n\r\n",
            base(total)
        ),
        _ => format!("HTTP/1.1 206 X\r\n{}\r\n", base(total)), // Endless: no length
    };
    out.write_all(head.as_bytes())?;
    let chunk = vec![b'x'; 1 << 16];
    let chunks = match f.mode {
        Mode::Endless => 1024, // 64 MiB, far past the declared size; bounded so the test ends
        Mode::LongBody => 1,
        _ => 0,
    };
    if f.mode == Mode::Oversized {
        out.write_all(b"x")?;
    }
    for _ in 0..chunks {
        out.write_all(&chunk)?; // fails once the client hung up
    }
    out.flush()
}
