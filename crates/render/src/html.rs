//! The HTML report: one self-contained page.
//!
//! Contract:
//! - One file, nothing loaded from anywhere: no external font, script, image or link that loads
//!   anything. The style sheet and the sorting script are inline, and a Content-Security-Policy
//!   `<meta>` allows exactly those two (by their SHA-256, computed here from the very bytes written)
//!   and nothing else (`default-src 'none'`); no `style=` attribute, no inline event handler.
//! - Readable without JavaScript and on paper: the script only makes the destinations table
//!   sortable; the charts are SVG drawn here (`svg`), the tables in `tables`.
//! - Same numbers as every other rendering: the figures come from [`Summary::of`], the values
//!   from the report, formatted as the JSON document formats them. Each figure carries a
//!   `data-metric` attribute naming its JSON path (`summary.findings`), and its text is the exact
//!   JSON value; destination rows carry `data-host`, findings `data-finding`, capture hashes
//!   `data-sha256`, so a browser test can check the page against `--format json`.
//! - Every string of the report is hostile input and goes through `Esc`; none is ever written
//!   into the `<style>` or `<script>` element.
//! - No clock: times are capture timestamps (and seconds since the first packet), so the same
//!   report renders to the same bytes.

mod diff;
mod fleet;
mod svg;
mod tables;
#[cfg(test)]
mod tests;

use std::fmt::{self, Write as _};

use base64::Engine as _;
use capture::Timestamp;
use pipeline::time::rfc3339;
use sha2::{Digest, Sha256};

use super::human_bytes;
use report::protection::Protection;
use report::severity::{Exposure, Severity};
use report::summary::{Summary, UNKNOWN_COUNTRY};
use report::{Destination, Report};

/// The page's style sheet, written verbatim into its one `<style>` element.
const CSS: &str = include_str!("html/page.css");
/// The table sorter, written verbatim into its one `<script>` element.
const JS: &str = include_str!("html/sort.js");
/// Timeline rows drawn at most; the worst destinations are kept, the table lists them all.
const MAX_TIMELINE_ROWS: usize = 60;

/// Text escaped for HTML element content and double- or single-quoted attribute values.
///
/// Besides `& < > " '`, the line and paragraph separators (U+2028, U+2029) become character
/// references, and control characters other than tab, line feed and carriage return (which HTML
/// does not allow, NUL included) become U+FFFD.
struct Esc<'a>(&'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let mut start = 0;
        for (i, c) in s.char_indices() {
            let rep = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                '\u{2028}' => "&#x2028;",
                '\u{2029}' => "&#x2029;",
                '\t' | '\n' | '\r' => continue,
                c if c.is_control() => "\u{FFFD}",
                _ => continue,
            };
            f.write_str(&s[start..i])?;
            f.write_str(rep)?;
            start = i + c.len_utf8();
        }
        f.write_str(&s[start..])
    }
}

/// `'sha256-…'` of `content`, as a CSP source expression.
pub(crate) use diff::page as diff_page;
pub(crate) use fleet::page as fleet_page;

/// The start of a page of its own (the diff's, the fleet's): doctype, a CSP allowing only
/// `style` (by hash), the title, and a header with `title` and `headline` (id `headline`), up
/// to the opening `<main>`.
pub(crate) fn page_start(out: &mut String, title: &str, headline: &str, style: &str) {
    use std::fmt::Write as _;
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src {}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{}</title>\n<style>{style}</style>\n</head>\n<body>\n\
         <header class=\"top\"><div class=\"inner\"><h1>{}</h1><p id=\"headline\">{}</p></div></header>\n<main>\n",
        csp_hash(style),
        Esc(title),
        Esc(title),
        Esc(headline),
    );
}

pub(crate) fn csp_hash(content: &str) -> String {
    let digest = Sha256::digest(content.as_bytes());
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
}

/// The Content-Security-Policy allowing exactly the page's style sheet and script.
fn csp() -> String {
    format!(
        "default-src 'none'; style-src {}; script-src {}; img-src data:",
        csp_hash(CSS),
        csp_hash(JS)
    )
}

/// `China (CN)`; `unknown` for [`UNKNOWN_COUNTRY`]; the code alone when it names no country.
fn country_label(code: &str) -> String {
    if code == UNKNOWN_COUNTRY {
        return "unknown".into();
    }
    report::country::name(code).map_or_else(|| code.to_string(), |n| format!("{n} ({code})"))
}

/// Seconds from `start` to `t` (0 when there is no start).
fn since(start: Option<Timestamp>, t: Timestamp) -> f64 {
    start.map_or(0.0, |s| t.0.saturating_sub(s.0).max(0) as f64 / 1e9)
}

