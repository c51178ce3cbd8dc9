//! The report's summary: the verdict and the figures every rendering shows, computed once from
//! the [`Report`] so that text, JSON, Markdown and HTML cannot disagree.
//!
//! Contract:
//! - [`Summary::of`] is a pure function of the report (no clock, no environment).
//! - `verdict` is the highest severity among findings, else among destinations.
//! - `stories` are one sentence per destination that received personal data, worst first, in
//!   the shape "sent its IMEI, IMSI and 12 contacts to Xiaomi (manufacturer, CN) at
//!   api.account.xiaomi.com in cleartext HTTP, 3 s after the capture started", led by the apps
//!   that sent it when the capture says ("com.miui.analytics sent its IMEI to Xiaomi ...").
//! - `parties` and `countries` aggregate destinations; a destination without a known party is
//!   grouped under its registrable domain, one without a known country under `??`.

use std::collections::{BTreeMap, BTreeSet};

use capture::Timestamp;
use detect::DataKind;

use crate::finding::{Destination, Report};
use crate::severity::Severity;

/// Country code used when a destination's country is unknown.
pub const UNKNOWN_COUNTRY: &str = "??";

/// What one app sent, when the capture says which app made each connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSummary {
    /// The app: package, else name, else `uid N`.
    pub app: String,
    /// Its findings.
    pub findings: usize,
    /// The worst of them.
    pub severity: Severity,
    /// Kinds of data it sent.
    pub data: BTreeSet<DataKind>,
    /// To whom: parties, else the destination's host.
    pub to: BTreeSet<String>,
}

/// One organisation (or unknown registrable domain) the device talked to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartySummary {
    /// Organisation name, or the registrable domain when not in the database.
    pub name: String,
    /// Category, `unknown` when not in the database.
    pub category: String,
    /// Headquarters country, when known.
    pub country: Option<String>,
    /// Its destinations (host names), in first-contact order.
    pub destinations: Vec<String>,
    /// Findings sent to it.
    pub findings: usize,
    /// Kinds of data it received.
    pub data: BTreeSet<DataKind>,
    /// Highest severity among its destinations.
    pub severity: Severity,
    /// Bytes sent to it.
    pub bytes_sent: u64,
    /// First contact.
    pub first_seen: Timestamp,
}

/// Destinations and findings per country of the server address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountrySummary {
    /// ISO 3166 alpha-2, or [`UNKNOWN_COUNTRY`].
    pub country: String,
    /// Destinations there.
    pub destinations: usize,
    /// Findings sent there.
    pub findings: usize,
    /// Bytes sent there.
    pub bytes_sent: u64,
}

/// Everything a reader sees first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// The highest severity found.
    pub verdict: Severity,
    /// One line: what, to how many parties, how protected.
    pub headline: String,
    /// One sentence per destination with findings, worst first.
    pub stories: Vec<String>,
    /// Findings.
    pub findings: usize,
    /// Findings per severity, indexed like [`Severity::ALL`].
    pub findings_by_severity: [usize; 5],
    /// Findings readable on the network.
    pub cleartext_findings: usize,
    /// Kinds of personal data sent.
    pub data: BTreeSet<DataKind>,
    /// Destinations contacted.
    pub destinations: usize,
    /// Destinations that received personal data.
    pub destinations_with_data: usize,
    /// Destinations whose traffic was cleartext (or weak TLS).
    pub unprotected_destinations: usize,
    /// Distinct contacts of the profile's address book sent in one message, at most.
    pub contacts_uploaded: usize,
    /// Findings whose destination is known to be outside the device's country.
    pub findings_leaving_country: usize,
    /// Findings for which that is unknown (no country for the server, or none for the device).
    pub findings_country_unknown: usize,
    /// Bytes sent and received, over all destinations.
    pub bytes_sent: u64,
    /// See [`Summary::bytes_sent`].
    pub bytes_received: u64,
    /// Parties, worst first, then by first contact.
    pub parties: Vec<PartySummary>,
    /// Apps that sent personal data, worst first (empty when the capture does not say).
    pub apps: Vec<AppSummary>,
    /// Countries, by bytes sent (descending).
    pub countries: Vec<CountrySummary>,
    /// Time of the first packet of the run (the reference of "N s after the capture started").
    pub start: Option<Timestamp>,
    /// The device's country (from the profile), when known.
    pub home_country: Option<String>,
    /// Encrypted connections whose content was not read (no keys, failed, unsupported, QUIC).
    pub unopened: u64,
    /// One sentence on what of the encrypted traffic was read; empty when there was none.
    pub coverage: String,
    /// One sentence on what a long live session let go of to keep its memory bounded; empty when
    /// nothing was.
    pub summarised: String,
    /// No input gave a single packet or entry: there is no verdict (renderers say "incomplete"
    /// and never "no personal data found").
    pub nothing_read: bool,
    /// The inputs that could not be read, or only in part: `path: why`.
    pub unread: Vec<String>,
}

