//! IPv4 and IPv6 header parsing: the read-only half of smoltcp's Packet/Repr split.
//!
//! Each parser checks lengths once at the top and then reads fixed offsets (named in the `field`
//! modules), so nothing after the checks can panic. The result is a [`Repr`]: addresses, the
//! transport protocol, the transport bytes that were captured, and the transport length on the wire.
//!
//! Lengths (all in bytes):
//! - *wire* lengths come from the IP header (total length / payload length) and say how long the
//!   packet was on the link;
//! - *captured* slices are cut at `min(wire length, captured bytes)`: trailing Ethernet padding past
//!   the IP length is ignored, and a frame cut by the snap length keeps the part that was captured.
//! - An IPv4 total length of 0 (or an IPv6 payload length of 0 without a jumbo option) with bytes
//!   following the header is what TCP segmentation offload writes into captures taken on the
//!   sending host: the rest of the buffer is taken as the packet.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::DecodeError;

/// Byte offsets inside the IPv4 fixed header (RFC 791).
mod v4field {
    pub(super) const VER_IHL: usize = 0;
    pub(super) const TOTAL_LEN: usize = 2;
    pub(super) const IDENT: usize = 4;
    pub(super) const FLAGS_FRAG: usize = 6;
    pub(super) const PROTOCOL: usize = 9;
    pub(super) const SRC: usize = 12;
    pub(super) const DST: usize = 16;
    /// Length of the header without options.
    pub(super) const MIN_LEN: usize = 20;
}

/// Byte offsets inside the IPv6 fixed header (RFC 8200).
mod v6field {
    pub(super) const PAYLOAD_LEN: usize = 4;
    pub(super) const NEXT_HEADER: usize = 6;
    pub(super) const SRC: usize = 8;
    pub(super) const DST: usize = 24;
    /// Length of the fixed header.
    pub(super) const LEN: usize = 40;
}

/// IPv6 extension header numbers walked by [`walk_v6`].
mod v6ext {
    pub(super) const HOP_BY_HOP: u8 = 0;
    pub(super) const ROUTING: u8 = 43;
    pub(super) const FRAGMENT: u8 = 44;
    pub(super) const AUTH: u8 = 51;
    pub(super) const DEST_OPTS: u8 = 60;
    pub(super) const MOBILITY: u8 = 135;
    pub(super) const NO_NEXT: u8 = 59;
    /// Hop-by-hop option type of the jumbo payload option (RFC 2675).
    pub(super) const OPT_JUMBO: u8 = 0xc2;
}

/// Fragment identity as it appears in the packet; reassembly keys on it together with addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum FragId {
    /// IPv4: the protocol field is part of the key (RFC 791).
    V4 { protocol: u8, id: u16 },
    /// IPv6: the fragment header identification.
    V6 { id: u32 },
}

/// Fragment details of a fragmented packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Frag {
    pub(crate) id: FragId,
    /// Offset of this fragment's data in the reassembled payload, in bytes.
    pub(crate) offset: u32,
    /// More fragments follow.
    pub(crate) more: bool,
    /// True when the fragment data was cut by the snap length (`payload` shorter than on the wire).
    pub(crate) truncated: bool,
    /// Bytes in front of the fragmentable part: IPv4 header, or IPv6 header plus the extension
    /// headers before the fragment header. Used to compute the reassembled `ip_len`.
    pub(crate) header_len: u32,
}

