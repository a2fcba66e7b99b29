//! The scores of the study, written to match scipy / scikit-learn exactly:
//!
//! - `average_ranks`: ranks 1..n, tied values share the mean of their ranks
//!   (`scipy.stats.rankdata(method="average")`).
//! - `pearson`: r = Σ(x-x̄)(y-ȳ) / sqrt(Σ(x-x̄)² Σ(y-ȳ)²) (`weighted_pearson` with unit weights).
//! - `spearman`: Pearson of the average ranks (`scipy.stats.spearmanr`).
//! - `roc_auc`: P(score⁺ > score⁻) + ½·P(score⁺ = score⁻), which is what
//!   `sklearn.metrics.roc_auc_score` integrates (trapezoids over distinct thresholds).
//! - `best_accuracy` / `best_f1`: predict "positive" when score ≥ t and choose the t
//!   (a distinct score, or +∞ = "all negative") that maximises the metric; among equal
//!   maxima the highest t wins. This is an oracle threshold chosen on the evaluation
//!   data itself, so it is optimistic: compare it only with itself.
//!
//! Undefined statistics (constant input, one class only) are `None`, never NaN.

use super::bootstrap::RankPlan;

/// Indices that sort `x` ascending (stable; NaN-free input expected).
pub fn argsort(x: &[f64]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..x.len() as u32).collect();
    order.sort_by(|&a, &b| x[a as usize].total_cmp(&x[b as usize]));
    order
}

/// 1-based ranks with ties averaged: the bootstrap's ranks with every point drawn once.
pub fn average_ranks(x: &[f64]) -> Vec<f64> {
    let mut ranks = Vec::new();
    RankPlan::new(x).ranks(&vec![1; x.len()], &mut ranks);
    ranks
}

/// Pearson correlation; `None` for fewer than 2 points or a constant input.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    (y.len() == x.len())
        .then(|| weighted_pearson(x, y, &vec![1; x.len()]))
        .flatten()
}

/// Count-weighted Pearson correlation (point i counted `w[i]` times, as in a bootstrap
/// resample); `None` for fewer than 2 points or when either side is constant.
pub fn weighted_pearson(x: &[f64], y: &[f64], w: &[u32]) -> Option<f64> {
    let total: f64 = w.iter().map(|&c| c as f64).sum();
    if total < 2.0 {
        return None;
    }
    let (mut mx, mut my) = (0.0, 0.0);
    for ((&a, &b), &c) in x.iter().zip(y).zip(w) {
        mx += c as f64 * a;
        my += c as f64 * b;
    }
    mx /= total;
    my /= total;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for ((&a, &b), &c) in x.iter().zip(y).zip(w) {
        if c == 0 {
            continue;
        }
        let (dx, dy, c) = (a - mx, b - my, c as f64);
        sxy += c * dx * dy;
        sxx += c * dx * dx;
        syy += c * dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        return None;
    }
    Some((sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0))
}

/// Spearman rank correlation (Pearson of average ranks).
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    pearson(&average_ranks(x), &average_ranks(y))
}

/// Area under the ROC curve with ties counted one half; `None` unless both classes occur.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let ranks = average_ranks(scores);
    let n_pos = labels.iter().filter(|&&l| l).count();
    let n_neg = labels.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    // Mann–Whitney: U = Σ rank(positives) − n⁺(n⁺+1)/2 ; AUC = U / (n⁺ n⁻).
    let rank_sum: f64 = ranks
        .iter()
        .zip(labels)
        .filter(|(_, &l)| l)
        .map(|(r, _)| r)
        .sum();
    let u = rank_sum - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos as f64 * n_neg as f64))
}

/// A metric maximised over decision thresholds.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Thresholded {
    pub value: f64,
    /// Predict positive when score ≥ threshold; `None` means +∞ (all negative).
    pub threshold: Option<f64>,
}

