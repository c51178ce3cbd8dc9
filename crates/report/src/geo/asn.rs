//! IP range -> ASN and organisation, from the ip-location-db CSV (`start,end,asn,org`, IPv4 and
//! IPv6 rows in one file or two), held as two sorted range tables and binary-searched.
//!
//! The org column may be quoted (`"Cloudflare, Inc."`, `""` for a quote). Blank lines are skipped;
//! malformed lines are counted and the first [`MAX_MALFORMED_KEPT`] kept with their line numbers;
//! a file with no valid row at all is an error naming its first bad line. Organisation names are
//! interned (the ~520k rows of the npm data name ~80k organisations).

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest organisation name kept (bytes; longer names are cut at a character boundary).
pub const MAX_ORG_LEN: usize = 200;
/// Malformed lines kept, with their line numbers, in [`AsnStats::first_malformed`].
pub const MAX_MALFORMED_KEPT: usize = 8;

/// What loading the ASN CSV found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AsnStats {
    /// IPv4 ranges loaded.
    pub v4_ranges: usize,
    /// IPv6 ranges loaded.
    pub v6_ranges: usize,
    /// Distinct organisation names.
    pub orgs: usize,
    /// Lines that could not be read.
    pub malformed: u64,
    /// The first malformed lines: (1-based line number, what was wrong).
    pub first_malformed: Vec<(u64, &'static str)>,
}

#[derive(Debug, Clone, Copy)]
struct Range<T> {
    start: T,
    end: T,
    asn: u32,
    org: u32,
}

/// The loaded table.
#[derive(Debug, Default)]
pub(super) struct AsnTable {
    v4: Vec<Range<u32>>,
    v6: Vec<Range<u128>>,
    orgs: Vec<Box<str>>,
    pub(super) stats: AsnStats,
}

/// A line that could not be read: line number and reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BadLine {
    pub(super) line: u64,
    pub(super) reason: &'static str,
}

impl AsnTable {
    /// Parses a whole CSV. Errors only when there are lines but none of them is valid.
    pub(super) fn parse(data: &[u8]) -> Result<Self, BadLine> {
        let mut t = Self::default();
        let mut interned: HashMap<Box<str>, u32> = HashMap::new();
        let mut line_no = 0u64;
        for raw in data.split(|&b| b == b'\n') {
            line_no += 1;
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match parse_line(line) {
                Ok((start, end, asn, org)) => {
                    let org = match interned.get(&*org) {
                        Some(&i) => i,
                        None => {
                            let i = u32::try_from(t.orgs.len()).unwrap_or(u32::MAX);
                            let org: Box<str> = org.as_ref().into();
                            t.orgs.push(org.clone());
                            interned.insert(org, i);
                            i
                        }
                    };
                    match (start, end) {
                        (IpAddr::V4(s), IpAddr::V4(e)) => {
                            t.v4.push(Range { start: s.to_bits(), end: e.to_bits(), asn, org })
                        }
                        (IpAddr::V6(s), IpAddr::V6(e)) => {
                            t.v6.push(Range { start: s.to_bits(), end: e.to_bits(), asn, org })
                        }
                        _ => unreachable!("parse_line checks the families agree"),
                    }
                }
                Err(reason) => {
                    t.stats.malformed += 1;
                    if t.stats.first_malformed.len() < MAX_MALFORMED_KEPT {
                        t.stats.first_malformed.push((line_no, reason));
                    }
                }
            }
        }
        if t.v4.is_empty()
            && t.v6.is_empty()
            && let Some(&(line, reason)) = t.stats.first_malformed.first()
        {
            return Err(BadLine { line, reason });
        }
        // The npm files are sorted already; sorting a sorted Vec is one linear pass.
        t.v4.sort_by_key(|r| r.start);
        t.v6.sort_by_key(|r| r.start);
        t.v4.shrink_to_fit();
        t.v6.shrink_to_fit();
        t.orgs.shrink_to_fit();
        t.stats.v4_ranges = t.v4.len();
        t.stats.v6_ranges = t.v6.len();
        t.stats.orgs = t.orgs.len();
        Ok(t)
    }

