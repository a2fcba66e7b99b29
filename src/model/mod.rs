//! Checkpoint formats, config from shapes, one canonical set of weights.
//! Knows nothing of devices or experiments.

pub mod checkpoint;
pub mod config;
pub mod header;
pub mod layout;
#[cfg(feature = "native")]
pub mod load;
pub mod pickle;
pub mod precision;
pub mod pth;
pub mod quant;
pub mod random;
#[cfg(feature = "native")]
pub mod resolve;
pub mod source;
pub mod storage;
pub mod tensor;
pub mod zip;

pub use checkpoint::Checkpoint;
pub use config::{Architecture, Config};
pub use layout::Layout;
pub use precision::Precision;
pub use quant::QuantFormat;
pub use source::TensorSource;
pub use storage::{Bytes, Shared};
pub use tensor::{DType, Tensor};
