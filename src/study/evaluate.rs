//! Scores of every series on every group of pairs of a task: the whole task, each
//! subset and each domain (when there are several). Correlations, ROC-AUC, accuracy
//! and F1 are ×100; a Spearman CI comes from a seeded percentile bootstrap whose
//! resamples are shared by all series of a group (paired comparisons).

use rayon::prelude::*;

use super::bootstrap::{bootstrap_spearman, percentile_ci};
use super::embedding::Series;
use super::metrics::{best_accuracy, best_f1, pearson, roc_auc, spearman, Thresholded};
use crate::data::{Pair, Task};
use crate::embed::Pooling;
use crate::kit::distinct;
use crate::kit::hash::xxh64;

/// Which pairs of a task a group holds: all of them, one subset's or one domain's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupKind {
    All,
    Subset,
    Domain,
}

impl GroupKind {
    /// The name in results.json, tables and the bootstrap's seed key.
    pub fn name(self) -> &'static str {
        match self {
            GroupKind::All => "all",
            GroupKind::Subset => "subset",
            GroupKind::Domain => "domain",
        }
    }
}

/// A set of pairs of one task that gets its own scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub kind: GroupKind,
    /// Subset or domain name (`None` for `all`).
    pub name: Option<String>,
    /// The domain all its pairs share, if they do.
    pub domain: Option<String>,
    pub idx: Vec<u32>,
}

fn group_of(
    task: &Task,
    kind: GroupKind,
    name: Option<String>,
    keep: impl Fn(usize) -> bool,
) -> Group {
    let idx: Vec<u32> = (0..task.pairs.len())
        .filter(|&i| keep(i))
        .map(|i| i as u32)
        .collect();
    let domains = distinct(idx.iter().map(|&i| task.pairs[i as usize].domain.clone()));
    let domain = (domains.len() == 1).then(|| domains[0].clone());
    Group {
        kind,
        name,
        domain,
        idx,
    }
}

/// The field of a pair that a kind of group is named by.
type PairKey = fn(&Pair) -> &String;

/// `all`, then subsets (if more than one), then domains (if more than one).
pub fn groups(task: &Task) -> Vec<Group> {
    let mut out = vec![group_of(task, GroupKind::All, None, |_| true)];
    let by: [(GroupKind, PairKey); 2] = [
        (GroupKind::Subset, |p| &p.subset),
        (GroupKind::Domain, |p| &p.domain),
    ];
    for (kind, key) in by {
        let names = distinct(task.pairs.iter().map(|p| key(p).clone()));
        if names.len() > 1 {
            for name in names {
                let keep = |i: usize| *key(&task.pairs[i]) == name;
                out.push(group_of(task, kind, Some(name.clone()), keep));
            }
        }
    }
    out
}

/// One line of results: a series scored on a group.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub model: String,
    pub task: String,
    pub group: GroupKind,
    pub subset: Option<String>,
    pub domain: Option<String>,
    pub layer: Option<usize>,
    pub pooling: Option<Pooling>,
    pub n: usize,
    /// Pairs scored 0 because a sentence had no vector.
    pub undefined_pairs: usize,
    pub spearman: Option<f64>,
    pub spearman_ci: Option<[f64; 2]>,
    pub pearson: Option<f64>,
    pub roc_auc: Option<f64>,
    pub best_accuracy: Option<Thresholded>,
    pub best_f1: Option<Thresholded>,
    /// Mean cosine of random sentence pairs of the task (on `all` rows).
    pub anisotropy: Option<f64>,
}

/// Bootstrap replicates of one series on one domain of one task (input of the OOD view).
#[derive(Debug, Clone)]
pub struct DomainStat {
    pub task: String,
    pub domain: String,
    pub model: String,
    pub pooling: Option<Pooling>,
    pub layer: Option<usize>,
    pub n: usize,
    pub spearman: Option<f64>,
    pub replicates: Vec<Option<f64>>,
}

/// Bootstrap settings.
#[derive(Debug, Clone, Copy)]
pub struct BootstrapOptions {
    pub replicates: usize,
    pub confidence: f64,
    pub seed: u64,
}

