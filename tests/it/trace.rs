//! The traced quantities against the reference forward and the official package's
//! goldens: the state after every token, the read-out, the influences, the mix amounts.
//! Run with `--nocapture` to see the max differences.

use crate::common::{checkpoint, max_err, Golden};
use rwkv_lens::reference::ops::layer_norm_rows;
use rwkv_lens::reference::time_mix::{ddlerp, project, token_shift, LN_EPS};
use rwkv_lens::reference::{forward, forward_with, wkv, Options, Packing, Weights};
use rwkv_lens::trace::{half_life, shift_amounts, trace, Trace};

const TOL: f32 = 1e-5;
/// Golden sequence 3: 40 tokens, so the chunked check spans three chunks of 16.
const SEQ: usize = 3;

fn setup() -> (Weights, Vec<u32>) {
    let w = Weights::from_checkpoint(&checkpoint("tiny-v6")).unwrap();
    (w, Golden::open("tiny-v6").tokens(SEQ))
}

fn all_traces(w: &Weights, tokens: &[u32]) -> Vec<Trace> {
    let cfg = &w.config;
    (1..=cfg.n_layer)
        .flat_map(|l| (0..cfg.n_head).map(move |h| (l, h)))
        .map(|(l, h)| trace(w, tokens, l, h).unwrap())
        .collect()
}

#[test]
fn state_after_every_token_is_the_reference_state() {
    let (w, tokens) = setup();
    let traces = all_traces(&w, &tokens);
    let n = w.config.head_size;
    let mut worst = 0.0f32;
    for t in 0..tokens.len() {
        // the reference's final states after the prefix 0..=t
        let out = forward(
            &w,
            &[tokens[..=t].to_vec()],
            &Options {
                states: true,
                logits: false,
            },
        )
        .unwrap();
        let states = out.states.unwrap();
        for tr in &traces {
            let want = &states[tr.layer - 1].wkv[tr.head * n * n..(tr.head + 1) * n * n];
            let step = &tr.steps[t];
            let err = max_err(&step.state_after, want);
            assert!(
                err < TOL,
                "layer {} head {} token {t}: {err:e}",
                tr.layer,
                tr.head
            );
            worst = worst.max(err);
            let before = if t == 0 {
                vec![0.0; n * n]
            } else {
                tr.steps[t - 1].state_after.clone()
            };
            assert_eq!(step.state_before, before, "state_before of token {t}");
        }
    }
    println!("state after each token vs reference::forward: max scaled error {worst:e}");
}

#[test]
fn final_state_is_the_official_packages_state() {
    let (w, tokens) = setup();
    let golden = Golden::open("tiny-v6").f32(&format!("state.{SEQ}.wkv"));
    let (h, n) = (w.config.n_head, w.config.head_size);
    let mut worst = 0.0f32;
    for tr in all_traces(&w, &tokens) {
        let at = ((tr.layer - 1) * h + tr.head) * n * n;
        let err = max_err(
            &tr.steps.last().unwrap().state_after,
            &golden.data[at..at + n * n],
        );
        assert!(err < TOL, "layer {} head {}: {err:e}", tr.layer, tr.head);
        worst = worst.max(err);
    }
    println!("final state vs official rwkv 0.8.32: max scaled error {worst:e}");
}

