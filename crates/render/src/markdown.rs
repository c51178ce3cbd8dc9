//! The report as Markdown (GitHub-flavoured: pipe tables), for bug reports and articles.
//!
//! Every string of the report is escaped ([`escape`]): Markdown punctuation is backslash-escaped,
//! `<` and `>` become entities, line breaks and other control characters become spaces, so a host
//! name cannot open a link, a code span, an HTML tag or a new table row. Deterministic: no clock,
//! no environment; the same report renders to the same bytes.

use std::collections::BTreeSet;
use std::fmt::Write;

use pipeline::time::rfc3339;

use report::country;
use report::severity::Severity;
use report::summary::{Summary, data_words};
use report::{Destination, Finding, Report, Source};

/// A report string made inert in Markdown (inline text and table cells alike): inline
/// punctuation (`\\`, `` ` ``, `*`, `_`, `[`, `]`, `~`, `!`, `|`) is backslash-escaped, `<`, `>`
/// and `&` become entities, a leading block marker (`#`, `-`, `+`, `=`, `>`, `1.`) is escaped,
/// line breaks and other control characters become spaces, bidirectional controls `�`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    let digits = chars.iter().take_while(|c| c.is_ascii_digit()).count();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '~' | '!' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '#' | '-' | '+' | '=' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            '.' | ')'
                if i == digits
                    && digits > 0
                    && chars.get(i + 1).is_none_or(|c| c.is_whitespace()) =>
            {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}' => out.push('\u{FFFD}'),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `China (CN)`, escaped.
fn country_label(code: &str) -> String {
    match country::name(code) {
        Some(name) => format!("{name} ({})", escape(&code.to_ascii_uppercase())),
        None => escape(code),
    }
}

fn server_country(d: &Destination) -> String {
    match d.geo.as_ref().and_then(|g| g.country.as_deref()) {
        Some(c) => country_label(c),
        None => match d.geo.as_ref().and_then(|g| g.reason) {
            Some(r) if r != "no-data" => format!("unknown ({})", escape(r)),
            _ => "unknown".to_string(),
        },
    }
}

fn row(out: &mut String, cells: &[String]) {
    out.push('|');
    for c in cells {
        let _ = write!(out, " {} |", if c.is_empty() { " " } else { c });
    }
    out.push('\n');
}

fn header(out: &mut String, names: &[&str], right: &[usize]) {
    row(out, &names.iter().map(|s| (*s).to_string()).collect::<Vec<_>>());
    out.push('|');
    for i in 0..names.len() {
        out.push_str(if right.contains(&i) { "---:|" } else { "---|" });
    }
    out.push('\n');
}

fn findings_table(out: &mut String, findings: &[&Finding]) {
    header(
        out,
        &["severity", "data", "item", "encoding", "where", "count", "first seen", "evidence frame"],
        &[5, 7],
    );
    for f in findings {
        let item = match f.source {
            Source::Profile => escape(&f.item_shown()),
            Source::Heuristic { confidence } => {
                format!("{} (heuristic, confidence {confidence:.2})", escape(&f.item_shown()))
            }
        };
        let item = match f.stopped_note() {
            Some(n) => format!("{item} ({n})"),
            None => item,
        };
        let frame = f
            .evidence
            .first()
            .map_or("–".to_string(), |e| format!("{} frame {}", escape(&e.file), e.frame));
        row(
            out,
            &[
                severity_cell(f.severity),
                escape(f.data.as_str()),
                item,
                format!("`{}`", code_safe(&f.encoding)),
                format!("`{}`", code_safe(&f.where_)),
                f.count.to_string(),
                escape(&rfc3339(f.first_seen)),
                frame,
            ],
        );
    }
}

