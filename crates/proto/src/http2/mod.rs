//! HTTP/2 (RFC 9113) from the plaintext of a decrypted TLS connection: frames, HPACK header
//! blocks with the dynamic table, CONTINUATION, padding, one message per stream, DATA joined into
//! bodies with the content coding undone.
//!
//! Each direction is read on its own: the client's starts with the connection preface, then
//! frames; the server's is frames. HEADERS (+ CONTINUATION) blocks are decoded in order by that
//! direction's HPACK decoder (PUSH_PROMISE blocks too, to keep the table in step; the promised
//! requests are not reported). A stream's message is complete at END_STREAM (trailers joined to
//! its headers); it is also given out, marked truncated, when the stream is reset or the
//! connection ends or breaks. Messages become the same [`Event::HttpRequest`] /
//! [`Event::HttpResponse`] as HTTP/1, with [`HttpVersion::H2`], the stream id, `:method`,
//! `:path` (or a CONNECT's `:authority`) and `:authority` as method, URI and host, and the other
//! fields as headers; 1xx responses are skipped.
//!
//! Bounds and anomalies: frames other than DATA are buffered up to
//! [`crate::http::MAX_HEADER_BLOCK`] (a header block as well, across CONTINUATIONs); DATA is
//! streamed. At most [`MAX_STREAMS`] messages are open per direction and [`MAX_BODY_BYTES`] of
//! their bodies held; beyond, `http2_capped` counts. A bad preface, a frame that breaks the rules
//! we rely on, or an HPACK error stops the direction (`http2_malformed`): the header table can no
//! longer be trusted. A gap stops it too (`gaps`).

use std::collections::BTreeMap;

use flow::{Chunk, Direction};

use crate::http::{MAX_BODY_DECODED, MAX_HEADER_BLOCK, body_from_raw, host_of};
use crate::{Anomalies, Event, Header, HttpRequest, HttpResponse, HttpVersion};
use hpack::{Decoder, Field};

pub mod hpack;
pub(crate) mod huffman;
#[cfg(test)]
mod tests;

/// The client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Messages open per direction.
pub const MAX_STREAMS: usize = 256;
/// Body bytes held per direction across its open messages.
pub const MAX_BODY_BYTES: usize = 16 << 20;

const DATA: u8 = 0;
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const PUSH_PROMISE: u8 = 5;
const CONTINUATION: u8 = 9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

/// A message being received on one stream.
#[derive(Debug, Default)]
struct Msg {
    offset: u64,
    fields: Vec<Field>,
    raw: Vec<u8>,
    wire_len: u64,
    capped: bool,
}

/// A header block being gathered (HEADERS or PUSH_PROMISE, then CONTINUATIONs).
#[derive(Debug)]
struct Block {
    stream: u32,
    offset: u64,
    end_stream: bool,
    promise: bool,
    bytes: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
enum Frame {
    /// Reading the 9-byte header; `have` bytes so far.
    Header { have: usize },
    /// Buffering a whole payload of this many more bytes.
    Buffer { left: usize },
    /// A DATA frame: `pad_len` still to read (PADDED), then `data` bytes, then `pad` to skip.
    Data { stream: u32, need_pad_len: bool, data: usize, pad: usize, end: bool },
    /// Skipping an uninteresting payload.
    Skip { left: usize },
}

#[derive(Debug)]
struct Half {
    client: bool,
    preface_left: usize,
    frame: Frame,
    hdr: [u8; 9],
    /// Stream offset of the current frame's first byte.
    frame_at: u64,
    buf: Vec<u8>,
    hpack: Decoder,
    block: Option<Block>,
    msgs: BTreeMap<u32, Msg>,
    body_bytes: usize,
    pos: u64,
    done: bool,
}

/// HTTP/2 parser for one connection.
#[derive(Debug)]
pub struct H2Parser {
    halves: [Half; 2],
    decode_responses: bool,
    ws: WsStreams,
}

impl Default for H2Parser {
    fn default() -> Self {
        Self::new(true)
    }
}

struct Cx<'a> {
    out: &'a mut Vec<Event>,
    an: &'a mut Anomalies,
    decode: bool,
    /// WebSocket streams (RFC 8441): their DATA is WebSocket frames.
    ws: &'a mut WsStreams,
}

