//! Both chunked (parallel-in-time) WKV forms, the attention-like one (`chunked`) and the
//! GPU's chunk states → scan → chunk outputs (`chunk_scan`), against the token-by-token recurrence: on the real
//! projections of the golden fixture's model (every block, a packed batch, several chunk
//! lengths, fresh and carried states) and on adversarial decays (log w = −25, ≈ 0, −∞).
//! Run with `--nocapture` to see the max differences.

use crate::common::{checkpoint, max_abs, max_err, Golden};
use proptest::prelude::*;
use rand_xoshiro::rand_core::{RngCore, SeedableRng};
use rand_xoshiro::SplitMix64;
use rwkv_lens::reference::chunk_scan::chunk_scan;
use rwkv_lens::reference::chunked::chunked;
use rwkv_lens::reference::ops::layer_norm_rows;
use rwkv_lens::reference::time_mix::{project, token_shift, Projections, LN_EPS};
use rwkv_lens::reference::{forward_with, wkv, Packing, Weights};

/// Outputs and final states may differ by float rounding only: scaled max error.
const TOL: f32 = 1e-5;

/// A seeded generator (SplitMix64), uniform in [lo, hi).
struct Rng(SplitMix64);
impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(SplitMix64::seed_from_u64(seed))
    }
    fn next(&mut self, lo: f32, hi: f32) -> f32 {
        let bits = self.0.next_u64() >> 40; // 24 bits
        lo + (hi - lo) * (bits as f32 / (1u64 << 24) as f32)
    }
    fn vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.next(lo, hi)).collect()
    }
}

/// `(max scaled error, max |diff|)` of outputs and of final states, recurrent vs chunked.
fn compare(
    p: &Projections,
    packing: &Packing,
    heads: usize,
    u: &[f32],
    init: &[Vec<f32>],
    chunk_len: usize,
) -> (f32, f32) {
    let mut s_rec = init.to_vec();
    let o_rec = wkv::recurrent(p, packing, heads, u, &mut s_rec);
    let s_rec = s_rec.concat();
    let (mut err, mut abs) = (0.0f32, 0.0f32);
    for form in [chunked, chunk_scan] {
        let mut s_chk = init.to_vec();
        let o_chk = form(p, packing, heads, u, &mut s_chk, chunk_len).unwrap();
        let s_chk = s_chk.concat();
        assert!(o_chk.iter().chain(&s_chk).all(|x| x.is_finite()));
        err = err.max(max_err(&o_chk, &o_rec).max(max_err(&s_chk, &s_rec)));
        abs = abs.max(max_abs(&o_chk, &o_rec).max(max_abs(&s_chk, &s_rec)));
    }
    (err, abs)
}

#[test]
fn chunked_equals_recurrent_on_the_fixture_projections() {
    let w = Weights::from_checkpoint(&checkpoint("tiny-v6")).unwrap();
    let golden = Golden::open("tiny-v6");
    let seqs: Vec<Vec<u32>> = (0..golden.sequences()).map(|s| golden.tokens(s)).collect();
    let packing = Packing::new(&seqs.iter().map(Vec::len).collect::<Vec<_>>());
    let (c, heads, n) = (w.config.n_embd, w.config.n_head, w.config.head_size);
    // the input of block i is the output of layer i − 1
    let mut inputs = Vec::new();
    forward_with(&w, &seqs, false, |_, x| inputs.push(x.to_vec())).unwrap();
    let mut rng = Rng::new(0x5eed);
    let (mut worst, mut worst_abs, mut min_log_w) = (0.0f32, 0.0f32, 0.0f32);
    for (i, block) in w.blocks.iter().enumerate() {
        let xx = layer_norm_rows(&inputs[i], &block.ln1.weight, &block.ln1.bias, LN_EPS);
        let zeros = vec![vec![0.0; c]; seqs.len()];
        let sx = token_shift(&xx, c, &packing, &zeros);
        let p = project(&xx, &sx, packing.rows(), &block.att);
        min_log_w = p.log_w.iter().copied().fold(min_log_w, f32::min);
        let fresh = vec![vec![0.0; heads * n * n]; seqs.len()];
        let carried: Vec<Vec<f32>> = (0..seqs.len())
            .map(|_| rng.vec(heads * n * n, -1.0, 1.0))
            .collect();
        for init in [&fresh, &carried] {
            for chunk_len in [1, 3, 16, 64] {
                let (err, abs) = compare(&p, &packing, heads, &block.att.u, init, chunk_len);
                assert!(err < TOL, "block {} chunk {chunk_len}: {err:e}", i + 1);
                (worst, worst_abs) = (worst.max(err), worst_abs.max(abs));
            }
        }
    }
    println!(
        "tiny-v6 projections (log w down to {min_log_w:.2}): recurrent vs chunked \
         max |diff| {worst_abs:e}, scaled {worst:e}"
    );
}

