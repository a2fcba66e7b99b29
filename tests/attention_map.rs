//! The attention probabilities the browser's "Attention vs recurrence" view shows
//! (`attention::forward::attention_map`), held to the reference forward that the
//! `transformers` goldens check (tests/attention_golden.rs): each head's `P V`, through
//! `W_O`, is that forward's self-attention output; rows sum to 1; GPT-2's are causal.

mod common;

use common::{fixture, max_err, Golden};
use rwkv_lens::attention::forward::{
    attention_map, dense, forward_with, layer_norm, self_attention,
};
use rwkv_lens::attention::weights::Stack;
use rwkv_lens::attention::TransformerWeights;
use rwkv_lens::reference::Packing;

#[test]
fn attention_maps_recompose_the_self_attention_output() {
    for name in ["tiny-bert", "tiny-gpt2"] {
        let w = TransformerWeights::load(&fixture(name)).unwrap();
        let tokens = Golden::open(name).tokens(0);
        let (cfg, n) = (&w.config, tokens.len());
        let (c, d) = (cfg.hidden, cfg.head_size());
        let mut inputs = Vec::new();
        forward_with(&w, &[tokens.clone()], |_, x| inputs.push(x.to_vec())).unwrap();
        for layer in 1..=cfg.n_layer {
            let lw = &w.layers[layer - 1];
            let mut x = inputs[layer - 1].clone();
            if let Stack::PreLn { .. } = w.stack {
                x = layer_norm(&x, &lw.attn_norm, cfg.layer_norm_eps);
            }
            let v = dense(&x, n, &lw.value);
            let mut heads = vec![0.0f32; n * c];
            for h in 0..cfg.n_head {
                let p = attention_map(&w, &tokens, layer, h).unwrap();
                for (i, row) in p.chunks_exact(n).enumerate() {
                    let sum: f32 = row.iter().sum();
                    assert!(
                        (sum - 1.0).abs() < 1e-5,
                        "{name} L{layer} h{h} row {i}: {sum}"
                    );
                    if cfg.family.causal() {
                        assert!(row[i + 1..].iter().all(|&p| p == 0.0), "{name}: not causal");
                    }
                    for m in h * d..(h + 1) * d {
                        heads[i * c + m] = (0..n).map(|j| row[j] * v[j * c + m]).sum();
                    }
                }
            }
            let want = self_attention(lw, &x, &Packing::new(&[n]), cfg);
            let err = max_err(&dense(&heads, n, &lw.attn_output), &want);
            assert!(
                err < 1e-5,
                "{name} layer {layer}: Concat_h(P_h V_h) W_O vs MHA: {err:e}"
            );
        }
    }
}

#[test]
fn attention_map_refuses_layers_and_heads_out_of_range() {
    let w = TransformerWeights::load(&fixture("tiny-bert")).unwrap();
    let e = attention_map(&w, &[1, 2, 3], 0, 0).unwrap_err().to_string();
    assert!(
        e.contains("attention layer 0 is out of range: this model has layers 1..=3"),
        "{e}"
    );
    let e = attention_map(&w, &[1, 2, 3], 1, 4).unwrap_err().to_string();
    assert!(
        e.contains("attention head 4 is out of range: this model has heads 0..=3"),
        "{e}"
    );
}
