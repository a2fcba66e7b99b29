//! Where a fetched STS12–16 or SICK-R pair comes from.
//!
//! The hub's MTEB copies of these sets hold each pair's sentences and score but not its
//! source subset (MSRpar, OnWN, headlines, …) nor SICK's SemEval split, which the
//! study's domains and splits need. `assets/data-index/` (written from the source files
//! by `scripts/make_data_index.py`) maps a key of each pair's text to that provenance,
//! in the source files' order; it stores keys, never text.
//!
//! Key: the first 12 hex digits of SHA-256 over `norm(s1) \t norm(s2)`, where `norm`
//! keeps only the ASCII letters and digits, lower-cased, so a copy that was
//! re-tokenised, re-cased or re-spaced still finds its pair. Text that repeats within
//! one file is told apart by its gold score, then taken in order of occurrence. In STS
//! the repeats with equal scores all sit in one subset, so no pair changes subset; in
//! SICK 11 such twins sit in two splits, and at most their pair_IDs trade places (each
//! split still holds the same texts and scores).

use std::collections::HashMap;
use std::io::Read;

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The key of a sentence pair (see the module's header).
pub fn pair_key(s1: &str, s2: &str) -> String {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let digest = Sha256::digest(format!("{}\t{}", norm(s1), norm(s2)).as_bytes());
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// One indexed pair: its gold score in the source and its provenance fields.
struct Entry {
    score: f64,
    fields: Vec<String>,
    used: bool,
}

/// A provenance index: entries in source order, looked up by (group, key).
pub struct Index {
    name: &'static str,
    entries: Vec<Entry>,
    by_key: HashMap<(String, String), Vec<usize>>,
}

/// The index of STS 2012–2016: fields `year, split, subset, line`; grouped by
/// `year/split` (one hub file each).
pub fn sts() -> Index {
    let bytes = include_bytes!("../../assets/data-index/sts12-16.tsv.gz");
    Index::parse("assets/data-index/sts12-16.tsv.gz", bytes, |f| {
        format!("{}/{}", f[0], f[1])
    })
}

/// The index of SICK-R: fields `split, pair_ID`; one group (the hub holds one file).
pub fn sick() -> Index {
    let bytes = include_bytes!("../../assets/data-index/sickr.tsv.gz");
    Index::parse("assets/data-index/sickr.tsv.gz", bytes, |_| String::new())
}

impl Index {
    /// A gzipped TSV `key, score, fields…` with a header line. The files are compiled
    /// in and checked by the tests, so a malformed line is a build defect: it panics.
    fn parse(name: &'static str, gz: &[u8], group: impl Fn(&[String]) -> String) -> Index {
        let mut text = String::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_string(&mut text)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut index = Index {
            name,
            entries: Vec::new(),
            by_key: HashMap::new(),
        };
        for line in text.lines().skip(1) {
            let cells: Vec<&str> = line.split('\t').collect();
            let fields: Vec<String> = cells[2..].iter().map(|s| s.to_string()).collect();
            let at = (group(&fields), cells[0].to_string());
            index
                .by_key
                .entry(at)
                .or_default()
                .push(index.entries.len());
            index.entries.push(Entry {
                score: cells[1].parse().unwrap_or_else(|e| panic!("{name}: {e}")),
                fields,
                used: false,
            });
        }
        index
    }

    /// Number of pairs indexed in `group` (`""` for every group).
    pub fn len_of(&self, group: &str) -> usize {
        self.by_key
            .iter()
            .filter(|((g, _), _)| group.is_empty() || g == group)
            .map(|(_, v)| v.len())
            .sum()
    }

    /// The provenance of a pair in `group` with gold `score`: its position in source
    /// order, its fields, and whether the index's score agrees. A pair found twice takes
    /// the next unused entry (one with the same score first).
    pub fn take(
        &mut self,
        shown: &str,
        row: usize,
        group: &str,
        (s1, s2, score): (&str, &str, f64),
    ) -> Result<(usize, &[String], bool)> {
        let key = (group.to_string(), pair_key(s1, s2));
        let candidates = self.by_key.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        let unused = || {
            candidates
                .iter()
                .copied()
                .filter(|&i| !self.entries[i].used)
        };
        let same = |i: &usize| (self.entries[*i].score - score).abs() < 1e-4;
        let Some(at) = unused().find(same).or_else(|| unused().next()) else {
            let why = match candidates {
                [] => "is not in",
                _ => "repeats more often than in",
            };
            return Err(Error::row(
                shown,
                row,
                format!(
                    "this pair {why} {}, the index of the source files' pairs, so its \
                     subset is unknown (the source files themselves work with `--data-dir`)",
                    self.name
                ),
            ));
        };
        let entry = &mut self.entries[at];
        entry.used = true;
        let agrees = (entry.score - score).abs() < 1e-4;
        Ok((at, &entry.fields, agrees))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_case_spacing_and_punctuation() {
        assert_eq!(
            pair_key("Don't  stop.", "A b"),
            pair_key("do n't stop", "a B ")
        );
        assert_ne!(pair_key("a", "b"), pair_key("b", "a"));
        // The script's key of the first STS12 train pair (scripts/make_data_index.py).
        let s1 = "But other sources close to the sale said Vivendi was keeping the door open to further bids and hoped to see bidders interested in individual assets team up.";
        let s2 = "But other sources close to the sale said Vivendi was keeping the door open for further bids in the next day or two.";
        assert_eq!(pair_key(s1, s2), "1fbc5bd14ecc");
    }

    #[test]
    fn indexes_hold_the_official_counts() {
        let sts = sts();
        let counts = [
            ("2012/test", 3108),
            ("2012/train", 2234),
            ("2013/test", 1500),
            ("2014/test", 3750),
            ("2015/test", 3000),
            ("2016/test", 1186),
        ];
        for (group, n) in counts {
            assert_eq!(sts.len_of(group), n, "{group}");
        }
        assert_eq!(sick().len_of(""), 4927 + 4500 + 500);
    }

    #[test]
    fn repeats_are_told_apart_by_score_then_order() {
        let mut idx = sick();
        // SICK pair 6 of the test split (its text is in the index's source file).
        let (s1, s2) = (
            "There is no boy playing outdoors and there is no man smiling",
            "A group of kids is playing in a yard and an old man is standing in the background",
        );
        let (at, fields, agrees) = idx.take("f", 1, "", (s1, s2, 3.3)).unwrap();
        assert_eq!(
            (at, fields.to_vec(), agrees),
            (0, vec!["test".into(), "6".into()], true)
        );
        let e = idx.take("f", 2, "", (s1, s2, 3.3)).unwrap_err().to_string();
        assert!(e.starts_with("f:2: this pair repeats more often"), "{e}");
        let e = idx
            .take("f", 3, "", ("no such", "pair", 1.0))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("is not in assets/data-index/sickr.tsv.gz"),
            "{e}"
        );
    }
}
