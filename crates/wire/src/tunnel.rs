//! Tunnels inside IP: recognising them and finding the frame they carry.
//!
//! Looked for only where a tunnel can be, so TCP and other UDP traffic pays nothing but a port
//! comparison:
//! - IP protocol 4 (IPv4 in IP), 41 (IPv6 in IP: 6in4, 6in6) and 47 (GRE);
//! - UDP destination port 4789 (VXLAN), 6081 (Geneve) and 2152 (GTP-U), which RFC 7348, RFC 8926
//!   and 3GPP TS 29.281 fix on the receiving side whatever the sender's port; UDP port 3544 on
//!   either side (Teredo: the server's or relay's port).
//!
//! Recognition is strict where a port is the only hint, so that an application which happens to
//! use one of these ports is not mistaken for a tunnel ([`Decap::None`]): VXLAN needs its I flag,
//! Geneve version 0, GTP-U version 1 with PT=1 and message type 255 (G-PDU: user data; echo,
//! error indication and end marker messages stay UDP), Teredo an IPv6 header (version 6, at least
//! 40 bytes, a payload length not shorter than what follows) after its optional authentication
//! and origin indication headers.
//!
//! GRE (RFC 2784/2890, and RFC 1701's routing field): version 0 with any of the checksum, key,
//! sequence and routing fields; the protocol type is an EtherType, decoded by
//! [`capture::link::by_ethertype`] (IPv4, IPv6, 0x6558 Ethernet, MPLS, VLAN...), plus ERSPAN type
//! I/II (0x88be: an 8-byte header when GRE has a sequence number, none otherwise) and type III
//! (0x22eb: 12 bytes, 20 with the platform-specific subheader), both followed by Ethernet.
//! Version 1 is PPTP's enhanced GRE (RFC 2637): PPP behind a key and an optional acknowledgement;
//! a packet without a sequence number is a bare acknowledgement and carries nothing.
//!
//! Only an IP packet is unwrapped for. A tunnel frame that carries something else (ARP or STP
//! inside VXLAN, PPP control protocols inside PPTP, an EtherType that is not IP) is handed on as
//! the outer packet, like a tunnel packet that carries nothing ([`Decap::None`]). A recognised
//! tunnel whose header is cut short or malformed, or an unknown GRE version, is
//! [`Decap::Undecoded`]: the outer packet is kept too, and the case counted.

use capture::link::{self, LinkOutcome, Network, ethertype};

use crate::ipproto;

/// UDP ports of the tunnels decoded here.
pub(crate) mod port {
    /// VXLAN (RFC 7348).
    pub(crate) const VXLAN: u16 = 4789;
    /// Geneve (RFC 8926).
    pub(crate) const GENEVE: u16 = 6081;
    /// GTP-U (3GPP TS 29.281).
    pub(crate) const GTP_U: u16 = 2152;
    /// Teredo (RFC 4380).
    pub(crate) const TEREDO: u16 = 3544;
}

/// GRE flags (first 16 bits of the header).
mod gre {
    pub(super) const CHECKSUM: u16 = 0x8000;
    pub(super) const ROUTING: u16 = 0x4000;
    pub(super) const KEY: u16 = 0x2000;
    pub(super) const SEQUENCE: u16 = 0x1000;
    /// Enhanced GRE: acknowledgement number present.
    pub(super) const ACK: u16 = 0x0080;
    pub(super) const VERSION: u16 = 0x0007;
}

/// VXLAN flags: the VNI is valid.
const VXLAN_I: u8 = 0x08;
/// GTP first byte: version (3 bits), protocol type, reserved, E, S, PN.
const GTP_VERSION_1: u8 = 1;
const GTP_PT: u8 = 0x10;
const GTP_E: u8 = 0x04;
const GTP_OPTIONAL: u8 = 0x07;
/// GTP message type of a G-PDU (user data).
const GTP_GPDU: u8 = 0xff;
/// Fixed header lengths.
const VXLAN_LEN: usize = 8;
const GENEVE_LEN: usize = 8;
const GTP_LEN: usize = 8;
const IPV4_MIN: usize = 20;
const IPV6_LEN: usize = 40;

