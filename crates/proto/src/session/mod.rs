//! Per-flow protocol dispatch: picks the parser of a flow and routes its chunks to it.
//!
//! Rules (tshark decodes DNS by port and TLS, HTTP and QUIC by content as well, so we do the same):
//! - UDP: either port 53, 5353 (mDNS) or 5355 (LLMNR) -> DNS, from the first non-empty datagram.
//!   Either port [`SSDP_PORT`] (1900) -> HTTP over UDP (SSDP `M-SEARCH` / `NOTIFY` and their
//!   answers, one message stream per datagram, as tshark decodes them). Else the first datagram
//!   for which [`quic::looks_like_initial`] holds -> QUIC (it and every later datagram go to the
//!   QUIC parser). A client may send 0-RTT packets before its Initial, or the capture may reorder
//!   them (nDPI's `quic_0RTT.pcap`: the Initial is the fourth datagram), so up to
//!   [`MAX_UDP_SNIFF`] non-empty datagrams are looked at before deciding Other for good
//!   ([`Session::protocol`] says Other meanwhile).
//! - TCP: the first [`SNIFF_LEN`] bytes of each direction are buffered until a decision:
//!   - the client starts with a TLS record header (content type 20 to 23, version 3.0 to 3.4, length
//!     at most [`MAX_TLS_RECORD`]) or an SSLv2-compatible ClientHello -> TLS;
//!   - the client starts like a request ([`http::looks_like_request`], asked once the prefix holds a
//!     byte that cannot be part of a method, or is full) -> HTTP;
//!   - the client starts with a SOCKS4 request or a SOCKS5 greeting (`socks::sniff`) while the
//!     server has said nothing, and neither port is a DNS port -> SOCKS (see below);
//!   - the client sent something else: the server's verdict if it already showed TLS or
//!     `HTTP/1.` (a flow picked up mid-stream), else DNS if either port is in [`DNS_TCP_PORTS`]
//!     (53, 5353), else Other;
//!   - the client sent nothing yet: a server starting with a TLS record or `HTTP/1.` decides; on
//!     a DNS port a server starting with anything else means DNS; otherwise we wait for the client
//!     (servers such as SMTP speak first), at most until the server sent [`MAX_SERVER_FIRST`]
//!     bytes, then Other;
//!   - a gap or the end of a direction makes that direction's prefix final; a flow with no payload
//!     at all stays [`AppProto::Unknown`].
//!
//!   Once decided, the buffered bytes are replayed to the parser with their stream offsets (the
//!   client's first), then chunks go straight through. Server bytes seen but not buffered while
//!   waiting for the client are replayed as a gap.
//! - Tunnels: when a SOCKS handshake succeeds, or an HTTP `CONNECT` is answered with a 2xx, the
//!   rest of both directions is a new stream whose protocol is detected again as above (zeek's
//!   `socks-with-ssl` and `http/connect-with-header` captures: TLS inside). The switch happens at
//!   the exact stream offsets where the tunnel starts (empty lines right after them are skipped);
//!   client bytes sent before the answer were held by the parser and are replayed first. At most
//!   [`MAX_TUNNELS`] tunnels nest in one flow; deeper ones are not looked into.
//!   [`Session::protocol`] names what the innermost layer carries (a flow through an HTTP proxy
//!   carrying TLS is `tls`); a tunnel whose content is not decided yet, or is nothing we parse,
//!   keeps the protocol of the flow around it (`http` for `CONNECT`). While a SOCKS handshake is
//!   going on it says Unknown, and Other once it failed.
//! - TLS with a NULL cipher: the plaintext of both directions ([`TlsParser::plaintext`]) is an
//!   inner stream pair with its own detection as above (wireshark-notes' `tls-null` capture: HTTP
//!   inside); it counts as a tunnel. [`Session::protocol`] stays `tls`, [`Session::encrypted`]
//!   says false.
//! - Other transports -> Other. Once Other, chunks cost one match.

use std::fmt;

use flow::{Chunk, Direction, FlowInfo, Transport};

