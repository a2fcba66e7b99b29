//! The Recurrence view's pictures as SVG/HTML strings (pure, tested natively): heatmaps
//! of the N×N state and write, bar charts (decay, bonus, read-out, influence), the
//! half-life histogram, the 5-row token-shift heatmap and the equations panel.

use std::fmt::Write;

use rwkv_lens::kit::svg::escape;
use rwkv_lens::trace::equations::{line, EQUATIONS};

/// `<option>`s `name from` … `name to` for a `<select>` of blocks or layers (1-based).
pub fn select_options(from: usize, to: usize, name: &str) -> String {
    (from..=to)
        .map(|i| format!("<option value=\"{i}\">{name} {i}</option>"))
        .collect()
}

/// `<option>`s for `n` heads: the value is the head's index (0-based, what the engines
/// take), the label counts from 1 like blocks and layers do.
pub fn head_options(n: usize) -> String {
    (0..n)
        .map(|i| format!("<option value=\"{i}\">head {}</option>", i + 1))
        .collect()
}

/// The colour scale of a heatmap: a gradient bar from −`scale` (blue) through 0 (white)
/// to +`scale` (red), or from 0 to `scale` when `signed` is false, with its ends labelled.
pub fn scale_bar(scale: f32, signed: bool, what: &str) -> String {
    let (w, h) = (220.0, 36.0);
    let lo = if signed { -scale } else { 0.0 };
    let stops: String = (0..=8)
        .map(|i| {
            let v = lo + (scale - lo) * i as f32 / 8.0;
            let at = i * 100 / 8;
            format!(
                r#"<stop offset="{at}%" stop-color="{}"/>"#,
                colour(v, scale)
            )
        })
        .collect();
    let mid = match signed {
        true => format!(
            r#"<text x="{}" y="34" text-anchor="middle">0</text>"#,
            w / 2.0
        ),
        false => String::new(),
    };
    let id: String = (what.chars())
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let what = escape(what);
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" class="scale" role="img" aria-label="colour scale of {what}"><defs><linearGradient id="g-{id}">{stops}</linearGradient></defs><text x="0" y="9">{what}</text><rect x="0" y="12" width="{w}" height="12" fill="url(#g-{id})" stroke="#ccc"><title>{what}: colour scale {lo:.3} … {scale:.3}</title></rect><text x="0" y="34">{lo:.3}</text>{mid}<text x="{w}" y="34" text-anchor="end">{scale:.3}</text></svg>"##
    )
}

/// Diverging colour for `v / scale` in [-1, 1]: blue (negative) → white → red (positive).
pub fn colour(v: f32, scale: f32) -> String {
    let x = if scale > 0.0 {
        (v / scale).clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let fade = |a: f32| (255.0 * (1.0 - a.abs())).round() as u8;
    let (r, g, b) = if x >= 0.0 {
        (255, fade(x), fade(x))
    } else {
        (fade(x), fade(x), 255)
    };
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Largest |v| (0 for an empty slice).
pub fn max_abs(values: &[f32]) -> f32 {
    values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f32, |m, v| m.max(v.abs()))
}

/// What hovering a heatmap cell shows: (row, column, value) → text.
pub type CellTitle<'a> = &'a dyn Fn(usize, usize, f32) -> String;

/// A state-shaped heatmap (rows = key channel, columns = value channel), values on hover.
pub fn heatmap(m: &[f32], rows: usize, cols: usize, scale: f32, label: &str) -> String {
    let title = |r: usize, c: usize, v: f32| format!("key {r}, value {c}: {v:.4}");
    heatmap_titled(m, rows, cols, scale, label, &title)
}

/// A `rows × cols` row-major matrix as a heatmap, colour scale ±`scale`; near-white cells
/// are left out (the background is white, and its hover says so); every drawn cell
/// carries its value in a `<title>` (the browser shows it on hover).
pub fn heatmap_titled(
    m: &[f32],
    rows: usize,
    cols: usize,
    scale: f32,
    label: &str,
    title: CellTitle,
) -> String {
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {cols} {rows}" class="heatmap" shape-rendering="crispEdges" preserveAspectRatio="none" role="img" aria-label="{label}"><rect width="{cols}" height="{rows}" fill="#fff"><title>{label}: white cells are within 2% of 0 (scale ±{scale:.4})</title></rect>"##,
        label = escape(label)
    );
    for (i, &v) in m.iter().enumerate().take(rows * cols) {
        if scale <= 0.0 || (v / scale).abs() < 0.02 {
            continue;
        }
        let (r, c) = (i / cols, i % cols);
        let _ = write!(
            s,
            r#"<rect x="{c}" y="{r}" width="1" height="1" fill="{}"><title>{}</title></rect>"#,
            colour(v, scale),
            escape(&title(r, c, v))
        );
    }
    s.push_str("</svg>");
    s
}