#[test]
fn read_out_is_the_reference_wkv_output_and_the_mix_reproduces_ddlerp() {
    let (w, tokens) = setup();
    let (c, n, n_t) = (w.config.n_embd, w.config.head_size, tokens.len());
    let packing = Packing::new(&[n_t]);
    let mut inputs = Vec::new();
    forward_with(&w, std::slice::from_ref(&tokens), false, |_, x| {
        inputs.push(x.to_vec())
    })
    .unwrap();
    let traces = all_traces(&w, &tokens);
    let (mut worst_o, mut worst_mix) = (0.0f32, 0.0f32);
    for (l, block) in w.blocks.iter().enumerate() {
        let xx = layer_norm_rows(&inputs[l], &block.ln1.weight, &block.ln1.bias, LN_EPS);
        let sx = token_shift(&xx, c, &packing, &[vec![0.0; c]]);
        let p = project(&xx, &sx, n_t, &block.att);
        let mut state = vec![vec![0.0; block.att.heads * n * n]];
        let o = wkv::recurrent(&p, &packing, block.att.heads, &block.att.u, &mut state);
        let mixed = ddlerp(&xx, &sx, n_t, &block.att);
        let amounts = shift_amounts(&xx, &sx, n_t, &block.att);
        for (j, (m, a)) in mixed.iter().zip(&amounts).enumerate() {
            let again: Vec<f32> = (0..n_t * c)
                .map(|i| xx[i] + (sx[i] - xx[i]) * a[i])
                .collect();
            let err = max_err(&again, m);
            assert!(err < 1e-6, "block {} slice {j}: {err:e}", l + 1);
            worst_mix = worst_mix.max(err);
        }
        for tr in traces.iter().filter(|tr| tr.layer == l + 1) {
            for (t, step) in tr.steps.iter().enumerate() {
                let at = t * c + tr.head * n;
                let err = max_err(&step.output, &o[at..at + n]);
                assert!(
                    err < TOL,
                    "layer {} head {} token {t}: {err:e}",
                    l + 1,
                    tr.head
                );
                worst_o = worst_o.max(err);
                assert_eq!(step.r, p.r[at..at + n]);
                assert_eq!(step.log_w, p.log_w[at..at + n]);
                assert_eq!(step.mix.w, amounts[0][t * c..(t + 1) * c]);
                assert_eq!(step.mix.g, amounts[4][t * c..(t + 1) * c]);
            }
        }
    }
    println!(
        "read-out vs wkv::recurrent: max scaled error {worst_o:e}; mix vs ddlerp {worst_mix:e}"
    );
}

#[test]
fn influences_sum_to_the_read_out() {
    let (w, tokens) = setup();
    let tr = trace(&w, &tokens, 2, 1).unwrap();
    let n = w.config.head_size;
    let mut worst = 0.0f32;
    for (t, step) in tr.steps.iter().enumerate() {
        assert_eq!(step.influence.len(), t + 1);
        let mut sum = vec![0.0f32; n];
        for (i, inf) in step.influence.iter().enumerate() {
            assert_eq!(inf.from, i);
            let v = &tr.steps[i].v;
            let want: Vec<f32> = v.iter().map(|v| inf.score * v).collect();
            assert_eq!(inf.contribution, want);
            sum.iter_mut()
                .zip(&inf.contribution)
                .for_each(|(s, c)| *s += c);
            // the score, from its definition in f64: r_t · (Π_{s=i+1}^{t−1} w_s ⊙ k_i), u for i = t
            let score: f64 = (0..n)
                .map(|m| {
                    let decay: f64 = if i == t {
                        tr.u[m] as f64
                    } else {
                        tr.steps[i + 1..t].iter().map(|s| s.w[m] as f64).product()
                    };
                    step.r[m] as f64 * decay * tr.steps[i].k[m] as f64
                })
                .sum();
            let scale = score.abs().max(1.0);
            assert!(
                ((inf.score as f64 - score) / scale).abs() < 1e-5,
                "t {t} i {i}"
            );
            let split: f32 = tr.key_channel_influence(t, i).unwrap().iter().sum();
            assert!((split - inf.score).abs() <= 1e-5 * inf.score.abs().max(1.0));
        }
        let err = max_err(&sum, &step.output);
        assert!(err < TOL, "token {t}: Σ influence·v vs o: {err:e}");
        worst = worst.max(err);
    }
    assert!(tr.key_channel_influence(3, 4).is_none());
    println!("Σ_i influence_i·v_i vs o_t: max scaled error {worst:e}");
}

#[test]
fn decay_half_life_and_chunked_check_are_consistent() {
    let (w, tokens) = setup();
    let tr = trace(&w, &tokens, 3, 0).unwrap();
    for step in &tr.steps {
        for ((lw, w), h) in step.log_w.iter().zip(&step.w).zip(&step.half_life) {
            assert_eq!(*w, lw.exp());
            // w^h = ½
            assert!(
                (h * lw - 0.5f32.ln()).abs() < 1e-6,
                "log w {lw}, half-life {h}"
            );
        }
    }
    assert_eq!(half_life(0.5f32.ln()), 1.0);
    assert_eq!(half_life(0.0), f32::INFINITY);
    assert!((half_life(-25.0) - 0.027_725_887).abs() < 1e-9);
    let check = &tr.check;
    assert_eq!(check.chunk_len, 16);
    assert!(check.max_abs_output > 0.1);
    assert!(
        check.max_abs_diff <= TOL * check.max_abs_output.max(1.0),
        "{check:?}"
    );
    println!(
        "chunked check on {} tokens: max |diff| {:e} (max |o| {})",
        tokens.len(),
        check.max_abs_diff,
        check.max_abs_output
    );
}