use self::sniff::{Pick, Sniff};
use crate::dns::DnsParser;
use crate::http::{self, HttpParser};
use crate::http2::H2Parser;
use crate::quic::{self, QuicParser};
use crate::socks::{self, SocksParser};
use crate::tls::TlsParser;
use crate::tls::decrypt::Decryption;
use crate::tls::keylog::KeyLog;
use crate::websocket::WsParser;
use crate::{Anomalies, AppProto, Event, Handoff, PlainChunk};

mod sniff;
#[cfg(test)]
pub(crate) mod test_util;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tunnel_tests;

/// Bytes buffered per TCP direction while the protocol is undecided: enough for a TLS record
/// header and any common HTTP method with its space.
pub(crate) const SNIFF_LEN: usize = 16;
/// Server bytes after which a flow whose client is silent (or still ambiguous) is decided with
/// what is known.
pub(crate) const MAX_SERVER_FIRST: u64 = 4096;
/// Largest TLS record length accepted in a first record header (2^14 plus the 2,048 bytes of
/// expansion RFC 5246 allows).
pub(crate) const MAX_TLS_RECORD: u16 = 16_384 + 2_048;
/// Non-empty datagrams of a UDP flow (not on a DNS port) looked at for a QUIC Initial before the
/// flow is decided Other.
pub(crate) const MAX_UDP_SNIFF: u8 = 8;
/// UDP ports decoded as DNS: DNS, mDNS, LLMNR.
pub(crate) const DNS_UDP_PORTS: [u16; 3] = [53, 5353, 5355];
/// TCP ports decoded as DNS when the content is neither TLS nor HTTP: tshark's default DNS TCP port
/// range is `53,5353` (suricata-verify's `dns-incomplete` capture has DNS over TCP on 5353).
pub(crate) const DNS_TCP_PORTS: [u16; 2] = [53, 5353];
/// UDP port decoded as HTTP over UDP: SSDP (UPnP discovery), as tshark does.
pub(crate) const SSDP_PORT: u16 = 1900;
/// Tunnels (SOCKS, HTTP `CONNECT`) looked into per flow, nested or one after the other. It bounds
/// the work and the recursion of a hostile flow made of handshakes.
pub(crate) const MAX_TUNNELS: u8 = 3;

/// Content probes of the other parsers (swapped for stand-ins in tests).
#[derive(Clone, Copy)]
pub(crate) struct Probes {
    /// [`http::looks_like_request`].
    pub(crate) http_request: fn(&[u8]) -> bool,
    /// [`quic::looks_like_initial`].
    pub(crate) quic_initial: fn(&[u8]) -> bool,
}

/// The real probes.
const PROBES: Probes =
    Probes { http_request: http::looks_like_request, quic_initial: quic::looks_like_initial };

/// Choices a caller makes for every session of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOptions {
    /// Undo the content coding (gzip, deflate, br) of HTTP response bodies. Default true;
    /// `phonehome analyze` turns it off unless it scans responses.
    pub decode_responses: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self { decode_responses: true }
    }
}

/// Chooses and drives the parser of one flow.
#[derive(Debug, Default)]
pub struct Session {
    state: State,
    options: SessionOptions,
    /// The plaintext of a decrypted TLS connection: when its protocol is none we parse, every
    /// chunk (the sniffed start included) goes out as [`Event::DecryptedStream`].
    raw_out: bool,
}

/// A TLS connection, and the session of its plaintext when its cipher is NULL.
#[derive(Debug, Default)]
struct TlsLayer {
    tls: TlsParser,
    /// Created with the first plaintext byte.
    inner: Option<Session>,
    /// The (empty) secrets the decrypted content is read with: it is not decrypted again (no
    /// TLS in TLS). Made once, with the first decrypted byte.
    inner_keys: Option<KeyLog>,
}

