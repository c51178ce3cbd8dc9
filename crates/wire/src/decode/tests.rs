//! Decoding tests on hand-assembled packets. Every literal is laid out field by field, following
//! the RFC header diagrams; checksums are left at zero since they are never verified.

use std::net::IpAddr;

use capture::Timestamp;
use capture::link::Network;
use testkit::rng::xorshift64;

use crate::{
    DecodeError, Decoder, DefragLimits, Packet, TcpFlags, TcpSegment, Transport, WireStats,
};

const V4: u16 = 0x0800;
const V6: u16 = 0x86dd;

/// IPv4 (IHL 6, router alert option) / TCP (data offset 8: NOP NOP timestamps) / "hello".
/// 192.168.1.10:50000 -> 93.184.216.34:443, seq 1000, ack 2000, PSH|ACK. Total length 61.
const V4_TCP_OPTS: [u8; 61] = [
    0x46, 0x00, 0x00, 0x3d, // version 4, IHL 6; TOS; total length 61
    0x12, 0x34, 0x40, 0x00, // id 0x1234; DF, offset 0
    0x40, 0x06, 0x00, 0x00, // TTL 64; protocol TCP; checksum
    0xc0, 0xa8, 0x01, 0x0a, // src 192.168.1.10
    0x5d, 0xb8, 0xd8, 0x22, // dst 93.184.216.34
    0x94, 0x04, 0x00, 0x00, // option: router alert (RFC 2113)
    0xc3, 0x50, 0x01, 0xbb, // TCP src port 50000, dst port 443
    0x00, 0x00, 0x03, 0xe8, // seq 1000
    0x00, 0x00, 0x07, 0xd0, // ack 2000
    0x80, 0x18, 0x01, 0xf5, // data offset 8; flags PSH|ACK; window
    0x00, 0x00, 0x00, 0x00, // checksum; urgent pointer
    0x01, 0x01, 0x08, 0x0a, // NOP, NOP, timestamps (kind 8, len 10)
    0x00, 0x00, 0x00, 0x01, // TSval
    0x00, 0x00, 0x00, 0x02, // TSecr
    b'h', b'e', b'l', b'l', b'o',
];

/// IPv4 / UDP DNS-ish datagram 10.0.0.2:54321 -> 8.8.8.8:53 with a 4-byte payload (total length
/// 32), followed by 14 zero bytes of Ethernet padding up to the 46-byte minimum payload.
const V4_UDP_PADDED: [u8; 46] = [
    0x45, 0x00, 0x00, 0x20, // version 4, IHL 5; total length 32
    0xab, 0xcd, 0x00, 0x00, // id; no flags
    0x40, 0x11, 0x00, 0x00, // TTL 64; protocol UDP
    0x0a, 0x00, 0x00, 0x02, // src 10.0.0.2
    0x08, 0x08, 0x08, 0x08, // dst 8.8.8.8
    0xd4, 0x31, 0x00, 0x35, // UDP src port 54321, dst port 53
    0x00, 0x0c, 0x00, 0x00, // length 12; checksum
    0xde, 0xad, 0xbe, 0xef, // payload
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // Ethernet padding
];

/// IPv6 / TCP SYN 2001:db8::1:55000 -> 2001:db8::2:80, seq 1. Payload length 20.
const V6_TCP_SYN: [u8; 60] = [
    0x60, 0x00, 0x00, 0x00, // version 6; traffic class; flow label
    0x00, 0x14, 0x06, 0x40, // payload length 20; next header TCP; hop limit 64
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // src 2001:db8::1
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // dst 2001:db8::2
    0xd6, 0xd8, 0x00, 0x50, // TCP src port 55000, dst port 80
    0x00, 0x00, 0x00, 0x01, // seq 1
    0x00, 0x00, 0x00, 0x00, // ack 0
    0x50, 0x02, 0xff, 0xff, // data offset 5; SYN; window
    0x00, 0x00, 0x00, 0x00, // checksum; urgent pointer
];