/// Streams opened by an extended CONNECT with `:protocol websocket`, with a frame parser per
/// stream and direction; at most [`MAX_STREAMS`].
#[derive(Debug, Default)]
struct WsStreams {
    parsers: std::collections::HashMap<(u32, bool), crate::websocket::WsParser>,
    streams: std::collections::HashMap<u32, bool>,
}

impl H2Parser {
    /// A parser for a new connection; response bodies keep their content coding unless
    /// `decode_responses`.
    pub fn new(decode_responses: bool) -> Self {
        Self {
            halves: [Half::new(true), Half::new(false)],
            decode_responses,
            ws: WsStreams::default(),
        }
    }

    /// Plaintext of one direction; events are appended to `out`.
    pub fn data(
        &mut self,
        dir: Direction,
        chunk: Chunk<'_>,
        out: &mut Vec<Event>,
        an: &mut Anomalies,
    ) {
        let half = &mut self.halves[dir.index()];
        let decode = half.client || self.decode_responses;
        let mut cx = Cx { out, an, decode, ws: &mut self.ws };
        if half.done {
            return;
        }
        match chunk {
            Chunk::Data { bytes, .. } => half.feed(bytes, &mut cx),
            Chunk::Gap { .. } => {
                cx.an.gaps += 1;
                half.close(&mut cx);
            }
            Chunk::End => half.close(&mut cx),
            Chunk::Datagram(_) => {}
        }
    }
}

impl Half {
    fn new(client: bool) -> Self {
        Self {
            client,
            preface_left: if client { PREFACE.len() } else { 0 },
            frame: Frame::Header { have: 0 },
            hdr: [0; 9],
            frame_at: 0,
            buf: Vec::new(),
            hpack: Decoder::default(),
            block: None,
            msgs: BTreeMap::new(),
            body_bytes: 0,
            pos: 0,
            done: false,
        }
    }

    /// Ends the direction: open messages go out truncated.
    fn close(&mut self, cx: &mut Cx<'_>) {
        for (stream, msg) in std::mem::take(&mut self.msgs) {
            self.emit(stream, msg, true, cx);
        }
        self.done = true;
        self.buf = Vec::new();
        self.block = None;
    }

    fn malformed(&mut self, cx: &mut Cx<'_>) {
        cx.an.http2_malformed += 1;
        self.close(cx);
    }

    fn feed(&mut self, mut input: &[u8], cx: &mut Cx<'_>) {
        while !input.is_empty() && !self.done {
            if self.preface_left > 0 {
                let at = PREFACE.len() - self.preface_left;
                let n = self.preface_left.min(input.len());
                if input[..n] != PREFACE[at..at + n] {
                    return self.malformed(cx);
                }
                self.preface_left -= n;
                self.pos += n as u64;
                input = &input[n..];
                continue;
            }
            let used = match self.frame {
                Frame::Header { have } => {
                    let n = (9 - have).min(input.len());
                    self.hdr[have..have + n].copy_from_slice(&input[..n]);
                    if have == 0 {
                        self.frame_at = self.pos;
                    }
                    self.frame = Frame::Header { have: have + n };
                    if have + n == 9 {
                        self.on_header(cx);
                    }
                    n
                }
                Frame::Buffer { left } => {
                    let n = left.min(input.len());
                    self.buf.extend_from_slice(&input[..n]);
                    self.frame = Frame::Buffer { left: left - n };
                    if left == n {
                        self.frame = Frame::Header { have: 0 };
                        let payload = std::mem::take(&mut self.buf);
                        self.on_frame(&payload, cx);
                        self.buf = payload;
                        self.buf.clear();
                    }
                    n
                }
                Frame::Skip { left } => {
                    let n = left.min(input.len());
                    self.frame = if left == n {
                        Frame::Header { have: 0 }
                    } else {
                        Frame::Skip { left: left - n }
                    };
                    n
                }
                Frame::Data { stream, need_pad_len, data, pad, end } => {
                    self.data_bytes(input, stream, need_pad_len, data, pad, end, cx)
                }
            };
            self.pos += used as u64;
            input = &input[used..];
        }
    }

