//! Before and after (`phonehome diff`): what changed between two runs of the same device (the
//! cloud service off and on, a firmware update, a new SIM).
//!
//! Both sides are read from the report's JSON (`phonehome.report/1`), whether it was written by
//! `analyze --format json` or made from captures just now: one code path, and a report kept from
//! last year compares with today's run. [`Run::from_json`] keeps what a comparison needs, per
//! destination (by host) and per data item sent to it (host, kind, item), and refuses a document
//! that is no report (the error says which field). Hostile input gets an error, never a panic;
//! at most [`MAX_ITEMS`] destinations and items are read from one report (the rest counted).
//!
//! [`compare`] gives the [`Change`]s, worst first (by the severity they concern, worse before
//! better), and a count of what did not change:
//! - destinations (hosts) that appeared or disappeared, the countries their servers are in
//!   added or gone;
//! - per destination: protection (cleartext → TLS, TLS 1.2 → 1.3, and back), what keys opened
//!   (TLS read with keys → not read), severity up or down, volume sent beyond a threshold;
//! - per data item and destination: newly sent, no longer sent, no longer *seen* (the after-run
//!   did not read that destination's encrypted traffic: it may still be sent), protection and
//!   severity, and its rate beyond the threshold.
//!
//! Runs of different length compare by rates (per minute of capture) when both last at least
//! [`Thresholds::min_seconds`], else by counts: a volume or occurrence change is reported only
//! when it is beyond [`Thresholds::rate`], a volume only when it also moved by more than
//! [`Thresholds::min_bytes`] bytes, an occurrence count only when one side has at least
//! [`MIN_OCCURRENCES`] (once or twice says nothing about how often). A protection change and the
//! severity change it brings are one change (the severities in its before and after).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::{Protection, Severity};

#[cfg(test)]
mod tests;

/// Destinations and items read from one report at most (each).
pub const MAX_ITEMS: usize = 100_000;
/// Occurrences one side must have for a rate change of a data item to be reported.
pub const MIN_OCCURRENCES: u64 = 3;

/// One side of a comparison, from a report's JSON.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Run {
    /// What the user gave (a file name).
    pub label: String,
    /// Seconds of capture (the captures' durations summed); 0 when unknown.
    pub duration_s: f64,
    /// The report's verdict (`critical`...), when it had one.
    pub verdict: Option<String>,
    /// The report read everything it was given (no capture unread, no TLS without keys).
    pub complete: bool,
    /// By host.
    pub destinations: BTreeMap<String, Dest>,
    /// By (host, data kind, item).
    pub items: BTreeMap<ItemKey, Item>,
    /// Destinations and items past [`MAX_ITEMS`], not compared.
    pub left_out: u64,
}

/// (host, data kind such as `imei`, item such as `imei[0]`).
pub type ItemKey = (String, String, String);

/// A destination, as compared.
#[derive(Debug, Clone, PartialEq)]
pub struct Dest {
    /// The party (company), when known.
    pub party: Option<String>,
    /// The server's country (ISO code), when known.
    pub country: Option<String>,
    /// The weakest protection of its connections.
    pub protection: Protection,
    /// TLS connections, and those opened with keys.
    pub tls_sessions: u64,
    /// TLS connections opened with keys.
    pub tls_decrypted: u64,
    /// Its severity.
    pub severity: Severity,
    /// Bytes the device sent to it.
    pub bytes_sent: u64,
    /// Findings.
    pub findings: u64,
}

/// A data item sent to a destination (its findings merged: every encoding and place).
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The worst severity of its findings.
    pub severity: Severity,
    /// The weakest protection it travelled with.
    pub protection: Protection,
    /// Read inside TLS with keys.
    pub decrypted: bool,
    /// Occurrences.
    pub count: u64,
    /// Encodings (`plain`, `base64`, `sha256`...).
    pub encodings: BTreeSet<String>,
}