/// Confusion counts after admitting every score ≥ t, for t sweeping the distinct
/// scores from high to low (the first entry is t = +∞: nothing admitted).
fn threshold_sweep(scores: &[f64], labels: &[bool]) -> Vec<(Option<f64>, usize, usize)> {
    let mut order = argsort(scores);
    order.reverse();
    let mut out = vec![(None, 0, 0)]; // (threshold, true positives, false positives)
    let (mut tp, mut fp) = (0, 0);
    let mut i = 0;
    while i < order.len() {
        let t = scores[order[i] as usize];
        while i < order.len() && scores[order[i] as usize] == t {
            if labels[order[i] as usize] {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        out.push((Some(t), tp, fp));
    }
    out
}

fn best_by(
    scores: &[f64],
    labels: &[bool],
    metric: impl Fn(usize, usize, usize, usize) -> f64,
) -> Option<Thresholded> {
    if scores.is_empty() || scores.len() != labels.len() {
        return None;
    }
    let n_pos = labels.iter().filter(|&&l| l).count();
    let n_neg = labels.len() - n_pos;
    let mut best: Option<Thresholded> = None;
    for (threshold, tp, fp) in threshold_sweep(scores, labels) {
        let value = metric(tp, fp, n_pos - tp, n_neg - fp);
        if best.is_none_or(|b| value > b.value) {
            best = Some(Thresholded { value, threshold });
        }
    }
    best
}

/// Best accuracy (tp + tn) / n over thresholds.
pub fn best_accuracy(scores: &[f64], labels: &[bool]) -> Option<Thresholded> {
    best_by(scores, labels, |tp, fp, fn_, tn| {
        (tp + tn) as f64 / (tp + fp + fn_ + tn) as f64
    })
}

/// Best F1 = 2tp / (2tp + fp + fn) over thresholds (0 when tp = 0).
pub fn best_f1(scores: &[f64], labels: &[bool]) -> Option<Thresholded> {
    best_by(scores, labels, |tp, fp, fn_, _| {
        if tp == 0 {
            0.0
        } else {
            2.0 * tp as f64 / (2 * tp + fp + fn_) as f64
        }
    })
}

/// numpy's default (`method="linear"`) percentile of ascending `sorted`, q in 0..=100.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let frac = pos - lo as f64;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_average_ties_by_hand() {
        // values 10,20,20,5 → sorted 5(1) 10(2) 20(3,4 → 3.5)
        assert_eq!(
            average_ranks(&[10.0, 20.0, 20.0, 5.0]),
            [2.0, 3.5, 3.5, 1.0]
        );
    }

    #[test]
    fn spearman_by_hand() {
        // ranks x = 1,2,3,4 ; y = 1,3,2,4 → d² = 0,1,1,0 → 1 − 6·2/(4·15) = 0.8
        let r = spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 30.0, 20.0, 40.0]).unwrap();
        assert!((r - 0.8).abs() < 1e-12);
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
    }

    #[test]
    fn auc_by_hand() {
        // positives 0.9, 0.5 ; negatives 0.5, 0.1 → pairs: (0.9>0.5) (0.9>0.1) (0.5=0.5 → ½) (0.5>0.1)
        let auc = roc_auc(&[0.9, 0.5, 0.5, 0.1], &[true, true, false, false]).unwrap();
        assert!((auc - 3.5 / 4.0).abs() < 1e-12);
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn thresholds_by_hand() {
        let s = [0.9, 0.8, 0.3, 0.2];
        let l = [true, false, true, false];
        // t=0.9: tp1 tn2 → acc 0.75 (first maximum, highest t)
        let acc = best_accuracy(&s, &l).unwrap();
        assert_eq!((acc.value, acc.threshold), (0.75, Some(0.9)));
        // t=0.3: tp2 fp1 fn0 → F1 = 4/5
        let f1 = best_f1(&s, &l).unwrap();
        assert_eq!((f1.value, f1.threshold), (0.8, Some(0.3)));
    }

    #[test]
    fn numpy_percentile_by_hand() {
        let s = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&s, 50.0), Some(3.0));
        assert_eq!(percentile(&s, 2.5), Some(1.1)); // pos 0.1
        assert_eq!(percentile(&s, 97.5), Some(4.9));
    }
}
