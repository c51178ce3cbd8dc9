//! Network and transport decoding, with IP fragment reassembly.
//!
//! Contract:
//! - [`Decoder::decode`] takes the network-layer view of one frame ([`capture::link::Network`]) and
//!   its capture time, and returns the transport segment inside it, borrowed either from the frame or,
//!   for a reassembled datagram, from the decoder's own buffers.
//! - IPv4 (options) and IPv6 (hop-by-hop, routing, destination options, fragment, AH extension
//!   headers) are decoded; IPv4 and IPv6 fragments are reassembled under the limits in
//!   [`DefragLimits`], driven by capture time only. Every limit hit and every malformed packet is
//!   counted in [`WireStats`], never a panic.
//! - Checksums are not verified (captures from offloading NICs carry wrong ones).
//! - Tunnels are unwrapped: IPv4/IPv6 in IP (protocols 4 and 41), GRE (47; IPv4, IPv6, Ethernet,
//!   MPLS, PPTP's PPP, ERSPAN I/II/III), VXLAN (UDP 4789), Geneve (UDP 6081), GTP-U (UDP 2152) and
//!   Teredo (UDP 3544); see the `tunnel` module for how each is recognised. Carried Ethernet and PPP
//!   frames are normalised by [`capture::link`]. Nesting is followed up to [`MAX_TUNNEL_DEPTH`]
//!   tunnels; each level may be fragmented (the outer packet, the inner one, or both) and is
//!   reassembled like any other.
//!
//! Design decision: the [`Packet`] handed on is the *innermost* one, so that flows are keyed on the
//! addresses and ports of the connection inside the tunnel: what a user wants to see is the
//! phone's connection to its server, not the tunnel between two gateways (a GTP capture on a
//! mobile core, a VXLAN capture in a data centre, a PPTP VPN). The outer packets are not kept as
//! flows, and their bytes are not counted in the inner flow's `ip_len` (which is the inner IP
//! packet's length); only `tunnels_decapsulated` in [`WireStats`] records them. A tunnel packet
//! that carries no IP packet (GTP echo, a PPTP acknowledgement, ARP inside VXLAN, PPP control
//! protocols) is handed on as the outer packet, so it still shows as the tunnel's own flow. A tunnel
//! that cannot be decoded (header cut short or malformed) also leaves the outer packet as the
//! result, counted in `tunnels_undecoded`. Once a tunnel has been unwrapped, the inner packet is
//! decoded like any other: a malformed inner IP or transport header is counted in `bad_ip` /
//! `bad_transport` and nothing is handed on.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::net::IpAddr;

/// IP protocol numbers used here.
pub mod ipproto {
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv4 encapsulated in IP (IP-in-IP, 4in6).
    pub const IPIP: u8 = 4;
    /// IPv6 encapsulated in IP (6in4, 6in6).
    pub const IPV6: u8 = 41;
    /// Generic Routing Encapsulation.
    pub const GRE: u8 = 47;
}

/// Most tunnels unwrapped around one packet. A packet nested deeper is handed on as the tunnel
/// packet found at this depth, counted in [`WireStats::tunnel_depth_capped`].
pub const MAX_TUNNEL_DEPTH: usize = 4;

/// TCP flags as on the wire (low 8 bits of the flags field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;

    /// True if every bit of `mask` is set.
    pub fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }
}

/// A decoded TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (meaningful when ACK is set).
    pub ack: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// Payload bytes (captured part only).
    pub payload: &'a [u8],
    /// Payload length on the wire according to the IP header; larger than `payload.len()` when the
    /// frame was cut by the snap length.
    pub wire_payload_len: u32,
}

/// The transport layer of a decoded packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport<'a> {
    /// TCP.
    Tcp(TcpSegment<'a>),
    /// UDP datagram.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Payload (captured part only).
        payload: &'a [u8],
    },
    /// Any other IP protocol (ICMP, ESP, a GRE packet carrying no IP...): kept for flow
    /// accounting, not decoded further.
    Other {
        /// IP protocol number.
        protocol: u8,
    },
}

