//! One DNS message (RFC 1035 section 4) to events: pure functions over bytes.
//!
//! Lenient on purpose: questions are reported even if later sections are broken, and answers
//! decoded before a broken record are kept. Authority and additional sections are not read.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::MAX_RECORDS_PER_SECTION;
use super::name::{NameFatal, read_name, skip_name};
use crate::{Anomalies, DnsAnswer, DnsQuery, Event, RData};

/// Length of the fixed header.
pub(crate) const HEADER_LEN: usize = 12;

/// Record types decoded into [`RData`] variants.
mod rtype {
    pub(super) const A: u16 = 1;
    pub(super) const NS: u16 = 2;
    pub(super) const CNAME: u16 = 5;
    pub(super) const PTR: u16 = 12;
    pub(super) const AAAA: u16 = 28;
    pub(super) const DNAME: u16 = 39;
}

/// A hand-written bounds-checked reader (after rustls's `Reader`): every read returns `None` past
/// the end instead of panicking.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at offset `pos` of `buf`.
    pub(crate) fn new(buf: &'a [u8], pos: usize) -> Self {
        Self { buf, pos }
    }

    /// Current offset.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Moves to `pos` (reads past the end fail).
    pub(crate) fn seek(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let bytes = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(bytes)
    }

    /// A big-endian `u16`.
    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.take(2).and_then(|b| b.try_into().ok()).map(u16::from_be_bytes)
    }

    /// A big-endian `u32`.
    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.take(4).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes)
    }
}

/// The fixed header of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// Transaction id.
    pub(crate) id: u16,
    /// Flags word (QR is bit 15, opcode bits 11 to 14).
    pub(crate) flags: u16,
    /// Question count.
    pub(crate) qdcount: u16,
    /// Answer count.
    pub(crate) ancount: u16,
}

impl Header {
    /// Reads the header; `None` if `msg` is shorter than [`HEADER_LEN`].
    pub(crate) fn parse(msg: &[u8]) -> Option<Self> {
        if msg.len() < HEADER_LEN {
            return None;
        }
        let mut r = Reader::new(msg, 0);
        let id = r.u16()?;
        let flags = r.u16()?;
        let qdcount = r.u16()?;
        let ancount = r.u16()?;
        Some(Self { id, flags, qdcount, ancount })
    }

    /// True for a response (QR = 1).
    pub(crate) fn is_response(self) -> bool {
        self.flags & 0x8000 != 0
    }
}

/// Why a message stopped being parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// Shorter than the header.
    Header,
    /// A name that could not be delimited.
    Name(NameFatal),
    /// A question or record cut by the end of the message.
    Truncated,
    /// More than [`MAX_RECORDS_PER_SECTION`] questions or answers.
    TooManyRecords,
}

/// Parses one message: a [`DnsQuery`] per question of a query (QR = 0, any opcode, as tshark
/// reports them), a [`DnsAnswer`] per answer record of a response (QR = 1). Events before a
/// problem are kept; the problem is counted in `an`.
pub(crate) fn parse_message(msg: &[u8], out: &mut Vec<Event>, an: &mut Anomalies) {
    if parse_sections(msg, out, an).is_err() {
        an.dns_malformed += 1;
    }
}

/// [`parse_message`] without the counting of the final error.
fn parse_sections(msg: &[u8], out: &mut Vec<Event>, an: &mut Anomalies) -> Result<(), Malformed> {
    let header = Header::parse(msg).ok_or(Malformed::Header)?;
    let mut r = Reader::new(msg, HEADER_LEN);
    if !header.is_response() {
        for i in 0..header.qdcount {
            if usize::from(i) >= MAX_RECORDS_PER_SECTION {
                return Err(Malformed::TooManyRecords);
            }
            let mut name = String::new();
            let read = read_name(msg, r.pos(), &mut name).map_err(Malformed::Name)?;
            if read.issue.is_some() {
                an.dns_bad_name += 1;
            }
            r.seek(read.end);
            let qtype = r.u16().ok_or(Malformed::Truncated)?;
            let _qclass = r.u16().ok_or(Malformed::Truncated)?;
            out.push(Event::DnsQuery(DnsQuery { id: header.id, name, qtype }));
        }
        return Ok(());
    }
    for _ in 0..header.qdcount {
        let end = skip_name(msg, r.pos()).map_err(Malformed::Name)?;
        r.seek(end);
        r.take(4).ok_or(Malformed::Truncated)?;
    }
    for i in 0..header.ancount {
        if usize::from(i) >= MAX_RECORDS_PER_SECTION {
            return Err(Malformed::TooManyRecords);
        }
        let answer = parse_record(msg, &mut r, header.id, an)?;
        out.push(Event::DnsAnswer(answer));
    }
    Ok(())
}

/// One resource record at the reader's position.
fn parse_record(
    msg: &[u8],
    r: &mut Reader<'_>,
    id: u16,
    an: &mut Anomalies,
) -> Result<DnsAnswer, Malformed> {
    let mut name = String::new();
    let read = read_name(msg, r.pos(), &mut name).map_err(Malformed::Name)?;
    if read.issue.is_some() {
        an.dns_bad_name += 1;
    }
    r.seek(read.end);
    let rtype = r.u16().ok_or(Malformed::Truncated)?;
    let _class = r.u16().ok_or(Malformed::Truncated)?;
    let ttl = r.u32().ok_or(Malformed::Truncated)?;
    let rdlen = r.u16().ok_or(Malformed::Truncated)?;
    let start = r.pos();
    let rdata = r.take(usize::from(rdlen)).ok_or(Malformed::Truncated)?;
    let data = match rtype {
        rtype::A => <[u8; 4]>::try_from(rdata).map(|a| RData::A(Ipv4Addr::from(a))).ok(),
        rtype::AAAA => <[u8; 16]>::try_from(rdata).map(|a| RData::Aaaa(Ipv6Addr::from(a))).ok(),
        rtype::CNAME => rdata_name(msg, start, r.pos(), an).map(RData::Cname),
        rtype::NS | rtype::PTR | rtype::DNAME => {
            rdata_name(msg, start, r.pos(), an).map(RData::Name)
        }
        _ => None,
    };
    let data = data.unwrap_or_else(|| RData::Raw(rdata.to_vec()));
    Ok(DnsAnswer { id, name, rtype, ttl, data })
}

/// The name in the RDATA at `start..end`; its own labels must lie inside the RDATA (pointers may
/// go anywhere). `None` (the caller keeps the raw bytes) if it cannot be delimited there.
fn rdata_name(msg: &[u8], start: usize, end: usize, an: &mut Anomalies) -> Option<String> {
    let mut text = String::new();
    match read_name(msg, start, &mut text) {
        Ok(read) if read.end <= end => {
            if read.issue.is_some() {
                an.dns_bad_name += 1;
            }
            Some(text)
        }
        Ok(_) | Err(_) => {
            an.dns_bad_name += 1;
            None
        }
    }
}