/// IPv6 / hop-by-hop (PadN) / destination options (PadN) / UDP 12345 -> 443 "abc".
/// Payload length 8 + 8 + 11 = 27.
const V6_HBH_DST_UDP: [u8; 67] = [
    0x60, 0x00, 0x00, 0x00, // version 6
    0x00, 0x1b, 0x00, 0x40, // payload length 27; next header hop-by-hop; hop limit 64
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // src 2001:db8::1
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // dst 2001:db8::2
    0x3c, 0x00, 0x01, 0x04, 0, 0, 0,
    0, // hop-by-hop: next dest opts, len 0 (8 bytes); PadN(4)
    0x11, 0x00, 0x01, 0x04, 0, 0, 0, 0, // dest opts: next UDP, len 0; PadN(4)
    0x30, 0x39, 0x01, 0xbb, // UDP src port 12345, dst port 443
    0x00, 0x0b, 0x00, 0x00, // length 11; checksum
    b'a', b'b', b'c',
];

fn net(ethertype: u16, payload: &[u8]) -> Network<'_> {
    Network { ethertype, vlan: None, payload }
}

/// Decodes `bytes` with a fresh decoder; `f` sees the packet, then exactly one packet must have
/// been counted.
fn ok<R>(ethertype: u16, bytes: &[u8], f: impl FnOnce(&Packet<'_>) -> R) -> R {
    let mut d = Decoder::new(DefragLimits::default());
    let r = match d.decode(Timestamp(0), &net(ethertype, bytes)) {
        Ok(Some(p)) => f(&p),
        other => panic!("expected a packet, got {other:?}"),
    };
    assert_eq!(d.stats().packets, 1);
    r
}

/// Decodes `bytes` with a fresh decoder, expecting an error.
fn err(ethertype: u16, bytes: &[u8]) -> (DecodeError, WireStats) {
    let mut d = Decoder::new(DefragLimits::default());
    let e = d.decode(Timestamp(0), &net(ethertype, bytes)).expect_err("must fail");
    (e, d.stats().clone())
}

fn tcp<'a>(p: &Packet<'a>) -> TcpSegment<'a> {
    match p.transport {
        Transport::Tcp(t) => t,
        other => panic!("not TCP: {other:?}"),
    }
}

#[test]
fn ipv4_tcp_with_options() {
    ok(V4, &V4_TCP_OPTS, |p| {
        assert_eq!(p.src, "192.168.1.10".parse::<IpAddr>().unwrap());
        assert_eq!(p.dst, "93.184.216.34".parse::<IpAddr>().unwrap());
        assert_eq!(p.ip_len, 61);
        assert!(!p.reassembled);
        let t = tcp(p);
        assert_eq!((t.src_port, t.dst_port, t.seq, t.ack), (50000, 443, 1000, 2000));
        assert!(t.flags.has(TcpFlags::PSH | TcpFlags::ACK));
        assert!(!t.flags.has(TcpFlags::SYN));
        assert_eq!(t.payload, b"hello");
        assert_eq!(t.wire_payload_len, 5);
    });
}

#[test]
fn ipv4_udp_ignores_ethernet_padding() {
    ok(V4, &V4_UDP_PADDED, |p| {
        assert_eq!(p.ip_len, 32);
        let payload = &[0xde, 0xad, 0xbe, 0xef];
        assert_eq!(p.transport, Transport::Udp { src_port: 54321, dst_port: 53, payload });
    });
}

#[test]
fn vlan_tag_is_irrelevant() {
    let mut d = Decoder::new(DefragLimits::default());
    let n = Network { ethertype: V4, vlan: Some(42), payload: &V4_UDP_PADDED };
    assert!(d.decode(Timestamp(0), &n).unwrap().is_some());
}

#[test]
fn ipv6_tcp() {
    ok(V6, &V6_TCP_SYN, |p| {
        assert_eq!(p.src, "2001:db8::1".parse::<IpAddr>().unwrap());
        assert_eq!(p.dst, "2001:db8::2".parse::<IpAddr>().unwrap());
        assert_eq!(p.ip_len, 60);
        let t = tcp(p);
        assert_eq!((t.src_port, t.dst_port, t.seq), (55000, 80, 1));
        assert_eq!(t.flags, TcpFlags(TcpFlags::SYN));
        assert!(t.payload.is_empty());
        assert_eq!(t.wire_payload_len, 0);
    });
}

