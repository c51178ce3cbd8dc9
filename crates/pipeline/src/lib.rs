//! The analysis driver: capture -> wire -> flow -> proto, in one pass, plus destination naming.
//!
//! Contract:
//! - [`Pipeline::run`] reads one capture to its end (or its first fatal error) and pushes what it
//!   finds into an [`Observer`]: every protocol [`proto::Event`] as it completes (with its flow and
//!   packet context), every stream chunk (for later stages that scan payloads), and one
//!   [`FlowRecord`] per flow when the flow ends. Several captures fed in order form one timeline.
//! - Naming: each flow's server gets a name from, in order of preference, the TLS or QUIC SNI, the
//!   HTTP Host, or the DNS answer that mapped the server's IP (CNAME chains followed back to the name
//!   asked for), else none. The DNS map is bounded by [`MAX_DNS_MAPPINGS`].
//! - Nothing here reads the wall clock: all times come from the capture.
//! - Memory is bounded by the limits of each stage ([`Config`]); what hits a limit is counted in
//!   [`Stats`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::ops::ControlFlow;

use capture::link::{self, LinkOutcome};
use capture::{CaptureError, CaptureReader, Timestamp};
use flow::{Chunk, Direction, FlowId, FlowInfo, FlowSink, FlowTable, Meta};
use proto::{AppProto, Decryption, Event, KeyLog, Session};

pub use apps::{App, AppStats, Apps};

pub mod apps;
mod exchanges;
mod names;
pub mod output;
mod record;
pub mod time;

pub use names::{DnsNames, MAX_DNS_MAPPINGS, NameSource};
pub use record::FlowRecord;

/// Limits of every stage, with documented defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct Config {
    /// IP fragment reassembly limits.
    pub defrag: wire::DefragLimits,
    /// Flow table and TCP reassembly limits.
    pub flow: flow::FlowLimits,
    /// Parser choices for every flow (e.g. leave HTTP response bodies coded).
    pub session: proto::SessionOptions,
}

/// Where an event or chunk came from.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Index of the capture file in the run (0-based, in the order given).
    pub file: usize,
    /// The flow.
    pub flow: &'a FlowInfo,
    /// Direction of the data that produced the event.
    pub dir: Direction,
    /// Time and frame number of the packet that completed it.
    pub meta: Meta,
    /// The flow's protocol as recognised so far (after this chunk was parsed).
    pub protocol: AppProto,
    /// True when the flow's payload is encrypted (TLS other than NULL cipher, QUIC): such chunks
    /// carry no personal data in the clear.
    pub encrypted: bool,
    /// The app that made the flow, when the capture says ([`apps`]).
    pub app: Option<&'a App>,
}

impl<'a> Context<'a> {
    /// The context of data of `flow` in direction `dir`, as its session sees the flow now.
    fn of(
        file: usize,
        flow: &'a FlowInfo,
        dir: Direction,
        meta: Meta,
        session: &Session,
        app: Option<&'a App>,
    ) -> Self {
        let (protocol, encrypted) = (session.protocol(), session.encrypted());
        Self { file, flow, dir, meta, protocol, encrypted, app }
    }

    /// Sender address of the data.
    pub fn src(&self) -> std::net::SocketAddr {
        match self.dir {
            Direction::ToServer => self.flow.client,
            Direction::ToClient => self.flow.server,
        }
    }

    /// Receiver address of the data.
    pub fn dst(&self) -> std::net::SocketAddr {
        match self.dir {
            Direction::ToServer => self.flow.server,
            Direction::ToClient => self.flow.client,
        }
    }
}

/// Receives the results of a run. Every method has an empty default, so an observer implements
/// only what it needs.
pub trait Observer {
    /// A protocol event completed.
    fn event(&mut self, ctx: &Context<'_>, event: &Event) {
        let _ = (ctx, event);
    }
    /// A chunk of a flow's stream (in order, gaps explicit), just after the protocol parser saw it.
    fn chunk(&mut self, ctx: &Context<'_>, chunk: &Chunk<'_>) {
        let _ = (ctx, chunk);
    }
    /// A flow ended; its record is final.
    fn flow_end(&mut self, record: &FlowRecord) {
        let _ = record;
    }
}