impl Summary {
    /// The verdict as a word: the severity, or `incomplete` when nothing could be read.
    pub fn verdict_word(&self) -> &'static str {
        if self.nothing_read { "incomplete" } else { self.verdict.as_str() }
    }

    /// What follows the verdict word: the findings per severity, `no personal data found in
    /// what was read`, or `nothing could be read`; then, short, how many inputs were read only
    /// in part ([`Summary::read_in_part`] says why).
    pub fn verdict_detail(&self) -> String {
        if self.nothing_read {
            return "nothing could be read".into();
        }
        let by_sev = self.severity_breakdown();
        let detail = if by_sev.is_empty() {
            "no personal data found in what was read".to_string()
        } else {
            let s = if self.findings == 1 { "" } else { "s" };
            format!("{} finding{s}: {}", self.findings, by_sev.join(", "))
        };
        match self.unread.len() {
            0 => detail,
            1 => format!("{detail}; incomplete: 1 input not read whole"),
            n => format!("{detail}; incomplete: {n} inputs not read whole"),
        }
    }

    /// `Not read whole: path: why; ...`, the line under the verdict of a run that read its
    /// input in part (`None` when all was read, or nothing: the headline says that).
    pub fn read_in_part(&self) -> Option<String> {
        (!self.unread.is_empty() && !self.nothing_read)
            .then(|| format!("Not read whole: {}", self.unread.join("; ")))
    }

    /// How many findings left the device's country, in words, counting only what is known:
    /// `2 sent to servers outside TW`, `... (country unknown for 3)`, `server countries unknown
    /// for all 5 findings`. `None` when the device's country is unknown.
    pub fn leaving(&self) -> Option<String> {
        let home = self.home_country.as_deref()?;
        let (out, unknown) = (self.findings_leaving_country, self.findings_country_unknown);
        Some(if unknown == 1 && self.findings == 1 {
            "server country unknown for the finding".into()
        } else if unknown > 0 && unknown == self.findings {
            format!("server countries unknown for all {unknown} findings")
        } else if unknown > 0 {
            format!("{out} sent to servers outside {home} (country unknown for {unknown})")
        } else {
            format!("{out} sent to servers outside {home}")
        })
    }

    /// The figure for "findings outside the device's country": the known count, or `unknown`
    /// when no finding's country is known (or the device's is not). How many are unknown beside
    /// a known count is [`Summary::findings_country_unknown`].
    pub fn leaving_figure(&self) -> String {
        let unknown = self.findings_country_unknown;
        if self.home_country.is_none() || (unknown > 0 && unknown == self.findings) {
            "unknown".into()
        } else {
            self.findings_leaving_country.to_string()
        }
    }
}

/// The name a destination is grouped under: its party, else its registrable domain.
pub fn party_name(d: &Destination) -> String {
    d.party.as_ref().map_or_else(|| d.domain.clone(), |p| p.name.clone())
}