/// A capture time for people: `+1.845 s` with the RFC 3339 time as `datetime` and tooltip.
fn time_html(start: Option<Timestamp>, t: Timestamp) -> String {
    let abs = rfc3339(t);
    match start {
        Some(_) => format!(
            "<time datetime=\"{abs}\" title=\"{abs}\">+{:.3}&#8239;s</time>",
            since(start, t)
        ),
        None => format!("<time datetime=\"{abs}\">{abs}</time>"),
    }
}

fn badge(s: Severity) -> String {
    format!("<span class=\"badge sev-{0}\">{0}</span>", s.as_str())
}

/// Sort key of a protection, weakest first (as [`Protection::weakest`] ranks them).
fn protection_rank(p: Protection) -> u32 {
    let (class, version) = p.rank();
    u32::from(class) << 16 | u32::from(version)
}

fn protection_html(p: Protection, label: &str) -> String {
    let label = Esc(label).to_string();
    if !p.is_encrypted() || p.is_weak() {
        format!("<span class=\"tag bad\">{label}</span>")
    } else {
        label
    }
}

fn exposure_html(e: Exposure) -> &'static str {
    match e {
        Exposure::Cleartext => "<span class=\"tag bad\">cleartext</span>",
        Exposure::WeakTls => "<span class=\"tag bad\">weak TLS</span>",
        Exposure::Encrypted => "<span class=\"tag\">encrypted</span>",
    }
}

/// The report as one HTML page.
pub fn html(report: &Report) -> String {
    let s = Summary::of(report);
    let start = s.start.or_else(|| {
        let d = report.destinations.iter().map(|d| d.first_seen);
        d.chain(report.findings.iter().map(|f| f.first_seen)).min()
    });
    let mut out = String::with_capacity(32 * 1024 + 2048 * report.findings.len());
    head(&mut out, report);
    verdict(&mut out, report, &s);
    cards(&mut out, report, &s);
    charts(&mut out, report, &s, start);
    tables::apps(&mut out, &s);
    tables::destinations(&mut out, report, start);
    tables::findings(&mut out, report, start);
    tables::uploads(&mut out, report, start);
    tables::refused(&mut out, report, start);
    tables::captures(&mut out, report);
    let _ = write!(
        out,
        "</main>\n<footer>phonehome {} &middot; report schema {} &middot; times are capture \
         timestamps (+seconds since the first packet); items and values are masked unless the \
         report was made with <code>--reveal</code>.</footer>\n<script>{JS}</script>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION"),
        super::SCHEMA,
    );
    out
}

fn head(out: &mut String, report: &Report) {
    let subject = report
        .device
        .as_ref()
        .and_then(|d| d.name.clone())
        .or_else(|| report.captures.first().map(|c| c.path.clone()));
    let title = match &subject {
        Some(s) => format!("phonehome report: {s}"),
        None => "phonehome report".to_string(),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"generator\" content=\"phonehome {}\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        csp(),
        env!("CARGO_PKG_VERSION"),
        Esc(&title),
    );
    let _ = write!(out, "<header class=\"top\"><div class=\"inner\"><h1>{}</h1>", Esc(&title));
    let mut facts = Vec::new();
    if let Some(d) = &report.device {
        if let Some(m) = &d.manufacturer {
            facts.push(format!("made by {}", Esc(m)));
        }
        if let Some(c) = &d.country {
            facts.push(format!("used in {}", Esc(&country_label(c))));
        }
    }
    let packets: u64 = report.captures.iter().map(|c| c.packets).sum();
    facts.push(format!(
        "{} capture{}, {packets} packets",
        report.captures.len(),
        if report.captures.len() == 1 { "" } else { "s" }
    ));
    let first = report.captures.iter().filter_map(|c| c.first_packet).min();
    if let Some(t) = first {
        facts.push(format!("starting {}", rfc3339(t)));
    }
    let _ = writeln!(out, "<p>{}</p></div></header>", facts.join(" &middot; "));
    out.push_str(
        "<nav class=\"toc\"><ul><li><a href=\"#verdict\">Verdict</a></li>\
         <li><a href=\"#charts\">Charts</a></li><li><a href=\"#destinations-section\">Destinations</a></li>\
         <li><a href=\"#findings\">Findings</a></li><li><a href=\"#uploads\">Address book</a></li>\
         <li><a href=\"#captures\">Captures &amp; device</a></li></ul></nav>\n<main>\n",
    );
}