/// Where a session is. Parsers are boxed so that the state stays two words; the `u8` of the
/// tunnel-capable states is the number of tunnels opened before this layer.
#[derive(Default)]
enum State {
    /// Nothing seen yet.
    #[default]
    Fresh,
    /// UDP: this many non-empty datagrams were not QUIC Initials.
    UdpSniff(u8),
    /// TCP prefixes being buffered.
    Sniff(Box<Sniff>),
    /// Decided: DNS (UDP or TCP).
    Dns(Box<DnsParser>),
    /// Decided: TLS.
    Tls(Box<TlsLayer>, u8),
    /// Decided: QUIC.
    Quic(Box<QuicParser>),
    /// Decided: HTTP/1.x.
    Http(Box<HttpParser>, u8),
    /// Decided: HTTP/2 (inside decrypted TLS).
    Http2(Box<H2Parser>),
    /// A WebSocket connection after an HTTP/1.1 upgrade.
    WebSocket(Box<WsParser>),
    /// A SOCKS handshake is going on.
    Socks(Box<SocksParser>, u8),
    /// Decided: nothing we parse; chunks are dropped.
    Other,
    /// A tunnel carrying nothing we parse, inside a flow of this protocol (an HTTP `CONNECT`
    /// tunnel carrying SSH is still `http`); chunks are dropped.
    Opaque(AppProto),
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Fresh => "Fresh",
            Self::UdpSniff(_) => "UdpSniff",
            Self::Sniff(_) => "Sniff",
            Self::Dns(_) => "Dns",
            Self::Tls(..) => "Tls",
            Self::Quic(_) => "Quic",
            Self::Http(..) => "Http",
            Self::Http2(_) => "Http2",
            Self::WebSocket(_) => "WebSocket",
            Self::Socks(..) => "Socks",
            Self::Other => "Other",
            Self::Opaque(_) => "Opaque",
        };
        f.write_str(name)
    }
}

impl State {
    /// A fresh parser for `pick` (`Other` for anything without one); `depth`: tunnels opened
    /// before this layer.
    fn for_pick(pick: Pick, depth: u8, options: SessionOptions) -> Self {
        match pick {
            Pick::App(AppProto::Dns) => Self::Dns(Box::default()),
            Pick::App(AppProto::Tls) => Self::Tls(Box::default(), depth),
            Pick::App(AppProto::Quic) => {
                Self::Quic(Box::new(QuicParser::with_options(options.decode_responses)))
            }
            Pick::App(AppProto::Http) => {
                Self::Http(Box::new(HttpParser::with_options(options.decode_responses)), depth)
            }
            Pick::Socks(version) => Self::Socks(Box::new(SocksParser::new(version)), depth),
            Pick::Http2 => Self::Http2(Box::new(H2Parser::new(options.decode_responses))),
            Pick::App(AppProto::Unknown | AppProto::Other) => Self::Other,
        }
    }
}

impl Session {
    /// A session for a new flow.
    pub fn new(flow: &FlowInfo) -> Self {
        Self::with_options(flow, SessionOptions::default())
    }

    /// A session for a new flow, with the run's options (inherited by tunnelled sessions).
    pub fn with_options(flow: &FlowInfo, options: SessionOptions) -> Self {
        let _ = flow;
        Self { state: State::Fresh, options, raw_out: false }
    }

    /// Routes a chunk of the flow to its parser; events are appended to `out`.
    pub fn data(
        &mut self,
        flow: &FlowInfo,
        dir: Direction,
        chunk: Chunk<'_>,
        out: &mut Vec<Event>,
        an: &mut Anomalies,
    ) {
        self.data_with(&PROBES, flow, dir, chunk, &mut KeyLog::new(), out, an);
    }

    /// [`Self::data`] for a run that has TLS secrets: TLS flows that start while `keys` holds any
    /// are decrypted ([`crate::tls::decrypt`]) and what they carry is parsed like a tunnel's
    /// content (HTTP/2 when the ALPN says `h2`). Secrets learned from handshakes (TLS 1.2
    /// resumption) go into `keys`.
    pub fn data_keyed(
        &mut self,
        flow: &FlowInfo,
        dir: Direction,
        chunk: Chunk<'_>,
        keys: &mut KeyLog,
        out: &mut Vec<Event>,
        an: &mut Anomalies,
    ) {
        self.data_with(&PROBES, flow, dir, chunk, keys, out, an);
    }

