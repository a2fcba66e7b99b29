//! Small tools every room uses: Markdown tables (study and bench reports), the SVG
//! palette and escaping (study plots and the page's chart), the host's memory counters,
//! progress on stderr, and three helpers below (a flag struct's defaults, first-seen
//! maps and distinct items over `Vec`s).

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