    fn on_header(&mut self, cx: &mut Cx<'_>) {
        let len = usize::from(self.hdr[0]) << 16
            | usize::from(self.hdr[1]) << 8
            | usize::from(self.hdr[2]);
        let (typ, flags) = (self.hdr[3], self.hdr[4]);
        let stream =
            u32::from_be_bytes([self.hdr[5], self.hdr[6], self.hdr[7], self.hdr[8]]) & 0x7fff_ffff;
        // A header block must be followed by its CONTINUATIONs and nothing else.
        if self.block.is_some() != (typ == CONTINUATION) {
            return self.malformed(cx);
        }
        self.frame = match typ {
            DATA => {
                let padded = flags & PADDED != 0;
                Frame::Data {
                    stream,
                    need_pad_len: padded,
                    data: len,
                    pad: 0,
                    end: flags & END_STREAM != 0,
                }
            }
            HEADERS | CONTINUATION | PUSH_PROMISE | RST_STREAM if len > MAX_HEADER_BLOCK => {
                return self.malformed(cx);
            }
            HEADERS | CONTINUATION | PUSH_PROMISE | RST_STREAM => Frame::Buffer { left: len },
            _ => Frame::Skip { left: len },
        };
        match self.frame {
            Frame::Buffer { left: 0 } => {
                self.frame = Frame::Header { have: 0 };
                self.on_frame(&[], cx);
            }
            Frame::Skip { left: 0 } => self.frame = Frame::Header { have: 0 },
            Frame::Data { data: 0, end, stream, .. } => {
                self.frame = Frame::Header { have: 0 };
                if end {
                    self.finish(stream, cx);
                }
            }
            _ => {}
        }
    }

    /// Bytes of a DATA frame's payload; returns how many were used.
    #[allow(clippy::too_many_arguments)]
    fn data_bytes(
        &mut self,
        input: &[u8],
        stream: u32,
        need_pad_len: bool,
        data: usize,
        pad: usize,
        end: bool,
        cx: &mut Cx<'_>,
    ) -> usize {
        if need_pad_len {
            let pad = usize::from(input[0]);
            let Some(data) = data.checked_sub(1 + pad) else {
                self.malformed(cx);
                return input.len();
            };
            self.frame = Frame::Data { stream, need_pad_len: false, data, pad, end };
            if data == 0 && pad == 0 {
                self.frame = Frame::Header { have: 0 };
                if end {
                    self.finish(stream, cx);
                }
            }
            return 1;
        }
        let n = data.min(input.len());
        if n > 0 {
            self.body(stream, &input[..n], cx);
        }
        let data = data - n;
        let m = if data == 0 { pad.min(input.len() - n) } else { 0 };
        let pad = pad - m;
        if data == 0 && pad == 0 {
            self.frame = Frame::Header { have: 0 };
            if end {
                self.finish(stream, cx);
            }
        } else {
            self.frame = Frame::Data { stream, need_pad_len: false, data, pad, end };
        }
        n + m
    }

