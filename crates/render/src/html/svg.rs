//! The charts of the HTML report, drawn as inline SVG in Rust (no script, no external resource).
//!
//! Colours come from the page's style sheet through `class="sev-..."`, so the charts follow the
//! same palette as the tables and print the same way. Every number is formatted with a fixed
//! precision: the same input gives the same bytes.

use std::fmt::Write as _;

use super::Esc;
use report::severity::Severity;

/// One bar of a horizontal bar chart.
pub(super) struct Bar {
    /// Shown left of the bar (truncated when long; the full text is in the tooltip).
    pub(super) label: String,
    /// Shown right of the bar, after the value.
    pub(super) note: String,
    /// The bar's length.
    pub(super) value: u64,
    /// Colour of the bar; `None` for the neutral colour.
    pub(super) severity: Option<Severity>,
}

/// One destination on the timeline.
pub(super) struct Point {
    /// Row label (host).
    pub(super) label: String,
    /// Seconds since the first packet.
    pub(super) at: f64,
    /// Dot colour.
    pub(super) severity: Severity,
    /// Findings sent there (for the tooltip and a larger dot).
    pub(super) findings: usize,
}

const BAR_WIDTH: f64 = 580.0;
const BAR_LABEL: f64 = 170.0;
const BAR_AREA: f64 = 170.0;
const BAR_ROW: f64 = 26.0;
const LABEL_CHARS: usize = 26;

/// `s` cut to `max` characters, with an ellipsis when cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

fn sev_class(s: Option<Severity>) -> String {
    s.map_or_else(|| "bar-plain".to_string(), |s| format!("sev-{}", s.as_str()))
}

/// A horizontal bar chart; `what` names the value in tooltips and the accessible label
/// (`findings`).
pub(super) fn bars(title: &str, what: &str, rows: &[Bar]) -> String {
    let max = rows.iter().map(|r| r.value).max().unwrap_or(0).max(1) as f64;
    let height = BAR_ROW * rows.len() as f64 + 8.0;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {BAR_WIDTH:.0} {height:.0}\" role=\"img\" \
         aria-label=\"{}\">",
        Esc(title)
    );
    for (i, r) in rows.iter().enumerate() {
        let y = 4.0 + BAR_ROW * i as f64;
        let w = if r.value == 0 { 0.0 } else { (BAR_AREA * r.value as f64 / max).max(2.0) };
        let x0 = BAR_LABEL + 8.0;
        let _ = write!(
            out,
            "<g><title>{}: {} {what}{}{}</title>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect class=\"{}\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"16\" rx=\"2\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\"><tspan font-weight=\"700\">{}</tspan>\
             <tspan class=\"sub\" dx=\"6\">{}</tspan></text></g>",
            Esc(&r.label),
            r.value,
            if r.note.is_empty() { "" } else { "; " },
            Esc(&r.note),
            BAR_LABEL,
            y + 13.0,
            Esc(&clip(&r.label, LABEL_CHARS)),
            sev_class(r.severity),
            y + 1.0,
            x0 + w + 6.0,
            y + 13.0,
            r.value,
            Esc(&r.note),
        );
    }
    out.push_str("</svg>");
    out
}

const TL_WIDTH: f64 = 960.0;
const TL_LABEL: f64 = 230.0;
const TL_RIGHT: f64 = 20.0;
const TL_ROW: f64 = 20.0;
const TL_TOP: f64 = 28.0;

/// A tick step of 1, 2 or 5 times a power of ten giving at most about eight ticks over `span`.
fn tick_step(span: f64) -> f64 {
    let raw = span / 8.0;
    let base = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * base).find(|&s| s >= raw).unwrap_or(10.0 * base)
}

/// First contact per destination: one row each, x = seconds since the first packet, over
/// `0..=span` seconds.
pub(super) fn timeline(points: &[Point], span: f64) -> String {
    let span = if span.is_finite() && span > 0.0 { span } else { 1.0 };
    let plot = TL_WIDTH - TL_LABEL - TL_RIGHT;
    let x_of = |t: f64| TL_LABEL + plot * (t.clamp(0.0, span) / span);
    let bottom = TL_TOP + TL_ROW * points.len() as f64;
    let height = bottom + 34.0;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {TL_WIDTH:.0} {height:.0}\" role=\"img\" \
         aria-label=\"First contact per destination, in seconds since the first packet\">"
    );
    // Legend.
    let mut x = TL_LABEL;
    for s in Severity::ALL.iter().rev() {
        let _ = write!(
            out,
            "<circle class=\"sev-{0}\" cx=\"{1:.1}\" cy=\"10\" r=\"5\"/>\
             <text class=\"sub\" x=\"{2:.1}\" y=\"14\">{0}</text>",
            s.as_str(),
            x + 5.0,
            x + 14.0
        );
        x += 22.0 + 6.2 * s.as_str().len() as f64;
    }
    // Grid and ticks.
    let step = tick_step(span);
    let mut t = 0.0;
    let mut n = 0;
    while t <= span + step * 1e-9 && n <= 20 {
        let x = x_of(t);
        let label = if step < 1.0 { format!("{t:.1}") } else { format!("{t:.0}") };
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{TL_TOP:.1}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\"/>\
             <text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
            bottom + 14.0
        );
        n += 1;
        t = step * f64::from(n);
    }
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{TL_LABEL:.1}\" y1=\"{bottom:.1}\" x2=\"{:.1}\" y2=\"{bottom:.1}\"/>\
         <text class=\"sub\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">seconds since the first packet</text>",
        TL_WIDTH - TL_RIGHT,
        TL_LABEL + plot / 2.0,
        bottom + 30.0
    );
    for (i, p) in points.iter().enumerate() {
        let y = TL_TOP + TL_ROW * i as f64 + TL_ROW / 2.0;
        let r = if p.findings > 0 { 6.0 } else { 4.5 };
        let _ = write!(
            out,
            "<g><title>{}: first contact at +{:.3} s; {}; {} finding{}</title>\
             <line class=\"row\" x1=\"{TL_LABEL:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <circle class=\"sev-{}\" cx=\"{:.1}\" cy=\"{y:.1}\" r=\"{r:.1}\"/></g>",
            Esc(&p.label),
            p.at,
            p.severity.as_str(),
            p.findings,
            if p.findings == 1 { "" } else { "s" },
            TL_WIDTH - TL_RIGHT,
            TL_LABEL - 10.0,
            y + 4.0,
            Esc(&clip(&p.label, 34)),
            p.severity.as_str(),
            x_of(p.at),
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_few() {
        assert_eq!(tick_step(38.0), 5.0);
        assert_eq!(tick_step(1.0), 0.2);
        assert_eq!(tick_step(3600.0), 500.0);
        assert!(tick_step(7.9) <= 1.0);
    }

    #[test]
    fn labels_are_clipped_and_escaped() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
        let svg = bars(
            "t",
            "findings",
            &[Bar { label: "<b>&".into(), note: String::new(), value: 3, severity: None }],
        );
        assert!(svg.contains("&lt;b&gt;&amp;") && !svg.contains("<b>"), "{svg}");
        let svg = timeline(
            &[Point { label: "x\"y".into(), at: 2.0, severity: Severity::High, findings: 1 }],
            0.0,
        );
        assert!(svg.contains("x&quot;y") && svg.contains("class=\"sev-high\""), "{svg}");
    }
}
