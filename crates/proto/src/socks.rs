//! SOCKS 4, 4a and 5 handshakes (RFC 1928, RFC 1929, and the de-facto SOCKS4/4a documents): where
//! the tunnel starts in each direction, so that [`crate::Session`] can detect the protocol inside
//! (zeek's `socks-with-ssl` capture: TLS through a SOCKS5 proxy).
//!
//! Contract:
//! - [`sniff`] recognises a client that starts with a SOCKS4 request or a SOCKS5 greeting. The
//!   session asks it only while the server has said nothing (a SOCKS server never speaks first)
//!   and never on a DNS port (a DNS-over-TCP length prefix can look like a SOCKS greeting).
//! - [`SocksParser`] reads the handshake messages of both directions, fed in pieces of any size:
//!   client greeting, optional username/password (RFC 1929) and request (SOCKS5), or the request
//!   (SOCKS4/4a); server method selection, optional authentication status and reply. Every
//!   message is self-delimiting, so the client's request end is known exactly even when the client
//!   sends tunnel data before the reply ("optimistic data"); such bytes are held (at most
//!   [`MAX_HELD`]) and handed over.
//! - A success reply opens the tunnel: [`Step::Open`] gives the offsets where the tunnel starts in
//!   both directions, with the held client bytes. A refusal, a method we cannot follow (GSSAPI,
//!   private methods with their own framing), a message that is not SOCKS, a gap or an end before
//!   the success gives [`Step::Failed`]: the session then treats the flow as opaque.
//! - Each message is buffered in at most [`MAX_MESSAGE`] bytes; nothing is emitted (the handshake
//!   carries no event; the destination is named by what the tunnel carries).

use flow::{Chunk, Direction};

use crate::Handoff;

/// Longest handshake message buffered: a SOCKS4a request with a 255-byte user id and a 255-byte
/// host name, or an RFC 1929 request with 255-byte user name and password (513 bytes).
pub(crate) const MAX_MESSAGE: usize = 8 + 2 * 256;

/// Client bytes held when the client sends tunnel data before the server's reply.
pub(crate) const MAX_HELD: usize = 16 * 1024;

/// Most methods a SOCKS5 greeting may offer to be recognised by [`sniff`] (the greeting must fit
/// the session's sniffing buffer).
pub(crate) const MAX_SNIFF_METHODS: u8 = 14;

/// What the first client bytes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniffed {
    /// A SOCKS4 request or a SOCKS5 greeting.
    Yes,
    /// Not SOCKS.
    No,
    /// Too short to tell.
    NeedMore,
}

/// Recognises the start of a client stream: a SOCKS5 greeting (`05`, method count 1 to
/// [`MAX_SNIFF_METHODS`], known or private method codes, followed by nothing or by the start of
/// the next client message), or a SOCKS4 request (`04`, CONNECT or BIND, a non-zero port, then a
/// printable user id).
pub(crate) fn sniff(prefix: &[u8]) -> Sniffed {
    match prefix {
        [] | [5] | [4] | [4, 1 | 2] => Sniffed::NeedMore,
        [5, n, rest @ ..] => {
            if *n == 0 || *n > MAX_SNIFF_METHODS {
                return Sniffed::No;
            }
            let n = usize::from(*n);
            let known = |m: &u8| *m <= 0x09 || (0x80..=0xfe).contains(m);
            if !rest.iter().take(n).all(known) {
                Sniffed::No
            } else if rest.len() < n {
                Sniffed::NeedMore
            } else if rest.get(n).is_none_or(|&b| b == 1 || b == 5) {
                Sniffed::Yes
            } else {
                Sniffed::No
            }
        }
        [4, 1 | 2, rest @ ..] => {
            if rest.get(..2).is_some_and(|port| port == [0, 0]) {
                return Sniffed::No;
            }
            let Some(user) = rest.get(6..) else { return Sniffed::NeedMore };
            let id = user.iter().take_while(|&&b| b != 0);
            if user.is_empty() {
                Sniffed::NeedMore
            } else if id.clone().all(|&b| (b' '..=b'~').contains(&b)) {
                Sniffed::Yes
            } else {
                Sniffed::No
            }
        }
        _ => Sniffed::No,
    }
}

/// What a chunk did to the handshake.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// The handshake goes on.
    More,
    /// Not a SOCKS handshake we can follow, or refused: the flow is opaque.
    Failed,
    /// The server accepted: the tunnel starts here.
    Open(Handoff),
}

