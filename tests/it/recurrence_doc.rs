//! Generates the worked example of `docs/recurrence.md` and fails when the doc's numbers
//! differ from what the code computes. Refresh the doc with
//! `UPDATE_DOCS=1 cargo test --test it -- recurrence_doc::`.
//!
//! Generated parts sit between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`;
//! everything else in the doc is prose and is left alone.

use crate::common;

use std::fmt::Write;
use std::path::PathBuf;

use crate::common::checkpoint;
use rwkv_lens::reference::ops::{group_norm_rows, layer_norm_rows};
use rwkv_lens::reference::time_mix::{self, project, token_shift, TimeMixState, LN_EPS, LN_X_EPS};
use rwkv_lens::reference::{channel_mix, chunked, forward_with, wkv, Packing, Weights};
use rwkv_lens::trace::{trace, Trace};

const DOC: &str = "docs/recurrence.md";
/// The model of the worked example (switch to the bundled demo model once it exists).
const MODEL: &str = "tiny-v6";
const TOKENS: [u32; 5] = [3, 141, 59, 26, 53];
const LAYER: usize = 1;
const HEAD: usize = 0;
/// The token the walk-through follows (the last one).
const T: usize = TOKENS.len() - 1;
/// How many channels each vector shows.
const SHOW: usize = 4;

fn vec4(x: &[f32]) -> String {
    let shown: Vec<String> = x.iter().take(SHOW).map(|v| format!("{v:+.4}")).collect();
    format!("[{}, …]", shown.join(", "))
}

fn corner(m: &[f32], n: usize) -> String {
    (0..SHOW)
        .map(|i| format!("  {}\n", vec4(&m[i * n..(i + 1) * n])))
        .collect()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

/// Everything the generated parts need.
struct Example {
    w: Weights,
    tr: Trace,
    /// Block inputs: layer 0 and layer 1 outputs, `[T][C]`.
    layers: Vec<Vec<f32>>,
}

impl Example {
    fn new() -> Example {
        let w = Weights::from_checkpoint(&checkpoint(MODEL)).unwrap();
        let tr = trace(&w, &TOKENS, LAYER, HEAD).unwrap();
        let mut layers = Vec::new();
        forward_with(&w, &[TOKENS.to_vec()], false, |_, x| {
            layers.push(x.to_vec())
        })
        .unwrap();
        Example { w, tr, layers }
    }
    fn c(&self) -> usize {
        self.w.config.n_embd
    }
    fn row<'a>(&self, x: &'a [f32], t: usize) -> &'a [f32] {
        &x[t * self.c()..(t + 1) * self.c()]
    }
}

fn dims(ex: &Example) -> String {
    let cfg = &ex.w.config;
    format!(
        "| symbol | meaning | value |\n|---|---|---|\n\
         | T | tokens in the example | {} (ids {:?}) |\n\
         | C | channels (`n_embd`) | {} |\n| H | heads | {} |\n| N | head size, C / H | {} |\n\
         | L | blocks | {} |\n| F | channel-mix width | {} |\n| R, D | mix / decay LoRA ranks | {}, {} |\n\
         | V | vocabulary | {} |\n",
        TOKENS.len(),
        TOKENS,
        cfg.n_embd,
        cfg.n_head,
        cfg.head_size,
        cfg.n_layer,
        cfg.ffn_dim,
        cfg.rwkv6_ranks().unwrap().0,
        cfg.rwkv6_ranks().unwrap().1,
        cfg.vocab_size
    )
}

fn shift(ex: &Example) -> String {
    let (c, block) = (ex.c(), &ex.w.blocks[LAYER - 1]);
    let xx = layer_norm_rows(
        &ex.layers[LAYER - 1],
        &block.ln1.weight,
        &block.ln1.bias,
        LN_EPS,
    );
    let sx = token_shift(&xx, c, &Packing::new(&[TOKENS.len()]), &[vec![0.0; c]]);
    let m = &ex.tr.steps[T].mix;
    let mut s = String::new();
    writeln!(
        s,
        "x    = {}   block input (layer {})",
        vec4(ex.row(&ex.layers[LAYER - 1], T)),
        LAYER - 1
    )
    .unwrap();
    writeln!(s, "xx   = {}   LN1(x)", vec4(ex.row(&xx, T))).unwrap();
    writeln!(s, "sx   = {}   xx of token {}", vec4(ex.row(&sx, T)), T - 1).unwrap();
    for (name, a) in [
        ("a_w", &m.w),
        ("a_k", &m.k),
        ("a_v", &m.v),
        ("a_r", &m.r),
        ("a_g", &m.g),
    ] {
        writeln!(s, "{name}  = {}", vec4(a)).unwrap();
    }
    s
}