/// Counters of a whole run, summed over all captures.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Frames read.
    pub frames: u64,
    /// Bytes of frame data read.
    pub frame_bytes: u64,
    /// Frames on a link type that is not supported, by link type.
    pub unsupported_link: std::collections::BTreeMap<u32, u64>,
    /// Frames too short for their link header.
    pub link_truncated: u64,
    /// Decode stage counters.
    pub wire: wire::WireStats,
    /// Flow stage counters.
    pub flow: flow::FlowStats,
    /// Protocol stage anomalies.
    pub proto: proto::Anomalies,
    /// Events produced.
    pub events: u64,
    /// DNS name mappings dropped because [`MAX_DNS_MAPPINGS`] was hit.
    pub dns_map_capped: u64,
    /// TLS connections (encrypted, ServerHello seen or not) and what decryption made of them.
    pub tls: TlsCoverage,
    /// Decryption Secrets Blocks of the TLS key log type read from pcapng captures.
    pub secrets_blocks: u64,
    /// Secrets taken from them.
    pub secrets_from_blocks: u64,
    /// Malformed key log lines in them.
    pub secrets_bad_lines: u64,
    /// HTTP exchanges read from archives (HAR, mitmproxy flow dumps).
    pub exchanges: u64,
    /// What the captures said of the apps that sent the packets.
    pub apps: apps::AppStats,
}

/// TLS connections of a run by what decryption made of them (flows that ended as encrypted TLS).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TlsCoverage {
    /// QUIC connections.
    pub quic_sessions: u64,
    /// QUIC connections decrypted with logged secrets.
    pub quic_decrypted: u64,
    /// Encrypted TLS connections.
    pub sessions: u64,
    /// Decrypted and authenticated.
    pub decrypted: u64,
    /// Not opened: no secret known for them (or none given at all).
    pub no_keys: u64,
    /// A record failed authentication (wrong or foreign keys) or the stream broke.
    pub failed: u64,
    /// A cipher suite we do not decrypt.
    pub unsupported: u64,
}

