//! DNS messages at the byte level, for the answer path.
//!
//! Contract:
//! - [`parse_query`] reads a client's query without allocating: header, the one question (the name
//!   lower-cased into a fixed buffer), the EDNS UDP size. It never panics; every read is checked.
//! - The writers build answers into a caller's reusable buffer by copying the client's question:
//!   errors (FORMERR, NOTIMP, REFUSED, SERVFAIL), sinkhole answers, and upstream answers re-stamped
//!   with the client's id and question and their TTLs aged.
//! - [`inspect`] walks an upstream answer once (compression pointers followed backwards only, so
//!   no loop) for the cache and the CNAME check: rcode, TTL offsets, minimum TTL, SOA minimum,
//!   CNAME targets.
//!
//! hickory-proto's `Message` would do all this too, but it allocates per record on decode and per
//! name on encode; the cached and blocked answers (most of the traffic) here are a copy and a few
//! byte writes.

/// Header length.
pub(crate) const HEADER: usize = 12;
/// Largest name in presentation form.
pub(crate) const MAX_NAME: usize = 255;
/// Record type A.
pub(crate) const T_A: u16 = 1;
/// Record type CNAME.
pub(crate) const T_CNAME: u16 = 5;
/// Record type SOA.
pub(crate) const T_SOA: u16 = 6;
/// Record type AAAA.
pub(crate) const T_AAAA: u16 = 28;
/// Record type OPT (EDNS).
pub(crate) const T_OPT: u16 = 41;
/// The UDP size we advertise (upstream and to clients), the DNS flag day value.
pub(crate) const EDNS_SIZE: u16 = 1232;

/// Response codes.
pub(crate) mod rcode {
    pub(crate) const NOERROR: u8 = 0;
    pub(crate) const FORMERR: u8 = 1;
    pub(crate) const SERVFAIL: u8 = 2;
    pub(crate) const NXDOMAIN: u8 = 3;
    pub(crate) const NOTIMP: u8 = 4;
    pub(crate) const REFUSED: u8 = 5;
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    let s = b.get(i..i + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Why a query is not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reject {
    /// Not even a header, or a response: dropped silently.
    Drop,
    /// Readable header, broken rest: FORMERR.
    FormErr,
    /// Not a standard query (opcode other than 0): NOTIMP.
    NotImp,
}

/// A parsed query. `name[..name_len]` is the question name lower-cased, dotted, no final dot.
pub(crate) struct Query<'a> {
    /// The whole packet.
    pub(crate) packet: &'a [u8],
    /// Offset just past the question (type and class included).
    pub(crate) q_end: usize,
    /// Query type.
    pub(crate) qtype: u16,
    /// Query class.
    pub(crate) qclass: u16,
    /// Client's UDP payload size, when it sent EDNS.
    pub(crate) edns: Option<u16>,
    name: [u8; MAX_NAME],
    name_len: usize,
}

impl Query<'_> {
    /// The query id.
    pub(crate) fn id(&self) -> u16 {
        u16::from_be_bytes([self.packet[0], self.packet[1]])
    }

    /// The question name, lower-case, no trailing dot (`""` for the root).
    pub(crate) fn name(&self) -> &str {
        std::str::from_utf8(&self.name[..self.name_len]).unwrap_or("")
    }

    /// The question section's bytes (name, type, class) as the client wrote them.
    pub(crate) fn question(&self) -> &[u8] {
        &self.packet[HEADER..self.q_end]
    }

    /// Largest UDP answer the client accepts.
    pub(crate) fn udp_limit(&self) -> usize {
        self.edns.map_or(512, |s| usize::from(s.clamp(512, 4096)))
    }

