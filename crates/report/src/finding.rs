//! The report model: findings, destinations, address-book uploads.

use std::collections::BTreeSet;

use capture::Timestamp;
use detect::DataKind;

use crate::attribution::{Entities, registrable_domain};
use crate::geo::Geo;
use crate::protection::Protection;
use crate::severity::{self, FindingFacts};
use crate::severity::{Exposure, PartyClass, Severity};

/// Who found it.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub enum Source {
    /// A value of the device profile.
    Profile,
    /// A profile-less detector, with its confidence (0..=1).
    Heuristic {
        /// How sure the detector is.
        confidence: f32,
    },
}

impl Source {
    /// `profile` or `heuristic`, as every output names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Profile => "profile",
            Self::Heuristic { .. } => "heuristic",
        }
    }
}

/// Where one occurrence was seen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Evidence {
    /// Capture file (as given on the command line).
    pub file: String,
    /// Frame number in that file (1-based, as Wireshark counts).
    pub frame: u64,
    /// Flow id (as `phonehome flows` prints it).
    pub flow: u64,
    /// Stream offset of the message or chunk that carried it (client-to-server stream unless the
    /// finding is about a response).
    pub offset: u64,
    /// The field, e.g. `http.query:did`, `http.header:cookie`, `dns.qname`.
    pub field: String,
    /// The matched text, masked unless revealed.
    pub value: String,
    /// The address and port of the flow's client (the device, for the connections it opens),
    /// when known (`None` in reports read back from before it was recorded).
    pub src: Option<std::net::SocketAddr>,
}

/// One kind of personal data, sent to one destination, in one encoding, in one place.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// What kind of data.
    pub data: DataKind,
    /// Which profile item (`imei[0]`, a contact's name, a custom label); for heuristics the masked
    /// (or revealed) value.
    pub item: String,
    /// Profile or heuristic.
    pub source: Source,
    /// Destination name (or IP when unnamed; for DNS-carried data the registrable domain of the
    /// query).
    pub host: String,
    /// Destination address.
    pub ip: String,
    /// Destination port.
    pub port: u16,
    /// Application protocol of the flow (`http`, `dns`, `tls`, `quic`, `other`).
    pub protocol: &'static str,
    /// True when the flow was encrypted (a finding in an SNI, say).
    pub encrypted: bool,
    /// Encoding chain, outermost first, joined with `+` (`plain`, `url`, `gzip+base64+sha1`...).
    pub encoding: String,
    /// The field kind without per-message detail (`http.query:did`).
    pub where_: String,
    /// Occurrences.
    pub count: u64,
    /// First occurrence.
    pub first_seen: Timestamp,
    /// Last occurrence.
    pub last_seen: Timestamp,
    /// The first occurrences, at most [`crate::MAX_EVIDENCE`].
    pub evidence: Vec<Evidence>,
    /// Heuristic rule that fired (empty for profile findings).
    pub reason: &'static str,
    /// Protection of the flow that carried it (the weakest, when several flows did).
    pub protection: Protection,
    /// Read from a TLS connection opened with logged secrets (`--keylog`, a pcapng Decryption
    /// Secrets Block): still a leak to whoever received it, and unreadable to anyone else.
    pub decrypted: bool,
    /// How visible the data itself was: cleartext also for data in DNS names and SNIs.
    pub exposure: Exposure,
    /// Who received it (from the entity database, by [`Report::attribute`]).
    pub party: Option<Party>,
    /// Country of the destination address (geo data), when known.
    pub country: Option<String>,
    /// Whether [`Finding::country`] differs from the device's country; `None` when either is
    /// unknown (unknown is not "no").
    pub leaves_country: Option<bool>,
    /// How bad, by the rubric of [`crate::severity`].
    pub severity: Severity,
    /// Which row of the rubric applied.
    pub severity_reason: String,
    /// For an `identifier` found by recurrence: the other parties the device sent the same
    /// value to (organisations, or registrable domains when unknown); empty otherwise.
    pub shared_with: Vec<String>,
    /// The device that sent it, when the run knows its devices (`analyze --device`, the VPN
    /// gateway's devices); the same data from two devices are two findings.
    pub device: Option<String>,
    /// The app that sent it, when the capture says (PCAPdroid's metadata); the same data from
    /// two apps are two findings.
    pub app: Option<pipeline::App>,
    /// Occurrences in connections the VPN gateway refused: they never reached the server.
    pub stopped: u64,
}