impl TlsCoverage {
    /// Counts one flow that ended.
    pub fn count(&mut self, record: &FlowRecord) {
        if record.protocol == AppProto::Quic {
            self.quic_sessions += 1;
            self.quic_decrypted += u64::from(record.decryption == Some(Decryption::Decrypted));
            return;
        }
        let Some(outcome) = record.tls_outcome() else { return };
        self.sessions += 1;
        match outcome {
            Decryption::Decrypted => self.decrypted += 1,
            Decryption::Failed => self.failed += 1,
            Decryption::Unsupported => self.unsupported += 1,
            Decryption::NoKeys => self.no_keys += 1,
        }
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// A hasher for the sequential flow ids (a multiplicative mix is enough and much cheaper than
/// SipHash on the per-packet path).
#[derive(Default)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// What the pipeline keeps per open flow.
#[derive(Debug)]
struct FlowState {
    session: Session,
    sni: Option<String>,
    http_host: Option<String>,
    dns_chain_at_start: Option<Vec<String>>,
    tls_version: Option<u16>,
    alpn: Vec<String>,
    cert: Option<proto::CertNames>,
    events: u64,
    /// The capture file of its latest data (a live gateway feeds each device's packets as its
    /// own file; a rotation moves on to the next one): what its record and its last events name.
    file: usize,
    /// The app of its first packet that named one.
    app: Option<App>,
}

/// What [`Pipeline::last_flow`] knows of a flow.
#[derive(Debug, Clone, Copy)]
pub struct FlowFacts<'a> {
    /// Its addresses, transport and counters.
    pub info: &'a FlowInfo,
    /// Its application protocol as detected so far.
    pub protocol: AppProto,
    /// The server name of its TLS or QUIC ClientHello, once seen.
    pub sni: Option<&'a str>,
    /// The Host of its first HTTP request, once seen.
    pub http_host: Option<&'a str>,
    /// The names the device's DNS answers gave the server's address before the flow began,
    /// the name asked first, then the CNAMEs.
    pub dns_names: &'a [String],
}

/// The flow sink: parses, names, and forwards to the observer.
struct Dispatch<O> {
    observer: O,
    session: proto::SessionOptions,
    file: usize,
    /// Boxed: the map's buckets (a power of two above the open flows) then cost a pointer each,
    /// not a whole state (a SYN flood holding 131,072 open flows: 4 MiB of buckets, not 35).
    flows: FastMap<FlowId, Box<FlowState>>,
    names: DnsNames,
    events: Vec<Event>,
    anomalies: proto::Anomalies,
    event_count: u64,
    keys: KeyLog,
    tls: TlsCoverage,
    apps: Apps,
    /// The app the frame being processed names.
    frame_uid: Option<i32>,
}

/// Gives a flow the app of the frame being processed (`uid`), if it has none yet; a packet naming
/// another app is counted.
fn tag(apps: &mut Apps, uid: Option<i32>, app: &mut Option<App>) {
    let Some(uid) = uid else { return };
    match app {
        None => *app = Some(apps.app(uid)),
        Some(a) if a.uid != uid => apps.conflict(),
        Some(_) => {}
    }
}

impl<O: Observer> FlowSink for Dispatch<O> {
    fn flow_start(&mut self, flow: &FlowInfo, _meta: Meta) {
        let state = Box::new(FlowState {
            session: Session::with_options(flow, self.session),
            sni: None,
            http_host: None,
            dns_chain_at_start: self.names.lookup_chain(flow.server.ip()),
            tls_version: None,
            alpn: Vec::new(),
            cert: None,
            events: 0,
            file: self.file,
            app: self.frame_uid.map(|uid| self.apps.app(uid)),
        });
        self.flows.insert(flow.id, state);
    }

    fn data(&mut self, flow: &FlowInfo, dir: Direction, chunk: Chunk<'_>, meta: Meta) {
        let Some(state) = self.flows.get_mut(&flow.id) else { return };
        state.file = self.file;
        tag(&mut self.apps, self.frame_uid, &mut state.app);
        state.session.data_keyed(
            flow,
            dir,
            chunk,
            &mut self.keys,
            &mut self.events,
            &mut self.anomalies,
        );
        let mut ctx = Context::of(self.file, flow, dir, meta, &state.session, state.app.as_ref());
        self.observer.chunk(&ctx, &chunk);
        if self.events.is_empty() {
            return;
        }
        for event in self.events.drain(..) {
            // Plaintext of the other direction, released by this chunk.
            if let Event::Turn(d) = event {
                ctx.dir = d;
                continue;
            }
            let dir = ctx.dir;
            state.events += 1;
            self.event_count += 1;
            match &event {
                Event::TlsClientHello(h) if dir == Direction::ToServer => {
                    if state.sni.is_none() {
                        state.sni.clone_from(&h.sni);
                    }
                    if state.alpn.is_empty() {
                        state.alpn.clone_from(&h.alpn);
                    }
                }
                Event::QuicInitial(q) => {
                    if state.sni.is_none() {
                        state.sni.clone_from(&q.hello.sni);
                    }
                    if state.alpn.is_empty() {
                        state.alpn.clone_from(&q.hello.alpn);
                    }
                }
                Event::TlsServerHello(s) => state.tls_version = Some(s.version),
                Event::TlsCertificate(c) if state.cert.is_none() => {
                    state.cert = Some(c.clone());
                }
                Event::HttpRequest(r) if state.http_host.is_none() => {
                    state.http_host.clone_from(&r.host);
                }
                Event::DnsAnswer(a) => self.names.learn(a),
                _ => {}
            }
            // Plaintext replayed for the other direction says so.
            let ctx = match event {
                Event::DecryptedStream { dir, .. } => Context { dir, ..ctx },
                _ => ctx,
            };
            self.observer.event(&ctx, &event);
        }
    }

