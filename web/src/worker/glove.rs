//! The GloVe-average reference line: the study's tokenizer and sentence vectors
//! (`rwkv_lens::glove`) over the trimmed GloVe 6B 50d table (the 20k most
//! frequent words, 8 bits per value; format in `assets/demo-model/README.md`).

use rwkv_lens::Result;

/// Word vectors, dequantised to f32 on load (20k × 50 × 4 B = 4 MB).
pub struct Glove(rwkv_lens::glove::Glove);

impl Glove {
    pub fn from_bytes(source: &str, bytes: &[u8]) -> Result<Glove> {
        rwkv_lens::glove::Glove::from_bytes(source, bytes).map(Glove)
    }

    /// Words in the table.
    pub fn len(&self) -> usize {
        self.0.loaded_words()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cosine of the two sentences' mean vectors (`None` if either has no known word),
    /// exactly the study's baseline score.
    pub fn similarity(&self, a: &str, b: &str) -> Option<f32> {
        self.0.similarity(a, b).map(|c| c as f32)
    }
}

/// Cosine similarity; 0 when either vector is zero.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    rwkv_lens::embed::cosine(a, b).unwrap_or(0.0) as f32
}
