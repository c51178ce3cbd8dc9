//! The terminal report: a short verdict first, then parties → destinations → data.
//!
//! Layout: verdict and headline, one story per destination with data, the counts; then every
//! party with every one of its destinations (one line each: host, protection, server country and
//! network, severity, bytes sent, findings), the destinations that received data followed by
//! their severity reason and a findings table; data carried inside DNS names (keyed by the
//! queried domain, which is no destination); address-book uploads; the captures.
//!
//! Hostile input: every string of the report passes through [`clean`] (control characters and
//! bidirectional overrides replaced), so no escape sequence of a capture reaches the terminal.
//! Width: every line fits [`Style::width`] columns (wide East Asian characters count two); table
//! cells are cut with `…`, prose is word-wrapped with indentation. Colour: ANSI escapes only when
//! [`Style::color`] is set.

use std::collections::BTreeSet;

use anstyle::{AnsiColor, Effects};
use pipeline::time::rfc3339;

use super::human_bytes;
use report::country;
use report::severity::Severity;
use report::summary::{Summary, data_words};
use report::{Destination, Finding, Report, Source};

/// How to draw: colour (ANSI escapes) or not, and the terminal width to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Use ANSI colours.
    pub color: bool,
    /// Columns to fit (lines are cut or wrapped to this width).
    pub width: usize,
}

impl Default for Style {
    fn default() -> Self {
        Self { color: false, width: 100 }
    }
}

/// Narrowest layout drawn; on narrower terminals its lines are cut.
const MIN_WIDTH: usize = 40;

