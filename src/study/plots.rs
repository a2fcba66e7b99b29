//! SVG plots written by hand: Spearman vs layer per task (one line per model ×
//! pooling with its CI band, the baseline as a dashed horizontal line) and, for the
//! OOD view, a domain × layer heatmap per model × pooling.

use std::fmt::Write;

use super::evaluate::{GroupKind, Row};
use super::markdown::{ood_keys, series_keys};
use super::ood::{column_title, OodReport};
use super::report::{slug, StudyReport};
use crate::embed::Pooling;
use crate::kit::distinct;
use crate::kit::svg::{self, colour, escape as esc, span, steps, tick_step, Axis, Frame};
use crate::kit::svg::{legend_entry, LineChart, Marker, Point, Style};

/// Every plot of a report as (file name, SVG text).
pub fn all(r: &StudyReport) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for t in &r.tasks {
        if let Some(svg) = layer_plot(r, &t.name, false) {
            out.push((format!("spearman-{}.svg", slug(&t.name)), svg));
        }
        if let Some(svg) = r
            .comparison
            .as_ref()
            .and_then(|_| layer_plot(r, &t.name, true))
        {
            out.push((format!("spearman-depth-{}.svg", slug(&t.name)), svg));
        }
    }
    if let Some(ood) = &r.ood {
        for (model, pooling) in ood_keys(ood) {
            let name = format!(
                "ood-{}-{}.svg",
                slug(&model),
                pooling.map_or("none", Pooling::name)
            );
            out.push((name, heatmap(ood, &model, pooling)));
        }
    }
    out
}

/// A line of a Spearman plot: its legend label, its look and its points.
type Line = (String, Style, Vec<Point>);

/// Dash patterns of a model's poolings when several models share a plot (colour = model).
const DASHES: [&str; 3] = ["", "2 3", "8 3 2 3"];

/// The baselines' look: grey, dashed.
const BASELINE: Style = Style {
    colour: "#555",
    dash: Some("6 4"),
    marker: None,
};

/// Spearman by layer index, or (`depth`) by relative depth layer / blocks: a line per
/// model × pooling with its CI band, each baseline a dashed horizontal line.
fn layer_plot(r: &StudyReport, task: &str, depth: bool) -> Option<String> {
    let rows: Vec<&Row> = r.rows_for(task, GroupKind::All).collect();
    let lines = lines(r, &rows, depth);
    if lines.is_empty() {
        return None;
    }
    let baselines: Vec<(String, f64)> = (rows.iter().filter(|x| x.layer.is_none()))
        .filter_map(|x| Some((format!("{} {:.1}", x.model, x.spearman?), x.spearman?)))
        .collect();
    let points = || lines.iter().flat_map(|l| &l.2);
    let ys = points().flat_map(|p| [p.y].into_iter().chain(p.ci.into_iter().flatten()));
    let frame = Frame {
        left: 64.0,
        right: 560.0,
        top: 44.0,
        bottom: 384.0,
    };
    let x = x_axis(depth, span(points().map(|p| p.x)));
    let (y0, y1) = span(ys.chain(baselines.iter().map(|b| b.1)));
    let y = Axis::linear("Spearman ×100", (y0, y1.max(y0 + 1.0)));
    let chart = LineChart { frame, x, y };
    let by = if depth { "relative depth" } else { "layer" };
    let mut s = svg::open(760.0, 440.0, &format!("{task}: Spearman ×100 by {by}"));
    chart.axes(&mut s);
    for (_, style, points) in &lines {
        chart.line(&mut s, *style, points);
    }
    for (label, v) in &baselines {
        chart.rule(&mut s, *v, BASELINE, label);
    }
    let keys = lines.iter().map(|l| (&l.0, l.1));
    let keys = keys.chain(baselines.iter().map(|b| (&b.0, BASELINE)));
    for (k, (label, style)) in keys.enumerate() {
        legend_entry(&mut s, (576.0, 56.0 + 20.0 * k as f64), label, style);
    }
    s.push_str("</svg>\n");
    Some(s)
}

/// A line per model × pooling. One model: a colour per pooling; several: a colour per
/// model and a dash pattern per pooling.
fn lines(r: &StudyReport, rows: &[&Row], depth: bool) -> Vec<Line> {
    let models = distinct(rows.iter().filter(|x| x.layer.is_some()).map(|x| &x.model));
    let poolings = distinct(rows.iter().filter_map(|x| x.pooling));
    let blocks = |m: &str| {
        let info = r.models.iter().find(|i| i.label == m);
        info.map_or(1, |i| i.config.n_layer.max(1)) as f64
    };
    let hover = |x: f64, y: f64| match depth {
        true => format!("depth {x:.3}: {y:.2}"),
        false => format!("layer {x}: {y:.2}"),
    };
    (series_keys(rows.iter().copied()).into_iter().enumerate())
        .map(|(i, (model, pooling))| {
            let mi = models.iter().position(|m| **m == model).unwrap_or(0);
            let pi = (poolings.iter().position(|p| Some(*p) == pooling)).unwrap_or(0);
            let several = models.len() > 1;
            let style = Style {
                colour: colour(if several { mi } else { i }),
                dash: Some(if several {
                    DASHES[pi % DASHES.len()]
                } else {
                    ""
                }),
                marker: Some(Marker::Dot),
            };
            let scale = if depth { blocks(&model) } else { 1.0 };
            let points = (rows.iter())
                .filter(|x| x.model == model && x.pooling == pooling)
                .filter_map(|x| {
                    let (x, y, ci) = (x.layer? as f64 / scale, x.spearman?, x.spearman_ci);
                    Some(Point {
                        ci,
                        ..Point::new(x, y, hover(x, y))
                    })
                });
            let label = format!("{model} ({})", pooling.map_or("—", Pooling::name));
            (label, style, points.collect())
        })
        .filter(|l: &Line| !l.2.is_empty())
        .collect()
}