/// Why a document is not a report the diff can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError(pub String);

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReadError {}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn number(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn severity(v: &Value, at: &str) -> Result<Severity, ReadError> {
    text(v, "severity")
        .and_then(Severity::parse)
        .ok_or_else(|| ReadError(format!("{at}: no valid \"severity\"")))
}

fn protection(v: &Value, at: &str) -> Result<Protection, ReadError> {
    let kind = text(v, "protection").unwrap_or("");
    Protection::parse(kind, text(v, "tls_version"))
        .ok_or_else(|| ReadError(format!("{at}: unknown \"protection\" {kind:?}")))
}

impl Run {
    /// Reads a report's JSON (see the module doc).
    ///
    /// # Errors
    /// A document that is not a `phonehome.report/1` report, or whose destinations or findings
    /// lack a field the comparison needs (named, with the entry's index).
    pub fn from_json(label: &str, doc: &Value) -> Result<Self, ReadError> {
        match text(doc, "schema") {
            Some("phonehome.report/1") => {}
            Some(other) => {
                return Err(ReadError(format!("schema {other:?}, not a phonehome.report/1")));
            }
            None => return Err(ReadError("no \"schema\": not a phonehome report".into())),
        }
        let list = |key: &str| -> Result<&Vec<Value>, ReadError> {
            doc.get(key)
                .and_then(Value::as_array)
                .ok_or_else(|| ReadError(format!("no {key:?} list")))
        };
        let mut run = Self { label: label.to_string(), ..Self::default() };
        let summary = doc.get("summary");
        run.verdict = summary.and_then(|s| text(s, "verdict")).map(str::to_string);
        run.complete =
            summary.and_then(|s| s.get("complete")).and_then(Value::as_bool) == Some(true);
        run.duration_s = list("captures")?
            .iter()
            .filter_map(|c| c.get("duration_s").and_then(Value::as_f64))
            .filter(|d| d.is_finite() && *d > 0.0)
            .sum();
        for (i, d) in list("destinations")?.iter().enumerate() {
            let at = format!("destinations[{i}]");
            let host = text(d, "host").ok_or_else(|| ReadError(format!("{at}: no \"host\"")))?;
            if run.destinations.len() >= MAX_ITEMS {
                run.left_out += 1;
                continue;
            }
            let dest = Dest {
                party: text(d, "party").map(str::to_string),
                country: text(d, "country").map(str::to_string),
                protection: protection(d, &at)?,
                tls_sessions: number(d, "tls_sessions"),
                tls_decrypted: number(d, "tls_decrypted"),
                severity: severity(d, &at)?,
                bytes_sent: number(d, "bytes_sent"),
                findings: number(d, "findings"),
            };
            // A host listed twice (one per device in a fleet's report) adds up.
            run.destinations.entry(host.to_string()).and_modify(|e| e.merge(&dest)).or_insert(dest);
        }
        for (i, f) in list("findings")?.iter().enumerate() {
            let at = format!("findings[{i}]");
            let field = |k: &str| {
                text(f, k).map(str::to_string).ok_or_else(|| ReadError(format!("{at}: no {k:?}")))
            };
            let key = (field("host")?, field("data")?, field("item")?);
            let item = Item {
                severity: severity(f, &at)?,
                protection: protection(f, &at)?,
                decrypted: f.get("decrypted").and_then(Value::as_bool) == Some(true),
                count: number(f, "count"),
                encodings: text(f, "encoding").map(str::to_string).into_iter().collect(),
            };
            if !run.items.contains_key(&key) && run.items.len() >= MAX_ITEMS {
                run.left_out += 1;
                continue;
            }
            run.items.entry(key).and_modify(|e| e.merge(&item)).or_insert(item);
        }
        Ok(run)
    }

    /// Occurrences or bytes per minute of capture (`None` when the duration is unknown).
    fn rate(&self, n: u64) -> Option<f64> {
        (self.duration_s > 0.0).then(|| n as f64 * 60.0 / self.duration_s)
    }
}

impl Dest {
    fn merge(&mut self, o: &Self) {
        self.protection = self.protection.weakest(o.protection);
        self.severity = self.severity.max(o.severity);
        self.tls_sessions += o.tls_sessions;
        self.tls_decrypted += o.tls_decrypted;
        self.bytes_sent += o.bytes_sent;
        self.findings += o.findings;
        if self.party.is_none() {
            self.party.clone_from(&o.party);
        }
        if self.country.is_none() {
            self.country.clone_from(&o.country);
        }
    }

    /// Encrypted connections the run could not read (no keys, or failed).
    fn unread(&self) -> bool {
        self.protection.is_encrypted() && self.tls_decrypted < self.tls_sessions.max(1)
    }
}

impl Item {
    fn merge(&mut self, o: &Self) {
        self.severity = self.severity.max(o.severity);
        self.protection = self.protection.weakest(o.protection);
        self.decrypted |= o.decrypted;
        self.count += o.count;
        self.encodings.extend(o.encodings.iter().cloned());
    }
}

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A data item is sent to a destination that did not get it before.
    DataNew,
    /// A data item travels with another protection.
    DataProtection,
    /// A data item's severity moved (another party, country or protection).
    DataSeverity,
    /// A data item is sent more or less often (by rate).
    DataRate,
    /// A data item is no longer sent to a destination.
    DataGone,
    /// A data item is no longer seen, but the after-run could not read that destination.
    DataUnseen,
    /// A destination appeared.
    DestinationNew,
    /// A destination's weakest protection changed.
    DestinationProtection,
    /// Keys opened a destination's TLS in one run and not in the other.
    DestinationKeys,
    /// A destination's severity moved.
    DestinationSeverity,
    /// A destination gets more or less data (by rate).
    Volume,
    /// Servers in a country that had none before.
    CountryNew,
    /// No more servers in a country.
    CountryGone,
    /// A destination disappeared.
    DestinationGone,
}