    /// The cache key: lower-case wire name, type, class into `key`.
    pub(crate) fn cache_key<'k>(&self, key: &'k mut [u8; MAX_NAME + 6]) -> &'k [u8] {
        let n = self.q_end - 4 - HEADER;
        for (k, b) in key.iter_mut().zip(&self.packet[HEADER..self.q_end]) {
            *k = b.to_ascii_lowercase();
        }
        // type and class are numbers, not text: copied as they are
        key[n..n + 4].copy_from_slice(&self.packet[self.q_end - 4..self.q_end]);
        &key[..n + 4]
    }
}

/// Reads a query. The `Err` says whether a reply is possible.
pub(crate) fn parse_query(p: &[u8]) -> Result<Query<'_>, Reject> {
    if p.len() < HEADER || p[2] & 0x80 != 0 {
        return Err(Reject::Drop);
    }
    if (p[2] >> 3) & 0x0f != 0 {
        return Err(Reject::NotImp);
    }
    let count = |i| u16_at(p, i).unwrap_or(0);
    if count(4) != 1 {
        return Err(Reject::FormErr);
    }
    let mut q = Query {
        packet: p,
        q_end: 0,
        qtype: 0,
        qclass: 0,
        edns: None,
        name: [0; MAX_NAME],
        name_len: 0,
    };
    let mut i = HEADER;
    loop {
        let len = usize::from(*p.get(i).ok_or(Reject::FormErr)?);
        i += 1;
        if len == 0 {
            break;
        }
        // compression in a question, or a label too long
        if len > 63 {
            return Err(Reject::FormErr);
        }
        let label = p.get(i..i + len).ok_or(Reject::FormErr)?;
        let dot = usize::from(q.name_len > 0);
        if q.name_len + dot + len > MAX_NAME - 1 {
            return Err(Reject::FormErr);
        }
        if dot == 1 {
            q.name[q.name_len] = b'.';
        }
        for (d, &b) in q.name[q.name_len + dot..].iter_mut().zip(label) {
            // bytes outside printable ASCII (and dots inside labels) cannot match a hostname rule
            *d = if b.is_ascii_graphic() && b != b'.' { b.to_ascii_lowercase() } else { b'?' };
        }
        q.name_len += dot + len;
        i += len;
    }
    q.qtype = u16_at(p, i).ok_or(Reject::FormErr)?;
    q.qclass = u16_at(p, i + 2).ok_or(Reject::FormErr)?;
    q.q_end = i + 4;
    // answer and authority sections of a query are ignored; EDNS is looked for in additional
    let mut at = q.q_end;
    let skip = usize::from(count(6)) + usize::from(count(8));
    for n in 0..skip + usize::from(count(10)) {
        let rr = record_at(p, at).ok_or(Reject::FormErr)?;
        if n >= skip && rr.rtype == T_OPT {
            q.edns = Some(u16_at(p, rr.type_at + 2).unwrap_or(512));
        }
        at = rr.end;
    }
    Ok(q)
}

/// Offsets of one resource record.
struct Rr {
    /// Offset of the name.
    name_at: usize,
    /// Offset of the type field (class, TTL, rdlength follow).
    type_at: usize,
    rtype: u16,
    /// Offset of the data.
    data_at: usize,
    /// Offset just past the record.
    end: usize,
}

/// Skips a (possibly compressed) name starting at `i`; returns the offset after it.
fn skip_name(p: &[u8], mut i: usize) -> Option<usize> {
    for _ in 0..128 {
        let b = *p.get(i)?;
        match b {
            0 => return Some(i + 1),
            1..=63 => i += 1 + usize::from(b),
            0xc0..=0xff => return if i + 1 < p.len() { Some(i + 2) } else { None },
            _ => return None,
        }
    }
    None
}

fn record_at(p: &[u8], at: usize) -> Option<Rr> {
    let type_at = skip_name(p, at)?;
    let rtype = u16_at(p, type_at)?;
    let rdlen = usize::from(u16_at(p, type_at + 8)?);
    let data_at = type_at + 10;
    let end = data_at + rdlen;
    (end <= p.len()).then_some(Rr { name_at: at, type_at, rtype, data_at, end })
}

