//! IPv4 and IPv6 headers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{checksum, ip_proto};

/// An IPv4 header. The total length and checksum are computed when written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ipv4Header {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// DSCP / ECN byte.
    pub tos: u8,
    /// Identification.
    pub id: u16,
    /// Don't Fragment flag.
    pub dont_fragment: bool,
    /// More Fragments flag.
    pub more_fragments: bool,
    /// Fragment offset in 8-byte units (13 bits).
    pub fragment_offset: u16,
    /// Time to live.
    pub ttl: u8,
    /// Raw options (padded with zeros / EOL to a multiple of 4 when written; at most 40 bytes).
    pub options: Vec<u8>,
    /// Checksum to write instead of the computed one (for bad-checksum tests).
    pub checksum_override: Option<u16>,
}

impl Ipv4Header {
    /// A header with TTL 64, DF set, id 0, no options.
    pub fn new(src: Ipv4Addr, dst: Ipv4Addr) -> Self {
        Self {
            src,
            dst,
            tos: 0,
            id: 0,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
            ttl: 64,
            options: Vec::new(),
            checksum_override: None,
        }
    }

    /// Header length in bytes (20 + padded options).
    pub fn header_len(&self) -> usize {
        20 + self.options.len().next_multiple_of(4)
    }

    /// Appends the header for a payload of `payload_len` bytes of `protocol` to `out`.
    pub fn write(&self, protocol: u8, payload_len: usize, out: &mut Vec<u8>) {
        let hlen = self.header_len();
        assert!(hlen <= 60, "IPv4 options longer than 40 bytes");
        let total = hlen + payload_len;
        assert!(total <= 0xffff, "IPv4 packet longer than 65535 bytes");
        let start = out.len();
        let flags_frag = (u16::from(self.dont_fragment) << 14)
            | (u16::from(self.more_fragments) << 13)
            | (self.fragment_offset & 0x1fff);
        out.push(0x40 | (hlen / 4) as u8);
        out.push(self.tos);
        out.extend_from_slice(&(total as u16).to_be_bytes());
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&flags_frag.to_be_bytes());
        out.push(self.ttl);
        out.push(protocol);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.src.octets());
        out.extend_from_slice(&self.dst.octets());
        out.extend_from_slice(&self.options);
        out.resize(start + hlen, 0);
        let sum =
            self.checksum_override.unwrap_or_else(|| checksum::internet_checksum(&out[start..]));
        out[start + 10..start + 12].copy_from_slice(&sum.to_be_bytes());
    }

    /// A whole packet: this header and `payload`.
    pub fn packet(&self, protocol: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.header_len() + payload.len());
        self.write(protocol, payload.len(), &mut v);
        v.extend_from_slice(payload);
        v
    }
}

/// An IPv6 extension header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ipv6Ext {
    /// Hop-by-Hop Options: raw option TLVs (padded with Pad1 / PadN to a multiple of 8).
    HopByHop(Vec<u8>),
    /// Destination Options: raw option TLVs (padded like Hop-by-Hop).
    DestinationOptions(Vec<u8>),
    /// Routing header.
    Routing {
        /// Routing type.
        routing_type: u8,
        /// Segments left.
        segments_left: u8,
        /// Type-specific data (zero-padded so the header is a multiple of 8 bytes).
        data: Vec<u8>,
    },
    /// Fragment header.
    Fragment {
        /// Fragment offset in 8-byte units (13 bits).
        offset: u16,
        /// More Fragments flag.
        more: bool,
        /// Identification.
        id: u32,
    },
}

impl Ipv6Ext {
    /// The next-header number identifying this extension.
    pub fn header_type(&self) -> u8 {
        match self {
            Self::HopByHop(_) => ip_proto::HOPOPT,
            Self::DestinationOptions(_) => ip_proto::IPV6_DSTOPTS,
            Self::Routing { .. } => ip_proto::IPV6_ROUTE,
            Self::Fragment { .. } => ip_proto::IPV6_FRAG,
        }
    }

    /// Encoded length in bytes (a multiple of 8).
    pub fn len(&self) -> usize {
        match self {
            Self::HopByHop(o) | Self::DestinationOptions(o) => (2 + o.len()).next_multiple_of(8),
            Self::Routing { data, .. } => (4 + data.len()).next_multiple_of(8),
            Self::Fragment { .. } => 8,
        }
    }

