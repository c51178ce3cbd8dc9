//! The live terminal view of `phonehome watch`: the verdict, a status line, then one row per
//! destination (worst first) and the latest findings, redrawn in place on every refresh. Built
//! from the same report model and [`Summary`] as the final report, so the two never disagree.

use std::collections::BTreeSet;

use report::{Destination, Finding, Report, Summary};

use super::{
    MIN_WIDTH, Paint, Style, cell, clean, clip_line, human_bytes, plural, server_country,
    severity_style, styled, table, time_of_day,
};

/// What the session itself is doing, for the status line.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// Where packets come from: `wlan0`, `replay of x.pcapng`.
    pub source: String,
    /// Packets analysed.
    pub packets: u64,
    /// Bytes of those packets.
    pub bytes: u64,
    /// Packets the kernel dropped (the capture did not keep up); `None` when not known.
    pub dropped: Option<u64>,
    /// Flows open now.
    pub open_flows: usize,
    /// Seconds since the session started (wall clock).
    pub elapsed_secs: u64,
    /// The pcapng being written.
    pub writing: Option<String>,
    /// Queries the DNS guard blocked, when it runs alongside.
    pub blocked: Option<u64>,
    /// Connections a gateway refused, when one filters (`phonehome vpn`).
    pub refused: Option<u64>,
}

impl Status {
    /// One line: `wlan0 · 1,234 packets (1.2 MiB) · 0 dropped · 12 open flows · 00:03:10 ·
    /// writing s.pcapng`.
    pub fn line(&self) -> String {
        let mut parts = vec![
            self.source.clone(),
            format!("{} packets ({})", self.packets, human_bytes(self.bytes)),
        ];
        if let Some(d) = self.dropped {
            parts.push(format!("{d} dropped"));
        }
        parts.push(format!("{} open flow{}", self.open_flows, plural(self.open_flows)));
        let t = self.elapsed_secs;
        parts.push(format!("{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60));
        if let Some(b) = self.blocked {
            parts.push(format!("{b} queries blocked"));
        }
        if let Some(r) = self.refused {
            parts.push(format!("{r} connection{} refused", plural(r as usize)));
        }
        if let Some(w) = &self.writing {
            parts.push(format!("writing {w}"));
        }
        parts.join(" · ")
    }
}

/// The screen: at most `rows` lines of `style.width` columns (the table is cut to fit, the worst
/// destinations kept).
pub fn screen(report: &Report, status: &Status, style: &Style, rows: usize) -> String {
    let width = style.width.max(MIN_WIDTH);
    let paint = Paint { color: style.color };
    let s = Summary::of(report);
    let mut out: Vec<String> = Vec::new();
    let verdict = s.verdict_word().to_uppercase();
    out.push(clip_line(
        &format!(
            "{} {}  {}",
            paint.bold("Verdict so far:"),
            paint.severity(s.verdict, &verdict),
            paint.dim(&s.verdict_detail())
        ),
        width,
    ));
    out.push(clip_line(&clean(&s.headline), width));
    out.push(clip_line(&paint.dim(&clean(&status.line())), width));
    out.push(String::new());

    // The latest findings take the bottom; destinations fill what is left.
    let latest = latest_findings(report, 5);
    let room =
        rows.saturating_sub(out.len() + 2 + if latest.is_empty() { 0 } else { latest.len() + 2 });
    let dim = anstyle::Style::new().dimmed();
    let mut table_rows = vec![
        ["SEVERITY", "DESTINATION", "PARTY", "COUNTRY", "PROTECTION", "DATA", "SENT"]
            .into_iter()
            .map(|h| styled(h, dim))
            .collect::<Vec<_>>(),
    ];
    let mut dests: Vec<&Destination> = report.destinations.iter().collect();
    dests.sort_by(|a, b| {
        (b.severity, b.findings, a.first_seen).cmp(&(a.severity, a.findings, b.first_seen))
    });
    let shown = dests.len().min(room.max(1));
    for d in &dests[..shown] {
        let prot = if !d.protection.is_encrypted() || d.protection.is_weak() {
            styled(d.protection_label(), anstyle::AnsiColor::Red.on_default())
        } else {
            cell(d.protection_label())
        };
        table_rows.push(vec![
            styled(d.severity.as_str(), severity_style(d.severity)),
            cell(&d.host),
            cell(report::summary::party_name(d)),
            cell(server_country(d)),
            prot,
            cell(data_seen(report, d)),
            cell(human_bytes(d.bytes_sent)),
        ]);
    }
    if dests.is_empty() {
        out.push(paint.dim("No destination yet."));
    } else {
        out.extend(table(&table_rows, 0, width, &[(1, 16), (2, 10), (5, 8), (4, 8)], &paint));
        if shown < dests.len() {
            out.push(paint.dim(&format!("… and {} more destinations", dests.len() - shown)));
        }
    }
    if !latest.is_empty() {
        out.push(String::new());
        out.push(paint.bold("Latest findings"));
        for f in latest {
            let line = format!(
                "{}  {}  {} → {}  ({}, {})",
                time_of_day(f.last_seen),
                f.severity.as_str(),
                finding_words(f),
                f.host,
                f.where_,
                f.protection.label()
            );
            out.push(clip_line(&paint.severity(f.severity, &clean(&line)), width));
        }
    }
    out.truncate(rows.max(1));
    out.join("\n")
}

/// `IMEI imei[0]`, or the data kind and a heuristic's masked value.
pub fn finding_words(f: &Finding) -> String {
    format!("{} {}", report::summary::data_words(f.data), f.item_shown())
}

/// The kinds of data a destination received: `IMEI, phone number`.
fn data_seen(report: &Report, d: &Destination) -> String {
    let kinds: BTreeSet<&'static str> = report
        .findings
        .iter()
        .filter(|f| f.host == d.host)
        .map(|f| report::summary::data_words(f.data))
        .collect();
    if kinds.is_empty() { "-".into() } else { kinds.into_iter().collect::<Vec<_>>().join(", ") }
}

/// The `n` most recently seen findings, latest last.
fn latest_findings(report: &Report, n: usize) -> Vec<&Finding> {
    let mut all: Vec<&Finding> = report.findings.iter().collect();
    all.sort_by_key(|f| f.last_seen);
    let skip = all.len().saturating_sub(n);
    all.split_off(skip)
}
