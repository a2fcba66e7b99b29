//! Loading from disk: a `.safetensors` file, a sharded set (`*.safetensors.index.json`),
//! or a directory holding either.
//!
//! Safetensors files are memory-mapped, never read whole: the checkpoint's tensors are
//! views into the mapping, so loading costs page cache rather than anonymous memory, and
//! the engines convert and upload one tensor at a time (peak ≈ the largest tensor).

use std::path::{Path, PathBuf};

use super::checkpoint::{read_safetensors_shared, Checkpoint};
use super::storage::map_file;
use crate::{Error, Result};

/// Loads a checkpoint from a file or directory path.
pub fn load(path: &Path) -> Result<Checkpoint> {
    let shown = path.display().to_string();
    if path.is_dir() {
        return load(&find_in_dir(path)?);
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.ends_with(".index.json") {
        return load_sharded(path);
    }
    let file = map_file(path)?;
    if name.ends_with(".pth") {
        return super::pth::checkpoint_from_pth(&shown, file.as_slice());
    }
    Checkpoint::from_safetensors_shared(&shown, &file)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::file(path.display(), format!("cannot read: {e}")))
}

fn find_in_dir(dir: &Path) -> Result<PathBuf> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::file(dir.display(), format!("cannot list: {e}")))?;
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    let pick = |suffix: &str| {
        files
            .iter()
            .find(|p| p.to_string_lossy().ends_with(suffix))
            .cloned()
    };
    pick(".safetensors.index.json")
        .or_else(|| pick(".safetensors"))
        .or_else(|| pick(".st"))
        .ok_or_else(|| {
            Error::file(
                dir.display(),
                "no .safetensors file or shard index in this directory",
            )
        })
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
    use std::io::Read;
    if !path.is_file() || path.extension().is_none_or(|e| e != "safetensors") {
        return Ok(Default::default());
    }
    let bad = |e: String| Error::file(path.display(), e);
    let mut f = std::fs::File::open(path).map_err(|e| bad(format!("cannot open: {e}")))?;
    let mut n = [0u8; 8];
    f.read_exact(&mut n)
        .map_err(|e| bad(format!("no header: {e}")))?;
    let n = u64::from_le_bytes(n);
    // the safetensors crate's own bound: a header length of gigabytes allocates nothing
    const MAX_HEADER: u64 = 100_000_000;
    if n > MAX_HEADER {
        return Err(bad(format!(
            "the first 8 bytes announce a {n}-byte header (at most {MAX_HEADER}): not a safetensors file"
        )));
    }
    let mut header = Vec::new();
    (f.take(n).read_to_end(&mut header))
        .map_err(|e| bad(format!("cannot read the header: {e}")))?;
    #[derive(serde::Deserialize)]
    struct Header {
        #[serde(rename = "__metadata__", default)]
        metadata: std::collections::BTreeMap<String, String>,
    }
    let h: Header = serde_json::from_slice(&header).map_err(|e| {
        bad(format!(
            "the header's __metadata__ is not a string map: {e}"
        ))
    })?;
    Ok(h.metadata)
}
