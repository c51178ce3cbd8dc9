//! The analysis observer: scans what the pipeline hands out, holds hits per flow, folds them into
//! findings when the flow ends (and its destination name is final).

use std::collections::{BTreeSet, HashMap};

use capture::Timestamp;
use detect::DataKind;
use detect::fields::{self, Field};
use detect::heuristic;
use detect::matcher::{Matcher, StreamMatcher};
use detect::profile::Location;
use detect::recur;
use detect::variants::VariantSet;
use flow::{Chunk, Direction, FlowId};
use pipeline::{Context, FlowRecord, Observer};
use proto::{AppProto, Event};

use crate::finding::{Destination, Evidence, Finding, Report, Source};
use crate::mask;
use crate::protection::{EntropyMeter, Protection};
use crate::recurrence::{self, MAX_RECUR_PER_FLOW};
use crate::severity::Exposure;
use raw::{RawKey, RawSource, raw_key};

mod flows;
mod fold;
mod raw;
mod stats;

pub use stats::AnalyzerStats;

use fold::Book;
pub use fold::{MAX_DESTINATIONS, MAX_FINDINGS, MAX_UPLOADS, Summarised};

/// Hits held per flow until it ends; beyond this they are dropped and counted
/// ([`AnalyzerStats::pending_capped`]).
pub const MAX_PENDING_PER_FLOW: usize = 10_000;

/// Bytes of a raw TCP stream kept from one chunk to the next so the heuristics see a value (and
/// the key before it) that straddles a segment boundary; hits lying wholly inside this carried
/// tail were reported with the previous chunk and are not reported again.
pub const RAW_HEURISTIC_TAIL: usize = 256;

/// CNAME targets kept per destination.
pub const MAX_CNAMES: usize = 8;
/// Apps named per destination.
pub const MAX_APPS_PER_DESTINATION: usize = 64;

/// What to scan and how to show it.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Show values as they are instead of masked.
    pub reveal: bool,
    /// Also scan server-to-client data (responses).
    pub scan_responses: bool,
    /// Capture names, by file index, for evidence.
    pub files: Vec<String>,
    /// The device each capture is of, by file index (a VPN gateway's devices): every finding
    /// and destination of its flows names it.
    pub devices: Vec<Option<String>>,
    /// The device of every capture without one in [`Options::devices`] (`analyze --device`).
    pub device: Option<String>,
    /// Heuristic settings (the region for national phone numbers).
    pub heuristic: heuristic::Options,
    /// Keep every connection as a [`crate::FlowRow`] (the Parquet `flows` table), at most
    /// [`crate::MAX_FLOW_ROWS`].
    pub keep_flows: bool,
}

/// One hit, waiting for its flow to end.
#[derive(Debug, Clone)]
struct Pending {
    data: DataKind,
    item: String,
    source: Source,
    reason: &'static str,
    encoding: String,
    where_: String,
    time: Timestamp,
    evidence: Evidence,
    /// Registrable domain of the query, for data carried in DNS names.
    dns_domain: Option<String>,
    /// Length of the match in the field's bytes (to prefer the most specific of overlapping hits).
    len: usize,
    /// Found in the plaintext of a TLS connection opened with keys.
    decrypted: bool,
}

/// A message that carried several contacts, waiting for its flow's name.
#[derive(Debug, Clone)]
struct PendingUpload {
    contacts: usize,
    evidence: Evidence,
    time: Timestamp,
}

#[derive(Debug, Default)]
struct FlowHits {
    hits: Vec<Pending>,
    uploads: Vec<PendingUpload>,
    recur: Vec<recurrence::Pending>,
}

/// A finding's identity: data kind, item, from the profile, host, encoding, place, device, app.
type Key = (DataKind, String, bool, String, String, String, Option<String>, Option<i32>);