    /// ASN and organisation of the range holding `ip` (the last range starting at or before it).
    pub(super) fn lookup(&self, ip: IpAddr) -> Option<(u32, &str)> {
        let (asn, org) = match ip {
            IpAddr::V4(v4) => find(&self.v4, v4.to_bits())?,
            IpAddr::V6(v6) => find(&self.v6, v6.to_bits())?,
        };
        Some((asn, self.orgs.get(org as usize).map_or("", |s| s)))
    }

    /// Approximate heap bytes held.
    pub(super) fn heap_bytes(&self) -> usize {
        self.v4.capacity() * size_of::<Range<u32>>()
            + self.v6.capacity() * size_of::<Range<u128>>()
            + self.orgs.iter().map(|s| s.len() + size_of::<Box<str>>()).sum::<usize>()
    }
}

fn find<T: Ord + Copy>(table: &[Range<T>], ip: T) -> Option<(u32, u32)> {
    let i = table.partition_point(|r| r.start <= ip).checked_sub(1)?;
    let r = &table[i];
    (ip <= r.end).then_some((r.asn, r.org))
}

type Row<'a> = (IpAddr, IpAddr, u32, Cow<'a, str>);

fn parse_line(line: &[u8]) -> Result<Row<'_>, &'static str> {
    let mut rest = line;
    let mut field = || -> Result<&[u8], &'static str> {
        let i = memchr::memchr(b',', rest).ok_or("fewer than 4 fields")?;
        let f = &rest[..i];
        rest = &rest[i + 1..];
        Ok(f)
    };
    let start = parse_ip(field()?).ok_or("bad start address")?;
    let end = parse_ip(field()?).ok_or("bad end address")?;
    let asn = std::str::from_utf8(field()?)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .ok_or("bad AS number")?;
    let org = unquote(rest).ok_or("bad quoting in organisation")?;
    let ok = match (start, end) {
        (IpAddr::V4(s), IpAddr::V4(e)) => s <= e,
        (IpAddr::V6(s), IpAddr::V6(e)) => s <= e,
        _ => return Err("start and end of different address families"),
    };
    if !ok {
        return Err("start after end");
    }
    Ok((start, end, asn, org))
}

fn parse_ip(f: &[u8]) -> Option<IpAddr> {
    let s = std::str::from_utf8(f).ok()?.trim();
    if s.contains(':') {
        s.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        s.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
    }
}

