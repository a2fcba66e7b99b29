//! Per-layer cosine similarities of sentence pairs with the CPU reference: the numbers
//! the browser end-to-end test is held to (`tests/e2e/expected.json`,
//! `tests/e2e/stream-expected.json`).

use rwkv_lens::embed::{Engine, Pooling};
use rwkv_lens::model::Checkpoint;
use rwkv_lens::reference::CpuEngine;
use rwkv_lens::tokenizer::Tokenizer;

/// `[pair][layer]` cosine similarities per pooling.
#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
pub struct Table {
    pub mean: Vec<Vec<f64>>,
    pub last: Vec<Vec<f64>>,
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

/// Per-layer cosines of each pair with the CPU reference, both poolings.
pub fn similarities(ck: &Checkpoint, tok: &Tokenizer, pairs: &[(String, String)]) -> Table {
    layer_cosines(&mut CpuEngine::new(ck).unwrap(), tok, pairs)
}

/// Per-layer cosines of each pair with any engine (layers `0..=L`), both poolings.
pub fn layer_cosines(
    engine: &mut dyn Engine,
    tok: &Tokenizer,
    pairs: &[(String, String)],
) -> Table {
    let texts: Vec<Vec<u32>> = pairs
        .iter()
        .flat_map(|(a, b)| [tok.encode(a).unwrap(), tok.encode(b).unwrap()])
        .collect();
    let layers: Vec<usize> = (0..=engine.config().n_layer).collect();
    let poolings = [Pooling::Mean, Pooling::Last];
    let emb = engine.embed_tokens(&texts, &layers, &poolings).unwrap();
    let table = |p: usize| -> Vec<Vec<f64>> {
        (0..pairs.len())
            .map(|i| {
                (0..layers.len())
                    .map(|l| cosine(emb.get(p, l, 2 * i), emb.get(p, l, 2 * i + 1)))
                    .collect()
            })
            .collect()
    };
    Table {
        mean: table(0),
        last: table(1),
    }
}

/// Native numbers agree to 1e-5 (deterministic: only the summation order may differ).
pub fn assert_close(name: &str, got: &[Vec<f64>], want: &[Vec<f64>]) {
    for (i, (gp, wp)) in got.iter().zip(want).enumerate() {
        for (l, (a, b)) in gp.iter().zip(wp).enumerate() {
            assert!(
                (a - b).abs() < 1e-5,
                "{name} pair {i} layer {l}: {a} vs {b}"
            );
        }
    }
}
