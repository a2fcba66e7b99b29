//! Small tools every room uses: Markdown tables (study and bench reports), the SVG
//! palette and escaping (study plots and the page's chart), the host's memory counters,
//! progress on stderr, and five helpers below (a flag struct's defaults, first-seen
//! maps and distinct items over `Vec`s, the transpose of stacked matrices, the median).

pub mod hash;
pub mod markdown;
pub mod memory;
#[cfg(feature = "native")]
pub mod progress;
pub mod svg;

/// The defaults of a `clap::Args` struct: what the bare command parses to (so they are
/// declared once, in its `#[arg]` attributes).
#[cfg(feature = "native")]
pub fn clap_defaults<T: clap::Args + clap::FromArgMatches>() -> T {
    let cmd = T::augment_args(clap::Command::new("defaults"));
    T::from_arg_matches(&cmd.get_matches_from(["defaults"])).expect("the bare command parses")
}

/// The item of `items` that `is` picks, first pushed by `new` when there is none: a map
/// kept in first-seen order in a `Vec`.
pub fn find_or_push<T>(
    items: &mut Vec<T>,
    is: impl Fn(&T) -> bool,
    new: impl FnOnce() -> T,
) -> &mut T {
    let i = items.iter().position(is).unwrap_or_else(|| {
        items.push(new());
        items.len() - 1
    });
    &mut items[i]
}

/// Swaps the last two axes of a row-major `[..][rows][cols]` array: each `rows × cols`
/// block becomes `cols × rows`.
pub fn transpose<T: Copy>(data: &[T], rows: usize, cols: usize) -> Vec<T> {
    let mut out = data.to_vec();
    let blocks = data
        .chunks_exact(rows * cols)
        .zip(out.chunks_exact_mut(rows * cols));
    for (block, dst) in blocks {
        for r in 0..rows {
            for c in 0..cols {
                dst[c * rows + r] = block[r * cols + c];
            }
        }
    }
    out
}

/// Median of the finite values of `xs` (the mean of the middle two for an even count); NaN
/// when there are none.
pub fn median(xs: &[f64]) -> f64 {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        0.5 * (v[mid - 1] + v[mid])
    }
}

/// The distinct items, in first-seen order.
pub fn distinct<T: PartialEq>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for x in items {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn transpose_swaps_the_last_two_axes() {
        // two 2×3 matrices → two 3×2 matrices
        let out = super::transpose(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 2, 3);
        assert_eq!(out, vec![1, 4, 2, 5, 3, 6, 7, 10, 8, 11, 9, 12]);
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(super::median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(super::median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(super::median(&[]).is_nan());
    }
}
