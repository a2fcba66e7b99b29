//! The similarity chart as an SVG string: x = layer (0 = embedding, L = last block),
//! y = cosine similarity; one solid line per pair, its GloVe-average similarity as a
//! dashed horizontal line in the same colour.

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

/// Maps data to pixels.
struct Frame {
    layers: usize,
    y_min: f64,
    y_max: f64,
}

impl Frame {
    fn x(&self, layer: usize) -> f64 {
        LEFT + (W - LEFT - RIGHT) * layer as f64 / self.layers.max(1) as f64
    }
    fn y(&self, v: f64) -> f64 {
        TOP + (H - TOP - BOTTOM) * (self.y_max - v) / (self.y_max - self.y_min)
    }
}

/// The y range: from the lowest value rounded down to 0.1 (at most -1) to 1.
fn y_range(pairs: &[PairResult], pooling: Pooling) -> (f64, f64) {
    let lowest = pairs
        .iter()
        .flat_map(|p| p.by(pooling).iter().copied().chain(p.glove))
        .fold(1.0f32, f32::min) as f64;
    let y_min = ((lowest - 0.02) * 10.0).floor() / 10.0;
    (y_min.clamp(-1.0, 0.9), 1.0)
}

/// The whole chart for one pooling.
pub fn svg(pairs: &[PairResult], n_layer: usize, pooling: Pooling) -> String {
    let (y_min, y_max) = y_range(pairs, pooling);
    let f = Frame {
        layers: n_layer,
        y_min,
        y_max,
    };
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" aria-label="cosine similarity per layer">"#
    );
    axes(&mut s, &f);
    for (i, pair) in pairs.iter().enumerate() {
        let colour = rwkv_lens::kit::svg::colour(i);
        if let Some(g) = pair.glove {
            let y = f.y(g as f64);
            let _ = write!(
                s,
                r#"<line class="glove" x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{colour}" stroke-dasharray="6 4"><title>pair {}: GloVe average {g:.4}</title></line>"#,
                f.x(0),
                f.x(n_layer),
                i + 1
            );
        }
        let values = pair.by(pooling);
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(l, &v)| format!("{:.1},{:.1}", f.x(l), f.y(v as f64)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline class="pair" fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
            points.join(" ")
        );
        for (l, &v) in values.iter().enumerate() {
            let _ = write!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{colour}"><title>pair {}, layer {l}: {v:.4}</title></circle>"#,
                f.x(l),
                f.y(v as f64),
                i + 1
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn axes(s: &mut String, f: &Frame) {
    let (x0, x1, y0, y1) = (f.x(0), f.x(f.layers), f.y(f.y_min), f.y(f.y_max));
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
    for l in 0..=f.layers {
        let x = f.x(l);
        let _ = write!(
            s,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="11">{l}</text>"#,
            y0 + 16.0
        );
    }
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12">layer (0 = embedding)</text><text x="12" y="{:.1}" text-anchor="middle" font-size="12" transform="rotate(-90 12 {:.1})">cosine similarity</text>"#,
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
}
