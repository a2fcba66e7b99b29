//! Section 4, the Recurrence view: one head of one block, stepped token by token (issue
//! #7). [`view`] draws (SVG and HTML strings, tested natively); [`stepper`] holds the
//! trace, steps through it and puts the pictures in the page.

pub mod view;

#[cfg(target_arch = "wasm32")]
pub mod stepper;
#[cfg(target_arch = "wasm32")]
pub use stepper::{init, model_loaded, request, show_trace};
