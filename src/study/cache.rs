//! The embedding cache that lets an interrupted `study` resume: the pooled vectors of
//! one model × task × layer group, written atomically as soon as its forward passes end.
//!
//! Key (all of it is stored in the file and compared on load, the file name is only
//! its hash): checkpoint xxh64 and size, engine name and weight precision, the layer
//! set, the poolings, the batch size, and xxh64s of the task's unique sentences and of
//! their token ids (so a different tokenizer misses). Same key ⇒ bit-identical vectors.
//!
//! File `<dir>/<xxh64 of the key>.emb`:
//! ```text
//! b"RWKVLENS-EMB1\n" · header length (u64 LE) · header JSON · f32 LE data [pooling][layer][text][dim]
//! ```
//! The header also holds the xxh64 of the data and the forward time measured when the
//! file was made (reported again in the profile of a resumed run). A file that is
//! unreadable, truncated, corrupt or of another key is ignored (with a warning) and
//! recomputed; nothing here can stop a run except a failure to create the directory.

use std::path::{Path, PathBuf};

use super::hash::{xxh64, Xxh64};
use crate::embed::{Embeddings, Pooling};
use crate::{Error, Result};

const MAGIC: &[u8] = b"RWKVLENS-EMB1\n";

/// What the vectors of one cache file depend on.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CacheKey {
    pub model_xxh64: String,
    pub model_bytes: u64,
    pub engine: String,
    pub precision: String,
    pub layers: Vec<usize>,
    pub poolings: Vec<Pooling>,
    pub batch_size: usize,
    pub sentences: usize,
    pub dim: usize,
    pub texts_xxh64: String,
    pub tokens_xxh64: String,
}

/// XXH64s of the sentences and of their token ids (each length-prefixed).
pub fn content_hashes(texts: &[String], tokens: &[Vec<u32>]) -> (String, String) {
    let mut t = Xxh64::new(0);
    for s in texts {
        t.update(&(s.len() as u64).to_le_bytes());
        t.update(s.as_bytes());
    }
    let mut k = Xxh64::new(0);
    for seq in tokens {
        k.update(&(seq.len() as u64).to_le_bytes());
        seq.iter().for_each(|id| k.update(&id.to_le_bytes()));
    }
    (
        format!("{:016x}", t.finish()),
        format!("{:016x}", k.finish()),
    )
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    key: CacheKey,
    data_xxh64: String,
    forward_seconds: f64,
    peak_gpu_bytes: u64,
}

/// Vectors read back from the cache, with the cost of computing them the first time.
pub struct Cached {
    pub embeddings: Embeddings,
    pub forward_seconds: f64,
    pub peak_gpu_bytes: u64,
}

/// A directory of `.emb` files.
pub struct EmbeddingCache {
    dir: PathBuf,
}

impl EmbeddingCache {
    /// Creates the directory if needed.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::file(
                dir.display(),
                format!("cannot create the cache directory: {e}"),
            )
        })?;
        Ok(EmbeddingCache {
            dir: dir.to_path_buf(),
        })
    }

    /// Where the vectors of `key` live.
    pub fn path(&self, key: &CacheKey) -> PathBuf {
        let json = serde_json::to_vec(key).unwrap_or_default();
        self.dir.join(format!("{:016x}.emb", xxh64(&json, 0)))
    }

    /// The cached vectors of `key`, or None (absent, or unusable: then a warning).
    pub fn load(&self, key: &CacheKey) -> Option<Cached> {
        let path = self.path(key);
        let bytes = std::fs::read(&path).ok()?;
        match decode(&bytes, key) {
            Ok(c) => Some(c),
            Err(why) => {
                eprintln!(
                    "warning: {}: ignoring the cached embeddings ({why}); recomputing",
                    path.display()
                );
                None
            }
        }
    }

    /// Writes the vectors of `key` atomically; a failure is a warning, not an error.
    pub fn store(&self, key: &CacheKey, e: &Embeddings, forward_seconds: f64, peak_gpu: u64) {
        let path = self.path(key);
        let bytes = encode(key, e, forward_seconds, peak_gpu);
        if let Err(err) = crate::io::write_atomic(&path, &bytes) {
            eprintln!("warning: cannot cache embeddings: {err}");
        }
    }
}

