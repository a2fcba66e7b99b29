//! Small tools every room uses: Markdown tables (study and bench reports), the SVG
//! palette and escaping (study plots and the page's chart), the host's memory counters
//! and progress on stderr.

pub mod markdown;
pub mod memory;
#[cfg(feature = "native")]
pub mod progress;
pub mod svg;
