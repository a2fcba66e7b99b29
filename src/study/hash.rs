//! XXH64 (Yann Collet's xxHash, 64-bit), written out from the published algorithm:
//! a fast non-cryptographic hash that names model, data and vector files in
//! `results.json`, and derives per-group seeds from names.
//!
//! Four accumulators eat 32-byte stripes (`round`), then are merged; the tail is
//! folded in 8, 4 and 1 byte steps; a final avalanche mixes the bits.

use std::io::Read;
use std::path::Path;

use crate::{Error, Result};

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

fn round(acc: u64, lane: u64) -> u64 {
    acc.wrapping_add(lane.wrapping_mul(P2))
        .rotate_left(31)
        .wrapping_mul(P1)
}

fn merge(acc: u64, v: u64) -> u64 {
    (acc ^ round(0, v)).wrapping_mul(P1).wrapping_add(P4)
}

fn read_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
}

/// Streaming XXH64 state.
#[derive(Debug, Clone)]
pub struct Xxh64 {
    seed: u64,
    v: [u64; 4],
    buf: [u8; 32],
    buf_len: usize,
    total: u64,
}

impl Xxh64 {
    pub fn new(seed: u64) -> Self {
        let v = [
            seed.wrapping_add(P1).wrapping_add(P2),
            seed.wrapping_add(P2),
            seed,
            seed.wrapping_sub(P1),
        ];
        Xxh64 {
            seed,
            v,
            buf: [0; 32],
            buf_len: 0,
            total: 0,
        }
    }

    fn stripe(&mut self, s: &[u8]) {
        for (i, v) in self.v.iter_mut().enumerate() {
            *v = round(*v, read_u64(&s[i * 8..]));
        }
    }

    pub fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        if self.buf_len > 0 {
            let take = (32 - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
            if self.buf_len < 32 {
                return;
            }
            let buf = self.buf;
            self.stripe(&buf);
            self.buf_len = 0;
        }
        while data.len() >= 32 {
            self.stripe(&data[..32]);
            data = &data[32..];
        }
        self.buf[..data.len()].copy_from_slice(data);
        self.buf_len = data.len();
    }

    pub fn finish(&self) -> u64 {
        let [v1, v2, v3, v4] = self.v;
        let mut h = if self.total >= 32 {
            let h = v1
                .rotate_left(1)
                .wrapping_add(v2.rotate_left(7))
                .wrapping_add(v3.rotate_left(12))
                .wrapping_add(v4.rotate_left(18));
            [v1, v2, v3, v4].iter().fold(h, |h, &v| merge(h, v))
        } else {
            self.seed.wrapping_add(P5)
        };
        h = h.wrapping_add(self.total);
        let mut tail = &self.buf[..self.buf_len];
        while tail.len() >= 8 {
            h ^= round(0, read_u64(tail));
            h = h.rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
            tail = &tail[8..];
        }
        if tail.len() >= 4 {
            let k = u32::from_le_bytes(tail[..4].try_into().expect("4 bytes")) as u64;
            h ^= k.wrapping_mul(P1);
            h = h.rotate_left(23).wrapping_mul(P2).wrapping_add(P3);
            tail = &tail[4..];
        }
        for &b in tail {
            h ^= (b as u64).wrapping_mul(P5);
            h = h.rotate_left(11).wrapping_mul(P1);
        }
        avalanche(h)
    }
}

fn avalanche(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

/// XXH64 of a byte string.
pub fn xxh64(data: &[u8], seed: u64) -> u64 {
    let mut h = Xxh64::new(seed);
    h.update(data);
    h.finish()
}

/// Identity of a file (or of a directory's files, sorted by name): hash and size.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileId {
    pub path: String,
    /// XXH64 (seed 0) of the bytes, 16 lower-case hex digits.
    pub xxh64: String,
    pub bytes: u64,
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
    loop {
        let n = file.read(&mut buf).map_err(err)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok((h.finish(), h.total))
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
    Ok((h.finish(), total))
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
        assert_eq!(h.finish(), xxh64(&data, 7));
        assert_eq!(h.finish(), 0xe7a4_7e3a_d32e_024c); // python-xxhash, seed 7
    }
}