    fn flow_end(&mut self, flow: &FlowInfo, meta: Meta) {
        let Some(mut state) = self.flows.remove(&flow.id) else { return };
        // Messages a decrypted QUIC connection still had open.
        state.session.finish(&mut self.events, &mut self.anomalies);
        for event in self.events.drain(..) {
            let dir = match event {
                Event::Turn(_) => continue,
                Event::HttpResponse(_) => Direction::ToClient,
                _ => Direction::ToServer,
            };
            let ctx = Context::of(state.file, flow, dir, meta, &state.session, state.app.as_ref());
            state.events += 1;
            self.event_count += 1;
            self.observer.event(&ctx, &event);
        }
        let record = state.record(flow, &self.names);
        self.tls.count(&record);
        self.observer.flow_end(&record);
    }
}

impl FlowState {
    /// The flow's record as things stand: final when the flow has ended, provisional (a live
    /// view's) while it is open.
    fn record(&self, flow: &FlowInfo, names: &DnsNames) -> FlowRecord {
        let dns_chain = self
            .dns_chain_at_start
            .clone()
            .or_else(|| names.lookup_chain(flow.server.ip()))
            .unwrap_or_default();
        let (name, source) = if let Some(sni) = self.sni.as_ref().filter(|s| !s.is_empty()) {
            (Some(sni.clone()), NameSource::Sni)
        } else if let Some(host) = self.http_host.as_ref().filter(|s| !s.is_empty()) {
            (Some(host.clone()), NameSource::HttpHost)
        } else if let Some(n) = dns_chain.first() {
            (Some(n.clone()), NameSource::Dns)
        } else {
            (None, NameSource::None)
        };
        FlowRecord {
            file: self.file,
            info: flow.clone(),
            protocol: self.session.protocol(),
            name,
            name_source: source,
            encrypted: self.session.encrypted(),
            tls_version: self.tls_version,
            alpn: self.alpn.clone(),
            cert: self.cert.clone(),
            dns_chain,
            events: self.events,
            decryption: self.session.decryption(),
            app: self.app.clone(),
        }
    }
}

/// One analysis run over one or more captures.
pub struct Pipeline<O> {
    decoder: wire::Decoder,
    table: FlowTable,
    dispatch: Dispatch<O>,
    stats: Stats,
    last_ts: Timestamp,
    span: Option<(Timestamp, Timestamp)>,
    /// The frame fed last reached the flow table (see [`Pipeline::last_flow`]).
    last_in_table: bool,
}

impl<O: Observer> Pipeline<O> {
    /// A new run with the given limits, reporting to `observer`.
    pub fn new(config: Config, observer: O) -> Self {
        Self {
            decoder: wire::Decoder::new(config.defrag),
            table: FlowTable::new(config.flow),
            dispatch: Dispatch {
                observer,
                session: config.session,
                file: 0,
                flows: FastMap::default(),
                names: DnsNames::default(),
                events: Vec::new(),
                anomalies: proto::Anomalies::default(),
                event_count: 0,
                keys: KeyLog::new(),
                tls: TlsCoverage::default(),
                apps: Apps::default(),
                frame_uid: None,
            },
            stats: Stats::default(),
            last_ts: Timestamp::default(),
            span: None,
            last_in_table: false,
        }
    }

    /// The run's TLS secrets: add key logs here before the first [`Pipeline::run`]; Decryption
    /// Secrets Blocks met in captures are added as they are read.
    pub fn keys_mut(&mut self) -> &mut KeyLog {
        &mut self.dispatch.keys
    }