#[test]
fn ipv6_hop_by_hop_and_destination_options() {
    ok(V6, &V6_HBH_DST_UDP, |p| {
        assert_eq!(p.ip_len, 67);
        assert_eq!(p.transport, Transport::Udp { src_port: 12345, dst_port: 443, payload: b"abc" });
    });
}

/// V6_TCP_SYN with routing (43) and AH (51) headers spliced in before TCP.
#[test]
fn ipv6_routing_and_ah() {
    let mut b = V6_TCP_SYN[..40].to_vec();
    b[4..6].copy_from_slice(&(20u16 + 8 + 16).to_be_bytes());
    b[6] = 43; // next header: routing
    // Routing: next AH, len 0 (8 bytes), type 4 (SRH) with segments left 0, 4 bytes of flags/tag.
    b.extend_from_slice(&[51, 0, 4, 0, 0, 0, 0, 0]);
    // AH: next TCP, payload len 2 -> (2 + 2) * 4 = 16 bytes: reserved, SPI, sequence, 4-byte ICV.
    b.extend_from_slice(&[6, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd]);
    b.extend_from_slice(&V6_TCP_SYN[40..]);
    ok(V6, &b, |p| {
        assert_eq!(tcp(p).dst_port, 80);
        assert_eq!(p.ip_len, 40 + 44);
    });
}

#[test]
fn ipv6_esp_and_no_next_header_are_opaque() {
    for proto in [50u8, 59] {
        let mut b = V6_TCP_SYN;
        b[6] = proto;
        ok(V6, &b, |p| assert_eq!(p.transport, Transport::Other { protocol: proto }));
    }
    // ESP after the destination options header.
    let mut b = V6_HBH_DST_UDP;
    b[48] = 50;
    ok(V6, &b, |p| assert_eq!(p.transport, Transport::Other { protocol: 50 }));
}

#[test]
fn other_ip_protocol() {
    // V4_UDP_PADDED relabelled as ICMP (1).
    let mut b = V4_UDP_PADDED;
    b[9] = 1;
    ok(V4, &b, |p| {
        assert_eq!(p.transport, Transport::Other { protocol: 1 });
        assert_eq!(p.ip_len, 32);
    });
}

#[test]
fn ipv4_cut_by_snaplen() {
    // Cut inside the TCP payload: captured "he", wire length 5.
    ok(V4, &V4_TCP_OPTS[..24 + 32 + 2], |p| {
        assert_eq!(p.ip_len, 61);
        assert_eq!((tcp(p).payload, tcp(p).wire_payload_len), (&b"he"[..], 5));
    });
    // Cut inside the TCP options: still a segment, with nothing captured.
    ok(V4, &V4_TCP_OPTS[..24 + 25], |p| {
        let t = tcp(p);
        assert!(t.payload.is_empty());
        assert_eq!((t.seq, t.wire_payload_len), (1000, 5));
    });
    // Cut inside the fixed TCP header.
    let (e, s) = err(V4, &V4_TCP_OPTS[..24 + 10]);
    assert_eq!(e, DecodeError::BadTransportHeader);
    assert_eq!((s.bad_transport, s.packets), (1, 0));
    // Cut inside the IP options, and inside the fixed IP header.
    for cut in [22, 19, 0] {
        let (e, s) = err(V4, &V4_TCP_OPTS[..cut]);
        assert_eq!(e, DecodeError::BadIpHeader);
        assert_eq!(s.bad_ip, 1);
    }
}

#[test]
fn ipv6_cut_by_snaplen() {
    // TCP header cut: nothing to decode.
    assert_eq!(err(V6, &V6_TCP_SYN[..59]).0, DecodeError::BadTransportHeader);
    // UDP payload cut: the payload is the captured part.
    ok(V6, &V6_HBH_DST_UDP[..65], |p| {
        assert_eq!(p.ip_len, 67);
        assert_eq!(p.transport, Transport::Udp { src_port: 12345, dst_port: 443, payload: b"a" });
    });
    // Extension header chain cut: the transport cannot be found.
    assert_eq!(err(V6, &V6_HBH_DST_UDP[..50]).0, DecodeError::BadIpHeader);
    assert_eq!(err(V6, &V6_TCP_SYN[..39]).0, DecodeError::BadIpHeader);
}

