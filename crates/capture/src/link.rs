//! Link-layer normalisation: any supported link type -> a network-layer payload.
//!
//! Supported link types (LINKTYPE_* values):
//! - Ethernet (1). After the header, any sequence of these shims is removed, in any order and
//!   nesting: 802.1Q (0x8100) / 802.1ad (0x88a8) / 0x9100 VLAN tags (the outermost VLAN id is kept),
//!   PPPoE session headers (0x8864) and the PPP header after them, MPLS label stacks (0x8847,
//!   0x8848; see below), PPP (0x880b) and transparent Ethernet bridging (0x6558, an inner Ethernet
//!   header). 802.3 frames (a length instead of an EtherType) carrying LLC/SNAP with OUI 00-00-00
//!   or 00-00-f8 give the SNAP EtherType; other 802.3/LLC frames give a [`Network`] with
//!   `ethertype` 0 (not IP) and the LLC bytes as payload.
//! - Linux cooked capture SLL (113, protocol at bytes 14..16) and SLL2 (276, protocol at 0..2),
//!   with the same shims after the header; protocol 4 is LLC (as above), other non-EtherType
//!   protocols (below 0x0600) and netlink (ARPHRD 824) give `ethertype` 0.
//! - Raw IP: 101, and 12 / 14 (the BSD DLT_RAW values some writers store as-is), detected from the
//!   version nibble (`ethertype` 0 when it is neither 4 nor 6). 228 (IPv4) and 229 (IPv6) also
//!   follow a version nibble of 4 or 6, as tshark does (an IPv6 packet stored under 228 is decoded
//!   as IPv6); with any other nibble the link type decides, and the network layer rejects it.
//! - BSD null (0: 4-byte address family in the writer's byte order, both orders accepted) and
//!   OpenBSD loop (108: network order). AF_INET is 2; AF_INET6 is 24, 28 or 30 depending on the
//!   BSD; other families give `ethertype` 0.
//! - PPP (9), PPP in HDLC-like framing (50) and Cisco HDLC (104): see the `ppp` module.
//! - IEEE 802.11 (105) and 802.11 with a radiotap header (127): data frames only; see `wlan`.
//! - ARCnet as captured on Linux (129): see `arcnet`.
//! - NFLOG (239) and Apple PKTAP (258), headers written by the capturing host: see `meta`.
//!
//! MPLS: labels are skipped up to the bottom-of-stack bit; the payload is IPv4 or IPv6 by its
//! version nibble, or, when the nibble is 0, an Ethernet pseudowire behind a 4-byte control word
//! (RFC 4448), which is stripped like any Ethernet header. Anything else gives `ethertype` 0.
//!
//! Every shim consumes at least one byte, so stripping ends; nothing here recurses except PKTAP's
//! inner link type, which may not be PKTAP again.
//!
//! Anything else is [`LinkOutcome::Unsupported`], which callers count. A frame shorter than its
//! link header (or a VLAN tag, label stack or PPPoE header cut short, or an empty raw-IP frame) is
//! [`LinkOutcome::Truncated`]. Frames that are valid but carry no network-layer packet (802.11
//! management frames, PPP control protocols, ARP...) give a [`Network`] whose `ethertype` is not
//! IP. Payloads are not trimmed (Ethernet padding or an FCS may follow the IP packet): the network
//! layer uses its own length fields. Never panics.
//!
//! Tunnels carried inside IP (GRE, VXLAN...) are the network layer's business (`wire`); it calls
//! [`ethernet`], [`ppp`] and [`by_ethertype`] for the frames they carry.

use crate::LinkType;

mod arcnet;
mod meta;
mod ppp;
mod wlan;