    /// Timestamps of the first and last frame of the latest [`Pipeline::run`] (in file order:
    /// the smallest and largest seen), `None` when it had no frame.
    pub fn last_run_span(&self) -> Option<(Timestamp, Timestamp)> {
        self.span
    }

    /// Reads `reader` to its end, as capture number `file` of the run. On a fatal read error the
    /// frames before it have been processed; the error is returned and the run can go on with the
    /// next capture.
    pub fn run(&mut self, file: usize, reader: &mut CaptureReader) -> Result<(), CaptureError> {
        self.run_with(file, reader, |_, _| ControlFlow::Continue(())).map(|_| ())
    }

    /// Like [`Pipeline::run`], calling `before` ahead of every frame with its timestamp: a live
    /// view takes its snapshots and paces a replay there, or stops the run
    /// ([`ControlFlow::Break`]: that frame and the rest of the capture are not read; `Ok(true)`
    /// says so).
    pub fn run_with(
        &mut self,
        file: usize,
        reader: &mut CaptureReader,
        mut before: impl FnMut(&mut Self, Timestamp) -> ControlFlow<()>,
    ) -> Result<bool, CaptureError> {
        self.begin_file(file);
        let result = loop {
            match reader.next_frame() {
                Ok(Some(frame)) => {
                    if before(self, frame.ts).is_break() {
                        break Ok(true);
                    }
                    self.feed(&frame);
                }
                Ok(None) => break Ok(false),
                Err(e) => break Err(e),
            }
        };
        // Secrets from this capture's blocks stay; no more are expected.
        self.dispatch.keys.set_streaming(false);
        result
    }

    /// Starts capture number `file` of the run for frames given one by one ([`Pipeline::feed`]):
    /// evidence names it, and [`Pipeline::last_run_span`] starts again.
    pub fn begin_file(&mut self, file: usize) {
        self.dispatch.file = file;
        self.span = None;
    }

    /// The frames that follow belong to capture `file`, already begun: a gateway interleaves
    /// its devices' captures, one per device.
    pub fn switch_file(&mut self, file: usize) {
        self.dispatch.file = file;
    }

    /// Capture time moved on to `ts` with no frame (a live source's tick): flows idle past their
    /// limits end now. The output is the same as without ticks, as long as no tick is later than
    /// the frame that follows it.
    pub fn tick(&mut self, ts: Timestamp) {
        self.last_ts = self.last_ts.max(ts);
        self.table.advance(ts, &mut self.dispatch);
    }

    /// The observer, to look at between frames.
    pub fn observer(&self) -> &O {
        &self.dispatch.observer
    }

    /// The observer, to adjust between frames (a live session names its next capture file).
    pub fn observer_mut(&mut self) -> &mut O {
        &mut self.dispatch.observer
    }

    /// The capture time reached: the latest frame's or tick's timestamp.
    pub fn now(&self) -> Timestamp {
        self.last_ts
    }

    /// What is known of the flow of the frame fed last, as it stands after it (`None` when the
    /// frame belonged to no flow, or ended its flow): a gateway decides on a connection from
    /// its names as they appear (the SNI of a ClientHello is known once the frame that completed
    /// it was fed).
    pub fn last_flow(&self) -> Option<FlowFacts<'_>> {
        let info = self.table.last_flow().filter(|_| self.last_in_table)?;
        let state = self.dispatch.flows.get(&info.id)?;
        Some(FlowFacts {
            info,
            protocol: state.session.protocol(),
            sni: state.sni.as_deref().filter(|s| !s.is_empty()),
            http_host: state.http_host.as_deref().filter(|s| !s.is_empty()),
            dns_names: state.dns_chain_at_start.as_deref().unwrap_or_default(),
        })
    }

