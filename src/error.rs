//! One error type for the whole library. Every message is a single line that
//! names the file / row / tensor involved and says what was expected (the constructors
//! escape line breaks, whatever a damaged file put in a name).

use std::fmt;

/// Result alias used everywhere in the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, always with enough context to act on it in one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or has the wrong overall format.
    #[error("{path}: {msg}")]
    File { path: String, msg: String },
    /// A checkpoint tensor is missing, mis-shaped, of an unsupported dtype or non-finite.
    #[error("{path}: tensor `{tensor}`: {msg}")]
    Tensor {
        path: String,
        tensor: String,
        msg: String,
    },
    /// A data row is malformed (1-based row number).
    #[error("{path}:{row}: {msg}")]
    Row {
        path: String,
        row: usize,
        msg: String,
    },
    /// A bad argument from the caller (unknown task, layer out of range, empty text...).
    #[error("{0}")]
    Input(String),
    /// A GPU problem: no adapter, device lost, buffer above a device limit...
    #[error("GPU: {0}")]
    Gpu(String),
    /// The device ran out of memory: the caller may retry with a smaller batch.
    #[error("GPU: out of memory: {0}")]
    OutOfMemory(String),
    /// NaN or Inf produced by a forward pass.
    #[error("non-finite value: {0}")]
    NonFinite(String),
}

/// `x` as text on one line: line breaks and other control characters escaped (file
/// names, tensor names and field values from a damaged file can hold anything).
pub fn one_line(x: impl fmt::Display) -> String {
    let s = x.to_string();
    if !s.chars().any(char::is_control) {
        return s;
    }
    s.chars()
        .flat_map(|c| match c.is_control() {
            true => c.escape_default().collect::<Vec<_>>(),
            false => vec![c],
        })
        .collect()
}

impl Error {
    pub fn file(path: impl fmt::Display, msg: impl fmt::Display) -> Self {
        Error::File {
            path: one_line(path),
            msg: one_line(msg),
        }
    }
    pub fn tensor(
        path: impl fmt::Display,
        tensor: impl fmt::Display,
        msg: impl fmt::Display,
    ) -> Self {
        Error::Tensor {
            path: one_line(path),
            tensor: one_line(tensor),
            msg: one_line(msg),
        }
    }
    pub fn row(path: impl fmt::Display, row: usize, msg: impl fmt::Display) -> Self {
        Error::Row {
            path: one_line(path),
            row,
            msg: one_line(msg),
        }
    }
    pub fn input(msg: impl fmt::Display) -> Self {
        Error::Input(one_line(msg))
    }
    pub fn gpu(msg: impl fmt::Display) -> Self {
        Error::Gpu(one_line(msg))
    }
    pub fn out_of_memory(msg: impl fmt::Display) -> Self {
        Error::OutOfMemory(one_line(msg))
    }
    /// The device ran out of memory: the caller may retry with a smaller batch.
    pub fn is_out_of_memory(&self) -> bool {
        matches!(self, Error::OutOfMemory(_))
    }
    /// What a GPU error says after its `GPU: ` label (for callers that add context and
    /// re-raise it); `None` for the other kinds.
    pub fn gpu_detail(&self) -> Option<String> {
        match self {
            Error::Gpu(m) => Some(m.clone()),
            Error::OutOfMemory(m) => Some(format!("out of memory: {m}")),
            _ => None,
        }
    }
}
