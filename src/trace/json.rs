//! A trace as JSON, for notebooks and slides: compact, numbers as shortest round-trip
//! decimals, +∞ half-lives as `null`. Written atomically (temporary file, then rename).

use std::path::Path;

use super::Trace;
use crate::{Error, Result};

/// The trace as one line of JSON.
pub fn to_json(trace: &Trace) -> Result<String> {
    serde_json::to_string(trace).map_err(|e| Error::input(format!("trace to JSON: {e}")))
}

/// Parses a trace written by [`to_json`] / [`write_json`].
pub fn from_json(text: &str) -> Result<Trace> {
    serde_json::from_str(text).map_err(|e| Error::input(format!("trace JSON: {e}")))
}

/// Writes the trace to `path` atomically: a reader sees the old file or the whole new one.
#[cfg(feature = "native")]
pub fn write_json(trace: &Trace, path: &Path) -> Result<()> {
    crate::io::write_atomic(path, to_json(trace)?.as_bytes())
}

/// Reads a trace file.
pub fn read_json(path: &Path) -> Result<Trace> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::file(path.display(), e))?;
    from_json(&text).map_err(|e| Error::file(path.display(), e))
}

/// `Vec<f32>` with +∞ written as `null` (JSON has no infinity) and read back as +∞.
pub(super) mod inf_as_null {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(values: &[f32], s: S) -> Result<S::Ok, S::Error> {
        let opt: Vec<Option<f32>> = values
            .iter()
            .map(|&v| (v != f32::INFINITY).then_some(v))
            .collect();
        opt.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
        let opt = Vec::<Option<f32>>::deserialize(d)?;
        Ok(opt
            .into_iter()
            .map(|v| v.unwrap_or(f32::INFINITY))
            .collect())
    }
}
