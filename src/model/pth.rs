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

/// Reads every tensor of a `.pth` file held in memory, in file order.
/// `source` names the file in every error.
pub fn read_pth(source: &str, bytes: &[u8]) -> Result<Vec<(String, Tensor)>> {
    let zip = open_archive(source, bytes)?;
    let pkl = find_pickle(source, &zip)?;
    let prefix = pkl.name.trim_end_matches("data.pkl");
    check_byte_order(source, &zip, prefix)?;
    if pkl.size > MAX_PICKLE_BYTES {
        let msg = format!(
            "{} is {} bytes: too large for a state dict",
            pkl.name, pkl.size
        );
        return Err(Error::file(source, msg));
    }
    let refs = pickle::parse_state_dict(source, &pkl.name, zip.checked_data(pkl)?)?;
    let mut out = Vec::with_capacity(refs.len());
    let mut total = 0u64;
    for (name, r) in refs {
        total = total.saturating_add(r.byte_len());
        if total > MAX_EXPANSION * bytes.len() as u64 {
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
        let entry = zip.find(&entry_name).ok_or_else(|| {
            Error::tensor(
                source,
                &name,
                format!("storage `{entry_name}` is missing from the archive"),
            )
        })?;
        let storage = zip.data(entry)?;
        let tensor = view(&r, storage).map_err(|msg| Error::tensor(source, &name, msg))?;
        out.push((name, tensor));
    }
    Ok(out)
}

/// A [`Checkpoint`] (names canonicalised, config detected) from a `.pth` file in memory.
pub fn checkpoint_from_pth(source: &str, bytes: &[u8]) -> Result<Checkpoint> {
    Checkpoint::from_tensors(source, read_pth(source, bytes)?, bytes.len() as u64)
}

/// The zip archive, or a clear error for the legacy format and other files.
fn open_archive<'a>(source: &str, bytes: &'a [u8]) -> Result<Zip<'a>> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Zip::parse(source, bytes);
    }
    let msg = if bytes.first() == Some(&0x80) {
        "legacy torch.save format (a bare pickle, torch < 1.6) is not supported: re-save it with \
         `torch.save(torch.load(f, weights_only=True), out)`"
    } else {
        "not a PyTorch .pth file (expected a zip archive from torch.save)"
    };
    Err(Error::file(source, msg))
}

/// `<name>/byteorder`, when present, must say `little`.
fn check_byte_order(source: &str, zip: &Zip<'_>, prefix: &str) -> Result<()> {
    let Some(entry) = zip.find(&format!("{prefix}byteorder")) else {
        return Ok(());
    };
    match zip.data(entry)? {
        b"little" => Ok(()),
        other => {
            let shown = String::from_utf8_lossy(other);
            let msg = format!("byte order `{shown}` is not supported (little-endian only)");
            Err(Error::file(source, msg))
        }
    }
}

/// The one `<name>/data.pkl` entry.
fn find_pickle<'z>(source: &str, zip: &'z Zip<'_>) -> Result<&'z Entry> {
    let mut found = zip
        .entries
        .iter()
        .filter(|e| e.name.ends_with("/data.pkl") && e.name.matches('/').count() == 1);
    match (found.next(), found.next()) {
        (Some(e), None) => Ok(e),
        (None, _) => Err(Error::file(
            source,
            "zip archive without a `<name>/data.pkl` entry: not a torch.save file",
        )),
        (Some(_), Some(_)) => Err(Error::file(
            source,
            "zip archive with several `data.pkl` entries",
        )),
    }
}

/// Copies the elements of a contiguous view out of its storage's bytes.
fn view(r: &TensorRef, storage: &[u8]) -> std::result::Result<Tensor, String> {
    let es = r.storage.dtype.size() as u64;
    let dtype = r.storage.dtype.name();
    let want = r.storage.numel.checked_mul(es);
    if want != Some(storage.len() as u64) {
        return Err(format!(
            "storage `{}` holds {} bytes, expected {} {dtype} elements",
            r.storage.key,
            storage.len(),
            r.storage.numel
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
        return Tensor::new(shape, r.storage.dtype, Vec::new()).map_err(|e| e.to_string());
    }
    check_contiguous(&shape, &r.stride)?;
    let start = u64::try_from(r.offset).ok().and_then(|o| o.checked_mul(es));
    let range = start.and_then(|s| Some(s..s.checked_add(numel.checked_mul(es)?)?));
    let bytes = range
        .filter(|range| range.end <= storage.len() as u64)
        .map(|range| storage[range.start as usize..range.end as usize].to_vec())
        .ok_or_else(|| {
            format!(
                "view of {numel} elements at storage offset {} runs past its storage of {} elements",
                r.offset, r.storage.numel
            )
        })?;
    Tensor::new(shape, r.storage.dtype, bytes).map_err(|e| e.to_string())
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
