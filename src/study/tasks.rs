//! Tasks: sentence pairs with a gold score, a subset and a text domain each.
//!
//! Task specs (documented in `docs/study.md`):
//! ```text
//! SPEC  := FAMILY [":" PART ("+" PART)*]  |  "pairs:" PATH
//! PART  := SPLIT ["@" N]                  (@N: only the first N pairs of that split)
//! ```
//! e.g. `mrpc`, `mrpc:glue-validation`, `mrpc:glue-train@1000+glue-validation`,
//! `stsb:test`, `sts12:test+train`, `pairs:my.tsv`. Without a split, the family's
//! default split is used (first in `splits`).

use std::path::{Path, PathBuf};

use super::domains::domain_of;
use super::hash::FileId;
use super::table::{field, parse_label, parse_score, read_text, sentence, tsv_records};
use crate::{Error, Result};

/// One sentence pair.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Pair {
    pub s1: String,
    pub s2: String,
    /// Gold similarity score, or 0/1 label for binary tasks.
    pub gold: f64,
    /// Subset inside the task: STS source file, STS-B source, MRPC split...
    pub subset: String,
    /// Text domain (see `domains`).
    pub domain: String,
}

/// A loaded task.
#[derive(Debug, Clone)]
pub struct Task {
    /// Canonical spec, e.g. `mrpc:glue-train@1000+glue-validation`.
    pub name: String,
    /// `mrpc`, `stsb`, `sickr`, `sts12`..`sts16`, `biosses` or `pairs`.
    pub family: String,
    /// Gold values are 0/1 labels (adds ROC-AUC and threshold metrics).
    pub binary: bool,
    pub pairs: Vec<Pair>,
    pub files: Vec<FileId>,
    /// Rows before `--max-pairs` subsampling.
    pub rows_loaded: usize,
}

/// A built-in family: its splits (first is the default) and aliases.
pub struct Family {
    pub name: &'static str,
    pub splits: &'static [&'static str],
    pub binary: bool,
}

pub const FAMILIES: &[Family] = &[
    Family {
        name: "mrpc",
        splits: &["test", "train", "glue-train", "glue-validation"],
        binary: true,
    },
    Family {
        name: "stsb",
        splits: &["test", "dev", "train"],
        binary: false,
    },
    Family {
        name: "sickr",
        splits: &["test", "train", "trial"],
        binary: false,
    },
    Family {
        name: "sts12",
        splits: &["test", "train"],
        binary: false,
    },
    Family {
        name: "sts13",
        splits: &["test"],
        binary: false,
    },
    Family {
        name: "sts14",
        splits: &["test"],
        binary: false,
    },
    Family {
        name: "sts15",
        splits: &["test"],
        binary: false,
    },
    Family {
        name: "sts16",
        splits: &["test"],
        binary: false,
    },
    Family {
        name: "biosses",
        splits: &["all"],
        binary: false,
    },
];

fn canonical_split(split: &str) -> &str {
    match split {
        "validation" | "glue-dev" | "glue-val" => "glue-validation",
        "val" => "dev",
        other => other,
    }
}

/// A parsed part of a spec: split and optional "first N".
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub split: String,
    pub first: Option<usize>,
}

/// A parsed task spec.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskSpec {
    BuiltIn {
        family: &'static str,
        parts: Vec<Part>,
    },
    Pairs {
        path: PathBuf,
    },
}

impl TaskSpec {
    pub fn parse(spec: &str) -> Result<TaskSpec> {
        let spec = spec.trim();
        if let Some(path) = spec.strip_prefix("pairs:") {
            if path.trim().is_empty() {
                return Err(Error::input(
                    "task `pairs:` needs a file path, e.g. pairs:my.tsv",
                ));
            }
            return Ok(TaskSpec::Pairs {
                path: PathBuf::from(path),
            });
        }
        let (name, rest) = spec.split_once(':').unwrap_or((spec, ""));
        let family = FAMILIES.iter().find(|f| f.name == name).ok_or_else(|| {
            let names: Vec<_> = FAMILIES.iter().map(|f| f.name).collect();
            Error::input(format!(
                "unknown task `{name}` (expected one of {} or pairs:PATH)",
                names.join(", ")
            ))
        })?;
        let parts = if rest.is_empty() {
            vec![Part {
                split: family.splits[0].to_string(),
                first: None,
            }]
        } else {
            rest.split('+')
                .map(|p| parse_part(family, p))
                .collect::<Result<_>>()?
        };
        Ok(TaskSpec::BuiltIn {
            family: family.name,
            parts,
        })
    }