/// A string from the report made safe for a terminal: tabs and line breaks become spaces, other
/// control characters (C0, DEL, C1: ESC and CSI among them) and bidirectional-text controls
/// become `�`.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => ' ',
            c if c.is_control() || is_bidi_control(c) => '\u{FFFD}',
            c => c,
        })
        .collect()
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Columns a character takes in a terminal (Unicode East Asian width: 2 for wide characters, 0
/// for combining marks and zero-width characters; control characters, replaced before printing,
/// count 0).
fn char_cols(c: char) -> usize {
    unicode_width::UnicodeWidthChar::width(c).unwrap_or(0)
}

/// Display width of a string without escape sequences.
fn cols(s: &str) -> usize {
    s.chars().map(char_cols).sum()
}

/// `s` cut to `width` columns, ending in `…` when cut.
fn fit(s: &str, width: usize) -> String {
    if cols(s) <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = char_cols(c);
        if used + w > width - 1 {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// A line cut to `width` visible columns, escape sequences (SGR, as this module writes them)
/// passed through uncounted; a cut coloured line is reset.
fn clip_line(line: &str, width: usize) -> String {
    let mut visible = 0;
    let mut plain = String::new();
    let mut in_escape = false;
    for c in line.chars() {
        if in_escape {
            in_escape = c != 'm';
        } else if c == '\x1b' {
            in_escape = true;
        } else {
            visible += char_cols(c);
            plain.push(c);
        }
    }
    if visible <= width {
        return line.to_string();
    }
    let has_escapes = line.contains('\x1b');
    let mut out = String::new();
    let mut used = 0;
    let mut in_escape = false;
    for c in line.chars() {
        if in_escape {
            out.push(c);
            in_escape = c != 'm';
        } else if c == '\x1b' {
            out.push(c);
            in_escape = true;
        } else {
            let w = char_cols(c);
            if used + w > width.saturating_sub(1) {
                break;
            }
            used += w;
            out.push(c);
        }
    }
    out.push('…');
    if has_escapes {
        out.push_str("\x1b[0m");
    }
    out
}

/// Colours, or none.
struct Paint {
    color: bool,
}

impl Paint {
    fn with(&self, style: anstyle::Style, s: &str) -> String {
        if !self.color || s.is_empty() {
            return s.to_string();
        }
        format!("{}{s}{}", style.render(), style.render_reset())
    }

    fn bold(&self, s: &str) -> String {
        self.with(anstyle::Style::new().bold(), s)
    }

    fn dim(&self, s: &str) -> String {
        self.with(anstyle::Style::new().dimmed(), s)
    }

    fn severity(&self, severity: Severity, s: &str) -> String {
        self.with(severity_style(severity), s)
    }
}

fn severity_style(severity: Severity) -> anstyle::Style {
    match severity {
        Severity::Critical => AnsiColor::Red.on_default() | Effects::BOLD,
        Severity::High => AnsiColor::Red.on_default(),
        Severity::Medium => AnsiColor::Yellow.on_default(),
        Severity::Low => AnsiColor::Blue.on_default(),
        Severity::Info => anstyle::Style::new().dimmed(),
    }
}

/// Word-wraps `text` (already cleaned) to `width`: the first line starts with `first`, the others
/// with `indent` spaces. Words longer than a line are cut into pieces.
fn wrap(text: &str, width: usize, first: &str, indent: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut line_cols = cols(first);
    let mut empty = true;
    let pad = " ".repeat(indent);
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let wc = cols(word);
        let need = if empty { wc } else { wc + 1 };
        if line_cols + need > width && !empty {
            lines.push(std::mem::replace(&mut line, pad.clone()));
            line_cols = indent;
            empty = true;
        }
        if !empty {
            line.push(' ');
            line_cols += 1;
        }
        // A word longer than the room left: cut it.
        for c in word.chars() {
            let w = char_cols(c);
            if line_cols + w > width && line_cols > indent {
                lines.push(std::mem::replace(&mut line, pad.clone()));
                line_cols = indent;
            }
            line.push(c);
            line_cols += w;
        }
        empty = false;
    }
    if !empty || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// One table cell: its text (cleaned) and an optional colour.
struct Cell {
    text: String,
    style: Option<anstyle::Style>,
}

fn cell(s: impl AsRef<str>) -> Cell {
    Cell { text: clean(s.as_ref()), style: None }
}

fn styled(s: impl AsRef<str>, style: anstyle::Style) -> Cell {
    Cell { text: clean(s.as_ref()), style: Some(style) }
}

/// Lays out `rows` (the first is a header) in aligned columns after `indent` spaces; a column
/// empty in every row but the header is left out. When the table is too wide, the columns of
/// `shrink` are cut, the one furthest above its floor first, down to their floors; then the gaps
/// narrow to one space, then the widest columns are cut. Returns one string per row.
fn table(
    rows: &[Vec<Cell>],
    indent: usize,
    width: usize,
    shrink: &[(usize, usize)],
    paint: &Paint,
) -> Vec<String> {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; n];
    for row in rows.iter().skip(1) {
        for (i, c) in row.iter().enumerate() {
            widths[i] = widths[i].max(cols(&c.text));
        }
    }
    if let Some(head) = rows.first() {
        for (i, c) in head.iter().enumerate() {
            if widths[i] > 0 {
                widths[i] = widths[i].max(cols(&c.text));
            }
        }
    }
    let total = |widths: &[usize], gap: usize| {
        indent
            + widths.iter().sum::<usize>()
            + gap * widths.iter().filter(|&&w| w > 0).count().saturating_sub(1)
    };
    let mut gap = 2;
    while total(&widths, gap) > width {
        let Some(&(i, _)) = shrink
            .iter()
            .filter(|&&(i, floor)| widths[i] > floor)
            .max_by_key(|&&(i, floor)| (widths[i] - floor, i))
        else {
            break;
        };
        widths[i] -= 1;
    }
    if total(&widths, gap) > width {
        gap = 1;
    }
    while total(&widths, gap) > width {
        let Some(i) = (0..n).filter(|&i| widths[i] > 1).max_by_key(|&i| (widths[i], i)) else {
            break;
        };
        widths[i] -= 1;
    }
    let pad = " ".repeat(indent);
    rows.iter()
        .map(|row| {
            let mut line = pad.clone();
            for (i, c) in row.iter().enumerate() {
                if widths[i] == 0 {
                    continue;
                }
                if line.len() > indent {
                    line.push_str(&" ".repeat(gap));
                }
                let text = fit(&c.text, widths[i]);
                let room = widths[i] - cols(&text);
                line.push_str(&match c.style {
                    Some(s) => paint.with(s, &text),
                    None => text,
                });
                line.push_str(&" ".repeat(room));
            }
            line.trim_end().to_string()
        })
        .collect()
}

/// `CN China`, or the code alone when it is not a known one.
fn country_label(code: &str) -> String {
    match country::name(code) {
        Some(name) => format!("{} {name}", code.to_ascii_uppercase()),
        None => code.to_string(),
    }
}

/// Server country of a destination: `CN China`, or `?` (with the reason when it says something:
/// `? private`).
fn server_country(d: &Destination) -> String {
    match &d.geo {
        Some(g) => match (&g.country, g.reason) {
            (Some(c), _) => country_label(c),
            (None, Some(r)) if r != "no-data" => format!("? {r}"),
            _ => "?".to_string(),
        },
        None => "?".to_string(),
    }
}

/// `AS4837 CHINA UNICOM`, when known.
fn network(d: &Destination) -> String {
    let Some(g) = &d.geo else { return String::new() };
    match (g.asn, &g.as_org) {
        (Some(a), Some(o)) => format!("AS{a} {o}"),
        (Some(a), None) => format!("AS{a}"),
        (None, Some(o)) => o.clone(),
        (None, None) => String::new(),
    }
}

/// Time of day of a capture timestamp (`09:00:01`), as Wireshark's absolute view shows it.
fn time_of_day(t: capture::Timestamp) -> String {
    let s = rfc3339(t);
    s.get(11..19).unwrap_or(&s).to_string()
}

/// `Redacted by the gateway: 4 occurrences rewritten to fakes before they left (imei[0] x3,
/// email[0] x1).`
pub(crate) fn redacted_line(report: &Report) -> String {
    let total: u64 = report.redacted.values().sum();
    let items: Vec<String> = report.redacted.iter().map(|(i, n)| format!("{i} x{n}")).collect();
    format!(
        "Redacted by the gateway: {total} occurrence{} rewritten to fakes before they left ({}).",
        plural(total as usize),
        items.join(", ")
    )
}

/// Refused connections listed in the terminal report (all are in the JSON one).
const REFUSED_SHOWN: usize = 20;

/// The findings table of one destination (or one queried domain).
fn findings_table(
    findings: &[&Finding],
    indent: usize,
    width: usize,
    paint: &Paint,
) -> Vec<String> {
    let dim = anstyle::Style::new().dimmed();
    let mut rows = vec![
        ["SEVERITY", "DATA", "ITEM", "ENCODING", "WHERE", "COUNT", "FIRST", "FRAME"]
            .into_iter()
            .map(|h| styled(h, dim))
            .collect::<Vec<_>>(),
    ];
    for f in findings {
        let item = match f.source {
            Source::Profile => f.item_shown(),
            Source::Heuristic { confidence } => {
                format!("{} (guess {confidence:.1})", f.item_shown())
            }
        };
        let item = match f.stopped_note() {
            Some(n) => format!("{item} ({n})"),
            None => item,
        };
        rows.push(vec![
            styled(f.severity.as_str(), severity_style(f.severity)),
            cell(f.data.as_str()),
            cell(item),
            cell(&f.encoding),
            cell(&f.where_),
            cell(format!("x{}", f.count)),
            cell(time_of_day(f.first_seen)),
            cell(f.evidence.first().map_or("-".to_string(), |e| e.frame.to_string())),
        ]);
    }
    table(&rows, indent, width, &[(2, 8), (3, 8), (4, 10), (1, 5)], paint)
}

/// The report for a terminal.
pub fn text(report: &Report, style: &Style) -> String {
    let width = style.width.max(MIN_WIDTH);
    let paint = Paint { color: style.color };
    let s = Summary::of(report);
    let mut out: Vec<String> = Vec::new();

    // Verdict.
    let verdict = s.verdict_word().to_uppercase();
    let detail = s.verdict_detail();
    out.push(clip_line(
        &format!(
            "{} {}  {}",
            paint.bold("Verdict:"),
            paint.severity(s.verdict, &verdict),
            paint.dim(&detail)
        ),
        width,
    ));
    out.extend(wrap(&clean(&s.headline), width, "", 0));
    if let Some(line) = s.read_in_part() {
        out.extend(wrap(&clean(&line), width, "", 0));
    }
    if !s.coverage.is_empty() {
        out.extend(wrap(&clean(&format!("Coverage: {}", s.coverage)), width, "", 0));
    }
    if !s.summarised.is_empty() {
        out.extend(wrap(&clean(&format!("Summarised: {}", s.summarised)), width, "", 0));
    }
    if !s.stories.is_empty() {
        out.push(String::new());
        for story in &s.stories {
            let lines = wrap(&clean(story), width, "- ", 2);
            out.extend(
                lines
                    .into_iter()
                    .enumerate()
                    .map(|(i, l)| if i == 0 { color_lead(&l, &paint) } else { l }),
            );
        }
    }
    out.push(String::new());
    let mut counts = format!(
        "{} destination{} contacted, {} received personal data, {} unprotected (cleartext or weak TLS); {} of {} finding{} readable on the network",
        s.destinations,
        plural(s.destinations),
        s.destinations_with_data,
        s.unprotected_destinations,
        s.cleartext_findings,
        s.findings,
        plural(s.findings),
    );
    if let Some(leaving) = s.leaving() {
        counts.push_str(&format!(", {}", clean(&leaving)));
    }
    if s.contacts_uploaded > 0 {
        counts.push_str(&format!("; up to {} contacts in one message", s.contacts_uploaded));
    }
    counts.push_str(&format!(
        "; {} sent, {} received.",
        human_bytes(s.bytes_sent),
        human_bytes(s.bytes_received)
    ));
    out.extend(wrap(&counts, width, "", 0));

    // Which app sent what, when the capture says.
    if !s.apps.is_empty() {
        out.push(String::new());
        out.push(paint.bold("Apps"));
        for a in &s.apps {
            let line = format!("{}: {}", clean(&a.app), clean(&a.sentence()));
            let lead = format!("  {:<8} ", a.severity.as_str());
            out.extend(wrap(&line, width, &lead, lead.len()));
        }
    }

    // Parties → destinations → data.
    let hosts: BTreeSet<&str> = report.destinations.iter().map(|d| d.host.as_str()).collect();
    if !report.destinations.is_empty() {
        out.push(String::new());
        out.push(paint.bold("Parties and destinations"));
        let dim = anstyle::Style::new().dimmed();
        // One table over all destinations, so that columns align across parties.
        let mut rows = vec![
            ["HOST", "PROTECTION", "SERVER", "NETWORK", "SEVERITY", "SENT", "DATA"]
                .into_iter()
                .map(|h| styled(h, dim))
                .collect::<Vec<_>>(),
        ];
        let mut order: Vec<&Destination> = Vec::new();
        for p in &s.parties {
            for host in &p.destinations {
                if let Some(d) = report.destinations.iter().find(|d| &d.host == host) {
                    order.push(d);
                }
            }
        }
        for d in &order {
            let label = d.protection_label();
            let prot = if !d.protection.is_encrypted() || d.protection.is_weak() {
                styled(label, AnsiColor::Red.on_default())
            } else {
                cell(label)
            };
            rows.push(vec![
                cell(&d.host),
                prot,
                cell(server_country(d)),
                cell(network(d)),
                styled(d.severity.as_str(), severity_style(d.severity)),
                cell(human_bytes(d.bytes_sent)),
                cell(if d.findings == 0 {
                    "-".to_string()
                } else {
                    format!("{} finding{}", d.findings, plural(d.findings))
                }),
            ]);
        }
        let lines = table(&rows, 2, width, &[(0, 20), (3, 8), (2, 8)], &paint);
        let mut lines = lines.into_iter();
        out.extend(lines.next());
        let mut next = 0;
        for (i, p) in s.parties.iter().enumerate() {
            if i > 0 {
                out.push(String::new());
            }
            let mut head = clean(&p.name);
            let mut about = vec![clean(&p.category)];
            if let Some(c) = &p.country {
                about.push(format!("based in {}", clean(&country_label(c))));
            }
            head.push_str(&format!(" ({})", about.join(", ")));
            let mut tail = format!(
                ": {} destination{}, {} finding{}, {} sent",
                p.destinations.len(),
                plural(p.destinations.len()),
                p.findings,
                plural(p.findings),
                human_bytes(p.bytes_sent)
            );
            if !p.data.is_empty() {
                let words: Vec<&str> = p.data.iter().map(|&k| data_words(k)).collect();
                tail.push_str(&format!("; received {}", words.join(", ")));
            }
            let wrapped = wrap(&format!("{head}{tail}"), width, "", 4);
            for (i, l) in wrapped.into_iter().enumerate() {
                if i == 0 && l.starts_with(&head) {
                    out.push(format!("{}{}", paint.bold(&head), &l[head.len()..]));
                } else {
                    out.push(l);
                }
            }
            for _ in &p.destinations {
                let Some(d) = order.get(next) else { break };
                next += 1;
                out.extend(lines.next());
                if d.findings == 0 && d.cnames.is_empty() {
                    continue;
                }
                if !d.cnames.is_empty() {
                    let cn: Vec<String> = d.cnames.iter().map(|c| clean(c)).collect();
                    out.extend(
                        wrap(&format!("via CNAME {}", cn.join(" → ")), width, "    ", 6)
                            .into_iter()
                            .map(|l| paint.dim(&l)),
                    );
                }
                if d.findings == 0 {
                    continue;
                }
                let reason = format!("{}: {}", d.severity.as_str(), clean(&d.severity_reason));
                let wrapped = wrap(&reason, width, "    ", 6);
                out.extend(
                    wrapped
                        .into_iter()
                        .enumerate()
                        .map(|(i, l)| if i == 0 { color_lead(&l, &paint) } else { l }),
                );
                let mine: Vec<&Finding> =
                    report.findings.iter().filter(|f| f.host == d.host).collect();
                out.extend(findings_table(&mine, 4, width, &paint));
            }
        }
    }

    // Data inside DNS names (and anything else keyed by a name that is no destination).
    let orphans: Vec<&Finding> =
        report.findings.iter().filter(|f| !hosts.contains(f.host.as_str())).collect();
    if !orphans.is_empty() {
        out.push(String::new());
        out.push(paint.bold("Data inside DNS queries (readable by every resolver on the way)"));
        let mut domains: Vec<&str> = orphans.iter().map(|f| f.host.as_str()).collect();
        domains.dedup();
        let domains: Vec<&str> = {
            let mut seen = BTreeSet::new();
            domains.into_iter().filter(|d| seen.insert(*d)).collect()
        };
        for domain in domains {
            let mine: Vec<&Finding> =
                orphans.iter().copied().filter(|f| f.host == domain).collect();
            let party = mine[0].party.as_ref().map_or("unknown party".to_string(), |p| {
                match p.country.as_deref() {
                    Some(c) => format!("{}, {}, based in {}", p.name, p.category, country_label(c)),
                    None => format!("{}, {}, headquarters unknown", p.name, p.category),
                }
            });
            out.extend(wrap(&clean(&format!("queries for {domain} ({party})")), width, "  ", 4));
            out.extend(findings_table(&mine, 4, width, &paint));
        }
    }

    // Address-book uploads.
    if !report.address_book_uploads.is_empty() {
        out.push(String::new());
        out.push(paint.bold("Address-book uploads"));
        for u in &report.address_book_uploads {
            let line = format!(
                "{} contacts in one message to {} at {} (frame {}, flow {}, {})",
                u.contacts,
                clean(&u.host),
                time_of_day(u.time),
                u.evidence.frame,
                u.evidence.flow,
                clean(&u.evidence.field)
            );
            out.extend(wrap(&line, width, "- ", 2));
        }
    }

    // Footer.
    out.push(String::new());
    out.push(paint.bold("Captures"));
    for c in &report.captures {
        let span = match (c.first_packet, c.last_packet) {
            (Some(a), Some(b)) => {
                let secs = (b.0 - a.0).max(0) as f64 / 1e9;
                let first = rfc3339(a);
                let day = first.get(..10).unwrap_or("");
                format!(", {day} {} to {} UTC ({secs:.1} s)", time_of_day(a), time_of_day(b))
            }
            _ => String::new(),
        };
        let sha = c.sha256.as_deref().map_or("sha256 unknown".to_string(), |h| {
            format!("sha256 {}…", clean(h.get(..16).unwrap_or(h)))
        });
        let mut line = format!(
            "{}: {} packet{}{span}, {sha}",
            clean(&c.path),
            c.packets,
            plural(c.packets as usize)
        );
        if !c.warnings.is_empty() {
            line.push_str(&format!(", {} warning{}", c.warnings.len(), plural(c.warnings.len())));
        }
        if let Some(e) = &c.error {
            line.push_str(&format!("; reading stopped: {}", clean(e)));
        }
        out.extend(wrap(&line, width, "- ", 2));
    }
    if let Some(d) = &report.device {
        let mut line = String::from("Device: ");
        line.push_str(&clean(d.name.as_deref().unwrap_or("unnamed")));
        if let Some(m) = &d.manufacturer {
            line.push_str(&format!(" by {}", clean(m)));
        }
        if let Some(c) = &d.country {
            line.push_str(&format!(", used in {}", clean(&country_label(c))));
        }
        if let Some(p) = &d.profile {
            line.push_str(&format!("; profile {}", clean(p)));
        }
        out.extend(wrap(&line, width, "", 2));
    }
    if !report.redacted.is_empty() {
        out.push(String::new());
        out.extend(wrap(&clean(&redacted_line(report)), width, "", 2));
    }
    if report.refused_total > 0 {
        out.push(String::new());
        out.push(paint.bold(&format!(
            "Refused by the gateway: {} connection{}",
            report.refused_total,
            plural(report.refused_total as usize)
        )));
        for r in report.refused.iter().take(REFUSED_SHOWN) {
            out.extend(wrap(
                &clean(&format!("{}  {}", time_of_day(r.time), r.line())),
                width,
                "  ",
                4,
            ));
        }
        let more = report.refused_total.saturating_sub(REFUSED_SHOWN as u64);
        if more > 0 {
            out.push(format!("  ... and {more} more (the JSON report lists them)"));
        }
    }
    out.push(paint.dim("Severity rubric: docs/severity.md"));

    let mut text = String::new();
    for line in out {
        // Narrower than the narrowest layout: cut.
        text.push_str(&clip_line(&line, if style.width == 0 { width } else { style.width }));
        text.push('\n');
    }
    text
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Colours a leading severity word (`CRITICAL:`, `- HIGH:`, `high:`) of a wrapped line.
fn color_lead(line: &str, paint: &Paint) -> String {
    let body = line.trim_start_matches([' ', '-']);
    let lead = &line[..line.len() - body.len()];
    if let Some((word, rest)) = body.split_once(':')
        && let Some(sev) = Severity::parse(word)
    {
        return format!("{lead}{}:{rest}", paint.severity(sev, word));
    }
    line.to_string()
}

pub mod live;

#[cfg(test)]
pub(crate) mod tests;
