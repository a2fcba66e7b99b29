//! The study: layer-wise zero-shot sentence similarity of RWKV-6 models on STS-like
//! tasks, beside a GloVe average-word-vector baseline (see `docs/study.md`).
//!
//! Pipeline: tasks (pairs with gold scores, subsets and text domains) → each unique
//! sentence embedded once per model, all requested layers and poolings from one
//! forward pass → cosine per pair → Spearman / Pearson (+ ROC-AUC and threshold
//! metrics on binary tasks) with seeded bootstrap CIs, per task, subset and domain →
//! the out-of-distribution view (domain scores and drops from news) → results.json,
//! results.md and SVG plots.

pub mod bootstrap;
#[cfg(feature = "native")]
pub mod cache;
pub mod domains;
pub mod glove;
pub mod hash;
pub mod metrics;
pub mod pairs;
pub mod table;
pub mod tasks;

#[cfg(feature = "native")]
pub mod args;
#[cfg(feature = "native")]
pub mod check;
#[cfg(feature = "native")]
pub mod compare;
#[cfg(feature = "native")]
pub mod embedding;
#[cfg(feature = "native")]
pub mod evaluate;
#[cfg(feature = "native")]
pub mod markdown;
#[cfg(feature = "native")]
pub mod ood;
#[cfg(feature = "native")]
pub mod plots;
#[cfg(feature = "native")]
pub mod report;
#[cfg(feature = "native")]
pub mod run;

#[cfg(feature = "native")]
pub use args::{Preset, StudyArgs};
#[cfg(feature = "native")]
pub use embedding::StudyModel;
#[cfg(feature = "native")]
pub use report::StudyReport;
#[cfg(feature = "native")]
pub use run::run;
