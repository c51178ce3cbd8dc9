//! Protocol detection of a TCP flow (or of a tunnel inside one) from the first bytes of its two
//! directions; the rules are in the parent module's documentation.

use flow::{Chunk, Direction, FlowInfo};

use super::{DNS_TCP_PORTS, MAX_SERVER_FIRST, MAX_TLS_RECORD, MAX_TUNNELS, Probes, SNIFF_LEN};
use crate::AppProto;
use crate::socks;

/// What a flow was found to carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pick {
    /// A protocol with a parser (or Other).
    App(AppProto),
    /// A SOCKS handshake of this version (4 or 5), a tunnel to look into.
    Socks(u8),
    /// HTTP/2 with prior knowledge: the client sent the connection preface.
    Http2,
}

/// What a prefix says about one protocol guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// It is this protocol.
    Yes(Pick),
    /// It is none of the protocols asked about.
    No,
    /// More bytes are needed.
    Wait,
}

impl Verdict {
    /// `self` if it is a `Yes`, else combine: `Wait` wins over `No`.
    fn or(self, other: Self) -> Self {
        match (self, other) {
            (Self::Yes(_), _) => self,
            (_, Self::Yes(_)) => other,
            (Self::Wait, _) | (_, Self::Wait) => Self::Wait,
            (Self::No, Self::No) => Self::No,
        }
    }
}

/// Buffered start of the two TCP directions of an undecided flow.
#[derive(Debug)]
pub(super) struct Sniff {
    /// Per direction ([`Direction::index`]).
    sides: [Side; 2],
    /// Tunnels opened before this layer (0 for the flow itself).
    pub(super) depth: u8,
    /// Protocol of the flow around this layer (Unknown for the flow itself).
    pub(super) outer: AppProto,
}

/// Buffered start of one direction.
#[derive(Debug, Default, Clone)]
pub(super) struct Side {
    /// The first bytes, contiguous from `begin`.
    buf: [u8; SNIFF_LEN],
    /// Bytes used in `buf`.
    len: usize,
    /// Stream offset of `buf[0]` (of the first chunk seen).
    begin: Option<u64>,
    /// Stream offset just past everything seen (data or gap).
    next: u64,
    /// Payload bytes seen (buffered or not).
    seen: u64,
    /// A gap or a jump in offsets: no more bytes go to `buf`.
    holed: bool,
    /// The direction ended.
    ended: bool,
}

impl Side {
    /// The buffered prefix.
    fn prefix(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// No more bytes will join the prefix.
    fn complete(&self) -> bool {
        self.holed || self.ended || self.len == SNIFF_LEN
    }

    /// Records one chunk.
    fn push(&mut self, chunk: Chunk<'_>) {
        match chunk {
            Chunk::Data { offset, bytes } => {
                if bytes.is_empty() {
                    return;
                }
                if self.begin.is_none() {
                    self.begin = Some(offset);
                    self.next = offset;
                }
                if offset != self.next {
                    self.holed = true;
                }
                if !self.holed {
                    let room = SNIFF_LEN.saturating_sub(self.len);
                    let take = room.min(bytes.len());
                    if let (Some(dst), Some(src)) =
                        (self.buf.get_mut(self.len..self.len + take), bytes.get(..take))
                    {
                        dst.copy_from_slice(src);
                        self.len += take;
                    }
                }
                self.seen = self.seen.saturating_add(bytes.len() as u64);
                self.next = self.next.max(offset.saturating_add(bytes.len() as u64));
            }
            Chunk::Gap { offset, len } => {
                if self.begin.is_none() {
                    self.begin = Some(offset);
                    self.next = offset;
                }
                self.holed = true;
                self.next = self.next.max(offset.saturating_add(len));
            }
            Chunk::End => self.ended = true,
            Chunk::Datagram(_) => {}
        }
    }

    /// Replays what this side recorded, as chunks for a parser: the buffered bytes, a gap for
    /// whatever was seen but not buffered, and the end if it came.
    fn replay(&self, mut feed: impl FnMut(Chunk<'_>)) {
        let Some(begin) = self.begin else {
            return;
        };
        let data_end = begin.saturating_add(self.len as u64);
        if self.len > 0 {
            feed(Chunk::Data { offset: begin, bytes: self.prefix() });
        }
        if self.next > data_end {
            feed(Chunk::Gap { offset: data_end, len: self.next - data_end });
        }
        if self.ended {
            feed(Chunk::End);
        }
    }
}

impl Sniff {
    /// Nothing buffered yet, at tunnel depth `depth` inside a flow of protocol `outer`.
    pub(super) fn new(depth: u8, outer: AppProto) -> Self {
        Self { sides: Default::default(), depth, outer }
    }

    /// `chunk` without the empty lines that start a direction inside a tunnel (at depth > 0): a
    /// `CONNECT` request or its answer followed by a stray CR LF (suricata-verify's
    /// `http-connect-simple`); no protocol we detect starts with CR or LF.
    pub(super) fn trim_tunnel_start<'a>(&self, dir: Direction, chunk: Chunk<'a>) -> Chunk<'a> {
        let fresh = self.sides.get(dir.index()).is_some_and(|s| s.begin.is_none());
        match chunk {
            Chunk::Data { offset, bytes } if self.depth > 0 && fresh => {
                let n = bytes.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
                Chunk::Data {
                    offset: offset.saturating_add(n as u64),
                    bytes: bytes.get(n..).unwrap_or_default(),
                }
            }
            _ => chunk,
        }
    }