    /// Provisional records of the flows still open for which `want` is true, in flow id order:
    /// named and described as they stand now (a live view folds what they carried so far).
    pub fn open_records(&self, mut want: impl FnMut(FlowId) -> bool) -> Vec<FlowRecord> {
        let mut open: Vec<&FlowInfo> = self.table.open_flows().filter(|f| want(f.id)).collect();
        open.sort_unstable_by_key(|f| f.id);
        open.into_iter()
            .filter_map(|f| {
                let state = self.dispatch.flows.get(&f.id)?;
                Some(state.record(f, &self.dispatch.names))
            })
            .collect()
    }

    /// Flows open now.
    pub fn open_flow_count(&self) -> usize {
        self.dispatch.flows.len()
    }

    /// Counters so far (as [`Pipeline::finish`] gives them at the end).
    pub fn stats(&self) -> Stats {
        let mut stats = self.stats.clone();
        stats.wire += self.decoder.stats();
        stats.flow = self.table.stats().clone();
        stats.proto = self.dispatch.anomalies.clone();
        stats.events = self.dispatch.event_count;
        stats.dns_map_capped = self.dispatch.names.capped();
        stats.tls = self.dispatch.tls;
        stats.apps = self.dispatch.apps.stats().clone();
        stats
    }

    /// Processes one frame of the current capture (see [`Pipeline::begin_file`]), in order.
    pub fn feed(&mut self, frame: &capture::Frame<'_>) {
        {
            for s in frame.secrets {
                if s.kind == capture::Secrets::TLS_KEY_LOG {
                    let sum = self.dispatch.keys.read(&s.data);
                    self.stats.secrets_blocks += 1;
                    self.stats.secrets_from_blocks += sum.secrets as u64;
                    self.stats.secrets_bad_lines += sum.error_count as u64;
                    // More blocks may follow with secrets for flows already under way.
                    self.dispatch.keys.set_streaming(true);
                }
            }
            self.span = Some(match self.span {
                None => (frame.ts, frame.ts),
                Some((a, b)) => (a.min(frame.ts), b.max(frame.ts)),
            });
            self.stats.frames += 1;
            self.stats.frame_bytes += frame.data.len() as u64;
            self.last_in_table = false;
            self.last_ts = self.last_ts.max(frame.ts);
            self.dispatch.frame_uid = self.dispatch.apps.frame(frame);
            let net = match link::normalize(frame.link, frame.data) {
                LinkOutcome::Network(net) => net,
                LinkOutcome::Unsupported(l) => {
                    *self.stats.unsupported_link.entry(l.0).or_default() += 1;
                    return;
                }
                LinkOutcome::Truncated => {
                    self.stats.link_truncated += 1;
                    return;
                }
            };
            if let Ok(Some(packet)) = self.decoder.decode(frame.ts, &net) {
                self.table.process(frame.ts, frame.number, &packet, &mut self.dispatch);
                self.last_in_table = true;
            }
        }
    }

    /// Ends every open flow (end of all input) and returns the observer and the run's counters.
    pub fn finish(mut self) -> (O, Stats) {
        self.table.finish(self.last_ts, &mut self.dispatch);
        let stats = self.stats();
        (self.dispatch.observer, stats)
    }
}

