//! Checkpoint formats, config from shapes, one canonical set of weights.
//! Knows nothing of devices or experiments.

pub mod checkpoint;
pub mod config;
pub mod layout;
#[cfg(feature = "native")]
pub mod load;
pub mod pickle;
pub mod pth;
pub mod random;
pub mod tensor;
pub mod zip;

pub use checkpoint::Checkpoint;
pub use config::{Config, Version};
pub use layout::Layout;
pub use tensor::{DType, Tensor};
