//! IP range -> ASN and organisation.
//!
//! The ip-location-db data is a CSV (`start,end,asn,org`, IPv4 and IPv6 rows in one file or two).
//! Parsing its ~515k rows takes about 0.3 s, so it is done once: [`compile`] turns the
//! CSV into a compact binary range table (format in `table.rs`), which `scripts/geo-setup.sh`
//! writes to `data/geo/asn.bin` (through `cargo run --release -p report --example geo-compile`).
//! Loading that table is reading the file and one linear validation pass (a few milliseconds);
//! lookups binary-search it in place. A CSV given at run time is compiled in memory first.
//!
//! CSV rules: the org column may be quoted (`"Cloudflare, Inc."`, `""` for a quote). Blank lines
//! are skipped; malformed lines are counted and the first [`MAX_MALFORMED_KEPT`] kept with their
//! line numbers; a file with no valid row at all is an error naming its first bad line.
//! Organisation names are cut to [`MAX_ORG_LEN`] bytes, control characters become spaces, and each
//! distinct name is stored once (the ~515k rows of the npm data name ~81k organisations).
//! Overlapping ranges (one in the npm data) are resolved at compile time: the range that starts
//! first wins, a later one is clipped to begin after it, or dropped when it lies inside it
//! ([`AsnStats::overlapping`]); adjacent ranges of the same network are merged.

mod table;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub(super) use table::AsnTable;
pub use table::{TABLE_MAGIC, TABLE_VERSION};

/// Longest organisation name kept (bytes; longer names are cut at a character boundary).
pub const MAX_ORG_LEN: usize = 200;
/// Malformed lines kept, with their line numbers, in [`AsnStats::first_malformed`].
pub const MAX_MALFORMED_KEPT: usize = 8;

/// What compiling (or loading) the ASN data found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AsnStats {
    /// IPv4 ranges in the table.
    pub v4_ranges: usize,
    /// IPv6 ranges in the table.
    pub v6_ranges: usize,
    /// Distinct organisation names.
    pub orgs: usize,
    /// Distinct (AS number, organisation) pairs.
    pub networks: usize,
    /// CSV lines that could not be read (for a compiled table: when it was compiled).
    pub malformed: u64,
    /// Ranges that overlapped one starting before them, clipped or dropped.
    pub overlapping: u64,
    /// The first malformed lines: (1-based line number, what was wrong). Empty for a table loaded
    /// from a file (the compiler reported them).
    pub first_malformed: Vec<(u64, &'static str)>,
}

/// A CSV line that stopped compilation: line number and reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number.
    pub line: u64,
    /// What was wrong with it.
    pub reason: &'static str,
}

/// A compiled table ([`compile`]) and what compiling found.
#[derive(Debug)]
pub struct Compiled {
    /// The table, as written to `data/geo/asn.bin`.
    pub bytes: Vec<u8>,
    /// Counts, and the first malformed lines.
    pub stats: AsnStats,
}

/// One range while compiling: inclusive bounds (IPv4 in the low 32 bits) and network index.
#[derive(Debug, Clone, Copy)]
struct Row {
    start: u128,
    end: u128,
    net: u32,
}

const TOO_BIG: &str = "more data than the table format holds (4 GiB)";

/// Compiles a whole CSV into the binary table. Errors only when there are lines but none of them
/// is valid, or (not for any real file) when counts overflow the format's 32-bit fields.
pub fn compile(csv: &[u8]) -> Result<Compiled, BadLine> {
    let mut stats = AsnStats::default();
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    let mut names: Vec<u8> = Vec::new();
    let mut org_ids: HashMap<Box<str>, u32> = HashMap::new();
    let mut orgs: Vec<(u32, u32)> = Vec::new(); // org id -> (offset, length) in `names`
    let mut net_ids: HashMap<(u32, u32), u32> = HashMap::new(); // (asn, org id) -> network
    let mut nets: Vec<(u32, u32)> = Vec::new(); // network -> (asn, org id)
    let mut line_no = 0u64;
    for raw in csv.split(|&b| b == b'\n') {
        line_no += 1;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let (start, end, asn, org) = match parse_line(line) {
            Ok(row) => row,
            Err(reason) => {
                stats.malformed += 1;
                if stats.first_malformed.len() < MAX_MALFORMED_KEPT {
                    stats.first_malformed.push((line_no, reason));
                }
                continue;
            }
        };
        let too_big = BadLine { line: line_no, reason: TOO_BIG };
        let org_id = match org_ids.get(&*org) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(orgs.len()).map_err(|_| too_big)?;
                let offset = u32::try_from(names.len()).map_err(|_| too_big)?;
                let len = u32::try_from(org.len()).map_err(|_| too_big)?;
                offset.checked_add(len).ok_or(too_big)?;
                names.extend_from_slice(org.as_bytes());
                orgs.push((offset, len));
                org_ids.insert(org.as_ref().into(), id);
                id
            }
        };
        let net = match net_ids.get(&(asn, org_id)) {
            Some(&n) => n,
            None => {
                let n = u32::try_from(nets.len()).map_err(|_| too_big)?;
                nets.push((asn, org_id));
                net_ids.insert((asn, org_id), n);
                n
            }
        };
        match (start, end) {
            (IpAddr::V4(s), IpAddr::V4(e)) => {
                v4.push(Row { start: s.to_bits().into(), end: e.to_bits().into(), net });
            }
            (IpAddr::V6(s), IpAddr::V6(e)) => {
                v6.push(Row { start: s.to_bits(), end: e.to_bits(), net });
            }
            _ => unreachable!("parse_line checks the families agree"),
        }
        if v4.len().max(v6.len()) > u32::MAX as usize {
            return Err(too_big);
        }
    }
    if v4.is_empty()
        && v6.is_empty()
        && let Some(&(line, reason)) = stats.first_malformed.first()
    {
        return Err(BadLine { line, reason });
    }
    let v4 = flatten(v4, &mut stats.overlapping);
    let v6 = flatten(v6, &mut stats.overlapping);
    stats.v4_ranges = v4.len();
    stats.v6_ranges = v6.len();
    stats.orgs = orgs.len();
    stats.networks = nets.len();
    let nets: Vec<(u32, u32, u32)> = nets
        .iter()
        .map(|&(asn, org)| {
            let (offset, len) = orgs[org as usize];
            (asn, offset, len)
        })
        .collect();
    let bytes = table::write(&v4, &v6, &nets, &names, &stats);
    Ok(Compiled { bytes, stats })
}

/// Sorts by start (stably: file order among equal starts), resolves overlaps (the earlier range
/// wins) and merges adjacent ranges of the same network.
fn flatten(mut rows: Vec<Row>, overlapping: &mut u64) -> Vec<Row> {
    // The npm files are sorted already; sorting a sorted Vec is one linear pass.
    rows.sort_by_key(|r| r.start);
    let mut out: Vec<Row> = Vec::with_capacity(rows.len());
    for mut r in rows {
        if let Some(last) = out.last_mut() {
            if r.start <= last.end {
                *overlapping += 1;
                if r.end <= last.end {
                    continue;
                }
                r.start = last.end + 1; // last.end < r.end, so no overflow
            }
            if r.net == last.net && last.end.checked_add(1) == Some(r.start) {
                last.end = r.end;
                continue;
            }
        }
        out.push(r);
    }
    out.shrink_to_fit();
    out
}

type CsvRow<'a> = (IpAddr, IpAddr, u32, Cow<'a, str>);

fn parse_line(line: &[u8]) -> Result<CsvRow<'_>, &'static str> {
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
/// UTF-8), so compiling allocates only for new names.
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
