//! Frames of decrypted packets (RFC 9000 §19) and reassembly of the Initial CRYPTO stream.

use crate::tls::reader::Reader;

use super::MAX_CRYPTO_LEN;

const FRAME_PADDING: u64 = 0x00;
const FRAME_PING: u64 = 0x01;
const FRAME_ACK: u64 = 0x02;
const FRAME_ACK_ECN: u64 = 0x03;
const FRAME_CRYPTO: u64 = 0x06;
const FRAME_CONNECTION_CLOSE: u64 = 0x1c;
const FRAME_CONNECTION_CLOSE_APP: u64 = 0x1d;

/// A frame could not be parsed (truncated or inconsistent lengths).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadFrame;

/// Walks the frames of an Initial packet payload and hands every CRYPTO frame's (offset, data)
/// to `crypto`. PADDING, PING, ACK and CONNECTION_CLOSE are skipped; an unknown frame type (not
/// allowed in Initial packets, RFC 9000 §12.4) ends the walk quietly.
pub(crate) fn walk(payload: &[u8], mut crypto: impl FnMut(u64, &[u8])) -> Result<(), BadFrame> {
    let mut r = Reader::new(payload);
    while !r.is_empty() {
        let typ = r.varint().ok_or(BadFrame)?;
        match typ {
            FRAME_PADDING | FRAME_PING => {}
            FRAME_ACK | FRAME_ACK_ECN => skip_ack(&mut r, typ == FRAME_ACK_ECN).ok_or(BadFrame)?,
            FRAME_CRYPTO => {
                let offset = r.varint().ok_or(BadFrame)?;
                let len = r.varint_len().ok_or(BadFrame)?;
                let data = r.take(len).ok_or(BadFrame)?;
                crypto(offset, data);
            }
            FRAME_CONNECTION_CLOSE | FRAME_CONNECTION_CLOSE_APP => {
                r.varint().ok_or(BadFrame)?; // error code
                if typ == FRAME_CONNECTION_CLOSE {
                    r.varint().ok_or(BadFrame)?; // frame type
                }
                let reason = r.varint_len().ok_or(BadFrame)?;
                r.skip(reason).ok_or(BadFrame)?;
            }
            _ => return Ok(()),
        }
    }
    Ok(())
}

/// Skips the rest of an ACK frame (RFC 9000 §19.3). Every range reads at least two bytes, so a
/// huge range count ends with the input.
fn skip_ack(r: &mut Reader<'_>, ecn: bool) -> Option<()> {
    r.varint()?; // largest acknowledged
    r.varint()?; // ack delay
    let ranges = r.varint()?;
    r.varint()?; // first ack range
    for _ in 0..ranges {
        r.varint()?; // gap
        r.varint()?; // ack range length
    }
    if ecn {
        for _ in 0..3 {
            r.varint()?;
        }
    }
    Some(())
}

/// Handshake message header: type (1), length (3).
const HS_HEADER_LEN: usize = 4;
const HS_CLIENT_HELLO: u8 = 1;

/// Where the ClientHello of a CRYPTO stream stands.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HelloState<'a> {
    /// Not all of it yet.
    Pending,
    /// The complete ClientHello body (after the handshake header).
    Complete(&'a [u8]),
    /// The stream does not start with a ClientHello, or it is larger than [`MAX_CRYPTO_LEN`].
    Invalid,
}

/// Frame data that could not be stored: it lies beyond [`MAX_CRYPTO_LEN`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Capped;

/// The client's Initial CRYPTO stream, reassembled from frames arriving in any order. Bytes
/// already received are kept (first data wins). At most [`MAX_CRYPTO_LEN`] bytes; once the
/// ClientHello length is known, data past its end is ignored.
#[derive(Debug, Default)]
pub(crate) struct CryptoStream {
    buf: Vec<u8>,
    /// One bit per byte of `buf`: received.
    have: Vec<u64>,
    /// Length of the received prefix.
    contig: usize,
}

impl CryptoStream {
    /// Bytes of the stream that are worth keeping: the ClientHello once its header is known.
    fn limit(&self) -> usize {
        match self.header() {
            Some((_, len)) => (HS_HEADER_LEN + len).min(MAX_CRYPTO_LEN),
            None => MAX_CRYPTO_LEN,
        }
    }

    /// Type and body length of the first handshake message, once its header is in.
    fn header(&self) -> Option<(u8, usize)> {
        if self.contig < HS_HEADER_LEN {
            return None;
        }
        let mut r = Reader::new(&self.buf);
        Some((r.u8()?, r.u24()? as usize))
    }