/// The attention-like matrix of the recurrence (`trace::contrast`): row t reproduces the
/// read-out `o_t = Σ_i A[t][i] v_i` and is zero after t; its shares sum to 1 per row.
#[test]
fn influence_matrix_reproduces_the_read_out() {
    use rwkv_lens::trace::contrast::{influence_matrix, shares};
    let (w, tokens) = setup();
    let tr = trace(&w, &tokens, 2, 1).unwrap();
    let (t_len, n) = (tokens.len(), w.config.head_size);
    let a = influence_matrix(&tr);
    assert_eq!(a.len(), t_len * t_len);
    for (t, step) in tr.steps.iter().enumerate() {
        let row = &a[t * t_len..(t + 1) * t_len];
        assert!(row[t + 1..].iter().all(|&x| x == 0.0), "row {t} after t");
        let o: Vec<f32> = (0..n)
            .map(|m| (0..=t).map(|i| row[i] * tr.steps[i].v[m]).sum())
            .collect();
        let err = max_err(&o, &step.output);
        assert!(err < TOL, "token {t}: Σ_i A[t][i] v_i vs o_t: {err:e}");
    }
    let s = shares(&a, t_len);
    for row in s.chunks_exact(t_len) {
        let sum: f32 = row.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5 && row.iter().all(|&x| x >= 0.0));
    }
}

/// A checkpoint that records the names of the tensors read from it.
struct Counted(
    rwkv_lens::model::Checkpoint,
    std::cell::RefCell<Vec<String>>,
);

impl rwkv_lens::model::TensorSource for Counted {
    fn source(&self) -> &str {
        self.0.source()
    }
    fn config(&self) -> &rwkv_lens::model::Config {
        self.0.config()
    }
    fn has(&self, name: &str) -> bool {
        self.0.has(name)
    }
    async fn tensor(
        &self,
        name: &str,
    ) -> rwkv_lens::Result<std::borrow::Cow<'_, rwkv_lens::model::Tensor>> {
        self.1.borrow_mut().push(name.to_string());
        self.0.tensor(name).await
    }
}

/// The trace read one block at a time (`trace::Streamed`, the page's Recurrence view beside
/// its GPU engine) equals the trace on the whole weights bit for bit, for every block and
/// head, and reads only the blocks up to the traced one (a second trace of the same
/// sentence only the traced block).
#[test]
fn streamed_trace_equals_the_whole_weights_trace_and_reads_one_block() {
    use rwkv_lens::trace::Streamed;
    let (w, tokens) = setup();
    let src = Counted(checkpoint("tiny-v6"), Default::default());
    let blocks_read = |src: &Counted| {
        let mut b: Vec<usize> = (src.1.take().iter())
            .filter_map(|n| n.strip_prefix("blocks.")?.split('.').next()?.parse().ok())
            .collect();
        b.dedup();
        b
    };
    let mut streamed = Streamed::new();
    let (l_max, h_max) = (w.config.n_layer, w.config.n_head);
    for (l, h) in (1..=l_max)
        .rev()
        .flat_map(|l| (0..h_max).map(move |h| (l, h)))
    {
        let got = pollster::block_on(streamed.trace(&src, &tokens, (l, h), |_| None)).unwrap();
        assert_eq!(got, trace(&w, &tokens, l, h).unwrap(), "layer {l} head {h}");
        let read = blocks_read(&src);
        if (l, h) == (l_max, 0) {
            assert_eq!(read, (0..l_max).collect::<Vec<_>>(), "first trace");
        } else {
            assert_eq!(read, [l - 1], "layer {l} head {h}: only the traced block");
        }
    }
    let other = &tokens[..5];
    pollster::block_on(streamed.trace(&src, other, (1, 0), |_| None)).unwrap();
    let names = src.1.borrow().clone();
    assert!(names.iter().any(|n| n == "emb.weight"), "{names:?}");
    assert_eq!(blocks_read(&src), [0], "a new sentence, block 1");
    let err = pollster::block_on(streamed.trace(&src, &[1 << 30], (1, 0), |_| None)).unwrap_err();
    assert!(
        err.to_string().contains("outside the model's vocabulary"),
        "{err}"
    );
}
