//! Comparing models (runs with two or more): each model's per-layer curve on a common
//! relative-depth axis, and the research question's test: does an RWKV model lose less
//! of its reference-domain (news) score out of distribution than an attention model?
//! Method and its reasons: docs/study.md, "Comparing models".
//!
//! - Layer rule: each model × pooling is read at its best layer on the reference domain
//!   (ties: the lower layer), chosen once and kept for every domain.
//! - Degradation on domain d: deg(d) = ρ(reference) − ρ(d) at that layer (domain scores
//!   of the OOD view, ×100).
//! - Difference of degradations of an RWKV model R and an attention model A:
//!   D(d) = deg_R(d) − deg_A(d), < 0 when RWKV degrades less; D̄ = its mean over the
//!   non-reference domains (each domain weighted equally).
//! - Paired bootstrap: replicate r of every series resamples the same pairs of each
//!   task × domain group (its seed depends on the group only, `evaluate`), so D's
//!   replicate r is D computed on one shared resample; the CI is their percentile interval.

use super::bootstrap::{minus, percentile_ci};
use super::evaluate::{GroupKind, Row};
use super::ood::OodReport;
use super::report::ModelInfo;
use crate::embed::Pooling;
use crate::kit::{distinct, find_or_push};
use crate::model::Architecture;

/// Which side of the research question a model is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Rwkv,
    Attention,
}

