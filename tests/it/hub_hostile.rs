//! A hostile hub (`HF_ENDPOINT` at a loopback stand-in, `tests/hub_server`): each case
//! runs the real binary and checks that it is refused in one `error:` line naming the
//! repo, the field and the value, with a non-zero exit and no panic, and that nothing
//! was created outside the roots (`HF_HOME`, `XDG_CACHE_HOME`, the working directory):
//! the scratch directory is walked before and after.
//!
//! Cases: a listed file name, a commit (listing and `X-Repo-Commit`) and an ETag that
//! climb out of the cache; a bad `ORG/NAME`, revision and `repo:FILE`; a declared size
//! (`X-Linked-Size`) and a `Content-Length` far beyond the listing's size; an endless
//! body; a redirect loop and a redirect to `file:`; a symlink planted in the cache and
//! in the converted-checkpoint cache; a dataset listing with a climbing name and a row
//! with an oversized field (`data fetch`); checkpoints from the hub whose `.pth` entry
//! names climb out or declare sizes beyond the archive (read in memory: nothing
//! written), and safetensors with a gigabyte header or overlapping, out-of-file offsets.

use crate::common;
use crate::hub_server;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::fixture;
use hub_server::datasets::gz_jsonl;
use hub_server::{File, HubServer, Mode, Repo};

/// Lands in `<scratch>/outside/…` if it were joined under a snapshot (five levels up).
const CLIMB: &str = "../../../../../outside/pwned/model.safetensors";
/// Lands in `<scratch>/outside/…` if it were a snapshot directory (four levels up).
const CLIMB_SHA: &str = "../../../../outside/pwned-commit";

fn st() -> File {
    File::new(
        "model.safetensors",
        std::fs::read(fixture("tiny-v6/model.safetensors")).unwrap(),
    )
}

fn repos() -> Vec<Repo> {
    let pth = std::fs::read(fixture("tiny-v6/model.pth")).unwrap();
    vec![
        Repo::model("test/tiny", vec![st()]),
        Repo::model("test/pth", vec![File::new("model.pth", pth)]),
        Repo::model("test/climb-name", vec![File::new(CLIMB, b"x".to_vec())]),
        Repo::model("test/climb-sha", vec![st()]).with_commit(CLIMB_SHA),
        Repo::model(
            "test/climb-header",
            vec![st().with(Mode::CommitHeader(CLIMB_SHA))],
        ),
        Repo::model(
            "test/climb-etag",
            vec![st().with(Mode::Etag("../../../outside/blob"))],
        ),
        Repo::model("test/huge", vec![st().with(Mode::Oversized)]),
        Repo::model("test/long", vec![st().with(Mode::LongBody)]),
        Repo::model("test/endless", vec![st().with(Mode::Endless)]),
        Repo::model("test/loop", vec![st().with(Mode::RedirectLoop)]),
        Repo::model(
            "test/scheme",
            vec![st().with(Mode::RedirectTo("file:///etc/passwd"))],
        ),
    ]
}

/// A scratch directory (`hf/` = `HF_HOME`, `cache/` = `XDG_CACHE_HOME`, `work/` = the
/// working directory) and the server.
struct Env {
    dir: PathBuf,
    server: HubServer,
}

impl Env {
    fn new(name: &str, repos: Vec<Repo>) -> Env {
        let dir =
            std::env::temp_dir().join(format!("rwkv-lens-hostile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["hf", "cache", "work"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        std::fs::write(dir.join("work/sentences.txt"), "the cat sat\n").unwrap();
        Env {
            dir,
            server: HubServer::start(repos),
        }
    }

    /// Every path under the scratch directory (links not followed).
    fn walk(&self) -> BTreeSet<PathBuf> {
        fn go(d: &Path, out: &mut BTreeSet<PathBuf>) {
            for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
                out.insert(e.path());
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    go(&e.path(), out);
                }
            }
        }
        let mut out = BTreeSet::new();
        go(&self.dir, &mut out);
        out
    }

    /// The one `error:` line of `rwkv-lens ARGS`, which must fail without a panic and
    /// without creating anything outside the roots.
    fn refused(&self, args: &str) -> String {
        self.refused_with(args, &[])
    }

