//! `cost-by-length.svg`: three panels over the sentence length T (log₂ axis), one line
//! per model: ms per pair on a log₁₀ axis (a slope of 1 is linear cost, 2 quadratic), ms
//! per token (flat for a fixed state, rising with attention's T² term) and peak device
//! memory in MiB. Points where the tokenizer cut the sentences are hollow.

use std::fmt::Write;

use super::cost::CostReport;
use crate::kit::svg::{self, colour, escape as esc, scale, tick_step, Frame};

/// One model's points: (T, value, truncated).
struct Line<'a> {
    label: &'a str,
    colour: &'static str,
    points: Vec<(f64, f64, bool)>,
}

/// A panel's y axis: log₁₀ (decades) or linear from 0.
#[derive(Clone, Copy)]
enum YAxis {
    Log,
    Linear,
}

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
    let lines = |value: &dyn Fn(&super::cost::CostRow) -> Option<f64>| -> Vec<Line> {
        (r.models.iter().enumerate())
            .map(|(i, m)| Line {
                label: &m.label,
                colour: colour(i),
                points: (r.rows.iter().filter(|x| x.model == m.label))
                    .filter_map(|x| Some((x.words as f64, value(x)?, x.truncated)))
                    .collect(),
            })
            .filter(|l| !l.points.is_empty())
            .collect()
    };
    let time = lines(&|x| Some(x.ms_per_pair).filter(|v| *v > 0.0));
    let per_token = lines(&|x| Some(x.ms_per_token).filter(|v| *v > 0.0));
    let memory = lines(&|x| x.peak_device_bytes.map(|b| b as f64 / f64::from(1 << 20)));
    let mut s = svg::open(1200.0, 440.0, "Cost by sentence length");
    let xs = &r.lengths;
    panel(
        &mut s,
        panel_frame(0),
        xs,
        &time,
        YAxis::Log,
        "ms per pair (median)",
    );
    panel(
        &mut s,
        panel_frame(1),
        xs,
        &per_token,
        YAxis::Log,
        "ms per token",
    );
    let f = panel_frame(2);
    match memory.is_empty() {
        true => {
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" text-anchor="middle">no device memory: CPU engines</text>"#,
                (f.left + f.right) / 2.0,
                (f.top + f.bottom) / 2.0
            );
        }
        false => panel(&mut s, f, xs, &memory, YAxis::Linear, "peak device MiB"),
    }
    let x = panel_frame(2).right + 20.0;
    for (i, l) in time.iter().enumerate() {
        svg::legend_entry(&mut s, (x, 66.0 + 20.0 * i as f64), l.label, l.colour, "");
    }
    let y = 76.0 + 20.0 * time.len() as f64;
    let _ = writeln!(
        s,
        r##"<circle cx="{}" cy="{y}" r="3.5" fill="white" stroke="#555" stroke-width="1.5"/><text x="{}" y="{}">sentence cut</text>"##,
        x + 11.0,
        x + 28.0,
        y + 4.0
    );
    s.push_str("</svg>\n");
    s
}

/// One panel: frame, ticks, titles and the lines.
fn panel(s: &mut String, f: Frame, lengths: &[usize], lines: &[Line], y: YAxis, title: &str) {
    let values = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let x_lo = (*lengths.first().unwrap_or(&1) as f64).log2();
    let x_hi = (*lengths.last().unwrap_or(&1) as f64).log2();
    let (x_lo, x_hi) = if x_hi > x_lo {
        (x_lo - 0.3, x_hi + 0.3)
    } else {
        (x_lo - 1.0, x_hi + 1.0)
    };
    let sx = scale(x_lo, x_hi, f.left, f.right);
    let (ticks, to_axis) = y_ticks(y, lo, hi);
    let sy = scale(ticks[0].0, ticks[ticks.len() - 1].0, f.bottom, f.top);
    f.border(s);
    for (v, label) in &ticks {
        f.y_tick(s, sy(*v), label);
    }
    for &t in lengths {
        f.x_tick(s, sx((t as f64).log2()), &t.to_string());
    }
    f.titles(s, "sentence length T (words, log₂ scale)", title);
    for l in lines {
        let at = |(t, v): (f64, f64)| (sx(t.log2()), sy(to_axis(v)));
        let pts: Vec<String> = (l.points.iter())
            .map(|p| at((p.0, p.1)))
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>"#,
            pts.join(" "),
            l.colour
        );
        for &(t, v, cut) in &l.points {
            let (x, y) = at((t, v));
            let fill = if cut { "white" } else { l.colour };
            let note = if cut { " (sentence cut)" } else { "" };
            let _ = writeln!(
                s,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="{fill}" stroke="{}" stroke-width="1.5"><title>{} T = {t}: {v:.3}{note}</title></circle>"#,
                l.colour,
                esc(l.label)
            );
        }
    }
}

/// A tick: its value on the axis and its label.
type Tick = (f64, String);

/// The y ticks as (axis value, label) and the map from a value to the axis: decades
/// of the log axis (at least one), or steps of a linear one from 0.
fn y_ticks(y: YAxis, lo: f64, hi: f64) -> (Vec<Tick>, fn(f64) -> f64) {
    match y {
        YAxis::Log => {
            let a = lo.log10().floor() as i32;
            let b = (hi.log10().ceil() as i32).max(a + 1);
            let label = |k: i32| match k {
                k if k >= 0 => format!("{}", 10f64.powi(k)),
                k => format!("{:.*}", (-k) as usize, 10f64.powi(k)),
            };
            ((a..=b).map(|k| (k as f64, label(k))).collect(), f64::log10)
        }
        YAxis::Linear => {
            let step = tick_step(hi.max(1.0));
            let n = (hi.max(1.0) / step).ceil() as usize;
            let ticks = (0..=n).map(|k| (k as f64 * step, format!("{}", k as f64 * step)));
            (ticks.collect(), |v| v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_cover_whole_decades() {
        let (ticks, to_axis) = y_ticks(YAxis::Log, 0.5, 230.0);
        let labels: Vec<&str> = ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, ["0.1", "1", "10", "100", "1000"]);
        assert_eq!(to_axis(100.0), 2.0);
        let (one, _) = y_ticks(YAxis::Log, 2.0, 3.0);
        assert_eq!(one.len(), 2);
        let (lin, _) = y_ticks(YAxis::Linear, 0.0, 155.4);
        assert_eq!(lin.last().unwrap().0, 160.0);
    }
}
