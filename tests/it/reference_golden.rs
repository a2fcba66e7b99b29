//! The plain-Rust reference against goldens written by BlinkDL's official `rwkv`
//! package (0.8.32, cpu fp32): every layer, every real position, final states, logits.

use crate::common::{assert_final_states, checkpoint, max_abs, max_err, Golden};
use rwkv_lens::model::{layout::hf_name, Checkpoint};
use rwkv_lens::reference::{forward, Options, Weights};

const TOL: f32 = 1e-5;

fn check_fixture(name: &str) {
    let weights = Weights::from_checkpoint(&checkpoint(name)).unwrap();
    let golden = Golden::open(name);
    let (c, layers) = (weights.config.n_embd, weights.config.n_layer);
    let seqs: Vec<Vec<u32>> = (0..golden.sequences()).map(|s| golden.tokens(s)).collect();
    // the whole set as one padded batch
    let out = forward(
        &weights,
        &seqs,
        &Options {
            states: true,
            logits: true,
        },
    )
    .unwrap();
    let (mut worst, mut worst_abs) = (vec![0.0f32; layers + 1], vec![0.0f32; layers + 1]);
    for (b, seq) in seqs.iter().enumerate() {
        let len = seq.len();
        let want = golden.f32(&format!("hidden.{b}"));
        assert_eq!(want.shape, vec![layers + 1, len, c]);
        for l in 0..=layers {
            let got = &out.hidden[l][b * out.t_max * c..(b * out.t_max + len) * c];
            let want = &want.data[l * len * c..(l + 1) * len * c];
            let err = max_err(got, want);
            worst[l] = worst[l].max(err);
            worst_abs[l] = worst_abs[l].max(max_abs(got, want));
            assert!(err < TOL, "{name} seq {b} layer {l}: max err {err:e}");
        }
        let v = weights.config.vocab_size;
        let logits = &out.logits.as_ref().unwrap()[b * out.t_max * v..(b * out.t_max + len) * v];
        let err = max_err(logits, &golden.f32(&format!("logits.{b}")).data);
        assert!(err < TOL, "{name} seq {b} logits: max err {err:e}");
        assert_final_states(name, &out, &golden, b, TOL);
    }
    println!(
        "{name}: max |diff| per layer: {worst_abs:?}; scaled by max(1, max|golden|): {worst:?}"
    );
}

#[test]
fn matches_official_package_f32() {
    check_fixture("tiny-v6");
}

#[test]
fn matches_official_package_f16_weights() {
    check_fixture("tiny-v6-f16");
}

#[test]
fn padded_batch_equals_each_sequence_alone() {
    let weights = Weights::from_checkpoint(&checkpoint("tiny-v6")).unwrap();
    let golden = Golden::open("tiny-v6");
    let seqs: Vec<Vec<u32>> = (0..golden.sequences()).map(|s| golden.tokens(s)).collect();
    let opts = Options {
        states: true,
        logits: false,
    };
    let batch = forward(&weights, &seqs, &opts).unwrap();
    let c = weights.config.n_embd;
    for (b, seq) in seqs.iter().enumerate() {
        let alone = forward(&weights, std::slice::from_ref(seq), &opts).unwrap();
        for l in 0..batch.hidden.len() {
            let got = &batch.hidden[l][b * batch.t_max * c..(b * batch.t_max + seq.len()) * c];
            assert_eq!(
                got,
                &alone.hidden[l][..],
                "seq {b} layer {l} differs in a batch"
            );
        }
        let wkv = alone.states.as_ref().unwrap()[0].wkv.len();
        assert_eq!(
            &batch.states.as_ref().unwrap()[0].wkv[b * wkv..(b + 1) * wkv],
            &alone.states.as_ref().unwrap()[0].wkv[..]
        );
    }
}

#[test]
fn hf_layout_gives_identical_outputs() {
    let official = checkpoint("tiny-v6");
    let renamed: Vec<_> = official
        .tensors()
        .map(|(n, t)| (hf_name(n), t.clone()))
        .collect();
    let hf = Checkpoint::from_tensors("hf-copy", renamed, 0).unwrap();
    assert_eq!(hf.layout, rwkv_lens::model::Layout::HuggingFace);
    let toks = vec![Golden::open("tiny-v6").tokens(3)];
    let a = forward(
        &Weights::from_checkpoint(&official).unwrap(),
        &toks,
        &Options::default(),
    )
    .unwrap();
    let b = forward(
        &Weights::from_checkpoint(&hf).unwrap(),
        &toks,
        &Options::default(),
    )
    .unwrap();
    assert_eq!(a.hidden, b.hidden);
}

#[test]
fn out_of_vocabulary_token_is_a_clear_error() {
    let weights = Weights::from_checkpoint(&checkpoint("tiny-v6")).unwrap();
    let err = forward(&weights, &[vec![1, 600]], &Options::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("token id 600") && err.contains("512"), "{err}");
    let err = forward(&weights, &[vec![]], &Options::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no tokens"), "{err}");
}
