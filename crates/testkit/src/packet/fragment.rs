//! IPv4 and IPv6 fragmentation of already-built packets.
//!
//! Three flavours each: by payload sizes (`fragment_ipv4(pkt, &[8, 16])`: fragments carrying 8,
//! 16, then the rest), by MTU, and by arbitrary byte ranges of the fragmentable payload (which
//! may overlap, repeat or leave holes, for reassembly edge cases).

use std::ops::Range;

use super::{checksum, ip_proto};

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Turns payload sizes into consecutive ranges: every size but the last must be a multiple of 8;
/// bytes left after the sizes form one more fragment.
fn sizes_to_ranges(total: usize, sizes: &[usize]) -> Vec<Range<usize>> {
    let mut ranges = Vec::with_capacity(sizes.len() + 1);
    let mut at = 0;
    for &s in sizes {
        assert!(at < total || (total == 0 && ranges.is_empty()), "fragment sizes exceed payload");
        let end = (at + s).min(total);
        if end < total {
            assert!(
                s > 0 && s.is_multiple_of(8),
                "non-final fragment size {s} is not a multiple of 8"
            );
        }
        ranges.push(at..end);
        at = end;
    }
    if at < total || ranges.is_empty() {
        ranges.push(at..total);
    }
    ranges
}

fn mtu_sizes(payload_len: usize, room: usize) -> Vec<usize> {
    let chunk = room / 8 * 8;
    assert!(chunk > 0, "MTU too small to fragment");
    vec![chunk; payload_len.div_ceil(chunk).saturating_sub(1)]
}

/// Options of an IPv4 header that have the "copied" flag (kept in non-first fragments).
fn copied_options(opts: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            0 => break,
            1 => i += 1,
            t => {
                let len = opts.get(i + 1).map_or(1, |&l| usize::from(l).max(2));
                let end = (i + len).min(opts.len());
                if t & 0x80 != 0 {
                    out.extend_from_slice(&opts[i..end]);
                }
                i = end;
            }
        }
    }
    out.resize(out.len().next_multiple_of(4), 0);
    out
}

/// Panics unless `r` is a valid fragment of a `payload_len`-byte payload: it starts at a multiple
/// of 8 and lies inside the payload.
fn check_range(r: &Range<usize>, payload_len: usize) {
    assert!(r.start.is_multiple_of(8), "fragment offset {} is not a multiple of 8", r.start);
    assert!(r.start <= r.end && r.end <= payload_len, "fragment range out of payload");
}

/// Fragments an IPv4 `packet` into pieces carrying the given payload byte `ranges` (starts must
/// be multiples of 8). Offsets add to the packet's own offset; MF is set unless a range reaches
/// the end of a packet that had no MF itself; DF is cleared; non-first fragments keep only the
/// copied options; checksums are recomputed.
pub fn fragment_ipv4_ranges(packet: &[u8], ranges: &[Range<usize>]) -> Vec<Vec<u8>> {
    assert!(packet.len() >= 20 && packet[0] >> 4 == 4, "not an IPv4 packet");
    let ihl = usize::from(packet[0] & 0x0f) * 4;
    let total = usize::from(be16(packet, 2)).min(packet.len());
    let payload = &packet[ihl..total];
    let ff = be16(packet, 6);
    let base_off = usize::from(ff & 0x1fff) * 8;
    let orig_mf = ff & 0x2000 != 0;
    let later_opts = copied_options(&packet[20..ihl]);
    ranges
        .iter()
        .map(|r| {
            check_range(r, payload.len());
            let mut f = Vec::with_capacity(ihl + r.len());
            if r.start == 0 {
                f.extend_from_slice(&packet[..ihl]);
            } else {
                f.extend_from_slice(&packet[..20]);
                f.extend_from_slice(&later_opts);
                f[0] = 0x40 | ((20 + later_opts.len()) / 4) as u8;
            }
            let hlen = f.len();
            f.extend_from_slice(&payload[r.clone()]);
            let mf = orig_mf || r.end < payload.len();
            let off = ((base_off + r.start) / 8) as u16;
            let total = f.len() as u16;
            f[2..4].copy_from_slice(&total.to_be_bytes());
            f[6..8].copy_from_slice(&((u16::from(mf) << 13) | (off & 0x1fff)).to_be_bytes());
            f[10..12].copy_from_slice(&[0, 0]);
            let sum = checksum::internet_checksum(&f[..hlen]);
            f[10..12].copy_from_slice(&sum.to_be_bytes());
            f
        })
        .collect()
}

