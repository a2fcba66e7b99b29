//! A MODEL argument, from text to a loaded checkpoint and its tokenizer.
//!
//! ```text
//! MODEL := PATH                          a local file or directory (as before)
//!        | ORG/NAME [":" FILE] ["@" REV] a hub repo, one file in it, a branch/tag/commit
//! ```
//! `ORG/NAME` picks the checkpoint from the repo's listing and a local directory from its
//! files, by one rule (`model::resolve`); with several candidates it asks for `:FILE`.
//! A `.pth` or `.bin` is converted once to safetensors (see [`super::convert`]).

use std::path::{Path, PathBuf};

use super::client::{Hub, RepoId, RepoKind};
use crate::model::load::load;
use crate::model::resolve::{from_files, in_dir, Found, Weights};
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

/// Resolves a MODEL argument to local files, downloading what the cache lacks.
pub fn resolve(spec: &str, hub: &Hub) -> Result<ResolvedModel> {
    let (repo, file, revision) = match ModelRef::parse(spec) {
        ModelRef::Local(path) if path.is_dir() => {
            let label = path.file_stem().map(|s| s.to_string_lossy().into_owned());
            return finish(spec, label.as_deref().unwrap_or(spec), in_dir(&path)?);
        }
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
        if let Ok(found) = from_files(&id.shown(), &files, file.as_deref(), cached) {
            return finish(spec, repo_name(&id), found);
        }
    }
    let files = hub.list(&id)?;
    let found = from_files(&id.shown(), &files, file.as_deref(), |f| hub.fetch(&id, f))?;
    finish(spec, repo_name(&id), found)
}

/// The repo's name without its owner: the label of a hub model.
fn repo_name(id: &RepoId) -> &str {
    id.id.rsplit('/').next().unwrap_or(&id.id)
}

fn finish(spec: &str, label: &str, found: Found) -> Result<ResolvedModel> {
    let weights = match found.weights {
        Weights::Torch(_) => super::convert::converted(&found.path)?,
        _ => found.path,
    };
    Ok(ResolvedModel {
        spec: spec.to_string(),
        weights,
        tokenizer_json: found.tokenizer_json,
        config_json: found.config_json,
        label: label.to_string(),
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
}