/// Synthetic projections: 3 packed sequences, H = 2 heads of N = 16, log w from `log_w`.
fn synthetic(rng: &mut Rng, lengths: &[usize], log_w: impl Fn(&mut Rng) -> f32) -> Projections {
    let rows: usize = lengths.iter().sum();
    let c = 32;
    Projections {
        r: rng.vec(rows * c, -1.0, 1.0),
        k: rng.vec(rows * c, -2.0, 2.0),
        v: rng.vec(rows * c, -2.0, 2.0),
        g: vec![0.0; rows * c],
        log_w: (0..rows * c).map(|_| log_w(rng)).collect(),
    }
}

#[test]
fn chunked_survives_adversarial_decays() {
    type Case = (&'static str, fn(&mut Rng) -> f32);
    let cases: [Case; 5] = [
        ("log w = −25", |_| -25.0),
        ("log w ≈ 0 (−1e-7)", |_| -1e-7),
        ("log w = 0 exactly", |_| 0.0),
        ("mixed −25 / ≈0 / U(−30,0)", |r| {
            match (r.next(0.0, 3.0)) as u32 {
                0 => -25.0,
                1 => -1e-6,
                _ => r.next(-30.0, 0.0),
            }
        }),
        ("log w = −∞ (decay underflow)", |r| {
            if r.next(0.0, 1.0) < 0.3 {
                f32::NEG_INFINITY
            } else {
                r.next(-3.0, 0.0)
            }
        }),
    ];
    let lengths = [1, 9, 40];
    let packing = Packing::new(&lengths);
    for (name, log_w) in cases {
        let mut rng = Rng::new(0xadd);
        let p = synthetic(&mut rng, &lengths, log_w);
        let u = rng.vec(32, -1.0, 1.0);
        let init: Vec<Vec<f32>> = (0..3).map(|_| rng.vec(2 * 16 * 16, -1.0, 1.0)).collect();
        let mut worst = (0.0f32, 0.0f32);
        for chunk_len in [1, 4, 16, 64] {
            let (err, abs) = compare(&p, &packing, 2, &u, &init, chunk_len);
            assert!(err < TOL, "{name}, chunk {chunk_len}: {err:e}");
            worst = (worst.0.max(err), worst.1.max(abs));
        }
        println!("{name}: max |diff| {:e}, scaled {:e}", worst.1, worst.0);
    }
}

#[test]
fn chunked_with_one_token_chunks_is_the_recurrence_bit_for_bit_in_the_decay() {
    // L = 1: A = [r·(u⊙k)], no intra-chunk pairs, S ← e^{log w} S + k vᵀ — the same
    // products as the recurrence, so a −25 decay leaves exactly e^{−25}·S₀ behind.
    let mut rng = Rng::new(7);
    let lengths = [2];
    let mut p = synthetic(&mut rng, &lengths, |_| -25.0);
    p.k.iter_mut().for_each(|k| *k = 0.0); // write nothing
    let u = vec![0.5; 32];
    let init = vec![rng.vec(2 * 16 * 16, -1.0, 1.0)];
    let mut s = init.clone();
    chunked(&p, &Packing::new(&lengths), 2, &u, &mut s, 1).unwrap();
    let decay = (-25.0f32).exp();
    for (got, s0) in s[0].iter().zip(&init[0]) {
        assert_eq!(*got, decay * (decay * s0));
    }
}

#[test]
fn zero_chunk_length_is_an_error() {
    let mut rng = Rng::new(1);
    let p = synthetic(&mut rng, &[3], |_| -1.0);
    for form in [chunked, chunk_scan] {
        let mut s = vec![vec![0.0; 2 * 16 * 16]];
        let err = form(&p, &Packing::new(&[3]), 2, &[0.0; 32], &mut s, 0).unwrap_err();
        assert!(err.to_string().contains("chunk length"), "{err}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]
    #[test]
    fn chunked_equals_recurrent_for_any_chunk_length(
        seed in 1u64..u64::MAX,
        chunk_len in 1usize..24,
        len_a in 1usize..30,
        len_b in 1usize..30,
        floor in -30.0f32..0.0,
    ) {
        let mut rng = Rng::new(seed);
        let lengths = [len_a, len_b];
        let p = synthetic(&mut rng, &lengths, |r| r.next(floor, 0.0));
        let u = rng.vec(32, -1.0, 1.0);
        let init: Vec<Vec<f32>> = (0..2).map(|_| rng.vec(2 * 16 * 16, -1.0, 1.0)).collect();
        let (err, _) = compare(&p, &Packing::new(&lengths), 2, &u, &init, chunk_len);
        prop_assert!(err < TOL, "scaled error {err:e}");
    }
}
