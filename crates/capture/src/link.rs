//! Link-layer normalisation: any supported link type -> a network-layer payload.
//!
//! Supported:
//! - Ethernet (1), with any number of stacked 802.1Q (0x8100) / 802.1ad (0x88a8) / 0x9100 tags;
//!   the outermost VLAN id is kept. 802.3 frames (a length instead of an EtherType) carrying
//!   LLC/SNAP with OUI 00-00-00 or 00-00-f8 give the SNAP EtherType; other 802.3/LLC frames give
//!   a [`Network`] with `ethertype` 0 (not IP) and the LLC bytes as payload.
//! - Linux cooked capture SLL (113, protocol at bytes 14..16) and SLL2 (276, protocol at 0..2),
//!   including VLAN tags after the header; protocol 4 is LLC (as above), other non-EtherType
//!   protocols (below 0x0600) and netlink (ARPHRD 824) give `ethertype` 0.
//! - Raw IP: 101, and 12 / 14 (the BSD DLT_RAW values some writers store as-is), detected from the
//!   version nibble (`ethertype` 0 when it is neither 4 nor 6); 228 is IPv4 and 229 IPv6 whatever
//!   the nibble says.
//! - BSD null (0: 4-byte address family in the writer's byte order, both orders accepted) and
//!   OpenBSD loop (108: network order). AF_INET is 2; AF_INET6 is 24, 28 or 30 depending on the
//!   BSD; other families give `ethertype` 0.
//!
//! Anything else is [`LinkOutcome::Unsupported`], which callers count. A frame shorter than its
//! link header (or a VLAN tag cut short, or an empty raw-IP frame) is [`LinkOutcome::Truncated`].
//! Payloads are not trimmed (Ethernet padding or an FCS may follow the IP packet): the network layer
//! uses its own length fields. Never panics.

use crate::LinkType;

/// EtherType values the pipeline cares about.
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
    /// ARP.
    pub const ARP: u16 = 0x0806;
    /// 802.1Q VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// 802.1ad service tag.
    pub const QINQ: u16 = 0x88a8;
    /// Legacy 802.1QinQ tag used by some switches.
    pub const QINQ_OLD: u16 = 0x9100;
}

/// The network-layer view of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network<'a> {
    /// EtherType of the payload (IPv4 0x0800, IPv6 0x86dd, or anything else; 0 when the frame
    /// carries no EtherType at all, e.g. plain 802.3/LLC).
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

/// DLT_RAW as stored by some BSDs (LINKTYPE_RAW is 101).
const RAW_BSD: LinkType = LinkType(12);
/// DLT_RAW as stored by OpenBSD.
const RAW_OPENBSD: LinkType = LinkType(14);

/// First EtherType value; smaller values in an Ethernet type field are 802.3 lengths.
const ETHERTYPE_MIN: u16 = 0x0600;
/// Linux SLL protocol value for 802.2 LLC frames (ETH_P_802_2).
const SLL_P_802_2: u16 = 0x0004;
/// ARPHRD_NETLINK: the SLL protocol field is a netlink family.
const ARPHRD_NETLINK: u16 = 824;

/// Strips the link-layer header of `data` captured with link type `link`.
pub fn normalize(link: LinkType, data: &[u8]) -> LinkOutcome<'_> {
    match link {
        LinkType::ETHERNET => ethernet(data),
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
        LinkType::IPV4 if !data.is_empty() => network(ethertype::IPV4, None, data),
        LinkType::IPV6 if !data.is_empty() => network(ethertype::IPV6, None, data),
        LinkType::IPV4 | LinkType::IPV6 => LinkOutcome::Truncated,
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
        _ => LinkOutcome::Unsupported(link),
    }
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

fn ethernet(data: &[u8]) -> LinkOutcome<'_> {
    if data.len() < 14 {
        return LinkOutcome::Truncated;
    }
    tagged(be16(data, 12), data, 14)
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

/// Payload at `pos` of type `ethertype`, after stripping any VLAN tags there; a type below
/// 0x0600 is an 802.3 length, so LLC follows.
fn tagged(mut ethertype: u16, data: &[u8], mut pos: usize) -> LinkOutcome<'_> {
    let mut vlan = None;
    while matches!(ethertype, ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD) {
        // Each tag consumes 4 bytes, so this ends.
        let Some(tag) = data.get(pos..pos + 4) else {
            return LinkOutcome::Truncated;
        };
        vlan.get_or_insert(be16(tag, 0) & 0x0fff);
        ethertype = be16(tag, 2);
        pos += 4;
    }
    if ethertype < ETHERTYPE_MIN {
        return llc(data, pos, vlan);
    }
    network(ethertype, vlan, &data[pos..])
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
mod tests;