    /// [`Env::refused`] with more environment variables.
    fn refused_with(&self, args: &str, vars: &[(&str, &str)]) -> String {
        let before = self.walk();
        let out = self.run(args, vars);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "`{args}` succeeded: {stderr}");
        assert!(!stderr.contains("panicked"), "`{args}` panicked: {stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(lines.len(), 1, "`{args}`: {stderr}");
        let roots = ["hf", "cache", "work"].map(|r| self.dir.join(r));
        for new in self.walk().difference(&before) {
            assert!(
                roots.iter().any(|r| new.starts_with(r)),
                "`{args}` created {} outside the roots",
                new.display()
            );
        }
        assert!(!self.dir.join("outside").exists(), "`{args}` wrote outside");
        lines[0].to_string()
    }

    /// `rwkv-lens ARGS` in `work/`, the hub at the server, the caches in the scratch.
    fn run(&self, args: &str, vars: &[(&str, &str)]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_rwkv-lens"))
            .args(args.split_whitespace())
            .current_dir(self.dir.join("work"))
            .env("HF_ENDPOINT", &self.server.url)
            .env("HF_HOME", self.dir.join("hf"))
            .env("XDG_CACHE_HOME", self.dir.join("cache"))
            .env("RUST_BACKTRACE", "1")
            .env_remove("HF_HUB_OFFLINE")
            .env_remove("HF_TOKEN")
            .env_remove("HF_HUB_CACHE")
            .env_remove("RWKV_LENS_DATA")
            .envs(vars.iter().copied())
            .output()
            .unwrap()
    }

