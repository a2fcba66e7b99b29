//! The bytes behind a [`Tensor`](super::Tensor): owned, or a range of a shared buffer
//! (a memory-mapped checkpoint file natively, a file read whole in the page).
//!
//! Sharing is what makes loading stream: a checkpoint's tensors point into the mapped
//! file, so reading it costs page cache, not anonymous memory, and each consumer (the
//! GPU upload, the reference's f32 conversion) touches one tensor at a time.

use std::fmt;
use std::ops::{Deref, DerefMut, Range};
use std::sync::Arc;

/// Whatever holds a whole file's bytes: `Vec<u8>`, or natively a `memmap2::Mmap`.
pub trait Backing: AsRef<[u8]> + Send + Sync {}
impl<T: AsRef<[u8]> + Send + Sync> Backing for T {}

/// A shared buffer that many [`Bytes`] may point into.
#[derive(Clone)]
pub struct Shared(Arc<dyn Backing>);

impl Shared {
    pub fn new(backing: impl Backing + 'static) -> Shared {
        Shared(Arc::new(backing))
    }

    /// The whole buffer.
    pub fn as_slice(&self) -> &[u8] {
        (*self.0).as_ref()
    }

    /// `range` of this buffer, without copying (panics if out of bounds, like slicing).
    pub fn slice(&self, range: Range<usize>) -> Bytes {
        assert!(range.start <= range.end && range.end <= self.as_slice().len());
        Bytes(Repr::Shared(self.clone(), range))
    }

    /// The range `part` (a sub-slice of this buffer) covers, without copying.
    pub fn slice_of(&self, part: &[u8]) -> Bytes {
        let start = part.as_ptr() as usize - self.as_slice().as_ptr() as usize;
        self.slice(start..start + part.len())
    }
}

/// Memory-maps a file read-only (natively). The file must not be truncated while mapped:
/// checkpoints are written atomically (rename), so a rewrite leaves the mapping valid.
#[cfg(feature = "native")]
pub fn map_file(path: &std::path::Path) -> crate::Result<Shared> {
    let err = |e: std::io::Error| crate::Error::file(path.display(), format!("cannot read: {e}"));
    let file = std::fs::File::open(path).map_err(err)?;
    // SAFETY: read-only mapping; see the note above about concurrent truncation.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(err)?;
    Ok(Shared::new(map))
}

#[derive(Clone)]
enum Repr {
    Owned(Vec<u8>),
    Shared(Shared, Range<usize>),
}

/// Tensor bytes: derefs to `[u8]`; mutable access copies a shared range first.
#[derive(Clone)]
pub struct Bytes(Repr);

impl Bytes {
    /// Whether these bytes are a view into a shared buffer (no copy was made).
    pub fn is_shared(&self) -> bool {
        matches!(self.0, Repr::Shared(..))
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.0 {
            Repr::Owned(v) => v,
            Repr::Shared(s, r) => &s.as_slice()[r.clone()],
        }
    }
}

impl DerefMut for Bytes {
    fn deref_mut(&mut self) -> &mut [u8] {
        if let Repr::Shared(..) = self.0 {
            self.0 = Repr::Owned(self.to_vec());
        }
        match &mut self.0 {
            Repr::Owned(v) => v,
            Repr::Shared(..) => unreachable!("made owned above"),
        }
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Bytes {
        Bytes(Repr::Owned(v))
    }
}

impl PartialEq for Bytes {
    fn eq(&self, other: &Bytes) -> bool {
        **self == **other
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_shared() { "shared" } else { "owned" };
        write!(f, "Bytes({} bytes, {kind})", self.len())
    }
}