/// Scans one run for personal data. Feed it to [`pipeline::Pipeline`], then call
/// [`Analyzer::into_report`].
pub struct Analyzer {
    set: VariantSet,
    matcher: Option<Matcher>,
    location: Option<Location>,
    options: Options,
    flows: HashMap<FlowId, FlowHits>,
    streams: HashMap<RawKey, StreamMatcher>,
    /// The last bytes of each raw stream, for the heuristics ([`RAW_HEURISTIC_TAIL`]).
    tails: HashMap<RawKey, (u64, Vec<u8>)>,
    /// Findings, destinations, uploads and coverage of the flows that ended.
    book: Book,
    /// What the raw stream being scanned is.
    raw: RawSource,
    /// Byte histograms of unknown-protocol flows, for [`Protection::EncryptedUnknown`].
    entropy: HashMap<FlowId, EntropyMeter>,
    /// Identifier-shaped values by destination, for [`crate::recurrence`].
    recur: recurrence::Table,
    /// Open flows a gateway refused ([`Analyzer::refuse_flow`]).
    refused: std::collections::HashSet<FlowId>,
    /// The heuristics, with their memo of field keys (taken out while a field is scanned).
    scanner: Option<heuristic::Scanner>,
    /// Ended connections ([`Options::keep_flows`]), and those past the limit.
    flow_rows: Vec<crate::FlowRow>,
    flows_left_out: u64,
    stats: AnalyzerStats,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer").field("stats", &self.stats).finish_non_exhaustive()
    }
}

/// What one scanned message contributes, before it is stored under its flow.
struct Message<'a> {
    ctx: &'a Context<'a>,
    offset: u64,
    contacts: BTreeSet<u32>,
    dns_domain: Option<String>,
    found: Vec<Pending>,
    /// Recurrence candidates of a request (not of responses).
    recur: Vec<recurrence::Pending>,
    /// Heuristic hits ending before this byte of the field were already reported (the carried
    /// tail of a raw stream).
    seen_until: usize,
    /// Raw stream chunks: hits ending exactly at the end of the data may be cut by the segment
    /// boundary; they are held back and reported by the next scan (which sees the tail again) or
    /// by the flush at a gap or the end of the stream.
    defer_at_end: bool,
    /// The message came out of a TLS connection opened with keys.
    decrypted: bool,
}

impl Message<'_> {
    /// One occurrence is one hit: the same value is often visible in several fields of a message
    /// (the raw URI and its query parameter; a form value raw and percent-decoded) and through
    /// several variants (`+886...` and its digits). Per (data, item, source) this keeps, for each
    /// place, the most specific hit (the longest match, then the longest encoding chain), and drops `http.uri` hits when a
    /// query parameter carries the same item.
    fn dedupe(&mut self) -> Vec<Pending> {
        let mut found = std::mem::take(&mut self.found);
        let same = |a: &Pending, b: &Pending| {
            a.data == b.data
                && a.item == b.item
                && matches!(a.source, Source::Profile) == matches!(b.source, Source::Profile)
        };
        let mut keep = vec![true; found.len()];
        for i in 0..found.len() {
            for j in 0..found.len() {
                if i == j || !keep[j] || !same(&found[i], &found[j]) {
                    continue;
                }
                let (a, b) = (&found[i], &found[j]);
                let uri_shadowed = (a.where_ == "http.uri" && b.where_.starts_with("http.query:"))
                    || (a.where_ == "http.header:cookie" && b.where_.starts_with("http.cookie:"))
                    || (b.where_.len() > a.where_.len()
                        && b.where_.starts_with(a.where_.as_str())
                        && b.where_.as_bytes()[a.where_.len()] == b'>');
                let less_specific = a.where_ == b.where_
                    && (a.len, a.encoding.len(), j) < (b.len, b.encoding.len(), i);
                if uri_shadowed || less_specific {
                    keep[i] = false;
                    break;
                }
            }
        }
        let mut n = 0;
        found.retain(|_| {
            n += 1;
            keep[n - 1]
        });
        found
    }
}