/// What looking for a tunnel found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decap<'a> {
    /// Not a tunnel, or a tunnel packet that carries no IP packet: hand the packet on as it is.
    None,
    /// A tunnel that could not be decoded: hand the outer packet on, and count it.
    Undecoded,
    /// The frame the tunnel carries, at the network layer.
    Inner(Network<'a>),
}

/// True for the IP protocols [`by_protocol`] looks at.
#[inline(always)]
pub(crate) fn is_protocol(protocol: u8) -> bool {
    matches!(protocol, ipproto::IPIP | ipproto::IPV6 | ipproto::GRE)
}

/// True for the UDP ports [`by_udp_port`] looks at.
#[inline(always)]
pub(crate) fn is_port(src: u16, dst: u16) -> bool {
    matches!(dst, port::VXLAN | port::GENEVE | port::GTP_U | port::TEREDO) || src == port::TEREDO
}

/// A tunnel carried directly by IP protocol `protocol`, with `payload` the IP payload.
pub(crate) fn by_protocol(protocol: u8, payload: &[u8]) -> Decap<'_> {
    match protocol {
        ipproto::IPIP => raw_ip(ethertype::IPV4, IPV4_MIN, payload),
        ipproto::IPV6 => raw_ip(ethertype::IPV6, IPV6_LEN, payload),
        ipproto::GRE => gre(payload),
        _ => Decap::None,
    }
}

/// A tunnel carried by UDP between `src` and `dst` ports, with `payload` the UDP payload.
pub(crate) fn by_udp_port(src: u16, dst: u16, payload: &[u8]) -> Decap<'_> {
    match dst {
        port::VXLAN => vxlan(payload),
        port::GENEVE => geneve(payload),
        port::GTP_U => gtp_u(payload),
        port::TEREDO => teredo(payload),
        _ if src == port::TEREDO => teredo(payload),
        _ => Decap::None,
    }
}

fn inner(ethertype: u16, payload: &[u8]) -> Decap<'_> {
    Decap::Inner(Network { ethertype, vlan: None, payload })
}

/// A frame normalised by `capture::link`: only an IP packet is worth unwrapping for.
fn from_link(outcome: LinkOutcome<'_>) -> Decap<'_> {
    match outcome {
        LinkOutcome::Network(net) if matches!(net.ethertype, ethertype::IPV4 | ethertype::IPV6) => {
            Decap::Inner(net)
        }
        LinkOutcome::Network(_) => Decap::None,
        LinkOutcome::Truncated | LinkOutcome::Unsupported(_) => Decap::Undecoded,
    }
}

/// IP in IP: the payload is the inner packet, which must hold at least a minimal header.
fn raw_ip(ethertype: u16, min: usize, payload: &[u8]) -> Decap<'_> {
    if payload.len() < min {
        return Decap::Undecoded;
    }
    inner(ethertype, payload)
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// GRE: header length from its flags, then the payload by protocol type.
fn gre(p: &[u8]) -> Decap<'_> {
    let Some(h) = p.first_chunk::<4>() else {
        return Decap::Undecoded;
    };
    let flags = be16(h, 0);
    let protocol = be16(h, 2);
    let mut len = 4;
    match flags & gre::VERSION {
        0 => {
            if flags & (gre::CHECKSUM | gre::ROUTING) != 0 {
                len += 4;
            }
            if flags & gre::KEY != 0 {
                len += 4;
            }
            if flags & gre::SEQUENCE != 0 {
                len += 4;
            }
            if flags & gre::ROUTING != 0 {
                // Source route entries (address family, offset, length, entry) up to a null one.
                // Each is at least 4 bytes, so this ends.
                loop {
                    let Some(&[af0, af1, _offset, n]) = p.get(len..).and_then(|r| r.first_chunk())
                    else {
                        return Decap::Undecoded;
                    };
                    len += 4 + usize::from(n);
                    if [af0, af1, n] == [0, 0, 0] {
                        break;
                    }
                }
            }
        }
        1 => {
            if protocol != ethertype::PPP || flags & gre::KEY == 0 {
                return Decap::Undecoded;
            }
            // Key: payload length and call id.
            len += 4;
            if flags & gre::SEQUENCE == 0 {
                return Decap::None;
            }
            len += 4;
            if flags & gre::ACK != 0 {
                len += 4;
            }
        }
        _ => return Decap::Undecoded,
    }
    let Some(payload) = p.get(len..) else {
        return Decap::Undecoded;
    };
    let skip = match protocol {
        ethertype::ERSPAN_II if flags & gre::SEQUENCE != 0 => 8,
        ethertype::ERSPAN_II => 0,
        ethertype::ERSPAN_III => match payload.get(11) {
            Some(b) if b & 0x01 != 0 => 20,
            Some(_) => 12,
            None => return Decap::Undecoded,
        },
        _ => return from_link(link::by_ethertype(protocol, payload)),
    };
    match payload.get(skip..) {
        Some(frame) => from_link(link::ethernet(frame)),
        None => Decap::Undecoded,
    }
}

