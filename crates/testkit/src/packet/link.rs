//! Link-layer framing: Ethernet with optional VLAN tags, Linux SLL / SLL2, raw IP, BSD null and
//! OpenBSD loop.

use super::{ethertype, ethertype_of};
use crate::linktype;

/// A MAC address.
pub type Mac = [u8; 6];

/// Default MAC of the client side (the phone): a locally administered address.
pub const CLIENT_MAC: Mac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
/// Default MAC of the server side (the gateway).
pub const SERVER_MAC: Mac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];

/// One VLAN tag (4 bytes on the wire: TPID, then PCP / DEI / VID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VlanTag {
    /// Tag protocol identifier: 0x8100 (802.1Q), 0x88a8 (802.1ad), 0x9100 (legacy QinQ).
    pub tpid: u16,
    /// Priority code point (3 bits).
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN id (12 bits).
    pub vid: u16,
}

impl VlanTag {
    /// An 802.1Q customer tag.
    pub fn dot1q(vid: u16) -> Self {
        Self { tpid: ethertype::VLAN, pcp: 0, dei: false, vid }
    }

    /// An 802.1ad service tag.
    pub fn dot1ad(vid: u16) -> Self {
        Self { tpid: ethertype::QINQ, pcp: 0, dei: false, vid }
    }

    fn tci(&self) -> u16 {
        (u16::from(self.pcp & 7) << 13) | (u16::from(self.dei) << 12) | (self.vid & 0x0fff)
    }
}

/// How frames are encapsulated at the link layer (one link type per capture file/interface).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Link {
    /// Ethernet II (link type 1) with `tags` outermost first.
    Ethernet {
        /// Source MAC.
        src: Mac,
        /// Destination MAC.
        dst: Mac,
        /// VLAN tags, outermost first (empty: untagged).
        tags: Vec<VlanTag>,
    },
    /// Linux cooked capture v1 (link type 113).
    Sll {
        /// Packet type: 0 = to us, 4 = outgoing (swapped by [`Link::reversed`]).
        pkttype: u16,
        /// ARPHRD type (1 = Ethernet).
        hatype: u16,
        /// Link-layer address of the sender.
        addr: Mac,
    },
    /// Linux cooked capture v2 (link type 276).
    Sll2 {
        /// Interface index.
        ifindex: u32,
        /// Packet type: 0 = to us, 4 = outgoing (swapped by [`Link::reversed`]).
        pkttype: u8,
        /// ARPHRD type (1 = Ethernet).
        hatype: u16,
        /// Link-layer address of the sender.
        addr: Mac,
    },
    /// Raw IP (link type 101), version from the first nibble.
    Raw,
    /// Raw IPv4 (link type 228).
    RawIpv4,
    /// Raw IPv6 (link type 229).
    RawIpv6,
    /// BSD loopback (link type 0): 4-byte address family in the writer's byte order.
    Null {
        /// AF_INET6 value used (24 NetBSD/OpenBSD, 28 FreeBSD, 30 Darwin).
        af_inet6: u32,
        /// Write the family big-endian (a big-endian capturing host).
        big_endian: bool,
    },
    /// OpenBSD loopback (link type 108): 4-byte address family, network byte order.
    Loop {
        /// AF_INET6 value used.
        af_inet6: u32,
    },
}

impl Default for Link {
    fn default() -> Self {
        Self::ethernet()
    }
}

impl Link {
    /// Untagged Ethernet from [`CLIENT_MAC`] to [`SERVER_MAC`].
    pub fn ethernet() -> Self {
        Self::Ethernet { src: CLIENT_MAC, dst: SERVER_MAC, tags: Vec::new() }
    }

    /// Ethernet with one 802.1Q tag.
    pub fn vlan(vid: u16) -> Self {
        Self::Ethernet { src: CLIENT_MAC, dst: SERVER_MAC, tags: vec![VlanTag::dot1q(vid)] }
    }

    /// Ethernet with an 802.1ad outer tag and an 802.1Q inner tag.
    pub fn qinq(outer: u16, inner: u16) -> Self {
        Self::Ethernet {
            src: CLIENT_MAC,
            dst: SERVER_MAC,
            tags: vec![VlanTag::dot1ad(outer), VlanTag::dot1q(inner)],
        }
    }

    /// Linux SLL, outgoing (the client sends).
    pub fn sll() -> Self {
        Self::Sll { pkttype: 4, hatype: 1, addr: CLIENT_MAC }
    }

    /// Linux SLL2 on interface 2, outgoing (the client sends).
    pub fn sll2() -> Self {
        Self::Sll2 { ifindex: 2, pkttype: 4, hatype: 1, addr: CLIENT_MAC }
    }

    /// BSD null, little-endian, Darwin's AF_INET6 (30).
    pub fn null() -> Self {
        Self::Null { af_inet6: 30, big_endian: false }
    }

