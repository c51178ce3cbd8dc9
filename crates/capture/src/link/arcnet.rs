//! ARCnet as captured on Linux (link type 129).
//!
//! Header: source and destination station (1 byte each), a 2-byte offset field, then the protocol
//! id. RFC 1051 protocols (IP 0xf0, ARP 0xf1) and diagnostics/BACnet are followed directly by the
//! payload; every other protocol uses the RFC 1201 header: a split flag and a 2-byte sequence
//! number. A split flag of 0xff marks an exception packet: 2 padding bytes, then the protocol id
//! and split flag again. A split flag other than 0 means one piece of a packet split across
//! several frames; pieces are not reassembled (`ethertype` 0).

use super::{LinkOutcome, Network, ethertype};

/// Protocol ids (Linux `if_arcnet.h`).
mod protocol {
    pub(super) const IP_RFC1051: u8 = 0xf0;
    pub(super) const ARP_RFC1051: u8 = 0xf1;
    pub(super) const IP: u8 = 0xd4;
    pub(super) const ARP: u8 = 0xd5;
    pub(super) const RARP: u8 = 0xd6;
    pub(super) const IPV6: u8 = 0xc4;
    pub(super) const DIAGNOSE: u8 = 0x80;
    pub(super) const BACNET: u8 = 0xcd;
}

/// Source, destination, offset.
const PROTOCOL_AT: usize = 4;
/// Split flag value of an exception packet.
const EXCEPTION: u8 = 0xff;

/// Link type 129: ARCnet (Linux).
pub(super) fn linux(data: &[u8]) -> LinkOutcome<'_> {
    use protocol as p;
    let Some(&first) = data.get(PROTOCOL_AT) else {
        return LinkOutcome::Truncated;
    };
    let mut proto = first;
    let mut pos = PROTOCOL_AT + 1;
    let mut split = 0;
    if !matches!(proto, p::IP_RFC1051 | p::ARP_RFC1051 | p::DIAGNOSE | p::BACNET) {
        let Some(&flag) = data.get(pos) else {
            return LinkOutcome::Truncated;
        };
        split = flag;
        if flag == EXCEPTION {
            let Some(&[_pad0, _pad1, again, flag]) =
                data.get(pos + 1..).and_then(|d| d.first_chunk::<4>())
            else {
                return LinkOutcome::Truncated;
            };
            proto = again;
            split = flag;
            pos += 4;
        }
        // Split flag and sequence number.
        pos += 3;
        if data.len() < pos {
            return LinkOutcome::Truncated;
        }
    }
    let ethertype = match proto {
        _ if split != 0 => 0,
        p::IP | p::IP_RFC1051 => ethertype::IPV4,
        p::IPV6 => ethertype::IPV6,
        p::ARP | p::ARP_RFC1051 => ethertype::ARP,
        p::RARP => ethertype::RARP,
        _ => 0,
    };
    LinkOutcome::Network(Network { ethertype, vlan: None, payload: &data[pos..] })
}

#[cfg(test)]
mod tests;
