//! `rwkv-lens data fetch`: evaluation sets from hub datasets, converted to the layout
//! the study reads (`study::tasks::load_split`), row counts checked.
//!
//! Sources (GLUE's parquet files; the MTEB copies: gzipped JSON lines, one object per pair):
//!
//! | task | dataset | file → written as | rows |
//! |---|---|---|---|
//! | mrpc | `nyu-mll/glue` | `mrpc/train-00000-of-00001.parquet` → `mrpc/glue/train.tsv`, `validation` → `mrpc/glue/dev.tsv` | 3668 / 408 |
//! | stsb | `mteb/stsbenchmark-sts` | `test.jsonl.gz` → `stsb/stsb-test.tsv` (also `validation` → `dev`, `train`) | 1379 / 1500 / 5749 |
//! | biosses | `mteb/biosses-sts` | `test.jsonl.gz` → `biosses/biosses.tsv` | 100 |
//!
//! Not fetched: MRPC's labelled test split (GLUE's copy has no labels), and SICK-R and
//! STS12–16, whose MTEB copies do not say which source subset each pair comes from (the
//! study's domains need it): those stay with `--data-dir`.
//!
//! Every download is checked against the hub's content hash (see [`super::client`]);
//! each written file's sha256 goes to `SOURCE.md` in its folder with the dataset's
//! commit. Writes are atomic.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::client::{sha256_file, Hub, RepoId, RepoKind};
use crate::io::write_atomic;
use crate::{Error, Result};

/// One file of a hub dataset and where its pairs go.
struct Source {
    remote: &'static str,
    rows: usize,
    out: &'static str,
    columns: Columns,
}

/// How a JSON object becomes a TSV row of the study's layout.
#[derive(Clone, Copy)]
enum Columns {
    /// `Quality, #1 ID, #2 ID, #1 String, #2 String` from GLUE's `label, idx,
    /// sentence1, sentence2` (GLUE's copy has no MSR ids: both id columns hold `idx`).
    Mrpc,
    /// `genre, source, year, sid, score, sentence1, sentence2` from MTEB's STS-B fields.
    Stsb,
    /// `id, score, sentence1, sentence2` (the row number is the id).
    Biosses,
}

/// A fetchable task: its dataset and files.
pub struct DataTask {
    pub name: &'static str,
    pub dataset: &'static str,
    sources: &'static [Source],
}

pub const TASKS: &[DataTask] = &[
    DataTask {
        name: "mrpc",
        dataset: "nyu-mll/glue",
        sources: &[
            Source {
                remote: "mrpc/train-00000-of-00001.parquet",
                rows: 3668,
                out: "mrpc/glue/train.tsv",
                columns: Columns::Mrpc,
            },
            Source {
                remote: "mrpc/validation-00000-of-00001.parquet",
                rows: 408,
                out: "mrpc/glue/dev.tsv",
                columns: Columns::Mrpc,
            },
        ],
    },
    DataTask {
        name: "stsb",
        dataset: "mteb/stsbenchmark-sts",
        sources: &[
            Source {
                remote: "test.jsonl.gz",
                rows: 1379,
                out: "stsb/stsb-test.tsv",
                columns: Columns::Stsb,
            },
            Source {
                remote: "validation.jsonl.gz",
                rows: 1500,
                out: "stsb/stsb-dev.tsv",
                columns: Columns::Stsb,
            },
            Source {
                remote: "train.jsonl.gz",
                rows: 5749,
                out: "stsb/stsb-train.tsv",
                columns: Columns::Stsb,
            },
        ],
    },
    DataTask {
        name: "biosses",
        dataset: "mteb/biosses-sts",
        sources: &[Source {
            remote: "test.jsonl.gz",
            rows: 100,
            out: "biosses/biosses.tsv",
            columns: Columns::Biosses,
        }],
    },
];

/// The task whose fetch writes the file at `path` (a path ending in its output name).
pub fn task_writing(path: &str) -> Option<&'static str> {
    let path = path.replace('\\', "/");
    TASKS
        .iter()
        .find(|t| t.sources.iter().any(|s| path.ends_with(s.out)))
        .map(|t| t.name)
}