const BW: f64 = 420.0;
const BH: f64 = 120.0;

/// One bar per value around a zero line (range ±max|v|, or 0..max when all ≥ 0); optional
/// labels under the bars (shown when there are few bars).
pub fn bars(values: &[f32], labels: Option<&[String]>, colour: &str) -> String {
    let scale = max_abs(values).max(1e-12) as f64;
    let all_pos = values.iter().all(|v| *v >= 0.0 || !v.is_finite());
    let bottom = if labels.is_some() { 34.0 } else { 4.0 };
    let plot = BH - bottom - 4.0;
    let zero = if all_pos {
        4.0 + plot
    } else {
        4.0 + plot / 2.0
    };
    let unit = if all_pos {
        plot / scale
    } else {
        plot / 2.0 / scale
    };
    // Labelled bars (tokens, bins) keep a readable width: at least 16 slots; their
    // labels slant left, so the view starts left of the first bar (nothing is clipped).
    let n = values.len().max(if labels.is_some() { 16 } else { 1 });
    let step = BW / n as f64;
    let left = if labels.is_some() { 44.0 } else { 0.0 };
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="{} 0 {} {BH}" class="bars"><line x1="0" x2="{BW}" y1="{zero:.1}" y2="{zero:.1}" stroke="#999" stroke-width="0.5"/>"##,
        -left,
        BW + left
    );
    for (i, &v) in values.iter().enumerate() {
        let v = if v.is_finite() { v as f64 } else { 0.0 };
        let h = v.abs() * unit;
        let y = if v >= 0.0 { zero - h } else { zero };
        let _ = write!(
            s,
            r#"<rect x="{:.2}" y="{y:.2}" width="{:.2}" height="{h:.2}" fill="{colour}"><title>{i}: {v:.4}</title></rect>"#,
            i as f64 * step + step * 0.1,
            step * 0.8
        );
        if let Some(l) = labels.and_then(|l| l.get(i)) {
            let x = i as f64 * step + step / 2.0;
            let _ = write!(
                s,
                r#"<text x="{x:.1}" y="{:.1}" font-size="9" text-anchor="end" transform="rotate(-45 {x:.1} {:.1})">{}</text>"#,
                BH - bottom + 10.0,
                BH - bottom + 10.0,
                escape(l)
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// Histogram bins of half-lives in tokens: `<1`, `[2^j, 2^(j+1))` for j = 0..9, `≥1024`, `∞`.
pub fn half_life_bins(half_lives: &[f32]) -> Vec<(String, usize)> {
    let mut bins: Vec<(String, usize)> = vec![("<1".into(), 0)];
    for j in 0..10 {
        bins.push((format!("{}–{}", 1u32 << j, 1u32 << (j + 1)), 0));
    }
    bins.push(("≥1024".into(), 0));
    bins.push(("∞".into(), 0));
    for &h in half_lives {
        let i = if !h.is_finite() {
            12
        } else if h < 1.0 {
            0
        } else {
            (h.log2().floor() as usize + 1).min(11)
        };
        bins[i].1 += 1;
    }
    bins
}

/// The half-life histogram: how many key channels forget within each band of tokens.
pub fn half_life_histogram(half_lives: &[f32]) -> String {
    let bins = half_life_bins(half_lives);
    let counts: Vec<f32> = bins.iter().map(|b| b.1 as f32).collect();
    let labels: Vec<String> = bins.iter().map(|b| b.0.clone()).collect();
    bars(&counts, Some(&labels), "#2ca02c")
}

/// Half-life bands over time: rows = the bands of [`half_life_bins`] (shortest first),
/// columns = tokens; a cell counts the key channels of that token in that band.
pub fn half_life_over_time(per_token: &[&[f32]]) -> String {
    let names: Vec<String> = half_life_bins(&[]).into_iter().map(|b| b.0).collect();
    let (bands, t) = (names.len(), per_token.len());
    let mut m = vec![0f32; bands * t];
    for (j, h) in per_token.iter().enumerate() {
        for (b, (_, n)) in half_life_bins(h).iter().enumerate() {
            m[b * t + j] = *n as f32;
        }
    }
    let title = |r: usize, c: usize, v: f32| {
        format!(
            "token {}: {v} channel(s) with a half-life of {} tokens",
            c + 1,
            names[r]
        )
    };
    let label = "half-life bands (rows) over tokens (columns)";
    let map = heatmap_titled(&m, bands, t, max_abs(&m), label, &title);
    let rows: String = (names.iter())
        .map(|n| format!("<span>{}</span>", escape(n)))
        .collect();
    let every = t.div_ceil(16).max(1);
    let cols: String = (1..=t)
        .map(|c| match c == 1 || c % every == 0 {
            true => format!("<span>{c}</span>"),
            false => "<span></span>".into(),
        })
        .collect();
    format!(
        "<div class=\"bands\"><div class=\"y-title\">half-life (tokens)</div><div class=\"y-labels\">{rows}</div>{map}<div></div><div></div><div class=\"x-labels\" style=\"grid-template-columns: repeat({t}, 1fr)\">{cols}</div><div></div><div></div><div class=\"x-title\">token t</div></div>"
    )
}

/// Token-shift mix amounts, 5 rows (w, k, v, r, g) × C channels, scale 0..1.
pub fn mix_heatmap(rows: [&[f32]; 5]) -> String {
    let c = rows[0].len();
    let flat: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    let title = |r: usize, c: usize, v: f32| {
        format!("a_{} channel {c}: {v:.4}", "wkvrg".as_bytes()[r] as char)
    };
    let label = "token-shift mix amounts, rows w k v r g";
    heatmap_titled(&flat, 5, c, 1.0, label, &title)
}

/// The side panel: each equation, its maths and the reference's line that computes it.
pub fn equations_html() -> String {
    let mut s = String::from("<ol class=\"equations\">");
    for e in EQUATIONS {
        let at = line(e).map_or(String::from("?"), |l| l.to_string());
        let _ = write!(
            s,
            "<li><b>{}</b><div class=\"math\">{}</div><div class=\"src\">{}:{at}</div><code>{}</code></li>",
            escape(e.name),
            escape(e.math),
            escape(e.file),
            escape(e.code.trim())
        );
    }
    s.push_str("</ol>");
    s
}

/// The demo model's designed half-life of key channel i: `2^(i/8)` tokens.
pub fn designed_half_life(i: usize) -> f32 {
    2f32.powf(i as f32 / 8.0)
}

/// Max relative error of measured half-lives against the demo's designed ones.
pub fn designed_error(half_lives: &[f32]) -> f32 {
    half_lives
        .iter()
        .enumerate()
        .map(|(i, h)| (h / designed_half_life(i) - 1.0).abs())
        .fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_diverging() {
        assert_eq!(colour(1.0, 1.0), "#ff0000");
        assert_eq!(colour(-2.0, 1.0), "#0000ff");
        assert_eq!(colour(0.0, 1.0), "#ffffff");
        assert_eq!(colour(0.5, 1.0), "#ff8080");
    }

    #[test]
    fn half_life_bins_count_each_channel_once() {
        let bins = half_life_bins(&[0.5, 1.0, 1.9, 3.0, 2000.0, f32::INFINITY]);
        let counts: Vec<usize> = bins.iter().map(|b| b.1).collect();
        assert_eq!(counts, vec![1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
        assert_eq!(bins[2].0, "2–4");
    }

    #[test]
    fn heatmap_skips_white_cells() {
        let s = heatmap(&[0.0, 1.0, -1.0, 0.001], 2, 2, 1.0, "m");
        assert_eq!(s.matches("<rect").count(), 3); // background + 2 cells
        assert!(s.contains(r##"x="1" y="0" width="1" height="1" fill="#ff0000""##));
        assert!(s.contains(r##"x="0" y="1" width="1" height="1" fill="#0000ff""##));
    }

    #[test]
    fn every_drawn_cell_says_its_value_on_hover() {
        let s = heatmap(&[0.0, 1.0, -1.0, 0.001], 2, 2, 1.0, "m");
        assert!(s.contains("<title>key 0, value 1: 1.0000</title>"), "{s}");
        assert!(s.contains("<title>key 1, value 0: -1.0000</title>"), "{s}");
        assert!(s.contains("white cells are within 2% of 0"), "{s}");
        let mix = mix_heatmap([&[0.5], &[0.0], &[0.0], &[0.0], &[0.25]]);
        assert!(
            mix.contains("<title>a_w channel 0: 0.5000</title>"),
            "{mix}"
        );
        assert!(
            mix.contains("<title>a_g channel 0: 0.2500</title>"),
            "{mix}"
        );
    }

    #[test]
    fn half_lives_over_time_count_each_token_column() {
        let (a, b) = ([0.5f32, 3.0], [3.0f32, f32::INFINITY]);
        let s = half_life_over_time(&[&a, &b]);
        // token 1: one channel < 1, one in 2–4; token 2: one in 2–4, one ∞
        assert!(s.contains(r#"viewBox="0 0 2 13""#), "{s}");
        assert!(
            s.contains("token 1: 1 channel(s) with a half-life of &lt;1 tokens"),
            "{s}"
        );
        assert!(
            s.contains("token 2: 1 channel(s) with a half-life of ∞ tokens"),
            "{s}"
        );
        assert_eq!(s.matches("<rect").count(), 1 + 4);
        assert!(
            s.contains("half-life (tokens)") && s.contains("<span>≥1024</span>"),
            "{s}"
        );
    }

    #[test]
    fn heads_count_from_one_and_scales_are_labelled() {
        assert_eq!(
            head_options(2),
            "<option value=\"0\">head 1</option><option value=\"1\">head 2</option>"
        );
        let s = scale_bar(0.5, true, "S");
        assert!(
            s.contains(">-0.500<") && s.contains(">0<") && s.contains(">0.500<"),
            "{s}"
        );
        assert!(s.contains("#0000ff") && s.contains("#ff0000"), "{s}");
        assert!(scale_bar(1.0, false, "p").contains(">0.000<"));
    }

    #[test]
    fn labelled_bars_leave_room_for_the_first_label() {
        let s = bars(&[1.0], Some(&["first".to_string()]), "#000");
        assert!(s.contains(r#"viewBox="-44 0 464 120""#), "{s}");
    }

    #[test]
    fn designed_half_lives_of_the_demo() {
        assert_eq!(designed_half_life(8), 2.0);
        let exact: Vec<f32> = (0..64).map(designed_half_life).collect();
        assert!(designed_error(&exact) < 1e-6);
        assert!((designed_error(&[1.1]) - 0.1).abs() < 1e-6);
    }

    #[test]
    fn equations_panel_names_every_source_line() {
        let html = equations_html();
        assert_eq!(html.matches("<li>").count(), EQUATIONS.len());
        assert!(!html.contains(":?</div>"), "every equation's line is found");
    }
}