/// Decodes the (possibly compressed) name at `i` lower-cased and dotted into `out`.
/// Pointers must point backwards, so decoding ends.
pub(crate) fn read_name(p: &[u8], mut i: usize, out: &mut String) -> Option<()> {
    out.clear();
    let mut limit = i;
    loop {
        let b = *p.get(i)?;
        match b {
            0 => return Some(()),
            1..=63 => {
                let label = p.get(i + 1..i + 1 + usize::from(b))?;
                if !out.is_empty() {
                    out.push('.');
                }
                if out.len() + label.len() >= MAX_NAME {
                    return None;
                }
                out.extend(label.iter().map(|&c| {
                    if c.is_ascii_graphic() && c != b'.' {
                        char::from(c.to_ascii_lowercase())
                    } else {
                        '?'
                    }
                }));
                i += 1 + usize::from(b);
            }
            0xc0..=0xff => {
                let target = usize::from(u16_at(p, i)? & 0x3fff);
                if target >= limit {
                    return None;
                }
                limit = target;
                i = target;
            }
            _ => return None,
        }
    }
}

/// What the cache and the CNAME check need from an upstream answer.
#[derive(Debug, Default)]
pub(crate) struct Inspected {
    /// Response code.
    pub(crate) rcode: u8,
    /// TC was set.
    pub(crate) truncated: bool,
    /// Offsets of every TTL field except OPT's.
    pub(crate) ttl_offsets: Vec<u16>,
    /// Seconds the answer may be cached: the smallest answer TTL; for a negative answer the SOA's
    /// `min(ttl, minimum)`; `None`: do not cache.
    pub(crate) cache_ttl: Option<u32>,
    /// Offset of an OPT record that is the last record (replaced by ours, or dropped for clients
    /// without EDNS).
    pub(crate) opt_at: Option<u16>,
    /// CNAME targets of the answer section, lower-case.
    pub(crate) cnames: Vec<String>,
}

/// Walks an upstream answer whose question is `question` (bytes as sent).
/// `None` when it is not a well-formed answer to that question.
pub(crate) fn inspect(p: &[u8], question: &[u8]) -> Option<Inspected> {
    if p.len() < HEADER || p[2] & 0x80 == 0 || u16_at(p, 4)? != 1 {
        return None;
    }
    let q_end = HEADER + question.len();
    if !p.get(HEADER..q_end)?.eq_ignore_ascii_case(question) {
        return None;
    }
    let mut r =
        Inspected { rcode: p[3] & 0x0f, truncated: p[2] & 0x02 != 0, ..Inspected::default() };
    let (an, ns, ar) =
        (usize::from(u16_at(p, 6)?), usize::from(u16_at(p, 8)?), usize::from(u16_at(p, 10)?));
    let mut at = q_end;
    let mut min_answer: Option<u32> = None;
    let mut soa: Option<u32> = None;
    for n in 0..an + ns + ar {
        let rr = record_at(p, at)?;
        let ttl = u32_at(p, rr.type_at + 4)?;
        if rr.rtype == T_OPT {
            if n + 1 == an + ns + ar {
                r.opt_at = u16::try_from(rr.name_at).ok();
            }
        } else {
            r.ttl_offsets.push(u16::try_from(rr.type_at + 4).ok()?);
        }
        if n < an {
            min_answer = Some(min_answer.map_or(ttl, |m| m.min(ttl)));
            if rr.rtype == T_CNAME {
                let mut s = String::new();
                read_name(p, rr.data_at, &mut s)?;
                r.cnames.push(s);
            }
        } else if n < an + ns && rr.rtype == T_SOA {
            let mname = skip_name(p, rr.data_at)?;
            let rname = skip_name(p, mname)?;
            let minimum = u32_at(p, rname + 16)?;
            soa = Some(ttl.min(minimum));
        }
        at = rr.end;
    }
    r.cache_ttl = match r.rcode {
        rcode::NOERROR if an > 0 => min_answer,
        rcode::NOERROR | rcode::NXDOMAIN => soa.map(|t| t.min(MAX_NEGATIVE_TTL)),
        _ => None,
    }
    .map(|t| t.min(MAX_TTL))
    .filter(|&t| t > 0);
    Some(r)
}

