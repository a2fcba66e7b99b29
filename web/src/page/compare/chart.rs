//! The similarity chart as an SVG string: x = layer (0 = embedding, L = last block),
//! y = cosine similarity; one solid line per pair, its GloVe-average similarity as a
//! dashed horizontal line in the same colour. With several models (the RWKV and the
//! attention models beside it) x is the relative depth `layer / L`
//! (`rwkv_lens::embed::relative_depth`, the study's axis) and each model has its own line
//! style and marker; the colour stays the pair's. Drawn by `rwkv_lens::kit::svg`'s
//! `LineChart`, like the study's plots.

use rwkv_lens::embed::{relative_depth, Pooling};
use rwkv_lens::kit::svg::{self, colour, legend_entry, steps, Axis, Frame, LineChart};
use rwkv_lens::kit::svg::{Marker, Point, Style};

use crate::protocol::PairResult;

/// The chart's size, and the legend's row under it (several models).
const W: f64 = 640.0;
const H: f64 = 330.0;
const LEGEND: f64 = 24.0;

/// One model's curves: its label, its blocks L and its pairs' numbers.
pub struct Series<'a> {
    pub label: &'a str,
    pub n_layer: usize,
    pub pairs: &'a [PairResult],
}

/// Line dash and marker of model i (model 0 solid with dots; GloVe's dash is `6 4`).
const STYLES: [(&str, Marker); 3] = [
    ("", Marker::Dot),
    ("2 3", Marker::Square),
    ("10 3 2 3", Marker::Diamond),
];

/// The y range: from the lowest value rounded down to 0.1 (at most -1) to 1.
fn y_range(models: &[Series], pooling: Pooling) -> (f64, f64) {
    let lowest = (models.iter().flat_map(|m| m.pairs))
        .flat_map(|p| p.by(pooling).iter().copied().chain(p.glove))
        .fold(1.0f32, f32::min) as f64;
    let y_min = ((lowest - 0.02) * 10.0).floor() / 10.0;
    (y_min.clamp(-1.0, 0.9), 1.0)
}

/// The whole chart of one model for one pooling (x = layer).
pub fn svg(pairs: &[PairResult], n_layer: usize, pooling: Pooling) -> String {
    let model = Series {
        label: "",
        n_layer,
        pairs,
    };
    svg_models(&[model], pooling)
}

/// The axes: layers of the one model, or the relative depth of several; cosine below 1.
fn layout(models: &[Series], pooling: Pooling) -> LineChart {
    let x = match models {
        [one] => {
            let ticks = (0..=one.n_layer).map(|l| (relative_depth(l, one.n_layer), l.to_string()));
            Axis::new("layer (0 = embedding)", (0.0, 1.0), ticks.collect())
        }
        _ => {
            let ticks = steps(0.0, 1.0, 0.25).map(|d| (d, format!("{d:.2}")));
            let title = "relative depth: layer / L (0 = embedding, 1 = last layer)";
            Axis::new(title, (0.0, 1.0), ticks.collect())
        }
    };
    let (lo, hi) = y_range(models, pooling);
    let step = if hi - lo > 0.6 { 0.2 } else { 0.1 };
    let ticks = steps(lo, hi, step).map(|v| (v, format!("{v:.1}")));
    let frame = Frame {
        left: 60.0,
        right: W - 16.0,
        top: 14.0,
        bottom: H - 48.0,
    };
    let y = Axis::new("cosine similarity", (lo, hi), ticks.collect());
    LineChart { frame, x, y }
}

