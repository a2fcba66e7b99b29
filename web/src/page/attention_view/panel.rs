//! The page's side of the attention models: the "Add" row of the picker and section 5.
//! The worker loads and runs the models; this file asks for them and draws what comes
//! back ([`super::view`]). `#attention-card` carries machine-readable copies for the
//! end-to-end test (`data-probs`, `data-tokens`, `data-shown`).

use web_sys::File;

use rwkv_lens::trace::contrast::influence_matrix;
use rwkv_lens::{Error, Result};

use super::view::{self as av, Recurrence};
use crate::page::client::ask;
use crate::page::dom::{data, page, picked_number, set_html, set_text, show};
use crate::page::recurrence::view::{head_options, max_abs, scale_bar, select_options};
use crate::protocol::js::{await_js, Files};
use crate::protocol::{check_url, AddModel, Added, Attend, AttentionPick, Trace};

/// Fills the RWKV block and head pickers for a freshly loaded RWKV.
pub fn rwkv_loaded(n_layer: usize, n_head: usize) {
    let p = page();
    set_html(
        &p.attention_rwkv_layer,
        &select_options(1, n_layer, "block"),
    );
    set_html(&p.attention_rwkv_head, &head_options(n_head));
}

/// The picker's attention model: local files (`config.json` read here), the URL typed,
/// or the bundled MiniLM; with the model and tokenizer files that travel beside it.
async fn picked() -> Result<(AttentionPick, Files)> {
    let p = page();
    let list = p.attention_files.files();
    let files: Vec<File> = (0..list.as_ref().map_or(0, |f| f.length()))
        .filter_map(|i| list.as_ref()?.get(i))
        .collect();
    if !files.is_empty() {
        let named = |f: &dyn Fn(&str) -> bool| files.iter().find(|x| f(&x.name())).cloned();
        let Some(config) = named(&|n| n == "config.json") else {
            return Err(Error::input(
                "the chosen files have no config.json (choose config.json, model.safetensors and tokenizer.json)",
            ));
        };
        let text = await_js(config.text(), "config.json").await?;
        let files = Files {
            model: named(&|n| n.ends_with(".safetensors")),
            tokenizer: named(&|n| n == "tokenizer.json"),
        };
        let config = text.as_string().unwrap_or_default();
        return Ok((AttentionPick::Files { config }, files));
    }
    Ok(match p.attention_url.value().trim() {
        "" => (AttentionPick::MiniLm, Files::default()),
        url => {
            check_url("attention model URL", url).map_err(Error::input)?;
            (AttentionPick::Url(url.to_string()), Files::default())
        }
    })
}

/// Asks the worker to load an attention model; fills the view's pickers.
pub async fn add() -> Result<Added> {
    let p = page();
    let (pick, files) = picked().await?;
    set_text(&p.attention_models, "loading the attention model…");
    let added = match ask(AddModel { model: pick }, files).await {
        Ok(a) => a,
        Err(e) => {
            set_text(&p.attention_models, "");
            return Err(e);
        }
    };
    set_html(
        &p.attention_layer,
        &select_options(1, added.n_layer, "layer"),
    );
    set_html(&p.attention_head, &head_options(added.n_head));
    set_text(
        &p.attention_intro,
        &format!(
            "Pick a layer and head of {} and a block and head of the RWKV, then press Show.",
            added.label
        ),
    );
    set_text(
        &p.attention_models,
        &format!(
            "beside the RWKV: {} ({} layers, {} heads, width {}) on {}",
            added.label, added.n_layer, added.n_head, added.hidden, added.engine
        ),
    );
    data(&p.model_card, "wasm-bytes", &added.wasm_bytes.to_string());
    show(&p.attention_body, true);
    Ok(added)
}

/// Traces the RWKV head and asks for the attention head on the view's sentence; draws both.
pub async fn show_view() -> Result<()> {
    let p = page();
    let sentence = p.attention_sentence.value();
    let attend = Attend {
        sentence: sentence.clone(),
        layer: picked_number(&p.attention_layer).max(1),
        head: picked_number(&p.attention_head),
    };
    let map = ask(attend, Files::default()).await?;
    let trace = Trace {
        sentence,
        layer: picked_number(&p.attention_rwkv_layer).max(1),
        head: picked_number(&p.attention_rwkv_head),
    };
    let trace = rwkv_lens::trace::from_json(&ask(trace, Files::default()).await?.json)?;
    if map.tokens.is_empty() || trace.steps.is_empty() {
        return Err(Error::input(
            "attention vs recurrence: type a sentence first",
        ));
    }
    let matrix = influence_matrix(&trace);
    let r = Recurrence {
        trace: &trace,
        matrix: &matrix,
    };
    let rwkv_tokens: Vec<String> = (trace.steps.iter())
        .map(|s| s.piece.clone().unwrap_or_default())
        .collect();
    set_html(&p.attention_map, &av::attention_svg(&map));
    set_html(&p.attention_map_tokens, &av::token_list(&map.tokens));
    set_html(
        &p.attention_map_scale,
        &scale_bar(1.0, false, "probability p"),
    );
    let reach = max_abs(&matrix);
    set_html(
        &p.attention_influence_scale,
        &scale_bar(reach, true, "influence A"),
    );
    set_html(&p.attention_influence, &av::influence_svg(&r));
    set_html(&p.attention_influence_tokens, &av::token_list(&rwkv_tokens));
    let t_max = map.tokens.len().max(trace.steps.len());
    let (attention, rwkv) = (av::attention_carrier(&map), r.carrier());
    set_html(&p.attention_memory, &av::memory_svg(attention, rwkv, t_max));
    set_html(&p.attention_text, &av::explanation_html(&map, &r));
    let card = &p.attention_card;
    let shown = (card.get_attribute("data-shown"))
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    data(
        card,
        "probs",
        &serde_json::to_string(&map.probs).unwrap_or_default(),
    );
    data(card, "tokens", &map.tokens.len().to_string());
    data(card, "shown", &(shown + 1).to_string());
    show(&p.attention_view, true);
    Ok(())
}
