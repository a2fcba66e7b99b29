//! `rwkv-lens data fetch`: evaluation sets from hub datasets, converted to the layout
//! [`super::tasks`] reads, row counts checked.
//!
//! Sources (GLUE's parquet files; the MTEB copies: gzipped JSON lines, one object per pair):
//!
//! | task | dataset | file → written as | rows |
//! |---|---|---|---|
//! | mrpc | `nyu-mll/glue` | `mrpc/train-00000-of-00001.parquet` → `mrpc/glue/train.tsv`, `validation` → `mrpc/glue/dev.tsv` | 3668 / 408 |
//! | stsb | `mteb/stsbenchmark-sts` | `test.jsonl.gz` → `stsb/stsb-test.tsv` (also `validation` → `dev`, `train`) | 1379 / 1500 / 5749 |
//! | sickr | `mteb/sickr-sts` | `test.jsonl.gz` → `sick/semeval2014/SICK_{test_annotated,train,trial}.txt` | 9927 (4927 / 4500 / 500) |
//! | sts12-16 (also `sts12`…`sts16`) | `mteb/sts12-sts` … `mteb/sts16-sts` | `test.jsonl.gz` (+ STS12's `train.jsonl.gz`) → `sts12-16/sts12-16.tsv` | 3108 (+2234), 1500, 3750, 3000, 1186 |
//! | biosses | `mteb/biosses-sts` | `test.jsonl.gz` → `biosses/biosses.tsv` | 100 |
//!
//! The MTEB copies of SICK-R and STS12–16 do not say which SemEval split or source
//! subset a pair comes from; the study's splits and domains need it, so each pair's
//! provenance is looked up in the index shipped with rwkv-lens ([`super::provenance`]),
//! and rows are written in the source files' order. A pair missing from the index stops
//! the fetch with a one-line error. Not fetched: MRPC's labelled test split (GLUE's
//! copy has no labels).
//!
//! Every download is checked against the hub's content hash (see [`crate::hub::client`]);
//! each written file's sha256 goes to `SOURCE.md` in its folder with the dataset's
//! commit. Writes are atomic.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::provenance::{self, Index};
use crate::hub::client::{sha256_file, Hub, RepoId, RepoKind};
use crate::io::write_atomic_under;
use crate::{Error, Result};

/// The most a gzipped dataset file may unpack to (the largest, STS-B's train split,
/// is under 2 MB): a gzip bomb stops here.
const MAX_TEXT: u64 = 256 << 20;
/// The most one sentence or label may hold (the sets' longest sentence is under 2 kB).
const MAX_FIELD: usize = 64 << 10;

/// One file of a hub dataset and how its pairs become rows of the study's layout.
struct Source {
    dataset: &'static str,
    remote: &'static str,
    rows: usize,
    columns: Columns,
}

/// How a JSON object becomes a TSV row of the study's layout, and where it goes.
#[derive(Clone, Copy)]
enum Columns {
    /// `Quality, #1 ID, #2 ID, #1 String, #2 String` from GLUE's `label, idx,
    /// sentence1, sentence2` (GLUE's copy has no MSR ids: both id columns hold `idx`).
    Mrpc(&'static str),
    /// `genre, source, year, sid, score, sentence1, sentence2` from MTEB's STS-B fields.
    Stsb(&'static str),
    /// `id, score, sentence1, sentence2` (the row number is the id).
    Biosses(&'static str),
    /// `pair_ID, sentence_A, sentence_B, relatedness_score` into one file per SemEval
    /// split, from the provenance index.
    Sick,
    /// `year, split, subset, line, score, sentence1, sentence2` of one year and split,
    /// subset and line from the provenance index.
    Sts(&'static str, &'static str),
}

const STS_OUT: &str = "sts12-16/sts12-16.tsv";
const SICK_OUT: [(&str, &str); 3] = [
    ("test", "sick/semeval2014/SICK_test_annotated.txt"),
    ("train", "sick/semeval2014/SICK_train.txt"),
    ("trial", "sick/semeval2014/SICK_trial.txt"),
];

impl Columns {
    /// The files this kind writes (relative to the data directory).
    fn outputs(self) -> Vec<&'static str> {
        match self {
            Columns::Mrpc(out) | Columns::Stsb(out) | Columns::Biosses(out) => vec![out],
            Columns::Sick => SICK_OUT.iter().map(|(_, out)| *out).collect(),
            Columns::Sts(..) => vec![STS_OUT],
        }
    }

    fn header(self) -> &'static str {
        match self {
            Columns::Mrpc(_) => "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String",
            Columns::Stsb(_) => "genre\tsource\tyear\tsid\tscore\tsentence1\tsentence2",
            Columns::Biosses(_) => "id\tscore\tsentence1\tsentence2",
            Columns::Sick => "pair_ID\tsentence_A\tsentence_B\trelatedness_score",
            Columns::Sts(..) => "year\tsplit\tsubset\tline\tscore\tsentence1\tsentence2",
        }
    }
}

/// A fetchable task: its files, and other names it answers to.
pub struct DataTask {
    pub name: &'static str,
    aliases: &'static [&'static str],
    sources: &'static [Source],
}

