//! The "Attention vs recurrence" view's pictures and text as SVG/HTML strings (pure,
//! tested natively): the attention model's probability matrix and the RWKV head's
//! influence matrix (`rwkv_lens::trace::contrast`) side by side on one sentence, the
//! memory each model carries after t tokens (`rwkv_lens::trace::memory`), and the
//! explanation, every claim with the number it rests on from what is drawn.

use std::fmt::Write;

use rwkv_lens::kit::svg::escape;
use rwkv_lens::trace::contrast::shares;
use rwkv_lens::trace::memory::{crossover, Carrier};
use rwkv_lens::trace::Trace;

use crate::page::recurrence::view::{heatmap_titled, max_abs};
use crate::protocol::AttentionMap;

/// Where the maths of this view is written out (copied beside the page by trunk).
pub const DOC_LINK: &str = "recurrence.md#11-attention-vs-recurrence-on-one-sentence";

/// The RWKV side: the trace's tokens and its `[T][T]` influence matrix `A`.
pub struct Recurrence<'a> {
    pub trace: &'a Trace,
    pub matrix: &'a [f32],
}

impl Recurrence<'_> {
    fn tokens(&self) -> Vec<String> {
        (self.trace.steps.iter())
            .map(|s| s.piece.clone().unwrap_or_else(|| s.token.to_string()))
            .collect()
    }
    /// The RWKV's state (every block).
    pub fn carrier(&self) -> Carrier {
        let m = &self.trace.model;
        Carrier::Rwkv {
            n_layer: m.n_layer,
            n_embd: m.n_embd,
            head_size: m.head_size,
        }
    }
}

/// The attention model's key/value cache (every layer, width C).
pub fn attention_carrier(map: &AttentionMap) -> Carrier {
    Carrier::Attention {
        n_layer: map.n_layer,
        kv_width: map.hidden,
    }
}

/// The attention probabilities, row = query token, column = key token (0..1, red).
pub fn attention_svg(map: &AttentionMap) -> String {
    let t = map.tokens.len();
    let tok = |i: usize| map.tokens.get(i).map_or("", String::as_str);
    let title = |r: usize, c: usize, v: f32| {
        format!(
            "token {} ‘{}’ attends to token {} ‘{}’: p = {v:.4}",
            r + 1,
            tok(r),
            c + 1,
            tok(c)
        )
    };
    let label = format!(
        "attention probabilities, layer {} head {}",
        map.layer,
        map.head + 1
    );
    heatmap_titled(&map.probs, t, t, 1.0, &label, &title)
}

/// The RWKV influence matrix `A[t][i]` (signed, blue < 0 < red), with its row share on hover.
pub fn influence_svg(r: &Recurrence) -> String {
    let t = r.trace.steps.len();
    let tokens = r.tokens();
    let share = shares(r.matrix, t);
    let title = |row: usize, col: usize, v: f32| {
        format!(
            "output {} ‘{}’ reads token {} ‘{}’: A = {v:.4} ({:.1}% of the row’s |A|)",
            row + 1,
            tokens[row],
            col + 1,
            tokens[col],
            100.0 * share[row * t + col]
        )
    };
    let label = format!(
        "RWKV influence A[t][i], block {} head {}",
        r.trace.layer,
        r.trace.head + 1
    );
    heatmap_titled(r.matrix, t, t, max_abs(r.matrix), &label, &title)
}

/// The tokens in order, numbered from 1 (the matrices' rows and columns).
pub fn token_list(tokens: &[String]) -> String {
    (tokens.iter().enumerate())
        .map(|(i, t)| format!("<span><b>{}</b> {}</span>", i + 1, escape(t)))
        .collect::<Vec<_>>()
        .join(" ")
}

const MW: f64 = 420.0;
const MH: f64 = 160.0;
const PAD: f64 = 42.0;