/// One message that carried several contacts of the profile's address book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressBookUpload {
    /// Destination name.
    pub host: String,
    /// Distinct contacts matched in that one message.
    pub contacts: usize,
    /// Where the message was.
    pub evidence: Evidence,
    /// When.
    pub time: Timestamp,
}

/// Everything the device talked to, one entry per destination host.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Destination {
    /// Name, or IP when unnamed.
    pub host: String,
    /// Server addresses seen.
    pub ips: BTreeSet<String>,
    /// The devices that talked to it, when the run knows its devices.
    pub devices: BTreeSet<String>,
    /// The apps that talked to it (package, else name, else `uid N`), when the capture says.
    pub apps: BTreeSet<String>,
    /// Its flows the VPN gateway refused.
    pub refused: u64,
    /// Application protocols seen.
    pub protocols: BTreeSet<&'static str>,
    /// Flows.
    pub flows: u64,
    /// IP bytes sent to it.
    pub bytes_sent: u64,
    /// IP bytes received from it.
    pub bytes_received: u64,
    /// First contact.
    pub first_seen: Timestamp,
    /// Who it belongs to (from the entity database), when known.
    pub party: Option<Party>,
    /// Country, network and why unknown, from the first server address (when geo data is
    /// available).
    pub geo: Option<crate::geo::GeoInfo>,
    /// The weakest protection of its flows.
    pub protection: Protection,
    /// TLS and QUIC connections to it that were encrypted, and how many of them were opened with
    /// keys.
    pub tls_sessions: u64,
    /// See [`Destination::tls_sessions`].
    pub tls_decrypted: u64,
    /// CNAME targets the device's DNS answers led through to reach it, in the order first seen.
    pub cnames: Vec<String>,
    /// The registrable domain of the name (`xiaomi.com`), or the IP when unnamed.
    pub domain: String,
    /// Whether the destination's country differs from the device's country; `None` when either
    /// is unknown.
    pub leaves_country: Option<bool>,
    /// Findings sent to it.
    pub findings: usize,
    /// The highest severity of its findings (or of its traffic, with none).
    pub severity: Severity,
    /// Why.
    pub severity_reason: String,
    /// The names of its TLS certificate (the first readable one: TLS 1.0-1.2 handshakes are in
    /// the clear), which say who runs a server no database knows.
    pub cert: Option<proto::CertNames>,
}

impl Destination {
    /// The certificate's organisation (or, without one, its common name), when it names one.
    pub fn cert_owner(&self) -> Option<&str> {
        let c = self.cert.as_ref()?;
        c.subject_org.as_deref().or(c.subject_cn.as_deref())
    }
}

/// The organisation a destination belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// Organisation name.
    pub name: String,
    /// Category (`manufacturer`, `analytics`, ...).
    pub category: &'static str,
    /// Headquarters country (ISO 3166 alpha-2), when the database knows it.
    pub country: Option<String>,
    /// Which database named it ([`crate::attribution::Source::as_str`]).
    pub source: &'static str,
    /// The name that matched the database: the host itself or a parent domain, or a CNAME target
    /// when a first-party name cloaks a tracker.
    pub matched: String,
    /// First party, third party (for the rubric).
    pub class: PartyClass,
}