/// The x axis: layers (whole numbers) over the layers shown, or relative depth over [0, 1].
fn x_axis(depth: bool, (x0, x1): (f64, f64)) -> Axis {
    if depth {
        let ticks = steps(0.0, 1.0, 0.25).map(|x| (x, x.to_string())).collect();
        let title = "relative depth: layer / blocks (0 = embeddings, 1 = last block)";
        return Axis::new(title, (0.0, 1.0), ticks);
    }
    let (x0, x1) = if x0 == x1 {
        (x0 - 1.0, x1 + 1.0)
    } else {
        (x0, x1)
    };
    let step = tick_step(x1 - x0).max(1.0);
    let ticks = steps(x0.ceil(), x1, step)
        .map(|x| (x, x.to_string()))
        .collect();
    Axis::new(
        "layer (0 = ln0(emb), i = output of block i)",
        (x0, x1),
        ticks,
    )
}

/// Colour of t ∈ [0, 1] from light (#f7fbff) to dark blue (#08306b).
fn blue(t: f64) -> String {
    let mix = |a: f64, b: f64| (a + (b - a) * t.clamp(0.0, 1.0)).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(247.0, 8.0),
        mix(251.0, 48.0),
        mix(255.0, 107.0)
    )
}

/// One coloured, labelled cell; t ∈ [0, 1] is its place on the colour scale.
fn heat_cell(
    s: &mut String,
    (x, y, w, h): (f64, f64, f64, f64),
    value: Option<f64>,
    t: Option<f64>,
) {
    let fill = t.map_or("#dddddd".to_string(), blue);
    let ink = if t.unwrap_or(0.0) > 0.55 {
        "white"
    } else {
        "black"
    };
    let text = value.map_or("—".into(), |v| format!("{v:.1}"));
    let _ = writeln!(
        s,
        r#"<rect x="{x:.1}" y="{y:.1}" width="{w}" height="{h}" fill="{fill}" stroke="white"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11" fill="{ink}">{text}</text>"#,
        x + w / 2.0,
        y + h / 2.0 + 4.0,
    );
}

fn heatmap(ood: &OodReport, model: &str, pooling: Option<Pooling>) -> String {
    let cols: Vec<(String, Vec<Option<f64>>)> = (ood.columns(model, pooling).iter())
        .map(|col| {
            let name = col.0.map_or_else(|| column_title(col), |l| l.to_string());
            (
                name,
                col.1.iter().map(|c| c.and_then(|c| c.spearman)).collect(),
            )
        })
        .collect();
    let n_layers = cols.len() - ood.cells.iter().any(|c| c.layer.is_none()) as usize;
    let (lo, hi) = span(cols.iter().flat_map(|(_, v)| v.iter().flatten().copied()));
    let (cw, ch, left, top) = (46.0, 28.0, 120.0, 64.0);
    // The baseline column sits apart, after a gap.
    let col_x = |j: usize| left + cw * j as f64 + if j >= n_layers { 12.0 } else { 0.0 };
    let h = top + ch * ood.domains.len() as f64 + 50.0;
    let pool = pooling.map_or("—", Pooling::name);
    let title = format!("{model} ({pool}): Spearman ×100 by domain and layer");
    let mut s = svg::open((col_x(cols.len()) + 110.0).max(520.0), h, &title);
    for (j, (name, vals)) in cols.iter().enumerate() {
        let x = col_x(j);
        let label = if j >= n_layers {
            "GloVe"
        } else {
            name.as_str()
        };
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{}" text-anchor="middle" font-size="11">{}<title>{}</title></text>"#,
            x + cw / 2.0,
            top - 8.0,
            esc(label),
            esc(name)
        );
        for (i, v) in vals.iter().enumerate() {
            let t = v.map(|v| if hi > lo { (v - lo) / (hi - lo) } else { 0.5 });
            heat_cell(&mut s, (x, top + ch * i as f64, cw, ch), *v, t);
        }
    }
    for (i, d) in ood.domains.iter().enumerate() {
        let y = top + ch * i as f64 + ch / 2.0 + 4.0;
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{y:.1}" text-anchor="end">{}</text>"#,
            left - 8.0,
            esc(d)
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">layer (reference domain: {})</text>"#,
        left + cw * n_layers as f64 / 2.0,
        h - 14.0,
        esc(&ood.reference)
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heat_colours() {
        assert_eq!(blue(0.0), "#f7fbff");
        assert_eq!(blue(1.0), "#08306b");
    }
}