/// The organisation column: as is, or a quoted CSV field (`""` is a quote). Cut to
/// [`MAX_ORG_LEN`]; control characters become spaces. Borrowed in the common case (no quotes, clean
/// UTF-8), so loading allocates only for new names.
fn unquote(f: &[u8]) -> Option<Cow<'_, str>> {
    if !f.starts_with(b"\"")
        && let Ok(s) = std::str::from_utf8(f)
    {
        let s = s.trim();
        if s.len() <= MAX_ORG_LEN && !s.chars().any(char::is_control) {
            return Some(Cow::Borrowed(s));
        }
    }
    let raw: Cow<'_, [u8]> = match f.strip_prefix(b"\"") {
        None => f.into(),
        Some(inner) => {
            let inner = inner.strip_suffix(b"\"")?;
            let mut out = Vec::with_capacity(inner.len());
            let mut it = inner.iter().copied();
            while let Some(b) = it.next() {
                if b == b'"' && it.next() != Some(b'"') {
                    return None;
                }
                out.push(b);
            }
            out.into()
        }
    };
    let s = String::from_utf8_lossy(&raw);
    let mut s: String = s.trim().chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if s.len() > MAX_ORG_LEN {
        let mut cut = MAX_ORG_LEN;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    Some(Cow::Owned(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &[u8] = b"1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n\
1.1.1.0,1.1.1.255,13335,\"Cloudflare, Inc.\"\r\n\
8.8.8.0,8.8.8.255,15169,Google LLC\n\
\n\
223.5.5.0,223.5.5.255,37963,\"Hangzhou Alibaba Advertising Co.,Ltd.\"\n\
2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC\n\
2400:cb00::,2400:cb00:ffff:ffff:ffff:ffff:ffff:ffff,13335,\"Cloudflare, Inc.\"\n\
10.0.0.0,10.0.0.255,64512,\"Say \"\"hi\"\"\"\n";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v4_and_v6_ranges() {
        let t = AsnTable::parse(CSV).unwrap();
        assert_eq!(t.lookup(ip("1.1.1.1")), Some((13335, "Cloudflare, Inc.")));
        assert_eq!(t.lookup(ip("1.0.0.0")), Some((13335, "Cloudflare, Inc.")));
        assert_eq!(t.lookup(ip("1.0.0.255")), Some((13335, "Cloudflare, Inc.")));
        assert_eq!(t.lookup(ip("1.0.1.0")), None);
        assert_eq!(t.lookup(ip("0.255.255.255")), None);
        assert_eq!(t.lookup(ip("8.8.8.8")), Some((15169, "Google LLC")));
        assert_eq!(
            t.lookup(ip("223.5.5.5")),
            Some((37963, "Hangzhou Alibaba Advertising Co.,Ltd."))
        );
        assert_eq!(t.lookup(ip("255.255.255.255")), None);
        assert_eq!(t.lookup(ip("2001:4860:4860::8888")), Some((15169, "Google LLC")));
        assert_eq!(t.lookup(ip("2400:cb00::1")), Some((13335, "Cloudflare, Inc.")));
        assert_eq!(t.lookup(ip("2400:cb01::1")), None);
        assert_eq!(t.lookup(ip("::1")), None);
        assert_eq!(t.lookup(ip("10.0.0.1")), Some((64512, "Say \"hi\"")));
        assert_eq!(
            t.stats,
            AsnStats { v4_ranges: 5, v6_ranges: 2, orgs: 4, malformed: 0, first_malformed: vec![] }
        );
    }

    #[test]
    fn unsorted_input_is_sorted() {
        let t = AsnTable::parse(
            b"9.0.0.0,9.0.0.255,3,c\n2.0.0.0,2.0.0.255,2,b\n1.0.0.0,1.0.0.255,1,a\n",
        )
        .unwrap();
        assert_eq!(t.lookup(ip("1.0.0.7")), Some((1, "a")));
        assert_eq!(t.lookup(ip("2.0.0.7")), Some((2, "b")));
        assert_eq!(t.lookup(ip("9.0.0.7")), Some((3, "c")));
    }

    #[test]
    fn malformed_lines_are_counted_with_line_numbers() {
        let csv = b"1.0.0.0,1.0.0.255,13335,Cloudflare\n\
not,an,ip,row\n\
1.0.0.0,1.0.0.255\n\
1.0.2.0,1.0.1.0,1,backwards\n\
1.0.3.0,::1,1,mixed\n\
1.0.4.0,1.0.4.255,AS1,bad asn\n\
1.0.5.0,1.0.5.255,1,\"unclosed\n\
1.0.6.0,1.0.6.255,4294967296,too big\n\
2.0.0.0,2.0.0.255,2,ok\n";
        let t = AsnTable::parse(csv).unwrap();
        assert_eq!(t.stats.v4_ranges, 2);
        assert_eq!(t.stats.malformed, 7);
        assert_eq!(
            t.stats.first_malformed,
            vec![
                (2, "bad start address"),
                (3, "fewer than 4 fields"),
                (4, "start after end"),
                (5, "start and end of different address families"),
                (6, "bad AS number"),
                (7, "bad quoting in organisation"),
                (8, "bad AS number"),
            ]
        );
        assert_eq!(t.lookup(ip("2.0.0.1")), Some((2, "ok")));
        assert_eq!(t.lookup(ip("1.0.2.5")), None);
    }

    #[test]
    fn a_file_with_no_valid_row_is_rejected() {
        let err = AsnTable::parse(b"\nstart,end,asn,org\n").unwrap_err();
        assert_eq!(err, BadLine { line: 2, reason: "bad start address" });
        // Empty is not an error: nothing to look up.
        assert_eq!(AsnTable::parse(b"").unwrap().stats.v4_ranges, 0);
    }

    #[test]
    fn long_and_odd_org_names_are_bounded() {
        let mut csv = b"1.0.0.0,1.0.0.255,1,".to_vec();
        csv.extend("é".repeat(300).as_bytes());
        csv.extend(b"\n2.0.0.0,2.0.0.255,2,a\tb\xff\n");
        let t = AsnTable::parse(&csv).unwrap();
        let (_, org) = t.lookup(ip("1.0.0.1")).unwrap();
        assert_eq!(org.len(), MAX_ORG_LEN);
        assert_eq!(t.lookup(ip("2.0.0.1")), Some((2, "a b\u{fffd}")));
    }
}
