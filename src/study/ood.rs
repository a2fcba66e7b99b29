//! The out-of-distribution view: for each model × pooling × layer, a score per text
//! domain pooled over tasks, its drop from the reference domain (news by default)
//! with a bootstrap CI, and the best layer per domain.
//!
//! Scores of different tasks live on different gold scales, so a domain's score is
//! the pair-weighted mean of its per-task Spearman ×100 (as SentEval's "wmean"), not
//! one correlation over mixed pairs: score(d) = Σ_t n_t·ρ_t / Σ_t n_t. Replicate r
//! of score(d) combines replicate r of every task-domain group (independent
//! resamples), and Δ(d) = score(d) − score(ref) replicate by replicate; the CI is
//! the percentile interval of those replicates.

use std::collections::BTreeMap;

use super::bootstrap::{minus, percentile_ci};
use super::evaluate::DomainStat;
use crate::data::domains::order_key;
use crate::embed::Pooling;
use crate::kit::find_or_push;

/// One domain score of one series.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OodCell {
    pub model: String,
    pub pooling: Option<Pooling>,
    pub layer: Option<usize>,
    pub domain: String,
    pub n: usize,
    pub tasks: Vec<String>,
    pub spearman: Option<f64>,
    pub spearman_ci: Option<[f64; 2]>,
    /// spearman(domain) − spearman(reference); `None` for the reference itself.
    pub delta: Option<f64>,
    pub delta_ci: Option<[f64; 2]>,
    /// Bootstrap replicates of `spearman` (replicate r of every model draws the same
    /// pairs: the model comparison pairs them).
    #[serde(skip)]
    pub replicates: Vec<Option<f64>>,
}

/// The best layer of a model × pooling on a domain.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BestLayer {
    pub model: String,
    pub pooling: Option<Pooling>,
    pub domain: String,
    pub layer: usize,
    pub spearman: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct OodReport {
    pub reference: String,
    /// Domains in display order.
    pub domains: Vec<String>,
    pub cells: Vec<OodCell>,
    pub best_layers: Vec<BestLayer>,
}

type SeriesKey = (String, Option<Pooling>, Option<usize>);

/// A column of a domain table: its layer (`None`: the baseline) and a cell per domain.
pub type Column<'a> = (Option<usize>, Vec<Option<&'a OodCell>>);

impl OodReport {
    /// The table of one model × pooling: a column per layer (ascending), then the
    /// baseline's, each with the cell of every domain in display order.
    pub fn columns(&self, model: &str, pooling: Option<Pooling>) -> Vec<Column<'_>> {
        let mine = |c: &OodCell| c.model == model && c.pooling == pooling && c.layer.is_some();
        let mut layers: Vec<usize> = self
            .cells
            .iter()
            .filter(|c| mine(c))
            .filter_map(|c| c.layer)
            .collect();
        layers.sort();
        layers.dedup();
        let column = |keep: &dyn Fn(&OodCell) -> bool| -> Vec<Option<&OodCell>> {
            let cell = |d: &String| self.cells.iter().find(|c| keep(c) && c.domain == *d);
            self.domains.iter().map(cell).collect()
        };
        let mut cols: Vec<Column> = (layers.iter())
            .map(|&l| (Some(l), column(&|c| mine(c) && c.layer == Some(l))))
            .collect();
        if self.cells.iter().any(|c| c.layer.is_none()) {
            cols.push((None, column(&|c| c.layer.is_none())));
        }
        cols
    }
}

/// A column's title: `L{layer}`, or the baseline's name (its cells' model).
pub fn column_title((layer, cells): &Column) -> String {
    match layer {
        Some(l) => format!("L{l}"),
        None => (cells.iter().flatten().next()).map_or(String::new(), |c| c.model.clone()),
    }
}

/// Weighted mean over groups of a statistic; `None` if any group lacks it.
fn weighted(stats: &[&DomainStat], value: impl Fn(&DomainStat) -> Option<f64>) -> Option<f64> {
    let n: usize = stats.iter().map(|s| s.n).sum();
    let mut sum = 0.0;
    for s in stats {
        sum += value(s)? * s.n as f64;
    }
    Some(sum / n as f64)
}

fn replicates(stats: &[&DomainStat]) -> Vec<Option<f64>> {
    let reps = stats.iter().map(|s| s.replicates.len()).min().unwrap_or(0);
    (0..reps)
        .map(|r| weighted(stats, |s| s.replicates[r]))
        .collect()
}

/// Stats of each series (in order of first appearance), grouped by domain.
fn group_by_series(stats: &[DomainStat]) -> Vec<(SeriesKey, BTreeMap<String, Vec<&DomainStat>>)> {
    let mut by_series: Vec<(SeriesKey, BTreeMap<String, Vec<&DomainStat>>)> = Vec::new();
    for s in stats {
        let key = (s.model.clone(), s.pooling, s.layer);
        let (_, per_domain) = find_or_push(
            &mut by_series,
            |(k, _)| *k == key,
            || (key.clone(), BTreeMap::new()),
        );
        per_domain.entry(s.domain.clone()).or_default().push(s);
    }
    by_series
}