fn verdict(out: &mut String, report: &Report, s: &Summary) {
    let _ = write!(
        out,
        "<section id=\"verdict\" class=\"verdict sev-{0}\"><div><span class=\"label\">Verdict</span>\
         <span class=\"level\" data-metric=\"summary.verdict\">{0}</span></div>\
         <p class=\"headline\">{1}</p>",
        s.verdict_word(),
        Esc(&s.headline)
    );
    if let Some(line) = s.read_in_part() {
        let _ = write!(out, "<p class=\"incomplete\">{}</p>", Esc(&line));
    }
    if !s.stories.is_empty() {
        out.push_str("<ul class=\"stories\">");
        for story in &s.stories {
            let _ = write!(out, "<li>{}</li>", Esc(story));
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>\n");
    if !s.coverage.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"notice\" data-notice=\"coverage\"><strong>Coverage.</strong> {}</p>",
            Esc(&s.coverage)
        );
    }
    if !s.summarised.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"notice\" data-notice=\"summarised\"><strong>Summarised.</strong> {}</p>",
            Esc(&s.summarised)
        );
    }
    if report.geo_source.is_none() {
        let hint = report::geo::SETUP_HINT;
        let _ = writeln!(
            out,
            "<p class=\"notice\" data-notice=\"geo\"><strong>No geo data.</strong> {}{}.</p>",
            Esc(&hint[..1].to_uppercase()),
            Esc(&hint[1..])
        );
    }
}

/// One figure: `value` (the exact JSON value, escaped here) in the `data-metric` element; `name`
/// and `unit` are markup, written as given.
fn card(out: &mut String, metric: &str, value: &str, name: &str, unit: &str, class: &str) {
    let _ = write!(
        out,
        "<div class=\"card{}{class}\"><div class=\"value\" data-metric=\"{metric}\">{}</div>\
         <div class=\"name\">{name}</div>",
        if class.is_empty() { "" } else { " " },
        Esc(value)
    );
    if !unit.is_empty() {
        let _ = write!(out, "<div class=\"unit\">{unit}</div>");
    }
    out.push_str("</div>");
}

fn cards(out: &mut String, report: &Report, s: &Summary) {
    let crit = s.findings_by_severity[Severity::Critical as usize];
    let high = s.findings_by_severity[Severity::High as usize];
    let with_data = s.parties.iter().filter(|p| p.findings > 0).count();
    let home = report.device.as_ref().and_then(|d| d.country.as_deref());
    out.push_str("<section id=\"summary\" aria-label=\"Figures\"><div class=\"cards\">");
    let kinds = s.data.len();
    card(
        out,
        "summary.findings",
        &s.findings.to_string(),
        "findings",
        &format!("{kinds} kind{} of data", if kinds == 1 { "" } else { "s" }),
        "",
    );
    let sev_class = |n: usize, sev: Severity| {
        if n > 0 { format!("sev-{}", sev.as_str()) } else { String::new() }
    };
    card(
        out,
        "summary.findings_by_severity.critical",
        &crit.to_string(),
        "critical",
        "findings rated critical",
        &sev_class(crit, Severity::Critical),
    );
    card(
        out,
        "summary.findings_by_severity.high",
        &high.to_string(),
        "high",
        "findings rated high",
        &sev_class(high, Severity::High),
    );
    card(
        out,
        "summary.cleartext_findings",
        &s.cleartext_findings.to_string(),
        "in cleartext",
        "findings anyone on the path can read",
        "",
    );
    card(
        out,
        "summary.destinations",
        &s.destinations.to_string(),
        "destinations",
        &format!("{} unprotected", s.unprotected_destinations),
        "",
    );
    card(
        out,
        "summary.destinations_with_data",
        &s.destinations_with_data.to_string(),
        "destinations with data",
        "received personal data",
        "",
    );
    card(
        out,
        "parties_with_data",
        &with_data.to_string(),
        "parties with data",
        &format!("of {} contacted", s.parties.len()),
        "",
    );
    card(
        out,
        "summary.contacts_uploaded",
        &s.contacts_uploaded.to_string(),
        "contacts uploaded",
        "in one message, at most",
        "",
    );
    let (name, unit) = match (home, report.geo_source.is_some()) {
        (None, _) => ("leaving the country".to_string(), "device country unknown".to_string()),
        (Some(c), false) => (format!("leaving {}", Esc(c)), "server countries unknown".to_string()),
        (Some(c), true) => (
            format!("leaving {}", Esc(c)),
            match s.findings_country_unknown {
                0 => "findings sent abroad".to_string(),
                n => format!("findings sent abroad; {n} of unknown country"),
            },
        ),
    };
    card(out, "summary.findings_leaving_country", &s.leaving_figure(), &name, &unit, "");
    card(
        out,
        "summary.bytes_sent",
        &s.bytes_sent.to_string(),
        "bytes sent",
        &format!("{}; {} received", human_bytes(s.bytes_sent), human_bytes(s.bytes_received)),
        "",
    );
    out.push_str("</div></section>\n");
}

