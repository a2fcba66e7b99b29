//! The GloVe 6B 50d average-word-vector baseline.
//!
//! Tokenization (GloVe 6B's vocabulary is lower-cased Wikipedia + Gigaword, PTB-like,
//! with punctuation and clitics as words of their own):
//! 1. `’ ‘` → `'`, `“ ”` → `"`, then Unicode lower-case; split on whitespace.
//! 2. Each chunk, recursively: kept whole if it is a GloVe word (`u.s.`, `long-term`,
//!    `2.5`); else a leading non-alphanumeric character is split off; else a trailing
//!    one; else a clitic suffix `n't 's 're 've 'll 'd 'm` (`doesn't` → `does n't`);
//!    else it is split at its first inner non-alphanumeric character (`kras-driven` →
//!    `kras - driven`); else it stays one (unknown) word.
//! 3. The sentence vector is the mean of the vectors of its known tokens, punctuation
//!    included. Unknown tokens are counted; a sentence with no known token gets no
//!    vector: its pairs score cosine 0 and are counted in the results
//!    (`undefined_pairs`), never a NaN.
//!
//! Loading streams the gzipped text once and keeps only the words that some sentence
//! of the study could ask for (`candidates`), so 400k lines cost one decompression.
//! The page reads a trimmed, 8-bit table of the same vectors ([`Glove::from_bytes`])
//! and scores its pairs with this tokenizer and [`Glove::similarity`], so its dashed
//! GloVe line is the study's baseline.

use std::collections::{HashMap, HashSet};
#[cfg(feature = "native")]
use std::io::{BufRead, BufReader, Read};
#[cfg(feature = "native")]
use std::path::Path;

use crate::embed::cosine;
use crate::kit::hash::FileId;
#[cfg(feature = "native")]
use crate::kit::hash::Xxh64;
use crate::{Error, Result};

/// The tokenization in one line, as the study's results record it.
pub const TOKENIZATION: &str = "lower-case; whole chunk if a GloVe word, else split off leading/trailing punctuation, clitics (n't 's 're 've 'll 'd 'm) and inner punctuation; mean of known tokens (punctuation included); no known token → no vector, its pairs scored 0 and counted";

const CLITICS: [&str; 7] = ["n't", "'s", "'re", "'ve", "'ll", "'d", "'m"];

fn normalise(sentence: &str) -> String {
    sentence
        .chars()
        .map(|c| match c {
            '\u{2019}' | '\u{2018}' => '\'',
            '\u{201c}' | '\u{201d}' => '"',
            c => c,
        })
        .collect::<String>()
        .to_lowercase()
}

/// Tokens of `sentence`; `known` says whether a string is a GloVe word.
pub fn tokenize(sentence: &str, known: &mut dyn FnMut(&str) -> bool) -> Vec<String> {
    let text = normalise(sentence);
    let mut out = Vec::new();
    for chunk in text.split_whitespace() {
        split_chunk(chunk, known, &mut out);
    }
    out
}

fn split_chunk(w: &str, known: &mut dyn FnMut(&str) -> bool, out: &mut Vec<String>) {
    if w.is_empty() {
        return;
    }
    if known(w) {
        out.push(w.to_string());
        return;
    }
    let first = w.chars().next().expect("non-empty");
    let last = w.chars().next_back().expect("non-empty");
    if w.len() > first.len_utf8() && !first.is_alphanumeric() {
        out.push(first.to_string());
        return split_chunk(&w[first.len_utf8()..], known, out);
    }
    if w.len() > last.len_utf8() && !last.is_alphanumeric() {
        split_chunk(&w[..w.len() - last.len_utf8()], known, out);
        out.push(last.to_string());
        return;
    }
    if let Some(c) = CLITICS
        .iter()
        .find(|c| w.len() > c.len() && w.ends_with(*c))
    {
        split_chunk(&w[..w.len() - c.len()], known, out);
        out.push(c.to_string());
        return;
    }
    if let Some((i, sep)) = w.char_indices().find(|(_, c)| !c.is_alphanumeric()) {
        split_chunk(&w[..i], known, out);
        out.push(sep.to_string());
        return split_chunk(&w[i + sep.len_utf8()..], known, out);
    }
    out.push(w.to_string());
}

/// Every string the tokenizer could look up or emit for these sentences, whatever the
/// vocabulary: with `known` always false it takes every branch that any vocabulary could.
pub fn candidates<'a>(sentences: impl IntoIterator<Item = &'a str>) -> HashSet<String> {
    let mut set = HashSet::new();
    for s in sentences {
        let tokens = tokenize(s, &mut |w| {
            set.insert(w.to_string());
            false
        });
        set.extend(tokens);
    }
    set
}

/// Word vectors for the words a study needs.
#[derive(Debug, Clone)]
pub struct Glove {
    pub dim: usize,
    /// Lines in the file (the full vocabulary size).
    pub vocab_size: usize,
    pub id: FileId,
    index: HashMap<String, usize>,
    vectors: Vec<f32>,
}