/// EtherType values the pipeline cares about.
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
    /// ARP.
    pub const ARP: u16 = 0x0806;
    /// Reverse ARP.
    pub const RARP: u16 = 0x8035;
    /// 802.1Q VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// 802.1ad service tag.
    pub const QINQ: u16 = 0x88a8;
    /// Legacy 802.1QinQ tag used by some switches.
    pub const QINQ_OLD: u16 = 0x9100;
    /// PPPoE discovery stage (PADI, PADO...): no network-layer payload.
    pub const PPPOE_DISCOVERY: u16 = 0x8863;
    /// PPPoE session stage: a PPPoE header, then a PPP frame.
    pub const PPPOE_SESSION: u16 = 0x8864;
    /// MPLS unicast label stack.
    pub const MPLS: u16 = 0x8847;
    /// MPLS multicast label stack.
    pub const MPLS_MULTICAST: u16 = 0x8848;
    /// PPP frame (as carried by GRE, e.g. PPTP).
    pub const PPP: u16 = 0x880b;
    /// Transparent Ethernet bridging: an Ethernet frame follows (GRE, Geneve).
    pub const TEB: u16 = 0x6558;
    /// ERSPAN type I/II (GRE protocol type).
    pub const ERSPAN_II: u16 = 0x88be;
    /// ERSPAN type III (GRE protocol type).
    pub const ERSPAN_III: u16 = 0x22eb;
}

/// The network-layer view of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network<'a> {
    /// EtherType of the payload (IPv4 0x0800, IPv6 0x86dd, or anything else; 0 when the frame
    /// carries no EtherType at all, e.g. plain 802.3/LLC, or carries no network-layer packet).
    pub ethertype: u16,
    /// Outermost VLAN id, if the frame was tagged.
    pub vlan: Option<u16>,
    /// The network-layer bytes.
    pub payload: &'a [u8],
}

/// Result of normalising one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome<'a> {
    /// A network-layer payload was found.
    Network(Network<'a>),
    /// The link type is not supported: count it as skipped.
    Unsupported(LinkType),
    /// The frame is too short for its link header.
    Truncated,
}

/// A frame that is valid but carries no network-layer packet we can read (802.11 management,
/// an NFLOG or PKTAP record without a packet).
#[inline]
fn nothing<'a>() -> LinkOutcome<'a> {
    LinkOutcome::Network(Network { ethertype: 0, vlan: None, payload: &[] })
}

/// DLT_RAW as stored by some BSDs (LINKTYPE_RAW is 101).
const RAW_BSD: LinkType = LinkType(12);
/// DLT_RAW as stored by OpenBSD.
const RAW_OPENBSD: LinkType = LinkType(14);
/// PPP (RFC 1661), optionally with the RFC 1662 address and control bytes.
const PPP: LinkType = LinkType(9);
/// PPP in HDLC-like framing (RFC 1662), or Cisco PPP with HDLC framing.
const PPP_HDLC: LinkType = LinkType(50);
/// Cisco HDLC.
const C_HDLC: LinkType = LinkType(104);
/// IEEE 802.11 without a radio header.
const IEEE802_11: LinkType = LinkType(105);
/// IEEE 802.11 behind a radiotap header.
const IEEE802_11_RADIOTAP: LinkType = LinkType(127);
/// ARCnet as captured on Linux.
const ARCNET_LINUX: LinkType = LinkType(129);
/// Linux netfilter NFLOG.
const NFLOG: LinkType = LinkType(239);
/// Apple PKTAP.
const PKTAP: LinkType = LinkType(258);

/// First EtherType value; smaller values in an Ethernet type field are 802.3 lengths.
const ETHERTYPE_MIN: u16 = 0x0600;
/// Linux SLL protocol value for 802.2 LLC frames (ETH_P_802_2).
const SLL_P_802_2: u16 = 0x0004;
/// ARPHRD_NETLINK: the SLL protocol field is a netlink family.
const ARPHRD_NETLINK: u16 = 824;
/// Length of an Ethernet header (destination, source, type).
const ETHERNET_LEN: usize = 14;

