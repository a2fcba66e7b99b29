//! The editable sentence-pair rows.

use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlInputElement};

use super::dom::{document, on, page};
use rwkv_lens::{Error, Result};

/// Prefilled examples: paraphrases, an unrelated pair, a topical pair.
pub const EXAMPLES: [(&str, &str); 4] = [
    ("A man is playing a guitar.", "A person plays the guitar."),
    (
        "The cat sat on the mat.",
        "Stock markets fell sharply today.",
    ),
    (
        "The weather is lovely today.",
        "It is sunny and warm outside.",
    ),
    ("She bought a new car.", "He sold his old bicycle."),
];

pub fn init() {
    for (a, b) in EXAMPLES {
        add(a, b);
    }
}

fn input(class: &str, value: &str, placeholder: &str) -> Option<HtmlInputElement> {
    let el: HtmlInputElement = document()?.create_element("input").ok()?.unchecked_into();
    el.set_type("text");
    el.set_class_name(class);
    el.set_value(value);
    el.set_placeholder(placeholder);
    Some(el)
}

/// Appends a row with two sentence fields and a remove button.
pub fn add(a: &str, b: &str) {
    let _ = try_add(a, b);
}

fn try_add(a: &str, b: &str) -> Option<()> {
    let doc = document()?;
    let row: Element = doc.create_element("div").ok()?;
    row.set_class_name("pair-row");
    let remove = doc.create_element("button").ok()?;
    remove.set_class_name("remove");
    remove.set_text_content(Some("×"));
    let _ = remove.set_attribute("title", "remove this pair");
    let (sa, sb) = (input("sa", a, "sentence A")?, input("sb", b, "sentence B")?);
    let _ = row.append_child(&sa);
    let _ = row.append_child(&sb);
    let _ = row.append_child(&remove);
    let r = row.clone();
    on(&remove, "click", move |_| r.remove());
    let _ = page().pairs.append_child(&row);
    Some(())
}

/// The pairs as typed; a half-empty row is an error naming the row, empty rows are skipped.
pub fn read() -> Result<Vec<(String, String)>> {
    let rows = (page().pairs.query_selector_all(".pair-row"))
        .map_err(|_| Error::input("the pair rows cannot be read"))?;
    let mut out = Vec::new();
    for i in 0..rows.length() {
        let Some(row) = rows.item(i).and_then(|r| r.dyn_into::<Element>().ok()) else {
            continue;
        };
        let get = |class: &str| -> String {
            row.query_selector(&format!("input.{class}"))
                .ok()
                .flatten()
                .map(|e| {
                    e.unchecked_into::<HtmlInputElement>()
                        .value()
                        .trim()
                        .to_string()
                })
                .unwrap_or_default()
        };
        let (a, b) = (get("sa"), get("sb"));
        match (a.is_empty(), b.is_empty()) {
            (true, true) => continue,
            (false, false) => out.push((a, b)),
            _ => {
                return Err(Error::input(format!(
                    "pair {}: both sentences are needed",
                    i + 1
                )))
            }
        }
    }
    if out.is_empty() {
        return Err(Error::input("no sentence pairs: add one and press Compare"));
    }
    Ok(out)
}
