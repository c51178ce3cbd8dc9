//! ARCnet (Linux) frames from tcpdump's arcnet-rfc1201-arp-icmp-http.pcap, and hand-made
//! variants of them.

use crate::LinkType;
use crate::link::test_util::net;
use crate::link::{LinkOutcome, normalize};

const ARCNET: LinkType = LinkType(129);

#[test]
fn rfc1201_ip_and_arp() {
    // Frame 3: 0xbe -> 0x50, offset a8e7, protocol 0xd4 (IP), split 0, sequence 0x0166.
    let f = [
        0xbe, 0x50, 0xa8, 0xe7, 0xd4, 0x00, 0x01, 0x66, 0x45, 0x00, 0x00, 0x54, 0x00, 0x00, 0x40,
        0x00,
    ];
    assert_eq!(normalize(ARCNET, &f), net(0x0800, &f[8..]));
    // Frame 1: protocol 0xd5 (ARP).
    let f = [0xbe, 0x00, 0xea, 0x08, 0xd5, 0x00, 0x01, 0x65, 0x00, 0x07, 0x08, 0x00];
    assert_eq!(normalize(ARCNET, &f), net(0x0806, &f[8..]));
    for n in 0..8 {
        assert_eq!(normalize(ARCNET, &f[..n]), LinkOutcome::Truncated, "{n}");
    }
}

#[test]
fn rfc1051_exception_and_split() {
    // RFC 1051 IP: no split flag or sequence number.
    let f = [0xbe, 0x50, 0x00, 0x00, 0xf0, 0x45, 0x00];
    assert_eq!(normalize(ARCNET, &f), net(0x0800, &f[5..]));
    // Exception packet: split flag 0xff, 2 padding bytes, protocol (IPv6) and split flag again.
    let f = [0xbe, 0x50, 0x00, 0x00, 0xc4, 0xff, 0xff, 0xff, 0xc4, 0x00, 0x00, 0x01, 0x60, 0x00];
    assert_eq!(normalize(ARCNET, &f), net(0x86dd, &f[12..]));
    assert_eq!(normalize(ARCNET, &f[..11]), LinkOutcome::Truncated);
    // A piece of a split packet: not decoded.
    let f = [0xbe, 0x50, 0x00, 0x00, 0xd4, 0x03, 0x00, 0x01, 0x45, 0x00];
    assert_eq!(normalize(ARCNET, &f), net(0, &f[8..]));
}
