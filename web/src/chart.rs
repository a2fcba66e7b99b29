//! The similarity chart as an SVG string: x = layer (0 = embedding, L = last block),
//! y = cosine similarity; one solid line per pair, its GloVe-average similarity as a
//! dashed horizontal line in the same colour. With several models (the RWKV and the
//! attention models beside it) x is the relative depth `layer / L`
//! (`rwkv_lens::embed::relative_depth`, the study's axis) and each model has its own line
//! style and marker; the colour stays the pair's.

use std::fmt::Write;

use rwkv_lens::embed::Pooling;

use crate::compare::PairResult;

pub use rwkv_lens::kit::svg::PALETTE as COLOURS;
const W: f64 = 640.0;
const H: f64 = 320.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 40.0;
/// The legend's row under the chart (several models).
const LEGEND: f64 = 20.0;

/// One model's curves: its label, its blocks L and its pairs' numbers.
pub struct Series<'a> {
    pub label: &'a str,
    pub n_layer: usize,
    pub pairs: &'a [PairResult],
}

/// Line dash and marker of model i (model 0 solid with dots; GloVe's dash is `6 4`).
const STYLES: [(&str, Marker); 3] = [
    ("none", Marker::Dot),
    ("2 3", Marker::Square),
    ("10 3 2 3", Marker::Diamond),
];

#[derive(Clone, Copy)]
enum Marker {
    Dot,
    Square,
    Diamond,
}

impl Marker {
    fn draw(self, x: f64, y: f64, colour: &str, title: &str) -> String {
        let shape = match self {
            Marker::Dot => format!(r#"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="{colour}">"#),
            Marker::Square => format!(
                r#"<rect x="{:.1}" y="{:.1}" width="7" height="7" fill="{colour}">"#,
                x - 3.5,
                y - 3.5
            ),
            Marker::Diamond => format!(
                r#"<polygon points="{x:.1},{:.1} {:.1},{y:.1} {x:.1},{:.1} {:.1},{y:.1}" fill="{colour}">"#,
                y - 4.5,
                x + 4.5,
                y + 4.5,
                x - 4.5
            ),
        };
        let close = match self {
            Marker::Dot => "</circle>",
            Marker::Square => "</rect>",
            Marker::Diamond => "</polygon>",
        };
        format!("{shape}<title>{title}</title>{close}")
    }
}

/// Maps data to pixels: x from the relative depth in [0, 1].
struct Frame {
    /// Layer ticks for one model; depth ticks (0, ¼, …, 1) when `None`.
    layers: Option<usize>,
    y_min: f64,
    y_max: f64,
}

impl Frame {
    fn x_depth(&self, depth: f64) -> f64 {
        LEFT + (W - LEFT - RIGHT) * depth
    }
    fn x(&self, layer: usize, n_layer: usize) -> f64 {
        self.x_depth(rwkv_lens::embed::relative_depth(layer, n_layer))
    }
    fn y(&self, v: f64) -> f64 {
        TOP + (H - TOP - BOTTOM) * (self.y_max - v) / (self.y_max - self.y_min)
    }
}

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

/// The chart of every model for one pooling: x = layer for one model, relative depth
/// for several; the GloVe lines from the first model's pairs.
pub fn svg_models(models: &[Series], pooling: Pooling) -> String {
    let (y_min, y_max) = y_range(models, pooling);
    let f = Frame {
        layers: (models.len() == 1).then(|| models[0].n_layer),
        y_min,
        y_max,
    };
    let height = if models.len() > 1 { H + LEGEND } else { H };
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height}" role="img" aria-label="cosine similarity per layer">"#
    );
    axes(&mut s, &f);
    for (i, pair) in models
        .first()
        .map_or(&[][..], |m| m.pairs)
        .iter()
        .enumerate()
    {
        if let Some(g) = pair.glove {
            let (y, colour) = (f.y(g as f64), rwkv_lens::kit::svg::colour(i));
            let _ = write!(
                s,
                r#"<line class="glove" x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{colour}" stroke-dasharray="6 4"><title>pair {}: GloVe average {g:.4}</title></line>"#,
                f.x_depth(0.0),
                f.x_depth(1.0),
                i + 1
            );
        }
    }
    for (m, model) in models.iter().enumerate() {
        curves(&mut s, &f, model, STYLES[m % STYLES.len()], pooling);
    }
    if models.len() > 1 {
        legend(&mut s, models);
    }
    s.push_str("</svg>");
    s
}