/// Values carried after t = 1..=`t_max` tokens: the attention model's key/value cache
/// (grows) and the RWKV's state (flat), one point per t with its value on hover.
pub fn memory_svg(attention: Carrier, rwkv: Carrier, t_max: usize) -> String {
    let t_max = t_max.max(2);
    let top = attention.values_after(t_max).max(rwkv.values_after(t_max)) as f64;
    let x = |t: usize| PAD + (MW - PAD - 8.0) * (t - 1) as f64 / (t_max - 1) as f64;
    let y = |v: usize| MH - PAD - (MH - PAD - 8.0) * v as f64 / top;
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {MW} {MH}" class="memory" role="img" aria-label="memory carried per token"><line x1="{PAD}" x2="{}" y1="{}" y2="{}" stroke="#999"/><text x="{}" y="{}" font-size="10" text-anchor="middle">token t (1..{t_max})</text>"##,
        MW - 8.0,
        MH - PAD,
        MH - PAD,
        MW / 2.0,
        MH - 8.0
    );
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="12" font-size="9" text-anchor="end">{top:.0}</text><text x="{:.1}" y="{:.1}" font-size="9" text-anchor="end">0</text><text x="{:.1}" y="12" font-size="10">values (f32)</text>"#,
        PAD - 3.0,
        PAD - 3.0,
        MH - PAD,
        PAD + 4.0
    );
    for (name, c, colour) in [
        ("attention KV cache", attention, "#d62728"),
        ("RWKV state", rwkv, "#1f77b4"),
    ] {
        let points: Vec<String> = (1..=t_max)
            .map(|t| format!("{:.1},{:.1}", x(t), y(c.values_after(t))))
            .collect();
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
            points.join(" ")
        );
        for t in 1..=t_max {
            let v = c.values_after(t);
            let _ = write!(
                s,
                r#"<circle class="mem" cx="{:.1}" cy="{:.1}" r="2.5" fill="{colour}"><title>{name} after {t} tokens: {v} values ({:.1} KiB in f32)</title></circle>"#,
                x(t),
                y(v),
                c.bytes_after(t) as f64 / 1024.0
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// The explanation beside the view: each claim with the number it rests on.
pub fn explanation_html(map: &AttentionMap, r: &Recurrence) -> String {
    let (ta, tr) = (map.tokens.len(), r.trace.steps.len());
    let last_a = &map.probs[(ta - 1) * ta..];
    let row_sum: f32 = last_a.iter().sum();
    let future: f32 = (0..ta)
        .map(|i| map.probs[i * ta + i + 1..(i + 1) * ta].iter().sum::<f32>())
        .sum::<f32>()
        / ta as f32;
    let last_r = &r.matrix[(tr - 1) * tr..];
    let r_sum: f32 = last_r.iter().sum();
    let r_abs: f32 = last_r.iter().map(|a| a.abs()).sum();
    let (att, rwkv) = (attention_carrier(map), r.carrier());
    let n = r.trace.model.head_size;
    let mut items = vec![
        format!("<b>Left, a softmax per row.</b> Row t of the attention matrix is a probability distribution over the tokens: the last row ({ta} tokens) sums to <b>{row_sum:.4}</b>. Every key k<sub>i</sub> and value v<sub>i</sub> must still be there to compute it."),
        format!("<b>Right, a decayed read-out, not a distribution.</b> A[t][i] = r<sub>t</sub>·(Π w ⊙ k<sub>i</sub>) is signed and unnormalised: the last row sums to <b>{r_sum:.4}</b> (Σ|A| = {r_abs:.4}); hover a cell for its share of the row. The RWKV never stores A: every entry is implied by one N×N state S<sub>t</sub> ({n}×{n} per head)."),
        format!("<b>Memory (chart below).</b> After {ta} tokens the attention model's key/value cache holds <b>{}</b> values; the RWKV's state holds <b>{}</b> after any number of tokens. The cache outgrows the state from t = <b>{}</b> on.", att.values_after(ta), rwkv.values_after(tr), crossover(rwkv, att)),
    ];
    if future > 1e-6 {
        items.push(format!("<b>Both directions.</b> This attention model is an encoder: a token also attends to the tokens <i>after</i> it (on average {:.1}% of a row lies right of the diagonal). The recurrence reads only the past: the right matrix is zero above its diagonal.", 100.0 * future));
    } else {
        items.push("<b>Causal on both sides.</b> Both matrices are zero above the diagonal: each output reads only tokens at or before it.".into());
    }
    items.push(format!("<b>Different tokens.</b> Each model uses its own tokenizer ({ta} vs {tr} tokens here), so the rows do not line up one to one."));
    let mut html = String::from("<ul>");
    for i in items {
        let _ = write!(html, "<li>{i}</li>");
    }
    let _ = write!(
        html,
        "</ul><p>The maths, with a worked example the tests recompute: <a href=\"{DOC_LINK}\" target=\"_blank\">docs/recurrence.md §11</a>.</p>"
    );
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> AttentionMap {
        AttentionMap {
            model: "m".into(),
            layer: 1,
            head: 0,
            tokens: vec!["[CLS]".into(), "a".into()],
            probs: vec![0.75, 0.25, 0.5, 0.5],
            n_layer: 2,
            hidden: 8,
        }
    }

    #[test]
    fn attention_cells_carry_their_probability() {
        let s = attention_svg(&map());
        assert_eq!(s.matches("<title>token ").count(), 4, "{s}");
        assert!(s.contains("token 1 ‘[CLS]’ attends to token 2 ‘a’: p = 0.2500"));
        assert!(s.contains("layer 1 head 1"), "{s}");
        assert_eq!(
            token_list(&map().tokens),
            "<span><b>1</b> [CLS]</span> <span><b>2</b> a</span>"
        );
    }

    #[test]
    fn memory_grows_for_attention_and_stays_for_rwkv() {
        let att = Carrier::Attention {
            n_layer: 2,
            kv_width: 8,
        };
        let rwkv = Carrier::Rwkv {
            n_layer: 1,
            n_embd: 4,
            head_size: 2,
        };
        let s = memory_svg(att, rwkv, 3);
        assert!(
            s.contains("attention KV cache after 3 tokens: 96 values"),
            "{s}"
        );
        // RWKV: 1 · (2 heads · 2² + 2 · 4) = 16 values at every t
        assert_eq!(s.matches("RWKV state after").count(), 3);
        assert!(
            s.contains("RWKV state after 1 tokens: 16 values")
                && s.contains("after 3 tokens: 16 values")
        );
    }
}