impl Analyzer {
    /// An analyzer for a profile's variants (`matcher` built from `set`; `None` and an empty set
    /// for heuristics only) and its location.
    pub fn new(
        set: VariantSet,
        matcher: Option<Matcher>,
        location: Option<Location>,
        options: Options,
    ) -> Self {
        Self {
            set,
            matcher,
            location,
            flows: HashMap::new(),
            streams: HashMap::new(),
            tails: HashMap::new(),
            book: Book::default(),
            raw: RawSource::Tcp,
            entropy: HashMap::new(),
            recur: recurrence::Table::default(),
            refused: std::collections::HashSet::new(),
            scanner: Some(heuristic::Scanner::new(options.heuristic)),
            flow_rows: Vec::new(),
            flows_left_out: 0,
            options,
            stats: AnalyzerStats::default(),
        }
    }

    fn show(&self, v: &str) -> String {
        if self.options.reveal { v.to_string() } else { mask(v) }
    }

    /// How a profile item is named in the report: its label (`imei[0]`, a custom label), except
    /// that a contact, labelled by its name in the profile, is `contact[N]` unless revealed: the
    /// report must not leak the address book it is about.
    fn item_label(&self, item: &detect::variants::Item) -> String {
        match item.contact {
            Some(n) if !self.options.reveal => format!("contact[{n}]"),
            _ => item.label.clone(),
        }
    }

    fn device_of(&self, file: usize) -> Option<&str> {
        match self.options.devices.get(file) {
            Some(Some(d)) => Some(d),
            _ => self.options.device.as_deref(),
        }
    }

    fn file_name(&self, file: usize) -> String {
        self.options.files.get(file).cloned().unwrap_or_else(|| file.to_string())
    }

    fn push(&mut self, flow: FlowId, hit: Pending) {
        let entry = self.flows.entry(flow).or_default();
        if entry.hits.len() >= MAX_PENDING_PER_FLOW {
            self.stats.pending_capped += 1;
        } else {
            entry.hits.push(hit);
        }
    }

    fn evidence(&self, ctx: &Context<'_>, offset: u64, field: &str, value: &str) -> Evidence {
        Evidence {
            file: self.file_name(ctx.file),
            frame: ctx.meta.frame,
            flow: ctx.flow.id,
            offset,
            field: field.to_string(),
            value: self.show(value),
            src: Some(ctx.flow.client),
        }
    }

    /// Keeps every ended connection as a row of the report ([`Options::keep_flows`]).
    pub fn keep_flows(&mut self, on: bool) {
        self.options.keep_flows = on;
    }

    /// The heuristics' scanner, taken out of the analyzer while fields are scanned (put it back
    /// in `self.scanner`).
    fn take_scanner(&mut self) -> heuristic::Scanner {
        self.scanner.take().unwrap_or_else(|| heuristic::Scanner::new(self.options.heuristic))
    }

    /// [`Self::scan_field`] for a chunk of a raw stream (the stream matcher already ran on it).
    fn scan_raw_field(&mut self, msg: &mut Message<'_>, field: &Field<'_>) {
        let mut scanner = self.take_scanner();
        self.scan_field(&mut scanner, msg, field, false);
        self.scanner = Some(scanner);
    }