/// `all` or a comma list of task names → the tasks.
pub fn parse_tasks(spec: &str) -> Result<Vec<&'static DataTask>> {
    if spec.trim() == "all" {
        return Ok(TASKS.iter().collect());
    }
    let names: Vec<&str> = TASKS.iter().map(|t| t.name).collect();
    spec.split(',')
        .map(|n| {
            TASKS.iter().find(|t| t.name == n.trim()).ok_or_else(|| {
                Error::input(format!(
                    "`data fetch` cannot fetch `{}` (it fetches {} or all)",
                    n.trim(),
                    names.join(", ")
                ))
            })
        })
        .collect()
}

/// Fetches `tasks` into `dir`; returns the files written.
pub fn fetch(tasks: &[&DataTask], dir: &Path, hub: &Hub) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for task in tasks {
        let repo = RepoId::new(task.dataset, RepoKind::Dataset, None);
        let listing = hub.list(&repo)?;
        let mut notes = vec![format!(
            "# {} from the Hugging Face Hub\n\nWritten by `rwkv-lens data fetch --tasks {}` from `datasets/{}` (files checked against the hub's sha256).\n\n| source | rows | written | sha256 of the written file |\n|---|---|---|---|",
            task.name, task.name, task.dataset
        )];
        for s in task.sources {
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
            let local = hub.fetch(&repo, s.remote)?;
            let shown = format!("{}: {}", repo.shown(), s.remote);
            let tsv = convert(&shown, &local, s)?;
            let out = dir.join(s.out);
            write_atomic(&out, tsv.as_bytes())?;
            notes.push(format!(
                "| `{}` | {} | `{}` | `{}` |",
                s.remote,
                s.rows,
                s.out,
                sha256_file(&out)?
            ));
            written.push(out);
        }
        let folder = task.sources[0].out.split('/').next().unwrap_or(task.name);
        let source_md = dir.join(folder).join("SOURCE.md");
        write_atomic(&source_md, (notes.join("\n") + "\n").as_bytes())?;
        written.push(source_md);
    }
    Ok(written)
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
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .map_err(|e| Error::file(shown, format!("not gzipped UTF-8 JSON lines: {e}")))?;
    (text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty()))
    .map(|(i, line)| {
        serde_json::from_str(line).map_err(|e| Error::row(shown, i + 1, format!("bad JSON: {e}")))
    })
    .collect()
}

/// A dataset file as the study's TSV, with the row count checked.
fn convert(shown: &str, path: &Path, s: &Source) -> Result<String> {
    let mut out = String::from(match s.columns {
        Columns::Mrpc => "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n",
        Columns::Stsb => "genre\tsource\tyear\tsid\tscore\tsentence1\tsentence2\n",
        Columns::Biosses => "id\tscore\tsentence1\tsentence2\n",
    });
    let mut rows = 0;
    for (i, row) in records(shown, path)?.iter().enumerate() {
        let field = |k: &str| -> Result<String> {
            match row.get(k) {
                Some(serde_json::Value::String(v)) => Ok(clean(v)),
                Some(serde_json::Value::Number(v)) => Ok(v.to_string()),
                _ => Err(Error::row(shown, i + 1, format!("missing field `{k}`"))),
            }
        };
        rows += 1;
        let cells = match s.columns {
            Columns::Mrpc => {
                let idx = field("idx")?;
                vec![
                    field("label")?,
                    idx.clone(),
                    idx,
                    field("sentence1")?,
                    field("sentence2")?,
                ]
            }
            Columns::Stsb => [
                "genre",
                "dataset",
                "year",
                "sid",
                "score",
                "sentence1",
                "sentence2",
            ]
            .iter()
            .map(|k| field(k))
            .collect::<Result<Vec<_>>>()?,
            Columns::Biosses => vec![
                rows.to_string(),
                field("score")?,
                field("sentence1")?,
                field("sentence2")?,
            ],
        };
        out.push_str(&cells.join("\t"));
        out.push('\n');
    }
    if rows != s.rows {
        return Err(Error::file(
            shown,
            format!("{rows} rows, expected {}", s.rows),
        ));
    }
    Ok(out)
}

/// A cell without tabs or line breaks (the study's TSV reader splits on them).
fn clean(v: &str) -> String {
    v.replace(['\t', '\n', '\r'], " ").trim().to_string()
}
