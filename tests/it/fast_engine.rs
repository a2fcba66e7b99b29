//! The fast CPU engine (`reference::fast`: weights in the checkpoint's own 16 bits, its
//! own SIMD GEMM, every core) against the official package's goldens and the f32 oracle,
//! at every weight precision it runs: f32 (tiny-v6), f16 (tiny-v6-f16), bf16 (tiny-v6's
//! `.pth`), and the long fixture (1025 to 5000 tokens).
//!
//! Its tolerance, [`FAST_TOL`], is stated apart from the oracle's 1e-5: the same f32
//! maths with the products summed in another order, so it differs from the oracle by
//! f32 rounding only, and from the goldens by at most that plus the oracle's own error.

use crate::common;

use common::{assert_final_states, checkpoint, fixture, max_err, sci, Golden};
use rwkv_lens::embed::{Engine, Pooling};
use rwkv_lens::model::load::load;
use rwkv_lens::reference::fast::{forward_with, FastWeights};
use rwkv_lens::reference::{forward, FastEngine, LayerState, Options, Output, Weights};

/// The fast engine against the goldens and the oracle: max |diff| / max(1, max |golden|)
/// per tensor (the oracle's bound is 1e-5; measured: see the `println!`s).
const FAST_TOL: f32 = 2e-5;

/// The fast engine's per-layer hidden states padded as the oracle's `Output`.
fn fast_output(w: &FastWeights, seqs: &[Vec<u32>]) -> Output {
    let lengths: Vec<usize> = seqs.iter().map(Vec::len).collect();
    let t_max = lengths.iter().copied().max().unwrap_or(0);
    let packing = rwkv_lens::reference::Packing::new(&lengths);
    let c = w.config.n_embd;
    let mut hidden = Vec::new();
    let (_, states) = forward_with(w, seqs, true, |_, x| {
        hidden.push(rwkv_lens::reference::pad(x, &packing, c, t_max))
    })
    .unwrap();
    Output {
        hidden,
        lengths,
        t_max,
        states,
        logits: None,
    }
}

/// Worst max_err per layer of `a` against `b` over every real position.
fn per_layer(a: &Output, b: &Output, c: usize) -> Vec<f32> {
    let mut worst = vec![0.0f32; a.hidden.len()];
    for (s, &len) in a.lengths.iter().enumerate() {
        for (l, w) in worst.iter_mut().enumerate() {
            let at = |o: &Output| o.hidden[l][s * o.t_max * c..(s * o.t_max + len) * c].to_vec();
            *w = w.max(max_err(&at(a), &at(b)));
        }
    }
    worst
}

fn states_err(a: &[LayerState], b: &[LayerState]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let e = max_err(&x.att_shift, &y.att_shift).max(max_err(&x.ffn_shift, &y.ffn_shift));
            e.max(max_err(&x.wkv, &y.wkv))
        })
        .fold(0.0, f32::max)
}

/// Every layer and final state within [`FAST_TOL`] of the golden and of the oracle.
fn check_fixture(name: &str) {
    let ck = checkpoint(name);
    let fast = FastWeights::from_checkpoint(&ck).unwrap();
    let oracle = Weights::from_checkpoint(&ck).unwrap();
    let golden = Golden::open(name);
    let c = fast.config.n_embd;
    let seqs: Vec<Vec<u32>> = (0..golden.sequences()).map(|s| golden.tokens(s)).collect();
    let out = fast_output(&fast, &seqs);
    let layers = fast.config.n_layer;
    let mut worst = vec![0.0f32; layers + 1];
    for (b, seq) in seqs.iter().enumerate() {
        let want = golden.f32(&format!("hidden.{b}"));
        for (l, w) in worst.iter_mut().enumerate() {
            let len = seq.len();
            let got = &out.hidden[l][b * out.t_max * c..(b * out.t_max + len) * c];
            let err = max_err(got, &want.data[l * len * c..(l + 1) * len * c]);
            *w = w.max(err);
            assert!(err < FAST_TOL, "{name} seq {b} layer {l}: max err {err:e}");
        }
        assert_final_states(name, &out, &golden, b, FAST_TOL);
    }
    let opts = Options {
        states: true,
        logits: false,
    };
    let reference = forward(&oracle, &seqs, &opts).unwrap();
    let vs_oracle = per_layer(&out, &reference, c);
    let states = states_err(
        out.states.as_ref().unwrap(),
        reference.states.as_ref().unwrap(),
    );
    println!(
        "{name}: fast vs golden per layer {}; vs the f32 oracle {}, final states {states:.2e}",
        sci(&worst),
        sci(&vs_oracle)
    );
    assert!(vs_oracle.iter().all(|&e| e < FAST_TOL) && states < FAST_TOL);
}