fn projections(ex: &Example) -> String {
    let st = &ex.tr.steps[T];
    let mut s = String::new();
    for (name, x) in [
        ("r", &st.r),
        ("k", &st.k),
        ("v", &st.v),
        ("log w", &st.log_w),
        ("w", &st.w),
    ] {
        writeln!(s, "{name:<9} = {}", vec4(x)).unwrap();
    }
    writeln!(
        s,
        "half-life = {}   tokens, ln ½ / log w",
        vec4(&st.half_life)
    )
    .unwrap();
    writeln!(
        s,
        "u         = {}   bonus (time_faaaa), the same for every token",
        vec4(&ex.tr.u)
    )
    .unwrap();
    s
}

fn state(ex: &Example) -> String {
    let (st, n) = (&ex.tr.steps[T], ex.w.config.head_size);
    format!(
        "S_{} (before), top-left {SHOW}×{SHOW} of {n}×{n}:\n{}\
         k vᵀ (the write):\n{}S_{T} = diag(w) S_{} + k vᵀ (after):\n{}\
         o_{T} = rᵀ (S_{} + diag(u) k vᵀ) = {}\n",
        T - 1,
        corner(&st.state_before, n),
        corner(&st.write, n),
        T - 1,
        corner(&st.state_after, n),
        T - 1,
        vec4(&st.output)
    )
}

fn half_lives(ex: &Example) -> String {
    let mut s = String::from("| token | min | median | max | channels with half-life < 1 token |\n|---|---|---|---|---|\n");
    for st in &ex.tr.steps {
        let mut h = st.half_life.clone();
        h.sort_by(f32::total_cmp);
        let short = h.iter().filter(|&&x| x < 1.0).count();
        let row = format!(
            "| {} (id {}) | {:.3} | {:.3} | {:.3} | {short} of {} |",
            st.position,
            st.token,
            h[0],
            h[h.len() / 2],
            h[h.len() - 1],
            h.len()
        );
        writeln!(s, "{row}").unwrap();
    }
    s
}

fn influence(ex: &Example) -> String {
    let st = &ex.tr.steps[T];
    let mut s = format!("| i | token id | influence on o_{T} | Π_{{s=i+1}}^{{t−1}} w_s, mean over channels |\n|---|---|---|---|\n");
    for inf in &st.influence {
        let decay: f32 = if inf.from == T {
            f32::NAN
        } else {
            let n = ex.w.config.head_size;
            let prod = |m: usize| {
                ex.tr.steps[inf.from + 1..T]
                    .iter()
                    .map(|s| s.w[m])
                    .product::<f32>()
            };
            (0..n).map(prod).sum::<f32>() / n as f32
        };
        let decay = if decay.is_nan() {
            "bonus u".to_string()
        } else {
            format!("{decay:.4}")
        };
        writeln!(
            s,
            "| {} | {} | {:+.4} | {decay} |",
            inf.from, TOKENS[inf.from], inf.score
        )
        .unwrap();
    }
    let mut sum = vec![0.0f32; st.output.len()];
    for inf in &st.influence {
        sum.iter_mut()
            .zip(&inf.contribution)
            .for_each(|(s, c)| *s += c);
    }
    writeln!(s, "\nΣ_i influence_i · v_i = {}\no_{T}                  = {}\nmax |difference| over the {} channels: {:.1e}", vec4(&sum), vec4(&st.output), sum.len(), max_abs_diff(&sum, &st.output)).unwrap();
    s
}