/// One capture file of the run, as read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CaptureInfo {
    /// As given on the command line (`-` for standard input).
    pub path: String,
    /// SHA-256 of the file's bytes as stored (compressed files: of the compressed bytes), hex.
    /// `None` when it could not be computed (the file could not be opened).
    pub sha256: Option<String>,
    /// Bytes of the file.
    pub size: u64,
    /// `pcap` or `pcapng` (`None` when unreadable).
    pub format: Option<&'static str>,
    /// `none`, `gzip` or `zstd`.
    pub compression: Option<&'static str>,
    /// Packets (frames) read.
    pub packets: u64,
    /// Time of the first and last packet.
    pub first_packet: Option<Timestamp>,
    /// See [`CaptureInfo::first_packet`].
    pub last_packet: Option<Timestamp>,
    /// Reader warnings (`at byte offset N: message`).
    pub warnings: Vec<String>,
    /// The error that stopped reading, if any (what came before it is in the report).
    pub error: Option<String>,
    /// The device it is a capture of, when known (`analyze --device`, a VPN gateway's device).
    pub device: Option<String>,
    /// The device's model, when a manifest says (`analyze --manifest`).
    pub model: Option<String>,
    /// The device's firmware or OS build, when a manifest says.
    pub firmware: Option<String>,
}

/// The device the report is about, from the profile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Device {
    /// Free-text name.
    pub name: Option<String>,
    /// ISO 3166 alpha-2 country the device is used in.
    pub country: Option<String>,
    /// Its maker, as the profile names it.
    pub manufacturer: Option<String>,
    /// The profile file.
    pub profile: Option<String>,
}

/// Most connections a report keeps as [`FlowRow`]s (`Options::keep_flows`); past it they are
/// counted in [`Report::flows_left_out`].
pub const MAX_FLOW_ROWS: usize = 500_000;

/// One connection, as the Parquet `flows` table has it (`Options::keep_flows`; not in the JSON
/// report, whose destinations sum them up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRow {
    /// Flow id (as `phonehome flows` prints it).
    pub id: u64,
    /// The client (the device, for the connections it opens).
    pub client: std::net::SocketAddr,
    /// The server.
    pub server: std::net::SocketAddr,
    /// `tcp`, `udp` or `ip-proto-N`, as `phonehome flows` names it.
    pub transport: std::borrow::Cow<'static, str>,
    /// Application protocol (`http`, `tls`, `quic`, `dns`, `other`).
    pub protocol: &'static str,
    /// The destination's name (or address): the destinations table's `host`.
    pub host: String,
    /// Its protection.
    pub protection: crate::protection::Protection,
    /// ALPN protocols offered, comma-separated.
    pub alpn: String,
    /// First and last packet.
    pub first: Timestamp,
    /// See [`FlowRow::first`].
    pub last: Timestamp,
    /// Packets and IP bytes from the client, and to it.
    pub packets: [u64; 2],
    /// See [`FlowRow::packets`].
    pub bytes: [u64; 2],
    /// Findings the flow carried.
    pub findings: u64,
    /// The app that opened it (PCAPdroid's metadata), when known.
    pub app: Option<String>,
    /// The device it belongs to, when known.
    pub device: Option<String>,
}

/// The result of an analysis.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Findings, ordered by first occurrence, then destination and data kind.
    pub findings: Vec<Finding>,
    /// Destinations, ordered by first contact.
    pub destinations: Vec<Destination>,
    /// Messages carrying several contacts, in time order.
    pub address_book_uploads: Vec<AddressBookUpload>,
    /// Where the country and network data came from (`None`: no geo data, countries unknown).
    pub geo_source: Option<String>,
    /// The captures read, in order.
    pub captures: Vec<CaptureInfo>,
    /// What of the encrypted traffic could be read.
    pub coverage: Coverage,
    /// The device, when a profile was given.
    pub device: Option<Device>,
    /// Identifier-shaped values sent to several hosts, turned into findings by
    /// [`Report::attribute`] once parties are known ([`crate::recurrence`]).
    pub recurring: Vec<crate::recurrence::Recurring>,
    /// What a long live session let go of to stay within its limits.
    pub summarised: crate::Summarised,
    /// Connections the VPN gateway refused (the first [`MAX_REFUSED_KEPT`]).
    pub refused: Vec<RefusedConnection>,
    /// All connections it refused.
    pub refused_total: u64,
    /// Identifiers the VPN gateway rewrote to fakes before they left (`--redact`), by profile
    /// item: occurrences.
    pub redacted: std::collections::BTreeMap<String, u64>,
    /// The connections, when kept (`Options::keep_flows`), in the order they ended.
    pub flows: Vec<FlowRow>,
    /// Connections past [`MAX_FLOW_ROWS`], not kept.
    pub flows_left_out: u64,
}