/// A sentence vector and its token coverage.
#[derive(Debug, Clone, PartialEq)]
pub struct SentenceVector {
    /// `None` when no token is known.
    pub vector: Option<Vec<f32>>,
    pub tokens: usize,
    pub known: usize,
}

/// Hashes the compressed bytes as they stream through.
#[cfg(feature = "native")]
struct HashingReader<R> {
    inner: R,
    hash: Xxh64,
    bytes: u64,
}

#[cfg(feature = "native")]
impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

impl Glove {
    /// Parses the page's trimmed table, `RLG1 · u32 n · u32 dim · u32 words_len · words
    /// ('\n'-separated) · f32 scale[n] · i8 q[n][dim]` (format in
    /// `assets/demo-model/README.md`), dequantised to f32.
    pub fn from_bytes(source: &str, bytes: &[u8]) -> Result<Glove> {
        let bad = |msg: &str| Error::file(source, msg);
        if bytes.len() < 16 || &bytes[..4] != b"RLG1" {
            return Err(bad("not a trimmed GloVe table (expected the RLG1 magic)"));
        }
        let u32_at = |o: usize| u32::from_le_bytes([0, 1, 2, 3].map(|i| bytes[o + i])) as usize;
        let (n, dim, words_len) = (u32_at(4), u32_at(8), u32_at(12));
        let scales_at = 16 + words_len;
        let q_at = scales_at + 4 * n;
        if bytes.len() != q_at + n * dim {
            let want = q_at + n * dim;
            let msg = format!(
                "{} bytes, expected {want} for {n} words × {dim} dims",
                bytes.len()
            );
            return Err(bad(&msg));
        }
        let words = std::str::from_utf8(&bytes[16..scales_at])
            .map_err(|_| bad("the word list is not UTF-8"))?;
        let index: HashMap<String, usize> = words
            .split('\n')
            .enumerate()
            .map(|(i, w)| (w.to_string(), i))
            .collect();
        if index.len() != n {
            return Err(bad(&format!(
                "{} distinct words, header says {n}",
                index.len()
            )));
        }
        let mut vectors = Vec::with_capacity(n * dim);
        for (row, scale) in bytes[scales_at..q_at].chunks_exact(4).enumerate() {
            let scale = f32::from_le_bytes([scale[0], scale[1], scale[2], scale[3]]);
            let q = &bytes[q_at + row * dim..q_at + (row + 1) * dim];
            vectors.extend(q.iter().map(|&b| b as i8 as f32 * scale));
        }
        Ok(Glove {
            dim,
            vocab_size: n,
            id: FileId::of_bytes(source, bytes),
            index,
            vectors,
        })
    }

    /// Cosine of two sentences' vectors; `None` when either has no known token (the
    /// study scores such a pair 0 and counts it).
    pub fn similarity(&self, a: &str, b: &str) -> Option<f64> {
        cosine(
            self.embed(a).vector.as_deref()?,
            self.embed(b).vector.as_deref()?,
        )
    }

    /// Vector of a word, if loaded.
    pub fn get(&self, word: &str) -> Option<&[f32]> {
        let i = *self.index.get(word)?;
        Some(&self.vectors[i * self.dim..(i + 1) * self.dim])
    }

    /// Words loaded (those of the study's sentences found in the file).
    pub fn loaded_words(&self) -> usize {
        self.index.len()
    }

    /// Mean of the known tokens' vectors.
    pub fn embed(&self, sentence: &str) -> SentenceVector {
        let tokens = tokenize(sentence, &mut |w| self.index.contains_key(w));
        let mut sum = vec![0.0f64; self.dim];
        let mut known = 0;
        for v in tokens.iter().filter_map(|t| self.get(t)) {
            sum.iter_mut().zip(v).for_each(|(s, &x)| *s += x as f64);
            known += 1;
        }
        let vector = (known > 0).then(|| sum.iter().map(|s| (s / known as f64) as f32).collect());
        SentenceVector {
            vector,
            tokens: tokens.len(),
            known,
        }
    }
}