    /// The canonical name written in results.
    pub fn name(&self) -> String {
        match self {
            TaskSpec::Pairs { path } => format!("pairs:{}", path.display()),
            TaskSpec::BuiltIn { family, parts } => {
                let parts: Vec<String> = parts
                    .iter()
                    .map(|p| match p.first {
                        Some(n) => format!("{}@{n}", p.split),
                        None => p.split.clone(),
                    })
                    .collect();
                format!("{family}:{}", parts.join("+"))
            }
        }
    }
}

fn parse_part(family: &Family, part: &str) -> Result<Part> {
    let (split, first) = match part.split_once('@') {
        Some((s, n)) => {
            let n: usize = n.trim().parse().map_err(|_| {
                Error::input(format!(
                    "`@{n}` in task `{}`: expected a pair count",
                    family.name
                ))
            })?;
            (s.trim(), Some(n))
        }
        None => (part.trim(), None),
    };
    let split = canonical_split(split);
    if !family.splits.contains(&split) {
        return Err(Error::input(format!(
            "task `{}` has no split `{split}` (expected one of {})",
            family.name,
            family.splits.join(", ")
        )));
    }
    Ok(Part {
        split: split.to_string(),
        first,
    })
}

/// Where the data lives: `--data-dir`, else `$RWKV_LENS_DATA`, else where
/// `rwkv-lens data fetch` writes (the user cache directory), else `../shared/data`
/// relative to the repository (the crate root), else relative to the working directory.
pub fn resolve_data_dir(flag: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = flag {
        return existing_dir(dir.to_path_buf(), "--data-dir");
    }
    if let Some(env) = std::env::var_os("RWKV_LENS_DATA") {
        return existing_dir(PathBuf::from(env), "RWKV_LENS_DATA");
    }
    let candidates = [
        fetched_data_dir(),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
        PathBuf::from("../shared/data"),
    ];
    candidates
        .iter()
        .find(|p| p.is_dir())
        .cloned()
        .ok_or_else(|| {
            Error::input(format!(
                "no data directory: run `rwkv-lens data fetch` (writes {}), pass --data-dir or set RWKV_LENS_DATA",
                candidates[0].display()
            ))
        })
}

#[cfg(feature = "native")]
fn fetched_data_dir() -> PathBuf {
    crate::hub::default_data_dir()
}

#[cfg(not(feature = "native"))]
fn fetched_data_dir() -> PathBuf {
    PathBuf::from("data")
}

/// A missing file that `rwkv-lens data fetch` writes names the command that fetches it.
#[cfg(feature = "native")]
fn with_fetch_hint(e: Error) -> Error {
    match e {
        Error::File { path, msg } if msg.contains("No such file") => {
            let hint = crate::hub::data::task_writing(&path)
                .map(|t| format!(" (`rwkv-lens data fetch --tasks {t}` fetches it)"));
            Error::File {
                msg: msg + &hint.unwrap_or_default(),
                path,
            }
        }
        other => other,
    }
}

#[cfg(not(feature = "native"))]
fn with_fetch_hint(e: Error) -> Error {
    e
}

fn existing_dir(dir: PathBuf, from: &str) -> Result<PathBuf> {
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(Error::file(
            dir.display(),
            format!("data directory (from {from}) does not exist"),
        ))
    }
}

/// Loads a task from its spec; `max_pairs` keeps an evenly spaced subsample.
pub fn load_task(spec: &TaskSpec, data_dir: &Path, max_pairs: Option<usize>) -> Result<Task> {
    let mut task = match spec {
        TaskSpec::Pairs { path } => super::pairs::load_pairs_file(path)?,
        TaskSpec::BuiltIn { family, parts } => load_builtin(family, parts, data_dir)?,
    };
    task.name = spec.name();
    task.rows_loaded = task.pairs.len();
    if let Some(n) = max_pairs {
        task.pairs = even_subsample(std::mem::take(&mut task.pairs), n);
    }
    if task.pairs.is_empty() {
        return Err(Error::input(format!("task `{}` has no pairs", task.name)));
    }
    Ok(task)
}

