//! HTTP/3 (RFC 9114) over the streams of a decrypted QUIC connection, with QPACK (RFC 9204).
//!
//! The QUIC layer hands each stream's bytes in order per sending side ([`H3Conn::stream`]).
//! Bidirectional streams carry one message per direction: HEADERS (a QPACK field section), DATA
//! (joined into the body), trailers in a second HEADERS; the message is complete at the stream's
//! end (FIN) and becomes the same [`Event::HttpRequest`] / [`Event::HttpResponse`] as HTTP/1 and
//! HTTP/2, with [`HttpVersion::H3`] and the stream id. Unidirectional streams start with their
//! type: control (SETTINGS read for `SETTINGS_QPACK_MAX_TABLE_CAPACITY`), QPACK encoder (feeds
//! the sending side's dynamic table), QPACK decoder and push (skipped), others (skipped).
//! A field section that refers to entries not inserted yet is held until the encoder stream
//! brings them (at most [`MAX_BLOCKED`]; at the end of the connection it goes out with what is
//! known, marked truncated).
//!
//! Bounds: frame payloads other than DATA are buffered up to [`crate::http::MAX_HEADER_BLOCK`];
//! streams tracked [`MAX_STREAMS`]; body bytes held per side [`crate::http2::MAX_BODY_BYTES`].
//! Malformed frames or QPACK errors stop the stream (`http2_malformed` counts HTTP/2 and HTTP/3).

use std::collections::HashMap;

use flow::{Chunk, Direction};

use crate::http::{MAX_BODY_DECODED, MAX_HEADER_BLOCK};
use crate::http2::hpack::Field;
use crate::http2::{MAX_BODY_BYTES, Message};
use crate::tls::reader::Reader;
use crate::{Anomalies, Event, HttpVersion};
use qpack::Section;

pub mod qpack;

/// Streams tracked per connection.
pub const MAX_STREAMS: usize = 1024;
/// Field sections held while blocked on the encoder stream.
pub const MAX_BLOCKED: usize = 64;

const FRAME_DATA: u64 = 0x00;
const FRAME_HEADERS: u64 = 0x01;
const FRAME_SETTINGS: u64 = 0x04;
const STREAM_CONTROL: u64 = 0x00;
const STREAM_ENCODER: u64 = 0x02;
const SETTINGS_QPACK_MAX_TABLE_CAPACITY: u64 = 0x01;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A request or response stream.
    Message,
    Control,
    Encoder,
    /// Decoder, push, reserved: nothing to read.
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Header,
    /// Buffering a payload of this type, this many bytes to go.
    Buffer {
        typ: u64,
        left: u64,
    },
    Data {
        left: u64,
    },
    Skip {
        left: u64,
    },
}

#[derive(Debug, Default)]
struct Msg {
    offset: u64,
    fields: Vec<Field>,
    /// A field section not decodable yet (waiting for encoder-stream inserts).
    blocked: Option<Vec<u8>>,
    raw: Vec<u8>,
    wire_len: u64,
    capped: bool,
    ended: bool,
}

#[derive(Debug)]
struct Stream {
    sender: Direction,
    id: u64,
    kind: Option<Kind>,
    frame: Frame,
    /// Frame header bytes, or a buffered payload.
    buf: Vec<u8>,
    pos: u64,
    msg: Msg,
    done: bool,
}

/// HTTP/3 state of one QUIC connection.
#[derive(Debug)]
pub struct H3Conn {
    streams: HashMap<(u64, usize), Stream>,
    /// Decoders of the field sections each side sends, indexed by [`Direction::index`].
    qpack: [qpack::Decoder; 2],
    body_bytes: [usize; 2],
    decode_responses: bool,
    /// Stream keys with a message waiting for its field section to unblock.
    waiting: Vec<(u64, usize)>,
}

impl H3Conn {
    /// State for a new connection.
    pub fn new(decode_responses: bool) -> Self {
        Self {
            streams: HashMap::new(),
            qpack: [qpack::Decoder::default(), qpack::Decoder::default()],
            body_bytes: [0; 2],
            decode_responses,
            waiting: Vec::new(),
        }
    }