    /// Scans one field of a message with the matcher and `scanner`'s heuristics.
    /// `use_matcher` is false for raw stream chunks, which the stream matcher already covered.
    fn scan_field(
        &mut self,
        scanner: &mut heuristic::Scanner,
        msg: &mut Message<'_>,
        field: &Field<'_>,
        use_matcher: bool,
    ) {
        self.stats.fields += 1;
        self.stats.bytes_scanned += field.data.len() as u64;
        // The decoding chain as text, built only for a hit (most fields have none).
        let decoded = || field.decoded.join("+");
        let mut covered: Vec<(usize, usize)> = Vec::new();
        let mut found: Vec<Pending> = Vec::new();
        if let Some(m) = self.matcher.as_ref().filter(|_| use_matcher) {
            m.find(&field.data, |hit| {
                let Some(v) = self.set.variants.get(hit.pattern as usize) else { return };
                let item = self.set.item(v);
                covered.push((hit.start, hit.end));
                if let Some(c) = item.contact {
                    msg.contacts.insert(c);
                }
                let encoding = join_encoding(&decoded(), &v.encoding);
                let text = String::from_utf8_lossy(&v.bytes);
                found.push(Pending {
                    data: item.kind,
                    item: self.item_label(item),
                    source: Source::Profile,
                    reason: "",
                    encoding,
                    where_: field.location.clone(),
                    time: msg.ctx.meta.ts,
                    evidence: self.evidence(msg.ctx, msg.offset, &field.location, &text),
                    dns_domain: msg.dns_domain.clone(),
                    len: hit.end - hit.start,
                    decrypted: msg.decrypted,
                });
            });
        }
        let mut reported: Vec<(usize, usize)> = Vec::new();
        scanner.scan(field, &mut |h| {
            reported.push((h.start, h.end));
            let deferred = msg.defer_at_end && h.end == field.data.len();
            if deferred
                || h.end < msg.seen_until
                || covered.iter().any(|&(s, e)| h.start < e && s < h.end)
            {
                return;
            }
            let encoding = if field.decoded.is_empty() { "plain".to_string() } else { decoded() };
            let in_profile_area = h.kind == DataKind::Location
                && self.location.as_ref().is_some_and(|l| {
                    let mut it = h.value.split(',').map(|x| x.trim().parse::<f64>());
                    matches!((it.next(), it.next()), (Some(Ok(la)), Some(Ok(lo))) if l.contains(la, lo))
                });
            let (item, source) = if in_profile_area {
                ("location".to_string(), Source::Profile)
            } else {
                (self.show(&h.value), Source::Heuristic { confidence: h.confidence })
            };
            found.push(Pending {
                data: h.kind,
                item,
                source,
                reason: h.reason,
                encoding,
                where_: field.location.clone(),
                time: msg.ctx.meta.ts,
                evidence: self.evidence(msg.ctx, msg.offset, &field.location, &h.value),
                dns_domain: msg.dns_domain.clone(),
                len: h.end - h.start,
                decrypted: msg.decrypted,
            });
        });
        msg.found.extend(found);
        if msg.ctx.dir == Direction::ToServer
            && field.data.len() >= recur::MIN_LEN
            && recur::eligible(&field.location)
        {
            recur::candidates(&field.data, &mut |c| {
                let (s, e) = (c.span.start, c.span.end);
                if (msg.defer_at_end && e == field.data.len()) || e < msg.seen_until {
                    return;
                }
                let overlaps =
                    |spans: &[(usize, usize)]| spans.iter().any(|&(a, b)| s < b && a < e);
                msg.recur.push(recurrence::Pending {
                    covered: overlaps(&covered) || overlaps(&reported),
                    value: c.value,
                    encoding: if field.decoded.is_empty() { "plain".into() } else { decoded() },
                    where_: field.location.clone(),
                    time: msg.ctx.meta.ts,
                    at: (msg.ctx.file, msg.ctx.meta.frame, msg.ctx.flow.id, msg.offset),
                    src: msg.ctx.flow.client,
                    decrypted: msg.decrypted,
                    key: c.key,
                    shape: c.shape,
                });
            });
        }
    }

    /// Stores a message's deduplicated hits under its flow.
    fn store(&mut self, msg: &mut Message<'_>) {
        // One occurrence per value and message (a form value is seen raw and percent-decoded, a
        // JSON value in the whole body and at its path), at its most specific place (a keyed
        // one over `http.body`); covered when any sighting was reported by another detector.
        let mut recur: Vec<recurrence::Pending> = Vec::new();
        let keyed = |w: &str| w.contains([':', '>']);
        for p in std::mem::take(&mut msg.recur) {
            match recur.iter_mut().find(|q| q.key == p.key) {
                Some(q) if !keyed(&q.where_) && keyed(&p.where_) => {
                    let covered = q.covered || p.covered;
                    *q = p;
                    q.covered = covered;
                }
                Some(q) => q.covered |= p.covered,
                None => recur.push(p),
            }
        }
        if !recur.is_empty() {
            let entry = self.flows.entry(msg.ctx.flow.id).or_default();
            let room = MAX_RECUR_PER_FLOW.saturating_sub(entry.recur.len());
            self.stats.recur_capped += recur.len().saturating_sub(room) as u64;
            entry.recur.extend(recur.into_iter().take(room));
        }
        for p in msg.dedupe() {
            match p.source {
                Source::Profile => self.stats.profile_hits += 1,
                Source::Heuristic { .. } => self.stats.heuristic_hits += 1,
            }
            self.push(msg.ctx.flow.id, p);
        }
    }

