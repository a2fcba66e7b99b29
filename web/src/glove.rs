//! The GloVe-average reference line: a trimmed GloVe 6B 50d table (the 20k most frequent
//! words, 8 bits per value; format in `assets/demo-model/README.md`) and the cosine of
//! two sentences' mean word vectors.

use std::collections::HashMap;

use rwkv_lens::{Error, Result};

/// Word vectors, dequantised to f32 on load (20k × 50 × 4 B = 4 MB).
pub struct Glove {
    pub dim: usize,
    index: HashMap<String, usize>,
    values: Vec<f32>,
}

impl Glove {
    /// Parses `RLG1 · u32 n · u32 dim · u32 words_len · words · f32 scale[n] · i8 q[n][dim]`.
    pub fn from_bytes(source: &str, bytes: &[u8]) -> Result<Glove> {
        let bad = |msg: &str| Error::file(source, msg);
        if bytes.len() < 16 || &bytes[..4] != b"RLG1" {
            return Err(bad("not a trimmed GloVe table (expected the RLG1 magic)"));
        }
        let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap()) as usize;
        let (n, dim, words_len) = (u32_at(4), u32_at(8), u32_at(12));
        let scales_at = 16 + words_len;
        let q_at = scales_at + 4 * n;
        if bytes.len() != q_at + n * dim {
            return Err(bad(&format!(
                "{} bytes, expected {} for {n} words × {dim} dims",
                bytes.len(),
                q_at + n * dim
            )));
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
        let mut values = Vec::with_capacity(n * dim);
        for (row, scale) in bytes[scales_at..q_at].chunks_exact(4).enumerate() {
            let scale = f32::from_le_bytes(scale.try_into().unwrap());
            let q = &bytes[q_at + row * dim..q_at + (row + 1) * dim];
            values.extend(q.iter().map(|&b| b as i8 as f32 * scale));
        }
        Ok(Glove { dim, index, values })
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn vector(&self, word: &str) -> Option<&[f32]> {
        let i = *self.index.get(word)?;
        Some(&self.values[i * self.dim..(i + 1) * self.dim])
    }

    /// Mean vector of the sentence's known words, or `None` when none is known.
    pub fn sentence(&self, text: &str) -> Option<Vec<f32>> {
        let mut sum = vec![0.0; self.dim];
        let mut known = 0;
        for word in tokenize(text) {
            if let Some(v) = self.vector(&word) {
                sum.iter_mut().zip(v).for_each(|(s, x)| *s += x);
                known += 1;
            }
        }
        (known > 0).then(|| sum.into_iter().map(|s| s / known as f32).collect())
    }

    /// Cosine of the two sentences' mean vectors (`None` if either has no known word).
    pub fn similarity(&self, a: &str, b: &str) -> Option<f32> {
        Some(cosine(&self.sentence(a)?, &self.sentence(b)?))
    }
}

/// Lower-cased words and single punctuation marks, the way GloVe 6B spells its tokens:
/// `"Don't panic!"` → `do n't panic !`.
pub fn tokenize(text: &str) -> Vec<String> {
    let lower = text.replace(['\u{2019}', '\u{2018}'], "'").to_lowercase();
    let mut out = Vec::new();
    for chunk in lower.split_whitespace() {
        let mut word = String::new();
        for c in chunk.chars() {
            if c.is_alphanumeric() || c == '\'' {
                word.push(c);
            } else {
                push_word(&mut out, &mut word);
                out.push(c.to_string());
            }
        }
        push_word(&mut out, &mut word);
    }
    out
}

/// Pushes a word, splitting English clitics off (`don't` → `do n't`, `it's` → `it 's`).
fn push_word(out: &mut Vec<String>, word: &mut String) {
    if word.is_empty() {
        return;
    }
    let w = std::mem::take(word);
    for clitic in ["n't", "'s", "'re", "'ve", "'ll", "'d", "'m"] {
        if w.len() > clitic.len() && w.ends_with(clitic) {
            out.push(w[..w.len() - clitic.len()].to_string());
            out.push(clitic.to_string());
            return;
        }
    }
    out.push(w);
}

/// Cosine similarity; 0 when either vector is zero.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        ab += x as f64 * y as f64;
        aa += x as f64 * x as f64;
        bb += y as f64 * y as f64;
    }
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        (ab / (aa.sqrt() * bb.sqrt())) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(words: &[&str], rows: &[[i8; 2]], scales: &[f32]) -> Vec<u8> {
        let text = words.join("\n");
        let mut b = b"RLG1".to_vec();
        for v in [words.len() as u32, 2, text.len() as u32] {
            b.extend(v.to_le_bytes());
        }
        b.extend(text.as_bytes());
        scales.iter().for_each(|s| b.extend(s.to_le_bytes()));
        rows.iter().flatten().for_each(|&q| b.push(q as u8));
        b
    }

    #[test]
    fn tokenizes_like_glove() {
        assert_eq!(
            tokenize("Don't panic, it's fine!"),
            ["do", "n't", "panic", ",", "it", "'s", "fine", "!"]
        );
    }

    #[test]
    fn dequantises_and_averages() {
        let g = Glove::from_bytes(
            "g",
            &table(&["cat", "dog"], &[[127, 0], [0, -64]], &[0.5, 2.0]),
        )
        .unwrap();
        assert_eq!(g.vector("cat").unwrap(), [63.5, 0.0]);
        assert_eq!(g.vector("dog").unwrap(), [0.0, -128.0]);
        // "Cat dog" → mean (31.75, -64); "cat" → (63.5, 0): cos = 31.75·63.5 / (|m|·63.5)
        let want = 31.75 / (31.75f32.powi(2) + 64.0f32.powi(2)).sqrt();
        assert!((g.similarity("Cat dog", "cat").unwrap() - want).abs() < 1e-6);
        assert_eq!(g.similarity("zebra", "cat"), None);
        assert!(Glove::from_bytes("g", b"RLG0xxxxxxxxxxxx").is_err());
    }
}
