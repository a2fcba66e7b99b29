//! XXH64 (Yann Collet's xxHash, 64-bit; the `xxhash-rust` crate): a fast
//! non-cryptographic hash that names model, data and vector files in `results.json`,
//! and derives per-group seeds from names.

use std::io::Read;
use std::path::Path;

pub use xxhash_rust::xxh64::{xxh64, Xxh64};

use crate::{Error, Result};

/// Identity of a file (or of a directory's files, sorted by name): hash and size.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileId {
    pub path: String,
    /// XXH64 (seed 0) of the bytes, 16 lower-case hex digits.
    pub xxh64: String,
    pub bytes: u64,
}

impl FileId {
    /// The identity of bytes held in memory, named `path`.
    pub fn of_bytes(path: &str, bytes: &[u8]) -> FileId {
        FileId {
            path: path.to_string(),
            xxh64: format!("{:016x}", xxh64(bytes, 0)),
            bytes: bytes.len() as u64,
        }
    }
}

/// Hashes a file in 1 MiB chunks; a directory hashes its regular files in name order.
pub fn file_id(path: &Path) -> Result<FileId> {
    let shown = path.display().to_string();
    let (hash, bytes) = if path.is_dir() {
        hash_dir(path)?
    } else {
        hash_file(path)?
    };
    Ok(FileId {
        path: shown,
        xxh64: format!("{hash:016x}"),
        bytes,
    })
}

fn hash_file(path: &Path) -> Result<(u64, u64)> {
    let err = |e: std::io::Error| Error::file(path.display(), format!("cannot read: {e}"));
    let mut file = std::fs::File::open(path).map_err(err)?;
    let mut h = Xxh64::new(0);
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0;
    loop {
        let n = file.read(&mut buf).map_err(err)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        total += n as u64;
    }
    Ok((h.digest(), total))
}

fn hash_dir(dir: &Path) -> Result<(u64, u64)> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::file(dir.display(), format!("cannot list: {e}")))?;
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut h = Xxh64::new(0);
    let mut total = 0;
    for f in files {
        let (fh, n) = hash_file(&f)?;
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
        h.update(name.unwrap_or_default().as_bytes());
        h.update(&fh.to_le_bytes());
        total += n;
    }
    Ok((h.digest(), total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // Reference values of the xxHash specification / python-xxhash.
        assert_eq!(xxh64(b"", 0), 0xEF46_DB37_51D8_E999);
        assert_eq!(xxh64(b"a", 0), 0xD24E_C4F1_A98C_6E5B);
        assert_eq!(xxh64(b"abc", 0), 0x44BC_2CF5_AD77_0999);
        // python-xxhash 3.x on bytes 0..n: covers the 4-, 8-byte and 32-byte stripe paths.
        let data: Vec<u8> = (0..100u8).collect();
        let expected = [
            (5, 0xdd02_7438_6e26_030c),
            (12, 0x424a_f23f_1f08_dca5),
            (33, 0x0c53_5d1a_cafb_8ead),
            (64, 0xf7c6_7301_db67_13f0),
            (100, 0x6ac1_e580_3216_6597),
        ];
        for (n, h) in expected {
            assert_eq!(xxh64(&data[..n], 0), h, "n = {n}");
        }
    }

    #[test]
    fn streaming_equals_one_shot() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut h = Xxh64::new(7);
        for chunk in data.chunks(13) {
            h.update(chunk);
        }
        assert_eq!(h.digest(), xxh64(&data, 7));
        assert_eq!(h.digest(), 0xe7a4_7e3a_d32e_024c); // python-xxhash, seed 7
    }
}