#[test]
fn f32_weights_match_the_official_package() {
    check_fixture("tiny-v6");
}

#[test]
fn f16_weights_match_the_official_package() {
    check_fixture("tiny-v6-f16");
}

#[test]
fn f16_weights_stay_16_bit_views_of_the_checkpoint() {
    let ck = checkpoint("tiny-v6-f16");
    let fast = FastWeights::from_checkpoint(&ck).unwrap();
    let b = &fast.blocks[0];
    assert_eq!(
        b.att.key.view().kind,
        rwkv_lens::reference::fast::gemm::Kind::F16
    );
    assert!(
        b.att.key.is_shared() && fast.emb.is_shared(),
        "mapped, not copied"
    );
    assert_eq!(
        b.ffn.key.bytes(),
        2 * fast.config.ffn_dim * fast.config.n_embd
    );
}

/// bf16 (the `.pth`): against the f32 oracle on the same weights (the package rounds
/// layer 0 to bf16, tests/bf16_golden.rs, so its goldens judge the oracle, not this).
#[test]
fn bf16_weights_match_the_oracle() {
    let ck = load(&fixture("tiny-v6/model.pth")).unwrap();
    let fast = FastWeights::from_checkpoint(&ck).unwrap();
    assert_eq!(
        fast.blocks[0].att.key.view().kind,
        rwkv_lens::reference::fast::gemm::Kind::Bf16
    );
    let oracle = Weights::from_checkpoint(&ck).unwrap();
    let golden = Golden::open("tiny-v6");
    let seqs: Vec<Vec<u32>> = (0..golden.sequences()).map(|s| golden.tokens(s)).collect();
    let out = fast_output(&fast, &seqs);
    let opts = Options {
        states: true,
        logits: false,
    };
    let reference = forward(&oracle, &seqs, &opts).unwrap();
    let errs = per_layer(&out, &reference, fast.config.n_embd);
    let states = states_err(
        out.states.as_ref().unwrap(),
        reference.states.as_ref().unwrap(),
    );
    println!(
        "bf16: fast vs the f32 oracle per layer {}, final states {states:.2e}",
        sci(&errs)
    );
    assert!(errs.iter().all(|&e| e < FAST_TOL) && states < FAST_TOL);
}

/// 1025, 4097 and 5000 tokens: the final states against the goldens (the per-layer means
/// and sampled rows are the oracle's test, tests/long_golden.rs; the state carries every
/// token's rounding).
#[test]
fn long_sequences_match_the_official_final_state() {
    let name = "tiny-v6-long";
    let fast = FastWeights::from_checkpoint(&checkpoint(name)).unwrap();
    let golden = Golden::open(name);
    let seqs: Vec<Vec<u32>> = (0..golden.sequences()).map(|s| golden.tokens(s)).collect();
    let out = fast_output(&fast, &seqs);
    for b in 0..seqs.len() {
        assert_final_states(name, &out, &golden, b, FAST_TOL);
    }
}

/// A sequence gets the same bits alone or in a batch, as with the oracle.
#[test]
fn a_batch_equals_each_sequence_alone_bit_for_bit() {
    let fast = FastWeights::from_checkpoint(&checkpoint("tiny-v6-f16")).unwrap();
    let golden = Golden::open("tiny-v6-f16");
    let seqs: Vec<Vec<u32>> = (0..golden.sequences()).map(|s| golden.tokens(s)).collect();
    let batch = fast_output(&fast, &seqs);
    let c = fast.config.n_embd;
    for (b, seq) in seqs.iter().enumerate() {
        let alone = fast_output(&fast, std::slice::from_ref(seq));
        for l in 0..batch.hidden.len() {
            let got = &batch.hidden[l][b * batch.t_max * c..(b * batch.t_max + seq.len()) * c];
            assert_eq!(got, &alone.hidden[l][..], "seq {b} layer {l}");
        }
    }
}

/// The engine behind the `Engine` trait pools what the forward computes.
#[test]
fn the_engine_pools_its_forward() {
    let ck = checkpoint("tiny-v6-f16");
    let mut engine = FastEngine::new(&ck).unwrap();
    assert!(engine.name().contains("f16"), "{}", engine.name());
    let toks = vec![vec![1, 2, 3, 4, 5], vec![9, 8]];
    let layers: Vec<usize> = (0..=engine.config().n_layer).collect();
    let e = engine
        .embed_tokens(&toks, &layers, &[Pooling::Last])
        .unwrap();
    let out = fast_output(engine.weights(), &toks);
    let c = engine.config().n_embd;
    let last = &out.hidden[layers.len() - 1][(out.t_max + 1) * c..(out.t_max + 2) * c];
    assert_eq!(e.get(0, layers.len() - 1, 1), last);
}
