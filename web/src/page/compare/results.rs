//! Section 3 in the page: the chart, the RWKV's table under its heading, one table per
//! model beside it, and the machine-readable copy the end-to-end test reads.

use rwkv_lens::embed::Pooling;

use super::chart;
use super::table::pairs_table;
use crate::page::dom::{self, data, escape, page, set_html, set_text};
use crate::protocol::Comparison;

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
