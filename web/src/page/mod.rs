//! The page (main thread): the UI only. It finds its elements once ([`dom`]), starts the
//! worker and asks it for everything through [`client`] (loading and every engine live
//! there); it imports [`crate::protocol`] and nothing of [`crate::worker`].
//!
//! Pure parts (tested natively): [`card`] (the model card and preset options as HTML),
//! [`compare::chart`] and [`compare::table`] (section 3), [`recurrence::view`] (section 4),
//! [`attention_view::view`] (section 5). Browser parts (wasm32 only): [`app`] (state,
//! buttons, startup), [`client`] (the worker: spawn, ask, cancel), [`dom`] (the typed
//! table of the page's elements), [`view`] (error, status, progress, engine line, card),
//! [`picker`] (model source, presets, tokenizer inputs, cached list), [`pairs`].

pub mod attention_view;
pub mod card;
pub mod compare;
pub mod recurrence;

#[cfg(target_arch = "wasm32")]
pub mod app;
#[cfg(target_arch = "wasm32")]
pub mod client;
#[cfg(target_arch = "wasm32")]
pub mod dom;
#[cfg(target_arch = "wasm32")]
pub mod pairs;
#[cfg(target_arch = "wasm32")]
pub mod picker;
#[cfg(target_arch = "wasm32")]
pub mod view;

#[cfg(target_arch = "wasm32")]
pub use app::start;