impl Family {
    pub fn of(arch: Architecture) -> Family {
        if arch.is_rwkv() {
            Family::Rwkv
        } else {
            Family::Attention
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Family::Rwkv => "RWKV",
            Family::Attention => "attention",
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ComparedModel {
    pub label: String,
    pub family: Family,
    /// Blocks L: layer l sits at relative depth l / L (0 = embeddings).
    pub n_layer: usize,
    /// The checkpoint's `rwkv_lens_model` metadata when its weights were never trained.
    pub untrained: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CurvePoint {
    pub layer: usize,
    pub depth: f64,
    pub spearman: Option<f64>,
    pub spearman_ci: Option<[f64; 2]>,
}

/// Spearman ×100 by layer of one model × pooling on one task (its `all` rows).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Curve {
    pub task: String,
    pub model: String,
    pub pooling: Option<Pooling>,
    pub points: Vec<CurvePoint>,
}

/// One model × pooling on one domain, at its chosen layer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Degradation {
    pub model: String,
    pub pooling: Option<Pooling>,
    pub layer: usize,
    pub domain: String,
    pub spearman: Option<f64>,
    /// ρ(reference) − ρ(domain); `None` on the reference itself.
    pub degradation: Option<f64>,
    pub ci: Option<[f64; 2]>,
    #[serde(skip)]
    replicates: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    RwkvDegradesLess,
    RwkvDegradesMore,
    Indistinguishable,
    /// No interval (bootstrap off, or undefined scores).
    Unknown,
}

impl Verdict {
    fn of(ci: Option<[f64; 2]>) -> Verdict {
        match ci {
            Some([_, hi]) if hi < 0.0 => Verdict::RwkvDegradesLess,
            Some([lo, _]) if lo > 0.0 => Verdict::RwkvDegradesMore,
            Some(_) => Verdict::Indistinguishable,
            None => Verdict::Unknown,
        }
    }
    pub fn text(self, confidence: f64) -> String {
        let level = confidence * 100.0;
        match self {
            Verdict::RwkvDegradesLess => format!("RWKV degrades less ({level:.0}%)"),
            Verdict::RwkvDegradesMore => format!("RWKV degrades more ({level:.0}%)"),
            Verdict::Indistinguishable => format!("indistinguishable at {level:.0}%"),
            Verdict::Unknown => "no interval".into(),
        }
    }
}

/// D = deg(RWKV) − deg(attention) on one domain, or (`domain` None) its mean over the
/// non-reference domains.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Difference {
    pub rwkv: String,
    pub attention: String,
    pub pooling: Option<Pooling>,
    pub domain: Option<String>,
    pub rwkv_degradation: Option<f64>,
    pub attention_degradation: Option<f64>,
    pub difference: Option<f64>,
    pub ci: Option<[f64; 2]>,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Comparison {
    pub models: Vec<ComparedModel>,
    pub curves: Vec<Curve>,
    pub layer_rule: &'static str,
    pub degradations: Vec<Degradation>,
    pub differences: Vec<Difference>,
    /// The answer to the research question for these models, and its caveats.
    pub answer: Vec<String>,
}

pub const LAYER_RULE: &str =
    "each model × pooling at its best layer on the reference domain (ties: the lower layer)";

/// The comparison of a run with two or more models; `None` otherwise.
pub fn build(
    infos: &[ModelInfo],
    rows: &[Row],
    ood: Option<&OodReport>,
    confidence: f64,
) -> Option<Comparison> {
    if infos.len() < 2 {
        return None;
    }
    let models: Vec<ComparedModel> = (infos.iter())
        .map(|m| ComparedModel {
            label: m.label.clone(),
            family: Family::of(m.config.arch),
            n_layer: m.config.n_layer,
            untrained: m.untrained.clone(),
        })
        .collect();
    let degradations = ood.map_or(Vec::new(), |o| degradations(o, confidence));
    let differences = ood.map_or(Vec::new(), |o| {
        differences(&models, &degradations, o, confidence)
    });
    let answer = answer(&models, &differences, ood, confidence);
    Some(Comparison {
        curves: curves(&models, rows),
        models,
        layer_rule: LAYER_RULE,
        degradations,
        differences,
        answer,
    })
}

fn curves(models: &[ComparedModel], rows: &[Row]) -> Vec<Curve> {
    let mut out: Vec<Curve> = Vec::new();
    for r in rows.iter().filter(|r| r.group == GroupKind::All) {
        let Some(layer) = r.layer else { continue };
        let Some(m) = models.iter().find(|m| m.label == r.model) else {
            continue;
        };
        let same = |c: &Curve| c.task == r.task && c.model == r.model && c.pooling == r.pooling;
        let new = || Curve {
            task: r.task.clone(),
            model: r.model.clone(),
            pooling: r.pooling,
            points: Vec::new(),
        };
        find_or_push(&mut out, same, new).points.push(CurvePoint {
            layer,
            depth: crate::embed::relative_depth(layer, m.n_layer),
            spearman: r.spearman,
            spearman_ci: r.spearman_ci,
        });
    }
    out
}

/// Every model × pooling on every domain at its best layer on the reference domain.
fn degradations(ood: &OodReport, confidence: f64) -> Vec<Degradation> {
    let mut out = Vec::new();
    let chosen = ood.best_layers.iter().filter(|b| b.domain == ood.reference);
    for b in chosen {
        let at = |d: &str| {
            (ood.cells.iter()).find(|c| {
                c.model == b.model
                    && c.pooling == b.pooling
                    && c.layer == Some(b.layer)
                    && c.domain == d
            })
        };
        let Some(reference) = at(&ood.reference) else {
            continue;
        };
        for d in &ood.domains {
            let Some(cell) = at(d) else { continue };
            let is_ref = *d == ood.reference;
            let replicates = minus(&reference.replicates, &cell.replicates);
            out.push(Degradation {
                model: b.model.clone(),
                pooling: b.pooling,
                layer: b.layer,
                domain: d.clone(),
                spearman: cell.spearman,
                degradation: (reference.spearman.zip(cell.spearman))
                    .filter(|_| !is_ref)
                    .map(|(a, b)| a - b),
                ci: percentile_ci(&replicates, confidence).filter(|_| !is_ref),
                replicates,
            });
        }
    }
    out
}

/// D(d) for every RWKV × attention × pooling × domain, then D̄ over the domains.
fn differences(
    models: &[ComparedModel],
    degs: &[Degradation],
    ood: &OodReport,
    confidence: f64,
) -> Vec<Difference> {
    let of = |f: Family| models.iter().filter(move |m| m.family == f);
    let mut out = Vec::new();
    for (r, a) in of(Family::Rwkv).flat_map(|r| of(Family::Attention).map(move |a| (r, a))) {
        let mine = degs.iter().filter(|d| d.model == r.label);
        for pooling in distinct(mine.map(|d| d.pooling)) {
            let find = |m: &str, d: &str| {
                (degs.iter()).find(|x| x.model == m && x.pooling == pooling && x.domain == d)
            };
            let difference = |domain: Option<String>, dr, da, reps: &[Option<f64>]| {
                let ci = percentile_ci(reps, confidence);
                Difference {
                    rwkv: r.label.clone(),
                    attention: a.label.clone(),
                    pooling,
                    domain,
                    rwkv_degradation: dr,
                    attention_degradation: da,
                    difference: dr.zip(da).map(|(x, y)| x - y),
                    ci,
                    verdict: Verdict::of(ci),
                }
            };
            // (deg R, deg A, replicates of D) per non-reference domain
            let mut each: Vec<[Option<f64>; 2]> = Vec::new();
            let mut reps: Vec<Vec<Option<f64>>> = Vec::new();
            for d in ood.domains.iter().filter(|d| **d != ood.reference) {
                let (Some(dr), Some(da)) = (find(&r.label, d), find(&a.label, d)) else {
                    continue;
                };
                reps.push(minus(&dr.replicates, &da.replicates));
                each.push([dr.degradation, da.degradation]);
                let (x, y) = (dr.degradation, da.degradation);
                out.push(difference(Some(d.clone()), x, y, reps.last().unwrap()));
            }
            if each.is_empty() {
                continue;
            }
            let mean = |v: &mut dyn Iterator<Item = Option<f64>>| {
                v.sum::<Option<f64>>().map(|s| s / each.len() as f64)
            };
            let n_reps = reps.iter().map(Vec::len).min().unwrap_or(0);
            let mean_reps: Vec<Option<f64>> = (0..n_reps)
                .map(|i| mean(&mut reps.iter().map(|x| x[i])))
                .collect();
            let dr = mean(&mut each.iter().map(|x| x[0]));
            let da = mean(&mut each.iter().map(|x| x[1]));
            out.push(difference(None, dr, da, &mean_reps));
        }
    }
    out
}

fn signed(x: Option<f64>) -> String {
    x.map_or("—".into(), |v| format!("{v:+.1}"))
}

/// The answer for the models given, one sentence per RWKV × attention × pooling, and
/// the caveats.
fn answer(
    models: &[ComparedModel],
    diffs: &[Difference],
    ood: Option<&OodReport>,
    confidence: f64,
) -> Vec<String> {
    let level = confidence * 100.0;
    let has = |f: Family| models.iter().any(|m| m.family == f);
    let mut out = Vec::new();
    if !has(Family::Rwkv) || !has(Family::Attention) {
        out.push("the research question needs at least one RWKV and one attention model; these models are all one family".into());
    } else if ood.is_none() {
        out.push("no out-of-distribution view (the tasks cover fewer than two domains): run with `--preset ood`".into());
    }
    for m in diffs.iter().filter(|d| d.domain.is_none()) {
        let same = |d: &&Difference| {
            d.domain.is_some()
                && d.rwkv == m.rwkv
                && d.attention == m.attention
                && d.pooling == m.pooling
        };
        let count = |v: Verdict| diffs.iter().filter(same).filter(|d| d.verdict == v).count();
        out.push(format!(
            "{} vs {} ({} pooling), mean over the non-reference domains: degradation {} {}, {} {}; D = {} {} ({level:.0}% paired bootstrap CI): {}. Per domain: RWKV degrades less in {}, more in {}, indistinguishable in {}.",
            m.rwkv,
            m.attention,
            m.pooling.map_or("—", Pooling::name),
            m.rwkv,
            signed(m.rwkv_degradation),
            m.attention,
            signed(m.attention_degradation),
            signed(m.difference),
            m.ci.map_or("[—]".into(), |[a, b]| format!("[{a:+.1}, {b:+.1}]")),
            m.verdict.text(confidence),
            count(Verdict::RwkvDegradesLess),
            count(Verdict::RwkvDegradesMore),
            count(Verdict::Indistinguishable),
        ));
    }
    for m in models {
        if let Some(what) = &m.untrained {
            out.push(format!(
                "caveat: {} ({}) is not a trained model (checkpoint metadata `{}`: {what}); its numbers say nothing about trained {} models",
                m.label,
                m.family.name(),
                crate::model::random::UNTRAINED_KEY,
                m.family.name()
            ));
        }
    }
    out
}