    /// Scans every field of a message, then records an address-book upload if it carried several
    /// contacts.
    fn scan_message(
        &mut self,
        ctx: &Context<'_>,
        offset: u64,
        dns_domain: Option<String>,
        http: bool,
        walk: impl FnOnce(fields::Sieve<'_>, &mut dyn FnMut(&Field<'_>)) -> fields::FieldStats,
    ) {
        let mut msg = Message {
            ctx,
            offset,
            contacts: BTreeSet::new(),
            dns_domain,
            found: Vec::new(),
            recur: Vec::new(),
            seen_until: 0,
            defer_at_end: false,
            // An HTTP message of a flow that is encrypted on the wire was decrypted.
            decrypted: ctx.encrypted && http,
        };
        // Fields too short for the profile's shortest variant and for every heuristic (given
        // their key) are passed over before they are made.
        let always = self.matcher.as_ref().map_or(usize::MAX, Matcher::min_pattern_len);
        let scanner = std::cell::RefCell::new(self.take_scanner());
        let fs = walk(
            &mut |key, len| len >= always || scanner.borrow_mut().wants(key, len),
            &mut |f: &Field<'_>| self.scan_field(&mut scanner.borrow_mut(), &mut msg, f, true),
        );
        self.scanner = Some(scanner.into_inner());
        self.stats.fields += fs.passed_over;
        self.stats.nested_capped += fs.nested_capped;
        self.store(&mut msg);
        if msg.contacts.len() >= 2 {
            let evidence = self.evidence(ctx, offset, "message", "");
            let up = PendingUpload { contacts: msg.contacts.len(), evidence, time: ctx.meta.ts };
            self.flows.entry(ctx.flow.id).or_default().uploads.push(up);
        }
    }

    /// Ends the run: every finding, destination and upload, sorted, with the counters.
    pub fn into_report(mut self) -> (Report, AnalyzerStats) {
        self.stats.recur_capped += self.recur.capped;
        let recurring = self.recur.into_recurring();
        let mut report = report_of(self.book, recurring);
        report.flows = self.flow_rows;
        report.flows_left_out = self.flows_left_out;
        (report, self.stats)
    }

    /// The report as it stands, for a live view: the flows that ended, plus the flows still open
    /// in `open` (their provisional records, [`pipeline::Pipeline::open_records`]) folded into a
    /// copy with what they carried so far. Values that recur across parties are counted from the
    /// flows that ended. Nothing of the analyzer changes: the final report is the same with or
    /// without snapshots.
    pub fn snapshot(&self, open: &[FlowRecord]) -> Report {
        let mut book = self.book.clone();
        for record in open {
            let protection = self.protection_of(record);
            let device = self.device_of(record.file);
            let refused = self.refused.contains(&record.info.id);
            let hits = self.flows.get(&record.info.id);
            book.fold(record, device, protection, hits, refused);
        }
        report_of(book, self.recur.recurring())
    }

    /// Names capture file `index` in the evidence of what follows (a live session's next
    /// pcapng file).
    pub fn set_file_name(&mut self, index: usize, name: String) {
        if self.options.files.len() <= index {
            self.options.files.resize(index + 1, String::new());
        }
        self.options.files[index] = name;
    }

    /// The profile's items and their variants (what a gateway's `--redact` rewrites).
    pub fn variants(&self) -> &VariantSet {
        &self.set
    }

    /// Says that a gateway refused open flow `id` (`phonehome vpn`): what it carried never
    /// reached its server, and its findings and destination say so.
    pub fn refuse_flow(&mut self, id: FlowId) {
        self.refused.insert(id);
    }

    /// Says which device capture file `index` is of (see [`Options::devices`]).
    pub fn set_file_device(&mut self, index: usize, device: Option<String>) {
        if self.options.devices.len() <= index {
            self.options.devices.resize(index + 1, None);
        }
        self.options.devices[index] = device;
    }

    /// True when the open flow `id` carried a hit so far.
    pub fn has_hits(&self, id: FlowId) -> bool {
        self.flows.contains_key(&id)
    }

    /// Counters so far.
    pub fn stats(&self) -> AnalyzerStats {
        let mut s = self.stats.clone();
        s.recur_capped += self.recur.capped;
        s
    }

    /// The flow's protection; at flow end its entropy meter is let go.
    fn protection_of(&self, record: &FlowRecord) -> Protection {
        let entropy_encrypted =
            self.entropy.get(&record.info.id).is_some_and(EntropyMeter::looks_encrypted);
        Protection::of_flow(
            record.protocol,
            record.encrypted,
            record.tls_version,
            entropy_encrypted,
        )
    }
}

