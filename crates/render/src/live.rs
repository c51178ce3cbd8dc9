//! What changed between two snapshots of a live session, as a stream: one JSON object per line
//! (`phonehome watch --jsonl`, schema `phonehome.live/1`, described by
//! `schema/live.schema.json`), or one plain line per change for a log or a pipe.
//!
//! Contract:
//! - [`Changes::update`] compares a snapshot with what was streamed before and gives each new
//!   finding and each finding whose severity, protection, party or country changed; each new
//!   destination and each one whose protection, party, country, severity or finding count
//!   changed. A finding that only counted more occurrences is not a change (the counters line
//!   says how the session goes).
//! - Every line is a complete JSON object with `schema` and `event` (`start`, `finding`,
//!   `destination`, `counters`, `end`); `finding` and `destination` carry the same object as the
//!   report's `findings[]` and `destinations[]`, so a consumer of the report reads them as is.
//! - Memory: one small state per finding and destination of the snapshot, which the analyzer
//!   bounds ([`report::MAX_FINDINGS`], [`report::MAX_DESTINATIONS`]); states of entries the
//!   session let go are dropped with them.

use std::collections::HashMap;

use serde_json::{Value, json};

use report::{Destination, Finding, Report, Severity, Source, Summary};

use crate::json::{destination_json, finding_json, summary_json};
use crate::text::live::{Status, finding_words};

/// The stream's schema identifier, in every line.
pub const LIVE_SCHEMA: &str = "phonehome.live/1";