/// The kind of the next message of a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Msg {
    /// SOCKS5 client greeting: `05 n methods[n]`.
    Greeting,
    /// SOCKS5 client message after the greeting: RFC 1929 authentication (`01`) or the request
    /// (`05`).
    AuthOrRequest,
    /// SOCKS4/4a request: `04 cmd port ip userid 00 [host 00]`.
    Request4,
    /// SOCKS5 method selection: `05 method`.
    Selection,
    /// RFC 1929 status: `01 status`.
    AuthStatus,
    /// SOCKS5 reply: `05 rep 00 atyp addr port`.
    Reply5,
    /// SOCKS4 reply: `00 rep port ip`.
    Reply4,
    /// Nothing more expected.
    Done,
}

/// Length of a complete message of kind `msg` starting with `buf`: `Ok(Some(n))` when known (the
/// message may be longer than what is buffered), `Ok(None)` when one more byte is needed to know,
/// `Err` when `buf` cannot start such a message.
fn msg_len(msg: Msg, buf: &[u8]) -> Result<Option<usize>, ()> {
    let at = |i: usize| buf.get(i).copied();
    let addr_len = |atyp: Option<u8>, first: Option<u8>| match (atyp, first) {
        (Some(1), _) => Ok(Some(4 + 4 + 2)),
        (Some(4), _) => Ok(Some(4 + 16 + 2)),
        (Some(3), Some(n)) => Ok(Some(5 + usize::from(n) + 2)),
        (None, _) | (Some(3), None) => Ok(None),
        _ => Err(()),
    };
    match msg {
        Msg::Greeting => Ok(at(1).map(|n| 2 + usize::from(n))),
        Msg::AuthOrRequest => match at(0) {
            None => Ok(None),
            Some(1) => {
                let Some(ulen) = at(1) else { return Ok(None) };
                let plen_at = 2 + usize::from(ulen);
                Ok(at(plen_at).map(|plen| plen_at + 1 + usize::from(plen)))
            }
            Some(5) => addr_len(at(3), at(4)),
            Some(_) => Err(()),
        },
        Msg::Request4 => {
            // Up to two NUL-terminated strings after the 8 fixed bytes: the user id, then the
            // host name if the address is 0.0.0.x with x != 0 (SOCKS4a).
            let socks4a = matches!(buf.get(4..8), Some([0, 0, 0, x]) if *x != 0);
            let strings = if socks4a { 2 } else { 1 };
            let mut nuls = 0;
            for (i, &b) in buf.iter().enumerate().skip(8) {
                if b == 0 {
                    nuls += 1;
                    if nuls == strings {
                        return Ok(Some(i + 1));
                    }
                }
            }
            Ok(None)
        }
        Msg::Selection | Msg::AuthStatus => Ok(Some(2)),
        Msg::Reply5 => addr_len(at(3), at(4)),
        Msg::Reply4 => Ok(Some(8)),
        Msg::Done => Err(()),
    }
}

/// A complete message: its kind and bytes.
type Complete = (Msg, Vec<u8>);

/// One direction: the message being gathered.
#[derive(Debug)]
struct Reader {
    next: Msg,
    /// Bytes of the message so far. Invariant: `buf.len() <= MAX_MESSAGE`.
    buf: Vec<u8>,
    /// Stream offset just past the bytes seen.
    pos: Option<u64>,
}

impl Reader {
    fn new(first: Msg) -> Self {
        Self { next: first, buf: Vec::new(), pos: None }
    }

    /// Gathers bytes of the current message from `data`; returns the bytes used and, once the
    /// message is complete, the message (kind and bytes).
    fn take(&mut self, data: &[u8]) -> Result<(usize, Option<Complete>), ()> {
        let mut used = 0;
        loop {
            let need = match msg_len(self.next, &self.buf)? {
                Some(n) if n > MAX_MESSAGE => return Err(()),
                Some(n) if n <= self.buf.len() => {
                    let msg = (self.next, std::mem::take(&mut self.buf));
                    return Ok((used, Some(msg)));
                }
                Some(n) => n - self.buf.len(),
                None if self.buf.len() >= MAX_MESSAGE => return Err(()),
                None => 1,
            };
            let Some(rest) = data.get(used..).filter(|r| !r.is_empty()) else {
                return Ok((used, None));
            };
            let n = need.min(rest.len());
            self.buf.extend_from_slice(rest.get(..n).unwrap_or_default());
            used += n;
        }
    }
}

/// SOCKS handshake of one TCP flow.
#[derive(Debug)]
pub(crate) struct SocksParser {
    /// Client to server.
    client: Reader,
    /// Server to client.
    server: Reader,
    /// Stream offset just past the client's request, once it is complete.
    request_end: Option<u64>,
    /// Client bytes after the request (sent before the reply). Invariant: `len <= MAX_HELD`.
    held: Vec<u8>,
    /// More than [`MAX_HELD`] bytes, or a gap, came after the request: `held` is not complete.
    held_lost: bool,
    /// The client's stream ended.
    client_ended: bool,
}