    /// OpenBSD loop with AF_INET6 = 24.
    pub fn loopback() -> Self {
        Self::Loop { af_inet6: 24 }
    }

    /// The pcap / pcapng link type number.
    pub fn link_type(&self) -> u32 {
        match self {
            Self::Ethernet { .. } => linktype::ETHERNET,
            Self::Sll { .. } => linktype::LINUX_SLL,
            Self::Sll2 { .. } => linktype::LINUX_SLL2,
            Self::Raw => linktype::RAW,
            Self::RawIpv4 => linktype::IPV4,
            Self::RawIpv6 => linktype::IPV6,
            Self::Null { .. } => linktype::NULL,
            Self::Loop { .. } => linktype::LOOP,
        }
    }

    /// Length of the link header in bytes.
    pub fn header_len(&self) -> usize {
        match self {
            Self::Ethernet { tags, .. } => 14 + 4 * tags.len(),
            Self::Sll { .. } => 16,
            Self::Sll2 { .. } => 20,
            Self::Raw | Self::RawIpv4 | Self::RawIpv6 => 0,
            Self::Null { .. } | Self::Loop { .. } => 4,
        }
    }

    /// The same link seen in the other direction: MACs swapped, SLL packet type flipped
    /// between outgoing (4) and to-us (0), SLL address set to the peer.
    pub fn reversed(&self) -> Self {
        let flip = |t: u16| match t {
            0 => 4,
            4 => 0,
            t => t,
        };
        match self {
            Self::Ethernet { src, dst, tags } => {
                Self::Ethernet { src: *dst, dst: *src, tags: tags.clone() }
            }
            Self::Sll { pkttype, hatype, addr } => Self::Sll {
                pkttype: flip(*pkttype),
                hatype: *hatype,
                addr: if *addr == CLIENT_MAC { SERVER_MAC } else { *addr },
            },
            Self::Sll2 { ifindex, pkttype, hatype, addr } => Self::Sll2 {
                ifindex: *ifindex,
                pkttype: flip(u16::from(*pkttype)) as u8,
                hatype: *hatype,
                addr: if *addr == CLIENT_MAC { SERVER_MAC } else { *addr },
            },
            other => other.clone(),
        }
    }

    /// Appends the link header for a payload of type `ethertype` to `out`.
    pub fn write_header(&self, ethertype: u16, out: &mut Vec<u8>) {
        let family = |af6: u32| match ethertype {
            ethertype::IPV4 => 2,
            ethertype::IPV6 => af6,
            other => u32::from(other),
        };
        match self {
            Self::Ethernet { src, dst, tags } => {
                out.extend_from_slice(dst);
                out.extend_from_slice(src);
                for t in tags {
                    out.extend_from_slice(&t.tpid.to_be_bytes());
                    out.extend_from_slice(&t.tci().to_be_bytes());
                }
                out.extend_from_slice(&ethertype.to_be_bytes());
            }
            Self::Sll { pkttype, hatype, addr } => {
                out.extend_from_slice(&pkttype.to_be_bytes());
                out.extend_from_slice(&hatype.to_be_bytes());
                out.extend_from_slice(&6u16.to_be_bytes());
                out.extend_from_slice(addr);
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&ethertype.to_be_bytes());
            }
            Self::Sll2 { ifindex, pkttype, hatype, addr } => {
                out.extend_from_slice(&ethertype.to_be_bytes());
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&ifindex.to_be_bytes());
                out.extend_from_slice(&hatype.to_be_bytes());
                out.push(*pkttype);
                out.push(6);
                out.extend_from_slice(addr);
                out.extend_from_slice(&[0, 0]);
            }
            Self::Raw | Self::RawIpv4 | Self::RawIpv6 => {}
            Self::Null { af_inet6, big_endian } => {
                let f = family(*af_inet6);
                out.extend_from_slice(&if *big_endian { f.to_be_bytes() } else { f.to_le_bytes() });
            }
            Self::Loop { af_inet6 } => out.extend_from_slice(&family(*af_inet6).to_be_bytes()),
        }
    }

    /// Appends a whole frame carrying `ip_packet` (EtherType from its version nibble) to `out`.
    pub fn write_frame(&self, ip_packet: &[u8], out: &mut Vec<u8>) {
        self.write_header(ethertype_of(ip_packet), out);
        out.extend_from_slice(ip_packet);
    }

    /// A frame carrying `ip_packet` (EtherType from its version nibble).
    pub fn frame(&self, ip_packet: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.header_len() + ip_packet.len());
        self.write_frame(ip_packet, &mut v);
        v
    }

    /// A frame carrying any `payload` with an explicit `ethertype` (ARP, unknown types...).
    pub fn frame_with_ethertype(&self, ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.header_len() + payload.len());
        self.write_header(ethertype, &mut v);
        v.extend_from_slice(payload);
        v
    }
}