/// Rows of a task and the per-domain replicates for the OOD view.
pub fn evaluate_task(
    task: &Task,
    series: &[Series],
    boot: BootstrapOptions,
) -> (Vec<Row>, Vec<DomainStat>) {
    let groups = groups(task);
    // The OOD view uses each domain group, or `all` when the whole task is one domain.
    let ood_group = |g: &Group| {
        g.domain.is_some()
            && (g.kind == GroupKind::Domain
                || (g.kind == GroupKind::All
                    && !groups.iter().any(|h| h.kind == GroupKind::Domain)))
    };
    let jobs: Vec<(usize, usize)> = (0..groups.len())
        .flat_map(|g| (0..series.len()).map(move |s| (g, s)))
        .collect();
    let results: Vec<(Row, Option<DomainStat>)> = jobs
        .par_iter()
        .map(|&(g, s)| {
            let (row, reps) = score(task, &groups[g], &series[s], boot);
            let stat = ood_group(&groups[g]).then(|| DomainStat {
                task: task.name.clone(),
                domain: groups[g].domain.clone().unwrap_or_default(),
                model: row.model.clone(),
                pooling: row.pooling,
                layer: row.layer,
                n: row.n,
                spearman: row.spearman,
                replicates: reps,
            });
            (row, stat)
        })
        .collect();
    let stats = results.iter().filter_map(|(_, s)| s.clone()).collect();
    (results.into_iter().map(|(r, _)| r).collect(), stats)
}

fn scaled(x: Option<f64>) -> Option<f64> {
    x.map(|v| v * 100.0)
}

/// Spearman ×100 of the bootstrap replicates and their percentile CI. The seed
/// depends on the task and group only, so all series share the resamples.
fn replicates(
    task: &Task,
    group: &Group,
    x: &[f64],
    y: &[f64],
    boot: BootstrapOptions,
) -> (Vec<Option<f64>>, Option<[f64; 2]>) {
    let key = format!(
        "{}/{}/{}",
        task.name,
        group.kind.name(),
        group.name.as_deref().unwrap_or("")
    );
    let seed = xxh64(key.as_bytes(), boot.seed);
    let reps: Vec<Option<f64>> = bootstrap_spearman(x, y, boot.replicates, seed)
        .into_iter()
        .map(scaled)
        .collect();
    let ci = (boot.replicates > 0)
        .then(|| percentile_ci(&reps, boot.confidence))
        .flatten();
    (reps, ci)
}

/// Scores one series on one group; returns the row and the Spearman replicates (×100).
fn score(
    task: &Task,
    group: &Group,
    series: &Series,
    boot: BootstrapOptions,
) -> (Row, Vec<Option<f64>>) {
    let x: Vec<f64> = group.idx.iter().map(|&i| series.sims[i as usize]).collect();
    let y: Vec<f64> = group
        .idx
        .iter()
        .map(|&i| task.pairs[i as usize].gold)
        .collect();
    let (reps, ci) = replicates(task, group, &x, &y, boot);
    let labels: Vec<bool> = y.iter().map(|&v| v == 1.0).collect();
    let binary = |f: fn(&[f64], &[bool]) -> Option<Thresholded>| {
        task.binary
            .then(|| f(&x, &labels))
            .flatten()
            .map(|t| Thresholded {
                value: t.value * 100.0,
                ..t
            })
    };
    let row = Row {
        model: series.model.clone(),
        task: task.name.clone(),
        group: group.kind,
        subset: (group.kind == GroupKind::Subset)
            .then(|| group.name.clone())
            .flatten(),
        domain: group.domain.clone(),
        layer: series.layer,
        pooling: series.pooling,
        n: x.len(),
        undefined_pairs: group
            .idx
            .iter()
            .filter(|&&i| series.undefined[i as usize])
            .count(),
        spearman: scaled(spearman(&x, &y)),
        spearman_ci: ci,
        pearson: scaled(pearson(&x, &y)),
        roc_auc: task.binary.then(|| scaled(roc_auc(&x, &labels))).flatten(),
        best_accuracy: binary(best_accuracy),
        best_f1: binary(best_f1),
        anisotropy: (group.kind == GroupKind::All)
            .then_some(series.anisotropy)
            .flatten(),
    };
    (row, reps)
}
