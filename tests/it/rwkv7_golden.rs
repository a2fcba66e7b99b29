//! The plain-Rust RWKV-7 forward against goldens written by BlinkDL's official `rwkv`
//! package (0.8.32, `RWKV_V7_ON=1`, cpu fp32) through `scripts/make_goldens_v7.py`:
//! every layer, every position, final states and logits; the fla and Hugging Face
//! layouts; a padded batch against each sequence alone; the chunked WKV against the
//! recurrence; the bad inputs of an RWKV-7 checkpoint, one line each.

use crate::common;

use common::{checkpoint, fixture, max_err, Golden};
use rwkv_lens::model::checkpoint::write_safetensors;
use rwkv_lens::model::load::load;
use rwkv_lens::model::random::{random_checkpoint, random_tensors, RandomSpec};
use rwkv_lens::model::{Architecture, Checkpoint, DType, Tensor};
use rwkv_lens::rwkv7::{forward, Options, Output, Weights};

/// Per layer, per position: max |ours − golden| / max(1, max |golden|) (`common::max_err`).
const TOL: f32 = 1e-5;
/// The final WKV state sums every token's write: a little more room on 1100 tokens.
const STATE_TOL: f32 = 2e-5;

/// The "wide" model of the script (C=256, 4 heads of 64), drawn again from its seed.
fn wide_spec() -> RandomSpec {
    RandomSpec {
        n_embd: 256,
        n_layer: 2,
        ffn_dim: 1024,
        vocab_size: 128,
        head_size: 64,
        arch: Architecture::Rwkv7 {
            w_lora: 32,
            a_lora: 32,
            v_lora: 16,
            g_lora: 64,
        },
        dtype: DType::F32,
        seed: 7070,
        with_head: false,
    }
}

/// States always; logits when the model has an LM head (the wide model has none).
fn full_options(weights: &Weights) -> Options {
    Options {
        states: true,
        logits: weights.head.is_some(),
        chunk: None,
    }
}

fn sequences(golden: &Golden) -> Vec<Vec<u32>> {
    (0..golden.sequences()).map(|s| golden.tokens(s)).collect()
}

/// Every layer, logits (when the model has a head) and final state of every sequence,
/// run as one padded batch; returns the worst error per layer.
fn check_against(what: &str, weights: &Weights, golden: &Golden) -> Vec<f32> {
    let seqs = sequences(golden);
    let out = forward(weights, &seqs, &full_options(weights)).unwrap();
    let (c, layers) = (weights.config.n_embd, weights.config.n_layer);
    let mut worst = vec![0.0f32; layers + 1];
    for (b, seq) in seqs.iter().enumerate() {
        let len = seq.len();
        let want = golden.f32(&format!("hidden.{b}"));
        assert_eq!(want.shape, vec![layers + 1, len, c]);
        for (l, worst) in worst.iter_mut().enumerate() {
            let got = &out.hidden[l][b * out.t_max * c..(b * out.t_max + len) * c];
            let err = max_err(got, &want.data[l * len * c..(l + 1) * len * c]);
            *worst = worst.max(err);
            assert!(err < TOL, "{what} seq {b} layer {l}: max err {err:e}");
        }
        if weights.head.is_some() {
            let v = weights.config.vocab_size;
            let logits =
                &out.logits.as_ref().unwrap()[b * out.t_max * v..(b * out.t_max + len) * v];
            let err = max_err(logits, &golden.f32(&format!("logits.{b}")).data);
            assert!(err < TOL, "{what} seq {b} logits: max err {err:e}");
        }
        assert_states(what, &out, golden, b, TOL);
    }
    println!("{what}: max err per layer {worst:?}");
    worst
}

/// Sequence `b`'s final state per layer (`att_shift`, `wkv` [value][key], `ffn_shift`).
fn assert_states(what: &str, out: &Output, golden: &Golden, b: usize, tol: f32) {
    let states = out.states.as_ref().expect("forward with states");
    let batch = out.lengths.len();
    for kind in ["att_shift", "wkv", "ffn_shift"] {
        let want = golden.f32(&format!("state.{b}.{kind}"));
        for (l, st) in states.iter().enumerate() {
            let all = match kind {
                "att_shift" => &st.att_shift,
                "wkv" => &st.wkv,
                _ => &st.ffn_shift,
            };
            let size = all.len() / batch;
            let got = &all[b * size..(b + 1) * size];
            let err = max_err(got, &want.data[l * size..(l + 1) * size]);
            assert!(
                err < tol,
                "{what} seq {b} block {l} {kind}: max err {err:e}"
            );
        }
    }
}

fn small() -> Weights {
    Weights::from_checkpoint(&checkpoint("tiny-v7")).unwrap()
}

