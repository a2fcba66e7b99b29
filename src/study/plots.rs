//! SVG plots written by hand: Spearman vs layer per task (one line per model ×
//! pooling with its CI band, the baseline as a dashed horizontal line) and, for the
//! OOD view, a domain × layer heatmap per model × pooling.

use std::fmt::Write;

use super::evaluate::GroupKind;
use super::markdown::{ood_keys, series_keys};
use super::ood::{column_title, OodReport};
use super::report::{slug, StudyReport};
use crate::embed::Pooling;
use crate::kit::distinct;
use crate::kit::svg::{self, colour, dash_attr, escape as esc, scale, tick_step, Frame};

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

/// A line of points (x, value, CI) with its colour and dash pattern ("" = solid).
struct Line {
    label: String,
    colour: &'static str,
    dash: &'static str,
    points: Vec<(f64, f64, Option<[f64; 2]>)>,
}

/// Dash patterns of a model's poolings when several models share a plot (colour = model).
const DASHES: [&str; 3] = ["", "2 3", "8 3 2 3"];

/// Spearman by layer index, or (`depth`) by relative depth layer / blocks. One model:
/// a colour per pooling; several: a colour per model and a dash pattern per pooling.
fn layer_plot(r: &StudyReport, task: &str, depth: bool) -> Option<String> {
    let rows: Vec<_> = r.rows_for(task, GroupKind::All).collect();
    let models = distinct(rows.iter().filter(|x| x.layer.is_some()).map(|x| &x.model));
    let poolings = distinct(rows.iter().filter_map(|x| x.pooling));
    let blocks = |m: &str| {
        let info = r.models.iter().find(|i| i.label == m);
        info.map_or(1, |i| i.config.n_layer.max(1)) as f64
    };
    let lines: Vec<Line> = series_keys(rows.iter().copied())
        .into_iter()
        .enumerate()
        .map(|(i, (model, pooling))| {
            let mi = models.iter().position(|m| **m == model).unwrap_or(0);
            let pi = poolings
                .iter()
                .position(|p| Some(*p) == pooling)
                .unwrap_or(0);
            let scale = if depth { blocks(&model) } else { 1.0 };
            Line {
                label: format!("{model} ({})", pooling.map_or("—", Pooling::name)),
                colour: colour(if models.len() > 1 { mi } else { i }),
                dash: if models.len() > 1 {
                    DASHES[pi % DASHES.len()]
                } else {
                    ""
                },
                points: rows
                    .iter()
                    .filter(|x| x.model == model && x.pooling == pooling)
                    .filter_map(|x| Some((x.layer? as f64 / scale, x.spearman?, x.spearman_ci)))
                    .collect(),
            }
        })
        .filter(|l| !l.points.is_empty())
        .collect();
    if lines.is_empty() {
        return None;
    }
    let baseline: Vec<(String, f64)> = rows
        .iter()
        .filter(|x| x.layer.is_none())
        .filter_map(|x| Some((x.model.clone(), x.spearman?)))
        .collect();
    let axis = match depth {
        true => XAxis::Depth,
        false => XAxis::Layer,
    };
    let by = if depth { "relative depth" } else { "layer" };
    let title = format!("{task}: Spearman ×100 by {by}");
    Some(draw_lines(&title, axis, &lines, &baseline))
}

/// What the x axis shows.
#[derive(Clone, Copy, PartialEq)]
enum XAxis {
    Layer,
    Depth,
}

impl XAxis {
    fn label(self) -> &'static str {
        match self {
            XAxis::Layer => "layer (0 = ln0(emb), i = output of block i)",
            XAxis::Depth => "relative depth: layer / blocks (0 = embeddings, 1 = last block)",
        }
    }
    fn range(self, (x0, x1): (f64, f64)) -> (f64, f64) {
        match self {
            XAxis::Depth => (0.0, 1.0),
            XAxis::Layer if x0 == x1 => (x0 - 1.0, x1 + 1.0),
            XAxis::Layer => (x0, x1),
        }
    }
    fn ticks(self, (x0, x1): (f64, f64)) -> Vec<f64> {
        let (start, step) = match self {
            XAxis::Layer => (x0.ceil(), tick_step(x1 - x0).max(1.0)),
            XAxis::Depth => (0.0, 0.25),
        };
        (0..)
            .map(|k| start + step * k as f64)
            .take_while(|x| *x <= x1)
            .collect()
    }
}