impl Kind {
    /// Machine name, as in JSON: `data_new`, `destination_gone`...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DataNew => "data_new",
            Self::DataProtection => "data_protection",
            Self::DataSeverity => "data_severity",
            Self::DataRate => "data_rate",
            Self::DataGone => "data_gone",
            Self::DataUnseen => "data_unseen",
            Self::DestinationNew => "destination_new",
            Self::DestinationProtection => "destination_protection",
            Self::DestinationKeys => "destination_keys",
            Self::DestinationSeverity => "destination_severity",
            Self::Volume => "volume",
            Self::CountryNew => "country_new",
            Self::CountryGone => "country_gone",
            Self::DestinationGone => "destination_gone",
        }
    }
}

/// Whether a change is for the worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// More data, less protection, higher severity.
    Worse,
    /// Neither (a destination without data appeared, a country changed).
    Neutral,
    /// Less data, more protection, lower severity.
    Better,
}

impl Direction {
    /// `worse`, `neutral`, `better`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Worse => "worse",
            Self::Neutral => "neutral",
            Self::Better => "better",
        }
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// What changed.
    pub kind: Kind,
    /// For the worse or the better.
    pub direction: Direction,
    /// The severity it concerns (the after-run's for what got worse or appeared, the
    /// before-run's for what improved or went): changes are ordered by it.
    pub severity: Severity,
    /// The destination (or the country, for country changes).
    pub host: String,
    /// Its party, when known.
    pub party: Option<String>,
    /// The data kind and item, for data changes.
    pub data: Option<(String, String)>,
    /// The value before (`cleartext HTTP`, `12.0 KiB/min`...), when it had one.
    pub before: Option<String>,
    /// The value after.
    pub after: Option<String>,
}

