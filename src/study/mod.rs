//! The study: layer-wise zero-shot sentence similarity of RWKV-6 models on STS-like
//! tasks, beside a GloVe average-word-vector baseline (see `docs/study.md`).
//!
//! Pipeline: tasks (pairs with gold scores, subsets and text domains) → each unique
//! sentence embedded once per model, all requested layers and poolings from one
//! forward pass → cosine per pair → Spearman / Pearson (+ ROC-AUC and threshold
//! metrics on binary tasks) with seeded bootstrap CIs, per task, subset and domain →
//! the out-of-distribution view (domain scores and drops from news) → results.json,
//! results.md and SVG plots. Native only; its tasks come from [`crate::data`], its
//! baseline from [`crate::glove`].

pub mod args;
pub mod bootstrap;
pub mod cache;
pub mod check;
pub mod compare;
pub mod cost;
pub mod cost_plot;
pub mod embedding;
pub mod evaluate;
pub mod markdown;
pub mod metrics;
pub mod ood;
pub mod plots;
pub mod report;
pub mod run;

pub use args::{Preset, StudyArgs};
pub use embedding::StudyModel;
pub use report::StudyReport;
pub use run::run;