/// Keeps pairs at positions ⌊i·len/n⌋, i < n: deterministic, order kept, every subset
/// keeps roughly its share.
pub fn even_subsample<T>(items: Vec<T>, n: usize) -> Vec<T> {
    let len = items.len();
    if n >= len {
        return items;
    }
    let keep: Vec<usize> = (0..n).map(|i| i * len / n).collect();
    let mut next = keep.iter().peekable();
    items
        .into_iter()
        .enumerate()
        .filter(|(i, _)| next.next_if(|&&k| k == *i).is_some())
        .map(|(_, t)| t)
        .collect()
}

fn load_builtin(family: &'static str, parts: &[Part], dir: &Path) -> Result<Task> {
    let binary = FAMILIES.iter().any(|f| f.name == family && f.binary);
    let mut task = Task {
        name: String::new(),
        family: family.to_string(),
        binary,
        pairs: Vec::new(),
        files: Vec::new(),
        rows_loaded: 0,
    };
    for part in parts {
        let (mut pairs, file) = load_split(family, &part.split, dir).map_err(with_fetch_hint)?;
        if let Some(n) = part.first {
            pairs.truncate(n);
        }
        task.pairs.extend(pairs);
        if !task.files.contains(&file) {
            task.files.push(file);
        }
    }
    Ok(task)
}

/// The pairs of one split of a built-in family, and the file they come from.
pub fn load_split(family: &str, split: &str, dir: &Path) -> Result<(Vec<Pair>, FileId)> {
    let file = |rel: &str| dir.join(rel);
    match family {
        "mrpc" => load_mrpc(
            &file(match split {
                "test" => "mrpc/msr_paraphrase_test.txt",
                "train" => "mrpc/msr_paraphrase_train.txt",
                "glue-train" => "mrpc/glue/train.tsv",
                _ => "mrpc/glue/dev.tsv",
            }),
            split,
        ),
        "stsb" => load_stsb(&file(&format!("stsb/stsb-{split}.tsv"))),
        "sickr" => load_sick(&file(&format!(
            "sick/semeval2014/SICK_{}.txt",
            if split == "test" {
                "test_annotated"
            } else {
                split
            }
        ))),
        "biosses" => load_biosses(&file("biosses/biosses.tsv")),
        sts => load_sts(&file("sts12-16/sts12-16.tsv"), sts, split),
    }
}

/// Domain of a built-in pair or an error naming the row (a subset the table lacks).
fn domain(path: &str, line: usize, family: &str, subset: &str) -> Result<String> {
    domain_of(family, subset)
        .map(str::to_string)
        .ok_or_else(|| {
            Error::row(
                path,
                line,
                format!("subset `{subset}` has no domain in study::domains"),
            )
        })
}

fn load_mrpc(path: &Path, split: &str) -> Result<(Vec<Pair>, FileId)> {
    let f = read_text(path)?;
    let mut pairs = Vec::new();
    // Quality, #1 ID, #2 ID, #1 String, #2 String (header on line 1)
    for (line, fields) in tsv_records(&f.text).into_iter().skip(1) {
        let p = &f.path;
        pairs.push(Pair {
            gold: parse_label(p, line, field(p, line, &fields, 0, "Quality")?, "Quality")?,
            s1: sentence(
                p,
                line,
                field(p, line, &fields, 3, "#1 String")?,
                "#1 String",
            )?,
            s2: sentence(
                p,
                line,
                field(p, line, &fields, 4, "#2 String")?,
                "#2 String",
            )?,
            subset: split.to_string(),
            domain: domain(p, line, "mrpc", split)?,
        });
    }
    Ok((pairs, f.id))
}

fn load_stsb(path: &Path) -> Result<(Vec<Pair>, FileId)> {
    let f = read_text(path)?;
    let mut pairs = Vec::new();
    // genre, source, year, sid, score, sentence1, sentence2 (header on line 1)
    for (line, fields) in tsv_records(&f.text).into_iter().skip(1) {
        let p = &f.path;
        let source = field(p, line, &fields, 1, "source")?;
        pairs.push(Pair {
            gold: parse_score(p, line, field(p, line, &fields, 4, "score")?, "score")?,
            s1: sentence(
                p,
                line,
                field(p, line, &fields, 5, "sentence1")?,
                "sentence1",
            )?,
            s2: sentence(
                p,
                line,
                field(p, line, &fields, 6, "sentence2")?,
                "sentence2",
            )?,
            subset: source.to_string(),
            domain: domain(p, line, "stsb", source)?,
        });
    }
    Ok((pairs, f.id))
}