/// Score and drop of one series on one domain; `reference` holds the reference
/// domain's score and replicates (`None` when this is the reference or it is absent).
fn cell(
    key: &SeriesKey,
    domain: &str,
    group: &[&DomainStat],
    reference: Option<(Option<f64>, &[Option<f64>])>,
    confidence: f64,
) -> OodCell {
    let reps = replicates(group);
    let score = weighted(group, |s| s.spearman);
    let delta_reps = reference.map(|(_, rr)| minus(&reps, rr));
    OodCell {
        model: key.0.clone(),
        pooling: key.1,
        layer: key.2,
        domain: domain.to_string(),
        n: group.iter().map(|s| s.n).sum(),
        tasks: group.iter().map(|s| s.task.clone()).collect(),
        spearman: score,
        spearman_ci: percentile_ci(&reps, confidence),
        delta: reference.and_then(|(r, _)| Some(score? - r?)),
        delta_ci: delta_reps.and_then(|r| percentile_ci(&r, confidence)),
        replicates: reps,
    }
}

/// Builds the view; `None` when the study covers fewer than two domains.
pub fn build(stats: &[DomainStat], reference: &str, confidence: f64) -> Option<OodReport> {
    let mut domains: Vec<String> = stats.iter().map(|s| s.domain.clone()).collect();
    domains.sort_by_key(|d| order_key(d));
    domains.dedup();
    if domains.len() < 2 {
        return None;
    }
    let mut cells = Vec::new();
    for (key, per_domain) in &group_by_series(stats) {
        let ref_group = per_domain.get(reference);
        let ref_reps = ref_group.map(|g| replicates(g));
        let ref_score = ref_group.and_then(|g| weighted(g, |s| s.spearman));
        for d in &domains {
            let Some(group) = per_domain.get(d) else {
                continue;
            };
            let against = ref_reps
                .as_deref()
                .filter(|_| d != reference)
                .map(|r| (ref_score, r));
            cells.push(cell(key, d, group, against, confidence));
        }
    }
    let best_layers = best_layers(&cells, &domains);
    Some(OodReport {
        reference: reference.to_string(),
        domains,
        cells,
        best_layers,
    })
}

/// Highest-scoring layer per model × pooling × domain (ties: the lower layer).
fn best_layers(cells: &[OodCell], domains: &[String]) -> Vec<BestLayer> {
    let mut best: Vec<BestLayer> = Vec::new();
    for c in cells {
        let (Some(layer), Some(score)) = (c.layer, c.spearman) else {
            continue;
        };
        let same =
            |b: &BestLayer| b.model == c.model && b.pooling == c.pooling && b.domain == c.domain;
        match best.iter_mut().find(|b| same(b)) {
            Some(b) if score > b.spearman => (b.layer, b.spearman) = (layer, score),
            Some(_) => {}
            None => best.push(BestLayer {
                model: c.model.clone(),
                pooling: c.pooling,
                domain: c.domain.clone(),
                layer,
                spearman: score,
            }),
        }
    }
    let rank = |d: &str| domains.iter().position(|x| x == d);
    best.sort_by_key(|b| rank(&b.domain)); // stable: series order kept within a domain
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(
        task: &str,
        domain: &str,
        layer: usize,
        n: usize,
        rho: f64,
        reps: &[f64],
    ) -> DomainStat {
        DomainStat {
            task: task.into(),
            domain: domain.into(),
            model: "m".into(),
            pooling: Some(Pooling::Mean),
            layer: Some(layer),
            n,
            spearman: Some(rho),
            replicates: reps.iter().map(|&r| Some(r)).collect(),
        }
    }

    #[test]
    fn weighted_scores_deltas_and_best_layer() {
        let stats = [
            stat("a", "news", 1, 100, 60.0, &[58.0, 62.0]),
            stat("b", "news", 1, 300, 40.0, &[38.0, 42.0]),
            stat("b", "captions", 1, 200, 30.0, &[20.0, 40.0]),
            stat("a", "news", 2, 100, 50.0, &[50.0, 50.0]),
            stat("b", "news", 2, 300, 50.0, &[50.0, 50.0]),
            stat("b", "captions", 2, 200, 35.0, &[35.0, 35.0]),
        ];
        let r = build(&stats, "news", 0.95).unwrap();
        assert_eq!(r.domains, ["news", "captions"]);
        let cell = |d: &str, l: usize| {
            r.cells
                .iter()
                .find(|c| c.domain == d && c.layer == Some(l))
                .unwrap()
        };
        // news, layer 1: (100·60 + 300·40) / 400 = 45 ; replicates 43 and 47.
        assert_eq!(cell("news", 1).spearman, Some(45.0));
        assert_eq!(cell("news", 1).delta, None);
        // captions − news = 30 − 45 = −15 ; replicates 20−43 = −23 and 40−47 = −7.
        assert_eq!(cell("captions", 1).delta, Some(-15.0));
        let ci = cell("captions", 1).delta_ci.unwrap();
        assert!(
            (ci[0] - (-23.0 + 16.0 * 0.025)).abs() < 1e-9
                && (ci[1] - (-23.0 + 16.0 * 0.975)).abs() < 1e-9
        );
        let best: Vec<_> = r
            .best_layers
            .iter()
            .map(|b| (b.domain.as_str(), b.layer))
            .collect();
        assert_eq!(best, [("news", 2), ("captions", 2)]);
    }
}
