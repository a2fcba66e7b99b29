//! Section 3, the Compare results: the chart of cosine similarity per layer ([`chart`]),
//! each model's table of numbers ([`table`]) and the section that shows them ([`show`]).

pub mod chart;
pub mod table;

#[cfg(target_arch = "wasm32")]
mod results;
#[cfg(target_arch = "wasm32")]
pub use results::{init, show};
