//! Application-protocol parsers: DNS, TLS (decrypted with logged secrets), QUIC Initial,
//! HTTP/1.x, HTTP/2 (and SOCKS handshakes).
//!
//! Contract:
//! - Parsers see only what the flow stage delivers: in-order stream [`flow::Chunk`]s per direction
//!   (with explicit gaps) or whole UDP datagrams. They never see packets.
//! - Every stream parser works when fed one byte at a time, buffers at most its named limit, and
//!   turns hostile input into a counted anomaly, never a panic or an endless loop.
//! - Output is typed [`Event`]s. No detection or output formatting lives here.
//! - [`Session`] picks the parser for a flow from its content (and, for DNS and SSDP, its port)
//!   and routes chunks to it; it looks into SOCKS and HTTP `CONNECT` tunnels and NULL-cipher TLS
//!   by detecting the protocol of what they carry. Names in events are lower-case with no
//!   trailing dot.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::net::{Ipv4Addr, Ipv6Addr};

pub mod dns;
pub mod http;
pub mod http2;
pub mod http3;
pub mod quic;
pub mod tls;

mod session;
mod socks;
pub mod websocket;
/// Per-flow protocol dispatcher. API: `Session::new(flow: &flow::FlowInfo)`,
/// `data(&mut self, flow, dir, chunk, out: &mut Vec<Event>, an: &mut Anomalies)`,
/// `protocol(&self) -> AppProto`, `encrypted(&self) -> bool`.
pub use session::{Session, SessionOptions};
pub use tls::decrypt::Decryption;
pub use tls::keylog::KeyLog;

/// Where a tunnel starts (an HTTP `CONNECT` answered with a 2xx, a SOCKS success), as the parser
/// of the outer protocol found it: [`Session`] detects the protocol of the rest of both directions
/// from these offsets on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handoff {
    /// Client-to-server stream offset of the tunnel's first byte.
    pub client_from: u64,
    /// Client bytes from `client_from` on that the parser already saw (sent before the answer).
    pub held: Vec<u8>,
    /// Client stream offset just past everything seen; bytes between `client_from + held.len()`
    /// and this were lost (not held) and are replayed as a gap.
    pub client_to: u64,
    /// The client's stream already ended.
    pub client_ended: bool,
    /// Server-to-client stream offset of the tunnel's first byte (just past the answer).
    pub server_from: u64,
    /// The tunnel is a WebSocket connection (`101` to an `Upgrade: websocket` request), with
    /// `permessage-deflate` when the second field is true.
    pub websocket: Option<bool>,
}

/// Application protocol of a flow, as recognised from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AppProto {
    /// Not decided yet (no payload seen).
    #[default]
    Unknown,
    /// DNS (UDP or TCP; also mDNS and LLMNR).
    Dns,
    /// TLS over TCP.
    Tls,
    /// QUIC (v1 or v2).
    Quic,
    /// HTTP/1.x.
    Http,
    /// Anything else: kept as an opaque stream.
    Other,
}

impl AppProto {
    /// Lower-case name as used in output (`dns`, `tls`, `quic`, `http`, `other`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown | Self::Other => "other",
            Self::Dns => "dns",
            Self::Tls => "tls",
            Self::Quic => "quic",
            Self::Http => "http",
        }
    }
}

/// A typed event from a parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A DNS question in a query message (QR = 0).
    DnsQuery(DnsQuery),
    /// One answer record of a DNS response (QR = 1).
    DnsAnswer(DnsAnswer),
    /// A TLS ClientHello (TLS over TCP).
    TlsClientHello(ClientHello),
    /// The server's chosen TLS version, from its ServerHello.
    TlsServerHello(ServerHello),
    /// The names of the server's certificate, from a TLS 1.0-1.2 Certificate message in the
    /// clear (or a decrypted TLS 1.3 one).
    TlsCertificate(CertNames),
    /// A QUIC client Initial whose ClientHello was decrypted.
    QuicInitial(QuicInitial),
    /// An HTTP request (HTTP/1.x, or HTTP/2 inside decrypted TLS).
    HttpRequest(HttpRequest),
    /// An HTTP response.
    HttpResponse(HttpResponse),
    /// A WebSocket text or binary message (after an HTTP/1.1 upgrade).
    WebSocketMessage(WebSocketMessage),
    /// Plaintext of a TLS connection (or of one QUIC stream) opened with keys whose content is
    /// no protocol we parse (MQTT, XMPP, vendor push, DNS over QUIC...), from its first byte:
    /// searched as a raw stream, as cleartext TCP is.
    DecryptedStream {
        /// The direction the bytes travel.
        dir: flow::Direction,
        /// The QUIC stream id; `None` for the one stream of a TLS connection.
        stream: Option<u64>,
        /// The piece of the stream.
        chunk: PlainChunk,
    },
    /// The events after it, up to the next `Turn`, are of direction `0`, not of the chunk that
    /// released them: plaintext of the other direction let out by this chunk (TLS records that
    /// waited for their secrets, opened when the other side's record or end came; a tunnel's
    /// client bytes replayed when its server answered). A batch that turns turns back before it
    /// ends. The pipeline consumes these markers; its observers never see them.
    Turn(flow::Direction),
}

