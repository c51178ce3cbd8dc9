//! The reader's one buffer over a byte source, with absolute stream offsets.
//!
//! Contract: [`Input::fill`] makes `n` bytes visible at [`Input::pos`] (or says the stream ended
//! first); [`Input::consume`] and [`Input::discard`] move past them. Bytes already visible never
//! move except inside `fill`, so an index returned by `pos` stays valid until the next `fill`.
//! Memory is the fixed [`BUF_LEN`] buffer, whatever the input size.

use std::io::{self, Read};

/// Size of the read buffer. Every block the reader must see whole (pcap record, pcapng packet
/// block or IDB) is at most this long, so the buffer never grows.
pub(crate) const BUF_LEN: usize = 1 << 20;

/// Byte order of the current pcap file or pcapng section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endian {
    Little,
    Big,
}

impl Endian {
    /// `u16` at `b[at..at + 2]`; the caller has checked the length.
    #[inline]
    pub(crate) fn u16(self, b: &[u8], at: usize) -> u16 {
        let v = [b[at], b[at + 1]];
        match self {
            Self::Little => u16::from_le_bytes(v),
            Self::Big => u16::from_be_bytes(v),
        }
    }

    /// `u32` at `b[at..at + 4]`; the caller has checked the length.
    #[inline]
    pub(crate) fn u32(self, b: &[u8], at: usize) -> u32 {
        let v = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        match self {
            Self::Little => u32::from_le_bytes(v),
            Self::Big => u32::from_be_bytes(v),
        }
    }

    /// `u64` at `b[at..at + 8]`; the caller has checked the length.
    #[inline]
    pub(crate) fn u64(self, b: &[u8], at: usize) -> u64 {
        let mut v = [0u8; 8];
        v.copy_from_slice(&b[at..at + 8]);
        match self {
            Self::Little => u64::from_le_bytes(v),
            Self::Big => u64::from_be_bytes(v),
        }
    }
}

/// A byte source read through one fixed buffer.
pub(crate) struct Input {
    src: Box<dyn Read + Send>,
    /// Invariant: `start <= end <= buf.len() == BUF_LEN`; `buf[start..end]` is unread input.
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// Stream offset of `buf[start]`.
    offset: u64,
    /// The source returned end of file (or was cut short); no more reads.
    eof: bool,
    /// The source ended with `UnexpectedEof` (a compressed stream cut short), at this offset.
    cut_short: Option<u64>,
}

impl Input {
    /// Wraps `src`; `prefix` holds bytes already read from it (at most [`BUF_LEN`]).
    pub(crate) fn new(src: Box<dyn Read + Send>, prefix: &[u8]) -> Self {
        let mut buf = vec![0u8; BUF_LEN].into_boxed_slice();
        let n = prefix.len().min(BUF_LEN);
        buf[..n].copy_from_slice(&prefix[..n]);
        Self { src, buf, start: 0, end: n, offset: 0, eof: false, cut_short: None }
    }

    /// Stream offset of the next unread byte.
    #[inline]
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Index in [`Input::buf`] of the next unread byte.
    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.start
    }

    /// The whole buffer (index it with [`Input::pos`]).
    #[inline]
    pub(crate) fn buf(&self) -> &[u8] {
        &self.buf
    }

    /// Unread bytes currently in the buffer.
    #[inline]
    pub(crate) fn available(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Where a compressed source was cut short, if it was.
    pub(crate) fn cut_short(&self) -> Option<u64> {
        self.cut_short
    }

    /// Makes at least `need` unread bytes visible. `Ok(false)`: the input ended first (what there
    /// is stays visible). Callers never ask for more than [`BUF_LEN`]; such a request would be
    /// answered `Ok(false)`.
    #[inline]
    pub(crate) fn fill(&mut self, need: usize) -> io::Result<bool> {
        if self.end - self.start >= need {
            return Ok(true);
        }
        self.fill_slow(need)
    }

    #[cold]
    fn fill_slow(&mut self, need: usize) -> io::Result<bool> {
        debug_assert!(need <= BUF_LEN);
        if need > self.buf.len() {
            return Ok(false);
        }
        while self.end - self.start < need {
            if self.eof {
                return Ok(false);
            }
            if self.start == self.end {
                self.start = 0;
                self.end = 0;
            } else if self.start + need > self.buf.len() {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            self.read_more()?;
        }
        Ok(true)
    }

    /// One `read` into the free tail of the buffer (which the caller made non-empty).
    fn read_more(&mut self) -> io::Result<()> {
        loop {
            let room = &mut self.buf[self.end..];
            match self.src.read(room) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    // A misbehaving `Read` could claim more than it was given.
                    self.end += n.min(room.len());
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_unexpected_eof(&e) => {
                    self.eof = true;
                    self.cut_short = Some(self.offset + (self.end - self.start) as u64);
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Moves past `n` visible bytes.
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.end - self.start);
        let n = n.min(self.end - self.start);
        self.start += n;
        self.offset += n as u64;
    }

    /// Moves past `n` bytes, visible or not, reading and dropping them. `Ok(false)`: the input
    /// ended first.
    pub(crate) fn discard(&mut self, mut n: u64) -> io::Result<bool> {
        loop {
            let avail = (self.end - self.start) as u64;
            if avail >= n {
                self.consume(n as usize);
                return Ok(true);
            }
            n -= avail;
            self.offset += avail;
            self.start = 0;
            self.end = 0;
            if self.eof {
                return Ok(false);
            }
            self.read_more()?;
        }
    }
}

/// Whether `e` (or an error it wraps, as decompressors do) says the stream ended early.
fn is_unexpected_eof(e: &io::Error) -> bool {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return true;
    }
    let mut cur: Option<&(dyn std::error::Error + 'static)> = e.get_ref().map(|r| r as _);
    // Bounded walk: error chains are short, but never trust them to end.
    for _ in 0..16 {
        let Some(err) = cur else { return false };
        if let Some(io) = err.downcast_ref::<io::Error>()
            && io.kind() == io::ErrorKind::UnexpectedEof
        {
            return true;
        }
        cur = err.source();
    }
    false
}
