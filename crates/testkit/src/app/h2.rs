//! HTTP/2 connections as bytes (RFC 9113): the client preface, SETTINGS, HEADERS (+
//! CONTINUATION when a block is longer than the frame size), DATA with optional padding. Header
//! blocks use HPACK literals without indexing (RFC 7541 §6.2.2), so no table state is shared:
//! enough to exercise a decoder's framing; the RFC examples and a real h2 client exercise the
//! table.

/// The client connection preface.
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// One message of a stream.
#[derive(Debug, Clone)]
pub struct H2Message {
    /// Stream id (odd for client-initiated streams).
    pub stream: u32,
    /// Fields, pseudo-header fields first (`:method`, `:path`, `:authority`, `:scheme` or
    /// `:status`).
    pub fields: Vec<(String, String)>,
    /// Body, sent in DATA frames of at most `max_frame` bytes.
    pub body: Vec<u8>,
}

impl H2Message {
    /// A request on `stream`.
    pub fn request(stream: u32, method: &str, authority: &str, path: &str) -> Self {
        let fields = vec![
            (":method".into(), method.into()),
            (":scheme".into(), "https".into()),
            (":authority".into(), authority.into()),
            (":path".into(), path.into()),
        ];
        Self { stream, fields, body: Vec::new() }
    }

    /// A response on `stream`.
    pub fn response(stream: u32, status: u16) -> Self {
        Self { stream, fields: vec![(":status".into(), status.to_string())], body: Vec::new() }
    }

    /// Adds a field.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.fields.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
}

/// An HPACK/QPACK integer with an `n`-bit prefix (RFC 7541 §5.1) after the bits of `first`.
pub fn hpack_int(out: &mut Vec<u8>, first: u8, n: u8, v: usize) {
    let max = (1usize << n) - 1;
    if v < max {
        out.push(first | v as u8);
        return;
    }
    out.push(first | max as u8);
    let mut v = v - max;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
}

/// An HPACK header block of literals without indexing, new names, no Huffman coding.
pub fn hpack_literals(fields: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (n, v) in fields {
        out.push(0);
        hpack_int(&mut out, 0, 7, n.len());
        out.extend_from_slice(n.as_bytes());
        hpack_int(&mut out, 0, 7, v.len());
        out.extend_from_slice(v.as_bytes());
    }
    out
}

/// A frame: 9-byte header and payload.
pub fn frame(typ: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, typ, flags];
    f.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// The frames of one message: HEADERS (+ CONTINUATION) then DATA, each at most `max_frame`
/// bytes of payload; DATA frames padded with `pad` bytes when non-zero.
pub fn message_frames(m: &H2Message, max_frame: usize, pad: u8) -> Vec<u8> {
    let max_frame = max_frame.max(16);
    let block = hpack_literals(&m.fields);
    let end_stream_on_headers = m.body.is_empty();
    let mut out = Vec::new();
    let mut parts = block.chunks(max_frame).peekable();
    let mut first = true;
    if block.is_empty() {
        out.extend(frame(1, 0x4 | u8::from(end_stream_on_headers), m.stream, &[]));
    }
    while let Some(part) = parts.next() {
        let last = parts.peek().is_none();
        let end_headers = if last { 0x4 } else { 0 };
        if first {
            let es = u8::from(end_stream_on_headers);
            out.extend(frame(1, end_headers | es, m.stream, part));
            first = false;
        } else {
            out.extend(frame(9, end_headers, m.stream, part));
        }
    }
    let room = max_frame.saturating_sub(usize::from(pad) + 1).max(1);
    let mut chunks = m.body.chunks(if pad > 0 { room } else { max_frame }).peekable();
    while let Some(part) = chunks.next() {
        let end = if chunks.peek().is_none() { 0x1 } else { 0 };
        if pad > 0 {
            let mut payload = vec![pad];
            payload.extend_from_slice(part);
            payload.extend(std::iter::repeat_n(0, usize::from(pad)));
            out.extend(frame(0, end | 0x8, m.stream, &payload));
        } else {
            out.extend(frame(0, end, m.stream, part));
        }
    }
    out
}

/// A client's side of a connection: preface, empty SETTINGS, then each request.
pub fn client(requests: &[H2Message]) -> Vec<u8> {
    let mut out = PREFACE.to_vec();
    out.extend(frame(4, 0, 0, &[]));
    for r in requests {
        out.extend(message_frames(r, 16_384, 0));
    }
    out
}

/// A server's side: SETTINGS, a SETTINGS ack, then each response.
pub fn server(responses: &[H2Message]) -> Vec<u8> {
    let mut out = frame(4, 0, 0, &[]);
    out.extend(frame(4, 1, 0, &[]));
    for r in responses {
        out.extend(message_frames(r, 16_384, 0));
    }
    out
}
