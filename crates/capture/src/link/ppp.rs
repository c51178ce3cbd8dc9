//! PPP (link type 9), PPP in HDLC-like framing (50), Cisco HDLC (104), and the PPP header shared
//! with PPPoE sessions and GRE.
//!
//! - A PPP frame may start with the RFC 1662 address and control bytes: a first byte of 0xff is
//!   the address (PPP protocol numbers are odd in their low byte and even in their high byte, so
//!   0xff cannot start one), and the byte after it is skipped whatever its value, as tshark does.
//!   The protocol field is two bytes, or one when compressed (an odd first byte, RFC 1661 6.5).
//! - Link type 50 is PPP when the first byte is 0xff, and Cisco HDLC when it is 0x0f or 0x8f
//!   (libpcap's LINKTYPE_PPP_HDLC); the data is neither byte- nor bit-stuffed.
//! - Cisco HDLC: address (0x0f unicast, 0x8f broadcast), control, then an EtherType. SLARP
//!   keepalives (0x8035) and CDP come out with their own EtherType, i.e. not IP.

use super::{LinkOutcome, Network, by_ethertype, ethertype, ppp};

/// PPP protocol numbers that carry a network-layer packet.
mod protocol {
    pub(super) const IPV4: u16 = 0x0021;
    pub(super) const IPV6: u16 = 0x0057;
    pub(super) const MPLS: u16 = 0x0281;
    pub(super) const MPLS_MULTICAST: u16 = 0x0283;
}

/// Cisco HDLC header length: address, control, protocol.
const CHDLC_LEN: usize = 4;

/// The PPP header at `pos`: `(protocol, position of the information field)`, or `None` when it is
/// cut short.
pub(super) fn header(data: &[u8], mut pos: usize) -> Option<(u16, usize)> {
    if data.get(pos) == Some(&0xff) {
        pos += 2;
    }
    let first = *data.get(pos)?;
    if first & 0x01 != 0 {
        return Some((u16::from(first), pos + 1));
    }
    let second = *data.get(pos + 1)?;
    Some((u16::from_be_bytes([first, second]), pos + 2))
}

/// The EtherType of a PPP protocol that carries a network-layer packet.
pub(super) fn ethertype(protocol: u16) -> Option<u16> {
    match protocol {
        protocol::IPV4 => Some(ethertype::IPV4),
        protocol::IPV6 => Some(ethertype::IPV6),
        protocol::MPLS => Some(ethertype::MPLS),
        protocol::MPLS_MULTICAST => Some(ethertype::MPLS_MULTICAST),
        _ => None,
    }
}

/// Link type 50: PPP or Cisco HDLC, told apart by the first byte.
pub(super) fn hdlc(data: &[u8]) -> LinkOutcome<'_> {
    match data.first() {
        None => LinkOutcome::Truncated,
        Some(0x0f | 0x8f) => cisco_hdlc(data),
        Some(_) => ppp(data),
    }
}

/// Link type 104: Cisco HDLC.
pub(super) fn cisco_hdlc(data: &[u8]) -> LinkOutcome<'_> {
    let Some(&[_address, _control, p0, p1]) = data.first_chunk::<CHDLC_LEN>() else {
        return LinkOutcome::Truncated;
    };
    let ethertype = u16::from_be_bytes([p0, p1]);
    let payload = &data[CHDLC_LEN..];
    if ethertype < super::ETHERTYPE_MIN {
        // Not an EtherType: nothing we know follows.
        return LinkOutcome::Network(Network { ethertype: 0, vlan: None, payload });
    }
    by_ethertype(ethertype, payload)
}

#[cfg(test)]
mod tests;