/// The chart of every model for one pooling: x = layer for one model, relative depth
/// for several; the GloVe lines from the first model's pairs.
pub fn svg_models(models: &[Series], pooling: Pooling) -> String {
    let chart = layout(models, pooling);
    let height = if models.len() > 1 { H + LEGEND } else { H };
    let mut s = svg::start(W, height, "cosine similarity per layer");
    chart.axes(&mut s);
    let first = models.first().map_or(&[][..], |m| m.pairs);
    for (i, pair) in first.iter().enumerate() {
        if let Some(g) = pair.glove {
            let glove = Style {
                colour: colour(i),
                dash: Some("6 4"),
                marker: None,
            };
            let hover = format!("pair {}: GloVe average {g:.4}", i + 1);
            s.push_str(&format!(r#"<g class="pair" data-pair="{i}">"#));
            chart.rule(&mut s, g.into(), glove, &hover);
            s.push_str("</g>");
        }
    }
    for (m, model) in models.iter().enumerate() {
        let (dash, marker) = STYLES[m % STYLES.len()];
        let style = |colour| Style {
            colour,
            dash: Some(dash),
            marker: Some(marker),
        };
        let who = match model.label {
            "" => String::new(),
            l => format!("{l}, "),
        };
        for (i, pair) in model.pairs.iter().enumerate() {
            let points: Vec<Point> = (pair.by(pooling).iter().enumerate())
                .map(|(l, &v)| {
                    let hover = format!("{who}pair {}, layer {l}: {v:.4}", i + 1);
                    Point::new(relative_depth(l, model.n_layer), v.into(), hover)
                })
                .collect();
            s.push_str(&format!(r#"<g class="pair" data-pair="{i}">"#));
            chart.line(&mut s, style(colour(i)), &points);
            s.push_str("</g>");
        }
        if models.len() > 1 {
            let at = (chart.frame.left + 250.0 * m as f64, H + LEGEND / 2.0);
            legend_entry(&mut s, at, model.label, style("#444"));
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(mean: Vec<f32>, glove: Option<f32>) -> PairResult {
        PairResult {
            a: "a".into(),
            b: "b".into(),
            tokens: (1, 1),
            last: mean.clone(),
            mean,
            glove,
        }
    }

    #[test]
    fn points_map_layers_and_values() {
        let pairs = [pair(vec![1.0, 0.5, 0.0], Some(0.5))];
        let s = svg(&pairs, 2, Pooling::Mean);
        // y range [-0.1, 1], plot height 268 px: v → 14 + 268·(1 − v)/1.1.
        let want = r#"points="60.0,14.0 342.0,135.8 624.0,257.6""#;
        assert!(s.contains(want), "{want} not in {s}");
        assert_eq!(s.matches("<circle").count(), 3);
        assert_eq!(s.matches(r#"stroke-dasharray="6 4""#).count(), 1); // GloVe
    }

    #[test]
    fn several_models_share_the_relative_depth_axis() {
        let rwkv = [pair(vec![1.0, 0.5, 0.0], Some(0.5))];
        let attn = [pair(vec![1.0, 0.8, 0.6, 0.4, 0.2], None)];
        let models = [
            Series {
                label: "RWKV",
                n_layer: 2,
                pairs: &rwkv,
            },
            Series {
                label: "MiniLM",
                n_layer: 4,
                pairs: &attn,
            },
        ];
        let s = svg_models(&models, Pooling::Mean);
        // RWKV layer 1 of 2 and MiniLM layer 2 of 4 both sit at depth 0.5 (x = 342).
        assert!(
            s.contains(r#"points="60.0,14.0 342.0,135.8 624.0,257.6""#),
            "{s}"
        );
        assert!(s.contains("342.0,111.5"), "{s}");
        assert!(s.contains(r#"stroke-dasharray="2 3""#) && s.contains("relative depth"));
        assert_eq!(s.matches("<circle").count(), 3 + 1); // RWKV's markers + legend
        assert_eq!(s.matches(r#"class="legend""#).count(), 2);
        // pair 0's lines (RWKV, MiniLM) and its GloVe rule, each in a group to highlight
        assert_eq!(s.matches(r#"<g class="pair" data-pair="0">"#).count(), 3);
        assert_eq!(s.matches(r#"stroke-dasharray="6 4""#).count(), 1); // GloVe
    }
}