/// Fragments an IPv4 `packet` into fragments carrying `sizes` payload bytes each (multiples of
/// 8 except the last), plus one more fragment with any remaining bytes.
pub fn fragment_ipv4(packet: &[u8], sizes: &[usize]) -> Vec<Vec<u8>> {
    let ihl = usize::from(packet[0] & 0x0f) * 4;
    let len = usize::from(be16(packet, 2)).min(packet.len()) - ihl;
    fragment_ipv4_ranges(packet, &sizes_to_ranges(len, sizes))
}

/// Fragments an IPv4 `packet` so that no fragment exceeds `mtu` bytes (unchanged if it fits).
pub fn fragment_ipv4_mtu(packet: &[u8], mtu: usize) -> Vec<Vec<u8>> {
    if packet.len() <= mtu {
        return vec![packet.to_vec()];
    }
    let ihl = usize::from(packet[0] & 0x0f) * 4;
    let later = 20 + copied_options(&packet[20..ihl]).len();
    let room = mtu.saturating_sub(ihl.max(later));
    fragment_ipv4(packet, &mtu_sizes(packet.len() - ihl, room))
}

/// (end of the unfragmentable part, offset of the next-header byte to patch, payload end).
fn ipv6_unfragmentable(packet: &[u8]) -> (usize, usize, usize) {
    assert!(packet.len() >= 40 && packet[0] >> 4 == 6, "not an IPv6 packet");
    let end = (40 + usize::from(be16(packet, 4))).min(packet.len());
    let (mut pos, mut nh) = (40, packet[6]);
    let mut unfrag = (40, 6);
    while matches!(nh, ip_proto::HOPOPT | ip_proto::IPV6_ROUTE | ip_proto::IPV6_DSTOPTS)
        && pos + 2 <= end
    {
        let len = (usize::from(packet[pos + 1]) + 1) * 8;
        if nh != ip_proto::IPV6_DSTOPTS {
            unfrag = (pos + len, pos);
        }
        nh = packet[pos];
        pos += len;
    }
    (unfrag.0.min(end), unfrag.1, end)
}

/// Fragments an IPv6 `packet` into pieces carrying the given byte `ranges` of its fragmentable
/// part (starts multiples of 8), inserting a Fragment header with identification `id` after the
/// unfragmentable headers (IPv6, Hop-by-Hop, Routing and Destination Options before Routing).
pub fn fragment_ipv6_ranges(packet: &[u8], ranges: &[Range<usize>], id: u32) -> Vec<Vec<u8>> {
    let (unfrag_end, nh_at, end) = ipv6_unfragmentable(packet);
    let next = packet[nh_at];
    let payload = &packet[unfrag_end..end];
    ranges
        .iter()
        .map(|r| {
            check_range(r, payload.len());
            let mut f = Vec::with_capacity(unfrag_end + 8 + r.len());
            f.extend_from_slice(&packet[..unfrag_end]);
            f[nh_at] = ip_proto::IPV6_FRAG;
            let more = r.end < payload.len();
            let off = ((r.start / 8) as u16) << 3 | u16::from(more);
            f.extend_from_slice(&[next, 0]);
            f.extend_from_slice(&off.to_be_bytes());
            f.extend_from_slice(&id.to_be_bytes());
            f.extend_from_slice(&payload[r.clone()]);
            let plen = (f.len() - 40) as u16;
            f[4..6].copy_from_slice(&plen.to_be_bytes());
            f
        })
        .collect()
}

/// Fragments an IPv6 `packet` into fragments carrying `sizes` bytes of its fragmentable part
/// each (multiples of 8 except the last), plus one more with any remaining bytes.
pub fn fragment_ipv6(packet: &[u8], sizes: &[usize], id: u32) -> Vec<Vec<u8>> {
    let (unfrag_end, _, end) = ipv6_unfragmentable(packet);
    fragment_ipv6_ranges(packet, &sizes_to_ranges(end - unfrag_end, sizes), id)
}

/// Fragments an IPv6 `packet` so that no fragment exceeds `mtu` bytes (unchanged if it fits).
pub fn fragment_ipv6_mtu(packet: &[u8], mtu: usize, id: u32) -> Vec<Vec<u8>> {
    if packet.len() <= mtu {
        return vec![packet.to_vec()];
    }
    let (unfrag_end, _, end) = ipv6_unfragmentable(packet);
    let room = mtu.saturating_sub(unfrag_end + 8);
    fragment_ipv6(packet, &mtu_sizes(end - unfrag_end, room), id)
}