/// Strips the link-layer header of `data` captured with link type `link`.
pub fn normalize(link: LinkType, data: &[u8]) -> LinkOutcome<'_> {
    if link == LinkType::ETHERNET {
        return ethernet(data);
    }
    match link {
        LinkType::LINUX_SLL => {
            if data.len() < 16 {
                return LinkOutcome::Truncated;
            }
            cooked(be16(data, 2), be16(data, 14), data, 16)
        }
        LinkType::LINUX_SLL2 => {
            if data.len() < 20 {
                return LinkOutcome::Truncated;
            }
            cooked(be16(data, 8), be16(data, 0), data, 20)
        }
        LinkType::RAW | RAW_BSD | RAW_OPENBSD => match data.first() {
            None => LinkOutcome::Truncated,
            Some(b) => network(ip_version(*b), None, data),
        },
        LinkType::IPV4 | LinkType::IPV6 => match data.first() {
            None => LinkOutcome::Truncated,
            Some(b) => {
                let ethertype = match ip_version(*b) {
                    0 if link == LinkType::IPV4 => ethertype::IPV4,
                    0 => ethertype::IPV6,
                    v => v,
                };
                network(ethertype, None, data)
            }
        },
        LinkType::NULL | LinkType::LOOP => {
            let Some(&[a, b, c, d]) = data.first_chunk::<4>() else {
                return LinkOutcome::Truncated;
            };
            let family = if link == LinkType::LOOP {
                u32::from_be_bytes([a, b, c, d])
            } else {
                // Host byte order of the writer: a family is small, so a value with high bits
                // set was written by the other byte order.
                let v = u32::from_le_bytes([a, b, c, d]);
                if v & 0xffff_0000 != 0 { v.swap_bytes() } else { v }
            };
            let ethertype = match family {
                2 => ethertype::IPV4,
                24 | 28 | 30 => ethertype::IPV6,
                _ => 0,
            };
            network(ethertype, None, &data[4..])
        }
        PPP => ppp(data),
        PPP_HDLC => ppp::hdlc(data),
        C_HDLC => ppp::cisco_hdlc(data),
        IEEE802_11 => wlan::frame(data, false),
        IEEE802_11_RADIOTAP => wlan::radiotap(data),
        ARCNET_LINUX => arcnet::linux(data),
        NFLOG => meta::nflog(data),
        PKTAP => meta::pktap(data),
        _ => LinkOutcome::Unsupported(link),
    }
}

/// An Ethernet II / 802.3 frame (destination, source, type or length, then the payload), with
/// every shim listed in the module doc stripped. Also used by `wire` for Ethernet frames carried
/// in tunnels (VXLAN, GRE transparent bridging, ERSPAN).
#[inline]
pub fn ethernet(data: &[u8]) -> LinkOutcome<'_> {
    if data.len() < ETHERNET_LEN {
        return LinkOutcome::Truncated;
    }
    tagged(be16(data, 12), data, ETHERNET_LEN)
}

/// A PPP frame: optional address and control bytes (0xff 0x03), then the protocol (two bytes, or
/// one when compressed, RFC 1661 section 6.5). IPv4, IPv6 and MPLS are followed; other protocols
/// (LCP, IPCP, CHAP...) give `ethertype` 0 with the PPP information field as payload. Also used
/// by `wire` for PPP carried in GRE (PPTP).
pub fn ppp(data: &[u8]) -> LinkOutcome<'_> {
    tagged(ethertype::PPP, data, 0)
}

/// A payload whose type is the EtherType `ethertype` (as in the type field of Ethernet, Cisco
/// HDLC, GRE or Geneve), with every shim listed in the module doc stripped; a value below 0x0600
/// is taken as an 802.3 length, so LLC follows.
pub fn by_ethertype(ethertype: u16, data: &[u8]) -> LinkOutcome<'_> {
    tagged(ethertype, data, 0)
}

#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline]
fn network(ethertype: u16, vlan: Option<u16>, payload: &[u8]) -> LinkOutcome<'_> {
    LinkOutcome::Network(Network { ethertype, vlan, payload })
}

/// EtherType from the version nibble of a raw IP packet (0: neither IPv4 nor IPv6).
fn ip_version(first: u8) -> u16 {
    match first >> 4 {
        4 => ethertype::IPV4,
        6 => ethertype::IPV6,
        _ => 0,
    }
}