#[test]
fn bad_ipv4_headers() {
    let cases: [(usize, u8); 4] = [
        (0, 0x44), // IHL 4 (< 5)
        (0, 0x66), // version 6 under the IPv4 ethertype
        (3, 0x10), // total length 16 < header length 24
        (3, 0x17), // total length 23 < header length 24
    ];
    for (at, v) in cases {
        let mut b = V4_TCP_OPTS;
        b[at] = v;
        let (e, s) = err(V4, &b);
        assert_eq!(e, DecodeError::BadIpHeader, "byte {at} = {v:#x}");
        assert_eq!((s.bad_ip, s.packets), (1, 0));
    }
    // IHL 15 (60 bytes): more than the total length 32, and more than the 40 bytes captured.
    let mut b = V4_UDP_PADDED;
    b[0] = 0x4f;
    assert_eq!(err(V4, &b).0, DecodeError::BadIpHeader);
    let mut b = V4_TCP_OPTS;
    b[0] = 0x4f;
    assert_eq!(err(V4, &b[..40]).0, DecodeError::BadIpHeader);
}

#[test]
fn bad_ipv6_headers() {
    let mut b = V6_TCP_SYN;
    b[0] = 0x45;
    assert_eq!(err(V6, &b).0, DecodeError::BadIpHeader);
    // Hop-by-hop length 2 -> 24 bytes: the destination options header then overflows the payload.
    let mut b = V6_HBH_DST_UDP;
    b[41] = 2;
    assert_eq!(err(V6, &b).0, DecodeError::BadIpHeader);
}

#[test]
fn bad_tcp_data_offset() {
    for doff in [0x40u8, 0x00, 0xf0] {
        let mut b = V4_TCP_OPTS;
        b[24 + 12] = doff;
        let (e, s) = err(V4, &b);
        assert_eq!(e, DecodeError::BadTransportHeader, "data offset byte {doff:#x}");
        assert_eq!((s.bad_transport, s.bad_ip, s.packets), (1, 0, 0));
    }
}

#[test]
fn udp_lengths() {
    // UDP length below its header.
    let mut b = V4_UDP_PADDED;
    b[25] = 7;
    assert_eq!(err(V4, &b).0, DecodeError::BadTransportHeader);
    // UDP length larger than the IP payload: cut at the IP length (padding is not payload).
    let mut b = V4_UDP_PADDED;
    b[25] = 40;
    ok(V4, &b, |p| {
        assert!(matches!(p.transport, Transport::Udp { payload: &[0xde, 0xad, 0xbe, 0xef], .. }));
    });
    // UDP length shorter than the IP payload: cut at the UDP length.
    let mut b = V4_UDP_PADDED;
    b[25] = 10;
    ok(V4, &b, |p| assert!(matches!(p.transport, Transport::Udp { payload: &[0xde, 0xad], .. })));
    // UDP header cut.
    assert_eq!(err(V4, &V4_UDP_PADDED[..25]).0, DecodeError::BadTransportHeader);
}

#[test]
fn ipv4_tso_zero_total_length() {
    // Captured on the sending host with segmentation offload: total length 0.
    let mut b = V4_TCP_OPTS;
    b[2] = 0;
    b[3] = 0;
    ok(V4, &b, |p| {
        assert_eq!(p.ip_len, 61);
        assert_eq!(tcp(p).payload, b"hello");
    });
}