/// The report of a book: findings, destinations and uploads in report order.
fn report_of(book: Book, recurring: Vec<recurrence::Recurring>) -> Report {
    let mut findings: Vec<Finding> = book.findings.into_values().collect();
    crate::finding::sort_findings(&mut findings);
    let mut destinations: Vec<Destination> = book.destinations.into_values().collect();
    destinations.sort_by(|a, b| (a.first_seen, &a.host).cmp(&(b.first_seen, &b.host)));
    let mut uploads = book.uploads;
    uploads.sort_by(|a, b| (a.time, &a.host).cmp(&(b.time, &b.host)));
    Report {
        findings,
        destinations,
        address_book_uploads: uploads,
        coverage: book.coverage,
        recurring,
        summarised: book.summarised,
        ..Report::default()
    }
}

/// How visible data in `where_` of a flow with `protection` was: DNS names and SNIs travel in the
/// clear whatever protects the rest.
fn exposure(protection: Protection, where_: &str) -> Exposure {
    if !protection.is_encrypted()
        || where_.starts_with("dns.")
        || where_ == "tls.sni"
        || where_ == "quic.sni"
    {
        Exposure::Cleartext
    } else if protection.is_weak() {
        Exposure::WeakTls
    } else {
        Exposure::Encrypted
    }
}

fn join_encoding(decoded: &str, variant: &str) -> String {
    let v = if variant == "plain" { "" } else { variant };
    match (decoded.is_empty(), v.is_empty()) {
        (true, true) => "plain".into(),
        (true, false) => v.into(),
        (false, true) => decoded.into(),
        (false, false) => format!("{decoded}+{v}"),
    }
}

/// The registrable domain of a DNS name (public suffix list, ICANN and private sections), or the
/// name itself when it has none.
fn registrable_domain(name: &str) -> String {
    let lower = name.trim_end_matches('.').to_ascii_lowercase();
    psl::domain_str(&lower).map_or(lower.clone(), str::to_string)
}

