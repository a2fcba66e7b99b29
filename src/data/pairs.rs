//! Generic pair files (`--task pairs:PATH`): TSV (quoting disabled), CSV (RFC 4180)
//! or JSON lines, chosen by extension (`.tsv`/`.txt`, `.csv`, `.jsonl`/`.ndjson`).
//!
//! Columns / keys: `sentence1`, `sentence2`, and either `score` (graded) or `label`
//! (binary 0/1: adds ROC-AUC and threshold metrics); optional `domain` and `subset`.
//! TSV and CSV need a header row. Pairs without a domain get the domain `custom`.

use std::path::Path;

use super::table::{
    fields_count, parse_label, parse_score, read_text, records, sentence, Dialect, Record,
};
use super::tasks::{Pair, Task};
use crate::{Error, Result};

/// Column positions found in a header.
struct Columns {
    s1: usize,
    s2: usize,
    gold: usize,
    binary: bool,
    domain: Option<usize>,
    subset: Option<usize>,
}

fn columns(path: &str, header: &[String]) -> Result<Columns> {
    let find = |name: &str| header.iter().position(|h| h.trim() == name);
    let need = |name: &str| {
        find(name).ok_or_else(|| {
            Error::row(
                path,
                1,
                format!("header lacks `{name}` (expected sentence1, sentence2, score or label, optional domain, subset; found {header:?})"),
            )
        })
    };
    let (gold, binary) = match (find("score"), find("label")) {
        (Some(i), None) => (i, false),
        (None, Some(i)) => (i, true),
        _ => {
            return Err(Error::row(
                path,
                1,
                "header needs exactly one of `score` or `label`",
            ))
        }
    };
    Ok(Columns {
        s1: need("sentence1")?,
        s2: need("sentence2")?,
        gold,
        binary,
        domain: find("domain"),
        subset: find("subset"),
    })
}

fn pair_from_fields(path: &str, line: usize, cols: &Columns, fields: &[String]) -> Result<Pair> {
    let get = |i: usize, name: &str| {
        fields.get(i).map(String::as_str).ok_or_else(|| {
            Error::row(
                path,
                line,
                format!(
                    "missing column `{name}` (row has {})",
                    fields_count(fields.len())
                ),
            )
        })
    };
    let gold_text = get(cols.gold, "score/label")?;
    let gold = if cols.binary {
        parse_label(path, line, gold_text, "label")?
    } else {
        parse_score(path, line, gold_text, "score")?
    };
    let optional = |i: Option<usize>, default: &str| {
        i.and_then(|i| fields.get(i))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .unwrap_or(default)
            .to_string()
    };
    Ok(Pair {
        s1: sentence(path, line, get(cols.s1, "sentence1")?, "sentence1")?,
        s2: sentence(path, line, get(cols.s2, "sentence2")?, "sentence2")?,
        gold,
        subset: optional(cols.subset, "pairs"),
        domain: optional(cols.domain, "custom"),
    })
}

/// Loads a pair file; the task name is filled in by the caller.
pub fn load_pairs_file(path: &Path) -> Result<Task> {
    let f = read_text(path)?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_lowercase();
    let (pairs, binary) = parse_pairs(&f.path, &ext, &f.text)?;
    Ok(Task {
        name: String::new(),
        family: "pairs".into(),
        binary,
        pairs,
        files: vec![f.id],
        rows_loaded: 0,
    })
}

/// Parses the text of a pair file of type `ext` (lower case, no dot); `path` names it
/// in errors. Returns the pairs and whether the gold values are binary labels.
pub fn parse_pairs(path: &str, ext: &str, text: &str) -> Result<(Vec<Pair>, bool)> {
    match ext {
        "tsv" | "txt" => from_records(path, records(path, text, Dialect::Tsv)?),
        "csv" => from_records(path, records(path, text, Dialect::Csv)?),
        "jsonl" | "ndjson" => from_json_lines(path, text),
        _ => Err(Error::file(
            path,
            "unknown pair file type (expected .tsv, .txt, .csv, .jsonl or .ndjson)",
        )),
    }
}

fn from_records(path: &str, records: Vec<Record>) -> Result<(Vec<Pair>, bool)> {
    let mut records = records.into_iter();
    let (_, header) = records
        .next()
        .ok_or_else(|| Error::file(path, "empty pair file"))?;
    let cols = columns(path, &header)?;
    let pairs = records
        .map(|(line, fields)| pair_from_fields(path, line, &cols, &fields))
        .collect::<Result<Vec<_>>>()?;
    Ok((pairs, cols.binary))
}

/// One JSON object per line with the same keys as the header names.
fn from_json_lines(path: &str, text: &str) -> Result<(Vec<Pair>, bool)> {
    let mut pairs = Vec::new();
    let mut binary = None;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let n = i + 1;
        let value: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| Error::row(path, n, format!("bad JSON: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| Error::row(path, n, "expected a JSON object"))?;
        let text_of = |key: &str| -> Result<String> {
            let v = obj.get(key).and_then(|v| v.as_str());
            sentence(path, n, v.unwrap_or(""), key)
        };
        let (gold, is_label) = json_gold(path, n, obj)?;
        if *binary.get_or_insert(is_label) != is_label {
            return Err(Error::row(
                path,
                n,
                "mixes `score` and `label` across lines",
            ));
        }
        let opt = |key: &str, default: &str| {
            obj.get(key)
                .and_then(|v| v.as_str())
                .unwrap_or(default)
                .to_string()
        };
        pairs.push(Pair {
            s1: text_of("sentence1")?,
            s2: text_of("sentence2")?,
            gold,
            subset: opt("subset", "pairs"),
            domain: opt("domain", "custom"),
        });
    }
    Ok((pairs, binary.unwrap_or(false)))
}

fn json_gold(
    path: &str,
    n: usize,
    obj: &serde_json::Map<String, serde_json::Value>,
) -> Result<(f64, bool)> {
    match (obj.get("score"), obj.get("label")) {
        (Some(v), None) => v
            .as_f64()
            .filter(|x| x.is_finite())
            .map(|x| (x, false))
            .ok_or_else(|| Error::row(path, n, format!("`score` = {v} is not a number"))),
        (None, Some(v)) => match (v.as_f64(), v.as_bool()) {
            (Some(x), _) if x == 0.0 || x == 1.0 => Ok((x, true)),
            (_, Some(b)) => Ok((b as u8 as f64, true)),
            _ => Err(Error::row(path, n, format!("`label` = {v} is not 0/1"))),
        },
        _ => Err(Error::row(
            path,
            n,
            "needs exactly one of `score` or `label`",
        )),
    }
}