    /// In-order bytes (or the end, or a loss) of stream `id` as sent by `sender`; `client` is the
    /// side that opened the connection.
    pub fn stream(
        &mut self,
        client: Direction,
        sender: Direction,
        id: u64,
        chunk: Chunk<'_>,
        out: &mut Vec<Event>,
        an: &mut Anomalies,
    ) {
        let key = (id, sender.index());
        if !self.streams.contains_key(&key) {
            if self.streams.len() >= MAX_STREAMS {
                an.http2_capped += 1;
                return;
            }
            let bidi = id & 0x2 == 0;
            let s = Stream {
                sender,
                id,
                kind: bidi.then_some(Kind::Message),
                frame: Frame::Header,
                buf: Vec::new(),
                pos: 0,
                msg: Msg::default(),
                done: false,
            };
            self.streams.insert(key, s);
        }
        let Some(mut s) = self.streams.remove(&key) else { return };
        let decode = sender == client || self.decode_responses;
        match chunk {
            Chunk::Data { bytes, .. } => self.feed(&mut s, bytes, an),
            Chunk::Gap { .. } => {
                an.gaps += 1;
                s.done = true;
                s.msg.ended = true;
            }
            Chunk::End => s.msg.ended = true,
            Chunk::Datagram(_) => {}
        }
        let request = sender == client;
        if s.kind == Some(Kind::Message) && s.msg.ended && s.msg.blocked.is_none() {
            self.finish(&mut s, request, decode, false, out, an);
        } else if s.msg.blocked.is_some() && !self.waiting.contains(&key) {
            if self.waiting.len() >= MAX_BLOCKED {
                an.http2_capped += 1;
                s.msg.blocked = None;
            } else {
                self.waiting.push(key);
            }
        }
        let encoder = s.kind == Some(Kind::Encoder);
        // A finished message stream is forgotten (the QUIC layer delivers nothing past a FIN).
        let finished = s.done && s.kind == Some(Kind::Message) && s.msg.blocked.is_none();
        if !finished {
            self.streams.insert(key, s);
        }
        if encoder {
            self.unblock(client, sender, out, an);
        }
    }

    /// Ends the connection: messages still open or blocked go out, marked truncated.
    pub fn close(&mut self, client: Direction, out: &mut Vec<Event>, an: &mut Anomalies) {
        let mut keys: Vec<(u64, usize)> = self.streams.keys().copied().collect();
        keys.sort_unstable();
        for key in keys {
            let Some(mut s) = self.streams.remove(&key) else { continue };
            if s.kind != Some(Kind::Message) || s.done {
                continue;
            }
            let request = s.sender == client;
            let decode = request || self.decode_responses;
            if let Some(block) = s.msg.blocked.take()
                && let Ok(Section::Fields(f)) = self.qpack[s.sender.index()].section(&block)
            {
                s.msg.fields.extend(f);
            }
            if !s.msg.fields.is_empty() || !s.msg.raw.is_empty() {
                self.finish(&mut s, request, decode, true, out, an);
            }
        }
        self.waiting.clear();
    }

    /// Retries the field sections `sender` sent that were blocked.
    fn unblock(
        &mut self,
        client: Direction,
        sender: Direction,
        out: &mut Vec<Event>,
        an: &mut Anomalies,
    ) {
        let waiting = std::mem::take(&mut self.waiting);
        for key in waiting {
            let Some(mut s) = self.streams.remove(&key) else { continue };
            if s.sender == sender
                && let Some(block) = s.msg.blocked.take()
            {
                match self.qpack[sender.index()].section(&block) {
                    Ok(Section::Fields(f)) => s.msg.fields.extend(f),
                    Ok(Section::Blocked) => s.msg.blocked = Some(block),
                    Err(_) => {
                        an.http2_malformed += 1;
                        s.done = true;
                    }
                }
            }
            if s.msg.blocked.is_some() {
                self.waiting.push(key);
            } else if s.msg.ended && !s.done {
                let request = s.sender == client;
                let decode = request || self.decode_responses;
                self.finish(&mut s, request, decode, false, out, an);
            }
            self.streams.insert(key, s);
        }
    }

    fn finish(
        &mut self,
        s: &mut Stream,
        request: bool,
        decode: bool,
        incomplete: bool,
        out: &mut Vec<Event>,
        an: &mut Anomalies,
    ) {
        if s.done {
            return;
        }
        s.done = true;
        let msg = std::mem::take(&mut s.msg);
        let side = s.sender.index();
        self.body_bytes[side] = self.body_bytes[side].saturating_sub(msg.raw.len());
        if msg.fields.is_empty() && msg.raw.is_empty() {
            return;
        }
        let m = Message {
            request,
            version: HttpVersion::H3,
            stream: s.id,
            offset: msg.offset,
            fields: msg.fields,
            raw: msg.raw,
            wire_len: msg.wire_len,
            incomplete: incomplete || msg.blocked.is_some(),
            capped: msg.capped,
        };
        out.push(m.event(decode, an));
        s.buf = Vec::new();
    }

