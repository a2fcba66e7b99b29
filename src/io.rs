//! File output shared by every command: atomic writes (temporary file in the same
//! directory, then rename), so a reader never sees a half-written result; and the one
//! check that a path about to be created or linked stays inside its root
//! ([`inside_root`]: the hub cache, rwkv-lens' cache, the `data fetch` directory, the
//! embedding cache), whatever symlink or `..` a name from outside would lead through.

use std::path::{Component, Path, PathBuf};

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

/// `path` as the file system will resolve it: its longest existing ancestor
/// canonicalized (symlinks followed), the missing rest appended (plain names; a `..`
/// there makes it `None`, as does an unreadable ancestor).
fn resolved(path: &Path) -> Option<PathBuf> {
    let path = match path.is_absolute() {
        true => path.to_path_buf(),
        false => std::env::current_dir().ok()?.join(path),
    };
    let mut rest = Vec::new();
    let mut at = path.as_path();
    loop {
        if let Ok(real) = std::fs::canonicalize(at) {
            let mut out = real;
            for part in rest.iter().rev() {
                match part {
                    Component::Normal(p) => out.push(p),
                    Component::CurDir => {}
                    _ => return None,
                }
            }
            return Some(out);
        }
        rest.push(at.components().next_back()?);
        at = at.parent()?;
    }
}

/// Refuses `path` (a file or directory about to be created, written or linked) unless
/// it resolves inside `root` (both canonicalized, neither needing to exist yet): one
/// line naming both. Returns the resolved path.
pub fn inside_root(root: &Path, path: &Path) -> Result<PathBuf> {
    let outside = |why: &str| {
        Error::file(
            path.display(),
            format!(
                "refused: {why} outside {} (a symlink or `..` leads out of it); nothing written",
                root.display()
            ),
        )
    };
    let real_root = resolved(root).ok_or_else(|| outside("cannot tell whether it is"))?;
    match resolved(path) {
        Some(real) if real.starts_with(&real_root) => Ok(real),
        Some(real) => Err(outside(&format!("it resolves to {},", real.display()))),
        None => Err(outside("cannot tell whether it is")),
    }
}

/// [`write_atomic`] after [`inside_root`]: the file and its temporary twin stay in `root`.
pub fn write_atomic_under(root: &Path, path: &Path, contents: &[u8]) -> Result<()> {
    inside_root(root, path)?;
    write_atomic(path, contents)
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
    fn paths_stay_inside_their_root() {
        let dir = std::env::temp_dir().join(format!("rwkv-lens-io-root-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let root = dir.join("root");
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::create_dir_all(dir.join("outside")).unwrap();
        assert!(super::inside_root(&root, &root.join("a/new/file")).is_ok());
        assert!(super::inside_root(&dir.join("missing"), &dir.join("missing/x/y")).is_ok());
        let e = super::inside_root(&root, &root.join("a/../../outside/x"));
        assert!(e.unwrap_err().to_string().contains("refused: "));
        assert!(super::inside_root(&root, &root.join("new/../../x")).is_err());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.join("outside"), root.join("link")).unwrap();
            let e = super::inside_root(&root, &root.join("link/pwned")).unwrap_err();
            assert!(e.to_string().contains("outside"), "{e}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

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