type FindingKey = (&'static str, String, bool, String, String, String);

#[derive(Debug, Clone, PartialEq)]
struct FindingState {
    severity: Severity,
    protection: String,
    party: Option<String>,
    country: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct DestinationState {
    protection: String,
    party: Option<String>,
    country: Option<String>,
    severity: Severity,
    findings: usize,
}

/// One change of a snapshot.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// A finding, new (`true`) or changed.
    Finding(&'a Finding, bool),
    /// A destination, new (`true`) or changed.
    Destination(&'a Destination, bool),
}

/// What was streamed so far (see the module doc).
#[derive(Debug, Default)]
pub struct Changes {
    findings: HashMap<FindingKey, FindingState>,
    destinations: HashMap<String, DestinationState>,
}

fn finding_key(f: &Finding) -> FindingKey {
    (
        f.data.as_str(),
        f.item_shown(),
        matches!(f.source, Source::Profile),
        f.host.clone(),
        f.encoding.clone(),
        f.where_.clone(),
    )
}

fn country(d: Option<&report::geo::GeoInfo>) -> Option<String> {
    d.and_then(|g| g.country.clone())
}

impl Changes {
    /// The changes of `report` (an attributed snapshot) since the last call: findings first,
    /// in report order, then destinations.
    pub fn update<'a>(&mut self, report: &'a Report) -> Vec<Change<'a>> {
        let mut out = Vec::new();
        let mut findings = HashMap::with_capacity(report.findings.len());
        for f in &report.findings {
            let key = finding_key(f);
            let state = FindingState {
                severity: f.severity,
                protection: f.protection.label(),
                party: f.party.as_ref().map(|p| p.name.clone()),
                country: f.country.clone(),
            };
            match self.findings.remove(&key) {
                None => out.push(Change::Finding(f, true)),
                Some(old) if old != state => out.push(Change::Finding(f, false)),
                Some(_) => {}
            }
            findings.insert(key, state);
        }
        self.findings = findings;
        let mut destinations = HashMap::with_capacity(report.destinations.len());
        for d in &report.destinations {
            let state = DestinationState {
                protection: d.protection_label(),
                party: d.party.as_ref().map(|p| p.name.clone()),
                country: country(d.geo.as_ref()),
                severity: d.severity,
                findings: d.findings,
            };
            match self.destinations.remove(&d.host) {
                None => out.push(Change::Destination(d, true)),
                Some(old) if old != state => out.push(Change::Destination(d, false)),
                Some(_) => {}
            }
            destinations.insert(d.host.clone(), state);
        }
        self.destinations = destinations;
        out
    }
}

/// `time` is the capture time of the snapshot (RFC 3339), `None` before the first packet.
fn line(event: &str, time: Option<&str>, body: Value) -> String {
    let mut v = json!({ "schema": LIVE_SCHEMA, "event": event, "time": time });
    if let (Value::Object(o), Value::Object(b)) = (&mut v, body) {
        o.extend(b);
    }
    v.to_string()
}

/// The first line: what the session watches.
pub fn start_line(source: &str, writing: Option<&str>) -> String {
    line(
        "start",
        None,
        json!({
            "source": source,
            "writing": writing,
            "tool": { "name": "phonehome", "version": env!("CARGO_PKG_VERSION") },
        }),
    )
}

/// One change as a JSON line.
pub fn change_line(change: &Change<'_>, time: Option<&str>) -> String {
    match *change {
        Change::Finding(f, new) => {
            line("finding", time, json!({ "new": new, "finding": finding_json(f) }))
        }
        Change::Destination(d, new) => {
            line("destination", time, json!({ "new": new, "destination": destination_json(d) }))
        }
    }
}

pub(crate) fn status_json(status: &Status, s: &Summary) -> Value {
    json!({
        "packets": status.packets,
        "bytes": status.bytes,
        "dropped": status.dropped,
        "open_flows": status.open_flows,
        "elapsed_secs": status.elapsed_secs,
        "writing": status.writing,
        "blocked": status.blocked,
        "refused": status.refused,
        "findings": s.findings,
        "destinations": s.destinations,
        "verdict": (!s.nothing_read).then(|| s.verdict.as_str()),
    })
}

/// A connection a gateway refused (`phonehome vpn`: its verdict log's object) as a JSON line.
pub fn verdict_line(verdict: &Value, time: Option<&str>) -> String {
    line("verdict", time, json!({ "verdict": verdict }))
}

/// The same for people: `refused phone tcp 203.0.113.9:443: sni t.example, by t.example
/// (block.txt:1)`.
pub fn verdict_text(verdict: &Value) -> String {
    let s = |k: &str| verdict[k].as_str().unwrap_or("").to_string();
    let server = match verdict["server"].as_str() {
        Some(ip) if ip.contains(':') => format!("[{ip}]"),
        Some(ip) => ip.to_string(),
        None => String::new(),
    };
    format!(
        "{}  refused  {}  {} {server}:{}: {}, by {}",
        s("time"),
        s("device"),
        s("transport"),
        verdict["port"],
        s("matched"),
        s("rule")
    )
}

/// The session's counters and verdict so far.
pub fn counters_line(status: &Status, report: &Report, time: Option<&str>) -> String {
    line("counters", time, status_json(status, &Summary::of(report)))
}

/// The last line: the final counters and the summary of the final report (the same object as
/// the report's `summary`), and where the report was written.
pub fn end_line(
    status: &Status,
    report: &Report,
    time: Option<&str>,
    written: Option<&str>,
) -> String {
    let s = Summary::of(report);
    line(
        "end",
        time,
        json!({ "counters": status_json(status, &s), "summary": summary_json(&s), "report": written }),
    )
}

/// One change as a plain line (for a log, or standard output that is not a terminal).
pub fn change_text(change: &Change<'_>, time: &str) -> String {
    let clock = time.get(11..19).unwrap_or(time);
    let text = match *change {
        Change::Finding(f, new) => format!(
            "{clock} {} {}: {} → {} ({}, {}, {}{})",
            if new { "finding" } else { "finding changed" },
            f.severity.as_str(),
            finding_words(f),
            f.host,
            f.where_,
            f.protection.label(),
            f.party.as_ref().map_or("unknown party", |p| p.name.as_str()),
            f.country.as_ref().map(|c| format!(", {c}")).unwrap_or_default(),
        ),
        Change::Destination(d, new) => format!(
            "{clock} {} {}: {} ({}, {}, {}, {} finding{})",
            if new { "destination" } else { "destination changed" },
            d.severity.as_str(),
            d.host,
            report::summary::party_name(d),
            country(d.geo.as_ref()).unwrap_or_else(|| "?".into()),
            d.protection_label(),
            d.findings,
            if d.findings == 1 { "" } else { "s" },
        ),
    };
    crate::text::clean(&text)
}

pub mod page;

#[cfg(test)]
mod tests;