    /// Records a chunk of direction `dir` and returns the decision, if it can be made now, with
    /// the state of that direction before the chunk (for [`Self::replay`]).
    pub(super) fn push(
        &mut self,
        probes: &Probes,
        flow: &FlowInfo,
        dir: Direction,
        chunk: Chunk<'_>,
    ) -> Option<(Pick, Side)> {
        if let Chunk::Data { bytes: [], .. } | Chunk::Datagram(_) = chunk {
            return None;
        }
        let side = self.sides.get_mut(dir.index())?;
        let before = side.clone();
        side.push(chunk);
        self.decide(probes, flow).map(|proto| (proto, before))
    }

    /// The decision from what is buffered, if any (see the module documentation).
    fn decide(&self, probes: &Probes, flow: &FlowInfo) -> Option<Pick> {
        let [client, server] = &self.sides;
        let dns_port =
            DNS_TCP_PORTS.iter().any(|&p| p == flow.client.port() || p == flow.server.port());
        let mut cv = client_verdict(probes, client.prefix(), client.complete());
        if !dns_port && server.seen == 0 && self.depth < MAX_TUNNELS {
            cv = cv.or(socks_verdict(client.prefix(), client.complete()));
        }
        let sv = server_verdict(server.prefix(), server.complete());
        let fallback = Pick::App(if dns_port { AppProto::Dns } else { AppProto::Other });
        let server_says = match sv {
            Verdict::Yes(p) => Some(p),
            Verdict::No | Verdict::Wait => None,
        };
        match cv {
            Verdict::Yes(p) => Some(p),
            // The client spoke, and not TLS or HTTP.
            Verdict::No if client.len > 0 => Some(server_says.unwrap_or(fallback)),
            // The client is done without a byte (ended, or a gap first).
            Verdict::No => match sv {
                Verdict::Yes(p) => Some(p),
                Verdict::Wait => None,
                Verdict::No if client.seen > 0 || server.seen > 0 => Some(fallback),
                Verdict::No => None,
            },
            Verdict::Wait if client.len == 0 && server_says.is_some() => server_says,
            // A server speaking first on a DNS port (the client's bytes were missed): DNS, decided
            // before the server's bytes overflow the buffer.
            Verdict::Wait
                if client.len == 0 && dns_port && server.seen > 0 && sv == Verdict::No =>
            {
                Some(fallback)
            }
            Verdict::Wait if server.seen >= MAX_SERVER_FIRST => {
                Some(server_says.unwrap_or(fallback))
            }
            Verdict::Wait => None,
        }
    }