#[test]
fn small_model_matches_official_package() {
    let golden = Golden::open("tiny-v7");
    check_against("tiny-v7 (C=64, f16 weights)", &small(), &golden);
}

#[test]
fn wide_model_matches_official_package() {
    let ck = random_checkpoint(&wide_spec()).unwrap();
    let golden = Golden::open_file("tiny-v7", "golden-wide.safetensors");
    // the script drew the same model through `rwkv-lens random-model`: same generator?
    for (name, t) in ck.tensors() {
        let v = t.to_f32();
        let got = [v[0], v[v.len() / 2], v[v.len() - 1]];
        let want = golden.f32(&format!("check.{name}")).data;
        assert_eq!(&got[..], &want[..], "{name}: the random generator changed");
    }
    let weights = Weights::from_checkpoint(&ck).unwrap();
    assert_eq!((weights.config.n_head, weights.config.head_size), (4, 64));
    check_against("tiny-v7 wide (C=256)", &weights, &golden);
}

#[test]
fn fla_and_hugging_face_layouts_read_the_same_model() {
    let official = small();
    let golden = Golden::open("tiny-v7");
    let seqs = sequences(&golden);
    let want = forward(&official, &seqs, &full_options(&official)).unwrap();
    for file in ["model-fla.safetensors", "model-hf.safetensors"] {
        let ck = load(&fixture(&format!("tiny-v7/{file}"))).unwrap();
        assert_eq!(ck.layout, rwkv_lens::model::Layout::HuggingFace, "{file}");
        assert_eq!(ck.config, official.config, "{file}");
        let w = Weights::from_checkpoint(&ck).unwrap();
        let got = forward(&w, &seqs, &full_options(&w)).unwrap();
        assert_eq!(got.hidden, want.hidden, "{file}: hidden states differ");
        assert_eq!(got.states, want.states, "{file}: final states differ");
        assert_eq!(got.logits, want.logits, "{file}: logits differ");
    }
    let fla = load(&fixture("tiny-v7/model-fla.safetensors")).unwrap();
    assert!(!fla.tensors().any(|(n, _)| block0_value_lora(n)));
}

#[test]
fn long_input_matches_official_summary() {
    let weights = small();
    let golden = Golden::open_file("tiny-v7", "golden-long.safetensors");
    let seqs = sequences(&golden);
    assert!(seqs.iter().all(|s| s.len() >= 1025));
    let out = forward(&weights, &seqs, &full_options(&weights)).unwrap();
    let c = weights.config.n_embd;
    for (b, seq) in seqs.iter().enumerate() {
        let positions = golden.i32(&format!("positions.{b}"));
        let sampled = golden.f32(&format!("hidden_sampled.{b}"));
        let mean = golden.f32(&format!("hidden_mean.{b}"));
        for l in 0..out.hidden.len() {
            let row = |t: usize| &out.hidden[l][(b * out.t_max + t) * c..][..c];
            let mut sum = vec![0f64; c];
            for t in 0..seq.len() {
                sum.iter_mut()
                    .zip(row(t))
                    .for_each(|(s, &x)| *s += x as f64);
            }
            let ours: Vec<f32> = sum.iter().map(|s| (s / seq.len() as f64) as f32).collect();
            let err = max_err(&ours, &mean.data[l * c..(l + 1) * c]);
            assert!(err < TOL, "long seq {b} layer {l} mean: {err:e}");
            for (j, &t) in positions.iter().enumerate() {
                let at = (l * positions.len() + j) * c;
                let err = max_err(row(t as usize), &sampled.data[at..at + c]);
                assert!(err < TOL, "long seq {b} layer {l} position {t}: {err:e}");
            }
        }
        assert_states("long", &out, &golden, b, STATE_TOL);
    }
}

#[test]
fn padded_batch_equals_each_sequence_alone() {
    let weights = small();
    let seqs = sequences(&Golden::open("tiny-v7"));
    let opts = full_options(&weights);
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
        for (l, (all, one)) in batch
            .states
            .iter()
            .flatten()
            .zip(alone.states.iter().flatten())
            .enumerate()
        {
            let size = one.wkv.len();
            assert_eq!(
                &all.wkv[b * size..(b + 1) * size],
                &one.wkv[..],
                "seq {b} block {l} state"
            );
        }
    }
}