impl Stats {
    /// Every counter of the run as `(name, value)`, grouped by stage, in a fixed order. Names are
    /// `stage.counter`, e.g. `flow.retransmissions`, `proto.http_body_capped`; limits that were hit
    /// end in `_capped` (or are `flow.evicted`, `wire.defrag_timeouts`).
    pub fn counters(&self) -> Vec<(String, u64)> {
        let wire::WireStats {
            packets,
            not_ip,
            bad_ip,
            bad_transport,
            fragments,
            reassembled,
            defrag_timeouts,
            defrag_capped,
            defrag_bad_fragments,
            tunnels_decapsulated,
            tunnels_undecoded,
            tunnel_depth_capped,
        } = self.wire;
        let flow::FlowStats {
            flows,
            expired,
            evicted,
            retransmissions,
            out_of_order,
            overlaps,
            gaps,
            gap_bytes,
            ooo_capped,
            snaplen_cut,
        } = self.flow;
        let proto::Anomalies {
            dns_malformed,
            dns_bad_name,
            tls_malformed,
            tls_capped,
            quic_undecryptable,
            http_malformed,
            http_header_capped,
            http_body_capped,
            http_tx_capped,
            http2_malformed,
            http2_capped,
            tls_decrypt_capped,
            gaps: proto_gaps,
        } = self.proto;
        let mut v: Vec<(String, u64)> = vec![
            ("capture.frames".into(), self.frames),
            ("capture.frame_bytes".into(), self.frame_bytes),
            ("capture.link_truncated".into(), self.link_truncated),
        ];
        for (link, n) in &self.unsupported_link {
            v.push((format!("capture.unsupported_link_type_{link}"), *n));
        }
        let rest: [(&str, u64); 57] = [
            ("wire.packets", packets),
            ("wire.not_ip", not_ip),
            ("wire.bad_ip", bad_ip),
            ("wire.bad_transport", bad_transport),
            ("wire.fragments", fragments),
            ("wire.reassembled", reassembled),
            ("wire.defrag_timeouts", defrag_timeouts),
            ("wire.defrag_capped", defrag_capped),
            ("wire.defrag_bad_fragments", defrag_bad_fragments),
            ("wire.tunnels_decapsulated", tunnels_decapsulated),
            ("wire.tunnels_undecoded", tunnels_undecoded),
            ("wire.tunnel_depth_capped", tunnel_depth_capped),
            ("flow.flows", flows),
            ("flow.expired", expired),
            ("flow.evicted", evicted),
            ("flow.retransmissions", retransmissions),
            ("flow.out_of_order", out_of_order),
            ("flow.overlaps", overlaps),
            ("flow.gaps", gaps),
            ("flow.gap_bytes", gap_bytes),
            ("flow.ooo_capped", ooo_capped),
            ("flow.snaplen_cut", snaplen_cut),
            ("proto.events", self.events),
            ("proto.dns_malformed", dns_malformed),
            ("proto.dns_bad_name", dns_bad_name),
            ("proto.tls_malformed", tls_malformed),
            ("proto.tls_capped", tls_capped),
            ("proto.quic_undecryptable", quic_undecryptable),
            ("proto.http_malformed", http_malformed),
            ("proto.http_header_capped", http_header_capped),
            ("proto.http_body_capped", http_body_capped),
            ("proto.http_tx_capped", http_tx_capped),
            ("proto.http2_malformed", http2_malformed),
            ("proto.http2_capped", http2_capped),
            ("proto.tls_decrypt_capped", tls_decrypt_capped),
            ("tls.sessions", self.tls.sessions),
            ("tls.decrypted", self.tls.decrypted),
            ("tls.no_keys", self.tls.no_keys),
            ("tls.failed", self.tls.failed),
            ("tls.unsupported", self.tls.unsupported),
            ("quic.sessions", self.tls.quic_sessions),
            ("quic.decrypted", self.tls.quic_decrypted),
            ("capture.secrets_blocks", self.secrets_blocks),
            ("capture.secrets_from_blocks", self.secrets_from_blocks),
            ("capture.secrets_bad_lines", self.secrets_bad_lines),
            ("archive.exchanges", self.exchanges),
            ("proto.gaps", proto_gaps),
            ("pipeline.dns_map_capped", self.dns_map_capped),
            ("apps.tagged_frames", self.apps.tagged_frames),
            ("apps.trailers", self.apps.trailers),
            ("apps.bad_trailers", self.apps.bad_trailers),
            ("apps.cut_trailers", self.apps.cut_trailers),
            ("apps.comments", self.apps.comments),
            ("apps.uid_maps", self.apps.uid_maps),
            ("apps.bad_blocks", self.apps.bad_blocks),
            ("apps.capped", self.apps.capped),
            ("apps.conflicts", self.apps.conflicts),
        ];
        v.extend(rest.iter().map(|(k, n)| ((*k).to_string(), *n)));
        v
    }
}
