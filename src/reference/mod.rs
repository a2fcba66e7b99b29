//! The plain-Rust RWKV-6 forward pass.