fn charts(out: &mut String, report: &Report, s: &Summary, start: Option<Timestamp>) {
    out.push_str("<section id=\"charts\"><h2>Where the data went</h2><div class=\"charts\">");
    // By party.
    let with_data: Vec<svg::Bar> = s
        .parties
        .iter()
        .filter(|p| p.findings > 0)
        .map(|p| svg::Bar {
            label: p.name.clone(),
            note: format!("{}, {}", p.category, human_bytes(p.bytes_sent)),
            value: p.findings as u64,
            severity: Some(p.severity),
        })
        .collect();
    out.push_str("<figure><figcaption>Findings by party <span class=\"muted\">(organisation, or domain when unknown)</span></figcaption>");
    if with_data.is_empty() {
        out.push_str("<p class=\"muted\">No party received personal data.</p>");
    } else {
        out.push_str(&svg::bars("Findings by party", "findings", &with_data));
    }
    let quiet = s.parties.len() - with_data.len();
    if quiet > 0 {
        let _ = write!(
            out,
            "<p class=\"muted small\">{quiet} other part{} contacted without personal data.</p>",
            if quiet == 1 { "y was" } else { "ies were" }
        );
    }
    out.push_str("</figure>");
    // By country.
    let mut countries: Vec<_> = s.countries.iter().collect();
    countries.sort_by(|a, b| {
        (b.findings, b.bytes_sent, &a.country).cmp(&(a.findings, a.bytes_sent, &b.country))
    });
    let rows: Vec<svg::Bar> = countries
        .iter()
        .map(|c| svg::Bar {
            label: if c.country == UNKNOWN_COUNTRY {
                format!("unknown ({UNKNOWN_COUNTRY})")
            } else {
                country_label(&c.country)
            },
            note: format!(
                "{} destination{}, {} sent",
                c.destinations,
                if c.destinations == 1 { "" } else { "s" },
                human_bytes(c.bytes_sent)
            ),
            value: c.findings as u64,
            severity: None,
        })
        .collect();
    out.push_str("<figure><figcaption>Findings by country <span class=\"muted\">(of the server address)</span></figcaption>");
    if rows.is_empty() {
        out.push_str("<p class=\"muted\">No destinations.</p>");
    } else {
        out.push_str(&svg::bars("Findings by country of the server address", "findings", &rows));
    }
    if report.geo_source.is_none() && !rows.is_empty() {
        out.push_str(
            "<p class=\"muted small\">No geo data was loaded: every country is unknown.</p>",
        );
    }
    out.push_str("</figure>");
    // Timeline.
    out.push_str("<figure class=\"wide\"><figcaption>First contact per destination <span class=\"muted\">(seconds since the first packet; colour: severity)</span></figcaption>");
    if report.destinations.is_empty() {
        out.push_str("<p class=\"muted\">No destinations.</p>");
    } else {
        let mut shown: Vec<(usize, &Destination)> =
            report.destinations.iter().enumerate().collect();
        if shown.len() > MAX_TIMELINE_ROWS {
            shown.sort_by(|a, b| (b.1.severity, a.0).cmp(&(a.1.severity, b.0)));
            shown.truncate(MAX_TIMELINE_ROWS);
            shown.sort_by_key(|&(i, _)| i);
        }
        let points: Vec<svg::Point> = shown
            .iter()
            .map(|(_, d)| svg::Point {
                label: d.host.clone(),
                at: since(start, d.first_seen),
                severity: d.severity,
                findings: d.findings,
            })
            .collect();
        let last = report.captures.iter().filter_map(|c| c.last_packet).max();
        let span =
            points.iter().map(|p| p.at).chain(last.map(|t| since(start, t))).fold(0.0, f64::max);
        out.push_str(&svg::timeline(&points, span));
        if shown.len() < report.destinations.len() {
            let _ = write!(
                out,
                "<p class=\"muted small\">The {MAX_TIMELINE_ROWS} most severe of {} destinations; the table lists them all.</p>",
                report.destinations.len()
            );
        }
    }
    out.push_str("</figure></div></section>\n");
}