const fn mteb(dataset: &'static str, remote: &'static str, rows: usize, c: Columns) -> Source {
    Source {
        dataset,
        remote,
        rows,
        columns: c,
    }
}

// One row per hub file: kept on one line each (the table reads across).
#[rustfmt::skip]
pub const TASKS: &[DataTask] = &[
    DataTask {
        name: "mrpc",
        aliases: &[],
        sources: &[
            mteb("nyu-mll/glue", "mrpc/train-00000-of-00001.parquet", 3668, Columns::Mrpc("mrpc/glue/train.tsv")),
            mteb("nyu-mll/glue", "mrpc/validation-00000-of-00001.parquet", 408, Columns::Mrpc("mrpc/glue/dev.tsv")),
        ],
    },
    DataTask {
        name: "stsb",
        aliases: &[],
        sources: &[
            mteb("mteb/stsbenchmark-sts", "test.jsonl.gz", 1379, Columns::Stsb("stsb/stsb-test.tsv")),
            mteb("mteb/stsbenchmark-sts", "validation.jsonl.gz", 1500, Columns::Stsb("stsb/stsb-dev.tsv")),
            mteb("mteb/stsbenchmark-sts", "train.jsonl.gz", 5749, Columns::Stsb("stsb/stsb-train.tsv")),
        ],
    },
    DataTask {
        name: "sickr",
        aliases: &["sick"],
        sources: &[mteb("mteb/sickr-sts", "test.jsonl.gz", 9927, Columns::Sick)],
    },
    DataTask {
        name: "sts12-16",
        aliases: &["sts12", "sts13", "sts14", "sts15", "sts16"],
        sources: &[
            mteb("mteb/sts12-sts", "test.jsonl.gz", 3108, Columns::Sts("2012", "test")),
            mteb("mteb/sts12-sts", "train.jsonl.gz", 2234, Columns::Sts("2012", "train")),
            mteb("mteb/sts13-sts", "test.jsonl.gz", 1500, Columns::Sts("2013", "test")),
            mteb("mteb/sts14-sts", "test.jsonl.gz", 3750, Columns::Sts("2014", "test")),
            mteb("mteb/sts15-sts", "test.jsonl.gz", 3000, Columns::Sts("2015", "test")),
            mteb("mteb/sts16-sts", "test.jsonl.gz", 1186, Columns::Sts("2016", "test")),
        ],
    },
    DataTask {
        name: "biosses",
        aliases: &[],
        sources: &[mteb("mteb/biosses-sts", "test.jsonl.gz", 100, Columns::Biosses("biosses/biosses.tsv"))],
    },
];

/// The task whose fetch writes the file at `path` (a path ending in its output name).
pub fn task_writing(path: &str) -> Option<&'static str> {
    let path = path.replace('\\', "/");
    TASKS
        .iter()
        .find(|t| {
            t.sources
                .iter()
                .any(|s| s.columns.outputs().iter().any(|out| path.ends_with(out)))
        })
        .map(|t| t.name)
}

/// `all` or a comma list of task names (or aliases) → the tasks, each once.
pub fn parse_tasks(spec: &str) -> Result<Vec<&'static DataTask>> {
    if spec.trim() == "all" {
        return Ok(TASKS.iter().collect());
    }
    // STS's years are listed by the names people use for them.
    let shown = |t: &DataTask| match t.aliases.first() {
        Some(a) if a.starts_with("sts") => "sts12…sts16",
        _ => t.name,
    };
    let names: Vec<&str> = TASKS.iter().map(shown).collect();
    let mut tasks: Vec<&'static DataTask> = Vec::new();
    for n in spec.split(',').map(str::trim) {
        let task = TASKS
            .iter()
            .find(|t| t.name == n || t.aliases.contains(&n))
            .ok_or_else(|| {
                Error::input(format!(
                    "`data fetch` cannot fetch `{n}` (it fetches {} or all)",
                    names.join(", ")
                ))
            })?;
        if !tasks.iter().any(|t| t.name == task.name) {
            tasks.push(task);
        }
    }
    Ok(tasks)
}