/// Limits below which a volume or rate change is not reported.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Relative change of a rate (0.5: up by half, or down by a third).
    pub rate: f64,
    /// Bytes by which a volume must change too.
    pub min_bytes: u64,
    /// Seconds of capture both runs need for rates to be compared (else counts are).
    pub min_seconds: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { rate: 0.5, min_bytes: 4096, min_seconds: 10.0 }
    }
}

/// The comparison of two runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    /// The runs.
    pub before: Run,
    /// The runs.
    pub after: Run,
    /// Worst first.
    pub changes: Vec<Change>,
    /// Destinations in both runs without any change.
    pub same_destinations: u64,
    /// Data items in both runs without any change.
    pub same_items: u64,
}

impl Diff {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The changes that add personal data at or above `level`: data newly sent, or whose
    /// severity rose to it (what `--fail-on new-LEVEL` fails on).
    pub fn adds_at_or_above(&self, level: Severity) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(move |c| {
            c.severity >= level
                && c.direction == Direction::Worse
                && matches!(c.kind, Kind::DataNew | Kind::DataSeverity | Kind::DataProtection)
        })
    }
}

/// Compares two runs (see the module doc).
pub fn compare(before: Run, after: Run, limits: Thresholds) -> Diff {
    let mut changes = Vec::new();
    let mut same_destinations = 0;
    let hosts: BTreeSet<&String> =
        before.destinations.keys().chain(after.destinations.keys()).collect();
    for host in hosts {
        let (b, a) = (before.destinations.get(host), after.destinations.get(host));
        let party = a.or(b).and_then(|d| d.party.clone());
        let change =
            |kind, direction, severity, before: Option<String>, after: Option<String>| Change {
                kind,
                direction,
                severity,
                host: host.clone(),
                party: party.clone(),
                data: None,
                before,
                after,
            };
        let n = changes.len();
        match (b, a) {
            (None, Some(a)) => {
                let dir = if a.findings > 0 { Direction::Worse } else { Direction::Neutral };
                changes.push(change(
                    Kind::DestinationNew,
                    dir,
                    a.severity,
                    None,
                    Some(dest_label(a)),
                ));
            }
            (Some(b), None) => {
                let dir = if b.findings > 0 { Direction::Better } else { Direction::Neutral };
                changes.push(change(
                    Kind::DestinationGone,
                    dir,
                    b.severity,
                    Some(dest_label(b)),
                    None,
                ));
            }
            (Some(b), Some(a)) => {
                let protection = (b.protection != a.protection).then(|| {
                    let better = a.protection.rank() > b.protection.rank();
                    (b.protection.label(), a.protection.label(), better)
                });
                let kinds = (Kind::DestinationProtection, Kind::DestinationSeverity);
                for (kind, dir, sev, x, y) in
                    protection_and_severity(kinds, protection, (b.severity, a.severity))
                {
                    changes.push(change(kind, dir, sev, x, y));
                }
                if b.protection.is_encrypted()
                    && a.protection.is_encrypted()
                    && b.unread() != a.unread()
                {
                    // Keys opened it in one run only: what is seen inside differs for that reason.
                    let dir = if a.unread() { Direction::Worse } else { Direction::Better };
                    let sev = b.severity.max(a.severity);
                    let (x, y) = (keys_label(b), keys_label(a));
                    changes.push(change(Kind::DestinationKeys, dir, sev, Some(x), Some(y)));
                }
                if let Some((x, y, up)) =
                    rate_change(&before, &after, b.bytes_sent, a.bytes_sent, limits, true)
                {
                    let dir = if up && a.findings > 0 {
                        Direction::Worse
                    } else if !up && b.findings > 0 {
                        Direction::Better
                    } else {
                        Direction::Neutral
                    };
                    changes.push(change(
                        Kind::Volume,
                        dir,
                        b.severity.max(a.severity),
                        Some(x),
                        Some(y),
                    ));
                }
                if changes.len() == n {
                    same_destinations += 1;
                }
            }
            (None, None) => {}
        }
    }
    countries(&before, &after, &mut changes);
    let same_items = items(&before, &after, limits, &mut changes);
    changes.sort_by(|x, y| {
        y.severity
            .cmp(&x.severity)
            .then(x.direction.cmp(&y.direction))
            .then(x.kind.cmp(&y.kind))
            .then_with(|| x.host.cmp(&y.host))
            .then_with(|| x.data.cmp(&y.data))
    });
    Diff { before, after, changes, same_destinations, same_items }
}