/// Longest time a negative answer is cached (RFC 2308 suggests up to 3 hours; we keep it short).
pub(crate) const MAX_NEGATIVE_TTL: u32 = 300;
/// Longest time any answer is cached.
pub(crate) const MAX_TTL: u32 = 86_400;
/// TTL of sinkhole answers.
pub(crate) const BLOCKED_TTL: u32 = 60;

fn header(out: &mut Vec<u8>, id: u16, rd: bool, rc: u8, counts: [u16; 4]) {
    out.clear();
    out.extend_from_slice(&id.to_be_bytes());
    out.push(0x80 | u8::from(rd));
    out.push(0x80 | rc);
    for c in counts {
        out.extend_from_slice(&c.to_be_bytes());
    }
}

fn push_opt(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0, 0, 41]);
    out.extend_from_slice(&EDNS_SIZE.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
}

/// An answer with no records and `rc`, echoing the question (and EDNS when the client used it).
pub(crate) fn write_empty(out: &mut Vec<u8>, q: &Query<'_>, rc: u8) {
    let rd = q.packet[2] & 1 != 0;
    header(out, q.id(), rd, rc, [1, 0, 0, u16::from(q.edns.is_some())]);
    out.extend_from_slice(q.question());
    if q.edns.is_some() {
        push_opt(out);
    }
}

/// A header-only error answer for a query that could not be parsed (`packet` holds a header).
pub(crate) fn write_header_error(out: &mut Vec<u8>, packet: &[u8], rc: u8) {
    header(out, u16::from_be_bytes([packet[0], packet[1]]), packet[2] & 1 != 0, rc, [0; 4]);
    // keep the opcode the client used
    out[2] |= packet[2] & 0x78;
}

/// A sinkhole answer: `0.0.0.0` / `::` for A / AAAA, NODATA otherwise.
pub(crate) fn write_zero(out: &mut Vec<u8>, q: &Query<'_>) {
    let rdata: &[u8] = match q.qtype {
        T_A if q.qclass == 1 => &[0; 4],
        T_AAAA if q.qclass == 1 => &[0; 16],
        _ => return write_empty(out, q, rcode::NOERROR),
    };
    write_empty(out, q, rcode::NOERROR);
    out[7] = 1; // ANCOUNT
    let opt = q.edns.is_some().then(|| out.split_off(out.len() - 11));
    out.extend_from_slice(&[0xc0, 0x0c]);
    out.extend_from_slice(&q.qtype.to_be_bytes());
    out.extend_from_slice(&[0, 1]);
    out.extend_from_slice(&BLOCKED_TTL.to_be_bytes());
    out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    out.extend_from_slice(rdata);
    if let Some(opt) = opt {
        out.extend_from_slice(&opt);
    }
}

/// An upstream answer re-stamped for the client: its id, its question bytes, TTLs less `age`
/// seconds, the upstream's OPT replaced by ours (dropped when the client did not use EDNS).
/// `None` if `resp` does not fit.
pub(crate) fn write_forwarded(
    out: &mut Vec<u8>,
    q: &Query<'_>,
    resp: &[u8],
    ttl_offsets: &[u16],
    opt_at: Option<u16>,
    age: u32,
) -> Option<()> {
    let q_bytes = q.question();
    if resp.len() < HEADER + q_bytes.len() {
        return None;
    }
    out.clear();
    match opt_at {
        // the upstream's OPT (its size, its options) is not passed on: ours replaces it
        Some(o) if usize::from(o) <= resp.len() && usize::from(o) >= HEADER => {
            out.extend_from_slice(&resp[..usize::from(o)]);
            let ar = u16_at(out, 10)?.saturating_sub(1) + u16::from(q.edns.is_some());
            out[10..12].copy_from_slice(&ar.to_be_bytes());
            if q.edns.is_some() {
                push_opt(out);
            }
        }
        _ => out.extend_from_slice(resp),
    }
    out[0..2].copy_from_slice(&q.id().to_be_bytes());
    out[HEADER..HEADER + q_bytes.len()].copy_from_slice(q_bytes);
    if age > 0 {
        for &o in ttl_offsets {
            let o = usize::from(o);
            if let Some(t) = u32_at(out, o) {
                out[o..o + 4].copy_from_slice(&t.saturating_sub(age).to_be_bytes());
            }
        }
    }
    Some(())
}