/// One decoded IP packet (after reassembly; the innermost one when tunnels were unwrapped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Total IP packet length on the wire (header + payload).
    pub ip_len: u32,
    /// True when this packet, or a tunnel packet carrying it, was rebuilt from fragments.
    pub reassembled: bool,
    /// The transport layer.
    pub transport: Transport<'a>,
}

/// Why a packet was not decoded. Each variant is also a counter in [`WireStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Not IPv4 or IPv6 (ARP, LLDP...).
    NotIp,
    /// An IP header is malformed or shorter than it says.
    BadIpHeader,
    /// A TCP or UDP header is malformed or truncated.
    BadTransportHeader,
}

/// Fragment reassembly limits. Defaults are documented on each field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefragLimits {
    /// Datagrams being reassembled at once (default 4,096); the oldest is dropped beyond this.
    pub max_datagrams: usize,
    /// Bytes buffered across all datagrams (default 16 MiB).
    pub max_buffered_bytes: usize,
    /// Fragments kept for one datagram (default 64).
    pub max_fragments_per_datagram: usize,
    /// Capture-time nanoseconds after the first fragment before a datagram is dropped (default 30 s).
    pub timeout_ns: i64,
}

impl Default for DefragLimits {
    fn default() -> Self {
        Self {
            max_datagrams: 4096,
            max_buffered_bytes: 16 << 20,
            max_fragments_per_datagram: 64,
            timeout_ns: 30_000_000_000,
        }
    }
}

/// Counters of the decode stage. Summed with `+=` across files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WireStats {
    /// IP packets decoded.
    pub packets: u64,
    /// Frames whose payload was not IP.
    pub not_ip: u64,
    /// Malformed IP headers.
    pub bad_ip: u64,
    /// Malformed TCP/UDP headers.
    pub bad_transport: u64,
    /// Fragments seen.
    pub fragments: u64,
    /// Datagrams rebuilt from fragments.
    pub reassembled: u64,
    /// Datagrams dropped: timed out before completion.
    pub defrag_timeouts: u64,
    /// Datagrams dropped: `max_datagrams` or `max_buffered_bytes` hit.
    pub defrag_capped: u64,
    /// Fragments dropped: `max_fragments_per_datagram` hit, or inconsistent overlap.
    pub defrag_bad_fragments: u64,
    /// Tunnel layers removed (a packet inside two tunnels counts 2).
    pub tunnels_decapsulated: u64,
    /// Tunnels recognised but not decoded (header cut short or malformed, payload type not
    /// supported): the outer packet was handed on.
    pub tunnels_undecoded: u64,
    /// Packets nested deeper than [`MAX_TUNNEL_DEPTH`] tunnels: the tunnel packet at that depth
    /// was handed on.
    pub tunnel_depth_capped: u64,
}

impl std::ops::AddAssign<&Self> for WireStats {
    fn add_assign(&mut self, o: &Self) {
        self.packets += o.packets;
        self.not_ip += o.not_ip;
        self.bad_ip += o.bad_ip;
        self.bad_transport += o.bad_transport;
        self.fragments += o.fragments;
        self.reassembled += o.reassembled;
        self.defrag_timeouts += o.defrag_timeouts;
        self.defrag_capped += o.defrag_capped;
        self.defrag_bad_fragments += o.defrag_bad_fragments;
        self.tunnels_decapsulated += o.tunnels_decapsulated;
        self.tunnels_undecoded += o.tunnels_undecoded;
        self.tunnel_depth_capped += o.tunnel_depth_capped;
    }
}

mod decode;
mod defrag;
mod ip;
mod transport;
mod tunnel;
/// Decodes frames into [`Packet`]s, reassembling fragments and unwrapping tunnels. API:
/// `Decoder::new(DefragLimits)`, `decode(&mut self, ts: capture::Timestamp, net: &Network<'a>) ->
/// Result<Option<Packet<'a>>, DecodeError>` (`Ok(None)`: a fragment was stored, nothing to hand on yet),
/// `stats(&self) -> &WireStats`.
pub use decode::Decoder;
