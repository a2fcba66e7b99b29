//! One model's numbers as an HTML table (pure, tested natively): a row per pair, a
//! column per layer, and the GloVe value when the table is the one that has them.

use rwkv_lens::embed::Pooling;
use rwkv_lens::kit::svg::{colour, escape};

use crate::protocol::PairResult;

/// The table's rows: the pairs' sentences (escaped), token counts and cosines per layer;
/// a GloVe column only when `glove` (the RWKV's table: the other models' would repeat it).
pub fn pairs_table(
    layers: &[usize],
    pairs: &[PairResult],
    pooling: Pooling,
    glove: bool,
) -> String {
    let mut html =
        String::from("<thead><tr><th></th><th>sentence A</th><th>sentence B</th><th>tokens</th>");
    for l in layers {
        html.push_str(&format!("<th>L{l}</th>"));
    }
    if glove {
        html.push_str("<th>GloVe</th>");
    }
    html.push_str("</tr></thead><tbody>");
    for (i, p) in pairs.iter().enumerate() {
        html.push_str(&format!(
            "<tr data-pair=\"{i}\"><td><span class=\"swatch\" style=\"background:{}\"></span>{}</td><td>{}</td><td>{}</td><td>{} / {}</td>",
            colour(i),
            i + 1,
            escape(&p.a),
            escape(&p.b),
            p.tokens.0,
            p.tokens.1
        ));
        for v in p.by(pooling) {
            html.push_str(&format!("<td class=\"num\">{v:.4}</td>"));
        }
        if glove {
            let g = p.glove.map_or("—".into(), |g| format!("{g:.4}"));
            html.push_str(&format!("<td class=\"num glove\">{g}</td>"));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> PairResult {
        PairResult {
            a: "<img src=x onerror=alert(1)>".into(),
            b: "b & c".into(),
            tokens: (3, 2),
            mean: vec![1.0, 0.5],
            last: vec![1.0, 0.25],
            glove: Some(0.75),
        }
    }

    #[test]
    fn sentences_are_text_and_glove_is_optional() {
        let t = pairs_table(&[0, 1], &[pair()], Pooling::Last, true);
        assert!(!t.contains("<img") && t.contains("&lt;img src=x"), "{t}");
        assert!(t.contains("<td class=\"num\">0.2500</td>") && t.contains("0.7500"));
        let without = pairs_table(&[0, 1], &[pair()], Pooling::Mean, false);
        assert!(
            !without.contains("GloVe") && !without.contains("0.7500"),
            "{without}"
        );
    }
}
