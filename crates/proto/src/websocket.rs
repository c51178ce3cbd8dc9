//! WebSocket (RFC 6455) after an HTTP/1.1 upgrade, or inside an HTTP/2 extended CONNECT stream
//! (RFC 8441): frames of both directions, client frames unmasked, fragmented messages joined,
//! `permessage-deflate` (RFC 7692) undone, each text or binary message one
//! [`Event::WebSocketMessage`].
//!
//! Bounds: a message is kept up to [`MAX_MESSAGE`] bytes (beyond: cut and marked truncated);
//! a frame header is at most 14 bytes. A reserved opcode or a gap stops the direction (counted
//! `gaps` for a gap, `http_malformed` otherwise).

use flate2::Decompress;
use flow::{Chunk, Direction};

use crate::http::decode::{SCRATCH, inflate_with};
use crate::{Anomalies, Event, WebSocketMessage};

/// Largest message kept (decompressed).
pub const MAX_MESSAGE: usize = 1 << 20;

#[derive(Debug)]
struct Half {
    hdr: Vec<u8>,
    /// Payload bytes left in the current frame, its mask and where in the mask.
    left: u64,
    mask: Option<[u8; 4]>,
    mask_at: usize,
    opcode: u8,
    /// The frame being read is a control frame (its payload is skipped).
    control: bool,
    /// The message being assembled.
    msg: Vec<u8>,
    msg_opcode: u8,
    compressed: bool,
    truncated: bool,
    offset: u64,
    pos: u64,
    inflate: Option<Decompress>,
    done: bool,
}

impl Half {
    fn new(deflate: bool) -> Self {
        Self {
            hdr: Vec::new(),
            left: 0,
            mask: None,
            mask_at: 0,
            opcode: 0,
            control: false,
            msg: Vec::new(),
            msg_opcode: 0,
            compressed: false,
            truncated: false,
            offset: 0,
            pos: 0,
            inflate: deflate.then(|| Decompress::new(false)),
            done: false,
        }
    }
}

/// The WebSocket state of one connection.
#[derive(Debug)]
pub struct WsParser {
    halves: [Half; 2],
}

impl WsParser {
    /// A parser; `deflate` when the handshake agreed on `permessage-deflate`.
    pub fn new(deflate: bool) -> Self {
        Self { halves: [Half::new(deflate), Half::new(deflate)] }
    }

    /// Stream data of one direction (offsets as the stream's).
    pub fn data(
        &mut self,
        dir: Direction,
        chunk: Chunk<'_>,
        out: &mut Vec<Event>,
        an: &mut Anomalies,
    ) {
        let h = &mut self.halves[dir.index()];
        if h.done {
            return;
        }
        match chunk {
            Chunk::Data { offset, bytes } => {
                if h.pos == 0 {
                    h.pos = offset;
                }
                feed(h, bytes, out, an);
            }
            Chunk::Gap { .. } => {
                an.gaps += 1;
                h.done = true;
            }
            Chunk::End | Chunk::Datagram(_) => h.done = true,
        }
    }
}

/// The messages of a whole byte string of frames (HTTP/2 extended CONNECT bodies).
pub fn messages(data: &[u8], deflate: bool, out: &mut Vec<Event>, an: &mut Anomalies) {
    let mut h = Half::new(deflate);
    feed(&mut h, data, out, an);
}

fn feed(h: &mut Half, mut data: &[u8], out: &mut Vec<Event>, an: &mut Anomalies) {
    while !data.is_empty() && !h.done {
        if h.left == 0 && !header_done(h) {
            h.hdr.push(data[0]);
            data = &data[1..];
            h.pos += 1;
            if header_done(h) {
                start_frame(h, out, an);
            }
            continue;
        }
        let n = usize::try_from(h.left).unwrap_or(usize::MAX).min(data.len());
        let (part, rest) = data.split_at(n);
        data = rest;
        h.pos += n as u64;
        h.left -= n as u64;
        if !h.control {
            let room = MAX_MESSAGE.saturating_sub(h.msg.len());
            let start = h.msg.len();
            h.msg.extend_from_slice(&part[..room.min(part.len())]);
            h.truncated |= room < part.len();
            if let Some(m) = h.mask {
                for (i, b) in h.msg[start..].iter_mut().enumerate() {
                    *b ^= m[(h.mask_at + i) % 4];
                }
            }
        }
        h.mask_at = (h.mask_at + n) % 4;
        if h.left == 0 {
            end_frame(h, out);
        }
    }
}

/// True once `h.hdr` holds a whole frame header.
fn header_done(h: &Half) -> bool {
    let Some(&b1) = h.hdr.get(1) else { return false };
    let ext = match b1 & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    h.hdr.len() >= 2 + ext + if b1 & 0x80 != 0 { 4 } else { 0 }
}

fn start_frame(h: &mut Half, out: &mut Vec<Event>, an: &mut Anomalies) {
    let hdr = std::mem::take(&mut h.hdr);
    let (b0, b1) = (hdr[0], hdr[1]);
    let opcode = b0 & 0x0f;
    if !matches!(opcode, 0 | 1 | 2 | 8 | 9 | 10) {
        an.http_malformed += 1;
        h.done = true;
        return;
    }
    let (len, at) = match b1 & 0x7f {
        126 => (u64::from(u16::from_be_bytes([hdr[2], hdr[3]])), 4),
        127 => (u64::from_be_bytes(hdr[2..10].try_into().unwrap_or_default()), 10),
        n => (u64::from(n), 2),
    };
    h.mask = (b1 & 0x80 != 0).then(|| hdr[at..at + 4].try_into().unwrap_or_default());
    h.mask_at = 0;
    h.left = len;
    h.control = opcode >= 8;
    h.opcode = b0;
    if !h.control && opcode != 0 {
        h.msg.clear();
        h.msg_opcode = opcode;
        h.compressed = b0 & 0x40 != 0;
        h.truncated = false;
        h.offset = h.pos - hdr.len() as u64;
    }
    if len == 0 {
        end_frame(h, out);
    }
}