/// A list for prose: `a`, `a and b`, `a, b and c`.
pub fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// How a data kind is named in prose (`IMEI`, `phone number`).
pub fn data_words(kind: DataKind) -> &'static str {
    match kind {
        DataKind::Imei => "IMEI",
        DataKind::Imsi => "IMSI",
        DataKind::Iccid => "ICCID",
        DataKind::Phone => "phone number",
        DataKind::Serial => "serial number",
        DataKind::AndroidId => "Android ID",
        DataKind::AdvertisingId => "advertising ID",
        DataKind::Mac => "MAC address",
        DataKind::Email => "e-mail address",
        DataKind::Contact => "contacts",
        DataKind::Sms => "SMS text",
        DataKind::Location => "location",
        DataKind::Custom => "planted values",
        DataKind::Identifier => "a cross-party identifier",
    }
}

fn seconds_after(start: Option<Timestamp>, t: Timestamp) -> String {
    let Some(s) = start else { return String::new() };
    let ns = t.0.saturating_sub(s.0).max(0);
    let secs = ns as f64 / 1e9;
    if secs < 10.0 {
        format!(", {secs:.1} s after the capture started")
    } else {
        format!(", {:.0} s after the capture started", secs.round())
    }
}

impl Summary {
    /// Computes the summary of `report`.
    pub fn of(report: &Report) -> Self {
        let mut s = Self {
            findings: report.findings.len(),
            destinations: report.destinations.len(),
            start: report.captures.iter().filter_map(|c| c.first_packet).min(),
            home_country: report.device.as_ref().and_then(|d| d.country.clone()),
            ..Self::default()
        };
        for f in &report.findings {
            s.findings_by_severity[f.severity as usize] += 1;
            s.verdict = s.verdict.max(f.severity);
            s.data.insert(f.data);
            if f.exposure == crate::severity::Exposure::Cleartext {
                s.cleartext_findings += 1;
            }
            match f.leaves_country {
                Some(true) => s.findings_leaving_country += 1,
                Some(false) => {}
                None => s.findings_country_unknown += 1,
            }
        }
        s.contacts_uploaded =
            report.address_book_uploads.iter().map(|u| u.contacts).max().unwrap_or(0);
        let mut parties: BTreeMap<String, PartySummary> = BTreeMap::new();
        let mut countries: BTreeMap<String, CountrySummary> = BTreeMap::new();
        // The kinds of data per host, from one pass (a long live session holds 20,000 of each).
        let mut kinds: std::collections::HashMap<&str, BTreeSet<DataKind>> =
            std::collections::HashMap::new();
        for f in &report.findings {
            kinds.entry(f.host.as_str()).or_default().insert(f.data);
        }
        for d in &report.destinations {
            if report.findings.is_empty() {
                s.verdict = s.verdict.max(d.severity);
            }
            s.bytes_sent += d.bytes_sent;
            s.bytes_received += d.bytes_received;
            s.destinations_with_data += usize::from(d.findings > 0);
            s.unprotected_destinations +=
                usize::from(!d.protection.is_encrypted() || d.protection.is_weak());
            let data = kinds.remove(d.host.as_str()).unwrap_or_default();
            let name = party_name(d);
            let p = parties.entry(name.clone()).or_insert_with(|| PartySummary {
                name,
                category: d.party.as_ref().map_or("unknown", |p| p.category).to_string(),
                country: d.party.as_ref().and_then(|p| p.country.clone()),
                destinations: Vec::new(),
                findings: 0,
                data: BTreeSet::new(),
                severity: Severity::Info,
                bytes_sent: 0,
                first_seen: d.first_seen,
            });
            p.destinations.push(d.host.clone());
            p.findings += d.findings;
            p.data.extend(data);
            p.severity = p.severity.max(d.severity);
            p.bytes_sent += d.bytes_sent;
            p.first_seen = p.first_seen.min(d.first_seen);
            let cc = d
                .geo
                .as_ref()
                .and_then(|g| g.country.clone())
                .unwrap_or_else(|| UNKNOWN_COUNTRY.to_string());
            let c = countries.entry(cc.clone()).or_insert_with(|| CountrySummary {
                country: cc,
                destinations: 0,
                findings: 0,
                bytes_sent: 0,
            });
            c.destinations += 1;
            c.findings += d.findings;
            c.bytes_sent += d.bytes_sent;
        }
        s.parties = parties.into_values().collect();
        s.parties.sort_by(|a, b| {
            (b.severity, b.findings, a.first_seen, &a.name).cmp(&(
                a.severity,
                a.findings,
                b.first_seen,
                &b.name,
            ))
        });
        s.countries = countries.into_values().collect();
        s.countries.sort_by(|a, b| (b.bytes_sent, &a.country).cmp(&(a.bytes_sent, &b.country)));
        s.stories = stories(report, s.start);
        s.apps = apps(report);
        s.unopened = report.coverage.unopened();
        s.coverage = coverage_line(&report.coverage);
        s.summarised = summarised_line(&report.summarised);
        s.nothing_read =
            !report.captures.is_empty() && report.captures.iter().all(|c| c.packets == 0);
        for c in &report.captures {
            match &c.error {
                Some(e) if c.packets == 0 => s.unread.push(format!("{}: {e}", c.path)),
                Some(e) => {
                    s.unread.push(format!("{}: stopped after {} packets: {e}", c.path, c.packets));
                }
                None if c.packets == 0 => s.unread.push(format!("{}: no packets", c.path)),
                None => {}
            }
        }
        s.headline = headline(&s);
        s
    }

