//! The attention probabilities the browser's "Attention vs recurrence" view shows
//! (`attention::forward::attention_map`), held to the reference forward that the
//! `transformers` goldens check (tests/it/attention_golden.rs): each head's `P V`, through
//! `W_O`, is that forward's self-attention output (BERT, GPT-2, and Llama with grouped
//! key/value heads); rows sum to 1; the decoders' are causal.

use crate::common::{fixture, max_err, Golden};
use rwkv_lens::attention::forward::{attention_map, dense, forward_with, pre_norm, self_attention};
use rwkv_lens::attention::weights::Stack;
use rwkv_lens::attention::TransformerWeights;
use rwkv_lens::reference::Packing;

#[test]
fn attention_maps_recompose_the_self_attention_output() {
    for name in ["tiny-bert", "tiny-gpt2", "tiny-llama"] {
        let w = TransformerWeights::load(&fixture(name)).unwrap();
        let tokens = Golden::open(name).tokens(0);
        let (cfg, n) = (&w.config, tokens.len());
        let (c, c_kv, d) = (cfg.hidden, cfg.kv_width(), cfg.head_size());
        let group = cfg.n_head / cfg.n_kv_head;
        let mut inputs = Vec::new();
        forward_with(&w, std::slice::from_ref(&tokens), |_, x| {
            inputs.push(x.to_vec())
        })
        .unwrap();
        for layer in 1..=cfg.n_layer {
            let lw = &w.layers[layer - 1];
            let mut x = inputs[layer - 1].clone();
            if let Stack::PreLn { .. } = w.stack {
                x = pre_norm(&x, &lw.attn_norm, cfg);
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
                    // the head's value columns: its key/value head's (h / group with grouping)
                    for m in 0..d {
                        let vm = (h / group) * d + m;
                        heads[i * c + h * d + m] = (0..n).map(|j| row[j] * v[j * c_kv + vm]).sum();
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