    fn has(&self, i: usize) -> bool {
        self.have.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)
    }

    /// Stores the data of one CRYPTO frame.
    pub(crate) fn insert(&mut self, offset: u64, data: &[u8]) -> Result<(), Capped> {
        let limit = self.limit();
        let known = self.header().is_some();
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let end = start.saturating_add(data.len());
        if end > limit && !known {
            return Err(Capped);
        }
        let end = end.min(limit);
        if start >= end {
            return Ok(());
        }
        if self.buf.len() < end {
            self.buf.resize(end, 0);
            self.have.resize(end.div_ceil(64), 0);
        }
        for (i, &b) in (start..end).zip(data) {
            if !self.has(i) {
                self.buf[i] = b;
                self.have[i / 64] |= 1 << (i % 64);
            }
        }
        while self.contig < self.buf.len() && self.has(self.contig) {
            self.contig += 1;
        }
        Ok(())
    }

    /// The ClientHello, if complete.
    pub(crate) fn hello(&self) -> HelloState<'_> {
        match self.header() {
            None => HelloState::Pending,
            Some((typ, len)) if typ != HS_CLIENT_HELLO || HS_HEADER_LEN + len > MAX_CRYPTO_LEN => {
                HelloState::Invalid
            }
            Some((_, len)) => match self.buf.get(HS_HEADER_LEN..HS_HEADER_LEN + len) {
                Some(body) if self.contig >= HS_HEADER_LEN + len => HelloState::Complete(body),
                _ => HelloState::Pending,
            },
        }
    }
}

/// A frame of a Handshake, 0-RTT or 1-RTT packet that the decryptor uses.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AppFrame<'a> {
    /// STREAM (RFC 9000 §19.8).
    Stream { id: u64, offset: u64, data: &'a [u8], fin: bool },
    /// NEW_CONNECTION_ID: the sender will accept this connection id.
    NewConnectionId(&'a [u8]),
    /// CRYPTO (RFC 9000 §19.6): TLS handshake bytes at an offset of the packet space's stream.
    Crypto { offset: u64, data: &'a [u8] },
}

/// Walks every frame of a decrypted packet payload (RFC 9000 §19, RFC 9221 DATAGRAM, the ACK
/// frequency extension), handing STREAM, CRYPTO and NEW_CONNECTION_ID frames to `f`. An unknown frame
/// type or a frame that does not fit ends the walk (`Err`: the frames before it were handed out).
pub(crate) fn walk_app<'a>(
    payload: &'a [u8],
    mut f: impl FnMut(AppFrame<'a>),
) -> Result<(), BadFrame> {
    let mut r = Reader::new(payload);
    let v = |r: &mut Reader<'a>| r.varint().ok_or(BadFrame);
    while !r.is_empty() {
        let typ = v(&mut r)?;
        match typ {
            FRAME_PADDING | FRAME_PING | 0x1e | 0x1f => {}
            FRAME_ACK | FRAME_ACK_ECN => skip_ack(&mut r, typ == FRAME_ACK_ECN).ok_or(BadFrame)?,
            0x04 => {
                v(&mut r)?;
                v(&mut r)?;
                v(&mut r)?;
            }
            0x05 | 0x11 | 0x15 => {
                v(&mut r)?;
                v(&mut r)?;
            }
            FRAME_CRYPTO => {
                let offset = v(&mut r)?;
                let len = r.varint_len().ok_or(BadFrame)?;
                let data = r.take(len).ok_or(BadFrame)?;
                offset.checked_add(data.len() as u64).ok_or(BadFrame)?;
                f(AppFrame::Crypto { offset, data });
            }
            0x07 => {
                let len = r.varint_len().ok_or(BadFrame)?;
                r.skip(len).ok_or(BadFrame)?;
            }
            0x08..=0x0f => {
                let id = v(&mut r)?;
                let offset = if typ & 0x04 != 0 { v(&mut r)? } else { 0 };
                let data = if typ & 0x02 != 0 {
                    let len = r.varint_len().ok_or(BadFrame)?;
                    r.take(len).ok_or(BadFrame)?
                } else {
                    r.take(r.left()).ok_or(BadFrame)?
                };
                offset.checked_add(data.len() as u64).ok_or(BadFrame)?;
                f(AppFrame::Stream { id, offset, data, fin: typ & 0x01 != 0 });
            }
            0x10 | 0x12 | 0x13 | 0x14 | 0x16 | 0x17 | 0x19 => {
                v(&mut r)?;
            }
            0x18 => {
                v(&mut r)?;
                v(&mut r)?;
                let len = r.u8().ok_or(BadFrame)?;
                let cid = r.take(usize::from(len)).ok_or(BadFrame)?;
                r.skip(16).ok_or(BadFrame)?;
                f(AppFrame::NewConnectionId(cid));
            }
            0x1a | 0x1b => r.skip(8).ok_or(BadFrame)?,
            FRAME_CONNECTION_CLOSE | FRAME_CONNECTION_CLOSE_APP => {
                v(&mut r)?;
                if typ == FRAME_CONNECTION_CLOSE {
                    v(&mut r)?;
                }
                let reason = r.varint_len().ok_or(BadFrame)?;
                r.skip(reason).ok_or(BadFrame)?;
            }
            0x30 => return Ok(()),
            0x31 => {
                let len = r.varint_len().ok_or(BadFrame)?;
                r.skip(len).ok_or(BadFrame)?;
            }
            0xaf => {
                for _ in 0..4 {
                    v(&mut r)?;
                }
            }
            _ => return Err(BadFrame),
        }
    }
    Ok(())
}