impl Observer for Analyzer {
    fn event(&mut self, ctx: &Context<'_>, event: &Event) {
        let to_server = ctx.dir == Direction::ToServer;
        match event {
            Event::HttpRequest(r) if to_server => {
                self.scan_message(ctx, r.offset, None, true, |s, f| {
                    fields::http_request_sieved(r, s, f)
                });
            }
            Event::HttpResponse(r) if self.options.scan_responses => {
                self.scan_message(ctx, r.offset, None, true, |s, f| {
                    fields::http_response_sieved(r, s, f)
                });
            }
            Event::DnsQuery(q) if to_server => {
                let domain = Some(registrable_domain(&q.name));
                self.scan_message(ctx, 0, domain, false, |_, f| fields::dns_query(q, f));
            }
            Event::TlsClientHello(h) if to_server => {
                self.scan_message(ctx, 0, None, false, |_, f| fields::client_hello(h, false, f));
            }
            Event::QuicInitial(q) => {
                self.scan_message(ctx, 0, None, false, |_, f| {
                    fields::client_hello(&q.hello, true, f)
                });
            }
            Event::WebSocketMessage(m) if to_server || self.options.scan_responses => {
                self.scan_message(ctx, m.offset, None, true, |s, f| {
                    fields::websocket_message_sieved(m, s, f)
                });
            }
            Event::DecryptedStream { stream, chunk: c, .. }
                if to_server || self.options.scan_responses =>
            {
                let chunk = match c {
                    proto::PlainChunk::Data { offset, data } => {
                        Chunk::Data { offset: *offset, bytes: data }
                    }
                    proto::PlainChunk::Gap { offset, len } => {
                        Chunk::Gap { offset: *offset, len: *len }
                    }
                    proto::PlainChunk::End => Chunk::End,
                };
                self.raw = if stream.is_some() { RawSource::Quic } else { RawSource::Tls };
                self.scan_raw(ctx, raw_key(ctx, *stream), &chunk);
                self.raw = RawSource::Tcp;
            }
            _ => {}
        }
    }

    fn chunk(&mut self, ctx: &Context<'_>, chunk: &Chunk<'_>) {
        if matches!(ctx.protocol, AppProto::Other)
            && let Chunk::Data { bytes, .. } | Chunk::Datagram(bytes) = *chunk
        {
            let meter = self.entropy.entry(ctx.flow.id).or_default();
            if !meter.is_full() {
                meter.feed(bytes);
            } else if meter.looks_encrypted() {
                // Past a sample that looks encrypted (or compressed), a raw stream is not
                // scanned: identifiers are text, and no scan reads them out of such bytes.
                self.stats.raw_skipped += bytes.len() as u64;
                return;
            }
        }
        if ctx.encrypted
            || ctx.protocol != AppProto::Other
            || (ctx.dir == Direction::ToClient && !self.options.scan_responses)
        {
            return;
        }
        self.scan_raw(ctx, raw_key(ctx, None), chunk);
    }

    fn flow_end(&mut self, record: &FlowRecord) {
        // QUIC streams scanned raw were ended one by one (the QUIC layer ends every open stream
        // when the connection does); the flow's own two directions end here.
        for dir in 0..2 {
            self.streams.remove(&(record.info.id, dir));
            self.tails.remove(&(record.info.id, dir));
        }
        let protection = self.protection_of(record);
        self.entropy.remove(&record.info.id);
        let hits = self.flows.remove(&record.info.id);
        let device = self.device_of(record.file).map(str::to_string);
        let refused = self.refused.remove(&record.info.id);
        let at = self.book.fold(record, device.as_deref(), protection, hits.as_ref(), refused);
        if self.options.keep_flows {
            self.keep_flow(record, &at, protection, hits.as_ref(), device.as_deref());
        }
        let Some(hits) = hits else { return };
        if !hits.recur.is_empty() {
            let mut base =
                Finding::at(at.host, at.ip, at.port, at.protocol, protection, record.info.first);
            base.device = device;
            let show = recurrence::Show { reveal: self.options.reveal, files: &self.options.files };
            for p in hits.recur {
                base.exposure = exposure(protection, &p.where_);
                self.recur.add(p, &base, &show);
            }
        }
    }
}