    fn body(&mut self, stream: u32, bytes: &[u8], cx: &mut Cx<'_>) {
        if let Some(&deflate) = cx.ws.streams.get(&stream) {
            let dir = if self.client { Direction::ToServer } else { Direction::ToClient };
            let p = cx
                .ws
                .parsers
                .entry((stream, self.client))
                .or_insert_with(|| crate::websocket::WsParser::new(deflate));
            p.data(dir, Chunk::Data { offset: 0, bytes }, cx.out, cx.an);
            return;
        }
        let Some(msg) = self.msgs.get_mut(&stream) else { return };
        msg.wire_len += bytes.len() as u64;
        if msg.capped {
            return;
        }
        let room = MAX_BODY_DECODED
            .saturating_sub(msg.raw.len())
            .min(MAX_BODY_BYTES.saturating_sub(self.body_bytes));
        let keep = room.min(bytes.len());
        msg.raw.extend_from_slice(&bytes[..keep]);
        self.body_bytes += keep;
        if keep < bytes.len() {
            msg.capped = true;
            cx.an.http2_capped += 1;
        }
    }

    /// A buffered frame's whole payload (header in `hdr`).
    fn on_frame(&mut self, payload: &[u8], cx: &mut Cx<'_>) {
        let (typ, flags) = (self.hdr[3], self.hdr[4]);
        let stream =
            u32::from_be_bytes([self.hdr[5], self.hdr[6], self.hdr[7], self.hdr[8]]) & 0x7fff_ffff;
        match typ {
            RST_STREAM => {
                if let Some(msg) = self.msgs.remove(&stream) {
                    self.emit(stream, msg, true, cx);
                }
            }
            HEADERS | PUSH_PROMISE => {
                let Some(frag) = fragment(typ, flags, payload) else { return self.malformed(cx) };
                self.block = Some(Block {
                    stream,
                    offset: self.frame_at,
                    end_stream: typ == HEADERS && flags & END_STREAM != 0,
                    promise: typ == PUSH_PROMISE,
                    bytes: frag.to_vec(),
                });
                if flags & END_HEADERS != 0 {
                    self.end_block(cx);
                }
            }
            CONTINUATION => {
                let Some(b) = self.block.as_mut().filter(|b| b.stream == stream) else {
                    return self.malformed(cx);
                };
                if b.bytes.len() + payload.len() > MAX_HEADER_BLOCK {
                    return self.malformed(cx);
                }
                b.bytes.extend_from_slice(payload);
                if flags & END_HEADERS != 0 {
                    self.end_block(cx);
                }
            }
            _ => {}
        }
    }

    /// A complete header block.
    fn end_block(&mut self, cx: &mut Cx<'_>) {
        let Some(b) = self.block.take() else { return };
        let Ok(fields) = self.hpack.decode(&b.bytes) else { return self.malformed(cx) };
        if b.promise {
            return;
        }
        let informational =
            !self.client && fields.iter().any(|(n, v)| n == b":status" && v.first() == Some(&b'1'));
        if informational {
            return;
        }
        let open = self.msgs.len();
        match self.msgs.entry(b.stream) {
            // Trailers.
            std::collections::btree_map::Entry::Occupied(mut e) => {
                e.get_mut().fields.extend(fields)
            }
            std::collections::btree_map::Entry::Vacant(_) if open >= MAX_STREAMS => {
                cx.an.http2_capped += 1;
                return;
            }
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(Msg { offset: b.offset, fields, ..Msg::default() });
            }
        }
        // An extended CONNECT for WebSocket (RFC 8441): the request and its answer go out at
        // once; the stream's DATA from now on is WebSocket frames.
        let websocket = self.msgs.get(&b.stream).is_some_and(|m| {
            let has = |n: &[u8], v: &[u8]| m.fields.iter().any(|(fnm, fv)| fnm == n && fv == v);
            has(b":method", b"CONNECT") && has(b":protocol", b"websocket")
        });
        if self.client && websocket && cx.ws.streams.len() < MAX_STREAMS {
            let deflate = self.msgs.get(&b.stream).is_some_and(|m| {
                m.fields.iter().any(|(n, v)| {
                    n == b"sec-websocket-extensions"
                        && v.windows(18).any(|w| w == b"permessage-deflate")
                })
            });
            cx.ws.streams.insert(b.stream, deflate);
            self.finish(b.stream, cx);
        } else if b.end_stream || (!self.client && cx.ws.streams.contains_key(&b.stream)) {
            self.finish(b.stream, cx);
        }
    }

    fn finish(&mut self, stream: u32, cx: &mut Cx<'_>) {
        if let Some(msg) = self.msgs.remove(&stream) {
            self.emit(stream, msg, false, cx);
        }
    }

    fn emit(&mut self, stream: u32, msg: Msg, incomplete: bool, cx: &mut Cx<'_>) {
        self.body_bytes = self.body_bytes.saturating_sub(msg.raw.len());
        let m = Message {
            request: self.client,
            version: HttpVersion::H2,
            stream: u64::from(stream),
            offset: msg.offset,
            fields: msg.fields,
            raw: msg.raw,
            wire_len: msg.wire_len,
            incomplete,
            capped: msg.capped,
        };
        cx.out.push(m.event(cx.decode, cx.an));
    }
}

