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
use super::table::{field, parse_label, parse_score, read_text, records, sentence, Dialect};
use crate::kit::hash::FileId;
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

/// A column of a built-in file: 0-based index and header name (for messages).
pub type Column = (usize, &'static str);

/// Where a pair's subset comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subset {
    /// The split's name (MRPC).
    Split,
    /// One name for the whole file.
    Fixed(&'static str),
    /// A column (STS-B source, STS subset).
    Column(Column),
}

/// The gold value: a graded score or a 0/1 label (binary tasks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gold {
    Score(Column),
    Label(Column),
}

/// One split of a built-in family: its file (header on line 1, tab-separated), the
/// columns read, and the rows kept (column = value; all rows when empty).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Source {
    pub family: &'static str,
    pub split: &'static str,
    pub file: &'static str,
    pub gold: Gold,
    pub s1: Column,
    pub s2: Column,
    pub subset: Subset,
    pub keep: &'static [(Column, &'static str)],
}

const fn source(family: &'static str, split: &'static str, file: &'static str) -> Source {
    Source {
        family,
        split,
        file,
        gold: Gold::Score((4, "score")),
        s1: (5, "sentence1"),
        s2: (6, "sentence2"),
        subset: Subset::Fixed(""),
        keep: &[],
    }
}

/// MRPC: Quality, #1 ID, #2 ID, #1 String, #2 String.
const fn mrpc(split: &'static str, file: &'static str) -> Source {
    Source {
        gold: Gold::Label((0, "Quality")),
        s1: (3, "#1 String"),
        s2: (4, "#2 String"),
        subset: Subset::Split,
        ..source("mrpc", split, file)
    }
}

/// STS-B: genre, source, year, sid, score, sentence1, sentence2.
const fn stsb(split: &'static str, file: &'static str) -> Source {
    Source {
        subset: Subset::Column((1, "source")),
        ..source("stsb", split, file)
    }
}

/// SICK: pair_ID, sentence_A, sentence_B, relatedness_score, entailment_judgment.
const fn sick(split: &'static str, file: &'static str) -> Source {
    Source {
        gold: Gold::Score((3, "relatedness_score")),
        s1: (1, "sentence_A"),
        s2: (2, "sentence_B"),
        subset: Subset::Fixed("sick"),
        ..source("sickr", split, file)
    }
}

/// STS 2012–2016 from the convenience file: year, split, subset, line, score, s1, s2.
const fn sts(
    family: &'static str,
    split: &'static str,
    keep: &'static [(Column, &'static str)],
) -> Source {
    Source {
        subset: Subset::Column((2, "subset")),
        keep,
        ..source(family, split, "sts12-16/sts12-16.tsv")
    }
}

const YEAR: Column = (0, "year");
const SPLIT: Column = (1, "split");

/// Every built-in split; a family's first split is its default.
pub const SOURCES: &[Source] = &[
    mrpc("test", "mrpc/msr_paraphrase_test.txt"),
    mrpc("train", "mrpc/msr_paraphrase_train.txt"),
    mrpc("glue-train", "mrpc/glue/train.tsv"),
    mrpc("glue-validation", "mrpc/glue/dev.tsv"),
    stsb("test", "stsb/stsb-test.tsv"),
    stsb("dev", "stsb/stsb-dev.tsv"),
    stsb("train", "stsb/stsb-train.tsv"),
    sick("test", "sick/semeval2014/SICK_test_annotated.txt"),
    sick("train", "sick/semeval2014/SICK_train.txt"),
    sick("trial", "sick/semeval2014/SICK_trial.txt"),
    sts("sts12", "test", &[(YEAR, "2012"), (SPLIT, "test")]),
    sts("sts12", "train", &[(YEAR, "2012"), (SPLIT, "train")]),
    sts("sts13", "test", &[(YEAR, "2013"), (SPLIT, "test")]),
    sts("sts14", "test", &[(YEAR, "2014"), (SPLIT, "test")]),
    sts("sts15", "test", &[(YEAR, "2015"), (SPLIT, "test")]),
    sts("sts16", "test", &[(YEAR, "2016"), (SPLIT, "test")]),
    // id, score, sentence1, sentence2, annotator_A..E
    Source {
        gold: Gold::Score((1, "score")),
        s1: (2, "sentence1"),
        s2: (3, "sentence2"),
        subset: Subset::Fixed("biosses"),
        ..source("biosses", "all", "biosses/biosses.tsv")
    },
];

