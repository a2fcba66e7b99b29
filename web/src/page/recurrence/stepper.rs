//! The Recurrence view in the page: [`request`] is the trace the worker is asked for
//! ([`rwkv_lens::trace::trace_with`] there); [`show_trace`] shows it. Prev / Next / the
//! slider pick the token t, and [`render`] draws for it: S_{t−1} and S_t (N×N), the write
//! k vᵀ, w_t and u, the read-out o_t, the half-life histogram, the token-shift mix amounts
//! and each earlier token's influence. The card's `data-*` attributes carry numbers for
//! the end-to-end test.

use std::cell::RefCell;

use rwkv_lens::trace::Trace;

use super::view as rv;
use crate::page::dom::{data, escape, on, page, picked_number, set_html, set_text, show};
use crate::protocol::Trace as TraceRequest;

/// The state cell the card exposes as `data-state-after` (key row, value column).
pub const PROBE: (usize, usize) = (8, 1);

struct View {
    trace: Option<Trace>,
    step: usize,
    demo: bool,
}

thread_local! {
    static VIEW: RefCell<View> = const { RefCell::new(View { trace: None, step: 0, demo: false }) };
}

/// Wires the stepping controls and fills the equations panel (once, at start).
pub fn init() {
    let p = page();
    set_html(&p.rec_equations, &rv::equations_html());
    on(&p.rec_prev, "click", |_| {
        move_step(|t, _| t.saturating_sub(1))
    });
    on(&p.rec_next, "click", |_| {
        move_step(|t, n| (t + 1).min(n - 1))
    });
    on(&p.rec_slider, "input", |_| {
        let v = page().rec_slider.value();
        move_step(|_, n| v.parse::<usize>().unwrap_or(0).min(n - 1));
    });
    on(&p.rec_check, "click", |_| check());
}

/// Fills the block and head pickers for a freshly loaded model.
pub fn model_loaded(n_layer: usize, n_head: usize, demo: bool) {
    let p = page();
    set_html(&p.rec_layer, &rv::select_options(1, n_layer, "block"));
    set_html(&p.rec_head, &rv::head_options(n_head));
    VIEW.with(|v| {
        let mut v = v.borrow_mut();
        v.trace = None;
        v.demo = demo;
    });
    show(&p.rec_body, false);
}

/// The trace of the typed sentence at the picked block and head, for the worker.
pub fn request() -> TraceRequest {
    let p = page();
    TraceRequest {
        sentence: p.rec_sentence.value(),
        layer: picked_number(&p.rec_layer).max(1),
        head: picked_number(&p.rec_head),
    }
}

/// Shows a fresh trace at token 0.
pub fn show_trace(trace: Trace) {
    let p = page();
    let tokens = trace.steps.len();
    p.rec_slider.set_max(&tokens.saturating_sub(1).to_string());
    p.rec_slider.set_value("0");
    // The bands over time depend on the whole trace only: drawn once, not per step.
    let per_token: Vec<&[f32]> = trace.steps.iter().map(|s| s.half_life.as_slice()).collect();
    set_html(&p.rec_half_life_time, &rv::half_life_over_time(&per_token));
    VIEW.with(|v| {
        let mut v = v.borrow_mut();
        v.trace = Some(trace);
        v.step = 0;
    });
    set_text(&p.rec_check_result, "");
    let _ = p.recurrence_card.remove_attribute("data-max-diff");
    data(&p.recurrence_card, "tokens", &tokens.to_string());
    show(&p.rec_body, true);
    render();
}

fn move_step(f: impl Fn(usize, usize) -> usize) {
    let moved = VIEW.with(|v| {
        let mut v = v.borrow_mut();
        let n = v.trace.as_ref().map_or(0, |t| t.steps.len());
        if n == 0 {
            return false;
        }
        v.step = f(v.step, n);
        true
    });
    if moved {
        render();
    }
}

/// Shows the recurrent-vs-chunked check stored in the trace.
fn check() {
    let p = page();
    VIEW.with(|v| {
        let v = v.borrow();
        let Some(t) = &v.trace else {
            return set_text(&p.rec_check_result, "trace a sentence first");
        };
        let c = &t.check;
        set_text(
            &p.rec_check_result,
            &format!(
                "recurrent vs chunked (chunk length {}), every head of block {}: max |difference| = {:.2e} (outputs up to {:.3})",
                c.chunk_len, t.layer, c.max_abs_diff, c.max_abs_output
            ),
        );
        data(&p.recurrence_card, "max-diff", &c.max_abs_diff.to_string());
    });
}

/// Draws everything for the current token.
fn render() {
    VIEW.with(|v| {
        let v = v.borrow();
        if let Some(trace) = v.trace.as_ref().filter(|t| v.step < t.steps.len()) {
            draw(trace, v.step, v.demo);
        }
    });
}

