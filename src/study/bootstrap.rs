//! Seeded percentile bootstrap for Spearman correlations, without copying data.
//!
//! A bootstrap replicate draws n pair indices uniformly with replacement. Instead of
//! materialising the resample we keep a count `c[i]` per original pair (how often pair
//! i was drawn). Ranks of the resample follow from the original sort order: walking the
//! tie groups of the original values in ascending order, a group holding m drawn items
//! after `before` smaller drawn items gets the average rank `before + (m + 1) / 2`.
//! Spearman of the resample is then the count-weighted Pearson of those ranks:
//! exactly `scipy.stats.spearmanr` on the materialised resample, in O(n) per replicate.
//!
//! The generator is SplitMix64 (Steele, Lea & Flood 2014, `rand_xoshiro`'s); an index
//! in 0..n is `(next() · n) >> 64` (Lemire's multiply-shift, no rejection: bias < n / 2⁶⁴).

use rand_xoshiro::rand_core::{RngCore, SeedableRng};
pub use rand_xoshiro::SplitMix64;

use super::metrics::{argsort, percentile, weighted_pearson};

/// Uniform index in `0..n`.
pub fn below(rng: &mut SplitMix64, n: usize) -> usize {
    ((rng.next_u64() as u128 * n as u128) >> 64) as usize
}

/// Seed of replicate `r` of a group seeded `seed` (each replicate its own stream, so
/// replicates can be computed in any order).
pub fn replicate_seed(seed: u64, r: usize) -> u64 {
    SplitMix64::seed_from_u64(seed ^ (r as u64).wrapping_mul(0xD1B5_4A32_D192_ED03)).next_u64()
}

/// Counts of each of the `n` indices in one replicate.
pub fn resample_counts(seed: u64, r: usize, n: usize, counts: &mut Vec<u32>) {
    counts.clear();
    counts.resize(n, 0);
    let mut rng = SplitMix64::seed_from_u64(replicate_seed(seed, r));
    for _ in 0..n {
        counts[below(&mut rng, n)] += 1;
    }
}

/// The sort order of one variable and the boundaries of its tie groups.
#[derive(Debug, Clone)]
pub struct RankPlan {
    order: Vec<u32>,
    /// `order[group_ends[g-1]..group_ends[g]]` share one value.
    group_ends: Vec<u32>,
}

impl RankPlan {
    pub fn new(x: &[f64]) -> Self {
        let order = argsort(x);
        let mut group_ends = Vec::new();
        for k in 1..=order.len() {
            if k == order.len() || x[order[k] as usize] != x[order[k - 1] as usize] {
                group_ends.push(k as u32);
            }
        }
        RankPlan { order, group_ends }
    }

    /// Average ranks (1-based) of the resample described by `counts`, written per
    /// original index (indices drawn 0 times get an unused value).
    pub fn ranks(&self, counts: &[u32], out: &mut Vec<f64>) {
        out.clear();
        out.resize(self.order.len(), 0.0);
        let (mut start, mut before) = (0usize, 0u64);
        for &end in &self.group_ends {
            let group = &self.order[start..end as usize];
            let m: u64 = group.iter().map(|&i| counts[i as usize] as u64).sum();
            let rank = before as f64 + (m as f64 + 1.0) / 2.0;
            group.iter().for_each(|&i| out[i as usize] = rank);
            before += m;
            start = end as usize;
        }
    }
}

/// Spearman of `reps` bootstrap replicates of the pairs (x[i], y[i]).
/// Replicate r uses `resample_counts(seed, r, n)`: the same seed gives every series
/// of a group the same resamples (paired comparisons between layers and models).
pub fn bootstrap_spearman(x: &[f64], y: &[f64], reps: usize, seed: u64) -> Vec<Option<f64>> {
    let (px, py) = (RankPlan::new(x), RankPlan::new(y));
    let (mut counts, mut rx, mut ry) = (Vec::new(), Vec::new(), Vec::new());
    (0..reps)
        .map(|r| {
            resample_counts(seed, r, x.len(), &mut counts);
            px.ranks(&counts, &mut rx);
            py.ranks(&counts, &mut ry);
            weighted_pearson(&rx, &ry, &counts)
        })
        .collect()
}

/// Replicate-wise a − b (undefined where either is): the replicates of a difference.
pub fn minus(a: &[Option<f64>], b: &[Option<f64>]) -> Vec<Option<f64>> {
    a.iter().zip(b).map(|(x, y)| Some((*x)? - (*y)?)).collect()
}

/// Percentile interval (numpy linear percentiles) of the defined replicate values.
/// `level` is e.g. 0.95 → the 2.5th and 97.5th percentiles.
pub fn percentile_ci(stats: &[Option<f64>], level: f64) -> Option<[f64; 2]> {
    let mut defined: Vec<f64> = stats.iter().flatten().copied().collect();
    defined.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0 * 100.0;
    Some([
        percentile(&defined, tail)?,
        percentile(&defined, 100.0 - tail)?,
    ])
}

#[cfg(test)]
mod tests {
    use super::super::metrics::spearman;
    use super::*;

    #[test]
    fn splitmix_reference_values() {
        // First outputs of SplitMix64 seeded 1234567 (the reference C code by Vigna).
        let mut g = SplitMix64::seed_from_u64(1234567);
        assert_eq!(g.next_u64(), 6457827717110365317);
        assert_eq!(g.next_u64(), 3203168211198807973);
    }

    #[test]
    fn count_ranks_equal_materialised_spearman() {
        let x = [0.3, 0.1, 0.3, 0.9, 0.5, 0.5, 0.2, 0.8];
        let y = [1.0, 0.0, 2.0, 5.0, 3.0, 3.0, 1.0, 4.0];
        let fast = bootstrap_spearman(&x, &y, 50, 99);
        let mut counts = Vec::new();
        for (r, f) in fast.iter().enumerate() {
            resample_counts(99, r, x.len(), &mut counts);
            let (mut xs, mut ys) = (Vec::new(), Vec::new());
            for (i, &c) in counts.iter().enumerate() {
                for _ in 0..c {
                    xs.push(x[i]);
                    ys.push(y[i]);
                }
            }
            let slow = spearman(&xs, &ys);
            match (f, slow) {
                (Some(a), Some(b)) => assert!((a - b).abs() < 1e-12, "replicate {r}"),
                (a, b) => assert_eq!(*a, b, "replicate {r}"),
            }
        }
    }
}
