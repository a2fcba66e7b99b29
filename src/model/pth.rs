//! Safe reading of PyTorch `.pth` state dicts (`torch.save`, zip format, torch ≥ 1.6)
//! without executing anything.
//!
//! Archive layout: `<name>/data.pkl` (the pickle, see [`super::pickle`]),
//! `<name>/data/<key>` (one file per storage, raw little-endian elements),
//! `<name>/byteorder` (`little`), plus version files. A tensor is a view
//! `(storage, offset, size, stride)`; only contiguous (row-major) views are accepted,
//! so element `i` of the tensor is storage element `offset + i`.

use super::checkpoint::Checkpoint;
use super::pickle::{self, TensorRef};
use super::tensor::Tensor;
use super::zip::{Entry, Zip};
use crate::{Error, Result};

/// Largest `data.pkl` accepted (a 14B model's is ~200 KiB).
const MAX_PICKLE_BYTES: u64 = 64 << 20;
/// Tensors may share storages (views, tied weights), but their bytes together may not
/// exceed this multiple of the file's size.
const MAX_EXPANSION: u64 = 4;

/// One tensor of a `.pth`: its view and the archive entry holding its storage.
#[derive(Debug, Clone)]
pub struct PthTensor {
    pub name: String,
    pub view: TensorRef,
    pub storage: Entry,
}

impl PthTensor {
    /// Shape and byte range of the tensor inside its storage's data (checked against the
    /// storage's size as the central directory gives it: nothing read yet).
    pub fn range(&self, source: &str) -> Result<(Vec<usize>, std::ops::Range<u64>)> {
        view_range(&self.view, self.storage.size).map_err(|m| Error::tensor(source, &self.name, m))
    }

    /// The tensor from its storage's bytes.
    pub fn tensor(&self, source: &str, storage: &[u8]) -> Result<Tensor> {
        let (shape, range) = self.range(source)?;
        let bytes = storage[range.start as usize..range.end as usize].to_vec();
        Tensor::new(shape, self.view.storage.dtype, bytes)
            .map_err(|e| Error::tensor(source, &self.name, e))
    }
}

/// Reads every tensor of a `.pth` file held in memory, in file order.
/// `source` names the file in every error.
pub fn read_pth(source: &str, bytes: &[u8]) -> Result<Vec<(String, Tensor)>> {
    check_magic(source, bytes)?;
    let zip = Zip::parse(source, bytes)?;
    let pkl = find_pickle(source, &zip.entries)?;
    let order = match byte_order_entry(&zip.entries, pkl) {
        Some(e) => Some(zip.data(e)?),
        None => None,
    };
    let pickle = zip.checked_data(pkl)?;
    let tensors = plan(source, &zip.entries, pkl, pickle, order, bytes.len() as u64)?;
    tensors
        .into_iter()
        .map(|t| -> Result<(String, Tensor)> {
            Ok((t.name.clone(), t.tensor(source, zip.data(&t.storage)?)?))
        })
        .collect()
}

/// Every tensor of the state dict with the archive entry of its storage, in file order,
/// from the archive's entries, its `data.pkl` (`pkl`, bytes `pickle`) and its
/// `byteorder` entry's bytes when there is one.
pub fn plan(
    source: &str,
    entries: &[Entry],
    pkl: &Entry,
    pickle: &[u8],
    byte_order: Option<&[u8]>,
    file_len: u64,
) -> Result<Vec<PthTensor>> {
    check_byte_order(source, byte_order)?;
    let prefix = pkl.name.trim_end_matches("data.pkl");
    let refs = pickle::parse_state_dict(source, &pkl.name, pickle)?;
    let mut out = Vec::with_capacity(refs.len());
    let mut total = 0u64;
    for (name, r) in refs {
        total = total.saturating_add(r.byte_len());
        if total > MAX_EXPANSION * file_len {
            let msg = format!(
                "tensors so far add up to {total} bytes, more than {MAX_EXPANSION}× the file"
            );
            return Err(Error::tensor(
                source,
                &name,
                format!("{msg}: views repeated?"),
            ));
        }
        let entry_name = format!("{prefix}data/{}", r.storage.key);
        let storage = entries
            .iter()
            .find(|e| e.name == entry_name)
            .ok_or_else(|| {
                Error::tensor(
                    source,
                    &name,
                    format!("storage `{entry_name}` is missing from the archive"),
                )
            })?;
        out.push(PthTensor {
            name,
            view: r,
            storage: storage.clone(),
        });
    }
    Ok(out)
}

/// A [`Checkpoint`] (names canonicalised, config detected) from a `.pth` file in memory.
pub fn checkpoint_from_pth(source: &str, bytes: &[u8]) -> Result<Checkpoint> {
    Checkpoint::from_tensors(source, read_pth(source, bytes)?, bytes.len() as u64)
}

