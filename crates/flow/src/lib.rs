//! Flow table and TCP stream reassembly.
//!
//! Contract:
//! - [`FlowTable::process`] takes every decoded packet in capture order, with its capture time and
//!   frame number, and pushes what happened into a [`FlowSink`]: flow start, in-order stream data per
//!   direction ([`Chunk`]), explicit gaps, end of stream, flow end. UDP payloads are delivered as
//!   whole [`Chunk::Datagram`]s.
//! - Flows are bidirectional, keyed by the 5-tuple; the client is the SYN sender, else the side with
//!   the higher (ephemeral-looking) port, else the first sender (see [`ClientBy`]).
//! - TCP data reaches the sink in sequence order exactly once; out-of-order segments are buffered,
//!   retransmissions dropped, overlaps resolved by the documented policy (first data wins), sequence
//!   wrap-around handled, and a hole that cannot be filled is delivered as [`Chunk::Gap`], never
//!   glued over.
//! - Time comes only from the packets: idle flows expire when capture time passes their deadline.
//! - Memory is bounded by [`FlowLimits`]; every limit hit is counted in [`FlowStats`] and flagged on
//!   the flow.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::net::SocketAddr;

use capture::Timestamp;

/// Identifier of a flow, unique within one run, in order of first packet (starting at 1).
pub type FlowId = u64;

/// Direction of data within a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client (initiator) to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

impl Direction {
    /// Index for per-direction arrays: `ToServer` = 0, `ToClient` = 1.
    pub fn index(self) -> usize {
        match self {
            Self::ToServer => 0,
            Self::ToClient => 1,
        }
    }
}

/// Transport protocol of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// Any other IP protocol number.
    Other(u8),
}

/// How the client side of a flow was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientBy {
    /// The client sent the first SYN (without ACK).
    Syn,
    /// No SYN seen: the sender to a multicast or broadcast group, else the side opposite a
    /// well-known server port, else the side with the higher port.
    PortHeuristic,
    /// No better clue: whoever sent the first packet.
    FirstPacket,
}

/// TCP connection state as observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpState {
    /// SYN seen, no SYN-ACK yet.
    SynSent,
    /// SYN-ACK seen.
    SynReceived,
    /// Handshake done, or picked up mid-stream.
    Established,
    /// FIN seen from one side.
    Closing,
    /// FIN from both sides.
    Closed,
    /// RST seen.
    Reset,
}

/// Flags on a flow, set once and kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowFlags {
    /// At least one gap was delivered in a stream.
    pub gap: bool,
    /// A memory limit dropped data of this flow.
    pub capped: bool,
    /// The TCP handshake was not seen: picked up mid-stream.
    pub midstream: bool,
}

/// What is known of a flow. Handed to the sink by reference at every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowInfo {
    /// Flow id.
    pub id: FlowId,
    /// Client (initiator) address.
    pub client: SocketAddr,
    /// Server (responder) address.
    pub server: SocketAddr,
    /// Transport protocol. Ports are 0 for `Other`.
    pub transport: Transport,
    /// How the client was decided.
    pub client_by: ClientBy,
    /// Time of the first packet.
    pub first: Timestamp,
    /// Time of the latest packet.
    pub last: Timestamp,
    /// Packets per direction (`Direction::index`).
    pub packets: [u64; 2],
    /// IP bytes on the wire per direction.
    pub bytes: [u64; 2],
    /// Payload bytes delivered in order (TCP) or received (UDP) per direction.
    pub payload_bytes: [u64; 2],
    /// TCP state (`None` for other transports).
    pub tcp_state: Option<TcpState>,
    /// Flags.
    pub flags: FlowFlags,
}

impl FlowInfo {
    /// A flow first seen at `ts` that nothing has been counted on yet: no packets, no TCP state,
    /// no flags (the flow table, archive exchanges, tests and fuzz targets start from here).
    pub fn new(
        id: FlowId,
        transport: Transport,
        client: SocketAddr,
        server: SocketAddr,
        client_by: ClientBy,
        ts: Timestamp,
    ) -> Self {
        Self {
            id,
            client,
            server,
            transport,
            client_by,
            first: ts,
            last: ts,
            packets: [0; 2],
            bytes: [0; 2],
            payload_bytes: [0; 2],
            tcp_state: None,
            flags: FlowFlags::default(),
        }
    }
}

