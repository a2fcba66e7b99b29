//! The page's side of the attention models (issue #15): the "Add" row of the picker and
//! the "Attention vs recurrence" view (section 5). The worker loads and runs the models
//! (`crate::duo`); this file sends the requests and draws what comes back
//! (`crate::duo_view`). `#duo-card` carries machine-readable copies for the
//! end-to-end test (`data-probs`, `data-tokens`, `data-shown`).

use web_sys::{File, HtmlInputElement, HtmlSelectElement};

use rwkv_lens::trace::contrast::influence_matrix;
use rwkv_lens::{Error, Result};

use crate::client::request;
use crate::dom::{await_js, by_id, set_html, set_text, show};
use crate::duo_view::{self as dv, Recurrence};
use crate::protocol::{Added, AttentionPick, Reply, Request};
use crate::recurrence_view::select_options;

/// Fills the RWKV block and head pickers for a freshly loaded RWKV.
pub fn rwkv_loaded(n_layer: usize, n_head: usize) {
    set_html("duo-rwkv-layer", &select_options(1, n_layer, "block"));
    set_html(
        "duo-rwkv-head",
        &select_options(0, n_head.saturating_sub(1), "head"),
    );
}

/// The picker's attention model: local files (`config.json` read here), the URL typed,
/// or the bundled MiniLM; with the model and tokenizer files that travel beside it.
pub async fn picked() -> Result<(AttentionPick, Option<File>, Option<File>)> {
    let files = by_id::<HtmlInputElement>("duo-files").files();
    let files: Vec<File> = (0..files.as_ref().map_or(0, |f| f.length()))
        .filter_map(|i| files.as_ref()?.get(i))
        .collect();
    if !files.is_empty() {
        let named = |f: &dyn Fn(&str) -> bool| files.iter().find(|x| f(&x.name())).cloned();
        let config = named(&|n| n == "config.json");
        let model = named(&|n| n.ends_with(".safetensors"));
        let tokenizer = named(&|n| n == "tokenizer.json");
        let Some(config) = config else {
            return Err(Error::input(
                "the chosen files have no config.json (choose config.json, model.safetensors and tokenizer.json)",
            ));
        };
        let text = await_js(config.text(), "config.json").await?;
        let config = text.as_string().unwrap_or_default();
        return Ok((AttentionPick::Files { config }, model, tokenizer));
    }
    Ok(match by_id::<HtmlInputElement>("duo-url").value().trim() {
        "" => (AttentionPick::MiniLm, None, None),
        url => (AttentionPick::Url(url.to_string()), None, None),
    })
}

/// Asks the worker to load an attention model; fills the view's pickers.
pub async fn add() -> Result<Added> {
    let (pick, model, tokenizer) = picked().await?;
    set_text("duo-models", "loading the attention model…");
    let req = Request::AddModel { model: pick };
    let added = match request(&req, model.as_ref(), tokenizer.as_ref()).await {
        Ok(Reply::Added(a)) => a,
        Ok(_) => {
            return Err(Error::input(
                "the worker answered AddModel with another reply",
            ))
        }
        Err(e) => {
            set_text("duo-models", "");
            return Err(e);
        }
    };
    set_html("duo-attn-layer", &select_options(1, added.n_layer, "layer"));
    set_html(
        "duo-attn-head",
        &select_options(0, added.n_head.saturating_sub(1), "head"),
    );
    set_text(
        "duo-models",
        &format!(
            "beside the RWKV: {} ({} layers, {} heads, width {}) on {}",
            added.label, added.n_layer, added.n_head, added.hidden, added.engine
        ),
    );
    let card = by_id::<web_sys::Element>("model-card");
    let _ = card.set_attribute("data-wasm-bytes", &added.wasm_bytes.to_string());
    show("duo-body", true);
    Ok(added)
}

fn picked_number(id: &str) -> usize {
    by_id::<HtmlSelectElement>(id).value().parse().unwrap_or(0)
}

/// Traces the RWKV head and asks for the attention head on the view's sentence; draws both.
pub async fn show_view() -> Result<()> {
    let sentence = by_id::<HtmlInputElement>("duo-sentence").value();
    let attend = Request::Attend {
        sentence: sentence.clone(),
        layer: picked_number("duo-attn-layer").max(1),
        head: picked_number("duo-attn-head"),
    };
    let map = match request(&attend, None, None).await? {
        Reply::Attended(m) => m,
        _ => {
            return Err(Error::input(
                "the worker answered Attend with another reply",
            ))
        }
    };
    let trace = Request::Trace {
        sentence,
        layer: picked_number("duo-rwkv-layer").max(1),
        head: picked_number("duo-rwkv-head"),
    };
    let trace = match request(&trace, None, None).await? {
        Reply::Traced { json, .. } => rwkv_lens::trace::from_json(&json)?,
        _ => return Err(Error::input("the worker answered Trace with another reply")),
    };
    let matrix = influence_matrix(&trace);
    let r = Recurrence {
        trace: &trace,
        matrix: &matrix,
    };
    let rwkv_tokens: Vec<String> = (trace.steps.iter())
        .map(|s| s.piece.clone().unwrap_or_default())
        .collect();
    set_html("duo-attn", &dv::attention_svg(&map));
    set_html("duo-attn-tokens", &dv::token_list(&map.tokens));
    set_html("duo-rwkv", &dv::influence_svg(&r));
    set_html("duo-rwkv-tokens", &dv::token_list(&rwkv_tokens));
    let t_max = map.tokens.len().max(trace.steps.len());
    let (attention, rwkv) = (dv::attention_carrier(&map), r.carrier());
    set_html("duo-memory", &dv::memory_svg(attention, rwkv, t_max));
    set_html("duo-text", &dv::explanation_html(&map, &r));
    let card = by_id::<web_sys::Element>("duo-card");
    let shown = card
        .get_attribute("data-shown")
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    let _ = card.set_attribute(
        "data-probs",
        &serde_json::to_string(&map.probs).unwrap_or_default(),
    );
    let _ = card.set_attribute("data-tokens", &map.tokens.len().to_string());
    let _ = card.set_attribute("data-shown", &(shown + 1).to_string());
    show("duo-view", true);
    Ok(())
}