impl RefusedConnection {
    /// One line for people: `phone tcp 198.51.100.10:8443: sni t.example, by t.example
    /// (block.txt:1)`.
    pub fn line(&self) -> String {
        let server = if self.server.contains(':') {
            format!("[{}]", self.server)
        } else {
            self.server.clone()
        };
        let device = self.device.as_deref().map(|d| format!("{d} ")).unwrap_or_default();
        format!(
            "{device}{} {server}:{}: {}, by {}",
            self.transport, self.port, self.matched, self.rule
        )
    }
}

/// Refused connections listed in a report; all are counted in [`Report::refused_total`].
pub const MAX_REFUSED_KEPT: usize = 10_000;

/// A connection the VPN gateway refused (`phonehome vpn --block`, `--block-quic`, `--block-dot`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RefusedConnection {
    /// When (capture time of the refused packet).
    pub time: Timestamp,
    /// The device.
    pub device: Option<String>,
    /// `tcp`, `udp` or `other`.
    pub transport: &'static str,
    /// The server's address.
    pub server: String,
    /// Its port.
    pub port: u16,
    /// The flow id (as in evidence).
    pub flow: u64,
    /// What matched: `sni NAME`, `host NAME`, `dns NAME`, `address IP`, `port 853`, `quic`.
    pub matched: String,
    /// The rule: `NAME (LIST:LINE)`, `--block-quic`, `--block-dot: ...`.
    pub rule: String,
}

impl Destination {
    /// The protection for people, with what keys opened: `TLS 1.3, decrypted`,
    /// `TLS 1.2, 2 of 3 decrypted`, or the bare [`Protection::label`].
    pub fn protection_label(&self) -> String {
        let base = self.protection.label();
        match (self.tls_decrypted, self.tls_sessions) {
            (0, _) => base,
            (d, n) if d == n => format!("{base}, decrypted"),
            (d, n) => format!("{base}, {d} of {n} decrypted"),
        }
    }
}

impl Party {
    /// The headquarters country code, or `headquarters unknown`.
    pub fn headquarters(&self) -> &str {
        self.country.as_deref().unwrap_or("headquarters unknown")
    }
}

impl Finding {
    /// An empty finding at one destination (counters zero, not yet attributed or rated): the
    /// template the analyzer fills per hit.
    pub fn at(
        host: String,
        ip: String,
        port: u16,
        protocol: &'static str,
        protection: Protection,
        time: Timestamp,
    ) -> Self {
        Self {
            data: DataKind::Identifier,
            item: String::new(),
            source: Source::Heuristic { confidence: 0.0 },
            host,
            ip,
            port,
            protocol,
            encrypted: protection.is_encrypted(),
            encoding: String::new(),
            where_: String::new(),
            count: 0,
            first_seen: time,
            last_seen: time,
            evidence: Vec::new(),
            reason: "",
            protection,
            decrypted: false,
            exposure: Exposure::Encrypted,
            party: None,
            country: None,
            leaves_country: None,
            severity: Severity::Info,
            severity_reason: String::new(),
            shared_with: Vec::new(),
            device: None,
            app: None,
            stopped: 0,
        }
    }

    /// The item as the tables show it: prefixed with its device when the run knows devices
    /// (`phone: imei[0]`), followed by the app that sent it when the capture says
    /// (`imei[0] from com.miui.analytics`).
    pub fn item_shown(&self) -> String {
        let mut s = match &self.device {
            Some(d) => format!("{d}: {}", self.item),
            None => self.item.clone(),
        };
        if let Some(a) = &self.app {
            s.push_str(" from ");
            s.push_str(&a.label());
        }
        s
    }