    /// Non-zero finding counts, worst first: `["31 critical", "3 high"]`.
    pub fn severity_breakdown(&self) -> Vec<String> {
        Severity::ALL
            .iter()
            .rev()
            .filter(|&&v| self.findings_by_severity[v as usize] > 0)
            .map(|&v| format!("{} {}", self.findings_by_severity[v as usize], v.as_str()))
            .collect()
    }

    /// How many findings have `severity` or higher.
    pub fn at_or_above(&self, severity: Severity) -> usize {
        self.findings_by_severity[severity as usize..].iter().sum()
    }
}

/// `12 TLS connections: 10 opened with keys, 2 without keys (api.x.com, ...); 3 QUIC connections not opened.`
fn summarised_line(m: &crate::Summarised) -> String {
    if m.is_empty() {
        return String::new();
    }
    format!(
        "to keep memory bounded, this session let go of its {} least recently seen findings \
         ({} occurrences), {} destinations and {} address-book uploads (see the pcapng for them)",
        m.findings, m.occurrences, m.destinations, m.uploads
    )
}

fn coverage_line(c: &crate::finding::Coverage) -> String {
    let t = &c.counts;
    let plural = |n: u64, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    let mut parts = Vec::new();
    if t.sessions > 0 {
        let mut what = Vec::new();
        if t.decrypted > 0 {
            what.push(format!("{} opened", t.decrypted));
        }
        if t.no_keys > 0 {
            let hosts: Vec<&str> = c.no_keys_hosts.keys().take(5).map(String::as_str).collect();
            let more = if c.no_keys_hosts.len() > 5 { ", ..." } else { "" };
            what.push(format!("{} without keys ({}{more})", t.no_keys, hosts.join(", ")));
        }
        if t.failed > 0 {
            what.push(format!("{} failed authentication (wrong or foreign keys)", t.failed));
        }
        if t.unsupported > 0 {
            what.push(format!("{} with a cipher suite not decrypted", t.unsupported));
        }
        parts.push(format!("{}: {}", plural(t.sessions, "TLS connection"), what.join(", ")));
    }
    if t.quic_sessions > 0 {
        let shut = t.quic_sessions - t.quic_decrypted.min(t.quic_sessions);
        let what = match (t.quic_decrypted, shut) {
            (0, _) => "not opened".to_string(),
            (d, 0) => format!("{d} opened"),
            (d, n) => format!("{d} opened, {n} not"),
        };
        parts.push(format!("{}: {what}", plural(t.quic_sessions, "QUIC connection")));
    }
    if parts.is_empty() {
        return String::new();
    }
    let mut line = parts.join("; ");
    line.push('.');
    if (t.no_keys > 0 || t.quic_sessions > t.quic_decrypted) && c.secrets == 0 {
        line.push_str(" Give the key log with --keylog to read inside TLS and QUIC.");
    }
    line
}

