//! `cost-by-length.svg`: three panels over the sentence length T (log₂ axis), one line
//! per model: ms per pair on a log₁₀ axis (a slope of 1 is linear cost, 2 quadratic), ms
//! per token (flat for a fixed state, rising with attention's T² term) and peak device
//! memory in MiB. Points where the tokenizer cut the sentences are hollow.

use std::fmt::Write;

use super::cost::{CostReport, CostRow};
use crate::kit::svg::{self, colour, legend_entry, span, Axis, Frame, LineChart};
use crate::kit::svg::{Marker, Point, Style};

/// One model's line: its label, its look and its points.
type Line<'a> = (&'a str, Style, Vec<Point>);

/// The plot area of panel `k` (0, 1, 2 from the left).
fn panel_frame(k: usize) -> Frame {
    let left = 76.0 + 340.0 * k as f64;
    Frame {
        left,
        right: left + 250.0,
        top: 60.0,
        bottom: 376.0,
    }
}

/// The whole SVG of a cost report.
pub fn plot(r: &CostReport) -> String {
    let lines = |value: &dyn Fn(&CostRow) -> Option<f64>| -> Vec<Line> {
        (r.models.iter().enumerate())
            .map(|(i, m)| {
                let style = Style {
                    colour: colour(i),
                    dash: Some(""),
                    marker: Some(Marker::Dot),
                };
                let rows = r.rows.iter().filter(|x| x.model == m.label);
                let points = rows.filter_map(|x| Some(point(&m.label, x, value(x)?)));
                (m.label.as_str(), style, points.collect())
            })
            .filter(|l: &Line| !l.2.is_empty())
            .collect()
    };
    let time = lines(&|x| Some(x.ms_per_pair).filter(|v| *v > 0.0));
    let per_token = lines(&|x| Some(x.ms_per_token).filter(|v| *v > 0.0));
    let memory = lines(&|x| x.peak_device_bytes.map(|b| b as f64 / f64::from(1 << 20)));
    let mut s = svg::open(1200.0, 440.0, "Cost by sentence length");
    let xs = &r.lengths;
    panel(&mut s, 0, xs, &time, ("ms per pair (median)", Axis::log));
    panel(&mut s, 1, xs, &per_token, ("ms per token", Axis::log));
    let from_0 = |title: &str, (_, hi): (f64, f64)| Axis::linear(title, (0.0, hi.max(1.0)));
    match memory.is_empty() {
        true => {
            let f = panel_frame(2);
            let (x, y) = ((f.left + f.right) / 2.0, (f.top + f.bottom) / 2.0);
            let _ = writeln!(
                s,
                r#"<text x="{x}" y="{y}" text-anchor="middle">no device memory: CPU engines</text>"#
            );
        }
        false => panel(&mut s, 2, xs, &memory, ("peak device MiB", from_0)),
    }
    let cut = Style {
        colour: "#555",
        dash: None,
        marker: Some(Marker::Ring),
    };
    let keys = (time.iter().map(|l| (l.0, l.1))).chain([("sentence cut", cut)]);
    for (i, (label, style)) in keys.enumerate() {
        let at = (panel_frame(2).right + 20.0, 66.0 + 20.0 * i as f64);
        legend_entry(&mut s, at, label, style);
    }
    s.push_str("</svg>\n");
    s
}

/// A row's point: hollow where the tokenizer cut the sentences.
fn point(label: &str, x: &CostRow, v: f64) -> Point {
    let note = if x.truncated { " (sentence cut)" } else { "" };
    let hover = format!("{label} T = {}: {v:.3}{note}", x.words);
    Point {
        marker: x.truncated.then_some(Marker::Ring),
        ..Point::new(x.words as f64, v, hover)
    }
}

/// The y axis of a panel from its title and the values' range.
type YAxis = fn(&str, (f64, f64)) -> Axis;

/// Panel `k`: the lines over the lengths on a log₂ axis, with its frame, ticks and titles.
fn panel(s: &mut String, k: usize, lengths: &[usize], lines: &[Line], (title, y): (&str, YAxis)) {
    let first = *lengths.first().unwrap_or(&1) as f64;
    let last = *lengths.last().unwrap_or(&1) as f64;
    let pad = if last > first { 2f64.powf(0.3) } else { 2.0 };
    let ticks = lengths.iter().map(|&t| (t as f64, t.to_string())).collect();
    let x_title = "sentence length T (words, log₂ scale)";
    let values = span(lines.iter().flat_map(|l| l.2.iter().map(|p| p.y)));
    let chart = LineChart {
        frame: panel_frame(k),
        x: Axis {
            log: true,
            ..Axis::new(x_title, (first / pad, last * pad), ticks)
        },
        y: y(title, values),
    };
    chart.axes(s);
    for (_, style, points) in lines {
        chart.line(s, *style, points);
    }
}