/// The file's first bytes must open a zip archive: a clear error for the legacy format
/// and other files.
pub fn check_magic(source: &str, first: &[u8]) -> Result<()> {
    if first.starts_with(b"PK\x03\x04") {
        return Ok(());
    }
    let msg = if first.first() == Some(&0x80) {
        "legacy torch.save format (a bare pickle, torch < 1.6) is not supported: re-save it with \
         `torch.save(torch.load(f, weights_only=True), out)`"
    } else {
        "not a PyTorch .pth file (expected a zip archive from torch.save)"
    };
    Err(Error::file(source, msg))
}

/// `<name>/byteorder`, next to `data.pkl`, when present.
pub fn byte_order_entry<'e>(entries: &'e [Entry], pkl: &Entry) -> Option<&'e Entry> {
    let name = format!("{}byteorder", pkl.name.trim_end_matches("data.pkl"));
    entries.iter().find(|e| e.name == name)
}

/// `<name>/byteorder`, when present, must say `little`.
fn check_byte_order(source: &str, order: Option<&[u8]>) -> Result<()> {
    match order {
        None | Some(b"little") => Ok(()),
        Some(other) => {
            let shown = String::from_utf8_lossy(other);
            let msg = format!("byte order `{shown}` is not supported (little-endian only)");
            Err(Error::file(source, msg))
        }
    }
}

/// The one `<name>/data.pkl` entry, refused when too large to be a state dict.
pub fn find_pickle<'z>(source: &str, entries: &'z [Entry]) -> Result<&'z Entry> {
    let mut found = entries
        .iter()
        .filter(|e| e.name.ends_with("/data.pkl") && e.name.matches('/').count() == 1);
    let pkl = match (found.next(), found.next()) {
        (Some(e), None) => e,
        (None, _) => {
            return Err(Error::file(
                source,
                "zip archive without a `<name>/data.pkl` entry: not a torch.save file",
            ))
        }
        (Some(_), Some(_)) => {
            return Err(Error::file(
                source,
                "zip archive with several `data.pkl` entries",
            ))
        }
    };
    if pkl.size > MAX_PICKLE_BYTES {
        let msg = format!(
            "{} is {} bytes: too large for a state dict",
            pkl.name, pkl.size
        );
        return Err(Error::file(source, msg));
    }
    Ok(pkl)
}

/// Shape and byte range, inside its storage of `storage_len` bytes, of a contiguous view.
fn view_range(
    r: &TensorRef,
    storage_len: u64,
) -> std::result::Result<(Vec<usize>, std::ops::Range<u64>), String> {
    let es = r.storage.dtype.size() as u64;
    let dtype = r.storage.dtype.name();
    let want = r.storage.numel.checked_mul(es);
    if want != Some(storage_len) {
        return Err(format!(
            "storage `{}` holds {storage_len} bytes, expected {} {dtype} elements",
            r.storage.key, r.storage.numel
        ));
    }
    if r.size.len() != r.stride.len() {
        return Err(format!(
            "size {:?} and stride {:?} differ in rank",
            r.size, r.stride
        ));
    }
    let shape: Vec<usize> = r
        .size
        .iter()
        .map(|&d| usize::try_from(d).ok())
        .collect::<Option<_>>()
        .ok_or_else(|| format!("negative size {:?}", r.size))?;
    let numel = shape
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d as u64))
        .ok_or_else(|| format!("size {:?} overflows", r.size))?;
    if numel == 0 {
        return Ok((shape, 0..0));
    }
    check_contiguous(&shape, &r.stride)?;
    let start = u64::try_from(r.offset).ok().and_then(|o| o.checked_mul(es));
    let range = start.and_then(|s| Some(s..s.checked_add(numel.checked_mul(es)?)?));
    let range = range
        .filter(|range| range.end <= storage_len)
        .ok_or_else(|| {
            format!(
            "view of {numel} elements at storage offset {} runs past its storage of {} elements",
            r.offset, r.storage.numel
        )
        })?;
    Ok((shape, range))
}

/// Row-major strides: `stride[d] = Π size[d+1..]`, ignored on axes of size 1.
fn check_contiguous(shape: &[usize], stride: &[i64]) -> std::result::Result<(), String> {
    let mut expected: i64 = 1;
    for (&size, &s) in shape.iter().zip(stride).rev() {
        if size != 1 && s != expected {
            return Err(format!(
                "non-contiguous view (size {shape:?}, stride {stride:?}): save `.contiguous()` tensors"
            ));
        }
        expected = expected.saturating_mul(size as i64);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguity() {
        assert!(check_contiguous(&[2, 3], &[3, 1]).is_ok());
        assert!(check_contiguous(&[1, 1, 4], &[4, 4, 1]).is_ok());
        assert!(check_contiguous(&[1, 1, 4], &[99, 7, 1]).is_ok());
        assert!(check_contiguous(&[], &[]).is_ok());
        let e = check_contiguous(&[2, 3], &[1, 2]).unwrap_err();
        assert!(e.contains("non-contiguous"), "{e}");
    }

    #[test]
    fn not_a_zip() {
        let e = read_pth("m.pth", b"\x80\x02}q\x00.")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("m.pth: legacy torch.save format"), "{e}");
        let e = read_pth("m.pth", b"").unwrap_err().to_string();
        assert!(e.starts_with("m.pth: not a PyTorch .pth file"), "{e}");
    }
}