/// One model's line and markers per pair.
fn curves(
    s: &mut String,
    f: &Frame,
    model: &Series,
    (dash, marker): (&str, Marker),
    pooling: Pooling,
) {
    let who = match model.label {
        "" => String::new(),
        l => format!("{l}, "),
    };
    for (i, pair) in model.pairs.iter().enumerate() {
        let colour = rwkv_lens::kit::svg::colour(i);
        let values = pair.by(pooling);
        let at = |l: usize, v: f32| (f.x(l, model.n_layer), f.y(v as f64));
        let points: Vec<String> = (values.iter().enumerate())
            .map(|(l, &v)| {
                let (x, y) = at(l, v);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = write!(
            s,
            r#"<polyline class="pair" fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}" points="{}"/>"#,
            points.join(" ")
        );
        for (l, &v) in values.iter().enumerate() {
            let (x, y) = at(l, v);
            let title = format!("{who}pair {}, layer {l}: {v:.4}", i + 1);
            s.push_str(&marker.draw(x, y, colour, &title));
        }
    }
}

/// Which line style is which model (several models only): one row under the chart.
fn legend(s: &mut String, models: &[Series]) {
    for (m, model) in models.iter().enumerate() {
        let (dash, marker) = STYLES[m % STYLES.len()];
        let (x, y) = (LEFT + 250.0 * m as f64, H + LEGEND / 2.0);
        let _ = write!(
            s,
            r##"<g class="legend"><line x1="{x:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#444" stroke-width="2" stroke-dasharray="{dash}"/>{}<text x="{:.1}" y="{:.1}" font-size="11">{}</text></g>"##,
            x + 28.0,
            marker.draw(x + 14.0, y, "#444", model.label),
            x + 34.0,
            y + 4.0,
            rwkv_lens::kit::svg::escape(model.label)
        );
    }
}

fn axes(s: &mut String, f: &Frame) {
    let (x0, x1, y0, y1) = (f.x_depth(0.0), f.x_depth(1.0), f.y(f.y_min), f.y(f.y_max));
    let _ = write!(
        s,
        r##"<rect x="{x0}" y="{y1}" width="{:.1}" height="{:.1}" fill="#fafafa" stroke="#999"/>"##,
        x1 - x0,
        y0 - y1
    );
    let step = if f.y_max - f.y_min > 0.6 { 0.2 } else { 0.1 };
    let mut v = f.y_min;
    while v <= f.y_max + 1e-9 {
        let y = f.y(v);
        let _ = write!(
            s,
            r##"<line x1="{x0}" x2="{x1:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#e2e2e2"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11">{v:.1}</text>"##,
            x0 - 6.0,
            y + 4.0
        );
        v += step;
    }
    let (ticks, caption): (Vec<(f64, String)>, &str) = match f.layers {
        Some(n) => (
            (0..=n)
                .map(|l| (rwkv_lens::embed::relative_depth(l, n), l.to_string()))
                .collect(),
            "layer (0 = embedding)",
        ),
        None => (
            (0..=4)
                .map(|q| (q as f64 / 4.0, format!("{:.2}", q as f64 / 4.0)))
                .collect(),
            "relative depth: layer / L (0 = embedding, 1 = last layer)",
        ),
    };
    for (depth, label) in ticks {
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11">{label}</text>"#,
            f.x_depth(depth),
            y0 + 16.0
        );
    }
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12">{caption}</text><text x="12" y="{:.1}" text-anchor="middle" font-size="12" transform="rotate(-90 12 {:.1})">cosine similarity</text>"#,
        (x0 + x1) / 2.0,
        H - 4.0,
        (y0 + y1) / 2.0,
        (y0 + y1) / 2.0
    );
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
        // y range [-0.1, 1], plot height 266 px: v → 14 + 266·(1 − v)/1.1.
        let want = r#"points="52.0,14.0 338.0,134.9 624.0,255.8""#;
        assert!(s.contains(want), "{want} not in {s}");
        assert_eq!(s.matches("<circle").count(), 3);
        assert_eq!(s.matches(r#"class="glove""#).count(), 1);
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
        // RWKV layer 1 of 2 and MiniLM layer 2 of 4 both sit at depth 0.5 (x = 338).
        assert!(
            s.contains(r#"points="52.0,14.0 338.0,134.9 624.0,255.8""#),
            "{s}"
        );
        assert!(s.contains("338.0,110.7"), "{s}");
        assert!(s.contains(r#"stroke-dasharray="2 3""#) && s.contains("relative depth"));
        assert_eq!(s.matches("<circle").count(), 3 + 1); // RWKV's markers + legend
        assert_eq!(s.matches(r#"class="legend""#).count(), 2);
        assert_eq!(s.matches(r#"class="glove""#).count(), 1);
    }
}