#[cfg(test)]
mod devices_tests;

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use detect::matcher::Matcher;
    use detect::profile::Profile;

    use super::*;

    /// The record of an ended TCP flow `id` to `host`.
    pub(super) fn record(id: u32, host: &str) -> FlowRecord {
        let client: SocketAddr = "10.0.0.2:40000".parse().unwrap();
        let server = SocketAddr::from(([192, 0, 2, (id % 250) as u8], 80));
        let info = flow::FlowInfo::new(
            u64::from(id),
            flow::Transport::Tcp,
            client,
            server,
            flow::ClientBy::Syn,
            Timestamp(0),
        );
        FlowRecord {
            file: 0,
            info,
            protocol: AppProto::Http,
            name: Some(host.into()),
            name_source: pipeline::NameSource::HttpHost,
            encrypted: false,
            tls_version: None,
            alpn: Vec::new(),
            cert: None,
            dns_chain: Vec::new(),
            events: 1,
            decryption: None,
            app: None,
        }
    }

    /// Runs `payloads` as the client's segments of one raw TCP stream (unknown protocol) through
    /// an analyzer with `profile`.
    fn run_raw(profile: &str, payload: &[u8], cuts: &[usize]) -> Report {
        let p = Profile::from_str(profile, std::path::Path::new(".")).unwrap();
        let set = detect::variants::build(&p);
        let matcher = (!set.variants.is_empty()).then(|| Matcher::from_set(&set).unwrap());
        let analyzer = Analyzer::new(set, matcher, p.location, Options::default());
        let client: SocketAddr = "10.0.0.2:40000".parse().unwrap();
        let server: SocketAddr = "192.0.2.9:7000".parse().unwrap();
        let mut c = testkit::Conversation::tcp(client, server);
        c.handshake();
        c.client_sends_split(payload, cuts).fin();
        let mut w = testkit::PcapWriter::new(Vec::new(), c.link_type()).unwrap();
        w.write_frames(&c.frames()).unwrap();
        let bytes = w.finish().unwrap();
        let mut reader = capture::CaptureReader::from_read(std::io::Cursor::new(bytes)).unwrap();
        let mut pipeline = pipeline::Pipeline::new(pipeline::Config::default(), analyzer);
        pipeline.run(0, &mut reader).unwrap();
        pipeline.finish().0.into_report().0
    }

    const PROFILE: &str =
        "name = \"t\"\n[location]\nlat = 25.0339\nlon = 121.5645\nradius_m = 500\n";

    #[test]
    fn heuristics_see_values_straddling_raw_tcp_segments() {
        let payload = b"#MTX location=25.0342,121.5649;\n";
        let at = 14 + 8; // inside the coordinates
        for cuts in [&[][..], &[at][..], &[at, at + 3][..]] {
            let r = run_raw(PROFILE, payload, cuts);
            let loc: Vec<&Finding> =
                r.findings.iter().filter(|f| f.data == DataKind::Location).collect();
            assert_eq!(loc.len(), 1, "cuts {cuts:?}: {:?}", r.findings);
            assert_eq!((loc[0].item.as_str(), loc[0].where_.as_str()), ("location", "tcp.payload"));
            assert!(matches!(loc[0].source, Source::Profile));
            assert_eq!(loc[0].count, 1, "reported once");
        }
        // Without a profile too (heuristic e-mail across a cut), once.
        let r = run_raw("name = \"t\"\n", b"#MTX mail=jane.doe@example.org;\n", &[20]);
        let mail: Vec<&Finding> = r.findings.iter().filter(|f| f.data == DataKind::Email).collect();
        assert_eq!(mail.len(), 1, "{:?}", r.findings);
        assert_eq!(mail[0].count, 1);
    }

    #[test]
    fn values_cut_by_a_segment_are_not_also_reported_in_part() {
        // An IMSI cut after 6 and after 7 digits: only the whole value, never `466920` or
        // `4669201` as a key-name hit of the first piece; and a value ending the stream is kept.
        let payload = b"#MTX imsi=466920123456789;
";
        for cuts in [&[16][..], &[17][..], &[16, 17][..], &[payload.len() - 1][..]] {
            let r = run_raw("name = \"t\"\n", payload, cuts);
            let imsi: Vec<&Finding> =
                r.findings.iter().filter(|f| f.data == DataKind::Imsi).collect();
            assert_eq!(imsi.len(), 1, "cuts {cuts:?}: {:?}", r.findings);
        }
        let r = run_raw("name = \"t\"\n", b"#MTX imsi=466920123456789", &[16]);
        assert_eq!(r.findings.iter().filter(|f| f.data == DataKind::Imsi).count(), 1);
    }
}