fn end_frame(h: &mut Half, out: &mut Vec<Event>) {
    if h.control || h.opcode & 0x80 == 0 {
        return; // a control frame, or more fragments to come
    }
    let mut data = std::mem::take(&mut h.msg);
    if h.compressed
        && let Some(z) = h.inflate.as_mut()
    {
        data.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let mut plain = Vec::new();
        // The window carries over from earlier messages; a corrupt stream keeps what inflated
        // before the error.
        if let Ok(r) = inflate_with(z, &mut vec![0u8; SCRATCH], &data, &mut plain, MAX_MESSAGE) {
            h.truncated |= r.capped;
        }
        data = plain;
    }
    out.push(Event::WebSocketMessage(WebSocketMessage {
        offset: h.offset,
        text: h.msg_opcode == 1,
        data,
        truncated: h.truncated,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(opcode: u8, fin: bool, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![opcode | if fin { 0x80 } else { 0 }];
        let m = if mask.is_some() { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => f.push(m | n as u8),
            n if n < 65536 => {
                f.push(m | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(m | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        match mask {
            Some(k) => {
                f.extend_from_slice(&k);
                f.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
            }
            None => f.extend_from_slice(payload),
        }
        f
    }

    fn texts(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::WebSocketMessage(m) => Some(String::from_utf8_lossy(&m.data).into_owned()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn masked_fragmented_and_control_frames_at_every_split() {
        let k = Some([0x37, 0xfa, 0x21, 0x3d]);
        let mut s = frame(1, false, k, b"{\"imei\":\"4901542");
        s.extend(frame(9, true, k, b"ping"));
        s.extend(frame(0, true, k, b"03237518\"}"));
        s.extend(frame(2, true, k, &vec![b'x'; 300]));
        for cut in 0..=s.len() {
            let mut p = WsParser::new(false);
            let (mut out, mut an) = (Vec::new(), Anomalies::default());
            p.data(
                Direction::ToServer,
                Chunk::Data { offset: 100, bytes: &s[..cut] },
                &mut out,
                &mut an,
            );
            p.data(
                Direction::ToServer,
                Chunk::Data { offset: 100 + cut as u64, bytes: &s[cut..] },
                &mut out,
                &mut an,
            );
            assert_eq!(texts(&out)[0], "{\"imei\":\"490154203237518\"}", "cut {cut}");
            assert_eq!(out.len(), 2);
            let Event::WebSocketMessage(m) = &out[0] else { panic!() };
            assert!(m.text && m.offset == 100);
        }
    }

    #[test]
    fn permessage_deflate_with_context_takeover() {
        use std::io::Write;
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(b"{\"imsi\":\"466920123456789\"}").unwrap();
        z.flush().unwrap();
        let first = z.get_ref().clone();
        z.write_all(b"{\"imsi\":\"466920123456789\"}").unwrap();
        z.flush().unwrap();
        let second = z.get_ref()[first.len()..].to_vec();
        let strip = |b: &[u8]| b.strip_suffix(&[0, 0, 0xff, 0xff]).unwrap_or(b).to_vec();
        let mut s = frame(1 | 0x40, true, None, &strip(&first));
        s.extend(frame(1 | 0x40, true, None, &strip(&second)));
        let (mut out, mut an) = (Vec::new(), Anomalies::default());
        messages(&s, true, &mut out, &mut an);
        assert_eq!(texts(&out), vec!["{\"imsi\":\"466920123456789\"}"; 2]);
    }

    #[test]
    fn a_compressed_message_inflates_to_the_cap_and_says_truncated() {
        use std::io::Write;
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&vec![b'7'; MAX_MESSAGE + 4096]).unwrap();
        z.flush().unwrap();
        let small = frame(2 | 0x40, true, None, z.get_ref());
        let (mut out, mut an) = (Vec::new(), Anomalies::default());
        messages(&small, true, &mut out, &mut an);
        let Some(Event::WebSocketMessage(m)) = out.first() else { panic!("{out:?}") };
        assert_eq!(m.data.len(), MAX_MESSAGE);
        assert!(m.truncated && m.data.iter().all(|&b| b == b'7'));
        // Just under the cap: whole, not truncated.
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&vec![b'7'; MAX_MESSAGE - 1]).unwrap();
        z.flush().unwrap();
        let (mut out, mut an) = (Vec::new(), Anomalies::default());
        messages(&frame(2 | 0x40, true, None, z.get_ref()), true, &mut out, &mut an);
        let Some(Event::WebSocketMessage(m)) = out.first() else { panic!("{out:?}") };
        assert_eq!((m.data.len(), m.truncated), (MAX_MESSAGE - 1, false));
    }

    #[test]
    fn reserved_opcodes_and_huge_lengths_are_bounded() {
        let (mut out, mut an) = (Vec::new(), Anomalies::default());
        messages(&[0x83, 0x00], false, &mut out, &mut an);
        assert_eq!(an.http_malformed, 1);
        let mut huge = vec![0x82, 0x7f];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        huge.extend(vec![b'a'; 5000]);
        messages(&huge, false, &mut out, &mut an);
        assert!(out.is_empty(), "an endless frame never completes");
    }
}
