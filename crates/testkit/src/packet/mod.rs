//! Packet builders: link-layer headers ([`Link`]), IPv4 / IPv6 ([`IpHeader`]), TCP / UDP
//! ([`TcpHeader`], [`UdpHeader`]) with correct checksums, and IP fragmentation.
//!
//! Builders append to a caller's `Vec<u8>` (`write*` methods) so hot loops can reuse buffers;
//! the `*_packet` / `frame` helpers return fresh vectors for convenience.
//!
//! ```
//! use testkit::packet::{self, IpHeader, Link, TcpFlags, TcpHeader};
//! let ip = IpHeader::new("10.0.0.2".parse().unwrap(), "10.0.0.1".parse().unwrap());
//! let mut tcp = TcpHeader::new(40000, 443);
//! tcp.seq = 1;
//! tcp.flags = TcpFlags::SYN;
//! let pkt = packet::tcp_packet(&ip, &tcp, b"");
//! let frame = Link::ethernet().frame(&pkt);
//! assert_eq!(frame.len(), 14 + 20 + 20);
//! ```

mod fragment;
mod ip;
mod link;
mod transport;

use std::net::{IpAddr, SocketAddr};

pub use fragment::{
    fragment_ipv4, fragment_ipv4_mtu, fragment_ipv4_ranges, fragment_ipv6, fragment_ipv6_mtu,
    fragment_ipv6_ranges,
};
pub use ip::{IpHeader, Ipv4Header, Ipv6Ext, Ipv6Header};
pub use link::{CLIENT_MAC, Link, Mac, SERVER_MAC, VlanTag};
pub use transport::{TcpFlags, TcpHeader, UdpHeader, tcp_option};

/// EtherType values.
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
    /// ARP.
    pub const ARP: u16 = 0x0806;
    /// 802.1Q customer VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// 802.1ad service VLAN tag.
    pub const QINQ: u16 = 0x88a8;
}

/// IP protocol / IPv6 next-header numbers.
pub mod ip_proto {
    /// IPv6 Hop-by-Hop Options.
    pub const HOPOPT: u8 = 0;
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv6 Routing header.
    pub const IPV6_ROUTE: u8 = 43;
    /// IPv6 Fragment header.
    pub const IPV6_FRAG: u8 = 44;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
    /// IPv6 No Next Header.
    pub const IPV6_NONXT: u8 = 59;
    /// IPv6 Destination Options.
    pub const IPV6_DSTOPTS: u8 = 60;
}

/// Internet checksum arithmetic (RFC 1071).
pub mod checksum {
    use std::net::IpAddr;

    /// Adds `data` as big-endian 16-bit words (odd tail padded with 0) to a running sum.
    pub fn add(mut sum: u64, data: &[u8]) -> u64 {
        let mut chunks = data.chunks_exact(4);
        for c in &mut chunks {
            sum += u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
        }
        let rest = chunks.remainder();
        let mut i = 0;
        while i + 1 < rest.len() {
            sum += u64::from(u16::from_be_bytes([rest[i], rest[i + 1]]));
            i += 2;
        }
        if i < rest.len() {
            sum += u64::from(rest[i]) << 8;
        }
        sum
    }

    /// Folds a running sum to 16 bits and complements it.
    pub fn finish(mut sum: u64) -> u16 {
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    /// The checksum of `data` alone (IPv4 header checksum).
    pub fn internet_checksum(data: &[u8]) -> u16 {
        finish(add(0, data))
    }

    /// Running sum of the TCP/UDP pseudo-header for `src`, `dst`, `protocol`, `len`.
    pub fn pseudo_header(src: IpAddr, dst: IpAddr, protocol: u8, len: usize) -> u64 {
        let mut sum = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => add(add(0, &s.octets()), &d.octets()),
            (IpAddr::V6(s), IpAddr::V6(d)) => add(add(0, &s.octets()), &d.octets()),
            _ => panic!("pseudo header with mixed address families"),
        };
        sum += u64::from(protocol);
        sum += len as u64;
        sum
    }

    /// Checksum of a whole transport segment (checksum field zeroed) with its pseudo-header.
    pub fn transport(src: IpAddr, dst: IpAddr, protocol: u8, segment: &[u8]) -> u16 {
        finish(add(pseudo_header(src, dst, protocol, segment.len()), segment))
    }
}

/// Appends an IP packet carrying a TCP segment to `out`.
pub fn write_tcp_packet(ip: &IpHeader, tcp: &TcpHeader, payload: &[u8], out: &mut Vec<u8>) {
    ip.write(ip_proto::TCP, tcp.header_len() + payload.len(), out);
    tcp.write(ip.src(), ip.dst(), payload, out);
}

/// Appends an IP packet carrying a UDP datagram to `out`.
pub fn write_udp_packet(ip: &IpHeader, udp: &UdpHeader, payload: &[u8], out: &mut Vec<u8>) {
    ip.write(ip_proto::UDP, 8 + payload.len(), out);
    udp.write(ip.src(), ip.dst(), payload, out);
}

/// An IP packet carrying a TCP segment.
pub fn tcp_packet(ip: &IpHeader, tcp: &TcpHeader, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(ip.header_len() + tcp.header_len() + payload.len());
    write_tcp_packet(ip, tcp, payload, &mut v);
    v
}

/// An IP packet carrying a UDP datagram.
pub fn udp_packet(ip: &IpHeader, udp: &UdpHeader, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(ip.header_len() + 8 + payload.len());
    write_udp_packet(ip, udp, payload, &mut v);
    v
}

/// One-shot: a link-layer frame carrying a UDP datagram from `src` to `dst` (default IP fields).
pub fn udp_frame(link: &Link, src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let ip = IpHeader::new(src.ip(), dst.ip());
    link.frame(&udp_packet(&ip, &UdpHeader::new(src.port(), dst.port()), payload))
}

/// One-shot: a link-layer frame carrying a TCP segment from `src` to `dst`.
pub fn tcp_frame(
    link: &Link,
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    payload: &[u8],
) -> Vec<u8> {
    let ip = IpHeader::new(src.ip(), dst.ip());
    let mut tcp = TcpHeader::new(src.port(), dst.port());
    tcp.seq = seq;
    tcp.ack = ack;
    tcp.flags = flags;
    link.frame(&tcp_packet(&ip, &tcp, payload))
}

/// EtherType for an IP packet, from its version nibble (IPv4 unless it says 6).
pub fn ethertype_of(ip_packet: &[u8]) -> u16 {
    match ip_packet.first().map(|b| b >> 4) {
        Some(6) => ethertype::IPV6,
        _ => ethertype::IPV4,
    }
}

/// True if both addresses are of the same family.
pub(crate) fn same_family(a: IpAddr, b: IpAddr) -> bool {
    a.is_ipv4() == b.is_ipv4()
}

#[cfg(test)]
mod tests;