/// Text for inside a code span in a table: no backticks, no pipes, no line breaks.
fn code_safe(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '`' | '|' => '\u{FFFD}',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

fn severity_cell(s: Severity) -> String {
    match s {
        Severity::Critical | Severity::High => format!("**{}**", s.as_str()),
        _ => s.as_str().to_string(),
    }
}

/// The report as Markdown.
pub fn markdown(report: &Report) -> String {
    let s = Summary::of(report);
    let mut out = String::from("# phonehome report\n\n");
    let detail = s.verdict_detail();
    let _ =
        writeln!(out, "**Verdict: {}** ({})\n", s.verdict_word().to_uppercase(), escape(&detail));
    let _ = writeln!(out, "- {}", escape(&s.headline));
    if let Some(line) = s.read_in_part() {
        let _ = writeln!(out, "- {}", escape(&line));
    }
    if !s.coverage.is_empty() {
        let _ = writeln!(out, "- Coverage: {}", escape(&s.coverage));
    }
    if !s.summarised.is_empty() {
        let _ = writeln!(out, "- Summarised: {}", escape(&s.summarised));
    }
    for story in &s.stories {
        let _ = writeln!(out, "- {}", escape(story));
    }

    out.push_str("\n## Summary\n\n");
    header(&mut out, &["", "value"], &[1]);
    let data: Vec<&str> = s.data.iter().map(|&k| data_words(k)).collect();
    let home = report.device.as_ref().and_then(|d| d.country.as_deref());
    let mut rows: Vec<(String, String)> = vec![
        ("verdict".into(), s.verdict_word().into()),
        ("findings".into(), s.findings.to_string()),
    ];
    for v in Severity::ALL.iter().rev() {
        rows.push((
            format!("findings: {}", v.as_str()),
            s.findings_by_severity[*v as usize].to_string(),
        ));
    }
    rows.extend([
        ("findings readable on the network".into(), s.cleartext_findings.to_string()),
        (
            match home {
                Some(h) => format!("findings sent outside {}", escape(h)),
                None => "findings sent outside the device's country".into(),
            },
            match s.findings_country_unknown {
                n if n > 0 && n < s.findings => format!("{} (+{n} unknown)", s.leaving_figure()),
                _ => s.leaving_figure(),
            },
        ),
        (
            "personal data sent".into(),
            if data.is_empty() { "none".into() } else { escape(&data.join(", ")) },
        ),
        ("destinations".into(), s.destinations.to_string()),
        ("destinations that received personal data".into(), s.destinations_with_data.to_string()),
        (
            "unprotected destinations (cleartext or weak TLS)".into(),
            s.unprotected_destinations.to_string(),
        ),
        ("parties".into(), s.parties.len().to_string()),
        ("contacts uploaded in one message (most)".into(), s.contacts_uploaded.to_string()),
        ("bytes sent".into(), s.bytes_sent.to_string()),
        ("bytes received".into(), s.bytes_received.to_string()),
    ]);
    for (k, v) in rows {
        row(&mut out, &[k, v]);
    }

    if !s.apps.is_empty() {
        out.push_str("\n## Apps\n\n| App | Severity | Sent | Findings |\n|---|---|---|---|\n");
        for a in &s.apps {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                escape(&a.app),
                a.severity.as_str(),
                escape(&a.sentence()),
                a.findings
            );
        }
    }

    // Destinations, grouped by party as the summary orders them.
    let mut order: Vec<&Destination> = Vec::new();
    for p in &s.parties {
        for host in &p.destinations {
            if let Some(d) = report.destinations.iter().find(|d| &d.host == host) {
                order.push(d);
            }
        }
    }
    if !order.is_empty() {
        out.push_str("\n## Destinations\n\n");
        header(
            &mut out,
            &[
                "host",
                "party",
                "category",
                "country",
                "protection",
                "severity",
                "findings",
                "bytes sent",
            ],
            &[6, 7],
        );
        for d in &order {
            let party = d.party.as_ref().map_or_else(
                || escape(&d.domain),
                |p| format!("{} ({})", escape(&p.name), escape(p.headquarters())),
            );
            let mut country = server_country(d);
            if let Some(g) = &d.geo {
                match (g.asn, &g.as_org) {
                    (Some(a), Some(o)) => country.push_str(&format!(", AS{a} {}", escape(o))),
                    (Some(a), None) => country.push_str(&format!(", AS{a}")),
                    (None, Some(o)) => country.push_str(&format!(", {}", escape(o))),
                    (None, None) => {}
                }
            }
            let protection = if !d.protection.is_encrypted() || d.protection.is_weak() {
                format!("**{}**", escape(&d.protection_label()))
            } else {
                escape(&d.protection_label())
            };
            row(
                &mut out,
                &[
                    escape(&d.host),
                    party,
                    escape(d.party.as_ref().map_or("unknown", |p| p.category)),
                    country,
                    protection,
                    severity_cell(d.severity),
                    d.findings.to_string(),
                    d.bytes_sent.to_string(),
                ],
            );
        }
    }

    let hosts: BTreeSet<&str> = report.destinations.iter().map(|d| d.host.as_str()).collect();
    let with_data: Vec<&&Destination> = order.iter().filter(|d| d.findings > 0).collect();
    if !with_data.is_empty() {
        out.push_str("\n## Findings\n");
        for d in with_data {
            let _ = writeln!(
                out,
                "\n### {}\n\n{}, {}: {}.\n",
                escape(&d.host),
                escape(&d.protection_label()),
                severity_cell(d.severity),
                escape(&d.severity_reason)
            );
            if !d.cnames.is_empty() {
                let cn: Vec<String> = d.cnames.iter().map(|c| escape(c)).collect();
                let _ = writeln!(out, "Reached via CNAME {}.\n", cn.join(" → "));
            }
            let mine: Vec<&Finding> = report.findings.iter().filter(|f| f.host == d.host).collect();
            findings_table(&mut out, &mine);
        }
    }
    let orphans: Vec<&Finding> =
        report.findings.iter().filter(|f| !hosts.contains(f.host.as_str())).collect();
    if !orphans.is_empty() {
        out.push_str(
            "\n## Data inside DNS queries\n\nReadable by every resolver on the way; the server \
             receiving it is not known.\n",
        );
        let mut seen = BTreeSet::new();
        for f in &orphans {
            if !seen.insert(f.host.as_str()) {
                continue;
            }
            let party = f.party.as_ref().map_or("unknown party".to_string(), |p| {
                format!(
                    "{}, {}, {}",
                    escape(&p.name),
                    escape(p.category),
                    p.country.as_deref().map_or_else(|| p.headquarters().into(), country_label)
                )
            });
            let _ = writeln!(out, "\n### Queries for {} ({party})\n", escape(&f.host));
            let mine: Vec<&Finding> =
                orphans.iter().copied().filter(|g| g.host == f.host).collect();
            findings_table(&mut out, &mine);
        }
    }

    if !report.address_book_uploads.is_empty() {
        out.push_str("\n## Address-book uploads\n\n");
        for u in &report.address_book_uploads {
            let _ = writeln!(
                out,
                "- {} contacts in one message to {} at {} ({} frame {}, flow {}, {})",
                u.contacts,
                escape(&u.host),
                escape(&rfc3339(u.time)),
                escape(&u.evidence.file),
                u.evidence.frame,
                u.evidence.flow,
                escape(&u.evidence.field)
            );
        }
    }

    if !report.redacted.is_empty() {
        let _ = writeln!(out, "\n{}", escape(&crate::text::redacted_line(report)));
    }
    if report.refused_total > 0 {
        let _ = writeln!(
            out,
            "\n## Refused by the gateway\n\n{} connection{} refused; the first {}:\n",
            report.refused_total,
            if report.refused_total == 1 { "" } else { "s" },
            report.refused.len().min(100)
        );
        for r in report.refused.iter().take(100) {
            let _ = writeln!(out, "- {} {}", escape(&rfc3339(r.time)), escape(&r.line()));
        }
    }
    out.push_str("\n## Captures\n\n");
    header(
        &mut out,
        &["file", "format", "packets", "first packet", "last packet", "SHA-256"],
        &[2],
    );
    for c in &report.captures {
        let format = match (c.format, c.compression) {
            (Some(f), Some(z)) if z != "none" => format!("{f}, {z}"),
            (Some(f), _) => f.to_string(),
            (None, _) => "unreadable".to_string(),
        };
        row(
            &mut out,
            &[
                escape(&c.path),
                escape(&format),
                c.packets.to_string(),
                c.first_packet.map_or("–".into(), |t| escape(&rfc3339(t))),
                c.last_packet.map_or("–".into(), |t| escape(&rfc3339(t))),
                c.sha256.as_deref().map_or("–".into(), |h| format!("`{}`", code_safe(h))),
            ],
        );
    }
    for c in &report.captures {
        for w in &c.warnings {
            let _ = writeln!(out, "\n- {}: warning {}", escape(&c.path), escape(w));
        }
        if let Some(e) = &c.error {
            let _ = writeln!(out, "\n- {}: reading stopped: {}", escape(&c.path), escape(e));
        }
    }

    if let Some(d) = &report.device {
        out.push_str("\n## Device\n\n");
        if let Some(n) = &d.name {
            let _ = writeln!(out, "- name: {}", escape(n));
        }
        if let Some(m) = &d.manufacturer {
            let _ = writeln!(out, "- manufacturer: {}", escape(m));
        }
        if let Some(c) = &d.country {
            let _ = writeln!(out, "- used in: {}", country_label(c));
        }
        if let Some(p) = &d.profile {
            let _ = writeln!(out, "- profile: {}", escape(p));
        }
    }

    out.push('\n');
    match &report.geo_source {
        Some(g) => {
            let _ = writeln!(out, "Country and network data: {}.\n", escape(g));
        }
        None => out.push_str("Server countries and networks are unknown (no geo data).\n\n"),
    }
    out.push_str("Severity rubric: docs/severity.md\n");
    out
}

