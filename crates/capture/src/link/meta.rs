//! Headers written by the capturing host rather than sent on a wire: Linux NFLOG (link type 239)
//! and Apple PKTAP (258).
//!
//! NFLOG: a 4-byte header (address family, version, resource id), then netlink-style TLVs, each
//! `length, type` (16 bits each, *host* byte order of the capturing machine, the length counting
//! the 4-byte TLV header) and padded to a multiple of 4 bytes. The packet is the value of the
//! `NFULA_PAYLOAD` TLV (type 9), starting at its network header. The byte order is taken from the
//! first TLV (the one where its length fits the frame and its type is a small number, little-endian
//! first), since pcap files do not say which host wrote them. The payload's EtherType comes from
//! the family (AF_INET 2, AF_INET6 10), else from the `NFULA_PACKET_HDR` TLV's hardware protocol,
//! else from the version nibble. A frame without a payload TLV gives `ethertype` 0; a TLV whose
//! length overruns the frame is [`LinkOutcome::Truncated`], except the payload itself, which may be
//! cut by the snap length.
//!
//! PKTAP: a header whose first three 32-bit fields are its own length, the record type (1: a
//! packet) and the link type of the packet after it (a DLT value, which for the types used here is
//! the LINKTYPE value). Fields are in host byte order; little-endian (every Apple machine) is tried
//! first. The inner frame is normalised by its own link type, which may not be PKTAP again.

use super::{LinkOutcome, Network, PKTAP, ethertype, ip_version, normalize, nothing};
use crate::LinkType;

/// NFLOG TLV types.
const NFULA_PACKET_HDR: u16 = 1;
const NFULA_PAYLOAD: u16 = 9;
/// Netlink attribute flag bits, not part of the type.
const NLA_TYPE_MASK: u16 = 0x3fff;
/// Linux address families in the NFLOG header.
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
/// Fixed NFLOG header and TLV header lengths.
const NFLOG_HEADER_LEN: usize = 4;
const TLV_HEADER_LEN: usize = 4;

/// PKTAP record type of a packet.
const PTH_TYPE_PACKET: u32 = 1;
/// Bytes of the PKTAP header read here: length, record type, link type.
const PKTAP_MIN_LEN: usize = 12;
/// DLT_PKTAP as macOS numbers it (DLT_USER2), which may appear as an inner link type.
const DLT_PKTAP: u32 = 149;

/// A TLV header `(length, type)` read in the given byte order.
fn tlv(h: [u8; 4], le: bool) -> (usize, u16) {
    let (len, kind) = if le {
        (u16::from_le_bytes([h[0], h[1]]), u16::from_le_bytes([h[2], h[3]]))
    } else {
        (u16::from_be_bytes([h[0], h[1]]), u16::from_be_bytes([h[2], h[3]]))
    };
    (usize::from(len), kind & NLA_TYPE_MASK)
}

/// Link type 239: NFLOG.
pub(super) fn nflog(data: &[u8]) -> LinkOutcome<'_> {
    let Some(&[family, ..]) = data.first_chunk::<NFLOG_HEADER_LEN>() else {
        return LinkOutcome::Truncated;
    };
    let mut pos = NFLOG_HEADER_LEN;
    let Some(&first) = data.get(pos..).and_then(|d| d.first_chunk::<TLV_HEADER_LEN>()) else {
        return nothing();
    };
    let rest = data.len() - pos;
    let plausible =
        |(len, kind): (usize, u16)| (TLV_HEADER_LEN..=rest).contains(&len) && kind < 0x100;
    let le = plausible(tlv(first, true)) || !plausible(tlv(first, false));

    let mut hw_protocol = 0;
    // Every TLV is at least 4 bytes long, so this ends.
    while let Some(&h) = data.get(pos..).and_then(|d| d.first_chunk::<TLV_HEADER_LEN>()) {
        let (len, kind) = tlv(h, le);
        if len < TLV_HEADER_LEN {
            return LinkOutcome::Truncated;
        }
        let value = data.get(pos + TLV_HEADER_LEN..(pos + len).min(data.len())).unwrap_or(&[]);
        if kind == NFULA_PAYLOAD {
            let ethertype = match family {
                AF_INET => ethertype::IPV4,
                AF_INET6 => ethertype::IPV6,
                _ if hw_protocol != 0 => hw_protocol,
                _ => value.first().map_or(0, |b| ip_version(*b)),
            };
            return LinkOutcome::Network(Network { ethertype, vlan: None, payload: value });
        }
        if pos + len > data.len() {
            return LinkOutcome::Truncated;
        }
        if kind == NFULA_PACKET_HDR
            && let Some(&[p0, p1]) = value.first_chunk::<2>()
        {
            hw_protocol = u16::from_be_bytes([p0, p1]);
        }
        pos += len.next_multiple_of(4);
    }
    nothing()
}

/// Link type 258: PKTAP.
pub(super) fn pktap(data: &[u8]) -> LinkOutcome<'_> {
    let Some(h) = data.first_chunk::<PKTAP_MIN_LEN>() else {
        return LinkOutcome::Truncated;
    };
    let fields = |le: bool| {
        let f = |at: usize| {
            let b = [h[at], h[at + 1], h[at + 2], h[at + 3]];
            if le { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) }
        };
        (f(0) as usize, f(4), f(8))
    };
    let fits = |len: usize| (PKTAP_MIN_LEN..=data.len()).contains(&len);
    let (len, record, dlt) = match fields(true) {
        le if fits(le.0) => le,
        _ => fields(false),
    };
    if !fits(len) {
        return LinkOutcome::Truncated;
    }
    if record != PTH_TYPE_PACKET {
        return nothing();
    }
    let inner = LinkType(dlt);
    if inner == PKTAP || dlt == DLT_PKTAP {
        // No nesting: normalising it would recurse.
        return LinkOutcome::Unsupported(inner);
    }
    normalize(inner, &data[len..])
}

#[cfg(test)]
mod tests;