fn encode(key: &CacheKey, e: &Embeddings, forward_seconds: f64, peak_gpu_bytes: u64) -> Vec<u8> {
    let data: &[u8] = bytemuck::cast_slice(&e.data);
    let header = Header {
        key: key.clone(),
        data_xxh64: format!("{:016x}", xxh64(data, 0)),
        forward_seconds,
        peak_gpu_bytes,
    };
    let json = serde_json::to_vec(&header).unwrap_or_default();
    let mut out = Vec::with_capacity(MAGIC.len() + 8 + json.len() + data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(data); // f32 little-endian on every supported target
    out
}

/// Checks magic, header, key, size and data hash; the error says which failed.
fn decode(bytes: &[u8], key: &CacheKey) -> std::result::Result<Cached, String> {
    let rest = bytes.strip_prefix(MAGIC).ok_or("not a cache file")?;
    let len = rest.get(..8).ok_or("truncated header")?;
    let len = u64::from_le_bytes(len.try_into().map_err(|_| "truncated header")?);
    let len = usize::try_from(len).map_err(|_| "bad header length")?;
    let json = rest
        .get(8..8usize.saturating_add(len))
        .ok_or("truncated header")?;
    let header: Header = serde_json::from_slice(json).map_err(|e| format!("bad header: {e}"))?;
    if &header.key != key {
        return Err("its key differs from this run's".into());
    }
    let data = &rest[8 + len..];
    let want = key.poolings.len() * key.layers.len() * key.sentences * key.dim * 4;
    if data.len() != want {
        return Err(format!("{} data bytes, expected {want}", data.len()));
    }
    if format!("{:016x}", xxh64(data, 0)) != header.data_xxh64 {
        return Err("data hash mismatch".into());
    }
    let mut e = Embeddings::zeros(&key.layers, &key.poolings, key.sentences, key.dim);
    for (v, b) in e.data.iter_mut().zip(data.chunks_exact(4)) {
        *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    Ok(Cached {
        embeddings: e,
        forward_seconds: header.forward_seconds,
        peak_gpu_bytes: header.peak_gpu_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CacheKey {
        CacheKey {
            model_xxh64: "0123456789abcdef".into(),
            model_bytes: 3,
            engine: "cpu reference".into(),
            precision: "f32".into(),
            layers: vec![0, 2],
            poolings: vec![Pooling::Mean],
            batch_size: 4,
            sentences: 3,
            dim: 2,
            texts_xxh64: "t".into(),
            tokens_xxh64: "k".into(),
        }
    }

    fn sample() -> Embeddings {
        let mut e = Embeddings::zeros(&[0, 2], &[Pooling::Mean], 3, 2);
        e.data
            .iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = i as f32 * 0.5 - 1.25);
        e
    }

    #[test]
    fn round_trip_is_bit_exact() {
        let bytes = encode(&key(), &sample(), 1.5, 7);
        let c = decode(&bytes, &key()).unwrap();
        assert_eq!(c.embeddings, sample());
        assert_eq!((c.forward_seconds, c.peak_gpu_bytes), (1.5, 7));
    }

    #[test]
    fn damaged_or_foreign_files_are_refused() {
        let bytes = encode(&key(), &sample(), 1.5, 7);
        let other = CacheKey {
            layers: vec![0, 1],
            ..key()
        };
        assert_eq!(
            decode(&bytes, &other).err().unwrap(),
            "its key differs from this run's"
        );
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(
            decode(&flipped, &key()).err().unwrap(),
            "data hash mismatch"
        );
        let cut = &bytes[..bytes.len() - 4];
        assert_eq!(
            decode(cut, &key()).err().unwrap(),
            "44 data bytes, expected 48"
        );
        for n in 0..MAGIC.len() + 12 {
            assert!(decode(&bytes[..n], &key()).is_err());
        }
    }

    #[test]
    fn hashes_separate_texts_and_tokens() {
        let (t1, k1) = content_hashes(&["ab".into(), "c".into()], &[vec![1, 2], vec![3]]);
        let (t2, k2) = content_hashes(&["a".into(), "bc".into()], &[vec![1], vec![2, 3]]);
        assert_ne!((t1, k1), (t2, k2));
    }
}