/// A complete HTTP/2 or HTTP/3 message: decoded fields and raw body.
pub(crate) struct Message {
    /// A request (client to server), else a response.
    pub(crate) request: bool,
    pub(crate) version: HttpVersion,
    pub(crate) stream: u64,
    pub(crate) offset: u64,
    pub(crate) fields: Vec<Field>,
    pub(crate) raw: Vec<u8>,
    pub(crate) wire_len: u64,
    pub(crate) incomplete: bool,
    pub(crate) capped: bool,
}

impl Message {
    /// The event: pseudo-header fields as method, URI, host or status, the others as headers,
    /// the body with its content coding undone (when `decode`).
    pub(crate) fn event(self, decode: bool, an: &mut Anomalies) -> Event {
        let mut pseudo: [Option<Vec<u8>>; 5] = Default::default();
        let mut headers = Vec::with_capacity(self.fields.len());
        for (name, value) in self.fields {
            let slot = match name.as_slice() {
                b":method" => Some(0),
                b":path" => Some(1),
                b":authority" => Some(2),
                b":status" => Some(3),
                b":scheme" | b":protocol" => Some(4),
                _ => None,
            };
            match slot {
                Some(i) => {
                    pseudo[i].get_or_insert(value);
                }
                None => headers
                    .push(Header { name: String::from_utf8_lossy(&name).into_owned(), value }),
            }
        }
        let body = body_from_raw(
            &headers,
            self.raw,
            self.wire_len,
            self.incomplete,
            self.capped,
            decode,
            an,
        );
        let text = |v: &Option<Vec<u8>>| {
            v.as_deref().map(String::from_utf8_lossy).unwrap_or_default().into_owned()
        };
        let stream = Some(self.stream);
        if self.request {
            let method = text(&pseudo[0]);
            let authority = pseudo[2].clone();
            let uri = if method == "CONNECT" { text(&pseudo[2]) } else { text(&pseudo[1]) };
            let host = authority.as_deref().and_then(host_of).or_else(|| {
                headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("host"))
                    .and_then(|h| host_of(&h.value))
            });
            Event::HttpRequest(HttpRequest {
                offset: self.offset,
                method,
                uri,
                version: self.version,
                stream,
                host,
                headers,
                body,
            })
        } else {
            let status = text(&pseudo[3]).parse().unwrap_or(0);
            Event::HttpResponse(HttpResponse {
                offset: self.offset,
                status,
                version: self.version,
                stream,
                headers,
                body,
            })
        }
    }
}

/// The header block fragment of a HEADERS or PUSH_PROMISE payload (padding, priority and
/// promised stream id removed).
fn fragment(typ: u8, flags: u8, payload: &[u8]) -> Option<&[u8]> {
    let mut p = payload;
    let mut pad = 0;
    if flags & PADDED != 0 {
        let (&n, rest) = p.split_first()?;
        pad = usize::from(n);
        p = rest;
    }
    if typ == HEADERS && flags & PRIORITY != 0 {
        p = p.get(5..)?;
    }
    if typ == PUSH_PROMISE {
        p = p.get(4..)?;
    }
    p.get(..p.len().checked_sub(pad)?)
}
