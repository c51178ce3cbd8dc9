//! Network and transport decoding, with IP fragment reassembly.
//!
//! Contract:
//! - [`Decoder::decode`] takes the network-layer view of one frame ([`capture::link::Network`]) and
//!   its capture time, and returns the transport segment inside it, borrowed either from the frame or,
//!   for a reassembled datagram, from the decoder's own buffer.
//! - IPv4 (options) and IPv6 (hop-by-hop, routing, destination options, fragment, AH extension
//!   headers) are decoded; IPv4 and IPv6 fragments are reassembled under the limits in
//!   [`DefragLimits`], driven by capture time only. Every limit hit and every malformed packet is
//!   counted in [`WireStats`], never a panic.
//! - Checksums are not verified (captures from offloading NICs carry wrong ones).

#![forbid(unsafe_code)]

use std::net::IpAddr;

/// IP protocol numbers used here.
pub mod ipproto {
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
}

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
    /// Any other IP protocol (ICMP, ESP, GRE...): kept for flow accounting, not decoded further.
    Other {
        /// IP protocol number.
        protocol: u8,
    },
}

/// One decoded IP packet (after reassembly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Total IP packet length on the wire (header + payload).
    pub ip_len: u32,
    /// True when this packet was rebuilt from fragments.
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
    }
}

mod decode;
mod defrag;
mod ip;
mod transport;
/// Decodes frames into [`Packet`]s, reassembling fragments. API:
/// `Decoder::new(DefragLimits)`, `decode(&mut self, ts: capture::Timestamp, net: &Network<'a>) ->
/// Result<Option<Packet<'a>>, DecodeError>` (`Ok(None)`: a fragment was stored, nothing to hand on yet),
/// `stats(&self) -> &WireStats`.
pub use decode::Decoder;