fn headline(s: &Summary) -> String {
    if s.nothing_read {
        return format!(
            "Nothing could be read, so nothing can be said about this device: {}.",
            s.unread.join("; ")
        );
    }
    let unread = match s.unopened {
        0 => String::new(),
        1 => " 1 encrypted connection could not be read.".to_string(),
        n => format!(" {n} encrypted connections could not be read."),
    };
    if s.findings == 0 {
        return format!(
            "No personal data found in what could be read ({} destinations contacted, {} of them unprotected).{unread}",
            s.destinations, s.unprotected_destinations
        );
    }
    let data: Vec<String> = s.data.iter().map(|&k| data_words(k).to_string()).collect();
    let parties = s.parties.iter().filter(|p| p.findings > 0).count();
    let abroad = match &s.home_country {
        Some(_) if s.findings_leaving_country + s.findings_country_unknown > 0 => {
            format!("; {}", s.leaving().unwrap_or_default())
        }
        _ => String::new(),
    };
    format!(
        "{}: personal data ({}) sent to {} destination{} of {} part{}; {} of {} finding{} readable on the network{abroad}.",
        s.verdict.as_str().to_uppercase(),
        and_list(&data),
        s.destinations_with_data,
        if s.destinations_with_data == 1 { "" } else { "s" },
        parties,
        if parties == 1 { "y" } else { "ies" },
        s.cleartext_findings,
        s.findings,
        if s.findings == 1 { "" } else { "s" },
    ) + &unread
}

fn apps(report: &Report) -> Vec<AppSummary> {
    let mut by_app: BTreeMap<String, AppSummary> = BTreeMap::new();
    for f in &report.findings {
        let Some(app) = &f.app else { continue };
        let label = app.label();
        let a = by_app.entry(label.clone()).or_insert_with(|| AppSummary {
            app: label,
            findings: 0,
            severity: Severity::Info,
            data: BTreeSet::new(),
            to: BTreeSet::new(),
        });
        a.findings += 1;
        a.severity = a.severity.max(f.severity);
        a.data.insert(f.data);
        a.to.insert(f.party.as_ref().map_or_else(|| f.host.clone(), |p| p.name.clone()));
    }
    let mut v: Vec<AppSummary> = by_app.into_values().collect();
    v.sort_by(|a, b| (b.severity, b.findings, &a.app).cmp(&(a.severity, a.findings, &b.app)));
    v
}

impl AppSummary {
    /// `IMEI and IMSI to Xiaomi and Google`.
    pub fn sentence(&self) -> String {
        let data: Vec<String> = self.data.iter().map(|&k| data_words(k).to_string()).collect();
        let to: Vec<String> = self.to.iter().cloned().collect();
        format!("{} to {}", and_list(&data), and_list(&to))
    }
}