/// The built-in families, in table order.
pub fn families() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = SOURCES.iter().map(|s| s.family).collect();
    out.dedup();
    out
}

/// The splits of a family, its default first.
pub fn splits(family: &str) -> Vec<&'static str> {
    let of = SOURCES.iter().filter(|s| s.family == family);
    of.map(|s| s.split).collect()
}

/// The source of one split, or an error naming what exists.
pub fn find_source(family: &str, split: &str) -> Result<&'static Source> {
    let found = SOURCES
        .iter()
        .find(|s| s.family == family && s.split == split);
    found.ok_or_else(|| match splits(family).is_empty() {
        true => Error::input(format!(
            "unknown task `{family}` (expected one of {} or pairs:PATH)",
            families().join(", ")
        )),
        false => Error::input(format!(
            "task `{family}` has no split `{split}` (expected one of {})",
            splits(family).join(", ")
        )),
    })
}

fn canonical_split(split: &str) -> &str {
    match split {
        "validation" | "glue-dev" | "glue-val" => "glue-validation",
        "val" => "dev",
        other => other,
    }
}

/// A parsed part of a spec: a split and an optional "first N".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Part {
    pub source: &'static Source,
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
        let default = find_source(name, splits(name).first().copied().unwrap_or(""))?;
        let parts = match rest.is_empty() {
            true => vec![Part {
                source: default,
                first: None,
            }],
            false => (rest.split('+').map(|p| parse_part(name, p))).collect::<Result<_>>()?,
        };
        Ok(TaskSpec::BuiltIn {
            family: default.family,
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
                        Some(n) => format!("{}@{n}", p.source.split),
                        None => p.source.split.to_string(),
                    })
                    .collect();
                format!("{family}:{}", parts.join("+"))
            }
        }
    }
}

fn parse_part(family: &str, part: &str) -> Result<Part> {
    let (split, first) = match part.split_once('@') {
        Some((s, n)) => {
            let n: usize = n.trim().parse().map_err(|_| {
                Error::input(format!("`@{n}` in task `{family}`: expected a pair count"))
            })?;
            (s.trim(), Some(n))
        }
        None => (part.trim(), None),
    };
    Ok(Part {
        source: find_source(family, canonical_split(split))?,
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
    super::default_data_dir()
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
            let hint = super::fetch::task_writing(&path)
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
    let mut task = Task {
        name: String::new(),
        family: family.to_string(),
        binary: matches!(parts[0].source.gold, Gold::Label(_)),
        pairs: Vec::new(),
        files: Vec::new(),
        rows_loaded: 0,
    };
    for part in parts {
        let (mut pairs, file) = load_source(part.source, dir).map_err(with_fetch_hint)?;
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

/// The pairs of one built-in split, and the file they come from.
pub fn load_source(src: &Source, dir: &Path) -> Result<(Vec<Pair>, FileId)> {
    let f = read_text(&dir.join(src.file))?;
    let mut pairs = Vec::new();
    for (line, fields) in records(&f.path, &f.text, Dialect::Tsv)?.into_iter().skip(1) {
        if let Some(pair) = source_pair(src, &f.path, line, &fields)? {
            pairs.push(pair);
        }
    }
    Ok((pairs, f.id))
}

/// One row of a built-in file as a pair; `None` for a row `src.keep` leaves out.
fn source_pair(src: &Source, path: &str, line: usize, fields: &[String]) -> Result<Option<Pair>> {
    let get = |(i, name): Column| field(path, line, fields, i, name);
    for &(col, value) in src.keep {
        if get(col)? != value {
            return Ok(None);
        }
    }
    let subset = match src.subset {
        Subset::Split => src.split,
        Subset::Fixed(name) => name,
        Subset::Column(col) => get(col)?,
    };
    let gold = match src.gold {
        Gold::Score(c) => parse_score(path, line, get(c)?, c.1)?,
        Gold::Label(c) => parse_label(path, line, get(c)?, c.1)?,
    };
    let s1 = sentence(path, line, get(src.s1)?, src.s1.1)?;
    let s2 = sentence(path, line, get(src.s2)?, src.s2.1)?;
    let domain = domain_of(src.family, subset).ok_or_else(|| {
        let why = format!("subset `{subset}` has no domain in data::domains");
        Error::row(path, line, why)
    })?;
    Ok(Some(Pair {
        s1,
        s2,
        gold,
        subset: subset.to_string(),
        domain: domain.to_string(),
    }))
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