/// A parsed IP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Repr<'a> {
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    /// Transport protocol (for an IPv6 fragment: the fragment header's next header).
    pub(crate) protocol: u8,
    /// Total packet length from the header.
    pub(crate) ip_len: u32,
    /// Transport bytes (or fragment data) captured, cut at the wire length.
    pub(crate) payload: &'a [u8],
    /// Transport length (or fragment data length) on the wire; `>= payload.len()`.
    pub(crate) wire_payload_len: u32,
    /// Set when this packet is a fragment that must go through reassembly.
    pub(crate) frag: Option<Frag>,
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Parses an IPv4 header.
pub(crate) fn parse_v4(buf: &[u8]) -> Result<Repr<'_>, DecodeError> {
    use v4field as f;
    let Some(fixed) = buf.first_chunk::<{ f::MIN_LEN }>() else {
        return Err(DecodeError::BadIpHeader);
    };
    if fixed[f::VER_IHL] >> 4 != 4 {
        return Err(DecodeError::BadIpHeader);
    }
    let ihl = usize::from(fixed[f::VER_IHL] & 0x0f) * 4;
    // The options must be captured: the transport header starts after them.
    if ihl < f::MIN_LEN || ihl > buf.len() {
        return Err(DecodeError::BadIpHeader);
    }
    let total_len = match usize::from(be16(fixed, f::TOTAL_LEN)) {
        // TSO capture (see module doc).
        0 if buf.len() > ihl => buf.len(),
        n if n < ihl => return Err(DecodeError::BadIpHeader),
        n => n,
    };
    let payload = &buf[ihl..total_len.min(buf.len())];
    let wire_payload_len = (total_len - ihl) as u32;

    let flags_frag = be16(fixed, f::FLAGS_FRAG);
    let more = flags_frag & 0x2000 != 0;
    let offset = u32::from(flags_frag & 0x1fff) * 8;
    let protocol = fixed[f::PROTOCOL];
    let frag = (more || offset != 0).then(|| Frag {
        id: FragId::V4 { protocol, id: be16(fixed, f::IDENT) },
        offset,
        more,
        truncated: payload.len() < wire_payload_len as usize,
        header_len: ihl as u32,
    });
    let src: [u8; 4] = [fixed[f::SRC], fixed[f::SRC + 1], fixed[f::SRC + 2], fixed[f::SRC + 3]];
    let dst: [u8; 4] = [fixed[f::DST], fixed[f::DST + 1], fixed[f::DST + 2], fixed[f::DST + 3]];
    Ok(Repr {
        src: IpAddr::V4(Ipv4Addr::from(src)),
        dst: IpAddr::V4(Ipv4Addr::from(dst)),
        protocol,
        ip_len: total_len as u32,
        payload,
        wire_payload_len,
        frag,
    })
}

/// Parses an IPv6 header and its extension header chain.
pub(crate) fn parse_v6(buf: &[u8]) -> Result<Repr<'_>, DecodeError> {
    use v6field as f;
    let Some(fixed) = buf.first_chunk::<{ f::LEN }>() else {
        return Err(DecodeError::BadIpHeader);
    };
    if fixed[0] >> 4 != 6 {
        return Err(DecodeError::BadIpHeader);
    }
    let next = fixed[f::NEXT_HEADER];
    let rest = &buf[f::LEN..];
    let payload_len = match usize::from(be16(fixed, f::PAYLOAD_LEN)) {
        // No Next Header: nothing follows, anything captured after is link padding.
        0 if next == v6ext::NO_NEXT => 0,
        // Jumbogram (RFC 2675) or TSO capture (see module doc).
        0 => jumbo_len(next, rest).unwrap_or(rest.len()),
        n => n,
    };
    let ip_len = u32::try_from(f::LEN + payload_len).unwrap_or(u32::MAX);
    // Everything after the fixed header, cut at the wire length.
    let body = &rest[..payload_len.min(rest.len())];
    let chain = walk_v6(next, body, true)?;
    let payload = &body[chain.offset..];
    let wire_payload_len = u32::try_from(payload_len - chain.offset).unwrap_or(u32::MAX);
    let frag = chain.frag.map(|(id, offset, more)| Frag {
        id: FragId::V6 { id },
        offset,
        more,
        truncated: payload.len() < wire_payload_len as usize,
        // The fragment header itself is not part of the reassembled packet.
        header_len: (f::LEN + chain.offset - 8) as u32,
    });
    let src: [u8; 16] = fixed[f::SRC..f::SRC + 16].try_into().unwrap_or([0; 16]);
    let dst: [u8; 16] = fixed[f::DST..f::DST + 16].try_into().unwrap_or([0; 16]);
    Ok(Repr {
        src: IpAddr::V6(Ipv6Addr::from(src)),
        dst: IpAddr::V6(Ipv6Addr::from(dst)),
        protocol: chain.protocol,
        ip_len,
        payload,
        wire_payload_len,
        frag,
    })
}

