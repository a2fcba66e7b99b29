//! A MODEL argument, from text to a loaded checkpoint and its tokenizer.
//!
//! ```text
//! MODEL := PATH                          a local file or directory (as before)
//!        | ORG/NAME [":" FILE] ["@" REV] a hub repo, one file in it, a branch/tag/commit
//! ```
//! `ORG/NAME` picks the checkpoint from the repo's listing: a shard index
//! (`*.safetensors.index.json`), else the one `*.safetensors`, else `pytorch_model.bin`,
//! else the one `.pth`; with several candidates it asks for `:FILE`. A `.pth` or `.bin`
//! is converted once to safetensors (see [`super::convert`]).

use std::path::{Path, PathBuf};

use super::client::{Hub, RepoId, RepoKind};
use crate::model::load::{load, shard_names};
use crate::model::Checkpoint;
use crate::tokenizer::Tokenizer;
use crate::{Error, Result};

/// A parsed MODEL argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelRef {
    Local(PathBuf),
    Hub {
        repo: String,
        file: Option<String>,
        revision: Option<String>,
    },
}

/// File endings that make an `A/B` argument a local path rather than a repo id.
const FILE_ENDINGS: &[&str] = &[".safetensors", ".pth", ".bin", ".json", ".st", ".pt"];

impl ModelRef {
    /// An existing path is local; `ORG/NAME[:FILE][@REV]` (names of letters, digits,
    /// `-`, `_`, `.`; NAME not ending like a checkpoint file) is a hub id; anything
    /// else is a local path (and fails to load with the usual message).
    pub fn parse(spec: &str) -> ModelRef {
        let local = || ModelRef::Local(PathBuf::from(spec));
        if Path::new(spec).exists() {
            return local();
        }
        let (rest, revision) = match spec.rsplit_once('@') {
            Some((r, rev)) if !rev.is_empty() => (r, Some(rev.to_string())),
            _ => (spec, None),
        };
        let (repo, file) = match rest.split_once(':') {
            Some((r, f)) if !f.is_empty() => (r, Some(f.to_string())),
            _ => (rest, None),
        };
        let name_ok = |s: &str| {
            !s.is_empty()
                && !s.starts_with('.')
                && (s.chars()).all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        match repo.split_once('/') {
            Some((org, name))
                if name_ok(org)
                    && name_ok(name)
                    && !FILE_ENDINGS.iter().any(|e| name.ends_with(e)) =>
            {
                ModelRef::Hub {
                    repo: repo.to_string(),
                    file,
                    revision,
                }
            }
            _ => local(),
        }
    }
}

/// A model's files on this machine.
#[derive(Debug, Clone)]
pub struct ResolvedModel {
    /// The argument as given (used as the label of messages).
    pub spec: String,
    /// What `model::load::load` reads: a file, a shard index or a directory.
    pub weights: PathBuf,
    /// The repo's `tokenizer.json`, when it ships one.
    pub tokenizer_json: Option<PathBuf>,
    /// The repo's `config.json` (HF layout), cross-checked against the shapes.
    pub config_json: Option<PathBuf>,
    /// A short label: the file stem of a local model, the repo name of a hub model.
    pub label: String,
}

/// What the repo's listing offers as the checkpoint.
#[derive(Debug, PartialEq, Eq)]
enum Weights {
    Safetensors(String),
    Index(String),
    /// torch zip (`.pth`, `pytorch_model.bin`): converted once.
    Torch(String),
}

/// Picks the checkpoint among a repo's files (or checks the one asked for).
fn select(repo: &str, files: &[String], asked: Option<&str>) -> Result<Weights> {
    let kind = |f: &str| {
        if f.ends_with(".safetensors.index.json") {
            Some(Weights::Index(f.to_string()))
        } else if f.ends_with(".safetensors") {
            Some(Weights::Safetensors(f.to_string()))
        } else if f.ends_with(".pth") || f.ends_with(".bin") {
            Some(Weights::Torch(f.to_string()))
        } else {
            None
        }
    };
    if let Some(f) = asked {
        if !files.iter().any(|x| x == f) {
            return Err(Error::file(
                repo,
                format!("has no file `{f}` (it holds {})", shown_list(files)),
            ));
        }
        return kind(f).ok_or_else(|| {
            Error::file(
                repo,
                format!("`{f}` is not a checkpoint (expected .safetensors, a shard index, .pth or .bin)"),
            )
        });
    }
    let with = |end: &str| -> Vec<&String> { files.iter().filter(|f| f.ends_with(end)).collect() };
    let candidates = [
        with(".safetensors.index.json"),
        with(".safetensors"),
        (files.iter().filter(|f| *f == "pytorch_model.bin").collect()),
        with(".pth"),
    ];
    for found in candidates {
        match found.as_slice() {
            [] => continue,
            [one] => return Ok(kind(one).expect("a checkpoint ending")),
            many => {
                let names: Vec<String> = many.iter().map(|s| s.to_string()).collect();
                return Err(Error::file(
                    repo,
                    format!(
                        "holds {} checkpoints ({}): pick one with {repo}:FILE",
                        many.len(),
                        shown_list(&names)
                    ),
                ));
            }
        }
    }
    Err(Error::file(
        repo,
        format!(
            "no checkpoint in this repo (it holds {}; expected .safetensors, a shard index, pytorch_model.bin or .pth)",
            shown_list(files)
        ),
    ))
}

/// At most five names, then how many more.
fn shown_list(files: &[String]) -> String {
    let mut s = files.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if files.len() > 5 {
        s.push_str(&format!(" and {} more", files.len() - 5));
    }
    if s.is_empty() {
        s.push_str("no files");
    }
    s
}

/// Resolves a MODEL argument to local files, downloading what the cache lacks.
pub fn resolve(spec: &str, hub: &Hub) -> Result<ResolvedModel> {
    let (repo, file, revision) = match ModelRef::parse(spec) {
        ModelRef::Local(path) => {
            let label = path.file_stem().map(|s| s.to_string_lossy().into_owned());
            let torch = path.extension().is_some_and(|e| e == "bin");
            return Ok(ResolvedModel {
                spec: spec.to_string(),
                weights: if torch {
                    super::convert::converted(&path)?
                } else {
                    path.clone()
                },
                tokenizer_json: None,
                config_json: None,
                label: label.unwrap_or_else(|| spec.to_string()),
            });
        }
        ModelRef::Hub {
            repo,
            file,
            revision,
        } => (repo, file, revision),
    };
    let id = RepoId::new(&repo, RepoKind::Model, revision.as_deref());
    // the cache first: a complete snapshot needs no request
    if let Some((snapshot, files)) = hub.cached_snapshot(&id) {
        let cached = |f: &str| match snapshot.join(f) {
            p if p.exists() => Ok(p),
            _ => Err(Error::input("not cached")),
        };
        if let Ok(found) = from_files(&id, &files, file.as_deref(), cached) {
            return finish(spec, &id, found);
        }
    }
    let files = hub.list(&id)?;
    let found = from_files(&id, &files, file.as_deref(), |f| hub.fetch(&id, f))?;
    finish(spec, &id, found)
}

/// The chosen weights' local path and the extras, through `get` (cache or download).
struct Found {
    weights: Weights,
    path: PathBuf,
    tokenizer_json: Option<PathBuf>,
    config_json: Option<PathBuf>,
}

fn from_files(
    id: &RepoId,
    files: &[String],
    asked: Option<&str>,
    get: impl Fn(&str) -> Result<PathBuf>,
) -> Result<Found> {
    let weights = select(&id.shown(), files, asked)?;
    let name = match &weights {
        Weights::Safetensors(f) | Weights::Index(f) | Weights::Torch(f) => f.clone(),
    };
    let path = get(&name)?;
    if let Weights::Index(_) = weights {
        for shard in shard_names(&path)? {
            if !files.contains(&sibling(&name, &shard)) {
                return Err(Error::file(
                    id.shown(),
                    format!("the shard index names `{shard}`, which the repo does not hold"),
                ));
            }
            get(&sibling(&name, &shard))?;
        }
    }
    let extra = |f: &str| match files.iter().any(|x| x == f) {
        true => get(f).map(Some),
        false => Ok(None),
    };
    Ok(Found {
        weights,
        path,
        tokenizer_json: extra("tokenizer.json")?,
        config_json: extra("config.json")?,
    })
}

/// `dir/shard` for a shard named in `dir/index`.
fn sibling(index: &str, shard: &str) -> String {
    match index.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{shard}"),
        None => shard.to_string(),
    }
}