/// VXLAN: an 8-byte header (flags, VNI), then an Ethernet frame.
fn vxlan(p: &[u8]) -> Decap<'_> {
    match p.first_chunk::<VXLAN_LEN>() {
        Some(h) if h[0] & VXLAN_I != 0 => from_link(link::ethernet(&p[VXLAN_LEN..])),
        _ => Decap::None,
    }
}

/// Geneve: version and option length, flags, protocol type (an EtherType), VNI, options.
fn geneve(p: &[u8]) -> Decap<'_> {
    let Some(h) = p.first_chunk::<GENEVE_LEN>() else {
        return Decap::None;
    };
    if h[0] >> 6 != 0 {
        return Decap::None;
    }
    let len = GENEVE_LEN + usize::from(h[0] & 0x3f) * 4;
    match p.get(len..) {
        Some(payload) => from_link(link::by_ethertype(be16(h, 2), payload)),
        None => Decap::Undecoded,
    }
}

/// GTP-U: the 8-byte header, optional sequence number / N-PDU number / extension headers, then
/// an IP packet. The length field counts everything after the first 8 bytes.
fn gtp_u(p: &[u8]) -> Decap<'_> {
    let Some(h) = p.first_chunk::<GTP_LEN>() else {
        return Decap::None;
    };
    if h[0] >> 5 != GTP_VERSION_1 || h[0] & GTP_PT == 0 || h[1] != GTP_GPDU {
        return Decap::None;
    }
    let end = (GTP_LEN + usize::from(be16(h, 2))).min(p.len());
    let mut pos = GTP_LEN;
    if h[0] & GTP_OPTIONAL != 0 {
        // Sequence number (2), N-PDU number (1), next extension header type (1).
        let Some(&next) = p.get(pos + 3) else {
            return Decap::Undecoded;
        };
        pos += 4;
        let mut next = if h[0] & GTP_E != 0 { next } else { 0 };
        // Each extension header is a multiple of 4 bytes, its last byte the next type. Each is
        // at least 4 bytes, so this ends.
        while next != 0 {
            let len = usize::from(*p.get(pos).unwrap_or(&0)) * 4;
            if len == 0 {
                return Decap::Undecoded;
            }
            let Some(&n) = p.get(pos + len - 1) else {
                return Decap::Undecoded;
            };
            next = n;
            pos += len;
        }
    }
    match p.get(pos..end) {
        Some(ip @ [b, ..]) if b >> 4 == 4 => inner(ethertype::IPV4, ip),
        Some(ip @ [b, ..]) if b >> 4 == 6 => inner(ethertype::IPV6, ip),
        _ => Decap::Undecoded,
    }
}

/// Teredo: optional authentication indicator and origin indication, then an IPv6 packet.
fn teredo(p: &[u8]) -> Decap<'_> {
    let mut pos = 0;
    if let Some(&[0x00, 0x01, id_len, auth_len]) = p.first_chunk::<4>() {
        // Client identifier, authentication value, nonce (8), confirmation (1).
        pos = 4 + usize::from(id_len) + usize::from(auth_len) + 9;
    }
    if p.get(pos..pos + 2) == Some(&[0x00, 0x00]) {
        // Origin port and address.
        pos += 8;
    }
    match p.get(pos..) {
        Some(ip)
            if ip.len() >= IPV6_LEN
                && ip[0] >> 4 == 6
                && IPV6_LEN + usize::from(be16(ip, 4)) >= ip.len() =>
        {
            inner(ethertype::IPV6, ip)
        }
        _ => Decap::None,
    }
}

#[cfg(test)]
pub(crate) mod tests;