    fn feed(&mut self, s: &mut Stream, mut data: &[u8], an: &mut Anomalies) {
        while !data.is_empty() && !s.done {
            if s.kind.is_none() {
                // A unidirectional stream's type varint.
                s.buf.push(data[0]);
                data = &data[1..];
                s.pos += 1;
                if let Some(t) = Reader::new(&s.buf).varint() {
                    s.kind = Some(match t {
                        STREAM_CONTROL => Kind::Control,
                        STREAM_ENCODER => Kind::Encoder,
                        _ => Kind::Skip,
                    });
                    s.buf.clear();
                }
                continue;
            }
            match s.kind {
                Some(Kind::Skip) => return,
                Some(Kind::Encoder) => {
                    if self.qpack[s.sender.index()].encoder_stream(data).is_err() {
                        an.http2_malformed += 1;
                        s.done = true;
                    }
                    return;
                }
                _ => {}
            }
            let used = match s.frame {
                Frame::Header => {
                    if s.buf.is_empty() && s.msg.fields.is_empty() && s.msg.raw.is_empty() {
                        s.msg.offset = s.pos;
                    }
                    s.buf.push(data[0]);
                    let mut r = Reader::new(&s.buf);
                    if let (Some(typ), Some(len)) = (r.varint(), r.varint()) {
                        s.buf.clear();
                        s.frame = match typ {
                            FRAME_DATA if s.kind == Some(Kind::Message) => {
                                Frame::Data { left: len }
                            }
                            FRAME_HEADERS | FRAME_SETTINGS if len > MAX_HEADER_BLOCK as u64 => {
                                an.http2_malformed += 1;
                                s.done = true;
                                return;
                            }
                            FRAME_HEADERS | FRAME_SETTINGS => Frame::Buffer { typ, left: len },
                            _ => Frame::Skip { left: len },
                        };
                        if matches!(s.frame, Frame::Buffer { left: 0, .. }) {
                            self.frame_done(s, an);
                        }
                    } else if s.buf.len() > 16 {
                        an.http2_malformed += 1;
                        s.done = true;
                    }
                    1
                }
                Frame::Buffer { typ, left } => {
                    let n = (left as usize).min(data.len());
                    s.buf.extend_from_slice(&data[..n]);
                    s.frame = Frame::Buffer { typ, left: left - n as u64 };
                    if left == n as u64 {
                        self.frame_done(s, an);
                    }
                    n
                }
                Frame::Data { left } => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                    self.body(s, &data[..n], an);
                    s.frame = if left == n as u64 {
                        Frame::Header
                    } else {
                        Frame::Data { left: left - n as u64 }
                    };
                    n
                }
                Frame::Skip { left } => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                    s.frame = if left == n as u64 {
                        Frame::Header
                    } else {
                        Frame::Skip { left: left - n as u64 }
                    };
                    n
                }
            };
            data = &data[used..];
            s.pos += used as u64;
        }
    }

    fn body(&mut self, s: &mut Stream, bytes: &[u8], an: &mut Anomalies) {
        let side = s.sender.index();
        s.msg.wire_len += bytes.len() as u64;
        if s.msg.capped {
            return;
        }
        let room = MAX_BODY_DECODED
            .saturating_sub(s.msg.raw.len())
            .min(MAX_BODY_BYTES.saturating_sub(self.body_bytes[side]));
        let keep = room.min(bytes.len());
        s.msg.raw.extend_from_slice(&bytes[..keep]);
        self.body_bytes[side] += keep;
        if keep < bytes.len() {
            s.msg.capped = true;
            an.http2_capped += 1;
        }
    }

    /// A buffered frame payload is complete.
    fn frame_done(&mut self, s: &mut Stream, an: &mut Anomalies) {
        let Frame::Buffer { typ, .. } = s.frame else { return };
        s.frame = Frame::Header;
        let payload = std::mem::take(&mut s.buf);
        match (typ, s.kind) {
            (FRAME_HEADERS, Some(Kind::Message)) => {
                if s.msg.blocked.is_some() {
                    // Trailers behind a blocked header section: kept only when it unblocks.
                    return;
                }
                match self.qpack[s.sender.index()].section(&payload) {
                    Ok(Section::Fields(f)) => s.msg.fields.extend(f),
                    Ok(Section::Blocked) => s.msg.blocked = Some(payload),
                    Err(_) => {
                        an.http2_malformed += 1;
                        s.done = true;
                    }
                }
            }
            (FRAME_SETTINGS, Some(Kind::Control)) => {
                let mut r = Reader::new(&payload);
                while let (Some(id), Some(v)) = (r.varint(), r.varint()) {
                    if id == SETTINGS_QPACK_MAX_TABLE_CAPACITY {
                        // The sender decodes with this table: it bounds what the other side sends.
                        let other = 1 - s.sender.index();
                        self.qpack[other].set_max_capacity(v);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
