//! From pooled per-layer embeddings to the numbers on the page: the cosine similarity of
//! each sentence pair at every layer, for mean and last-token pooling.

use rwkv_lens::embed::{Embeddings, Pooling};

use super::glove::cosine;
#[cfg(target_arch = "wasm32")]
use {
    super::glove::Glove,
    super::js::{check_cancel, yield_now},
    crate::protocol::{PairResult, Reply, Stage},
    rwkv_lens::tokenizer::Tokenizer,
    rwkv_lens::{Error, Result},
};

/// The poolings computed in every run (the selector only switches the view).
pub const POOLINGS: [Pooling; 2] = [Pooling::Mean, Pooling::Last];

/// Cosines per pair and layer. `emb` holds texts `2i` (a) and `2i+1` (b) of pair i,
/// computed with [`POOLINGS`].
pub fn pair_cosines(emb: &Embeddings, pair: usize) -> (Vec<f32>, Vec<f32>) {
    let per = |p: usize| -> Vec<f32> {
        (0..emb.layers.len())
            .map(|l| cosine(emb.get(p, l, 2 * pair), emb.get(p, l, 2 * pair + 1)))
            .collect()
    };
    (per(0), per(1))
}

/// Every pair through one model, pair by pair: both sentences tokenized by `tokenizer`
/// (an error names the pair and side, after `label` when given), embedded by `embed` at
/// every layer with [`POOLINGS`], their cosines. Before each pair a progress message and
/// a yield, so a Cancel is read.
#[cfg(target_arch = "wasm32")]
pub async fn compare_pairs(
    texts: &[(String, String)],
    (tokenizer, label): (&Tokenizer, Option<&str>),
    mut embed: impl AsyncFnMut(&[Vec<u32>]) -> Result<Embeddings>,
    glove: Option<&Glove>,
    post: &impl Fn(Reply),
) -> Result<Vec<PairResult>> {
    let mut out = Vec::with_capacity(texts.len());
    for (i, (a, b)) in texts.iter().enumerate() {
        post(Reply::Progress {
            stage: Stage::Compare,
            done: i as f64,
            total: Some(texts.len() as f64),
        });
        yield_now().await;
        check_cancel("Compare")?;
        let enc = |t: &str, side: &str| {
            tokenizer.encode(t).map_err(|e| {
                let at = format!("pair {}, sentence {side}: {e}", i + 1);
                Error::input(label.map_or(at.clone(), |l| format!("{l}: {at}")))
            })
        };
        let tokens = vec![enc(a, "A")?, enc(b, "B")?];
        let emb = embed(&tokens).await?;
        let (mean, last) = pair_cosines(&emb, 0);
        out.push(PairResult {
            a: a.clone(),
            b: b.clone(),
            tokens: (tokens[0].len(), tokens[1].len()),
            mean,
            last,
            glove: glove.and_then(|g| g.similarity(a, b)),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosines_per_layer_and_pooling() {
        // 1 pair (2 texts), layers [0, 1], dim 2.
        let mut e = Embeddings::zeros(&[0, 1], &POOLINGS, 2, 2);
        e.get_mut(0, 0, 0).copy_from_slice(&[1.0, 0.0]);
        e.get_mut(0, 0, 1).copy_from_slice(&[1.0, 1.0]);
        e.get_mut(0, 1, 0).copy_from_slice(&[1.0, 0.0]);
        e.get_mut(0, 1, 1).copy_from_slice(&[-2.0, 0.0]);
        e.get_mut(1, 0, 0).copy_from_slice(&[0.0, 3.0]);
        e.get_mut(1, 0, 1).copy_from_slice(&[0.0, 1.0]);
        let (mean, last) = pair_cosines(&e, 0);
        assert!((mean[0] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert_eq!(mean[1], -1.0);
        assert_eq!(last, [1.0, 0.0]); // layer 1 of `last` is all zeros → 0
    }
}