    /// What became of the flow's TLS encryption when secrets were given: `None` for flows that
    /// are not TLS, whose ServerHello was not seen, or that started while no secret was known.
    pub fn decryption(&self) -> Option<Decryption> {
        match &self.state {
            State::Tls(layer, _) => layer.tls.decryption(),
            State::Quic(p) => p.decryption(),
            _ => None,
        }
    }

    /// The flow ended (UDP flows get no end chunk): messages a decrypted QUIC connection still
    /// had open go to `out`.
    pub fn finish(&mut self, out: &mut Vec<Event>, an: &mut Anomalies) {
        if let State::Quic(p) = &mut self.state {
            p.finish(out, an);
        }
    }

    /// The session of a decrypted TLS connection's content: HTTP/2 straight away when the ALPN
    /// says so (its server may speak first), else detected from the content.
    fn decrypted(depth: u8, alpn: Option<&str>, options: SessionOptions) -> Self {
        let state = match alpn {
            Some("h2") => State::Http2(Box::new(H2Parser::new(options.decode_responses))),
            _ => State::Sniff(Box::new(Sniff::new(depth, AppProto::Tls))),
        };
        Self { state, options, raw_out: true }
    }

    /// True when the flow's content is encrypted: QUIC, and TLS unless its handshake chose a
    /// NULL cipher (the application data then travels in plaintext, and is parsed).
    pub fn encrypted(&self) -> bool {
        match &self.state {
            State::Tls(layer, _) => !layer.tls.null_cipher(),
            State::Quic(_) => true,
            _ => false,
        }
    }

    /// The session of a stream starting inside a tunnel opened at depth `depth - 1` in a flow of
    /// protocol `outer`.
    fn tunnel_start(depth: u8, outer: AppProto, options: SessionOptions) -> Self {
        Self { state: State::Sniff(Box::new(Sniff::new(depth, outer))), options, raw_out: false }
    }

    /// The protocol recognised so far.
    pub fn protocol(&self) -> AppProto {
        match &self.state {
            State::Fresh | State::Socks(..) => AppProto::Unknown,
            // Inside a tunnel: what the flow was until the tunnel's content is known.
            State::Sniff(sniff) => sniff.outer,
            // Payload seen and nothing recognised so far (a QUIC Initial may still come).
            State::UdpSniff(_) => AppProto::Other,
            State::Dns(_) => AppProto::Dns,
            State::Tls(..) => AppProto::Tls,
            State::Quic(_) => AppProto::Quic,
            State::Http(..) | State::Http2(_) | State::WebSocket(_) => AppProto::Http,
            State::Other => AppProto::Other,
            State::Opaque(outer) => *outer,
        }
    }

