//! The compiled ASN table: written by [`super::compile`], checked once by [`AsnTable::load`], then
//! binary-searched in place (no text parsing, no per-range allocation).
//!
//! Layout: a 48-byte header, then the sections back to back, no padding; every integer is
//! little-endian.
//!
//! | offset | size | header field |
//! |---|---|---|
//! | 0 | 8 | magic [`TABLE_MAGIC`] (`\x89phASN\r\n`: not text, and mangled by line-ending conversion) |
//! | 8 | 4 | format version, [`TABLE_VERSION`] |
//! | 12 | 4 | flags, 0 |
//! | 16 | 4 | IPv4 ranges `n4` |
//! | 20 | 4 | IPv6 ranges `n6` |
//! | 24 | 4 | networks `nn` |
//! | 28 | 4 | distinct organisation names (for the stats) |
//! | 32 | 4 | name bytes `ns` |
//! | 36 | 4 | malformed CSV lines skipped when compiling (for the stats) |
//! | 40 | 4 | overlapping ranges clipped or dropped when compiling (for the stats) |
//! | 44 | 4 | reserved, 0 |
//!
//! Sections: IPv4 range starts (`n4` × u32), IPv4 ends (`n4` × u32), IPv4 network indices
//! (`n4` × u32), IPv6 starts (`n6` × u128), IPv6 ends (`n6` × u128), IPv6 network indices
//! (`n6` × u32), networks (`nn` × {AS number u32, name offset u32, name length u32}), names (`ns`
//! bytes of UTF-8). Starts are kept apart from ends so the binary search touches only them.
//!
//! [`AsnTable::load`] accepts a file only if the sizes add up exactly, every range has
//! `start <= end` and starts after the previous range ends (sorted, no overlap), every network
//! index is below `nn`, the names are UTF-8 without control characters, and every network's name
//! lies inside them on character boundaries and is at most [`MAX_ORG_LEN`] bytes long: one linear
//! pass, about a millisecond for the npm data. Lookups still use checked reads, so even a table
//! that passed no check could not make them panic.

use std::net::IpAddr;

use super::{AsnStats, MAX_ORG_LEN, Row};

/// First bytes of a compiled ASN table.
pub const TABLE_MAGIC: [u8; 8] = *b"\x89phASN\r\n";
/// Version of the table format this build reads and writes.
pub const TABLE_VERSION: u32 = 1;

const HEADER_LEN: usize = 48;
const NET_LEN: usize = 12;

/// One address family's sections: range count, key width (4 or 16 bytes) and section offsets.
#[derive(Debug, Default, Clone, Copy)]
struct Family {
    n: usize,
    width: usize,
    starts: usize,
    ends: usize,
    nets: usize,
}

/// A loaded, checked table.
#[derive(Debug, Default)]
pub(in crate::geo) struct AsnTable {
    data: Vec<u8>,
    v4: Family,
    v6: Family,
    nets: usize,
    n_nets: usize,
    names: usize,
    pub(in crate::geo) stats: AsnStats,
}