fn draw_lines(title: &str, axis: XAxis, lines: &[Line], baseline: &[(String, f64)]) -> String {
    let (w, h, left, right, top, bottom) = (760.0, 440.0, 64.0, 560.0, 44.0, 384.0);
    let xs = lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
    let (x0, x1) = axis.range(xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x))));
    let ys = lines.iter().flat_map(|l| {
        l.points
            .iter()
            .flat_map(|(_, y, ci)| [Some(*y), ci.map(|c| c[0]), ci.map(|c| c[1])])
            .flatten()
    });
    let ys: Vec<f64> = ys.chain(baseline.iter().map(|b| b.1)).collect();
    let (y0, y1) = ys
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &y| (a.min(y), b.max(y)));
    let step = tick_step((y1 - y0).max(1.0));
    let (y0, y1) = (
        (y0 / step).floor() * step,
        ((y1 / step).ceil() * step).max((y0 / step).floor() * step + step),
    );
    let sx = scale(x0, x1, left, right);
    let sy = scale(y0, y1, bottom, top);
    let mut s = svg::open(w, h, title);
    axes(
        &mut s,
        (axis, axis.ticks((x0, x1))),
        (y0, y1, step),
        &sx,
        &sy,
        Frame {
            left,
            right,
            top,
            bottom,
        },
    );
    for (i, line) in lines.iter().enumerate() {
        draw_line(&mut s, line, axis, &sx, &sy);
        legend_entry(&mut s, i, &line.label, line.colour, line.dash);
    }
    for (j, (label, v)) in baseline.iter().enumerate() {
        let y = sy(*v);
        let _ = writeln!(
            s,
            r##"<line x1="{left}" y1="{y:.1}" x2="{right}" y2="{y:.1}" stroke="#555" stroke-width="1.5" stroke-dasharray="6 4"/>"##
        );
        legend_entry(
            &mut s,
            lines.len() + j,
            &format!("{label} {v:.1}"),
            "#555",
            "6 4",
        );
    }
    s.push_str("</svg>\n");
    s
}

fn axes(
    s: &mut String,
    (axis, xticks): (XAxis, Vec<f64>),
    (y0, y1, step): (f64, f64, f64),
    sx: &impl Fn(f64) -> f64,
    sy: &impl Fn(f64) -> f64,
    frame: Frame,
) {
    frame.border(s);
    let mut y = y0;
    while y <= y1 + step * 1e-6 {
        frame.y_tick(s, sy(y), &format!("{y:.1}"));
        y += step;
    }
    for x in xticks {
        frame.x_tick(s, sx(x), &x.to_string());
    }
    frame.titles(s, axis.label(), "Spearman ×100");
}

fn draw_line(
    s: &mut String,
    line: &Line,
    axis: XAxis,
    sx: &impl Fn(f64) -> f64,
    sy: &impl Fn(f64) -> f64,
) {
    let color = line.colour;
    let cis: Vec<(f64, [f64; 2])> = line
        .points
        .iter()
        .filter_map(|(x, _, ci)| Some((*x, (*ci)?)))
        .collect();
    if cis.len() == line.points.len() && cis.len() > 1 {
        let upper = cis
            .iter()
            .map(|(x, c)| format!("{:.1},{:.1}", sx(*x), sy(c[1])));
        let lower = cis
            .iter()
            .rev()
            .map(|(x, c)| format!("{:.1},{:.1}", sx(*x), sy(c[0])));
        let pts: Vec<String> = upper.chain(lower).collect();
        let _ = writeln!(
            s,
            r#"<polygon points="{}" fill="{color}" fill-opacity="0.15" stroke="none"/>"#,
            pts.join(" ")
        );
    }
    let pts: Vec<String> = line
        .points
        .iter()
        .map(|(x, y, _)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
        .collect();
    let _ = writeln!(
        s,
        r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{}/>"#,
        pts.join(" "),
        dash_attr(line.dash)
    );
    for (x, y, _) in &line.points {
        let what = match axis {
            XAxis::Layer => format!("layer {x}"),
            XAxis::Depth => format!("depth {x:.3}"),
        };
        let _ = writeln!(
            s,
            r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"><title>{what}: {y:.2}</title></circle>"#,
            sx(*x),
            sy(*y)
        );
    }
}

/// Legend line `i` at the right of the plot.
fn legend_entry(s: &mut String, i: usize, label: &str, colour: &str, dash: &str) {
    svg::legend_entry(s, (576.0, 56.0 + 20.0 * i as f64), label, colour, dash);
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
    let values = cols.iter().flat_map(|(_, v)| v.iter().flatten().copied());
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
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