fn finish(spec: &str, id: &RepoId, found: Found) -> Result<ResolvedModel> {
    let weights = match found.weights {
        Weights::Torch(_) => super::convert::converted(&found.path)?,
        _ => found.path,
    };
    Ok(ResolvedModel {
        spec: spec.to_string(),
        weights,
        tokenizer_json: found.tokenizer_json,
        config_json: found.config_json,
        label: id.id.rsplit('/').next().unwrap_or(&id.id).to_string(),
    })
}

impl ResolvedModel {
    /// Loads the checkpoint and checks `config.json` (when the repo has one) against
    /// the dimensions read from the shapes.
    pub fn load(&self) -> Result<Checkpoint> {
        let ckpt = load(&self.weights)?;
        if let Some(config) = &self.config_json {
            check_config(&self.spec, config, &ckpt)?;
        }
        Ok(ckpt)
    }
}

/// `config.json`'s dimensions (those it states) must equal the checkpoint's.
fn check_config(spec: &str, path: &Path, ckpt: &Checkpoint) -> Result<()> {
    let shown = format!("{spec}: config.json");
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::file(&shown, format!("cannot read: {e}")))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::file(&shown, format!("invalid JSON: {e}")))?;
    let c = &ckpt.config;
    let fields = [
        ("hidden_size", c.n_embd),
        ("num_hidden_layers", c.n_layer),
        ("vocab_size", c.vocab_size),
        ("head_size", c.head_size),
        ("intermediate_size", c.ffn_dim),
    ];
    for (key, want) in fields {
        if let Some(v) = json.get(key).and_then(|v| v.as_u64()) {
            if v as usize != want {
                return Err(Error::file(
                    &shown,
                    format!("`{key}` = {v} but the checkpoint's shapes give {want}"),
                ));
            }
        }
    }
    Ok(())
}