    /// [`Self::data`] with the given probes.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn data_with(
        &mut self,
        probes: &Probes,
        flow: &FlowInfo,
        dir: Direction,
        chunk: Chunk<'_>,
        keys: &mut KeyLog,
        out: &mut Vec<Event>,
        an: &mut Anomalies,
    ) {
        let options = self.options;
        match (&mut self.state, chunk) {
            (State::Other | State::Opaque(_), _) => {
                if self.raw_out {
                    raw_event(dir, chunk, out);
                }
            }
            (State::Dns(p), Chunk::Datagram(bytes)) => p.datagram(bytes, out, an),
            (State::Quic(p), Chunk::Datagram(bytes)) => {
                p.datagram(dir, bytes, out, an);
                p.decrypt(dir, bytes, keys, out, an);
            }
            (State::Dns(p), _) => p.stream(dir, chunk, out, an),
            (State::Tls(layer, depth), _) => {
                let depth = *depth;
                layer.tls.data(dir, chunk, out, an);
                let TlsLayer { tls, inner, inner_keys } = &mut **layer;
                if depth >= MAX_TUNNELS {
                    return;
                }
                tls.plaintext(dir, chunk, |c| {
                    let inner = inner.get_or_insert_with(|| {
                        Self::tunnel_start(depth + 1, AppProto::Tls, options)
                    });
                    inner.data_with(probes, flow, dir, c, keys, out, an);
                });
                an.tls_decrypt_capped += tls.decrypt(dir, chunk, keys, |d, alpn, c| {
                    let inner =
                        inner.get_or_insert_with(|| Self::decrypted(depth + 1, alpn, options));
                    let none = inner_keys.get_or_insert_with(KeyLog::new);
                    turned(out, dir, d, |out| inner.data_with(probes, flow, d, c, none, out, an));
                });
                if let Some(names) = tls.take_cert() {
                    out.push(Event::TlsCertificate(names));
                }
            }
            (State::Http2(p), _) => p.data(dir, chunk, out, an),
            (State::WebSocket(p), _) => p.data(dir, chunk, out, an),
            (State::Http(p, depth), _) => {
                p.data(dir, chunk, out, an);
                if let Some(handoff) = p.take_tunnel() {
                    let depth = *depth;
                    self.tunnel(probes, flow, depth, dir, chunk, handoff, keys, out, an);
                }
            }
            (State::Socks(p, depth), _) => match p.data(dir, chunk) {
                socks::Step::More => {}
                socks::Step::Failed => self.state = State::Other,
                socks::Step::Open(handoff) => {
                    let depth = *depth;
                    self.tunnel(probes, flow, depth, dir, chunk, handoff, keys, out, an);
                }
            },
            (State::Fresh | State::UdpSniff(_), Chunk::Datagram(bytes))
                if flow.transport == Transport::Udp =>
            {
                self.udp_first(probes, flow, dir, bytes, keys, out, an);
            }
            (State::Fresh, Chunk::Data { .. } | Chunk::Gap { .. } | Chunk::End)
                if flow.transport == Transport::Tcp =>
            {
                self.state = State::Sniff(Box::new(Sniff::new(0, AppProto::Unknown)));
                self.data_with(probes, flow, dir, chunk, keys, out, an);
            }
            (State::Sniff(sniff), _) => {
                let chunk = sniff.trim_tunnel_start(dir, chunk);
                if let Some((pick, before)) = sniff.push(probes, flow, dir, chunk) {
                    self.decide(probes, flow, pick, dir, &before, chunk, keys, out, an);
                }
            }
            (State::Fresh, Chunk::Datagram(bytes))
                if matches!(flow.transport, Transport::Other(_)) =>
            {
                if !bytes.is_empty() {
                    self.state = State::Other;
                }
            }
            // A chunk kind that does not fit the transport: ignored.
            (State::Fresh | State::UdpSniff(_) | State::Quic(_), _) => {}
        }
    }

    /// A datagram of a UDP flow whose protocol is not decided yet.
    #[allow(clippy::too_many_arguments)]
    fn udp_first(
        &mut self,
        probes: &Probes,
        flow: &FlowInfo,
        dir: Direction,
        bytes: &[u8],
        keys: &mut KeyLog,
        out: &mut Vec<Event>,
        an: &mut Anomalies,
    ) {
        if bytes.is_empty() {
            return;
        }
        let looked = match self.state {
            State::UdpSniff(n) => n,
            _ => 0,
        };
        let port = |ports: &[u16]| {
            ports.iter().any(|&p| p == flow.client.port() || p == flow.server.port())
        };
        self.state = if port(&DNS_UDP_PORTS) {
            State::Dns(Box::default())
        } else if port(&[SSDP_PORT]) {
            State::Http(Box::default(), MAX_TUNNELS)
        } else if (probes.quic_initial)(bytes) {
            State::Quic(Box::new(QuicParser::with_options(self.options.decode_responses)))
        } else if looked.saturating_add(1) < MAX_UDP_SNIFF {
            State::UdpSniff(looked.saturating_add(1))
        } else {
            State::Other
        };
        match &mut self.state {
            State::Dns(p) => p.datagram(bytes, out, an),
            State::Quic(p) => {
                p.datagram(dir, bytes, out, an);
                p.decrypt(dir, bytes, keys, out, an);
            }
            State::Http(p, _) => p.data(dir, Chunk::Datagram(bytes), out, an),
            _ => {}
        }
    }

    /// Leaves the sniffing state for `pick`: replays what was buffered (`dir` as it was in
    /// `before`), then `chunk`, the chunk that led to the decision.
    #[allow(clippy::too_many_arguments)]
    fn decide(
        &mut self,
        probes: &Probes,
        flow: &FlowInfo,
        pick: Pick,
        dir: Direction,
        before: &sniff::Side,
        chunk: Chunk<'_>,
        keys: &mut KeyLog,
        out: &mut Vec<Event>,
        an: &mut Anomalies,
    ) {
        let State::Sniff(sniff) = std::mem::replace(&mut self.state, State::Other) else {
            return;
        };
        self.state = match State::for_pick(pick, sniff.depth, self.options) {
            State::Other if sniff.outer != AppProto::Unknown => State::Opaque(sniff.outer),
            state => state,
        };
        // Parsed, or (plaintext of a decrypted connection in a protocol we do not parse)
        // searched as a raw stream from its first byte.
        if !matches!(self.state, State::Other | State::Opaque(_)) || self.raw_out {
            sniff.replay(dir, before, chunk, |d, c| {
                self.data_with(probes, flow, d, c, keys, out, an)
            });
        }
    }

    /// Opens a tunnel found by the parser of layer `depth` while it read `chunk` (of direction
    /// `dir`): both directions start afresh at the offsets of `h`, with a new protocol decision.
    #[allow(clippy::too_many_arguments)]
    fn tunnel(
        &mut self,
        probes: &Probes,
        flow: &FlowInfo,
        depth: u8,
        dir: Direction,
        chunk: Chunk<'_>,
        h: Handoff,
        keys: &mut KeyLog,
        out: &mut Vec<Event>,
        an: &mut Anomalies,
    ) {
        if depth >= MAX_TUNNELS {
            // Not looked into: the outer parser has stopped, chunks cost it one check.
            return;
        }
        let raw_out = self.raw_out;
        *self = match h.websocket {
            Some(deflate) => Self {
                state: State::WebSocket(Box::new(WsParser::new(deflate))),
                options: self.options,
                raw_out,
            },
            None => {
                Self { raw_out, ..Self::tunnel_start(depth + 1, self.protocol(), self.options) }
            }
        };
        let c = Direction::ToServer;
        turned(out, dir, c, |out| {
            if !h.held.is_empty() {
                let held = Chunk::Data { offset: h.client_from, bytes: &h.held };
                self.data_with(probes, flow, c, held, keys, out, an);
            }
            let held_end = h.client_from.saturating_add(h.held.len() as u64);
            if h.client_to > held_end {
                let gap = Chunk::Gap { offset: held_end, len: h.client_to - held_end };
                self.data_with(probes, flow, c, gap, keys, out, an);
            }
            if h.client_ended {
                self.data_with(probes, flow, c, Chunk::End, keys, out, an);
            }
        });
        // The rest of the chunk that carried the answer belongs to the tunnel.
        if let Chunk::Data { offset, bytes } = chunk {
            let from = match dir {
                Direction::ToServer => h.client_to,
                Direction::ToClient => h.server_from,
            };
            let skip = usize::try_from(from.saturating_sub(offset)).unwrap_or(usize::MAX);
            if let Some(rest) = bytes.get(skip..).filter(|r| !r.is_empty()) {
                let offset = offset.saturating_add(skip as u64);
                self.data_with(
                    probes,
                    flow,
                    dir,
                    Chunk::Data { offset, bytes: rest },
                    keys,
                    out,
                    an,
                );
            }
        }
    }
}

/// A chunk of a decrypted connection's plaintext, as an event for raw search.
/// Runs `f`, which adds events of direction `d`, for a chunk of direction `dir`: when they
/// differ, what it adds is framed by [`Event::Turn`] markers (none when it adds nothing).
fn turned(out: &mut Vec<Event>, dir: Direction, d: Direction, f: impl FnOnce(&mut Vec<Event>)) {
    if d == dir {
        return f(out);
    }
    let at = out.len();
    out.push(Event::Turn(d));
    f(out);
    if out.len() == at + 1 {
        out.pop();
    } else {
        out.push(Event::Turn(dir));
    }
}

fn raw_event(dir: Direction, chunk: Chunk<'_>, out: &mut Vec<Event>) {
    if let Some(chunk) = PlainChunk::of(chunk) {
        out.push(Event::DecryptedStream { dir, stream: None, chunk });
    }
}
