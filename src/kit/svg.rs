//! What the study's plots and the page's chart share: one palette and text escaping; and
//! what the study's charts (Spearman by layer, cost by length) share: the opening, ticks,
//! scales, the plot area's frame and legend lines.

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

/// A chart's opening: the `<svg>` element on a white ground with a centred title
/// (close it with `</svg>`).
pub fn open(w: f64, h: f64, title: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="24" text-anchor="middle" font-size="15">{}</text>"#,
        w / 2.0,
        escape(title)
    );
    s
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

/// Linear map of [lo, hi] onto [a, b].
pub fn scale(lo: f64, hi: f64, a: f64, b: f64) -> impl Fn(f64) -> f64 {
    move |v| a + (v - lo) / (hi - lo) * (b - a)
}

/// ` stroke-dasharray="…"`, or nothing for a solid line (`""`).
pub fn dash_attr(dash: &str) -> String {
    match dash {
        "" => String::new(),
        d => format!(r#" stroke-dasharray="{d}""#),
    }
}

/// One legend line: a short stroke in `colour` (dashed as `dash`) and its label, at (x, y).
pub fn legend_entry(s: &mut String, (x, y): (f64, f64), label: &str, colour: &str, dash: &str) {
    let dash = dash_attr(dash);
    let _ = writeln!(
        s,
        r#"<line x1="{x}" y1="{y}" x2="{}" y2="{y}" stroke="{colour}" stroke-width="2"{dash}/><text x="{}" y="{}">{}</text>"#,
        x + 22.0,
        x + 28.0,
        y + 4.0,
        escape(label)
    );
}

/// A chart's plot area in pixels: its border, grid lines, ticks and axis titles.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
}

impl Frame {
    /// The border of the plot area.
    pub fn border(&self, s: &mut String) {
        let _ = writeln!(
            s,
            r##"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#999"/>"##,
            self.left,
            self.top,
            self.right - self.left,
            self.bottom - self.top
        );
    }

    /// A horizontal grid line at pixel row `py`, labelled on the left.
    pub fn y_tick(&self, s: &mut String, py: f64, label: &str) {
        let _ = writeln!(
            s,
            r##"<line x1="{}" y1="{py:.1}" x2="{}" y2="{py:.1}" stroke="#eee"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            self.left,
            self.right,
            self.left - 6.0,
            py + 4.0,
            escape(label)
        );
    }

    /// A tick under the plot area at pixel column `px`, labelled below it.
    pub fn x_tick(&self, s: &mut String, px: f64, label: &str) {
        let _ = writeln!(
            s,
            r##"<line x1="{px:.1}" y1="{}" x2="{px:.1}" y2="{}" stroke="#999"/><text x="{px:.1}" y="{}" text-anchor="middle">{}</text>"##,
            self.bottom,
            self.bottom + 5.0,
            self.bottom + 20.0,
            escape(label)
        );
    }

    /// The x title under the ticks and the y title turned along the left edge.
    pub fn titles(&self, s: &mut String, x_title: &str, y_title: &str) {
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            (self.left + self.right) / 2.0,
            self.bottom + 42.0,
            escape(x_title)
        );
        let _ = writeln!(
            s,
            r#"<text transform="translate({} {}) rotate(-90)" text-anchor="middle">{}</text>"#,
            self.left - 46.0,
            (self.top + self.bottom) / 2.0,
            escape(y_title)
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(super::escape("a<b&\"c\">"), "a&lt;b&amp;&quot;c&quot;&gt;");
        assert_eq!(super::colour(9), super::PALETTE[1]);
    }

    #[test]
    fn ticks() {
        assert_eq!(super::tick_step(40.0), 5.0);
        assert_eq!(super::tick_step(7.0), 1.0);
    }
}
