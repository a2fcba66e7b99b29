//! File output shared by every command: atomic writes (temporary file in the same
//! directory, then rename), so a reader never sees a half-written result.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Writes `contents` to `path` atomically, creating parent directories.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::file(dir.display(), format!("cannot create directory: {e}")))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, contents)
        .map_err(|e| Error::file(tmp.display(), format!("cannot write: {e}")))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        Error::file(
            path.display(),
            format!("cannot move the finished file into place: {e}"),
        )
    })
}

/// Writes each `(file name, text)` into `dir` with [`write_atomic`]; returns the paths.
pub fn write_files(
    dir: &Path,
    files: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        write_atomic(&path, text.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

/// `value` as pretty-printed JSON; `what` names it in the error.
pub fn to_json(value: &impl serde::Serialize, what: &str) -> Result<String> {
    serde_json::to_string_pretty(value)
        .map_err(|e| Error::input(format!("cannot serialise {what}: {e}")))
}

/// A little-endian f32 `.npy` (version 1.0) holding an array of `shape`.
pub fn npy_f32(shape: &[usize], data: &[f32]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(bytemuck::cast_slice(data));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn npy_header_is_aligned_and_parsable() {
        let bytes = super::npy_f32(&[2, 3], &[0.0; 6]);
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap();
        assert!(header.contains("'shape': (2, 3)"), "{header}");
        assert_eq!(bytes.len(), 10 + hlen + 24);
    }
}