fn chunked_form(ex: &Example) -> String {
    let (c, block) = (ex.c(), &ex.w.blocks[LAYER - 1]);
    let (heads, n) = (ex.w.config.n_head, ex.w.config.head_size);
    let packing = Packing::new(&[TOKENS.len()]);
    let xx = layer_norm_rows(
        &ex.layers[LAYER - 1],
        &block.ln1.weight,
        &block.ln1.bias,
        LN_EPS,
    );
    let sx = token_shift(&xx, c, &packing, &[vec![0.0; c]]);
    let p = project(&xx, &sx, TOKENS.len(), &block.att);
    let mut s_rec = vec![vec![0.0; heads * n * n]];
    let o_rec = wkv::recurrent(&p, &packing, heads, &block.att.u, &mut s_rec);
    let mut s = String::from("| chunk length | chunks | max abs diff of o | max abs diff of the final state |\n|---|---|---|---|\n");
    for len in [1, 2, 16] {
        let mut s_chk = vec![vec![0.0; heads * n * n]];
        let o = chunked::chunked(&p, &packing, heads, &block.att.u, &mut s_chk, len).unwrap();
        let chunks = TOKENS.len().div_ceil(len);
        writeln!(
            s,
            "| {len} | {chunks} | {:.1e} | {:.1e} |",
            max_abs_diff(&o, &o_rec),
            max_abs_diff(&s_chk[0], &s_rec[0])
        )
        .unwrap();
    }
    writeln!(
        s,
        "\n(max |o| = {:.3}, over every head ({heads}) of block {LAYER}.)",
        ex.tr.check.max_abs_output
    )
    .unwrap();
    s
}

fn block_out(ex: &Example) -> String {
    let (c, n, block) = (ex.c(), ex.w.config.head_size, &ex.w.blocks[LAYER - 1]);
    let packing = Packing::new(&[TOKENS.len()]);
    let x = &ex.layers[LAYER - 1];
    let fresh = TimeMixState {
        shift: vec![vec![0.0; c]],
        wkv: vec![vec![0.0; ex.w.config.n_head * n * n]],
    };
    let (att, _) = time_mix::time_mix(x, &packing, &block.ln1, &block.att, fresh);
    let mid: Vec<f32> = x.iter().zip(&att).map(|(x, a)| x + a).collect();
    let (ffn, _) =
        channel_mix::channel_mix(&mid, &packing, &block.ln2, &block.ffn, &[vec![0.0; c]]);
    let out: Vec<f32> = mid.iter().zip(&ffn).map(|(x, f)| x + f).collect();
    let head = HEAD * n..(HEAD + 1) * n;
    let y = group_norm_rows(
        &ex.tr.steps[T].output,
        1,
        &block.att.ln_x.weight[head.clone()],
        &block.att.ln_x.bias[head],
        LN_X_EPS,
    );
    let mut s = String::new();
    writeln!(s, "y = GroupNorm(o) (head {HEAD}) = {}", vec4(&y)).unwrap();
    writeln!(
        s,
        "TimeMix(x)     = {}   (y ⊙ g) W_oᵀ, all heads",
        vec4(ex.row(&att, T))
    )
    .unwrap();
    writeln!(s, "x + TimeMix    = {}", vec4(ex.row(&mid, T))).unwrap();
    writeln!(s, "ChannelMix     = {}", vec4(ex.row(&ffn, T))).unwrap();
    writeln!(
        s,
        "layer {LAYER}        = {}   x + TimeMix + ChannelMix",
        vec4(ex.row(&out, T))
    )
    .unwrap();
    writeln!(
        s,
        "max |layer {LAYER} here − reference::forward's layer {LAYER}| = {:.1e}",
        max_abs_diff(&out, &ex.layers[LAYER])
    )
    .unwrap();
    s
}