    /// Replays both sides to a parser, the client's first. Direction `dir` is replayed as it was
    /// in `before`, then `chunk` (the chunk that led to the decision) is forwarded as is.
    pub(super) fn replay(
        &self,
        dir: Direction,
        before: &Side,
        chunk: Chunk<'_>,
        mut feed: impl FnMut(Direction, Chunk<'_>),
    ) {
        for d in [Direction::ToServer, Direction::ToClient] {
            let side = if d == dir { Some(before) } else { self.sides.get(d.index()) };
            if let Some(side) = side {
                side.replay(|c| feed(d, c));
            }
        }
        feed(dir, chunk);
    }
}

/// Verdict on the first bytes of the client-to-server stream.
fn client_verdict(probes: &Probes, prefix: &[u8], complete: bool) -> Verdict {
    match h2_preface_verdict(prefix, complete) {
        Verdict::No => {
            tls_verdict(prefix, complete, true).or(http_request_verdict(probes, prefix, complete))
        }
        v => v,
    }
}

/// The start of the HTTP/2 connection preface (`PRI * HTTP/2.0`; [`SNIFF_LEN`] bytes of it decide).
fn h2_preface_verdict(prefix: &[u8], complete: bool) -> Verdict {
    let want = &crate::http2::PREFACE[..SNIFF_LEN.min(crate::http2::PREFACE.len())];
    if prefix.len() >= want.len() && prefix.starts_with(want) {
        Verdict::Yes(Pick::Http2)
    } else if !complete && want.starts_with(prefix) {
        Verdict::Wait
    } else {
        Verdict::No
    }
}

/// Verdict on the first bytes of the server-to-client stream.
fn server_verdict(prefix: &[u8], complete: bool) -> Verdict {
    tls_verdict(prefix, complete, false).or(http_response_verdict(prefix, complete))
}

/// A TLS record header, or (client side) an SSLv2-compatible ClientHello.
fn tls_verdict(prefix: &[u8], complete: bool, client: bool) -> Verdict {
    let undecided = if complete { Verdict::No } else { Verdict::Wait };
    let Some(&first) = prefix.first() else {
        return undecided;
    };
    // Each check looks at a byte only if it is there; all must hold for the bytes present.
    let at = |i: usize| prefix.get(i).copied();
    let ok = |i: usize, f: &dyn Fn(u8) -> bool| at(i).is_none_or(f);
    let matches = if (20..=23).contains(&first) {
        let len = match (at(3), at(4)) {
            (Some(hi), Some(lo)) => Some(u16::from_be_bytes([hi, lo])),
            _ => None,
        };
        ok(1, &|b| b == 3)
            && ok(2, &|b| b <= 4)
            && len.is_none_or(|l| (1..=MAX_TLS_RECORD).contains(&l))
    } else if client && first & 0x80 != 0 {
        // SSLv2 record: 2-byte length with the high bit set, CLIENT-HELLO (1), version 2.0 or 3.x.
        let len = at(1).map(|lo| u16::from_be_bytes([first & 0x7f, lo]));
        len.is_none_or(|l| l >= 9 + 3)
            && ok(2, &|b| b == 1)
            && ok(3, &|b| b == 0 || b == 3)
            && match (at(3), at(4)) {
                (Some(0), Some(minor)) => minor == 2,
                (Some(_), Some(minor)) => minor <= 4,
                _ => true,
            }
    } else {
        false
    };
    match (matches, prefix.len() >= 5) {
        (false, _) => Verdict::No,
        (true, true) => Verdict::Yes(Pick::App(AppProto::Tls)),
        (true, false) => undecided,
    }
}

/// An HTTP request start, as [`crate::http::looks_like_request`] says once the method is delimited.
fn http_request_verdict(probes: &Probes, prefix: &[u8], complete: bool) -> Verdict {
    if prefix.is_empty() {
        return if complete { Verdict::No } else { Verdict::Wait };
    }
    if !complete && prefix.iter().all(|&b| is_tchar(b)) {
        return Verdict::Wait;
    }
    if (probes.http_request)(prefix) {
        Verdict::Yes(Pick::App(AppProto::Http))
    } else {
        Verdict::No
    }
}

/// A SOCKS4 request or SOCKS5 greeting ([`socks::sniff`]).
fn socks_verdict(prefix: &[u8], complete: bool) -> Verdict {
    match (socks::sniff(prefix), prefix.first()) {
        (socks::Sniffed::Yes, Some(&version)) => Verdict::Yes(Pick::Socks(version)),
        (socks::Sniffed::NeedMore, _) if !complete => Verdict::Wait,
        _ => Verdict::No,
    }
}

/// An HTTP/1.x status line start.
fn http_response_verdict(prefix: &[u8], complete: bool) -> Verdict {
    const START: &[u8] = b"HTTP/1.";
    if prefix.starts_with(START) {
        Verdict::Yes(Pick::App(AppProto::Http))
    } else if !complete && START.starts_with(prefix) {
        Verdict::Wait
    } else {
        Verdict::No
    }
}

/// A token character (RFC 9110 section 5.6.2), which a method is made of.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}