    /// Files (not folders) in the hub cache whose path contains `part`.
    fn cached(&self, part: &str) -> Vec<PathBuf> {
        let hub = self.dir.join("hf/hub");
        let files = self.walk().into_iter().filter(|p| p.starts_with(&hub));
        files
            .filter(|p| !p.is_dir() && p.to_string_lossy().contains(part))
            .collect()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[test]
fn names_that_climb_out_of_the_cache_are_refused_before_any_write() {
    let env = Env::new("names", repos());
    let outside = "not a commit id (40 or 64 hex digits)";
    assert_eq!(
        env.refused("inspect test/climb-name"),
        format!("error: test/climb-name: file name `{CLIMB}` in the hub's listing is refused: has a `..` part")
    );
    assert_eq!(
        env.refused("inspect test/climb-sha"),
        format!("error: test/climb-sha: commit `{CLIMB_SHA}` in the hub's listing is refused: {outside}")
    );
    assert_eq!(
        env.refused("inspect test/climb-header"),
        format!("error: test/climb-header: file `model.safetensors`: commit `{CLIMB_SHA}` in the hub's X-Repo-Commit header is refused: {outside}")
    );
    assert_eq!(
        env.refused("inspect test/climb-etag"),
        "error: test/climb-etag: file `model.safetensors`: ETag `\"../../../outside/blob\"` from the hub is refused: not a blob name (1 to 128 of letters, digits, `-`, `_`)"
    );
    for repo in ["climb-name", "climb-sha", "climb-header", "climb-etag"] {
        assert_eq!(env.cached(repo), Vec::<PathBuf>::new(), "{repo}");
    }
}

#[test]
fn bad_ids_revisions_and_file_names_from_the_command_line_are_refused() {
    let env = Env::new("args", repos());
    assert_eq!(
        env.refused("inspect a--b/c"),
        "error: a--b/c: repo id `a--b/c` is refused: has `--` or `..`"
    );
    assert_eq!(
        env.refused("inspect test/tiny@../../../outside/ref"),
        "error: test/tiny@../../../outside/ref: revision `../../../outside/ref` is refused: has `..` or `@{`"
    );
    let model = fixture("tiny-v6/model.safetensors");
    let args = format!(
        "embed --device cpu --model {} --tokenizer test/tiny:../../../../outside/t.json -o x.npy sentences.txt",
        model.display()
    );
    assert_eq!(
        env.refused(&args),
        "error: test/tiny: file name `../../../../outside/t.json` is refused: has a `..` part"
    );
    assert_eq!(
        env.server.request_count(),
        0,
        "a refused name made a request"
    );
}

#[test]
fn sizes_beyond_the_listing_and_endless_bodies_are_refused() {
    let env = Env::new("sizes", repos());
    let size = st().bytes.len();
    let tib = 1u64 << 40;
    assert_eq!(
        env.refused("inspect test/huge"),
        format!("error: test/huge: file `model.safetensors`: the hub declares {tib} bytes but its listing says {size}: refused before writing")
    );
    assert_eq!(
        env.refused("inspect test/long"),
        format!("error: test/long: file `model.safetensors`: the hub sends {tib} bytes where {size} are left of the {size} it declared: refused before writing")
    );
    assert_eq!(
        env.refused("inspect test/endless"),
        format!("error: test/endless: file `model.safetensors`: the hub sent more than the {size} bytes it declared: refused (the part was removed)")
    );
    for repo in ["--huge", "--long", "--endless"] {
        assert_eq!(env.cached(repo), Vec::<PathBuf>::new(), "{repo}");
    }
}

#[test]
fn redirect_loops_and_other_schemes_are_refused() {
    let env = Env::new("redirects", repos());
    let url = &env.server.url;
    let e = env.refused("inspect test/loop");
    assert!(
        e.starts_with(&format!("error: test/loop: file `model.safetensors`: the hub at {url} redirected more than 5 times (a redirect loop?), last to `{url}/test/loop/resolve/main/model.safetensors`")),
        "{e}"
    );
    assert_eq!(
        env.refused("inspect test/scheme"),
        format!("error: test/scheme: file `model.safetensors`: the hub at {url} redirected to `file:///etc/passwd`, which is not http(s): refused")
    );
    assert_eq!(env.cached("--loop").len() + env.cached("--scheme").len(), 0);
}

#[cfg(unix)]
#[test]
fn a_symlink_planted_in_a_cache_does_not_lead_writes_out() {
    let env = Env::new("planted", repos());
    let outside = env.dir.join("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    let repo = env.dir.join("hf/hub/models--test--tiny");
    std::fs::create_dir_all(&repo).unwrap();
    std::os::unix::fs::symlink(&outside, repo.join("blobs")).unwrap();
    let e = env.refused("inspect test/tiny");
    assert!(
        e.starts_with("error: ") && e.contains("refused: it resolves to"),
        "{e}"
    );
    assert!(
        e.contains("elsewhere") && e.ends_with("nothing written"),
        "{e}"
    );
    let converted = env.dir.join("cache/rwkv-lens");
    std::fs::create_dir_all(&converted).unwrap();
    std::os::unix::fs::symlink(&outside, converted.join("converted")).unwrap();
    let e = env.refused("inspect test/pth");
    assert!(
        e.contains("refused: it resolves to") && e.contains("elsewhere"),
        "{e}"
    );
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
}

/// A cached snapshot holding its model and a symlink to itself: listing the cache does
/// not follow the link (it used to be entered again and again, until the path was too
/// deep to resolve, each level's `model.safetensors` one more candidate).
#[cfg(unix)]
#[test]
fn a_symlink_loop_in_a_cached_snapshot_is_not_followed() {
    let env = Env::new("loop-link", repos());
    let repo = env.dir.join("hf/hub/models--test--tiny");
    let snapshot = repo.join("snapshots").join("0".repeat(40));
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), "0".repeat(40)).unwrap();
    std::fs::write(snapshot.join("model.safetensors"), st().bytes).unwrap();
    std::os::unix::fs::symlink(".", snapshot.join("loop")).unwrap();
    let out = env.run("inspect test/tiny", &[("HF_HUB_OFFLINE", "1")]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && stdout.contains("layers      3"),
        "{stderr}"
    );
}

#[test]
fn data_fetch_refuses_a_climbing_listing_and_oversized_fields() {
    let climb = "../../../../../outside/test.jsonl.gz";
    let rows = |long: bool| {
        gz_jsonl(100, move |i| {
            let s1 = match (long, i) {
                (true, 0) => "a".repeat(100_000),
                _ => format!("p{i}"),
            };
            serde_json::json!({"sentence1": s1, "sentence2": "q", "score": 2.0})
        })
    };
    let served = vec![Repo::dataset(
        "mteb/biosses-sts",
        vec![
            File::new("test.jsonl.gz", rows(true)),
            File::new(climb, rows(false)),
        ],
    )];
    let env = Env::new("data", served);
    assert_eq!(
        env.refused("data fetch --tasks biosses --data-dir data"),
        format!("error: datasets/mteb/biosses-sts: file name `{climb}` in the hub's listing is refused: has a `..` part")
    );
    let env = Env::new(
        "data-long",
        vec![Repo::dataset(
            "mteb/biosses-sts",
            vec![File::new("test.jsonl.gz", rows(true))],
        )],
    );
    assert_eq!(
        env.refused("data fetch --tasks biosses --data-dir data"),
        "error: datasets/mteb/biosses-sts: test.jsonl.gz:1: field `sentence1` holds 100000 bytes (at most 65536): refused"
    );
    assert!(!env.dir.join("work/data/biosses").exists());
}

/// `model.pth` with its storages renamed to climb out (`model/data/` → `../../../x/`,
/// same length) and, when `huge`, the central directory's sizes of `model/data/0` at 4 GiB.
fn hostile_pth(huge: bool) -> Vec<u8> {
    let mut bytes = std::fs::read(fixture("tiny-v6/model.pth")).unwrap();
    if huge {
        let name = b"model/data/0";
        let at = (0..bytes.len() - 46 - name.len())
            .find(|&i| {
                bytes[i..i + 4] == *b"PK\x01\x02"
                    && bytes[i + 46..i + 46 + name.len()] == *name
                    && bytes[28 + i] as usize == name.len()
            })
            .expect("the central entry of model/data/0");
        bytes[at + 20..at + 28].copy_from_slice(&[0xf0, 0xff, 0xff, 0xff, 0xf0, 0xff, 0xff, 0xff]);
        return bytes;
    }
    let (from, to) = (b"model/data/", b"../../../x/");
    for i in 0..bytes.len() - from.len() {
        if bytes[i..i + from.len()] == *from {
            bytes[i..i + from.len()].copy_from_slice(to);
        }
    }
    bytes
}

/// A safetensors file of two f32 tensors `a`, `b` at the given byte ranges of 12 bytes
/// of data; `header_len` overrides the header's length field.
fn hostile_safetensors(a: [u64; 2], b: [u64; 2], header_len: Option<u64>) -> Vec<u8> {
    let header = serde_json::json!({
        "a": {"dtype": "F32", "shape": [(a[1] - a[0]) / 4], "data_offsets": a},
        "b": {"dtype": "F32", "shape": [(b[1] - b[0]) / 4], "data_offsets": b},
    })
    .to_string();
    let n = header_len.unwrap_or(header.len() as u64);
    [n.to_le_bytes().to_vec(), header.into_bytes(), vec![0u8; 12]].concat()
}

#[test]
fn hostile_checkpoints_from_the_hub_are_refused_in_memory() {
    let file = |name: &str, bytes: Vec<u8>| vec![File::new(name, bytes)];
    let served = vec![
        Repo::model("test/pth-climb", file("model.pth", hostile_pth(false))),
        Repo::model("test/pth-huge", file("model.pth", hostile_pth(true))),
        Repo::model(
            "test/st-overlap",
            file(
                "model.safetensors",
                hostile_safetensors([0, 8], [4, 12], None),
            ),
        ),
        Repo::model(
            "test/st-past",
            file(
                "model.safetensors",
                hostile_safetensors([0, 8], [8, 16], None),
            ),
        ),
        Repo::model(
            "test/st-header",
            file(
                "model.safetensors",
                hostile_safetensors([0, 8], [8, 12], Some(4 << 30)),
            ),
        ),
    ];
    let env = Env::new("checkpoints", served);
    let cases = [
        (
            "test/pth-climb",
            "storage `model/data/0` is missing from the archive",
        ),
        (
            "test/pth-huge",
            "zip entry `model/data/0`: 4294967280 bytes at byte 9664 run past the end of the file",
        ),
        (
            "test/st-overlap",
            "not a valid safetensors file: invalid offset for tensor `b`",
        ),
        (
            "test/st-past",
            "tensor `b`: header gives bytes [8, 16) but the data section holds 12 bytes",
        ),
        (
            "test/st-header",
            "the first 8 bytes announce a 4294967296-byte header",
        ),
    ];
    for (repo, says) in cases {
        let e = env.refused(&format!("inspect {repo}"));
        assert!(e.starts_with("error: ") && e.contains(says), "{repo}: {e}");
    }
    // the torch files were read, refused, and converted to nothing
    let converted = env.dir.join("cache/rwkv-lens/converted");
    let written = std::fs::read_dir(&converted).map_or(0, |d| d.count());
    assert_eq!(written, 0, "{}", converted.display());
}