/// A loaded model with its tokenizer.
pub struct OpenedModel {
    pub resolved: ResolvedModel,
    pub checkpoint: Checkpoint,
    pub tokenizer: Tokenizer,
}

/// Resolves, loads and picks the tokenizer: `--tokenizer` when given (`world`, a
/// `tokenizer.json` path, or a hub id whose `tokenizer.json` is used), else the repo's
/// `tokenizer.json`, else the World tokenizer. A tokenizer with more ids than the
/// model's embedding has rows is refused.
pub fn open(spec: &str, tokenizer: Option<&str>) -> Result<OpenedModel> {
    let hub = Hub::from_env()?;
    let resolved = resolve(spec, &hub)?;
    let checkpoint = resolved.load()?;
    let tokenizer = match tokenizer {
        Some(t) => tokenizer_from_flag(t, &hub)?,
        None => match &resolved.tokenizer_json {
            Some(p) => Tokenizer::from_spec(&p.to_string_lossy())
                .map_err(|e| Error::input(format!("{spec}: tokenizer.json: {e}")))?,
            None => Tokenizer::from_spec("world")?,
        },
    };
    let (ids, rows) = (tokenizer.vocab_size(), checkpoint.config.vocab_size);
    if ids > rows {
        return Err(Error::input(format!(
            "tokenizer `{}` has {ids} ids but model `{spec}` embeds {rows} (pass the model's own tokenizer with --tokenizer FILE|ID)",
            tokenizer.name()
        )));
    }
    Ok(OpenedModel {
        resolved,
        checkpoint,
        tokenizer,
    })
}

/// `world`, a local tokenizer.json, or `ORG/NAME[@REV]` (its `tokenizer.json`).
fn tokenizer_from_flag(flag: &str, hub: &Hub) -> Result<Tokenizer> {
    if flag.trim().eq_ignore_ascii_case("world") || Path::new(flag).exists() {
        return Tokenizer::from_spec(flag);
    }
    match ModelRef::parse(flag) {
        ModelRef::Hub {
            repo,
            file,
            revision,
        } => {
            let id = RepoId::new(&repo, RepoKind::Model, revision.as_deref());
            let path = hub.fetch(&id, file.as_deref().unwrap_or("tokenizer.json"))?;
            Tokenizer::from_spec(&path.to_string_lossy())
        }
        ModelRef::Local(_) => Tokenizer::from_spec(flag),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(repo: &str, file: Option<&str>, rev: Option<&str>) -> ModelRef {
        ModelRef::Hub {
            repo: repo.into(),
            file: file.map(Into::into),
            revision: rev.map(Into::into),
        }
    }

    #[test]
    fn model_arguments_parse() {
        let p = ModelRef::parse;
        assert_eq!(
            p("RWKV/v6-Finch-1B6-HF"),
            hub("RWKV/v6-Finch-1B6-HF", None, None)
        );
        assert_eq!(
            p("BlinkDL/rwkv-6-world:RWKV-x060-World-1B6-v2.1-20240328-ctx4096.pth@main"),
            hub(
                "BlinkDL/rwkv-6-world",
                Some("RWKV-x060-World-1B6-v2.1-20240328-ctx4096.pth"),
                Some("main")
            )
        );
        assert_eq!(p("a/b@v1.0"), hub("a/b", None, Some("v1.0")));
        for local in [
            "runs/random.safetensors",
            "model.pth",
            "./a/b",
            "a/b/c",
            "/x/y",
        ] {
            assert_eq!(p(local), ModelRef::Local(local.into()), "{local}");
        }
    }

    #[test]
    fn the_listing_decides_the_checkpoint() {
        let files = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let idx = files(&[
            "config.json",
            "model-00001-of-00002.safetensors",
            "model.safetensors.index.json",
        ]);
        assert_eq!(
            select("r", &idx, None).unwrap(),
            Weights::Index("model.safetensors.index.json".into())
        );
        let bin = files(&["config.json", "pytorch_model.bin"]);
        assert_eq!(
            select("r", &bin, None).unwrap(),
            Weights::Torch("pytorch_model.bin".into())
        );
        let pths = files(&["a.pth", "b.pth"]);
        let e = select("r", &pths, None).unwrap_err().to_string();
        assert!(e.contains("pick one with r:FILE"), "{e}");
        assert!(select("r", &pths, Some("c.pth")).is_err());
        assert!(select("r", &files(&["README.md"]), None).is_err());
    }
}