#[test]
fn chunked_wkv_equals_the_recurrence() {
    let ck = random_checkpoint(&wide_spec()).unwrap();
    let weights = Weights::from_checkpoint(&ck).unwrap();
    let seqs: Vec<Vec<u32>> = [1usize, 7, 64, 130]
        .iter()
        .map(|&n| (0..n).map(|t| ((t * 37 + n) % 128) as u32).collect())
        .collect();
    let recurrent = forward(&weights, &seqs, &full_options(&weights)).unwrap();
    for chunk in [1, 5, 16, 64] {
        let opts = Options {
            chunk: Some(chunk),
            ..full_options(&weights)
        };
        let chunked = forward(&weights, &seqs, &opts).unwrap();
        for (l, (a, b)) in chunked.hidden.iter().zip(&recurrent.hidden).enumerate() {
            let err = max_err(a, b);
            assert!(err < TOL, "chunk {chunk} layer {l}: {err:e}");
        }
        let states = chunked
            .states
            .iter()
            .flatten()
            .zip(recurrent.states.iter().flatten());
        for (l, (a, b)) in states.enumerate() {
            let err = max_err(&a.wkv, &b.wkv);
            assert!(err < TOL, "chunk {chunk} block {l} state: {err:e}");
        }
    }
}

// ---- bad inputs: one line each, naming the file and the tensor ----------------------------

/// A tiny random RWKV-7 checkpoint's tensors, edited, read back through the loader.
fn edited(edit: impl FnOnce(&mut Vec<(String, Tensor)>)) -> rwkv_lens::Result<Checkpoint> {
    let mut tensors = random_tensors(&RandomSpec::tiny_v7(3)).unwrap();
    edit(&mut tensors);
    let bytes = write_safetensors(&tensors).unwrap();
    Checkpoint::from_safetensors_bytes("v7.safetensors", &bytes)
}

/// `blocks.0.att.v0/v1/v2`: block 0's value LoRA, which it never reads.
fn block0_value_lora(name: &str) -> bool {
    ["v0", "v1", "v2"]
        .map(|v| format!("blocks.0.att.{v}"))
        .contains(&name.to_string())
}

fn one_line(e: rwkv_lens::Error) -> String {
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "not one line: {msg}");
    msg
}

#[test]
fn layer_zero_without_its_value_lora_is_the_same_model() {
    let with = edited(|_| {}).unwrap();
    let without = edited(|t| t.retain(|(n, _)| !block0_value_lora(n))).unwrap();
    assert_eq!(with.config, without.config);
    let tokens = vec![vec![1u32, 2, 3, 250]];
    let a = forward(
        &Weights::from_checkpoint(&with).unwrap(),
        &tokens,
        &Options::default(),
    );
    let b = forward(
        &Weights::from_checkpoint(&without).unwrap(),
        &tokens,
        &Options::default(),
    );
    assert_eq!(a.unwrap().hidden, b.unwrap().hidden);
}

#[test]
fn missing_tensor_is_one_line() {
    let e = edited(|t| t.retain(|(n, _)| n != "blocks.1.att.a2")).unwrap_err();
    assert_eq!(
        one_line(e),
        "v7.safetensors: tensor `blocks.1.att.a2`: missing"
    );
}

#[test]
fn wrong_lora_shape_is_one_line() {
    let e = edited(|t| {
        let (_, w) = t.iter_mut().find(|(n, _)| n == "blocks.1.att.g2").unwrap();
        *w = Tensor::from_f32(vec![16, 128], &[0.0; 16 * 128]);
    })
    .unwrap_err();
    assert_eq!(
        one_line(e),
        "v7.safetensors: tensor `blocks.1.att.g2`: shape [16, 128] does not match [32, 128] expected from the detected dimensions"
    );
}

#[test]
fn deep_embed_is_refused_naming_the_tensor() {
    let e = edited(|t| {
        let s = Tensor::from_f32(vec![300, 1024], &vec![0.0; 300 * 1024]);
        t.push(("blocks.0.ffn.s_emb.weight".into(), s));
    })
    .unwrap_err();
    assert_eq!(
        one_line(e),
        "v7.safetensors: tensor `blocks.0.ffn.s_emb.weight`: DeepEmbed RWKV-7 variant (s_emb/s0/s1/s2 tensors) is not supported"
    );
}

#[test]
fn a_v7_file_where_v6_is_expected_is_one_line() {
    let ck = edited(|_| {}).unwrap();
    let e = rwkv_lens::reference::Weights::from_checkpoint(&ck).unwrap_err();
    assert_eq!(
        one_line(e),
        "v7.safetensors: this is an RWKV-7 model; the RWKV-6 reference runs RWKV-6 only"
    );
    let v6 = checkpoint("tiny-v6");
    let e = Weights::from_checkpoint(&v6).unwrap_err();
    assert!(one_line(e).ends_with("this is an RWKV-6 model; the RWKV-7 forward runs RWKV-7 only"));
    let gpu = rwkv_lens::gpu::GpuEngine::new(&ck, Default::default());
    let e = gpu.err().expect("the GPU engine refuses RWKV-7");
    assert!(
        one_line(e).contains("the GPU engine runs RWKV-6 only for now"),
        "GPU refusal"
    );
}
