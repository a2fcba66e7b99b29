//! The SVG pieces the study's plots and the page's charts share: the palette and text
//! escaping, a chart's opening, and a line chart: a plot area with linear or log axes
//! (`Axis`, `LineChart::axes`), lines with markers and confidence bands (`line`),
//! reference lines (`rule`) and legend entries. It draws the study's Spearman-by-layer
//! plots, its cost-by-length panels and the page's similarity chart.

use std::fmt::Write;

/// Line colours, in order (matplotlib's "tab10" without its grey and olive).
pub const PALETTE: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
];

/// Colour of series `i` (the palette repeats).
pub fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// Text or an attribute value with `& < > "` escaped.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An empty chart: the `<svg>` element on a white ground, named `label` for screen
/// readers (close it with `</svg>`).
pub fn start(w: f64, h: f64, label: &str) -> String {
    let label = escape(label);
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12" role="img" aria-label="{label}">
<rect width="100%" height="100%" fill="white"/>
"#
    )
}

/// An empty chart with `title` centred on top (close it with `</svg>`).
pub fn open(w: f64, h: f64, title: &str) -> String {
    let (x, text) = (w / 2.0, escape(title));
    start(w, h, title)
        + &format!(r#"<text x="{x}" y="24" text-anchor="middle" font-size="15">{text}</text>"#)
        + "\n"
}

/// A step of 1, 2, 2.5 or 5 × 10^k giving at most 8 ticks over `span`.
pub fn tick_step(span: f64) -> f64 {
    let raw = span.max(1e-9) / 8.0;
    let base = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * base)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * base)
}

/// `from`, `from + step`, … up to `to` (tick values).
pub fn steps(from: f64, to: f64, step: f64) -> impl Iterator<Item = f64> {
    (0..)
        .map(move |k| from + step * k as f64)
        .take_while(move |v| *v <= to + step * 1e-6)
}

/// The smallest and largest of `values` (a chart's data range).
pub fn span(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    (values.into_iter()).fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)))
}

/// `v` with as many decimals as `step` needs (a tick's label: 20, 2.5, 0.25).
fn decimals(v: f64, step: f64) -> String {
    let enough = |d: &usize| {
        let shifted = step * 10f64.powi(*d as i32);
        (shifted - shifted.round()).abs() < 1e-6
    };
    format!("{v:.*}", (0..6).find(enough).unwrap_or(6))
}

/// ` stroke-dasharray="…"`, or nothing for a solid line (`""`).
fn dash_attr(dash: &str) -> String {
    match dash {
        "" => String::new(),
        d => format!(r#" stroke-dasharray="{d}""#),
    }
}

/// A pixel position as `x,y`, the way `points="…"` lists them.
fn xy((x, y): (f64, f64)) -> String {
    format!("{x:.1},{y:.1}")
}

/// How a point is marked: a dot, a ring (a hollow dot), a square or a diamond.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Marker {
    Dot,
    Ring,
    Square,
    Diamond,
}

