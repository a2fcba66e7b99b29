//! Section 3 in the page: the chart, the RWKV's table under its heading, one table per
//! model beside it, and the machine-readable copy the end-to-end test reads. Hovering a
//! table row (or a line) highlights that pair's lines in the chart, so lines that lie on
//! top of each other can be told apart.

use rwkv_lens::embed::Pooling;

use super::chart;
use super::table::pairs_table;
use wasm_bindgen::JsCast;
use web_sys::Element;

use crate::page::dom::{self, data, escape, on, page, set_html, set_text};
use crate::protocol::Comparison;

/// Wires the highlight: a row under the pointer lights its pair's lines up.
pub fn init() {
    let card = &page().results_card;
    on(card, "mouseover", |e| highlight(row_pair(&e)));
    on(card, "mouseout", |_| highlight(None));
}

/// The pair of the table row under the event, if any.
fn row_pair(e: &web_sys::Event) -> Option<String> {
    let el = e.target()?.dyn_into::<Element>().ok()?;
    el.closest("tr[data-pair]")
        .ok()??
        .get_attribute("data-pair")
}

/// Marks pair `pair`'s lines (`None`: none) and dims the others.
fn highlight(pair: Option<String>) {
    let chart = &page().chart;
    let Ok(groups) = chart.query_selector_all("g.pair") else {
        return;
    };
    for i in 0..groups.length() {
        if let Some(g) = groups.item(i).and_then(|g| g.dyn_into::<Element>().ok()) {
            let on = pair.is_some() && g.get_attribute("data-pair") == pair;
            let _ = toggle(&g, "data-hl", on);
        }
    }
    if let Ok(Some(svg)) = chart.query_selector("svg") {
        let _ = toggle(&svg, "data-dim", pair.is_some());
    }
}

/// Sets (`on`) or removes the empty attribute `name`.
fn toggle(el: &Element, name: &str, on: bool) -> Result<(), wasm_bindgen::JsValue> {
    match on {
        true => el.set_attribute(name, ""),
        false => el.remove_attribute(name),
    }
}

/// Chart + tables + `data-json`. With attention models beside the RWKV (`c.more`) the
/// chart puts every model on the relative-depth axis and each model gets its own table
/// under the RWKV's.
pub fn show(c: &Comparison, n_layer: usize, pooling: Pooling, runs: u32) {
    let p = page();
    let rwkv = format!("RWKV-6 ({n_layer} blocks)");
    let mut models = vec![chart::Series {
        label: &rwkv,
        n_layer,
        pairs: &c.pairs,
    }];
    models.extend(c.more.iter().map(|m| chart::Series {
        label: &m.label,
        n_layer: m.n_layer,
        pairs: &m.pairs,
    }));
    set_html(&p.chart, &chart::svg_models(&models, pooling));
    set_html(
        &p.results_heading,
        &format!(
            "{} <small class=\"meta\">{}</small>",
            escape(&rwkv),
            escape(&c.engine)
        ),
    );
    set_html(&p.results, &pairs_table(&c.layers, &c.pairs, pooling, true));
    let more: String = (c.more.iter())
        .map(|m| {
            let layers: Vec<usize> = (0..=m.n_layer).collect();
            format!(
                "<h3>{} <small class=\"meta\">{}</small></h3><div class=\"scroll\"><table class=\"results\">{}</table></div>",
                escape(&m.label),
                escape(&m.engine),
                pairs_table(&layers, &m.pairs, pooling, false)
            )
        })
        .collect();
    set_html(&p.results_more, &more);
    let names: Vec<&str> = models.iter().map(|m| m.label).collect();
    set_text(
        &p.result_meta,
        &format!(
            "{} pooling · {} pair(s) in {:.0} ms on {} · {}",
            pooling.name(),
            c.pairs.len(),
            c.millis,
            c.engine,
            names.join(" + ")
        ),
    );
    let card = &p.results_card;
    data(card, "json", &serde_json::to_string(c).unwrap_or_default());
    data(card, "runs", &runs.to_string());
    data(card, "models", &models.len().to_string());
    dom::show(card, true);
}