    /// `stopped by the gateway` (or `3 of 5 stopped by the gateway`) when the VPN gateway
    /// refused connections that carried it.
    pub fn stopped_note(&self) -> Option<String> {
        match self.stopped {
            0 => None,
            n if n >= self.count => Some("stopped by the gateway".into()),
            n => Some(format!("{n} of {} stopped by the gateway", self.count)),
        }
    }

    /// The protection for people: `TLS 1.3, decrypted` for data read with keys.
    pub fn protection_label(&self) -> String {
        let base = self.protection.label();
        if self.decrypted { format!("{base}, decrypted") } else { base }
    }
}

impl Report {
    /// Keeps only what one app sent (`--app`): its findings, and the destinations it talked to.
    /// `app` is a package, or a uid; call it before [`Report::attribute`], which counts each
    /// destination's findings.
    pub fn keep_app(&mut self, app: &str) {
        let uid_label = format!("uid {app}");
        let is = |a: &pipeline::App| {
            a.package.as_deref() == Some(app)
                || a.name.as_deref() == Some(app)
                || a.uid.to_string() == app
        };
        self.findings.retain(|f| f.app.as_ref().is_some_and(is));
        self.destinations.retain(|d| d.apps.iter().any(|l| l == app || *l == uid_label));
        let hosts: std::collections::HashSet<&str> =
            self.destinations.iter().map(|d| d.host.as_str()).collect();
        self.address_book_uploads.retain(|u| hosts.contains(u.host.as_str()));
    }

    /// Attaches each destination's and finding's party (entity database; a destination reached
    /// through CNAMEs is attributed by [`Entities::attribute_chain`], so a first-party name that
    /// cloaks a tracker counts as the tracker), country and network (geo data, for the first
    /// server address), then rates every finding and destination by [`crate::severity`]. Call it
    /// after setting [`Report::device`].
    pub fn attribute(&mut self, entities: &Entities, geo: &Geo) {
        let device = self.device.clone().unwrap_or_default();
        let maker = device.manufacturer.as_deref();
        let home = device.country.as_deref();
        let party_of = |names: &[&str]| {
            entities.attribute_chain(names).map(|(e, matched)| Party {
                name: e.name.clone(),
                category: e.category.as_str(),
                country: e.country.clone(),
                source: e.source.as_str(),
                matched: matched.to_string(),
                class: PartyClass::of(e.category, &e.name, maker),
            })
        };
        let leaves = |country: Option<&str>| match (home, country) {
            (Some(h), Some(c)) => Some(!h.eq_ignore_ascii_case(c)),
            _ => None,
        };
        for d in &mut self.destinations {
            let mut names = vec![d.host.as_str()];
            names.extend(d.cnames.iter().map(String::as_str));
            d.party = party_of(&names);
            d.domain = registrable_domain(&d.host);
            d.geo = d.ips.iter().next().and_then(|ip| ip.parse().ok()).map(|ip| geo.lookup(ip));
            d.leaves_country = leaves(d.geo.as_ref().and_then(|g| g.country.as_deref()));
        }
        let recurring = std::mem::take(&mut self.recurring);
        let shared = crate::recurrence::resolve(recurring, &self.destinations);
        if !shared.is_empty() {
            self.findings.extend(shared);
            sort_findings(&mut self.findings);
        }
        let by_host: std::collections::HashMap<&str, &Destination> =
            self.destinations.iter().map(|d| (d.host.as_str(), d)).collect();
        for f in &mut self.findings {
            // Data in a DNS name is keyed by the queried domain, which has no destination entry:
            // its party is the domain's; its country is unknown (the resolver is not the receiver).
            match by_host.get(f.host.as_str()) {
                Some(d) => {
                    f.party = d.party.clone();
                    f.country = d.geo.as_ref().and_then(|g| g.country.clone());
                }
                None => {
                    f.party = party_of(&[f.host.as_str()]);
                    f.country = None;
                }
            }
            f.leaves_country = leaves(f.country.as_deref());
            let (severity, reason) = severity::rate(&FindingFacts {
                data: f.data,
                encoding: &f.encoding,
                exposure: f.exposure,
                party: f.party.as_ref().map_or(PartyClass::Unknown, |p| p.class),
                confidence: match f.source {
                    Source::Profile => None,
                    Source::Heuristic { confidence } => Some(confidence),
                },
            });
            f.severity = severity;
            f.severity_reason = reason;
            if !f.shared_with.is_empty() {
                f.severity_reason
                    .push_str(&format!("; the same value went to {}", f.shared_with.join(", ")));
            }
        }
        // Per destination: its findings' count and worst one (the last of the worst, in report
        // order), from one pass over the findings.
        let mut per_host: std::collections::HashMap<&str, (usize, &Finding)> =
            std::collections::HashMap::new();
        for f in &self.findings {
            per_host
                .entry(f.host.as_str())
                .and_modify(|(n, worst)| {
                    *n += 1;
                    if f.severity >= worst.severity {
                        *worst = f;
                    }
                })
                .or_insert((1, f));
        }
        for d in &mut self.destinations {
            (d.findings, (d.severity, d.severity_reason)) = match per_host.get(d.host.as_str()) {
                Some((n, worst)) => (*n, (worst.severity, worst.severity_reason.clone())),
                None => (0, severity::rate_quiet_destination(d.protection)),
            };
        }
        self.geo_source = geo.source();
    }
}