/// Memory carried per sequence: this example's model and released shapes (docs/models.md,
/// docs/attention.md), RWKV-6 state against attention key/value caches.
fn carried(ex: &Example) -> String {
    use rwkv_lens::trace::memory::{crossover, Carrier};
    let cfg = &ex.w.config;
    let rwkv = |n_layer, n_embd| Carrier::Rwkv {
        n_layer,
        n_embd,
        head_size: 64,
    };
    let attn = |n_layer, kv_width| Carrier::Attention { n_layer, kv_width };
    let models = [
        (
            format!("this example ({MODEL})"),
            Carrier::Rwkv {
                n_layer: cfg.n_layer,
                n_embd: cfg.n_embd,
                head_size: cfg.head_size,
            },
        ),
        ("RWKV-6 Pile 173M".into(), rwkv(12, 768)),
        ("RWKV-6 Finch 1B6".into(), rwkv(24, 2048)),
        ("all-MiniLM-L6-v2 (attention)".into(), attn(6, 384)),
        ("GPT-2 124M (attention)".into(), attn(12, 768)),
    ];
    const TS: [usize; 5] = [1, 16, 128, 1024, 4096];
    let kib = |b: usize| match b as f64 / 1024.0 {
        k if k < 1024.0 => format!("{k:.0} KiB"),
        k => format!("{:.1} MiB", k / 1024.0),
    };
    let mut s = String::from(
        "| model | L | width | t = 1 | t = 16 | t = 128 | t = 1024 | t = 4096 |\n|---|---|---|---|---|---|---|---|\n",
    );
    for (name, m) in &models {
        let (l, w) = m.depth_width();
        let cells: Vec<String> = TS.iter().map(|&t| kib(m.bytes_after(t))).collect();
        writeln!(s, "| {name} | {l} | {w} | {} |", cells.join(" | ")).unwrap();
    }
    let pairs = [
        (
            "Pile 173M and GPT-2 124M (12 layers, width 768 each)",
            rwkv(12, 768),
            attn(12, 768),
        ),
        (
            "Finch 1B6 and an attention model of its depth and width",
            rwkv(24, 2048),
            attn(24, 2048),
        ),
    ];
    for (what, r, a) in pairs {
        writeln!(
            s,
            "\n{what}: the cache outgrows the state from t = {} on.",
            crossover(r, a)
        )
        .unwrap();
    }
    s
}

