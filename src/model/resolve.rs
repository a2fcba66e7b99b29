//! Which file of a model's folder is its checkpoint: one preference order for a local
//! directory (what `git clone` or a Python download of a Hugging Face repo gives) and a hub
//! repo (its listing, or its cached snapshot, `hub::model::resolve`).
//!
//! A shard index (`*.safetensors.index.json`), else the one `*.safetensors`, else
//! `pytorch_model.bin`, else the one `.pth`; with several candidates of the first kind
//! found the caller must name one. The folder's `tokenizer.json` and `config.json` come
//! with it.

use std::path::{Path, PathBuf};

use super::load::shard_names;
use crate::{Error, Result};

/// What a folder offers as the checkpoint (names relative to the folder).
#[derive(Debug, PartialEq, Eq)]
pub enum Weights {
    Safetensors(String),
    Index(String),
    /// torch zip (`.pth`, `pytorch_model.bin`).
    Torch(String),
}

impl Weights {
    pub fn file(&self) -> &str {
        match self {
            Weights::Safetensors(f) | Weights::Index(f) | Weights::Torch(f) => f,
        }
    }
}

/// A folder's checkpoint and extras, as local paths.
#[derive(Debug)]
pub struct Found {
    pub weights: Weights,
    pub path: PathBuf,
    pub tokenizer_json: Option<PathBuf>,
    pub config_json: Option<PathBuf>,
}

/// Picks the checkpoint among a folder's files (or checks the one asked for); `label`
/// names the folder in messages.
pub fn select(label: &str, files: &[String], asked: Option<&str>) -> Result<Weights> {
    let kind = |f: &str| {
        if f.ends_with(".safetensors.index.json") {
            Some(Weights::Index(f.to_string()))
        } else if f.ends_with(".safetensors") || f.ends_with(".st") {
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
                label,
                format!("has no file `{f}` (it holds {})", shown_list(files)),
            ));
        }
        return kind(f).ok_or_else(|| {
            Error::file(
                label,
                format!("`{f}` is not a checkpoint (expected .safetensors, a shard index, .pth or .bin)"),
            )
        });
    }
    let with = |ends: &[&str]| -> Vec<&String> {
        (files.iter())
            .filter(|f| ends.iter().any(|e| f.ends_with(e)))
            .collect()
    };
    let candidates = [
        with(&[".safetensors.index.json"]),
        with(&[".safetensors", ".st"]),
        (files.iter().filter(|f| *f == "pytorch_model.bin").collect()),
        with(&[".pth"]),
    ];
    for found in candidates {
        match found.as_slice() {
            [] => continue,
            [one] => return Ok(kind(one).expect("a checkpoint ending")),
            many => {
                let names: Vec<String> = many.iter().map(|s| s.to_string()).collect();
                return Err(Error::file(
                    label,
                    format!(
                        "holds {} checkpoints ({}): pick one with {label}:FILE",
                        many.len(),
                        shown_list(&names)
                    ),
                ));
            }
        }
    }
    Err(Error::file(
        label,
        format!(
            "no checkpoint here (it holds {}; expected .safetensors, a shard index, pytorch_model.bin or .pth)",
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

/// The checkpoint of a folder whose file names are `files`, each made local by `get`
/// (a path in a directory, a cached or downloaded hub file): the weights (every shard
/// of an index, checked against the listing), `tokenizer.json` and `config.json`.
pub fn from_files(
    label: &str,
    files: &[String],
    asked: Option<&str>,
    get: impl Fn(&str) -> Result<PathBuf>,
) -> Result<Found> {
    let weights = select(label, files, asked)?;
    let name = weights.file().to_string();
    let path = get(&name)?;
    if let Weights::Index(_) = weights {
        for shard in shard_names(&path)? {
            if !files.contains(&sibling(&name, &shard)) {
                return Err(Error::file(
                    label,
                    format!("the shard index names `{shard}`, which is not there"),
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

/// A local directory's checkpoint: its file names (top level, sorted) through [`from_files`].
pub fn in_dir(dir: &Path) -> Result<Found> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::file(dir.display(), format!("cannot list: {e}")))?;
    let mut files: Vec<String> = (entries.filter_map(|e| e.ok()))
        .filter(|e| e.path().is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    files.sort();
    from_files(
        &dir.display().to_string(),
        &files,
        None,
        |f| Ok(dir.join(f)),
    )
}

/// `dir/shard` for a shard named in `dir/index`.
fn sibling(index: &str, shard: &str) -> String {
    match index.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{shard}"),
        None => shard.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_listing_decides_the_checkpoint() {
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
        let e = select("r", &files(&["README.md"]), None).unwrap_err();
        assert!(e
            .to_string()
            .contains("no checkpoint here (it holds README.md"));
    }

    #[test]
    fn a_directory_is_resolved_like_a_repo() {
        let dir = std::env::temp_dir().join(format!("rwkv-lens-resolve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["config.json", "pytorch_model.bin", "README.md"] {
            std::fs::write(dir.join(f), b"").unwrap();
        }
        let found = in_dir(&dir).unwrap();
        assert_eq!(found.weights, Weights::Torch("pytorch_model.bin".into()));
        assert_eq!(found.config_json, Some(dir.join("config.json")));
        assert_eq!(found.tokenizer_json, None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