fn put(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn sat(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Serialises a compiled table. `v4`/`v6` are sorted, disjoint ranges, `nets` are (AS number, name
/// offset, name length); the counts fit 32 bits (checked by `compile`).
pub(super) fn write(
    v4: &[Row],
    v6: &[Row],
    nets: &[(u32, u32, u32)],
    names: &[u8],
    stats: &AsnStats,
) -> Vec<u8> {
    let len = HEADER_LEN + v4.len() * 12 + v6.len() * 36 + nets.len() * NET_LEN + names.len();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&TABLE_MAGIC);
    for v in [
        TABLE_VERSION,
        0,
        sat(v4.len() as u64),
        sat(v6.len() as u64),
        sat(nets.len() as u64),
        sat(stats.orgs as u64),
        sat(names.len() as u64),
        sat(stats.malformed),
        sat(stats.overlapping),
        0,
    ] {
        put(&mut out, v);
    }
    // IPv4 bounds were stored widened; they fit 32 bits.
    v4.iter().for_each(|r| put(&mut out, r.start as u32));
    v4.iter().for_each(|r| put(&mut out, r.end as u32));
    v4.iter().for_each(|r| put(&mut out, r.net));
    v6.iter().for_each(|r| out.extend_from_slice(&r.start.to_le_bytes()));
    v6.iter().for_each(|r| out.extend_from_slice(&r.end.to_le_bytes()));
    v6.iter().for_each(|r| put(&mut out, r.net));
    for &(asn, offset, len) in nets {
        put(&mut out, asn);
        put(&mut out, offset);
        put(&mut out, len);
    }
    out.extend_from_slice(names);
    debug_assert_eq!(out.len(), len);
    out
}

/// Unsigned little-endian integer of `width` (4 or 16) bytes at `at`; `None` past the end.
fn uint(data: &[u8], at: usize, width: usize) -> Option<u128> {
    let b = data.get(at..at.checked_add(width)?)?;
    Some(match width {
        4 => u32::from_le_bytes(b.try_into().ok()?).into(),
        _ => u128::from_le_bytes(b.try_into().ok()?),
    })
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    uint(data, at, 4).map(|v| v as u32)
}

/// True when the UTF-8 string holds a control character (C0, DEL or C1), checked on the bytes.
fn has_control(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().any(|&c| c < 0x20 || c == 0x7f)
        || memchr::memchr_iter(0xc2, b)
            .any(|i| b.get(i + 1).is_some_and(|c| (0x80..0xa0).contains(c)))
}

impl AsnTable {
    /// Checks a compiled table (see the module doc) and keeps it. The error says what is wrong.
    pub(in crate::geo) fn load(data: Vec<u8>) -> Result<Self, &'static str> {
        const COUNTS: &str = "its counts do not match its size (truncated or corrupted)";
        if data.len() < HEADER_LEN || data[..8] != TABLE_MAGIC {
            return Err(if data.starts_with(&TABLE_MAGIC) {
                "shorter than its header"
            } else {
                "not a phonehome ASN table"
            });
        }
        let h = |i: usize| u32_at(&data, 8 + 4 * i).map_or(0, |v| v as usize);
        if h(0) != TABLE_VERSION as usize {
            return Err("table format of another phonehome version (run scripts/geo-setup.sh \
                        --force)");
        }
        if h(1) != 0 || h(9) != 0 {
            return Err("unknown flags in its header");
        }
        let (n4, n6, n_nets, orgs, n_names) = (h(2), h(3), h(4), h(5), h(6));
        let mut at = HEADER_LEN;
        let mut section = |count: usize, width: usize| -> Option<usize> {
            let start = at;
            at = at.checked_add(count.checked_mul(width)?)?;
            Some(start)
        };
        let mut family = |n: usize, width: usize| -> Option<Family> {
            Some(Family {
                n,
                width,
                starts: section(n, width)?,
                ends: section(n, width)?,
                nets: section(n, 4)?,
            })
        };
        let (Some(v4), Some(v6)) = (family(n4, 4), family(n6, 16)) else {
            return Err(COUNTS);
        };
        let (Some(nets), Some(names)) = (section(n_nets, NET_LEN), section(n_names, 1)) else {
            return Err(COUNTS);
        };
        if at != data.len() {
            return Err(COUNTS);
        }
        let t = Self {
            v4,
            v6,
            nets,
            n_nets,
            names,
            stats: AsnStats {
                v4_ranges: n4,
                v6_ranges: n6,
                orgs,
                networks: n_nets,
                malformed: h(7) as u64,
                overlapping: h(8) as u64,
                first_malformed: Vec::new(),
            },
            data,
        };
        t.check_names()?;
        t.check_ranges(&t.v4)?;
        t.check_ranges(&t.v6)?;
        Ok(t)
    }

    /// All names are UTF-8 without control characters, and each network's name lies inside them,
    /// on character boundaries, at most [`MAX_ORG_LEN`] bytes long. One pass over the names.
    fn check_names(&self) -> Result<(), &'static str> {
        const BAD: &str = "a network's name is out of bounds, too long or not clean UTF-8";
        let names = self.data.get(self.names..).ok_or(BAD)?;
        let names = std::str::from_utf8(names).map_err(|_| BAD)?;
        if has_control(names) {
            return Err(BAD);
        }
        let nets = self.data.get(self.nets..self.nets + self.n_nets * NET_LEN).ok_or(BAD)?;
        for net in nets.chunks_exact(NET_LEN) {
            let offset = u32_at(net, 4).ok_or(BAD)? as usize;
            let len = u32_at(net, 8).ok_or(BAD)? as usize;
            let end = offset.checked_add(len).ok_or(BAD)?;
            if len > MAX_ORG_LEN || names.get(offset..end).is_none() {
                return Err(BAD);
            }
        }
        Ok(())
    }

    fn check_ranges(&self, f: &Family) -> Result<(), &'static str> {
        let section = |at: usize, width: usize| self.data.get(at..at + f.n * width);
        let (Some(starts), Some(ends), Some(nets)) =
            (section(f.starts, f.width), section(f.ends, f.width), section(f.nets, 4))
        else {
            return Err("a range is out of bounds");
        };
        let key = |b: &[u8]| uint(b, 0, f.width).unwrap_or(0);
        let mut prev_end: Option<u128> = None;
        for ((s, e), n) in
            starts.chunks_exact(f.width).zip(ends.chunks_exact(f.width)).zip(nets.chunks_exact(4))
        {
            let (start, end) = (key(s), key(e));
            if start > end || prev_end.is_some_and(|p| start <= p) {
                return Err("ranges are not sorted and disjoint");
            }
            if u32_at(n, 0).is_none_or(|n| n as usize >= self.n_nets) {
                return Err("a range names a network that does not exist");
            }
            prev_end = Some(end);
        }
        Ok(())
    }

    /// AS number and name of network `i`, if in bounds and clean.
    fn network(&self, i: usize) -> Option<(u32, &str)> {
        if i >= self.n_nets {
            return None;
        }
        let at = self.nets + i * NET_LEN;
        let asn = u32_at(&self.data, at)?;
        let offset = u32_at(&self.data, at + 4)? as usize;
        let len = u32_at(&self.data, at + 8)? as usize;
        if len > MAX_ORG_LEN {
            return None;
        }
        let name_bytes = self.data.get(self.names..)?.get(offset..offset.checked_add(len)?)?;
        let name = std::str::from_utf8(name_bytes).ok()?;
        (!has_control(name)).then_some((asn, name))
    }

    /// ASN and organisation of the range holding `ip`.
    pub(in crate::geo) fn lookup(&self, ip: IpAddr) -> Option<(u32, &str)> {
        let (f, key) = match ip {
            IpAddr::V4(v4) => (&self.v4, u128::from(v4.to_bits())),
            IpAddr::V6(v6) => (&self.v6, v6.to_bits()),
        };
        // The first range starting after `key`; the one before it may hold `key`.
        let (mut lo, mut hi) = (0, f.n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if uint(&self.data, f.starts + mid * f.width, f.width)? <= key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let i = lo.checked_sub(1)?;
        if key > uint(&self.data, f.ends + i * f.width, f.width)? {
            return None;
        }
        self.network(u32_at(&self.data, f.nets + i * 4)? as usize)
    }

    /// Bytes held (the table as read).
    pub(in crate::geo) fn heap_bytes(&self) -> usize {
        self.data.capacity()
    }
}
