use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;
use crate::hex;

/// Independent, naive RFC 1071 sum: 16-bit words, end-around carry after each add.
fn naive_sum(chunks: &[&[u8]]) -> u16 {
    let mut all = Vec::new();
    for c in chunks {
        all.extend_from_slice(c);
    }
    if !all.len().is_multiple_of(2) {
        all.push(0);
    }
    let mut s: u32 = 0;
    for w in all.chunks(2) {
        s += u32::from(u16::from_be_bytes([w[0], w[1]]));
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

fn v4(a: &str) -> Ipv4Addr {
    a.parse().unwrap()
}

#[test]
fn ipv4_header_known_checksum() {
    // The classic example header: 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7.
    let mut h = Ipv4Header::new(v4("192.168.0.1"), v4("192.168.0.199"));
    h.id = 0;
    let mut out = Vec::new();
    h.write(ip_proto::UDP, 0x73 - 20, &mut out);
    assert_eq!(out, hex("4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7"));
    assert_eq!(checksum::internet_checksum(&out), 0);
}

#[test]
fn ipv4_options_flags_and_override() {
    let mut h = Ipv4Header::new(v4("10.0.0.1"), v4("10.0.0.2"));
    h.options = vec![0x94, 0x04, 0, 0, 1]; // router alert + NOP -> padded to 8
    h.dont_fragment = false;
    h.more_fragments = true;
    h.fragment_offset = 185;
    h.id = 0xbeef;
    let p = h.packet(ip_proto::ICMP, &[0; 8]);
    assert_eq!(p[0], 0x47);
    assert_eq!(u16::from_be_bytes([p[2], p[3]]), 28 + 8);
    assert_eq!(u16::from_be_bytes([p[6], p[7]]), 0x2000 | 185);
    assert_eq!(&p[20..28], &[0x94, 4, 0, 0, 1, 0, 0, 0]);
    assert_eq!(checksum::internet_checksum(&p[..28]), 0);
    h.checksum_override = Some(0x1234);
    assert_eq!(&h.packet(1, &[])[10..12], &[0x12, 0x34]);
}

#[test]
fn tcp_checksum_known_bytes() {
    // SYN 10.0.0.2:40000 -> 93.184.216.34:80, seq 1000, MSS 1460; verified with tshark.
    let ip = IpHeader::new("10.0.0.2".parse().unwrap(), "93.184.216.34".parse().unwrap());
    let mut tcp = TcpHeader::new(40000, 80);
    tcp.seq = 1000;
    tcp.flags = TcpFlags::SYN;
    tcp.options = tcp_option::mss(1460).to_vec();
    let p = tcp_packet(&ip, &tcp, b"");
    assert_eq!(
        p,
        hex("4500 002c 0000 4000 4006 faef 0a00 0002 5db8 d822
             9c40 0050 0000 03e8 0000 0000 6002 ffff b7d1 0000 0204 05b4")
    );
    let pseudo = [&[10, 0, 0, 2, 93, 184, 216, 34, 0, 6, 0, 24][..], &p[20..]];
    assert_eq!(naive_sum(&pseudo), 0xffff);
}

#[test]
fn tcp_and_udp_checksums_verify() {
    let cases: [(IpAddr, IpAddr); 2] = [
        ("192.0.2.1".parse().unwrap(), "198.51.100.7".parse().unwrap()),
        ("2001:db8::1".parse().unwrap(), "2001:db8::2".parse().unwrap()),
    ];
    for (src, dst) in cases {
        let ip = IpHeader::new(src, dst);
        let mut tcp = TcpHeader::new(1234, 443);
        tcp.seq = 0xdead_beef;
        tcp.ack = 7;
        tcp.flags = TcpFlags::ACK | TcpFlags::PSH;
        tcp.options = tcp_option::data_timestamps(1, 2).to_vec();
        for payload in [&b""[..], b"x", b"hello world!"] {
            let p = tcp_packet(&ip, &tcp, payload);
            let l4 = &p[ip.header_len()..];
            assert_eq!(l4.len(), 32 + payload.len());
            let ph = pseudo(src, dst, 6, l4.len());
            assert_eq!(naive_sum(&[&ph, l4]), 0xffff, "tcp {src} {payload:?}");
            let u = udp_packet(&ip, &UdpHeader::new(5353, 53), payload);
            let l4 = &u[ip.header_len()..];
            assert_eq!(u16::from_be_bytes([l4[4], l4[5]]) as usize, 8 + payload.len());
            let ph = pseudo(src, dst, 17, l4.len());
            assert_eq!(naive_sum(&[&ph, l4]), 0xffff, "udp {src} {payload:?}");
        }
    }
}

fn pseudo(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> Vec<u8> {
    let mut v = Vec::new();
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            v.extend_from_slice(&s.octets());
            v.extend_from_slice(&d.octets());
            v.extend_from_slice(&[0, proto]);
            v.extend_from_slice(&(len as u16).to_be_bytes());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            v.extend_from_slice(&s.octets());
            v.extend_from_slice(&d.octets());
            v.extend_from_slice(&(len as u32).to_be_bytes());
            v.extend_from_slice(&[0, 0, 0, proto]);
        }
        _ => unreachable!(),
    }
    v
}

#[test]
fn udp_zero_checksum_and_override() {
    let ip = IpHeader::new("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
    let mut u = UdpHeader::new(1, 2);
    u.zero_checksum = true;
    assert_eq!(&udp_packet(&ip, &u, b"abc")[26..28], &[0, 0]);
    u.checksum_override = Some(0xabcd);
    assert_eq!(&udp_packet(&ip, &u, b"abc")[26..28], &[0xab, 0xcd]);
}

#[test]
fn ipv6_extension_chain() {
    let mut h = Ipv6Header::new("2001:db8::1".parse().unwrap(), "2001:db8::2".parse().unwrap());
    h.flow_label = 0x12345;
    h.traffic_class = 0xa0;
    h.ext = vec![
        Ipv6Ext::HopByHop(vec![5, 2, 0, 0]), // router alert: 2 + 4 + PadN(2) = 8
        Ipv6Ext::DestinationOptions(vec![]),
        Ipv6Ext::Fragment { offset: 0, more: false, id: 9 },
    ];
    let p = h.packet(ip_proto::UDP, &[1, 2, 3]);
    assert_eq!(&p[0..4], &[0x6a, 0x01, 0x23, 0x45]);
    assert_eq!(u16::from_be_bytes([p[4], p[5]]), 24 + 3);
    assert_eq!(p[6], ip_proto::HOPOPT);
    assert_eq!(&p[40..48], &[ip_proto::IPV6_DSTOPTS, 0, 5, 2, 0, 0, 1, 0]);
    assert_eq!(&p[48..56], &[ip_proto::IPV6_FRAG, 0, 1, 4, 0, 0, 0, 0]);
    assert_eq!(&p[56..64], &[ip_proto::UDP, 0, 0, 0, 0, 0, 0, 9]);
    assert_eq!(&p[64..], &[1, 2, 3]);
    let r = Ipv6Ext::Routing { routing_type: 4, segments_left: 1, data: vec![0; 20] };
    assert_eq!(r.len(), 24);
}

#[test]
fn links() {
    let ip4 = Ipv4Header::new(v4("1.2.3.4"), v4("5.6.7.8")).packet(17, &[]);
    let ip6 = Ipv6Header::new(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST).packet(17, &[]);
    let f = Link::qinq(100, 200).frame(&ip4);
    assert_eq!(&f[12..22], &[0x88, 0xa8, 0x00, 100, 0x81, 0x00, 0x00, 200, 0x08, 0x00]);
    assert_eq!(&f[0..6], &SERVER_MAC);
    assert_eq!(
        &Link::ethernet().reversed().frame(&ip6)[0..14],
        &{
            let mut h = CLIENT_MAC.to_vec();
            h.extend_from_slice(&SERVER_MAC);
            h.extend_from_slice(&[0x86, 0xdd]);
            h
        }[..]
    );
    let sll = Link::sll().frame(&ip4);
    assert_eq!(&sll[..16], &[0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 2, 0, 0, 0x08, 0x00]);
    assert_eq!(&Link::sll().reversed().frame(&ip4)[..2], &[0, 0]);
    let sll2 = Link::sll2().frame(&ip6);
    assert_eq!(&sll2[..20], &[0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 4, 6, 2, 0, 0, 0, 0, 2, 0, 0]);
    assert_eq!(&Link::null().frame(&ip6)[..4], &[30, 0, 0, 0]);
    assert_eq!(&Link::null().frame(&ip4)[..4], &[2, 0, 0, 0]);
    assert_eq!(&Link::loopback().frame(&ip6)[..4], &[0, 0, 0, 24]);
    assert_eq!(Link::Raw.frame(&ip4), ip4);
    assert_eq!(Link::vlan(5).header_len(), 18);
    assert_eq!(Link::sll2().link_type(), 276);
}

#[test]
fn ipv4_fragmentation() {
    let mut h = Ipv4Header::new(v4("10.0.0.1"), v4("10.0.0.2"));
    h.id = 77;
    h.options = vec![0x07, 3, 4, 0x94, 4, 0, 0]; // record route (not copied) + router alert
    let payload: Vec<u8> = (0..100u8).collect();
    let p = h.packet(ip_proto::UDP, &payload);
    assert_eq!(p.len(), 28 + 100);
    let frags = fragment_ipv4(&p, &[32, 40]);
    assert_eq!(frags.len(), 3);
    let expect = [(0u16, true, 32usize, 28usize), (4, true, 40, 24), (9, false, 28, 24)];
    let mut joined = Vec::new();
    for (f, (off, mf, len, hl)) in frags.iter().zip(expect) {
        let ihl = usize::from(f[0] & 0xf) * 4;
        assert_eq!(ihl, hl);
        assert_eq!(usize::from(u16::from_be_bytes([f[2], f[3]])), f.len());
        let ff = u16::from_be_bytes([f[6], f[7]]);
        assert_eq!(ff & 0x1fff, off);
        assert_eq!(ff & 0x2000 != 0, mf);
        assert_eq!(ff & 0x4000, 0, "DF cleared");
        assert_eq!(u16::from_be_bytes([f[4], f[5]]), 77);
        assert_eq!(f.len() - ihl, len);
        assert_eq!(checksum::internet_checksum(&f[..ihl]), 0);
        joined.extend_from_slice(&f[ihl..]);
    }
    assert_eq!(&frags[1][20..24], &[0x94, 4, 0, 0]);
    assert_eq!(joined, payload);
    // MTU: 60-byte fragments -> 32 payload bytes each (28-byte first header).
    let m = fragment_ipv4_mtu(&p, 60);
    assert!(m.iter().all(|f| f.len() <= 60));
    assert_eq!(m.iter().map(|f| f.len() - usize::from(f[0] & 0xf) * 4).sum::<usize>(), 100);
    // Overlapping ranges are allowed.
    let o = fragment_ipv4_ranges(&p, &[0..16, 8..24, 16..100]);
    assert_eq!(u16::from_be_bytes([o[1][6], o[1][7]]), 0x2000 | 1);
    assert_eq!(u16::from_be_bytes([o[2][6], o[2][7]]), 2);
}

#[test]
fn ipv6_fragmentation() {
    let mut h = Ipv6Header::new("2001:db8::1".parse().unwrap(), "2001:db8::2".parse().unwrap());
    h.ext = vec![Ipv6Ext::HopByHop(vec![]), Ipv6Ext::DestinationOptions(vec![])];
    let payload: Vec<u8> = (0..50u8).collect();
    let p = h.packet(ip_proto::UDP, &payload);
    // Fragmentable part: destination options (8) + payload (50) = 58 bytes.
    let frags = fragment_ipv6(&p, &[24], 0xabcd);
    assert_eq!(frags.len(), 2);
    for (i, f) in frags.iter().enumerate() {
        assert_eq!(f[40], ip_proto::IPV6_FRAG, "hop-by-hop now points at the fragment header");
        assert_eq!(usize::from(u16::from_be_bytes([f[4], f[5]])), f.len() - 40);
        let fh = &f[48..56];
        assert_eq!(fh[0], ip_proto::IPV6_DSTOPTS);
        let om = u16::from_be_bytes([fh[2], fh[3]]);
        assert_eq!(om >> 3, if i == 0 { 0 } else { 3 });
        assert_eq!(om & 1, u16::from(i == 0));
        assert_eq!(&fh[4..8], &0xabcdu32.to_be_bytes());
    }
    assert_eq!(frags[0].len(), 56 + 24);
    assert_eq!(frags[1].len(), 56 + 34);
    assert_eq!(&frags[1][56..], &payload[16..]);
    // Plain packet: the fragment header follows the fixed header.
    let plain = Ipv6Header::new(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST).packet(17, &payload);
    let m = fragment_ipv6_mtu(&plain, 80, 1);
    assert!(m.iter().all(|f| f.len() <= 80 && f[6] == ip_proto::IPV6_FRAG && f[40] == 17));
    assert_eq!(m.len(), 2);
}
