//! Loading from disk: a `.safetensors` file, a sharded set (`*.safetensors.index.json`),
//! a torch zip (`.pth`, `pytorch_model.bin`), or a directory holding one (picked by
//! [`super::resolve`], the order a hub repo's files are picked in).
//!
//! Safetensors files are memory-mapped, never read whole: the checkpoint's tensors are
//! views into the mapping, so loading costs page cache rather than anonymous memory, and
//! the engines convert and upload one tensor at a time (peak ≈ the largest tensor).

use std::path::Path;

use super::checkpoint::{read_safetensors_shared, Checkpoint};
use super::storage::map_file;
use crate::{Error, Result};

/// Loads a checkpoint from a file or directory path.
pub fn load(path: &Path) -> Result<Checkpoint> {
    let shown = path.display().to_string();
    if path.is_dir() {
        return load(&super::resolve::in_dir(path)?.path);
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.ends_with(".index.json") {
        return load_sharded(path);
    }
    let file = map_file(path)?;
    if name.ends_with(".pth") || name.ends_with(".bin") {
        return super::pth::checkpoint_from_pth(&shown, file.as_slice());
    }
    Checkpoint::from_safetensors_shared(&shown, &file)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::file(path.display(), format!("cannot read: {e}")))
}

/// The shard file names a `*.safetensors.index.json` maps tensors to, sorted, each once.
pub fn shard_names(index: &Path) -> Result<Vec<String>> {
    let shown = index.display().to_string();
    let text = String::from_utf8(read(index)?).map_err(|_| Error::file(&shown, "not UTF-8"))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::file(&shown, format!("invalid JSON: {e}")))?;
    let map = json
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| Error::file(&shown, "no `weight_map` object"))?;
    let mut shards: Vec<String> = map
        .values()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    shards.sort();
    shards.dedup();
    Ok(shards)
}

fn load_sharded(index: &Path) -> Result<Checkpoint> {
    let shards = shard_names(index)?;
    let dir = index.parent().unwrap_or(Path::new("."));
    let mut raw = Vec::new();
    let mut total = 0u64;
    for shard in shards {
        let p = dir.join(&shard);
        let file = map_file(&p)?;
        total += file.as_slice().len() as u64;
        raw.extend(read_safetensors_shared(&p.display().to_string(), &file)?);
    }
    Checkpoint::from_tensors(&index.display().to_string(), raw, total)
}

/// The `__metadata__` entries of a `.safetensors` file (its header only is read);
/// empty for any other path (a directory, a `.pth`).
pub fn safetensors_metadata(path: &Path) -> Result<std::collections::BTreeMap<String, String>> {
    if !path.is_file() || path.extension().is_none_or(|e| e != "safetensors") {
        return Ok(Default::default());
    }
    Ok(super::header::read_file(path)?.metadata)
}