#[cfg(feature = "native")]
impl Glove {
    /// Reads `word v1 … vD` lines from a `.gz` (or plain) file, keeping `wanted` words.
    pub fn load(path: &Path, wanted: &HashSet<String>) -> Result<Glove> {
        let shown = path.display().to_string();
        let file = std::fs::File::open(path)
            .map_err(|e| Error::file(&shown, format!("cannot open: {e}")))?;
        let mut hashing = HashingReader {
            inner: file,
            hash: Xxh64::new(0),
            bytes: 0,
        };
        let mut glove = Glove {
            dim: 0,
            vocab_size: 0,
            id: FileId {
                path: shown.clone(),
                xxh64: String::new(),
                bytes: 0,
            },
            index: HashMap::new(),
            vectors: Vec::new(),
        };
        let gz = path.extension().is_some_and(|e| e == "gz");
        let text: Box<dyn Read + '_> = match gz {
            true => Box::new(flate2::read::MultiGzDecoder::new(&mut hashing)),
            false => Box::new(&mut hashing),
        };
        glove.read_lines(BufReader::with_capacity(1 << 20, text), wanted)?;
        std::io::copy(&mut hashing, &mut std::io::sink()).map_err(|e| Error::file(&shown, e))?;
        glove.id.xxh64 = format!("{:016x}", hashing.hash.digest());
        glove.id.bytes = hashing.bytes;
        if glove.vocab_size == 0 {
            return Err(Error::file(&shown, "no word vectors found"));
        }
        Ok(glove)
    }

    fn read_lines(&mut self, mut reader: impl BufRead, wanted: &HashSet<String>) -> Result<()> {
        let path = self.id.path.clone();
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| Error::file(&path, format!("cannot decompress/read: {e}")))?;
            if n == 0 {
                return Ok(());
            }
            self.vocab_size += 1;
            let text = std::str::from_utf8(&line)
                .map_err(|_| Error::row(&path, self.vocab_size, "not UTF-8"))?
                .trim_end();
            let (word, rest) = text.split_once(' ').unwrap_or((text, ""));
            if self.dim == 0 || wanted.contains(word) {
                self.add(word, rest, wanted.contains(word))?;
            }
        }
    }

    /// Parses one vector; the first line fixes the dimension.
    fn add(&mut self, word: &str, rest: &str, keep: bool) -> Result<()> {
        let row = self.vocab_size;
        let values: Vec<f32> = rest
            .split(' ')
            .map(|v| v.parse::<f32>().ok().filter(|x| x.is_finite()))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                Error::row(
                    &self.id.path,
                    row,
                    format!("`{word}`: a value is not a finite number"),
                )
            })?;
        if self.dim == 0 {
            self.dim = values.len();
        }
        if values.len() != self.dim || self.dim == 0 {
            return Err(Error::row(
                &self.id.path,
                row,
                format!(
                    "`{word}` has {} values, expected {}",
                    values.len(),
                    self.dim
                ),
            ));
        }
        if keep && !self.index.contains_key(word) {
            self.index
                .insert(word.to_string(), self.vectors.len() / self.dim);
            self.vectors.extend_from_slice(&values);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab<'a>(words: &'a [&'a str]) -> impl FnMut(&str) -> bool + 'a {
        move |w| words.contains(&w)
    }

    #[test]
    fn tokenization_rules() {
        let words: Vec<&str> = "u.s. long-term does n't fit \" , $ 2.5 ."
            .split(' ')
            .collect();
        let t = tokenize(
            "“U.S. long-term” doesn't fit, $2.5 Kras-driven.",
            &mut vocab(&words),
        );
        let expected = "\" u.s. long-term \" does n't fit , $ 2.5 kras - driven .";
        assert_eq!(t, expected.split(' ').collect::<Vec<_>>());
    }

    #[test]
    fn dequantises_the_page_table() {
        let mut b = b"RLG1".to_vec();
        for v in [2u32, 2, 7] {
            b.extend(v.to_le_bytes());
        }
        b.extend(b"cat\ndog");
        [0.5f32, 2.0].iter().for_each(|s| b.extend(s.to_le_bytes()));
        b.extend([127u8, 0, 0, (-64i8) as u8]);
        let g = Glove::from_bytes("g", &b).unwrap();
        assert_eq!(g.get("cat").unwrap(), [63.5, 0.0]);
        assert_eq!(g.get("dog").unwrap(), [0.0, -128.0]);
        // "Cat dog" → mean (31.75, -64); "cat" → (63.5, 0)
        let want = 31.75 / (31.75f64.powi(2) + 64.0f64.powi(2)).sqrt();
        assert!((g.similarity("Cat dog", "cat").unwrap() - want).abs() < 1e-12);
        assert_eq!(g.similarity("zebra", "cat"), None);
        assert!(Glove::from_bytes("g", b"RLG0xxxxxxxxxxxx").is_err());
    }

    #[test]
    fn candidates_cover_every_lookup() {
        let s = "Dominick's long-term (Kras-driven) U.S. students' $693";
        let set = candidates([s]);
        // Any vocabulary: all lookups it makes are in the candidate set.
        for vocab_words in [vec![], vec!["dominick's"], vec!["kras-driven)", "u.s."]] {
            let mut asked = Vec::new();
            let toks = tokenize(s, &mut |w| {
                asked.push(w.to_string());
                vocab_words.contains(&w)
            });
            assert!(
                asked.iter().chain(&toks).all(|w| set.contains(w)),
                "{vocab_words:?}"
            );
        }
    }
}
