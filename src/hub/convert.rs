//! A torch checkpoint (`.pth`, `pytorch_model.bin`: the zip that `torch.save` writes)
//! converted once to safetensors, by the project's own reader (an allow-list pickle VM
//! that executes nothing), into `lens_cache_dir()/converted/SHA256.safetensors`.
//! The name is the source's content hash (a hub blob is already named by it), so a
//! second run finds the result; the write is atomic, so a killed run leaves none.

use std::path::{Path, PathBuf};

use crate::io::write_atomic_under;
use crate::model::checkpoint::write_safetensors;
use crate::model::pth::checkpoint_from_pth;
use crate::model::Tensor;
use crate::{Error, Result};

/// The safetensors twin of the torch checkpoint at `source`, made if missing.
pub fn converted(source: &Path) -> Result<PathBuf> {
    let blob = std::fs::canonicalize(source)
        .map_err(|e| Error::file(source.display(), format!("cannot read: {e}")))?;
    let named = blob.file_name().map(|n| n.to_string_lossy().into_owned());
    let key = match named {
        Some(n) if n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit()) => n,
        _ => super::client::sha256_file(&blob)?,
    };
    let root = super::lens_cache_dir();
    let out = (root.join("converted")).join(format!("{key}.safetensors"));
    if out.is_file() && crate::io::inside_root(&root, &out).is_ok() {
        return Ok(out);
    }
    let shown = source.display().to_string();
    let bytes =
        std::fs::read(&blob).map_err(|e| Error::file(&shown, format!("cannot read: {e}")))?;
    let ckpt = checkpoint_from_pth(&shown, &bytes)?; // validates version, shapes, finiteness
    let tensors: Vec<(String, Tensor)> = ckpt
        .tensors()
        .map(|(n, t)| (n.clone(), t.clone()))
        .collect();
    eprintln!("converting {shown} to {} (once)", out.display());
    write_atomic_under(&root, &out, &write_safetensors(&tensors)?)?;
    Ok(out)
}