#[cfg(test)]
mod tests {
    use super::{escape, markdown};
    use crate::text::tests::{HOSTILE, sample};

    #[test]
    fn structure_and_content() {
        let md = markdown(&sample("api.account.xiaomi.com"));
        assert!(
            md.starts_with(
                "# phonehome report\n\n**Verdict: CRITICAL** (4 findings: 3 critical, 1 high)\n"
            ),
            "{md}"
        );
        for needle in [
            "- CRITICAL: personal data",
            "## Summary",
            "| destinations | 4 |",
            "| findings readable on the network | 4 |",
            "| findings sent outside TW | 4 |",
            "## Destinations",
            "| host | party | category | country | protection | severity | findings | bytes sent |",
            "| api.account.xiaomi.com | Xiaomi (CN) | manufacturer | China (CN), AS4837 CHINA UNICOM China169 Backbone | **cleartext HTTP** | **critical** | 3 | 1234 |",
            "| old.tracker.example |",
            "**TLS 1.0 (weak)**",
            "## Findings",
            "### api.account.xiaomi.com",
            "| **critical** | imei | imei\\[0\\] | `plain` | `http.query:imei` | 3 | 2014-08-10T09:00:01.800000Z | demo.pcapng frame 12 |",
            "`gzip+base64+url`",
            "## Data inside DNS queries",
            "### Queries for leak.example",
            "heuristic, confidence 0.80",
            "## Address-book uploads",
            "- 12 contacts in one message to api.account.xiaomi.com",
            "## Captures",
            "`bacd253f4fe11474c5a1fb13776ae33c0549b69e7bceaba2333c96a99d70c8ae`",
            "## Device",
            "- used in: Taiwan (TW)",
            "Severity rubric: docs/severity.md",
        ] {
            assert!(md.contains(needle), "missing {needle:?} in\n{md}");
        }
        assert_eq!(md, markdown(&sample("api.account.xiaomi.com")), "deterministic");
    }