/// A converted row: its output file, its place in source order, its cells.
struct Row {
    out: &'static str,
    order: usize,
    line: String,
}

/// Fetches `tasks` into `dir`; returns the files written.
pub fn fetch(tasks: &[&DataTask], dir: &Path, hub: &Hub) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for task in tasks {
        let mut notes = vec![format!(
            "# {} from the Hugging Face Hub\n\nWritten by `rwkv-lens data fetch --tasks {}` (files checked against the hub's sha256).\n\n| dataset | file | rows | pairs whose score differs from the source files' |\n|---|---|---|---|",
            task.name, task.name
        )];
        // Parsed on first use: only the STS and SICK sources need them.
        let (mut sts, mut sick) = (None, None);
        let mut rows: Vec<Row> = Vec::new();
        for s in task.sources {
            let local = download(hub, s)?;
            let shown = format!("datasets/{}: {}", s.dataset, s.remote);
            let before = rows.len();
            let differ = convert(&shown, &local, s, &mut rows, (&mut sts, &mut sick))?;
            notes.push(format!(
                "| `{}` | `{}` | {} | {} |",
                s.dataset,
                s.remote,
                rows.len() - before,
                differ.map_or("—".to_string(), |n| n.to_string())
            ));
        }
        notes.push("\n| written | rows | sha256 |\n|---|---|---|".to_string());
        rows.sort_by_key(|r| r.order);
        let mut by_out: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for r in rows {
            by_out.entry(r.out).or_default().push(r.line);
        }
        let header = |out: &str| {
            task.sources
                .iter()
                .find(|s| s.columns.outputs().contains(&out))
                .map_or("", |s| s.columns.header())
        };
        for (out, lines) in &by_out {
            let path = dir.join(out);
            let text = format!("{}\n{}\n", header(out), lines.join("\n"));
            write_atomic_under(dir, &path, text.as_bytes())?;
            notes.push(format!(
                "| `{out}` | {} | `{}` |",
                lines.len(),
                sha256_file(&path)?
            ));
            written.push(path);
        }
        let first = task.sources[0].columns.outputs()[0];
        let folder = first.split('/').next().unwrap_or(task.name);
        let source_md = dir.join(folder).join("SOURCE.md");
        write_atomic_under(dir, &source_md, (notes.join("\n") + "\n").as_bytes())?;
        written.push(source_md);
    }
    Ok(written)
}

/// One source file, from the cache or the hub, after checking the repo still holds it.
fn download(hub: &Hub, s: &Source) -> Result<PathBuf> {
    let repo = RepoId::new(s.dataset, RepoKind::Dataset, None);
    let listing = hub.list(&repo)?;
    if !listing.iter().any(|f| f == s.remote) {
        return Err(Error::file(
            repo.shown(),
            format!(
                "has no file `{}` any more (it holds {})",
                s.remote,
                listing.join(", ")
            ),
        ));
    }
    hub.fetch(&repo, s.remote)
}

/// The rows of a dataset file as JSON objects: gzipped JSON lines or parquet.
fn records(shown: &str, path: &Path) -> Result<Vec<serde_json::Value>> {
    let file =
        std::fs::File::open(path).map_err(|e| Error::file(shown, format!("cannot read: {e}")))?;
    if shown.ends_with(".parquet") {
        let bad = |e: parquet::errors::ParquetError| {
            Error::file(shown, format!("not a readable parquet file: {e}"))
        };
        let reader =
            parquet::file::serialized_reader::SerializedFileReader::new(file).map_err(bad)?;
        let rows = parquet::file::reader::FileReader::get_row_iter(&reader, None).map_err(bad)?;
        return rows
            .map(|r| r.map(|r| r.to_json_value()).map_err(bad))
            .collect();
    }
    let mut text = String::new();
    (flate2::read::GzDecoder::new(file).take(MAX_TEXT + 1))
        .read_to_string(&mut text)
        .map_err(|e| Error::file(shown, format!("not gzipped UTF-8 JSON lines: {e}")))?;
    if text.len() as u64 > MAX_TEXT {
        return Err(Error::file(
            shown,
            format!(
                "unpacks to more than {MAX_TEXT} bytes (no evaluation set is that large): refused"
            ),
        ));
    }
    (text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty()))
    .map(|(i, line)| {
        serde_json::from_str(line).map_err(|e| Error::row(shown, i + 1, format!("bad JSON: {e}")))
    })
    .collect()
}