/// Jumbo payload length from a hop-by-hop header at the start of `rest`, if `next` says there is
/// one and it carries the jumbo option. The value counts every byte after the fixed header.
fn jumbo_len(next: u8, rest: &[u8]) -> Option<usize> {
    if next != v6ext::HOP_BY_HOP {
        return None;
    }
    let hdr_len = (usize::from(*rest.get(1)?) + 1) * 8;
    let opts = rest.get(2..hdr_len)?;
    let mut i = 0;
    while i < opts.len() {
        let kind = opts[i];
        if kind == 0 {
            // Pad1 has no length byte.
            i += 1;
            continue;
        }
        let len = usize::from(*opts.get(i + 1)?);
        if kind == v6ext::OPT_JUMBO && len == 4 {
            let v = opts.get(i + 2..i + 6)?;
            return usize::try_from(u32::from_be_bytes([v[0], v[1], v[2], v[3]])).ok();
        }
        i += 2 + len;
    }
    None
}

/// End of an IPv6 extension header chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chain {
    /// Upper-layer protocol (or 50 ESP / 59 No Next Header / an unknown header, all opaque).
    pub(crate) protocol: u8,
    /// Offset of the upper-layer data in the walked buffer.
    pub(crate) offset: usize,
    /// `(identification, offset in bytes, more fragments)` of a non-atomic fragment header; the walk
    /// stops there because what follows is fragment data.
    pub(crate) frag: Option<(u32, u32, bool)>,
}

/// Walks IPv6 extension headers starting with header number `next` at the start of `buf`.
///
/// Walked: hop-by-hop, routing, destination options, mobility, AH and fragment. A header that does
/// not fit in `buf` is a [`DecodeError::BadIpHeader`] (the chain cannot be followed, whether the
/// packet was malformed or cut by the snap length). Atomic fragments (offset 0, M=0, RFC 6946) are
/// skipped like any other header. With `allow_frag` false (a reassembled payload) another
/// fragment header is malformed. Every header is at least 8 bytes long, so the walk is bounded by
/// `buf.len() / 8` steps.
pub(crate) fn walk_v6(mut next: u8, buf: &[u8], allow_frag: bool) -> Result<Chain, DecodeError> {
    use v6ext as x;
    let mut off = 0usize;
    loop {
        let len = match next {
            x::HOP_BY_HOP | x::ROUTING | x::DEST_OPTS | x::MOBILITY => {
                let hdr_len = buf.get(off + 1).ok_or(DecodeError::BadIpHeader)?;
                (usize::from(*hdr_len) + 1) * 8
            }
            x::AUTH => {
                let hdr_len = buf.get(off + 1).ok_or(DecodeError::BadIpHeader)?;
                (usize::from(*hdr_len) + 2) * 4
            }
            x::FRAGMENT => {
                let h = buf.get(off..off + 8).ok_or(DecodeError::BadIpHeader)?;
                let offset_flags = be16(h, 2);
                let frag_offset = u32::from(offset_flags >> 3) * 8;
                let more = offset_flags & 1 != 0;
                if frag_offset != 0 || more {
                    if !allow_frag {
                        return Err(DecodeError::BadIpHeader);
                    }
                    let id = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
                    return Ok(Chain {
                        protocol: h[0],
                        offset: off + 8,
                        frag: Some((id, frag_offset, more)),
                    });
                }
                8
            }
            _ => return Ok(Chain { protocol: next, offset: off, frag: None }),
        };
        if off + len > buf.len() {
            return Err(DecodeError::BadIpHeader);
        }
        next = buf[off];
        off += len;
    }
}