/// Linux cooked capture (SLL / SLL2) payload at `pos`, given the ARPHRD type and protocol.
fn cooked(hatype: u16, protocol: u16, data: &[u8], pos: usize) -> LinkOutcome<'_> {
    if hatype == ARPHRD_NETLINK {
        return network(0, None, &data[pos..]);
    }
    match protocol {
        SLL_P_802_2 => llc(data, pos, None),
        p if p < ETHERTYPE_MIN => network(0, None, &data[pos..]),
        p => tagged(p, data, pos),
    }
}

/// Payload at `pos` of type `ethertype`, after stripping the shims listed in the module doc; a
/// type below 0x0600 is an 802.3 length, so LLC follows.
#[inline]
fn tagged(ethertype: u16, data: &[u8], pos: usize) -> LinkOutcome<'_> {
    // The common case first: no shim at all.
    if matches!(ethertype, ethertype::IPV4 | ethertype::IPV6) {
        return network(ethertype, None, data.get(pos..).unwrap_or(&[]));
    }
    shims(ethertype, data, pos)
}

/// [`tagged`] for a type that may be a shim.
fn shims(mut ethertype: u16, data: &[u8], mut pos: usize) -> LinkOutcome<'_> {
    let mut vlan = None;
    // Every arm that loops consumes at least one byte of `data`, so this ends.
    loop {
        match ethertype {
            ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD => {
                let Some(tag) = data.get(pos..pos + 4) else {
                    return LinkOutcome::Truncated;
                };
                vlan.get_or_insert(be16(tag, 0) & 0x0fff);
                ethertype = be16(tag, 2);
                pos += 4;
            }
            ethertype::PPPOE_SESSION | ethertype::PPP => {
                if ethertype == ethertype::PPPOE_SESSION {
                    // Version/type, code, session id, length.
                    pos += 6;
                }
                let Some((protocol, next)) = ppp::header(data, pos) else {
                    return LinkOutcome::Truncated;
                };
                pos = next;
                match ppp::ethertype(protocol) {
                    Some(e) => ethertype = e,
                    None => return network(0, vlan, &data[pos..]),
                }
            }
            ethertype::MPLS | ethertype::MPLS_MULTICAST => {
                loop {
                    let Some(label) = data.get(pos..pos + 4) else {
                        return LinkOutcome::Truncated;
                    };
                    pos += 4;
                    if label[2] & 0x01 != 0 {
                        break;
                    }
                }
                match data.get(pos).map(|b| b >> 4) {
                    Some(4) => return network(ethertype::IPV4, vlan, &data[pos..]),
                    Some(6) => return network(ethertype::IPV6, vlan, &data[pos..]),
                    // Ethernet pseudowire: control word, then an Ethernet frame.
                    Some(0) if data.len() >= pos + 4 + ETHERNET_LEN => {
                        ethertype = be16(data, pos + 4 + 12);
                        pos += 4 + ETHERNET_LEN;
                    }
                    _ => return network(0, vlan, &data[pos.min(data.len())..]),
                }
            }
            ethertype::TEB => {
                let Some(eth) = data.get(pos..pos + ETHERNET_LEN) else {
                    return LinkOutcome::Truncated;
                };
                ethertype = be16(eth, 12);
                pos += ETHERNET_LEN;
            }
            e if e < ETHERTYPE_MIN => return llc(data, pos, vlan),
            _ => return network(ethertype, vlan, data.get(pos..).unwrap_or(&[])),
        }
    }
}

/// 802.2 LLC at `pos`: SNAP with an EtherType OUI gives that EtherType, anything else 0.
fn llc(data: &[u8], pos: usize, vlan: Option<u16>) -> LinkOutcome<'_> {
    let p = data.get(pos..).unwrap_or(&[]);
    if let Some(&[0xaa, 0xaa, 0x03, o1, o2, o3, t1, t2]) = p.first_chunk::<8>()
        && matches!([o1, o2, o3], [0, 0, 0] | [0, 0, 0xf8])
    {
        return network(u16::from_be_bytes([t1, t2]), vlan, &p[8..]);
    }
    network(0, vlan, p)
}

#[cfg(test)]
mod test_util;
#[cfg(test)]
mod tests;
