//! The country table built into the binary, so that a fresh machine shows countries with no
//! set-up: ip-location-db's `geo-whois-asn-country` (CC0; its registry data from the NRO under
//! CC BY 4.0, attributed in every report through [`Geo::source`](super::Geo::source) and in
//! `crates/report/data/country/ATTRIBUTION.txt`). `scripts/geo-country.sh` fetches the package
//! and compiles it with [`compile`]; data in `data/geo/` or `--geo-db` take precedence.
//!
//! Format (gzip of): magic [`MAGIC`], then LEB128 varints: country count `nc`, `nc` two-byte
//! upper-case codes, IPv4 range count `n4`, `n4` start deltas, `n4` country bytes, IPv6 range
//! count `n6`, `n6` start deltas (u128), `n6` country bytes. Range `i` runs from its start to the
//! next start (the last to the end of the family); the first start is the first delta. A country
//! byte is an index below `nc`, or [`UNKNOWN`] for a gap in the data. About 1 MB compressed,
//! 4.5 MB in memory, decoded in some 30 ms on the geo thread (the capture is read meanwhile).
//!
//! [`Table::decode`] refuses anything that is not exactly this: a bad magic, a varint past the
//! data or wider than its family, starts that do not increase, a country index out of range, a
//! code that is not two ASCII letters, bytes left over, more than [`MAX_DECODED`] bytes after
//! gunzip.

use std::io::Read;
use std::net::IpAddr;

/// First bytes of the table (after gunzip).
pub const MAGIC: [u8; 8] = *b"\x89phCC\r\n\x01";
/// Country byte of a range the data does not cover.
pub const UNKNOWN: u8 = 0xff;
/// Largest table accepted after gunzip (the real one is about 2.3 MB).
pub const MAX_DECODED: u64 = 64 << 20;

/// The table compiled into the binary (see the module documentation).
pub static BUILTIN: &[u8] = include_bytes!("../../data/country/country.bin.gz");
/// Its source line for reports: package, version, data date, licences.
pub static BUILTIN_SOURCE: &str = include_str!("../../data/country/country.source");

/// A decoded table.
#[derive(Debug, Default)]
pub struct Table {
    codes: Vec<[u8; 2]>,
    v4: Vec<u32>,
    v4_cc: Vec<u8>,
    v6: Vec<u128>,
    v6_cc: Vec<u8>,
}

/// Why a table was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bad(pub &'static str);

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn varint(&mut self) -> Result<u128, Bad> {
        let mut v: u128 = 0;
        for shift in (0..128).step_by(7) {
            let b = *self.data.get(self.pos).ok_or(Bad("cut short"))?;
            self.pos += 1;
            let bits = u128::from(b & 0x7f);
            if shift == 126 && bits > 0b11 {
                return Err(Bad("varint too wide"));
            }
            v |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Bad("varint too long"))
    }

    fn count(&mut self, max: usize) -> Result<usize, Bad> {
        usize::try_from(self.varint()?).ok().filter(|&n| n <= max).ok_or(Bad("count too large"))
    }

    fn bytes(&mut self, n: usize) -> Result<&[u8], Bad> {
        let b = self.data.get(self.pos..self.pos.saturating_add(n)).ok_or(Bad("cut short"))?;
        self.pos += n;
        Ok(b)
    }
}

impl Table {
    /// Gunzips (bounded) and decodes `gz`.
    pub fn decode(gz: &[u8]) -> Result<Self, Bad> {
        let mut data = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .take(MAX_DECODED + 1)
            .read_to_end(&mut data)
            .map_err(|_| Bad("not gzip"))?;
        if data.len() as u64 > MAX_DECODED {
            return Err(Bad("larger than MAX_DECODED"));
        }
        Self::decode_raw(&data)
    }

    /// Decodes the table after gunzip.
    pub fn decode_raw(data: &[u8]) -> Result<Self, Bad> {
        let mut c = Cursor { data, pos: 0 };
        if c.bytes(MAGIC.len())? != MAGIC {
            return Err(Bad("bad magic"));
        }
        let nc = c.count(usize::from(UNKNOWN))?;
        let mut codes = Vec::with_capacity(nc);
        for _ in 0..nc {
            let code = c.bytes(2)?;
            if !code.iter().all(u8::is_ascii_uppercase) {
                return Err(Bad("country code not two letters"));
            }
            codes.push([code[0], code[1]]);
        }
        // Every range costs at least two bytes: the counts cannot exceed what is left.
        let n4 = c.count(data.len() / 2)?;
        let v4 = starts(&mut c, n4, u128::from(u32::MAX))?
            .into_iter()
            .map(|s| u32::try_from(s).map_err(|_| Bad("IPv4 start too large")))
            .collect::<Result<Vec<_>, _>>()?;
        let v4_cc = ccs(&mut c, n4, nc)?;
        let n6 = c.count(data.len() / 2)?;
        let v6 = starts(&mut c, n6, u128::MAX)?;
        let v6_cc = ccs(&mut c, n6, nc)?;
        if c.pos != data.len() {
            return Err(Bad("bytes left over"));
        }
        Ok(Self { codes, v4, v4_cc, v6, v6_cc })
    }