impl Marker {
    /// The mark centred on (x, y) in `colour`, with `hover` as its tooltip (none if "").
    fn draw(self, s: &mut String, (x, y): (f64, f64), colour: &str, hover: &str) {
        let (tag, shape) = match self {
            Marker::Dot | Marker::Ring => ("circle", format!(r#"cx="{x:.1}" cy="{y:.1}" r="3.5""#)),
            Marker::Square => {
                let corner = format!(r#"x="{:.1}" y="{:.1}""#, x - 3.5, y - 3.5);
                ("rect", format!(r#"{corner} width="7" height="7""#))
            }
            Marker::Diamond => {
                let corners = [(x, y - 4.5), (x + 4.5, y), (x, y + 4.5), (x - 4.5, y)].map(xy);
                ("polygon", format!(r#"points="{}""#, corners.join(" ")))
            }
        };
        let paint = match self {
            Marker::Ring => format!(r#"fill="white" stroke="{colour}" stroke-width="1.5""#),
            _ => format!(r#"fill="{colour}""#),
        };
        let title = match hover {
            "" => String::new(),
            h => format!("<title>{}</title>", escape(h)),
        };
        let _ = write!(s, "<{tag} {shape} {paint}>{title}</{tag}>");
    }
}

/// How a line looks: its colour, its dash pattern ("" = solid; `None`: no line, only
/// the markers) and the marker of its points (`None`: none).
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub colour: &'static str,
    pub dash: Option<&'static str>,
    pub marker: Option<Marker>,
}

/// A point of a line in data units: its place, its confidence interval if any, its
/// tooltip and, to single it out, a marker of its own instead of the line's.
#[derive(Debug, Clone)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub ci: Option<[f64; 2]>,
    pub hover: String,
    pub marker: Option<Marker>,
}

impl Point {
    /// A point without a confidence interval, marked as its line is.
    pub fn new(x: f64, y: f64, hover: String) -> Point {
        Point {
            x,
            y,
            ci: None,
            hover,
            marker: None,
        }
    }
}

/// An axis: the range it shows, its ticks (value, label) and its title. A `log` axis
/// places values by their logarithm; its range and ticks stay in data units.
#[derive(Debug, Clone)]
pub struct Axis {
    pub title: String,
    pub range: (f64, f64),
    pub ticks: Vec<(f64, String)>,
    pub log: bool,
}

impl Axis {
    /// A linear axis with the ticks given.
    pub fn new(title: &str, range: (f64, f64), ticks: Vec<(f64, String)>) -> Axis {
        Axis {
            title: title.to_string(),
            range,
            ticks,
            log: false,
        }
    }

    /// A linear axis over `lo..hi` widened to whole ticks (at most 8 steps, at least one).
    pub fn linear(title: &str, (lo, hi): (f64, f64)) -> Axis {
        let step = tick_step(hi - lo);
        let lo = (lo / step).floor() * step;
        let hi = ((hi / step).ceil() * step).max(lo + step);
        let ticks = steps(lo, hi, step).map(|v| (v, decimals(v, step)));
        Axis::new(title, (lo, hi), ticks.collect())
    }

    /// A log axis over the whole decades around `lo..hi` (at least one), a tick on each.
    pub fn log(title: &str, (lo, hi): (f64, f64)) -> Axis {
        let first = lo.log10().floor() as i32;
        let last = (hi.log10().ceil() as i32).max(first + 1);
        let decades = (first..=last).map(|k| 10f64.powi(k));
        let ticks = decades.map(|v| (v, decimals(v, v))).collect();
        let range = (10f64.powi(first), 10f64.powi(last));
        Axis {
            log: true,
            ..Axis::new(title, range, ticks)
        }
    }

    /// Where `v` lies along the axis: 0 at the range's start, 1 at its end.
    fn fraction(&self, v: f64) -> f64 {
        let f = |v: f64| if self.log { v.ln() } else { v };
        (f(v) - f(self.range.0)) / (f(self.range.1) - f(self.range.0))
    }
}

/// A chart's plot area in pixels.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
}

/// A line chart: a plot area and its two axes. `axes` draws the frame; `line` and `rule`
/// draw data on it.
pub struct LineChart {
    pub frame: Frame,
    pub x: Axis,
    pub y: Axis,
}

impl LineChart {
    /// The pixel position of the data point (x, y).
    pub fn at(&self, x: f64, y: f64) -> (f64, f64) {
        let f = self.frame;
        let px = f.left + self.x.fraction(x) * (f.right - f.left);
        (px, f.bottom - self.y.fraction(y) * (f.bottom - f.top))
    }

    /// The border; a grid line per y tick, labelled on the left; a tick mark per x tick,
    /// labelled below; the x title under those and the y title turned along the left edge.
    pub fn axes(&self, s: &mut String) {
        let Frame {
            left,
            right,
            top,
            bottom: low,
        } = self.frame;
        let (w, h) = (right - left, low - top);
        let _ = writeln!(
            s,
            r##"<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#999"/>"##
        );
        for (v, label) in &self.y.ticks {
            let (y, label) = (self.at(self.x.range.0, *v).1, escape(label));
            let (tx, ty) = (left - 6.0, y + 4.0);
            let _ = writeln!(
                s,
                r##"<line x1="{left}" y1="{y:.1}" x2="{right}" y2="{y:.1}" stroke="#eee"/><text x="{tx}" y="{ty:.1}" text-anchor="end">{label}</text>"##
            );
        }
        for (v, label) in &self.x.ticks {
            let (x, label) = (self.at(*v, self.y.range.0).0, escape(label));
            let (mark, ty) = (low + 5.0, low + 20.0);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{low}" x2="{x:.1}" y2="{mark}" stroke="#999"/><text x="{x:.1}" y="{ty}" text-anchor="middle">{label}</text>"##
            );
        }
        let (x_title, y_title) = (escape(&self.x.title), escape(&self.y.title));
        let (cx, cy) = (left + w / 2.0, top + h / 2.0);
        let (tx, ty) = (left - 46.0, low + 42.0);
        let _ = writeln!(
            s,
            r#"<text x="{cx}" y="{ty}" text-anchor="middle">{x_title}</text><text transform="translate({tx} {cy}) rotate(-90)" text-anchor="middle">{y_title}</text>"#
        );
    }

    /// A line through `points` in `style`, with a marker on each point, over a shaded
    /// band when every point has a confidence interval.
    pub fn line(&self, s: &mut String, style: Style, points: &[Point]) {
        let colour = style.colour;
        let cis: Option<Vec<_>> = points.iter().map(|p| Some((p.x, p.ci?))).collect();
        if let Some(cis) = cis.filter(|c| c.len() > 1) {
            let upper = cis.iter().map(|(x, [_, hi])| xy(self.at(*x, *hi)));
            let lower = cis.iter().rev().map(|(x, [lo, _])| xy(self.at(*x, *lo)));
            let outline = upper.chain(lower).collect::<Vec<_>>().join(" ");
            let _ = writeln!(
                s,
                r#"<polygon points="{outline}" fill="{colour}" fill-opacity="0.15" stroke="none"/>"#
            );
        }
        if let Some(dash) = style.dash {
            let pts: Vec<String> = points.iter().map(|p| xy(self.at(p.x, p.y))).collect();
            let (pts, dash) = (pts.join(" "), dash_attr(dash));
            let _ = writeln!(
                s,
                r#"<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>"#
            );
        }
        for p in points {
            if let Some(marker) = p.marker.or(style.marker) {
                marker.draw(s, self.at(p.x, p.y), colour, &p.hover);
            }
        }
        s.push('\n');
    }

    /// A reference line across the plot area at `y`, in `style`'s colour and dash.
    pub fn rule(&self, s: &mut String, y: f64, style: Style, hover: &str) {
        let (left, right, y) = (self.frame.left, self.frame.right, self.at(0.0, y).1);
        let (colour, dash) = (style.colour, dash_attr(style.dash.unwrap_or_default()));
        let hover = escape(hover);
        let _ = writeln!(
            s,
            r#"<line x1="{left}" y1="{y:.1}" x2="{right}" y2="{y:.1}" stroke="{colour}" stroke-width="1.5"{dash}><title>{hover}</title></line>"#
        );
    }
}

/// A legend entry at (x, y): a short stroke in `style` with its marker, then `label`.
pub fn legend_entry(s: &mut String, (x, y): (f64, f64), label: &str, style: Style) {
    s.push_str(r#"<g class="legend">"#);
    if let Some(dash) = style.dash {
        let (end, colour, dash) = (x + 22.0, style.colour, dash_attr(dash));
        let _ = write!(
            s,
            r#"<line x1="{x}" y1="{y}" x2="{end}" y2="{y}" stroke="{colour}" stroke-width="2"{dash}/>"#
        );
    }
    if let Some(marker) = style.marker {
        marker.draw(s, (x + 11.0, y), style.colour, "");
    }
    let (tx, ty) = (x + 28.0, y + 4.0);
    let _ = writeln!(s, r#"<text x="{tx}" y="{ty}">{}</text></g>"#, escape(label));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_ticks() {
        assert_eq!(escape("a<b&\"c\">"), "a&lt;b&amp;&quot;c&quot;&gt;");
        assert_eq!(colour(9), PALETTE[1]);
        assert_eq!((tick_step(40.0), tick_step(7.0)), (5.0, 1.0));
        let labels = |a: Axis| a.ticks.into_iter().map(|t| t.1).collect::<Vec<_>>();
        assert_eq!(
            labels(Axis::log("", (0.5, 230.0))),
            ["0.1", "1", "10", "100", "1000"]
        );
        assert_eq!(Axis::log("", (2.0, 3.0)).range, (1.0, 10.0));
        assert_eq!(
            labels(Axis::linear("", (0.05, 0.93))),
            ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
        );
        assert_eq!(Axis::linear("", (3.0, 155.4)).range, (0.0, 160.0));
    }

    #[test]
    fn draws_lines_on_linear_and_log_axes() {
        let frame = Frame {
            left: 10.0,
            right: 110.0,
            top: 0.0,
            bottom: 50.0,
        };
        let chart = |log| {
            let x = Axis {
                log,
                ..Axis::new("x", (1.0, 100.0), vec![])
            };
            LineChart {
                frame,
                x,
                y: Axis::new("y", (0.0, 1.0), vec![]),
            }
        };
        assert_eq!(chart(true).at(10.0, 0.5), (60.0, 25.0));
        let style = Style {
            colour: "red",
            dash: Some(""),
            marker: Some(Marker::Dot),
        };
        let cut = Point {
            marker: Some(Marker::Ring),
            ..Point::new(100.0, 1.0, "b".into())
        };
        let mut s = String::new();
        chart(false).line(&mut s, style, &[Point::new(1.0, 0.0, "a".into()), cut]);
        assert!(
            s.contains(r#"<polyline points="10.0,50.0 110.0,0.0""#),
            "{s}"
        );
        assert!(!s.contains("stroke-dasharray"), "solid: {s}");
        assert!(s.contains(r#"fill="white" stroke="red""#) && s.contains("<title>b</title>"));
    }
}
