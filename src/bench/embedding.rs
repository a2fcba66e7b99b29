//! The embedding workload of the source study: MRPC sentence pairs (the first 1000 GLUE
//! train pairs + the 408 GLUE validation pairs), every layer mean-pooled — timed per pair,
//! with the device's peak memory and the host's peak RSS.

use std::path::Path;
use std::time::Instant;

use super::report::EmbeddingReport;
use super::timing::rss_bytes;
use crate::embed::{Engine, Pooling};
use crate::{Error, Result};

/// One MRPC pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub label: u8,
    pub a: String,
    pub b: String,
}

/// Reads up to `limit` pairs of a GLUE MRPC TSV (`Quality, #1 ID, #2 ID, #1 String,
/// #2 String`; header row, optional UTF-8 BOM, no quoting: sentences hold bare `"`).
pub fn read_pairs(path: &Path, limit: usize) -> Result<Vec<Pair>> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::file(&shown, format!("cannot read: {e}")))?;
    let mut pairs = Vec::new();
    for (i, line) in text
        .trim_start_matches('\u{feff}')
        .lines()
        .enumerate()
        .skip(1)
    {
        if pairs.len() == limit {
            break;
        }
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let label = match (cols.len(), cols.first()) {
            (5, Some(&"0")) => 0,
            (5, Some(&"1")) => 1,
            _ => {
                return Err(Error::row(
                    &shown,
                    i + 1,
                    format!(
                        "expected 5 tab-separated columns with label 0 or 1, got {} columns",
                        cols.len()
                    ),
                ))
            }
        };
        pairs.push(Pair {
            label,
            a: cols[3].to_string(),
            b: cols[4].to_string(),
        });
    }
    Ok(pairs)
}

/// The study's pairs from `<data>/mrpc/glue/`: `train` first `n_train`, then `dev` first `n_dev`.
pub fn study_pairs(data: &Path, n_train: usize, n_dev: usize) -> Result<Vec<Pair>> {
    let glue = data.join("mrpc").join("glue");
    let mut pairs = read_pairs(&glue.join("train.tsv"), n_train)?;
    pairs.extend(read_pairs(&glue.join("dev.tsv"), n_dev)?);
    Ok(pairs)
}

/// Embeds every sentence of `pairs` at every layer (mean pooling) in one call after a
/// small warm-up call; reports time per pair and memory.
pub fn run(
    engine: &mut dyn Engine,
    engine_name: &str,
    shape: &str,
    precision: &str,
    pairs: &[Pair],
    tokenize: &dyn Fn(&str) -> Result<Vec<u32>>,
) -> Result<EmbeddingReport> {
    let mut toks = Vec::with_capacity(2 * pairs.len());
    for p in pairs {
        toks.push(tokenize(&p.a)?);
        toks.push(tokenize(&p.b)?);
    }
    let layers: Vec<usize> = (0..=engine.config().n_layer).collect();
    let pool = [Pooling::Mean];
    engine.embed_tokens(&toks[..toks.len().min(4)], &layers, &pool)?; // warm-up
    let t0 = Instant::now();
    let out = engine.embed_tokens(&toks, &layers, &pool)?;
    let seconds = t0.elapsed().as_secs_f64();
    debug_assert_eq!(out.n, toks.len());
    Ok(EmbeddingReport {
        engine: engine_name.into(),
        shape: shape.into(),
        precision: precision.into(),
        pairs: pairs.len(),
        sentences: toks.len(),
        tokens: toks.iter().map(Vec::len).sum(),
        layers: layers.len(),
        poolings: vec!["mean".into()],
        seconds,
        ms_per_pair: 1e3 * seconds / pairs.len().max(1) as f64,
        pairs_per_s: pairs.len() as f64 / seconds,
        peak_gpu_bytes: engine.peak_memory_bytes(),
        host_rss_bytes: rss_bytes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_glue_tsv_with_bom_and_bare_quotes() {
        let dir = std::env::temp_dir().join(format!("rwkv-lens-mrpc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("train.tsv");
        let body = "\u{feff}Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tHe said \"yes.\tShe agreed.\n0\t3\t4\tA\tB\n1\t5\t6\tC\tD\n";
        std::fs::write(&p, body).unwrap();
        let pairs = read_pairs(&p, 2).unwrap();
        assert_eq!(pairs.len(), 2);
        assert_eq!(
            pairs[0],
            Pair {
                label: 1,
                a: "He said \"yes.".into(),
                b: "She agreed.".into()
            }
        );
        assert_eq!(pairs[1].label, 0);
        std::fs::write(&p, "h\n1\tonly three\tcols\n").unwrap();
        let e = read_pairs(&p, 9).unwrap_err().to_string();
        assert!(e.contains("train.tsv:2:") && e.contains("3 columns"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