#[test]
fn ipv6_jumbogram() {
    // Payload length 0, hop-by-hop with a jumbo option (RFC 2675) of 8 + 8 + 65536 bytes, UDP
    // length 0; only 4 payload bytes captured.
    let mut b = V6_TCP_SYN[..40].to_vec();
    b[4] = 0;
    b[5] = 0;
    b[6] = 0; // next header: hop-by-hop
    b.extend_from_slice(&[17, 0, 0xc2, 4, 0x00, 0x01, 0x00, 0x10]); // next UDP; jumbo 65552
    b.extend_from_slice(&[0x30, 0x39, 0x00, 0x35, 0, 0, 0, 0]); // UDP 12345 -> 53, length 0
    b.extend_from_slice(b"jumb");
    ok(V6, &b, |p| {
        assert_eq!(p.ip_len, 40 + 65552);
        assert_eq!(p.transport, Transport::Udp { src_port: 12345, dst_port: 53, payload: b"jumb" });
    });
    // Without the option (PadN instead): the rest of the buffer.
    b[42] = 1;
    ok(V6, &b, |p| assert_eq!(p.ip_len, b.len() as u32));
    // Payload length 0 with No Next Header is an empty packet: what follows is link padding.
    let mut b = V6_TCP_SYN;
    b[4..7].copy_from_slice(&[0, 0, 59]);
    ok(V6, &b, |p| {
        assert_eq!(p.ip_len, 40);
        assert_eq!(p.transport, Transport::Other { protocol: 59 });
    });
}

#[test]
fn not_ip() {
    let (e, s) = err(0x0806, &V4_UDP_PADDED);
    assert_eq!(e, DecodeError::NotIp);
    assert_eq!(s, WireStats { not_ip: 1, ..WireStats::default() });
}

#[test]
fn stats_accumulate() {
    let mut d = Decoder::new(DefragLimits::default());
    for b in [&V4_TCP_OPTS[..], &V6_TCP_SYN, &V4_TCP_OPTS[..10]] {
        let _ = d.decode(Timestamp(0), &net(V4, b));
    }
    let _ = d.decode(Timestamp(0), &net(0x88cc, &[]));
    let s = d.stats().clone();
    assert_eq!((s.packets, s.bad_ip, s.not_ip), (1, 2, 1));
    let mut total = WireStats::default();
    total += &s;
    total += &s;
    assert_eq!(total.packets, 2);
}

/// Randomly mutated and cut copies of the literals above and of tunnelled frames (xorshift, fixed
/// seed) through one decoder: no panic, and every frame lands in exactly one counter (plus one per
/// reassembly).
#[test]
fn mutations_never_panic() {
    // The last three: tunnels (4in6 + GRE + PPP, VXLAN, GTP-U) from the real frames in
    // `tunnel::tests`, without their link headers.
    let seeds: [&[u8]; 7] = [
        &V4_TCP_OPTS,
        &V4_UDP_PADDED,
        &V6_TCP_SYN,
        &V6_HBH_DST_UDP,
        &crate::tunnel::tests::GRE_PPP[18..],
        &crate::tunnel::tests::VXLAN_SYN[14..],
        &crate::tunnel::tests::GTP_DNS[16..],
    ];
    let limits = DefragLimits {
        max_datagrams: 4,
        max_buffered_bytes: 4096,
        max_fragments_per_datagram: 4,
        timeout_ns: 1000,
    };
    let mut d = Decoder::new(limits);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || xorshift64(&mut x);
    const FRAMES: u64 = 100_000;
    for i in 0..FRAMES {
        let r = next();
        let seed = seeds[(r % seeds.len() as u64) as usize];
        let mut b = seed.to_vec();
        for _ in 0..(r >> 8) % 4 {
            let m = next();
            let at = (m % b.len() as u64) as usize;
            b[at] = (m >> 32) as u8;
        }
        if (r >> 16) % 4 == 0 {
            b.truncate(((r >> 24) % b.len() as u64) as usize);
        }
        let ethertype = if (seed[0] >> 4 == 4) ^ ((r >> 40) % 16 == 0) { V4 } else { V6 };
        let _ = d.decode(Timestamp(i as i64 * 10), &net(ethertype, &b));
    }
    // Every frame ends in exactly one of: a packet, a bad header, a fragment; a completed
    // datagram goes on to one more. An unwrapped tunnel goes on to its inner layer, so it adds
    // nothing.
    let s = d.stats();
    assert_eq!(
        s.packets + s.bad_ip + s.bad_transport + s.fragments + s.not_ip,
        FRAMES + s.reassembled
    );
    assert_eq!(s.not_ip, 0);
    assert!(s.packets > 0 && s.bad_ip > 0 && s.bad_transport > 0 && s.fragments > 0, "{s:?}");
    assert!(s.tunnels_decapsulated > 0 && s.tunnels_undecoded > 0, "{s:?}");
}