    /// The country of `ip` (an address the caller already knows is not special).
    pub fn lookup(&self, ip: IpAddr) -> Option<String> {
        let cc = match ip {
            IpAddr::V4(a) => at(&self.v4, &self.v4_cc, u32::from(a)),
            IpAddr::V6(a) => at(&self.v6, &self.v6_cc, u128::from(a)),
        }?;
        let code = self.codes.get(usize::from(cc))?;
        Some(String::from_utf8_lossy(code).into_owned())
    }

    /// Ranges per family, for the stats and tests.
    pub fn ranges(&self) -> (usize, usize) {
        (self.v4.len(), self.v6.len())
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.v4.len() * 5 + self.v6.len() * 17 + self.codes.len() * 2
    }
}

/// `n` starts from their deltas: strictly increasing after the first, at most `max`.
fn starts(c: &mut Cursor<'_>, n: usize, max: u128) -> Result<Vec<u128>, Bad> {
    let mut out = Vec::with_capacity(n);
    let mut prev: Option<u128> = None;
    for _ in 0..n {
        let d = c.varint()?;
        let s = match prev {
            None => d,
            Some(_) if d == 0 => return Err(Bad("starts do not increase")),
            Some(p) => p.checked_add(d).ok_or(Bad("start overflows"))?,
        };
        if s > max {
            return Err(Bad("start beyond the family"));
        }
        out.push(s);
        prev = Some(s);
    }
    Ok(out)
}

fn ccs(c: &mut Cursor<'_>, n: usize, nc: usize) -> Result<Vec<u8>, Bad> {
    let b = c.bytes(n)?;
    if b.iter().any(|&x| x != UNKNOWN && usize::from(x) >= nc) {
        return Err(Bad("country index out of range"));
    }
    Ok(b.to_vec())
}

/// The country byte of the range holding `key`, unless it is a gap.
fn at<T: Ord + Copy>(starts: &[T], ccs: &[u8], key: T) -> Option<u8> {
    let i = starts.partition_point(|&s| s <= key).checked_sub(1)?;
    ccs.get(i).copied().filter(|&c| c != UNKNOWN)
}

/// Compiles ip-location-db's `geo-whois-asn-country-ipv4-num.csv` and `-ipv6-num.csv`
/// (`start,end,CC`, numeric, sorted) into the gzip'd table; gaps between ranges become
/// [`UNKNOWN`] ranges. Errors name the line.
pub fn compile(v4_csv: &str, v6_csv: &str) -> Result<Vec<u8>, String> {
    let v4 = parse(v4_csv, u128::from(u32::MAX)).map_err(|e| format!("IPv4 CSV: {e}"))?;
    let v6 = parse(v6_csv, u128::MAX).map_err(|e| format!("IPv6 CSV: {e}"))?;
    let mut codes: Vec<[u8; 2]> = v4.iter().chain(&v6).map(|r| r.2).collect();
    codes.sort_unstable();
    codes.dedup();
    if codes.len() >= usize::from(UNKNOWN) {
        return Err("too many countries".into());
    }
    let mut out = MAGIC.to_vec();
    varint(codes.len() as u128, &mut out);
    for c in &codes {
        out.extend_from_slice(c);
    }
    for (ranges, max) in [(&v4, u128::from(u32::MAX)), (&v6, u128::MAX)] {
        let mut starts: Vec<(u128, u8)> = Vec::new();
        let mut next = 0u128; // first address not covered yet
        for &(s, e, cc) in ranges {
            if s > next {
                starts.push((next, UNKNOWN));
            }
            let idx = codes.binary_search(&cc).map_err(|_| "country missing")? as u8;
            starts.push((s, idx));
            next = e.saturating_add(1);
        }
        if ranges.last().is_some_and(|r| r.1 < max) {
            starts.push((next, UNKNOWN));
        }
        varint(starts.len() as u128, &mut out);
        let mut prev = 0;
        for &(s, _) in &starts {
            varint(s - prev, &mut out);
            prev = s;
        }
        out.extend(starts.iter().map(|&(_, c)| c));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &out).map_err(|e| e.to_string())?;
    gz.finish().map_err(|e| e.to_string())
}