fn stories(report: &Report, start: Option<Timestamp>) -> Vec<String> {
    let mut with_data: Vec<&Destination> =
        report.destinations.iter().filter(|d| d.findings > 0).collect();
    with_data.sort_by(|a, b| (b.severity, a.first_seen).cmp(&(a.severity, b.first_seen)));
    let mut by_host: std::collections::HashMap<&str, Vec<&crate::Finding>> =
        std::collections::HashMap::new();
    for f in &report.findings {
        by_host.entry(f.host.as_str()).or_default().push(f);
    }
    let mut lines: Vec<String> = with_data
        .iter()
        .map(|d| {
            let mine: &[&crate::Finding] = by_host.get(d.host.as_str()).map_or(&[], Vec::as_slice);
            let kinds: BTreeSet<DataKind> = mine.iter().map(|f| f.data).collect();
            let contacts = report
                .address_book_uploads
                .iter()
                .filter(|u| u.host == d.host)
                .map(|u| u.contacts)
                .max();
            let words: Vec<String> = kinds
                .iter()
                .map(|&k| match (k, contacts) {
                    (DataKind::Contact, Some(n)) => format!("{n} contacts"),
                    (DataKind::Contact, None) => {
                        let n: BTreeSet<&str> = mine
                            .iter()
                            .filter(|f| f.data == DataKind::Contact)
                            .map(|f| f.item.as_str())
                            .collect();
                        format!("{} contact{}", n.len(), if n.len() == 1 { "" } else { "s" })
                    }
                    _ => data_words(k).to_string(),
                })
                .collect();
            let to = match &d.party {
                Some(p) => format!("{} ({}, {})", p.name, p.category, p.headquarters()),
                None => {
                    let cert = d.cert_owner().map(|o| format!("certificate: {o}"));
                    let domain = (d.domain != d.host).then(|| d.domain.clone());
                    let known: Vec<String> = domain.into_iter().chain(cert).collect();
                    if known.is_empty() {
                        "an unknown party".to_string()
                    } else {
                        format!("an unknown party ({})", known.join("; "))
                    }
                }
            };
            let country = d
                .geo
                .as_ref()
                .and_then(|g| g.country.as_deref())
                .map_or(String::new(), |c| format!(", server in {c}"));
            let first = mine.iter().map(|f| f.first_seen).min().unwrap_or(d.first_seen);
            // Which apps sent it, when the capture says: `com.miui.analytics sent ...`.
            let apps: BTreeSet<String> =
                mine.iter().filter_map(|f| f.app.as_ref().map(pipeline::App::label)).collect();
            let who = if apps.is_empty() {
                String::new()
            } else {
                format!("{} ", and_list(&apps.into_iter().collect::<Vec<_>>()))
            };
            format!(
                "{}: {who}sent {} to {to} at {}{country}, in {}{}.",
                d.severity.as_str().to_uppercase(),
                and_list(&words),
                d.host,
                d.protection.label(),
                seconds_after(start, first)
            )
        })
        .collect();
    // Data carried in DNS names is keyed by the queried domain, which is no destination.
    let hosts: BTreeSet<&str> = report.destinations.iter().map(|d| d.host.as_str()).collect();
    let mut by_domain: BTreeMap<&str, Vec<&crate::finding::Finding>> = BTreeMap::new();
    for f in report.findings.iter().filter(|f| !hosts.contains(f.host.as_str())) {
        by_domain.entry(f.host.as_str()).or_default().push(f);
    }
    for (domain, mine) in by_domain {
        let kinds: BTreeSet<DataKind> = mine.iter().map(|f| f.data).collect();
        let words: Vec<String> = kinds.iter().map(|&k| data_words(k).to_string()).collect();
        let worst = mine.iter().map(|f| f.severity).max().unwrap_or_default();
        let to = mine[0].party.as_ref().map_or_else(
            || "an unknown party".to_string(),
            |p| format!("{} ({}, {})", p.name, p.category, p.headquarters()),
        );
        let first = mine.iter().map(|f| f.first_seen).min().unwrap_or_default();
        lines.push(format!(
            "{}: sent {} to {to} inside DNS queries for {domain}, readable by any resolver on the way{}.",
            worst.as_str().to_uppercase(),
            and_list(&words),
            seconds_after(start, first)
        ));
    }
    lines
}