fn draw(trace: &Trace, t: usize, demo: bool) {
    let p = page();
    let n = trace.head_size();
    let s = &trace.steps[t];
    let pieces: Vec<String> = (trace.steps.iter())
        .map(|s| s.piece.clone().unwrap_or_else(|| format!("#{}", s.token)))
        .collect();
    p.rec_slider.set_value(&t.to_string());
    set_html(
        &p.rec_token,
        &format!(
            "token {} / {}: <b>{}</b> <small>(id {}) · block {}, head {}, N = {n}</small>",
            t + 1,
            trace.steps.len(),
            escape(&format!("{:?}", pieces[t])),
            s.token,
            trace.layer,
            trace.head + 1
        ),
    );
    draw_maps(s, n);
    set_html(&p.rec_w, &rv::bars(&s.w, None, "#1f77b4"));
    set_html(&p.rec_u, &rv::bars(&trace.u, None, "#9467bd"));
    set_html(&p.rec_out, &rv::bars(&s.output, None, "#d62728"));
    draw_half_life(s, demo);
    let m = &s.mix;
    let mix = rv::mix_heatmap([&m.w, &m.k, &m.v, &m.r, &m.g]);
    let all: Vec<f32> = [&m.w, &m.k, &m.v, &m.r, &m.g]
        .iter()
        .flat_map(|r| r.iter().copied())
        .collect();
    let off = "every a is 0: this model's token shift is off (each token sees only itself here)";
    set_html(&p.rec_mix, &with_zero_note(mix, &all, off));
    let scores: Vec<f32> = s.influence.iter().map(|i| i.score).collect();
    set_html(
        &p.rec_influence,
        &rv::bars(&scores, Some(&pieces[..=t]), "#ff7f0e"),
    );
    expose(trace, t);
}

/// S_{t−1}, the write and S_t as heatmaps, with their colour scales.
fn draw_maps(s: &rwkv_lens::trace::Step, n: usize) {
    let p = page();
    let scale = rv::max_abs(&s.state_before).max(rv::max_abs(&s.state_after));
    let before = rv::heatmap(&s.state_before, n, n, scale, "S before");
    let empty = "the state before the first token is empty: S<sub>0</sub> = 0, so every cell is 0";
    set_html(
        &p.rec_before,
        &with_zero_note(before, &s.state_before, empty),
    );
    set_html(
        &p.rec_after,
        &rv::heatmap(&s.state_after, n, n, scale, "S after"),
    );
    let ws = rv::max_abs(&s.write);
    set_html(
        &p.rec_write,
        &rv::heatmap(&s.write, n, n, ws, "write k v^T"),
    );
    set_text(
        &p.rec_scales,
        &format!("colour scale: S ±{scale:.3}, write ±{ws:.3} (red > 0, blue < 0; rows = key channel, columns = value channel)"),
    );
    let bars = rv::scale_bar(scale, true, "S before and after") + &rv::scale_bar(ws, true, "write");
    set_html(&p.rec_scale_bars, &bars);
}

/// A heatmap, and under it why it is blank when every value is 0.
fn with_zero_note(map: String, values: &[f32], why: &str) -> String {
    match rv::max_abs(values) == 0.0 {
        true => format!("{map}<p class=\"zero-note\">{why}</p>"),
        false => map,
    }
}

fn draw_half_life(s: &rwkv_lens::trace::Step, demo: bool) {
    let p = page();
    set_html(&p.rec_half_life, &rv::half_life_histogram(&s.half_life));
    let finite: Vec<f32> = (s.half_life.iter().copied())
        .filter(|h| h.is_finite())
        .collect();
    let (lo, hi) = (finite.iter()).fold((f32::INFINITY, 0f32), |(a, b), &h| (a.min(h), b.max(h)));
    let mut note = format!(
        "half-life ln ½ / ln w_t per key channel: {} channel(s), {lo:.2} … {hi:.1} tokens",
        s.half_life.len()
    );
    if demo {
        note.push_str(&format!(
            "; the demo model's designed half-lives are 2^(i/8) tokens for key channel i (README): max relative error {:.1e}",
            rv::designed_error(&s.half_life)
        ));
    }
    set_text(&p.rec_half_life_note, &note);
}

/// Numbers for the end-to-end test: the step and one state cell after the update.
fn expose(trace: &Trace, t: usize) {
    let p = page();
    let n = trace.head_size();
    let (row, col) = (PROBE.0.min(n - 1), PROBE.1.min(n - 1));
    let card = &p.recurrence_card;
    data(card, "step", &t.to_string());
    data(card, "cell", &format!("{row},{col}"));
    let value = trace.steps[t].state_after[row * n + col];
    data(card, "state-after", &value.to_string());
    set_text(
        &p.rec_probe,
        &format!("S_t[key {row}][value {col}] = {value:.6}"),
    );
}