/// Cuts an answer longer than `limit` down to header and question with TC set, so the client
/// asks again over TCP.
pub(crate) fn truncate(out: &mut Vec<u8>, q_end: usize, limit: usize) {
    if out.len() > limit && out.len() >= q_end {
        out.truncate(q_end);
        out[2] |= 0x02;
        out[6..12].fill(0);
    }
}

/// The query sent upstream: a fresh id, RD, the client's question, our EDNS size.
pub(crate) fn write_upstream_query(out: &mut Vec<u8>, id: u16, question: &[u8]) {
    out.clear();
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]);
    out.extend_from_slice(question);
    push_opt(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    // dig example.COM A +edns: id 0x1234, RD, one question, OPT 1232
    const QUERY: &[u8] = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01\x07example\x03COM\x00\x00\x01\x00\x01\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00";

    #[test]
    fn parse() {
        let q = parse_query(QUERY).unwrap();
        assert_eq!(q.name(), "example.com");
        assert_eq!((q.qtype, q.qclass, q.edns), (1, 1, Some(1232)));
        let mut out = Vec::new();
        write_zero(&mut out, &q);
        assert_eq!(out.len(), QUERY.len() + 16);
        assert_eq!(&out[..4], b"\x12\x34\x81\x80");
        assert_eq!(&out[6..12], &[0, 1, 0, 0, 0, 1]);
        for n in 0..QUERY.len() {
            let _ = parse_query(&QUERY[..n]);
        }
        assert_eq!(parse_query(&QUERY[..5]).err(), Some(Reject::Drop));
        assert_eq!(parse_query(&QUERY[..20]).err(), Some(Reject::FormErr));
    }

    #[test]
    fn forwarded_answer() {
        let q = parse_query(QUERY).unwrap();
        let mut up = Vec::new();
        write_upstream_query(&mut up, 7, q.question());
        up[2] |= 0x80;
        up[7] = 2; // two answers: CNAME then A, compressed
        let opt = up.split_off(up.len() - 11);
        up.extend_from_slice(b"\xc0\x0c\x00\x05\x00\x01\x00\x00\x01\x00\x00\x06\x03cdn\xc0\x0c");
        let cname_at = up.len() - 6;
        up.extend_from_slice(b"\xc0");
        up.push(cname_at as u8);
        up.extend_from_slice(b"\x00\x01\x00\x01\x00\x00\x00\x30\x00\x04\x01\x02\x03\x04");
        up.extend_from_slice(&opt);
        let i = inspect(&up, q.question()).unwrap();
        assert_eq!(i.cnames, vec!["cdn.example.com".to_owned()]);
        assert_eq!(i.cache_ttl, Some(48));
        assert_eq!(i.ttl_offsets.len(), 2);
        let mut out = Vec::new();
        write_forwarded(&mut out, &q, &up, &i.ttl_offsets, i.opt_at, 8).unwrap();
        assert_eq!(&out[..2], b"\x12\x34");
        assert_eq!(u32_at(&out, usize::from(i.ttl_offsets[1])), Some(40));
        truncate(&mut out, q.q_end, 40);
        assert_eq!(out.len(), q.q_end);
    }
}