/// §11: the attention model `tiny-bert` (layer 1, head 0) and this example's RWKV head on
/// the same token ids: one row of each matrix, and what each carries after the sentence.
fn contrast(ex: &Example) -> String {
    use rwkv_lens::attention::{forward::attention_map, TransformerWeights};
    use rwkv_lens::trace::contrast::{influence_matrix, shares};
    use rwkv_lens::trace::memory::{crossover, Carrier};
    let bert = TransformerWeights::load(&common::fixture("tiny-bert")).unwrap();
    let t_len = TOKENS.len();
    let p = attention_map(&bert, &TOKENS, 1, 0).unwrap();
    let a = influence_matrix(&ex.tr);
    let share = shares(&a, t_len);
    let row = |m: &[f32]| m[T * t_len..(T + 1) * t_len].to_vec();
    let fmt = |r: &[f32]| {
        r.iter()
            .map(|v| format!("{v:+.4}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sum = |r: &[f32]| r.iter().sum::<f32>();
    let (p_t, a_t, s_t) = (row(&p), row(&a), row(&share));
    let mut s = String::from("```text\n");
    writeln!(s, "token ids                       {TOKENS:?}").unwrap();
    writeln!(
        s,
        "tiny-bert P[{T}][·] (layer 1, head 0) [{}]   Σ = {:.4}",
        fmt(&p_t),
        sum(&p_t)
    )
    .unwrap();
    writeln!(
        s,
        "tiny-v6   A[{T}][·] (block {LAYER}, head {HEAD}) [{}]   Σ = {:+.4}",
        fmt(&a_t),
        sum(&a_t)
    )
    .unwrap();
    writeln!(
        s,
        "          share[{T}][·]              [{}]   Σ = {:.4}",
        fmt(&s_t),
        sum(&s_t)
    )
    .unwrap();
    let above: f32 = (0..t_len)
        .map(|i| p[i * t_len + i + 1..(i + 1) * t_len].iter().sum::<f32>())
        .sum();
    let above_a = (0..t_len)
        .map(|i| {
            a[i * t_len + i + 1..(i + 1) * t_len]
                .iter()
                .map(|v| v.abs())
                .sum::<f32>()
        })
        .sum::<f32>();
    writeln!(s, "mass above the diagonal         P: {above:.4} (encoder: reads both ways)   A: {above_a:.4}").unwrap();
    let cfg = &ex.w.config;
    let rwkv = Carrier::Rwkv {
        n_layer: cfg.n_layer,
        n_embd: cfg.n_embd,
        head_size: cfg.head_size,
    };
    let attn = Carrier::Attention {
        n_layer: bert.config.n_layer,
        kv_width: bert.config.hidden,
    };
    writeln!(s, "carried after t = {t_len} tokens         tiny-bert KV cache {} values · tiny-v6 state {} values (any t)", attn.values_after(t_len), rwkv.values_after(t_len)).unwrap();
    writeln!(
        s,
        "the cache outgrows the state from t = {}",
        crossover(rwkv, attn)
    )
    .unwrap();
    s.push_str("```\n");
    s
}

fn generated(ex: &Example) -> Vec<(&'static str, String)> {
    vec![
        ("dims", dims(ex)),
        ("shift", format!("```text\n{}```\n", shift(ex))),
        ("projections", format!("```text\n{}```\n", projections(ex))),
        ("state", format!("```text\n{}```\n", state(ex))),
        ("half-lives", half_lives(ex)),
        ("influence", influence(ex)),
        ("chunked", chunked_form(ex)),
        ("block", format!("```text\n{}```\n", block_out(ex))),
        ("carried", carried(ex)),
        ("contrast", contrast(ex)),
    ]
}

/// The doc with every generated part replaced; an error names a missing or unknown part.
fn splice(doc: &str, parts: &[(&str, String)]) -> Result<String, String> {
    let mut out = doc.to_string();
    for (name, body) in parts {
        let (open, close) = (
            format!("<!-- generated:{name} -->\n"),
            format!("<!-- /generated:{name} -->"),
        );
        let start = out
            .find(&open)
            .ok_or(format!("{DOC}: no `{}` marker", open.trim()))?
            + open.len();
        let end = out[start..]
            .find(&close)
            .ok_or(format!("{DOC}: no `{close}` marker"))?
            + start;
        out.replace_range(start..end, body);
    }
    let known = parts
        .iter()
        .filter(|(name, _)| out.contains(&format!("<!-- generated:{name} -->")))
        .count();
    let markers = out.matches("<!-- generated:").count();
    if markers != known {
        return Err(format!("{DOC}: {markers} generated parts, {known} known"));
    }
    Ok(out)
}

#[test]
fn recurrence_doc_numbers_are_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(DOC);
    let doc = std::fs::read_to_string(&path).unwrap();
    // the prose names the example's choices: keep it in step with the constants
    let choice = format!("**block {LAYER}, head {HEAD}**, and the **last token, t = {T}**");
    assert!(doc.contains(&choice), "{DOC} should say {choice}");
    let fresh = splice(&doc, &generated(&Example::new())).unwrap();
    if fresh == doc {
        return;
    }
    if std::env::var("UPDATE_DOCS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, fresh).unwrap();
        println!("{DOC} refreshed");
        return;
    }
    let line = doc
        .lines()
        .zip(fresh.lines())
        .position(|(a, b)| a != b)
        .map_or(0, |l| l + 1);
    panic!("{DOC} is stale from line {line}: refresh it with `UPDATE_DOCS=1 cargo test --test it -- recurrence_doc::`");
}

#[test]
fn recurrence_doc_paths_exist() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join(DOC)).unwrap();
    let shaders_present = root.join("shaders").is_dir();
    let mut checked = 0;
    for path in doc.split('`').skip(1).step_by(2) {
        let is_src = path.starts_with("src/") || path.starts_with("tests/");
        let is_shader = path.starts_with("shaders/") && shaders_present;
        if (is_src || is_shader) && !path.contains(' ') {
            assert!(
                root.join(path).exists(),
                "{DOC} names `{path}`, which does not exist"
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} paths checked");
}

#[test]
fn splice_rejects_missing_and_unknown_parts() {
    let parts = [("a", "1\n".to_string())];
    let ok = "x\n<!-- generated:a -->\nold\n<!-- /generated:a -->\ny";
    assert_eq!(
        splice(ok, &parts).unwrap(),
        "x\n<!-- generated:a -->\n1\n<!-- /generated:a -->\ny"
    );
    assert!(splice("x", &parts)
        .unwrap_err()
        .contains("no `<!-- generated:a -->`"));
    let extra = format!("{ok}\n<!-- generated:b -->\n<!-- /generated:b -->");
    assert!(splice(&extra, &parts)
        .unwrap_err()
        .contains("2 generated parts, 1 known"));
}