    #[test]
    fn same_numbers_as_the_summary() {
        let report = sample("api.account.xiaomi.com");
        let s = report::summary::Summary::of(&report);
        let md = markdown(&report);
        assert!(md.contains(&format!("| bytes sent | {} |", s.bytes_sent)), "{md}");
        assert!(md.contains(&format!("| bytes received | {} |", s.bytes_received)));
        assert!(md.contains(&format!(
            "| unprotected destinations (cleartext or weak TLS) | {} |",
            s.unprotected_destinations
        )));
        assert!(md.contains(&format!(
            "| contacts uploaded in one message (most) | {} |",
            s.contacts_uploaded
        )));
    }

    #[test]
    fn hostile_strings_are_escaped() {
        let mut report = sample(HOSTILE);
        report.findings[0].item = HOSTILE.into();
        report.findings[0].encoding = "a`b|c\nd".into();
        report.captures[0].path = HOSTILE.into();
        let md = markdown(&report);
        assert!(!md.contains('\x1b') && !md.contains('\x07') && !md.contains('\u{202E}'), "{md:?}");
        assert!(!md.contains("<b>") && !md.contains("[x](y)") && !md.contains("\n# h"), "{md}");
        // Every table row keeps its column count: no stray pipe from a hostile string.
        for line in md.lines().filter(|l| l.starts_with('|')) {
            let pipes = line.matches('|').count() - line.matches("\\|").count();
            let head = md.lines().filter(|l| l.starts_with('|')).count();
            assert!(pipes >= 3 && head > 0, "{line}");
        }
        let dest = md.lines().find(|l| l.starts_with("| evil")).unwrap();
        assert_eq!(dest.matches('|').count() - dest.matches("\\|").count(), 9, "{dest}");
        assert!(md.contains("`a\u{FFFD}b\u{FFFD}c d`"), "{md}");
        assert_eq!(escape("a|b*c_d`e<f>[g](h)\ni"), "a\\|b\\*c\\_d\\`e&lt;f&gt;\\[g\\](h) i");
        assert_eq!(escape("# x"), "\\# x");
        assert_eq!(escape("- x-y"), "\\- x-y");
        assert_eq!(escape("12. x.y"), "12\\. x.y");
        assert_eq!(escape("a.example"), "a.example");
        assert_eq!(escape("192.168.1.1"), "192.168.1.1");
        assert_eq!(escape("1."), "1\\.");
    }

    #[test]
    fn empty_report() {
        let md = markdown(&report::Report::default());
        assert!(
            md.starts_with(
                "# phonehome report\n\n**Verdict: INFO** (no personal data found in what was read)"
            ),
            "{md}"
        );
        assert!(md.contains("Severity rubric: docs/severity.md"));
    }
}