fn load_sick(path: &Path) -> Result<(Vec<Pair>, FileId)> {
    let f = read_text(path)?;
    let mut pairs = Vec::new();
    // pair_ID, sentence_A, sentence_B, relatedness_score, entailment_judgment
    for (line, fields) in tsv_records(&f.text).into_iter().skip(1) {
        let p = &f.path;
        pairs.push(Pair {
            gold: parse_score(
                p,
                line,
                field(p, line, &fields, 3, "relatedness_score")?,
                "relatedness_score",
            )?,
            s1: sentence(
                p,
                line,
                field(p, line, &fields, 1, "sentence_A")?,
                "sentence_A",
            )?,
            s2: sentence(
                p,
                line,
                field(p, line, &fields, 2, "sentence_B")?,
                "sentence_B",
            )?,
            subset: "sick".to_string(),
            domain: domain(p, line, "sickr", "sick")?,
        });
    }
    Ok((pairs, f.id))
}

fn load_biosses(path: &Path) -> Result<(Vec<Pair>, FileId)> {
    let f = read_text(path)?;
    let mut pairs = Vec::new();
    // id, score, sentence1, sentence2, annotator_A..E
    for (line, fields) in tsv_records(&f.text).into_iter().skip(1) {
        let p = &f.path;
        pairs.push(Pair {
            gold: parse_score(p, line, field(p, line, &fields, 1, "score")?, "score")?,
            s1: sentence(
                p,
                line,
                field(p, line, &fields, 2, "sentence1")?,
                "sentence1",
            )?,
            s2: sentence(
                p,
                line,
                field(p, line, &fields, 3, "sentence2")?,
                "sentence2",
            )?,
            subset: "biosses".to_string(),
            domain: domain(p, line, "biosses", "biosses")?,
        });
    }
    Ok((pairs, f.id))
}

/// STS 2012–2016 from the convenience file: year, split, subset, line, score, s1, s2.
fn load_sts(path: &Path, family: &str, split: &str) -> Result<(Vec<Pair>, FileId)> {
    let year = format!("20{}", &family[3..]);
    let f = read_text(path)?;
    let mut pairs = Vec::new();
    for (line, fields) in tsv_records(&f.text).into_iter().skip(1) {
        let p = &f.path;
        if field(p, line, &fields, 0, "year")? != year
            || field(p, line, &fields, 1, "split")? != split
        {
            continue;
        }
        let subset = field(p, line, &fields, 2, "subset")?;
        pairs.push(Pair {
            gold: parse_score(p, line, field(p, line, &fields, 4, "score")?, "score")?,
            s1: sentence(
                p,
                line,
                field(p, line, &fields, 5, "sentence1")?,
                "sentence1",
            )?,
            s2: sentence(
                p,
                line,
                field(p, line, &fields, 6, "sentence2")?,
                "sentence2",
            )?,
            subset: subset.to_string(),
            domain: domain(p, line, family, subset)?,
        });
    }
    Ok((pairs, f.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_grammar() {
        let s = TaskSpec::parse("mrpc:glue-train@1000+validation").unwrap();
        assert_eq!(s.name(), "mrpc:glue-train@1000+glue-validation");
        assert_eq!(TaskSpec::parse("stsb").unwrap().name(), "stsb:test");
        assert_eq!(
            TaskSpec::parse("pairs:a:b.tsv").unwrap().name(),
            "pairs:a:b.tsv"
        );
        assert!(TaskSpec::parse("sts13:train")
            .unwrap_err()
            .to_string()
            .contains("test"));
        assert!(TaskSpec::parse("glue").is_err());
        assert!(TaskSpec::parse("mrpc:test@x").is_err());
    }

    #[test]
    fn even_subsample_spreads() {
        assert_eq!(even_subsample((0..10).collect(), 3), vec![0, 3, 6]);
        assert_eq!(even_subsample((0..3).collect(), 5), vec![0, 1, 2]);
    }
}