/// A dataset file's rows in the study's layout, appended to `rows`, with the row count
/// checked; for the indexed sets also how many scores differ from the source files'.
fn convert(
    shown: &str,
    path: &Path,
    s: &Source,
    rows: &mut Vec<Row>,
    (sts, sick): (&mut Option<Index>, &mut Option<Index>),
) -> Result<Option<usize>> {
    let records = records(shown, path)?;
    if records.len() != s.rows {
        return Err(Error::file(
            shown,
            format!("{} rows, expected {}", records.len(), s.rows),
        ));
    }
    let mut differ = 0;
    for (i, row) in records.iter().enumerate() {
        let field = |k: &str| -> Result<String> {
            match row.get(k) {
                Some(serde_json::Value::String(v)) if v.len() > MAX_FIELD => Err(Error::row(
                    shown,
                    i + 1,
                    format!(
                        "field `{k}` holds {} bytes (at most {MAX_FIELD}): refused",
                        v.len()
                    ),
                )),
                Some(serde_json::Value::String(v)) => Ok(clean(v)),
                Some(serde_json::Value::Number(v)) => Ok(v.to_string()),
                _ => Err(Error::row(shown, i + 1, format!("missing field `{k}`"))),
            }
        };
        let fields = |keys: &[&str]| keys.iter().map(|k| field(k)).collect::<Result<Vec<_>>>();
        let (out, order, cells) = match s.columns {
            Columns::Mrpc(out) => {
                let idx = field("idx")?;
                let [label, s1, s2] =
                    <[String; 3]>::try_from(fields(&["label", "sentence1", "sentence2"])?)
                        .expect("3");
                (out, i, vec![label, idx.clone(), idx, s1, s2])
            }
            Columns::Stsb(out) => {
                let keys = [
                    "genre",
                    "dataset",
                    "year",
                    "sid",
                    "score",
                    "sentence1",
                    "sentence2",
                ];
                (out, i, fields(&keys)?)
            }
            Columns::Biosses(out) => {
                let mut cells = vec![(i + 1).to_string()];
                cells.extend(fields(&["score", "sentence1", "sentence2"])?);
                (out, i, cells)
            }
            Columns::Sick | Columns::Sts(..) => {
                let [s1, s2, score] =
                    <[String; 3]>::try_from(fields(&["sentence1", "sentence2", "score"])?)
                        .expect("3");
                let (out, order, cells, agrees) =
                    indexed(shown, i + 1, s.columns, [s1, s2, score], (sts, sick))?;
                differ += usize::from(!agrees);
                (out, order, cells)
            }
        };
        rows.push(Row {
            out,
            order,
            line: cells.join("\t"),
        });
    }
    Ok(matches!(s.columns, Columns::Sick | Columns::Sts(..)).then_some(differ))
}

/// An STS or SICK pair `[s1, s2, score]` placed by the provenance index: its output
/// file, position in source order, cells, and whether the index's score agrees.
fn indexed(
    shown: &str,
    row: usize,
    columns: Columns,
    [s1, s2, score]: [String; 3],
    (sts, sick): (&mut Option<Index>, &mut Option<Index>),
) -> Result<(&'static str, usize, Vec<String>, bool)> {
    let gold: f64 = score
        .parse()
        .map_err(|_| Error::row(shown, row, format!("score `{score}` is not a number")))?;
    if let Columns::Sts(year, split) = columns {
        let group = format!("{year}/{split}");
        let sts = sts.get_or_insert_with(provenance::sts);
        let (at, f, agrees) = sts.take(shown, row, &group, (&s1, &s2, gold))?;
        // year, split, subset, line, score, sentence1, sentence2
        let mut cells = f.to_vec();
        cells.extend([score, s1, s2]);
        return Ok((STS_OUT, at, cells, agrees));
    }
    let sick = sick.get_or_insert_with(provenance::sick);
    let (at, f, agrees) = sick.take(shown, row, "", (&s1, &s2, gold))?;
    let out = SICK_OUT
        .iter()
        .find(|(split, _)| *split == f[0])
        .map_or(SICK_OUT[0].1, |(_, out)| *out);
    // pair_ID, sentence_A, sentence_B, relatedness_score
    Ok((out, at, vec![f[1].clone(), s1, s2, score], agrees))
}

/// A cell without tabs or line breaks (the study's TSV reader splits on them).
fn clean(v: &str) -> String {
    v.replace(['\t', '\n', '\r'], " ").trim().to_string()
}
