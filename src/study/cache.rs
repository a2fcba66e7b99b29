//! The embedding cache that lets an interrupted `study` resume: the pooled vectors of
//! one model × task × layer group, written atomically as soon as its forward passes end.
//!
//! Key (all of it is stored in the file and compared on load, the file name is only
//! its hash): checkpoint xxh64 and size, engine name and weight precision, the layer
//! set, the poolings, the batch size, and xxh64s of the task's unique sentences and of
//! their token ids (so a different tokenizer misses). Same key ⇒ bit-identical vectors.
//!
//! File `<dir>/<xxh64 of the key>.safetensors`: one f32 tensor `embeddings`
//! `[pooling][layer][text][dim]`, and in the metadata the key (JSON), the xxh64 of the
//! data and the forward time and peak device memory measured when the file was made
//! (reported again in the profile of a resumed run). A file that is unreadable,
//! truncated, corrupt or of another key is ignored (with a warning) and recomputed, as
//! is a cache file of the former custom format (`.emb`); nothing here can stop a run
//! except a failure to create the directory.

use std::path::{Path, PathBuf};

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::embed::{Embeddings, Pooling};
use crate::kit::hash::{xxh64, Xxh64};
use crate::{Error, Result};

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
        format!("{:016x}", t.digest()),
        format!("{:016x}", k.digest()),
    )
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

    /// Where the vectors of `key` live (`ext`: `safetensors`, or `emb` for the old format).
    fn path(&self, key: &CacheKey, ext: &str) -> PathBuf {
        let json = serde_json::to_vec(key).unwrap_or_default();
        self.dir.join(format!("{:016x}.{ext}", xxh64(&json, 0)))
    }

    /// The cached vectors of `key`, or None (absent, or unusable: then a warning).
    pub fn load(&self, key: &CacheKey) -> Option<Cached> {
        let old = self.path(key, "emb");
        if old.is_file() {
            eprintln!(
                "warning: {}: a cache file of the former format; removing it (recomputed)",
                old.display()
            );
            let _ = std::fs::remove_file(&old);
        }
        let path = self.path(key, "safetensors");
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
        let path = self.path(key, "safetensors");
        let written = encode(key, e, forward_seconds, peak_gpu)
            .and_then(|bytes| crate::io::write_atomic_under(&self.dir, &path, &bytes));
        if let Err(err) = written {
            eprintln!("warning: cannot cache embeddings: {err}");
        }
    }
}

const TENSOR: &str = "embeddings";

fn encode(key: &CacheKey, e: &Embeddings, forward_seconds: f64, peak_gpu: u64) -> Result<Vec<u8>> {
    let data: &[u8] = bytemuck::cast_slice(&e.data);
    let meta = [
        ("key", serde_json::to_string(key).unwrap_or_default()),
        ("data_xxh64", format!("{:016x}", xxh64(data, 0))),
        (
            "forward_seconds",
            serde_json::to_string(&forward_seconds).unwrap_or_default(),
        ),
        ("peak_gpu_bytes", peak_gpu.to_string()),
    ];
    let meta = meta.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let shape = vec![key.poolings.len(), key.layers.len(), key.sentences, key.dim];
    let bad = |e: safetensors::SafeTensorError| Error::input(format!("embedding cache: {e}"));
    let view = TensorView::new(Dtype::F32, shape, data).map_err(bad)?;
    safetensors::serialize([(TENSOR, view)], Some(meta)).map_err(bad)
}

/// Checks the file, key, shape and data hash; the error says which failed.
fn decode(bytes: &[u8], key: &CacheKey) -> std::result::Result<Cached, String> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| format!("not a cache file: {e}"))?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| e.to_string())?;
    let meta = header.metadata().clone().unwrap_or_default();
    let get = |k: &str| meta.get(k).ok_or(format!("no `{k}` in the metadata"));
    let stored: CacheKey =
        serde_json::from_str(get("key")?).map_err(|e| format!("bad key: {e}"))?;
    if &stored != key {
        return Err("its key differs from this run's".into());
    }
    let t = st.tensor(TENSOR).map_err(|e| e.to_string())?;
    let want = [key.poolings.len(), key.layers.len(), key.sentences, key.dim];
    if t.dtype() != Dtype::F32 || t.shape() != want {
        return Err(format!(
            "{:?} {:?}, expected F32 {want:?}",
            t.dtype(),
            t.shape()
        ));
    }
    if format!("{:016x}", xxh64(t.data(), 0)) != *get("data_xxh64")? {
        return Err("data hash mismatch".into());
    }
    let number = |k: &str| get(k)?.parse::<f64>().map_err(|e| format!("`{k}`: {e}"));
    let mut e = Embeddings::zeros(&key.layers, &key.poolings, key.sentences, key.dim);
    for (v, b) in e.data.iter_mut().zip(t.data().chunks_exact(4)) {
        *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    Ok(Cached {
        embeddings: e,
        forward_seconds: number("forward_seconds")?,
        peak_gpu_bytes: number("peak_gpu_bytes")? as u64,
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
        let bytes = encode(&key(), &sample(), 1.5, 7).unwrap();
        let c = decode(&bytes, &key()).unwrap();
        assert_eq!(c.embeddings, sample());
        assert_eq!((c.forward_seconds, c.peak_gpu_bytes), (1.5, 7));
    }

    #[test]
    fn damaged_or_foreign_files_are_refused() {
        let bytes = encode(&key(), &sample(), 1.5, 7).unwrap();
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
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n], &key()).is_err(), "{n} bytes");
        }
        assert!(decode(b"RWKVLENS-EMB1\n", &key()).is_err());
    }

    #[test]
    fn old_format_files_are_removed_and_recomputed() {
        let dir = std::env::temp_dir().join(format!("rwkv-lens-cache-{}", std::process::id()));
        let cache = EmbeddingCache::open(&dir).unwrap();
        let old = cache.path(&key(), "emb");
        std::fs::write(&old, b"RWKVLENS-EMB1\n").unwrap();
        assert!(cache.load(&key()).is_none() && !old.exists());
        cache.store(&key(), &sample(), 1.5, 7);
        assert_eq!(cache.load(&key()).unwrap().embeddings, sample());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn hashes_separate_texts_and_tokens() {
        let (t1, k1) = content_hashes(&["ab".into(), "c".into()], &[vec![1, 2], vec![3]]);
        let (t2, k2) = content_hashes(&["a".into(), "bc".into()], &[vec![1], vec![2, 3]]);
        assert_ne!((t1, k1), (t2, k2));
    }
}