/// `start,end,CC` lines sorted by start, within `max`. A range inside (or over) earlier ones
/// overrides them there: the data lists single addresses and small blocks of another country
/// after the block around them (`37405696,37406207,DE` then `37405967,37405967,BE`).
fn parse(csv: &str, max: u128) -> Result<Vec<(u128, u128, [u8; 2])>, String> {
    let mut out: Vec<(u128, u128, [u8; 2])> = Vec::new();
    let mut last_start = None;
    for (n, line) in csv.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let bad = |why: &str| format!("line {}: {why}", n + 1);
        let mut f = line.trim().split(',');
        let (Some(s), Some(e), Some(cc), None) = (f.next(), f.next(), f.next(), f.next()) else {
            return Err(bad("not start,end,CC"));
        };
        let s: u128 = s.parse().map_err(|_| bad("start"))?;
        let e: u128 = e.parse().map_err(|_| bad("end"))?;
        let cc = cc.as_bytes();
        if cc.len() != 2 || !cc.iter().all(u8::is_ascii_alphabetic) {
            return Err(bad("country code"));
        }
        if s > e || e > max || last_start.is_some_and(|l| s < l) {
            return Err(bad("range out of order or too large"));
        }
        last_start = Some(s);
        let mut tails = Vec::new();
        while let Some(&(ps, pe, pc)) = out.last().filter(|p| p.1 >= s) {
            out.pop();
            if pe > e {
                tails.push((e + 1, pe, pc));
            }
            if ps < s {
                out.push((ps, s - 1, pc));
                break;
            }
        }
        out.push((s, e, [cc[0].to_ascii_uppercase(), cc[1].to_ascii_uppercase()]));
        tails.sort_unstable();
        out.extend(tails);
    }
    Ok(out)
}

fn varint(mut v: u128, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: &str = "16777216,16777471,AU\n16777472,16778239,cn\n16778496,16779263,AU\n";
    /// 2001:4860::/32.
    const V6: &str =
        "42541956101370907050197289607612071936,42541956180599069564461627201156022271,US\n";

    #[test]
    fn compile_then_lookup_with_gaps() {
        let t = Table::decode(&compile(V4, V6).unwrap()).unwrap();
        let q = |s: &str| t.lookup(s.parse().unwrap());
        assert_eq!(q("1.0.0.1").as_deref(), Some("AU"));
        assert_eq!(q("1.0.1.7").as_deref(), Some("CN"));
        assert_eq!(q("1.0.4.1"), None, "the gap between the ranges");
        assert_eq!(q("1.0.6.1").as_deref(), Some("AU"));
        assert_eq!(q("1.0.12.0"), None, "after the last range");
        assert_eq!(q("0.0.0.1"), None, "before the first");
        assert_eq!(q("2001:4860::8888").as_deref(), Some("US"));
        assert_eq!(q("2001:4861::1"), None);
        assert_eq!(t.ranges(), (6, 3));
        // A block inside another overrides it there, and a copy of the rest changes nothing.
        let t =
            Table::decode(&compile("100,199,DE\n150,150,BE\n151,199,DE\n", "").unwrap()).unwrap();
        let q = |n: u32| t.lookup(std::net::Ipv4Addr::from(n).into());
        assert_eq!(
            [q(149), q(150), q(151), q(199), q(200)].map(|c| c.unwrap_or_default()),
            ["DE", "BE", "DE", "DE", ""]
        );
    }

    #[test]
    fn every_damage_is_refused_never_a_panic() {
        let gz = compile(V4, V6).unwrap();
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut raw).unwrap();
        assert!(Table::decode_raw(&raw).is_ok());
        for cut in 0..raw.len() {
            assert!(Table::decode_raw(&raw[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..raw.len() {
            for x in [0x00, 0x7f, 0x80, 0xff] {
                let mut d = raw.clone();
                d[i] ^= x;
                if let Ok(t) = Table::decode_raw(&d) {
                    let _ = t.lookup("1.0.1.1".parse().unwrap());
                    let _ = t.lookup("::1".parse().unwrap());
                }
            }
        }
        let mut extra = raw.clone();
        extra.push(0);
        assert_eq!(Table::decode_raw(&extra).unwrap_err(), Bad("bytes left over"));
        assert!(Table::decode(b"not gzip").is_err());
        assert!(compile("5,4,AU\n", "").is_err(), "start after end");
        assert!(compile("3,5,AU\n1,9,CN\n", "").is_err(), "out of order");
        assert!(compile("1,5,A1\n", "").is_err(), "code");
    }

    #[test]
    fn the_built_in_table_knows_the_world() {
        let t = Table::decode(BUILTIN).expect("the built-in table decodes");
        let (n4, n6) = t.ranges();
        assert!(n4 > 100_000 && n6 > 100_000, "{n4} {n6}");
        let q = |s: &str| t.lookup(s.parse().unwrap());
        assert_eq!(q("1.0.1.1").as_deref(), Some("CN"));
        assert_eq!(q("8.8.8.8").as_deref(), Some("US"));
        assert_eq!(q("168.95.1.1").as_deref(), Some("TW"), "HiNet");
        assert_eq!(q("2001:b000::1").as_deref(), Some("TW"));
        assert!(BUILTIN_SOURCE.contains("CC0") && BUILTIN_SOURCE.contains("NRO"));
    }
}
