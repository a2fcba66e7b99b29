//! The evaluation data: which sentence-pair tasks exist, where their files live, how
//! they are read and how they are fetched by name.
//!
//! - [`tasks`]: the one table of built-in splits (file, gold column, sentence columns,
//!   subset) read by one loader; task specs (`mrpc:glue-validation`, `pairs:my.tsv`);
//!   where the data directory is.
//! - [`table`]: the files themselves, through the `csv` crate (TSV with quoting off, user
//!   CSV, JSON lines), every row with its line number for errors.
//! - [`pairs`]: a user's own pair file (`pairs:PATH`).
//! - [`domains`]: the text domain of every subset (news, forums, captions, …).
//! - [`fetch`] and [`provenance`] (native): `rwkv-lens data fetch`, the hub datasets
//!   converted to the files [`tasks`] reads, STS12–16 and SICK-R pairs placed by the
//!   shipped provenance index.
//!
//! Used by the study, the bench (its MRPC workload) and the CLI; knows nothing of models.

pub mod domains;
pub mod pairs;
pub mod table;
pub mod tasks;

#[cfg(feature = "native")]
pub mod fetch;
#[cfg(feature = "native")]
pub mod provenance;

pub use tasks::{load_task, Pair, Task, TaskSpec};

/// Where `rwkv-lens data fetch` puts the evaluation data by default.
#[cfg(feature = "native")]
pub fn default_data_dir() -> std::path::PathBuf {
    crate::hub::lens_cache_dir().join("data")
}