/// A WebSocket message (RFC 6455), fragments joined, unmasked, decompressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocketMessage {
    /// Stream offset of its first frame.
    pub offset: u64,
    /// A text message (else binary).
    pub text: bool,
    /// The payload.
    pub data: Vec<u8>,
    /// Cut at [`websocket::MAX_MESSAGE`], or its decompression failed part way.
    pub truncated: bool,
}

/// A piece of the plaintext stream of one direction of a decrypted TLS connection or QUIC stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlainChunk {
    /// Bytes at this offset of the plaintext stream.
    Data {
        /// Offset of the first byte.
        offset: u64,
        /// The bytes.
        data: Vec<u8>,
    },
    /// Lost plaintext.
    Gap {
        /// Where the hole starts.
        offset: u64,
        /// Its length.
        len: u64,
    },
    /// The stream ended.
    End,
}

impl PlainChunk {
    /// The owned form of a reassembled chunk (datagrams are not stream pieces: `None`).
    pub(crate) fn of(chunk: flow::Chunk<'_>) -> Option<Self> {
        Some(match chunk {
            flow::Chunk::Data { offset, bytes } => Self::Data { offset, data: bytes.to_vec() },
            flow::Chunk::Gap { offset, len } => Self::Gap { offset, len },
            flow::Chunk::End => Self::End,
            flow::Chunk::Datagram(_) => return None,
        })
    }
}

/// A DNS question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsQuery {
    /// Transaction id.
    pub id: u16,
    /// Name asked for: lower-case, no trailing dot; non-printable bytes escaped as `\DDD`.
    pub name: String,
    /// Query type (1 = A, 28 = AAAA, 5 = CNAME, 65 = HTTPS...).
    pub qtype: u16,
}

/// One DNS answer record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsAnswer {
    /// Transaction id.
    pub id: u16,
    /// Owner name of the record (lower-case, no trailing dot).
    pub name: String,
    /// Record type.
    pub rtype: u16,
    /// Time to live in seconds.
    pub ttl: u32,
    /// Record data.
    pub data: RData,
}

/// DNS record data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RData {
    /// IPv4 address (A).
    A(Ipv4Addr),
    /// IPv6 address (AAAA).
    Aaaa(Ipv6Addr),
    /// Canonical name (CNAME), lower-case, no trailing dot.
    Cname(String),
    /// Another single-name record (NS, PTR, DNAME), lower-case, no trailing dot.
    Name(String),
    /// Anything else: the raw RDATA bytes.
    Raw(Vec<u8>),
}

/// What a client offered in its TLS ClientHello (from TLS over TCP or QUIC CRYPTO frames).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientHello {
    /// Server name (SNI host_name), lower-case, no trailing dot.
    pub sni: Option<String>,
    /// ALPN protocol names, in offered order.
    pub alpn: Vec<String>,
    /// Offered versions: the supported_versions extension if present (GREASE removed), else the
    /// legacy client_version.
    pub versions: Vec<u16>,
}

/// Names from the server's certificate (the first of the chain): who it says runs the server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CertNames {
    /// Subject organisation (`O=`).
    pub subject_org: Option<String>,
    /// Subject common name (`CN=`).
    pub subject_cn: Option<String>,
    /// Issuer organisation (the certificate authority).
    pub issuer_org: Option<String>,
}

/// The server's choice in its ServerHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// Selected version (supported_versions if present, else the legacy server_version).
    pub version: u16,
}

/// A decrypted QUIC client Initial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuicInitial {
    /// QUIC version (0x00000001 for v1, 0x6b3343cf for v2).
    pub version: u32,
    /// The ClientHello carried in its CRYPTO frames.
    pub hello: ClientHello,
}

/// One HTTP header, value kept as raw bytes (HTTP allows non-UTF-8 octets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Header name as sent.
    pub name: String,
    /// Header value as sent (obs-fold unfolded).
    pub value: Vec<u8>,
}

/// An HTTP message body after transfer decoding.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Body {
    /// Length of the body as sent, after removing chunked framing (before content decoding).
    pub wire_len: u64,
    /// The body after content decoding (gzip, deflate, br), at most [`http::MAX_BODY_DECODED`]
    /// bytes; the raw body if it is not content-encoded or decoding failed.
    pub data: Vec<u8>,
    /// True when `data` was cut at the limit or the body was incomplete (gap, end of stream).
    pub truncated: bool,
    /// Content-Encoding values applied (e.g. `["gzip"]`), in the order they were applied.
    pub content_encoding: Vec<String>,
    /// True when content decoding failed and `data` holds the raw bytes.
    pub decode_failed: bool,
}

