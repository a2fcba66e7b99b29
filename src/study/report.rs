//! `results.json` (versioned schema), written atomically with `results.md` and the
//! SVG plots.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::args::Plan;
use super::embedding::{GloveCoverage, Profile};
use super::evaluate::Row;
use super::hash::FileId;
use super::ood::OodReport;
use super::{markdown, plots};
use crate::model::Config;
use crate::{Error, Result};

/// Bumped whenever a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelInfo {
    pub label: String,
    pub path: Option<String>,
    /// Hash and size of the checkpoint (files of a directory in name order).
    pub file: Option<FileId>,
    /// Engine and adapter, e.g. "cpu reference" or the GPU's name.
    pub engine: String,
    pub config: Config,
    pub layers: Vec<usize>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct BaselineInfo {
    pub name: String,
    pub file: FileId,
    pub dim: usize,
    pub vocab_size: usize,
    /// Words of the study's sentences found in the file.
    pub words_loaded: usize,
    pub load_seconds: f64,
    pub tokenization: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TaskInfo {
    pub name: String,
    pub family: String,
    pub binary: bool,
    /// Pairs evaluated.
    pub rows: usize,
    /// Pairs read before `--max-pairs`.
    pub rows_loaded: usize,
    pub files: Vec<FileId>,
    pub unique_sentences: usize,
    pub subsets: BTreeMap<String, usize>,
    pub domains: BTreeMap<String, usize>,
    pub glove: Option<GloveCoverage>,
}

/// Everything a study produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StudyReport {
    pub schema_version: u32,
    pub tool: Tool,
    pub created_unix: u64,
    /// Data directory used (None when only pair files and an explicit GloVe path were read).
    pub data_dir: Option<String>,
    pub protocol: Plan,
    pub models: Vec<ModelInfo>,
    pub baselines: Vec<BaselineInfo>,
    pub tasks: Vec<TaskInfo>,
    /// One row per model × task × group (all / subset / domain) × layer × pooling;
    /// baseline rows have no layer and pooling. Scores ×100.
    pub rows: Vec<Row>,
    pub ood: Option<OodReport>,
    pub profile: Vec<Profile>,
    pub notes: Vec<String>,
}

pub use crate::io::write_atomic;

impl StudyReport {
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map_err(|e| Error::input(format!("cannot serialise results: {e}")))
    }

    /// The compact tables printed at the end of a run (source-study shape per task).
    pub fn summary(&self) -> String {
        markdown::summary(self)
    }

    /// Writes results.json, results.md and the plots into `out_dir`; returns the paths.
    pub fn write(&self, out_dir: &Path) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(out_dir)
            .map_err(|e| Error::file(out_dir.display(), format!("cannot create: {e}")))?;
        let mut files = vec![
            ("results.json".to_string(), self.to_json()?),
            ("results.md".to_string(), markdown::full(self)),
        ];
        files.extend(plots::all(self));
        let mut written = Vec::new();
        for (name, text) in files {
            let path = out_dir.join(name);
            write_atomic(&path, text.as_bytes())?;
            written.push(path);
        }
        Ok(written)
    }

    /// Rows of a task for one group kind/name.
    pub fn rows_for<'a>(
        &'a self,
        task: &'a str,
        group: &'a str,
    ) -> impl Iterator<Item = &'a Row> + 'a {
        self.rows
            .iter()
            .filter(move |r| r.task == task && r.group == group)
    }
}

/// A file-name-safe version of a label.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}