impl SocksParser {
    /// A parser for a flow whose client started as [`sniff`] recognised (`first`: its first byte,
    /// 4 or 5).
    pub(crate) fn new(first: u8) -> Self {
        let (c, s) =
            if first == 4 { (Msg::Request4, Msg::Reply4) } else { (Msg::Greeting, Msg::Selection) };
        Self {
            client: Reader::new(c),
            server: Reader::new(s),
            request_end: None,
            held: Vec::new(),
            held_lost: false,
            client_ended: false,
        }
    }

    /// One chunk of the flow.
    pub(crate) fn data(&mut self, dir: Direction, chunk: Chunk<'_>) -> Step {
        let ok = match (dir, chunk) {
            (_, Chunk::Datagram(_)) => true,
            (Direction::ToServer, Chunk::Data { offset, bytes }) => self.client_data(offset, bytes),
            (Direction::ToServer, Chunk::Gap { offset, len }) => {
                self.client.pos = Some(offset.saturating_add(len));
                self.held_lost = true;
                self.request_end.is_some()
            }
            (Direction::ToServer, Chunk::End) => {
                self.client_ended = true;
                self.request_end.is_some()
            }
            (Direction::ToClient, Chunk::Data { offset, bytes }) => {
                return self.server_data(offset, bytes);
            }
            (Direction::ToClient, Chunk::Gap { .. } | Chunk::End) => false,
        };
        if ok { Step::More } else { Step::Failed }
    }

    /// Client bytes; false if they are not a SOCKS handshake.
    fn client_data(&mut self, offset: u64, bytes: &[u8]) -> bool {
        let mut off = offset;
        let mut rest = bytes;
        while !rest.is_empty() && self.request_end.is_none() {
            let Ok((used, msg)) = self.client.take(rest) else { return false };
            rest = rest.get(used..).unwrap_or_default();
            off = off.saturating_add(used as u64);
            match msg {
                None => {}
                Some((Msg::Greeting, m)) if m.first() == Some(&5) && m.len() > 2 => {
                    self.client.next = Msg::AuthOrRequest;
                }
                // RFC 1929 username/password: the request follows.
                Some((Msg::AuthOrRequest, m)) if m.first() == Some(&1) => {}
                Some((Msg::AuthOrRequest | Msg::Request4, m))
                    if matches!(m.get(1), Some(1..=3)) =>
                {
                    self.client.next = Msg::Done;
                    self.request_end = Some(off);
                }
                Some(_) => return false,
            }
        }
        if !rest.is_empty() && !self.held_lost {
            if self.held.len() + rest.len() > MAX_HELD {
                self.held = Vec::new();
                self.held_lost = true;
            } else {
                self.held.extend_from_slice(rest);
            }
        }
        self.client.pos = Some(offset.saturating_add(bytes.len() as u64));
        true
    }

    /// Server bytes.
    fn server_data(&mut self, offset: u64, bytes: &[u8]) -> Step {
        let mut off = offset;
        let mut rest = bytes;
        while !rest.is_empty() {
            let Ok((used, msg)) = self.server.take(rest) else { return Step::Failed };
            rest = rest.get(used..).unwrap_or_default();
            off = off.saturating_add(used as u64);
            let Some((kind, m)) = msg else { continue };
            let (first, code) = (m.first().copied(), m.get(1).copied());
            self.server.next = match (kind, first, code) {
                (Msg::Selection, Some(5), Some(0)) => Msg::Reply5,
                (Msg::Selection, Some(5), Some(2)) => Msg::AuthStatus,
                (Msg::AuthStatus, Some(1 | 5), Some(0)) => Msg::Reply5,
                (Msg::Reply5, Some(5), Some(0)) | (Msg::Reply4, Some(0 | 4), Some(0x5a)) => {
                    return self.open(off);
                }
                _ => return Step::Failed,
            };
        }
        Step::More
    }

    /// The success reply ended at server offset `server_from`.
    fn open(&mut self, server_from: u64) -> Step {
        let Some(client_from) = self.request_end else { return Step::Failed };
        let held = if self.held_lost { Vec::new() } else { std::mem::take(&mut self.held) };
        Step::Open(Handoff {
            client_from,
            held,
            client_to: self.client.pos.unwrap_or(client_from).max(client_from),
            client_ended: self.client_ended,
            server_from,
            websocket: None,
        })
    }
}