/// The HTTP version of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpVersion {
    /// HTTP/1.x with this minor version (0 or 1).
    H1(u8),
    /// HTTP/2 (RFC 9113), decrypted from TLS.
    H2,
    /// HTTP/3 (RFC 9114), decrypted from QUIC.
    H3,
}

impl HttpVersion {
    /// As in a request line: `HTTP/1.1`, `HTTP/2`, `HTTP/3`.
    pub fn as_str(self) -> std::borrow::Cow<'static, str> {
        match self {
            Self::H1(0) => "HTTP/1.0".into(),
            Self::H1(1) => "HTTP/1.1".into(),
            Self::H1(m) => format!("HTTP/1.{m}").into(),
            Self::H2 => "HTTP/2".into(),
            Self::H3 => "HTTP/3".into(),
        }
    }
}

/// An HTTP request (HTTP/1.x, or HTTP/2 and HTTP/3 with their pseudo-header fields mapped to
/// method, URI and host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Stream offset (client-to-server) of the request line's first byte.
    pub offset: u64,
    /// Method.
    pub method: String,
    /// Request target as sent (not percent-decoded); HTTP/2 and HTTP/3: `:path` (or the
    /// `:authority` of a `CONNECT`).
    pub uri: String,
    /// Version.
    pub version: HttpVersion,
    /// HTTP/2 or HTTP/3 stream id.
    pub stream: Option<u64>,
    /// Host header value (HTTP/2, HTTP/3: `:authority`), lower-case, port removed.
    pub host: Option<String>,
    /// Headers in order (HTTP/2, HTTP/3: without the pseudo-header fields).
    pub headers: Vec<Header>,
    /// Body.
    pub body: Body,
}

/// An HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Stream offset (server-to-client) of the status line's first byte.
    pub offset: u64,
    /// Status code.
    pub status: u16,
    /// Version.
    pub version: HttpVersion,
    /// HTTP/2 or HTTP/3 stream id.
    pub stream: Option<u64>,
    /// Headers in order.
    pub headers: Vec<Header>,
    /// Body.
    pub body: Body,
}

/// Anomaly counters of the protocol stage, summed with `+=` (one field per named limit or oddity).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Anomalies {
    /// DNS messages that failed to parse (header, question or answer section), or were cut at
    /// [`dns::MAX_RECORDS_PER_SECTION`] records.
    pub dns_malformed: u64,
    /// DNS names cut by a loop, a forward pointer limit or length limit.
    pub dns_bad_name: u64,
    /// TLS records that were not a valid handshake where one was expected.
    pub tls_malformed: u64,
    /// TLS handshake messages larger than [`tls::MAX_HANDSHAKE_LEN`] (not buffered).
    pub tls_capped: u64,
    /// QUIC Initial packets that could not be decrypted or parsed.
    pub quic_undecryptable: u64,
    /// HTTP messages that failed to parse; the direction then stops being parsed.
    pub http_malformed: u64,
    /// HTTP header blocks larger than [`http::MAX_HEADER_BLOCK`].
    pub http_header_capped: u64,
    /// HTTP bodies cut at the decoded-size limit.
    pub http_body_capped: u64,
    /// HTTP transactions dropped because [`http::MAX_PENDING`] was hit.
    pub http_tx_capped: u64,
    /// HTTP/2 connection directions that stopped on a malformed frame or header block.
    pub http2_malformed: u64,
    /// HTTP/2 streams or body bytes dropped at [`http2::MAX_STREAMS`] or
    /// [`http2::MAX_BODY_BYTES`].
    pub http2_capped: u64,
    /// TLS directions not decrypted for want of memory ([`tls::decrypt::MAX_DECRYPT_MEMORY`]).
    pub tls_decrypt_capped: u64,
    /// Stream gaps that interrupted a parser.
    pub gaps: u64,
}

impl std::ops::AddAssign<&Self> for Anomalies {
    fn add_assign(&mut self, o: &Self) {
        self.dns_malformed += o.dns_malformed;
        self.dns_bad_name += o.dns_bad_name;
        self.tls_malformed += o.tls_malformed;
        self.tls_capped += o.tls_capped;
        self.quic_undecryptable += o.quic_undecryptable;
        self.http_malformed += o.http_malformed;
        self.http_header_capped += o.http_header_capped;
        self.http_body_capped += o.http_body_capped;
        self.http_tx_capped += o.http_tx_capped;
        self.http2_malformed += o.http2_malformed;
        self.http2_capped += o.http2_capped;
        self.tls_decrypt_capped += o.tls_decrypt_capped;
        self.gaps += o.gaps;
    }
}