fn better_if(better: bool) -> Direction {
    if better { Direction::Better } else { Direction::Worse }
}

/// One change: kind, direction, the severity it concerns, before, after.
type Moved = (Kind, Direction, Severity, Option<String>, Option<String>);

/// The protection and severity changes of one destination or item (`kinds`: its protection
/// and its severity change): `protection` is the labels before and after and whether it got
/// better (`None`: unchanged). A severity that moved with the protection is told with it, in its
/// labels (`cleartext HTTP (critical)`); otherwise it is a change of its own.
fn protection_and_severity(
    kinds: (Kind, Kind),
    protection: Option<(String, String, bool)>,
    (sb, sa): (Severity, Severity),
) -> Vec<Moved> {
    let mut out = Vec::new();
    let moved = sb != sa;
    let mut told = false;
    if let Some((b, a, better)) = protection {
        let sev = if better { sb } else { sa };
        told = moved && (sa < sb) == better;
        let (b, a) = if told {
            (format!("{b} ({})", sb.as_str()), format!("{a} ({})", sa.as_str()))
        } else {
            (b, a)
        };
        out.push((kinds.0, better_if(better), sev, Some(b), Some(a)));
    }
    if moved && !told {
        let (b, a) = (Some(sb.as_str().to_string()), Some(sa.as_str().to_string()));
        out.push((kinds.1, better_if(sa < sb), sb.max(sa), b, a));
    }
    out
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn dest_label(d: &Dest) -> String {
    let mut s = d.protection.label();
    if let Some(c) = &d.country {
        s.push_str(", ");
        s.push_str(c);
    }
    if d.findings > 0 {
        s.push_str(&format!(", {}", plural(d.findings, "finding", "findings")));
    }
    s
}

fn keys_label(d: &Dest) -> String {
    if d.unread() {
        let all = plural(d.tls_sessions, "TLS connection", "TLS connections");
        format!("not read ({} of {all} opened)", d.tls_decrypted)
    } else {
        format!("read with keys ({})", plural(d.tls_decrypted, "TLS connection", "TLS connections"))
    }
}

fn item_label(i: &Item) -> String {
    let mut s = i.protection.label();
    if i.decrypted {
        s.push_str(", decrypted");
    }
    s
}

/// The before and after labels and whether it went up, when `b` and `a` (counts of each run)
/// differ by more than the threshold: by rate when both runs are long enough, else by count.
fn rate_change(
    before: &Run,
    after: &Run,
    b: u64,
    a: u64,
    limits: Thresholds,
    bytes: bool,
) -> Option<(String, String, bool)> {
    if bytes && b.abs_diff(a) < limits.min_bytes {
        return None;
    }
    let long = before.duration_s >= limits.min_seconds && after.duration_s >= limits.min_seconds;
    let (rb, ra) = match (before.rate(b), after.rate(a)) {
        (Some(x), Some(y)) if long => (x, y),
        _ => (b as f64, a as f64),
    };
    let (lo, hi) = if rb < ra { (rb, ra) } else { (ra, rb) };
    if hi <= lo * (1.0 + limits.rate) || hi == 0.0 {
        return None;
    }
    let label = |n: u64, run: &Run| {
        let amount = if bytes { crate::human_bytes(n) } else { format!("{n}") };
        match run.rate(n) {
            Some(r) if bytes && long => {
                format!("{amount} ({}/min)", crate::human_bytes(r as u64))
            }
            Some(r) if long => format!("{amount} ({r:.1}/min)"),
            _ => amount,
        }
    };
    Some((label(b, before), label(a, after), ra > rb))
}

fn countries(before: &Run, after: &Run, changes: &mut Vec<Change>) {
    let of = |r: &Run| -> BTreeMap<String, (Severity, Vec<String>)> {
        let mut m: BTreeMap<String, (Severity, Vec<String>)> = BTreeMap::new();
        for (host, d) in &r.destinations {
            if let Some(c) = &d.country {
                let e = m.entry(c.clone()).or_default();
                e.0 = e.0.max(d.severity);
                e.1.push(host.clone());
            }
        }
        m
    };
    let (b, a) = (of(before), of(after));
    for (c, (sev, hosts)) in &a {
        if !b.contains_key(c) {
            changes.push(Change {
                kind: Kind::CountryNew,
                direction: if *sev >= Severity::Medium {
                    Direction::Worse
                } else {
                    Direction::Neutral
                },
                severity: *sev,
                host: c.clone(),
                party: None,
                data: None,
                before: None,
                after: Some(hosts.join(", ")),
            });
        }
    }
    for (c, (sev, hosts)) in &b {
        if !a.contains_key(c) {
            changes.push(Change {
                kind: Kind::CountryGone,
                direction: Direction::Neutral,
                severity: *sev,
                host: c.clone(),
                party: None,
                data: None,
                before: Some(hosts.join(", ")),
                after: None,
            });
        }
    }
}

/// The data items' changes; returns how many are in both without a change.
fn items(before: &Run, after: &Run, limits: Thresholds, changes: &mut Vec<Change>) -> u64 {
    let mut same = 0;
    let keys: BTreeSet<&ItemKey> = before.items.keys().chain(after.items.keys()).collect();
    for key in keys {
        let (host, data, item) = key;
        let (b, a) = (before.items.get(key), after.items.get(key));
        let party = after
            .destinations
            .get(host)
            .or_else(|| before.destinations.get(host))
            .and_then(|d| d.party.clone());
        let change = |kind, direction, severity, x: Option<String>, y: Option<String>| Change {
            kind,
            direction,
            severity,
            host: host.clone(),
            party: party.clone(),
            data: Some((data.clone(), item.clone())),
            before: x,
            after: y,
        };
        let n = changes.len();
        match (b, a) {
            (None, Some(a)) => changes.push(change(
                Kind::DataNew,
                Direction::Worse,
                a.severity,
                None,
                Some(item_label(a)),
            )),
            (Some(b), None) => {
                // Gone, or only out of sight: the after-run could not read this destination.
                let unread = after.destinations.get(host).is_some_and(Dest::unread);
                let (kind, dir) = if unread {
                    (Kind::DataUnseen, Direction::Neutral)
                } else {
                    (Kind::DataGone, Direction::Better)
                };
                changes.push(change(kind, dir, b.severity, Some(item_label(b)), None));
            }
            (Some(b), Some(a)) => {
                let protection =
                    (b.protection != a.protection || b.decrypted != a.decrypted).then(|| {
                        let better = a.protection.rank() > b.protection.rank()
                            || (a.protection == b.protection && !a.decrypted);
                        (item_label(b), item_label(a), better)
                    });
                let kinds = (Kind::DataProtection, Kind::DataSeverity);
                for (kind, dir, sev, x, y) in
                    protection_and_severity(kinds, protection, (b.severity, a.severity))
                {
                    changes.push(change(kind, dir, sev, x, y));
                }
                let enough = b.count.max(a.count) >= MIN_OCCURRENCES;
                if let Some((x, y, up)) =
                    rate_change(before, after, b.count, a.count, limits, false).filter(|_| enough)
                {
                    changes.push(change(
                        Kind::DataRate,
                        better_if(!up),
                        b.severity.max(a.severity),
                        Some(x),
                        Some(y),
                    ));
                }
                if changes.len() == n {
                    same += 1;
                }
            }
            (None, None) => {}
        }
    }
    same
}
