//! `results.json` (versioned schema), written atomically with `results.md` and the
//! SVG plots, and the run's time and memory in `profile.json` / `profile.md`.
//!
//! Rule: `results.json`, `results.md` and the plots hold only what the same command
//! on the same machine reproduces byte for byte (scores, inputs and their hashes,
//! protocol); wall-clock times, throughput, memory peaks and the creation time go to
//! the profile files, which differ from run to run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::args::Protocol;
use super::compare::Comparison;
use super::embedding::{GloveCoverage, TaskTiming};
use super::evaluate::{GroupKind, Row};
use super::ood::OodReport;
use super::{markdown, plots};
use crate::kit::hash::FileId;
use crate::model::Config;
use crate::Result;

/// Bumped whenever a field changes meaning or disappears (2: timings moved to profile.json).
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    /// This build of rwkv-lens.
    pub fn this() -> Tool {
        Tool {
            name: "rwkv-lens".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// Seconds since the Unix epoch (0 if the clock is before it): a report's `created_unix`.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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
    /// The checkpoint's [`crate::model::random::UNTRAINED_KEY`] metadata, if any (shown by
    /// the model comparison).
    #[serde(skip)]
    pub untrained: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct BaselineInfo {
    pub name: String,
    pub file: FileId,
    pub dim: usize,
    pub vocab_size: usize,
    /// Words of the study's sentences found in the file.
    pub words_loaded: usize,
    /// In profile.json, not results.json (it varies from run to run).
    #[serde(skip)]
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
    /// In profile.json, not results.json.
    #[serde(skip)]
    pub created_unix: u64,
    /// Data directory used (None when only pair files and an explicit GloVe path were read).
    pub data_dir: Option<String>,
    pub protocol: Protocol,
    pub models: Vec<ModelInfo>,
    pub baselines: Vec<BaselineInfo>,
    pub tasks: Vec<TaskInfo>,
    /// One row per model × task × group (all / subset / domain) × layer × pooling;
    /// baseline rows have no layer and pooling. Scores ×100.
    pub rows: Vec<Row>,
    pub ood: Option<OodReport>,
    /// Runs with two or more models: curves by relative depth, the OOD comparison.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    /// In profile.json, not results.json.
    #[serde(skip)]
    pub profile: Vec<TaskTiming>,
    pub notes: Vec<String>,
}

/// `profile.json`: what varies from run to run.
#[derive(serde::Serialize)]
struct ProfileFile<'a> {
    schema_version: u32,
    tool: &'a Tool,
    created_unix: u64,
    /// Seconds to load each baseline.
    baseline_load_seconds: BTreeMap<&'a str, f64>,
    /// One entry per model (or baseline) × task.
    profile: &'a [TaskTiming],
}

impl StudyReport {
    pub fn to_json(&self) -> Result<String> {
        crate::io::to_json(self, "results")
    }

    /// `profile.json`: creation time, load and forward times, memory peaks.
    pub fn profile_json(&self) -> Result<String> {
        let file = ProfileFile {
            schema_version: self.schema_version,
            tool: &self.tool,
            created_unix: self.created_unix,
            baseline_load_seconds: (self.baselines.iter())
                .map(|b| (b.name.as_str(), b.load_seconds))
                .collect(),
            profile: &self.profile,
        };
        crate::io::to_json(&file, "the profile")
    }

    /// The compact tables printed at the end of a run (source-study shape per task).
    pub fn summary(&self) -> String {
        markdown::summary(self)
    }

    /// Writes results.json, results.md, the plots and the profile files into `out_dir`;
    /// returns the paths.
    pub fn write(&self, out_dir: &Path) -> Result<Vec<PathBuf>> {
        let mut files = vec![
            ("results.json".to_string(), self.to_json()?),
            ("results.md".to_string(), markdown::full(self)),
            ("profile.json".to_string(), self.profile_json()?),
            ("profile.md".to_string(), markdown::profile_page(self)),
        ];
        files.extend(plots::all(self));
        crate::io::write_files(out_dir, files)
    }

    /// Rows of a task for one group kind/name.
    pub fn rows_for<'a>(
        &'a self,
        task: &'a str,
        group: GroupKind,
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
