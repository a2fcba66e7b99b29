//! The attention models beside the RWKV, in the page (issue #15): the picker's "Add" row
//! and section 5, "Attention vs recurrence". [`view`] draws (SVG and HTML strings, tested
//! natively); [`panel`] sends the requests and puts the pictures in the page.

pub mod view;

#[cfg(target_arch = "wasm32")]
pub mod panel;
#[cfg(target_arch = "wasm32")]
pub use panel::{add, rwkv_loaded, show_view};