    /// Always false: an extension header has at least 8 bytes.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Appends this header with next-header `next` to `out`.
    pub fn write(&self, next: u8, out: &mut Vec<u8>) {
        let len = self.len();
        let start = out.len();
        out.push(next);
        match self {
            Self::HopByHop(opts) | Self::DestinationOptions(opts) => {
                out.push((len / 8 - 1) as u8);
                out.extend_from_slice(opts);
                let pad = len - 2 - opts.len();
                match pad {
                    0 => {}
                    1 => out.push(0), // Pad1
                    n => {
                        out.push(1); // PadN
                        out.push((n - 2) as u8);
                        out.resize(start + len, 0);
                    }
                }
            }
            Self::Routing { routing_type, segments_left, data } => {
                out.push((len / 8 - 1) as u8);
                out.push(*routing_type);
                out.push(*segments_left);
                out.extend_from_slice(data);
                out.resize(start + len, 0);
            }
            Self::Fragment { offset, more, id } => {
                out.push(0);
                out.extend_from_slice(&(((offset & 0x1fff) << 3) | u16::from(*more)).to_be_bytes());
                out.extend_from_slice(&id.to_be_bytes());
            }
        }
    }
}

/// An IPv6 header with optional extension headers. The payload length and the next-header
/// chain are computed when written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ipv6Header {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
    /// Hop limit.
    pub hop_limit: u8,
    /// Extension headers in order, before the upper-layer header.
    pub ext: Vec<Ipv6Ext>,
}

impl Ipv6Header {
    /// A header with hop limit 64 and no extension headers.
    pub fn new(src: Ipv6Addr, dst: Ipv6Addr) -> Self {
        Self { src, dst, traffic_class: 0, flow_label: 0, hop_limit: 64, ext: Vec::new() }
    }

    /// Header length in bytes including extension headers.
    pub fn header_len(&self) -> usize {
        40 + self.ext.iter().map(Ipv6Ext::len).sum::<usize>()
    }

    /// Appends the header chain for `payload_len` bytes of upper-layer `protocol` to `out`.
    pub fn write(&self, protocol: u8, payload_len: usize, out: &mut Vec<u8>) {
        let plen = self.header_len() - 40 + payload_len;
        assert!(plen <= 0xffff, "IPv6 payload longer than 65535 bytes");
        let first = self.ext.first().map_or(protocol, Ipv6Ext::header_type);
        let vtf =
            (6u32 << 28) | (u32::from(self.traffic_class) << 20) | (self.flow_label & 0xf_ffff);
        out.extend_from_slice(&vtf.to_be_bytes());
        out.extend_from_slice(&(plen as u16).to_be_bytes());
        out.push(first);
        out.push(self.hop_limit);
        out.extend_from_slice(&self.src.octets());
        out.extend_from_slice(&self.dst.octets());
        for (i, e) in self.ext.iter().enumerate() {
            let next = self.ext.get(i + 1).map_or(protocol, Ipv6Ext::header_type);
            e.write(next, out);
        }
    }

    /// A whole packet: this header chain and `payload`.
    pub fn packet(&self, protocol: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.header_len() + payload.len());
        self.write(protocol, payload.len(), &mut v);
        v.extend_from_slice(payload);
        v
    }
}

/// An IPv4 or IPv6 header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IpHeader {
    /// IPv4.
    V4(Ipv4Header),
    /// IPv6.
    V6(Ipv6Header),
}

impl IpHeader {
    /// A default header from `src` to `dst`. Panics if the families differ.
    pub fn new(src: IpAddr, dst: IpAddr) -> Self {
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => Self::V4(Ipv4Header::new(s, d)),
            (IpAddr::V6(s), IpAddr::V6(d)) => Self::V6(Ipv6Header::new(s, d)),
            _ => panic!("IpHeader::new: {src} and {dst} are of different families"),
        }
    }

    /// Source address.
    pub fn src(&self) -> IpAddr {
        match self {
            Self::V4(h) => h.src.into(),
            Self::V6(h) => h.src.into(),
        }
    }

    /// Destination address.
    pub fn dst(&self) -> IpAddr {
        match self {
            Self::V4(h) => h.dst.into(),
            Self::V6(h) => h.dst.into(),
        }
    }

    /// Header length in bytes (with options / extension headers).
    pub fn header_len(&self) -> usize {
        match self {
            Self::V4(h) => h.header_len(),
            Self::V6(h) => h.header_len(),
        }
    }

    /// Sets the IPv4 identification (no effect on IPv6).
    pub fn set_id(&mut self, id: u16) {
        if let Self::V4(h) = self {
            h.id = id;
        }
    }

    /// Sets the TTL / hop limit.
    pub fn set_ttl(&mut self, ttl: u8) {
        match self {
            Self::V4(h) => h.ttl = ttl,
            Self::V6(h) => h.hop_limit = ttl,
        }
    }

    /// Appends the header for `payload_len` bytes of `protocol` to `out`.
    pub fn write(&self, protocol: u8, payload_len: usize, out: &mut Vec<u8>) {
        match self {
            Self::V4(h) => h.write(protocol, payload_len, out),
            Self::V6(h) => h.write(protocol, payload_len, out),
        }
    }

    /// A whole packet: this header and `payload`.
    pub fn packet(&self, protocol: u8, payload: &[u8]) -> Vec<u8> {
        match self {
            Self::V4(h) => h.packet(protocol, payload),
            Self::V6(h) => h.packet(protocol, payload),
        }
    }
}