/// Hosts listed per kind of unopened connection, at most.
pub const MAX_COVERAGE_HOSTS: usize = 50;

/// What of the encrypted traffic was opened: a finding can only come from what was read, so a
/// report must say what was not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Secrets given (key log lines read from `--keylog` files and Decryption Secrets Blocks).
    pub secrets: u64,
    /// TLS and QUIC connections by what decryption made of them.
    pub counts: pipeline::TlsCoverage,
    /// Hosts of TLS connections without keys, with their count, at most [`MAX_COVERAGE_HOSTS`].
    pub no_keys_hosts: std::collections::BTreeMap<String, u64>,
    /// Hosts of connections that failed authentication.
    pub failed_hosts: std::collections::BTreeMap<String, u64>,
}

impl Coverage {
    /// Encrypted connections whose content could not be read.
    pub fn unopened(&self) -> u64 {
        let c = &self.counts;
        c.no_keys + c.failed + c.unsupported + c.quic_sessions.saturating_sub(c.quic_decrypted)
    }

    /// Counts one ended flow to `host`.
    pub fn count(&mut self, record: &pipeline::FlowRecord, host: &str) {
        self.counts.count(record);
        let hosts = match record.tls_outcome() {
            Some(proto::Decryption::Failed) => &mut self.failed_hosts,
            Some(proto::Decryption::NoKeys) => &mut self.no_keys_hosts,
            _ => return,
        };
        if hosts.len() < MAX_COVERAGE_HOSTS || hosts.contains_key(host) {
            *hosts.entry(host.to_string()).or_default() += 1;
        }
    }
}

/// The report's finding order: first occurrence, then destination, data kind, item (numbers in
/// it by value), encoding and place.
pub(crate) fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (a.first_seen, &a.host, a.data, natural(&a.item), &a.encoding, &a.where_).cmp(&(
            b.first_seen,
            &b.host,
            b.data,
            natural(&b.item),
            &b.encoding,
            &b.where_,
        ))
    });
}

/// A sort key that orders numbers inside text by value (`contact[2]` before `contact[10]`).
fn natural(s: &str) -> Vec<(bool, u64, &str)> {
    let mut key = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let n = if digits > 0 {
            digits
        } else {
            rest.bytes().take_while(|b| !b.is_ascii_digit()).count()
        };
        let (part, tail) = rest.split_at(n);
        // Runs of more than 19 digits compare as text (after every shorter number).
        match part.parse::<u64>() {
            Ok(v) if digits > 0 => key.push((false, v, "")),
            _ => key.push((true, 0, part)),
        }
        rest = tail;
    }
    key
}
