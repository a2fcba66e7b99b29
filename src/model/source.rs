//! Where an engine reads its weights: one tensor at a time, by canonical name.
//!
//! A [`Checkpoint`] is one source (every tensor already in memory or memory-mapped, so
//! its futures never wait). The page's streaming reader is another: each tensor is read
//! from a `Blob` slice or an HTTP range request when the engine asks for it, converted,
//! uploaded and dropped, so wasm memory holds one tensor at a time (web/src/worker/stream.rs).
//! Both engines build from any source ([`crate::gpu::GpuEngine::new_async`],
//! [`crate::reference::Weights::from_source`]).

use std::borrow::Cow;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use super::{Checkpoint, Config, Tensor};
use crate::{Error, Result};

/// A model's tensors, read on demand. Not `Send`: the page's reader awaits JavaScript
/// promises on wasm32's single thread.
#[allow(async_fn_in_trait)]
pub trait TensorSource {
    /// File name or URL, used in every message.
    fn source(&self) -> &str;
    /// Dimensions, from the shapes alone.
    fn config(&self) -> &Config;
    /// Whether the tensor with this canonical name is there (without reading it).
    fn has(&self, name: &str) -> bool;
    /// The tensor with this canonical name, checked (shape × dtype, finite values).
    async fn tensor(&self, name: &str) -> Result<Cow<'_, Tensor>>;
    /// The tensor as f32 values (row-major).
    async fn f32(&self, name: &str) -> Result<Vec<f32>> {
        Ok(self.tensor(name).await?.to_f32())
    }
    /// Rows `rows` of the tensor's `[shape[0]][rest]` view as f32, `[rows.len()][rest]`
    /// (the embedding rows of a few tokens). This default reads the whole tensor; a
    /// streaming source reads only these rows' bytes.
    async fn f32_rows(&self, name: &str, rows: &[usize]) -> Result<Vec<f32>> {
        let t = self.tensor(name).await?;
        let mut out = Vec::with_capacity(rows.len() * t.cols());
        for &r in rows {
            let row = t
                .row(r)
                .ok_or_else(|| no_row(self.source(), name, r, &t.shape))?;
            out.extend(row.to_f32());
        }
        Ok(out)
    }
}

/// The error for a row past the end of a tensor.
pub fn no_row(source: &str, name: &str, row: usize, shape: &[usize]) -> Error {
    Error::tensor(source, name, format!("has no row {row} (shape {shape:?})"))
}

impl TensorSource for Checkpoint {
    fn source(&self) -> &str {
        &self.source
    }
    fn config(&self) -> &Config {
        &self.config
    }
    fn has(&self, name: &str) -> bool {
        self.tensors().any(|(n, _)| n == name)
    }
    async fn tensor(&self, name: &str) -> Result<Cow<'_, Tensor>> {
        self.get(name).map(Cow::Borrowed)
    }
}

/// The output of a future that never waits (built on a [`Checkpoint`], whose tensors are
/// in memory): lets the synchronous constructors share the streaming code.
pub(crate) fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => out,
        Poll::Pending => unreachable!("a Checkpoint's tensors are in memory: nothing waits"),
    }
}