/// A piece of a flow's data stream, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// In-order TCP bytes starting at stream offset `offset` (0 = first byte after the SYN, or the
    /// first byte seen when picked up mid-stream).
    Data {
        /// Stream offset of the first byte.
        offset: u64,
        /// The bytes.
        bytes: &'a [u8],
    },
    /// `len` bytes of the TCP stream are missing at stream offset `offset`; data resumes after them.
    Gap {
        /// Stream offset where the hole starts.
        offset: u64,
        /// Length of the hole (bytes never seen).
        len: u64,
    },
    /// The direction's stream ended (FIN, RST, expiry or end of capture).
    End,
    /// One whole UDP payload.
    Datagram(&'a [u8]),
}

/// Where and when a chunk came from: the evidence later stages point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// Capture time of the packet that made this chunk deliverable.
    pub ts: Timestamp,
    /// Frame number of that packet (1-based within its file).
    pub frame: u64,
}

/// Receives what the flow table sees. Push model: the table drives, the sink reacts.
pub trait FlowSink {
    /// A new flow; called before any data of it.
    fn flow_start(&mut self, flow: &FlowInfo, meta: Meta);
    /// Stream data, a gap, an end of stream or a datagram for one direction.
    fn data(&mut self, flow: &FlowInfo, dir: Direction, chunk: Chunk<'_>, meta: Meta);
    /// The flow is over (both directions ended, expired, evicted, or end of capture). No more calls
    /// for this flow after this one.
    fn flow_end(&mut self, flow: &FlowInfo, meta: Meta);
}

/// Limits of the flow stage. Each default is documented on its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowLimits {
    /// Flows tracked at once (default 131,072); the least recently active flow is evicted beyond it.
    pub max_flows: usize,
    /// Out-of-order bytes buffered per direction (default 1 MiB); beyond it the earliest hole is
    /// declared a gap and buffered data is flushed.
    pub max_ooo_bytes_per_dir: usize,
    /// Out-of-order segments buffered per direction (default 256).
    pub max_ooo_segments_per_dir: usize,
    /// Out-of-order bytes buffered across all flows (default 256 MiB).
    pub max_ooo_bytes_total: usize,
    /// Idle time after which a TCP flow expires, in capture nanoseconds (default 5 min).
    pub tcp_idle_ns: i64,
    /// Idle time after which a closed (FIN/RST) TCP flow expires (default 10 s).
    pub tcp_closed_idle_ns: i64,
    /// Idle time after which a UDP or other flow expires (default 60 s).
    pub udp_idle_ns: i64,
}

impl Default for FlowLimits {
    fn default() -> Self {
        Self {
            max_flows: 131_072,
            max_ooo_bytes_per_dir: 1 << 20,
            max_ooo_segments_per_dir: 256,
            max_ooo_bytes_total: 256 << 20,
            tcp_idle_ns: 300_000_000_000,
            tcp_closed_idle_ns: 10_000_000_000,
            udp_idle_ns: 60_000_000_000,
        }
    }
}

/// Counters of the flow stage. Summed with `+=`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowStats {
    /// Flows created.
    pub flows: u64,
    /// Flows expired by idle time.
    pub expired: u64,
    /// Flows evicted because `max_flows` was hit.
    pub evicted: u64,
    /// TCP segments that were pure retransmissions (dropped).
    pub retransmissions: u64,
    /// Segments that arrived out of order and were buffered.
    pub out_of_order: u64,
    /// Segments that partly overlapped data already seen (first data kept).
    pub overlaps: u64,
    /// Gaps delivered.
    pub gaps: u64,
    /// Bytes missing in delivered gaps.
    pub gap_bytes: u64,
    /// Times an out-of-order buffer limit forced a gap.
    pub ooo_capped: u64,
    /// Segments whose payload was cut by the snap length (the cut part becomes a gap).
    pub snaplen_cut: u64,
}

mod reassembly;
mod table;
/// The flow table. API: `FlowTable::new(FlowLimits)`, `process(&mut self, ts, frame: u64,
/// packet: &wire::Packet<'_>, sink: &mut impl FlowSink)`, `finish(&mut self, ts, sink)` (end of all
/// input: ends every open flow in id order), `stats(&self) -> &FlowStats`.
pub use table::FlowTable;

#[cfg(test)]
mod tests;
