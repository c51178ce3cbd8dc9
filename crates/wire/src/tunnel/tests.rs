//! Tunnel decoding through the whole [`Decoder`]: real frames from the corpus (cited), and
//! packets assembled here field by field for the variants the corpus lacks. Checksums are zero
//! (never verified).

use std::net::IpAddr;

use capture::link::{self, LinkOutcome, Network};
use capture::{LinkType, Timestamp};

use super::{Decap, by_protocol, by_udp_port};
use crate::{DecodeError, Decoder, DefragLimits, MAX_TUNNEL_DEPTH, Packet, Transport, WireStats};

const V4: u16 = 0x0800;
const V6: u16 = 0x86dd;

/// arkime/6-4-gre-ppp-udp-4-dns.pcap frame 1: Ethernet, VLAN 100, IPv6 (next header 4), IPv4
/// (protocol 47), enhanced GRE (key, sequence and acknowledgement), PPP (ff 03 0021), IPv4, UDP
/// 40768 -> 53, a DNS query.
pub(crate) const GRE_PPP: [u8; 197] = [
    0xc5, 0x00, 0x00, 0x00, 0x82, 0xc4, 0x00, 0x12, 0x1e, 0xf2, 0x61, 0x3d, 0x81, 0x00, 0x00, 0x64,
    0x86, 0xdd, 0x60, 0x00, 0x00, 0x00, 0x00, 0x8b, 0x04, 0xf6, 0x24, 0x02, 0xf0, 0x00, 0x00, 0x01,
    0x8e, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x55, 0x55, 0x26, 0x07, 0xfc, 0xd0, 0x01, 0x00,
    0x23, 0x00, 0x00, 0x00, 0x00, 0x00, 0xb1, 0x08, 0x2a, 0x6b, 0x45, 0x00, 0x00, 0x8b, 0x8c, 0xaf,
    0x00, 0x00, 0x40, 0x2f, 0x75, 0xfe, 0x10, 0x00, 0x00, 0xc8, 0xc0, 0x34, 0xa6, 0x9a, 0x30, 0x81,
    0x88, 0x0b, 0x00, 0x67, 0x17, 0x80, 0x00, 0x06, 0x8f, 0xb1, 0x00, 0x08, 0x3a, 0x76, 0xff, 0x03,
    0x00, 0x21, 0x45, 0x00, 0x00, 0x63, 0x00, 0x00, 0x40, 0x00, 0x3c, 0x11, 0x56, 0x67, 0xac, 0x10,
    0x2c, 0x03, 0x08, 0x08, 0x08, 0x08, 0x9f, 0x40, 0x00, 0x35, 0x00, 0x4f, 0x2d, 0x23, 0xa6, 0x2c,
    0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x35, 0x78, 0x71, 0x74, 0x2d, 0x64,
    0x65, 0x74, 0x65, 0x63, 0x74, 0x2d, 0x6d, 0x6f, 0x64, 0x65, 0x32, 0x2d, 0x39, 0x37, 0x37, 0x31,
    0x32, 0x65, 0x38, 0x38, 0x2d, 0x31, 0x36, 0x37, 0x61, 0x2d, 0x34, 0x35, 0x62, 0x39, 0x2d, 0x39,
    0x33, 0x65, 0x65, 0x2d, 0x39, 0x31, 0x33, 0x31, 0x34, 0x30, 0x65, 0x37, 0x36, 0x36, 0x37, 0x38,
    0x00, 0x00, 0x1c, 0x00, 0x01,
];

/// zeek/tunnels__vxlan-encapsulated-http.pcap frame 1: Ethernet, IPv4, UDP 50000 -> 4789, VXLAN
/// (VNI 1), Ethernet, IPv4, TCP SYN 172.16.11.201:40354 -> 54.86.237.188:80.
pub(crate) const VXLAN_SYN: [u8; 124] = [
    0x12, 0x42, 0xcd, 0xc5, 0xe8, 0x22, 0x12, 0x42, 0xcd, 0xc5, 0xe8, 0x22, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x6e, 0x00, 0x00, 0x00, 0x00, 0x40, 0x11, 0x9c, 0x4e, 0x0a, 0x01, 0xc8, 0x83, 0x0a, 0x01,
    0x01, 0xac, 0xc3, 0x50, 0x12, 0xb5, 0x00, 0x5a, 0x96, 0x1f, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x74, 0xac, 0xb9, 0x3f, 0xd2, 0x7d, 0x48, 0xf1, 0x7f, 0xa3, 0xb6, 0xff, 0x08, 0x00,
    0x45, 0x00, 0x00, 0x3c, 0x19, 0x98, 0x40, 0x00, 0x40, 0x06, 0x45, 0x38, 0xac, 0x10, 0x0b, 0xc9,
    0x36, 0x56, 0xed, 0xbc, 0x9d, 0xa2, 0x00, 0x50, 0x5a, 0xaf, 0xe1, 0xa8, 0x00, 0x00, 0x00, 0x00,
    0xa0, 0x02, 0xfa, 0xf0, 0x08, 0x92, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
    0xb7, 0x8d, 0xd6, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
];

/// arkime/gtp-iphone.pcap frame 1: Linux SLL, IPv4, UDP 2152 -> 2152, GTPv1-U G-PDU (no optional
/// fields), IPv4, UDP 57801 -> 53, a DNS query for sentitlement.mobile.att.net.
pub(crate) const GTP_DNS: [u8; 125] = [
    0x00, 0x00, 0x03, 0x04, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00,
    0x45, 0x00, 0x00, 0x6d, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x3a, 0x1b, 0x7f, 0x00, 0x01, 0x01,
    0x7f, 0x00, 0x01, 0x64, 0x08, 0x68, 0x08, 0x68, 0x00, 0x59, 0x00, 0xd0, 0x30, 0xff, 0x00, 0x49,
    0x7e, 0x10, 0xb5, 0x68, 0x45, 0x00, 0x00, 0x49, 0x49, 0x06, 0x00, 0x00, 0x40, 0x11, 0x04, 0xcb,
    0xc0, 0xa8, 0x03, 0x81, 0xc0, 0xa8, 0xa8, 0x01, 0xe1, 0xc9, 0x00, 0x35, 0x00, 0x35, 0x63, 0xed,
    0xd3, 0x33, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x73, 0x65, 0x6e,
    0x74, 0x69, 0x74, 0x6c, 0x65, 0x6d, 0x65, 0x6e, 0x74, 0x06, 0x6d, 0x6f, 0x62, 0x69, 0x6c, 0x65,
    0x03, 0x61, 0x74, 0x74, 0x03, 0x6e, 0x65, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01,
];

// ---- Packet builders (RFC 791 / 8200 / 768 layouts) ----

/// IPv4 header (IHL 5) with the given protocol, identification and flags/offset field, then
/// `payload`.
fn v4(
    protocol: u8,
    id: u16,
    flags_frag: u16,
    src: [u8; 4],
    dst: [u8; 4],
    payload: &[u8],
) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut b = vec![0x45, 0x00];
    b.extend_from_slice(&total.to_be_bytes());
    b.extend_from_slice(&id.to_be_bytes());
    b.extend_from_slice(&flags_frag.to_be_bytes());
    b.extend_from_slice(&[64, protocol, 0, 0]);
    b.extend_from_slice(&src);
    b.extend_from_slice(&dst);
    b.extend_from_slice(payload);
    b
}

/// IPv6 header 2001:db8::1 -> 2001:db8::2 with the given next header, then `payload`.
fn v6(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0x60, 0, 0, 0];
    b.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    b.extend_from_slice(&[next, 64]);
    b.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]);
    b.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02]);
    b.extend_from_slice(payload);
    b
}

fn udp(src: u16, dst: u16, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&src.to_be_bytes());
    b.extend_from_slice(&dst.to_be_bytes());
    b.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(payload);
    b
}

/// Ethernet header (type `ethertype`) then `payload`.
fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02];
    b.extend_from_slice(&ethertype.to_be_bytes());
    b.extend_from_slice(payload);
    b
}

const PHONE: [u8; 4] = [10, 0, 0, 23];
const SERVER: [u8; 4] = [203, 0, 113, 10];
const GW_A: [u8; 4] = [192, 0, 2, 1];
const GW_B: [u8; 4] = [192, 0, 2, 2];

/// The innermost packet of the synthetic tests: UDP 40000 -> 53 from the phone, 12 payload bytes.
fn inner_udp() -> Vec<u8> {
    v4(17, 7, 0, PHONE, SERVER, &udp(40000, 53, b"dns-payload!"))
}

/// Splits an IPv4 packet (IHL 5) into two fragments, the first carrying `at` payload bytes (a
/// multiple of 8).
fn fragment(packet: &[u8], at: usize) -> (Vec<u8>, Vec<u8>) {
    let (hdr, payload) = packet.split_at(20);
    let id = u16::from_be_bytes([hdr[4], hdr[5]]);
    let (src, dst) = (hdr[12..16].try_into().unwrap(), hdr[16..20].try_into().unwrap());
    let first = v4(hdr[9], id, 0x2000, src, dst, &payload[..at]);
    let second = v4(hdr[9], id, (at / 8) as u16, src, dst, &payload[at..]);
    (first, second)
}

// ---- Decoding helpers ----

/// What a test looks at in a decoded packet.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    src: IpAddr,
    dst: IpAddr,
    ports: Option<(u16, u16)>,
    protocol: u8,
    payload: Vec<u8>,
    ip_len: u32,
    reassembled: bool,
}

fn seen(p: &Packet<'_>) -> Seen {
    let (ports, protocol, payload) = match p.transport {
        Transport::Tcp(t) => (Some((t.src_port, t.dst_port)), 6, t.payload.to_vec()),
        Transport::Udp { src_port, dst_port, payload } => {
            (Some((src_port, dst_port)), 17, payload.to_vec())
        }
        Transport::Other { protocol } => (None, protocol, Vec::new()),
    };
    Seen {
        src: p.src,
        dst: p.dst,
        ports,
        protocol,
        payload,
        ip_len: p.ip_len,
        reassembled: p.reassembled,
    }
}

/// Decodes network-layer frames in order through one decoder.
fn run(frames: &[(u16, Vec<u8>)]) -> (Vec<Result<Option<Seen>, DecodeError>>, WireStats) {
    let mut d = Decoder::new(DefragLimits::default());
    let mut out = Vec::new();
    for (i, (ethertype, payload)) in frames.iter().enumerate() {
        let net = Network { ethertype: *ethertype, vlan: None, payload };
        out.push(d.decode(Timestamp(i as i64), &net).map(|p| p.as_ref().map(seen)));
    }
    (out, d.stats().clone())
}

/// Decodes one captured frame of link type `link`.
fn frame(link: LinkType, data: &[u8]) -> (Result<Option<Seen>, DecodeError>, WireStats) {
    let LinkOutcome::Network(net) = link::normalize(link, data) else {
        panic!("link layer not decoded");
    };
    let mut d = Decoder::new(DefragLimits::default());
    let r = d.decode(Timestamp(0), &net).map(|p| p.as_ref().map(seen));
    (r, d.stats().clone())
}

fn one(ethertype: u16, payload: Vec<u8>) -> (Seen, WireStats) {
    let (mut out, stats) = run(&[(ethertype, payload)]);
    match out.pop() {
        Some(Ok(Some(p))) => (p, stats),
        other => panic!("expected a packet, got {other:?}"),
    }
}

fn addr(b: [u8; 4]) -> IpAddr {
    IpAddr::from(b)
}

fn is_inner_udp(p: &Seen) {
    assert_eq!((p.src, p.dst, p.ports), (addr(PHONE), addr(SERVER), Some((40000, 53))));
    assert_eq!(p.payload, b"dns-payload!");
    assert_eq!(p.ip_len, 40);
}

/// Every counter left at zero except the decapsulation count and one packet.
fn clean(tunnels: u64) -> WireStats {
    WireStats { packets: 1, tunnels_decapsulated: tunnels, ..WireStats::default() }
}

// ---- Real frames ----

#[test]
fn gre_pptp_ppp_inside_4in6() {
    let (r, s) = frame(LinkType::ETHERNET, &GRE_PPP);
    let p = r.unwrap().unwrap();
    assert_eq!(p.src, "172.16.44.3".parse::<IpAddr>().unwrap());
    assert_eq!(p.dst, "8.8.8.8".parse::<IpAddr>().unwrap());
    assert_eq!((p.ports, p.ip_len), (Some((40768, 53)), 99));
    assert!(p.payload.ends_with(&[0x00, 0x00, 0x1c, 0x00, 0x01]));
    assert_eq!(s, clean(2));
}

#[test]
fn vxlan_ethernet_inside_udp() {
    let (r, s) = frame(LinkType::ETHERNET, &VXLAN_SYN);
    let p = r.unwrap().unwrap();
    assert_eq!(p.src, "172.16.11.201".parse::<IpAddr>().unwrap());
    assert_eq!(p.dst, "54.86.237.188".parse::<IpAddr>().unwrap());
    assert_eq!((p.ports, p.protocol, p.ip_len), (Some((40354, 80)), 6, 60));
    assert_eq!(s, clean(1));
}

#[test]
fn gtp_u_ip_inside_udp() {
    let (r, s) = frame(LinkType::LINUX_SLL, &GTP_DNS);
    let p = r.unwrap().unwrap();
    assert_eq!(p.src, "192.168.3.129".parse::<IpAddr>().unwrap());
    assert_eq!(p.dst, "192.168.168.1".parse::<IpAddr>().unwrap());
    assert_eq!((p.ports, p.ip_len), (Some((57801, 53)), 73));
    assert_eq!(s, clean(1));
}

#[test]
fn real_frames_cut_anywhere_never_panic() {
    for (link, f) in [
        (LinkType::ETHERNET, &GRE_PPP[..]),
        (LinkType::ETHERNET, &VXLAN_SYN[..]),
        (LinkType::LINUX_SLL, &GTP_DNS[..]),
    ] {
        let mut d = Decoder::new(DefragLimits::default());
        for n in 0..=f.len() {
            if let LinkOutcome::Network(net) = link::normalize(link, &f[..n]) {
                let _ = d.decode(Timestamp(0), &net);
            }
        }
        let s = d.stats();
        assert!(s.tunnels_undecoded > 0 && s.bad_ip > 0, "{s:?}");
    }
}

// ---- IP in IP ----

#[test]
fn ip_in_ip_4in4_6in4_6in6() {
    let (p, s) = one(V4, v4(4, 1, 0, GW_A, GW_B, &inner_udp()));
    is_inner_udp(&p);
    assert_eq!(s, clean(1));

    let syn_v6 = v6(17, &udp(1000, 443, b"x"));
    for outer in [v4(41, 1, 0, GW_A, GW_B, &syn_v6), v6(41, &syn_v6)] {
        let (p, s) = one(if outer[0] >> 4 == 4 { V4 } else { V6 }, outer);
        assert_eq!((p.ports, p.payload.as_slice(), p.ip_len), (Some((1000, 443)), &b"x"[..], 49));
        assert_eq!(s, clean(1));
    }
    // 4in6 after an IPv6 extension header (destination options).
    let mut ext = vec![4, 0, 1, 4, 0, 0, 0, 0];
    ext.extend_from_slice(&inner_udp());
    let (p, s) = one(V6, v6(60, &ext));
    is_inner_udp(&p);
    assert_eq!(s, clean(1));
}

#[test]
fn ip_in_ip_too_short_keeps_the_outer_packet() {
    let (p, s) = one(V4, v4(4, 1, 0, GW_A, GW_B, &inner_udp()[..19]));
    assert_eq!((p.src, p.protocol), (addr(GW_A), 4));
    assert_eq!(s, WireStats { packets: 1, tunnels_undecoded: 1, ..WireStats::default() });
    // A malformed inner header (version 5) is a bad IP header once unwrapped.
    let mut inner = inner_udp();
    inner[0] = 0x55;
    let (out, s) = run(&[(V4, v4(4, 1, 0, GW_A, GW_B, &inner))]);
    assert_eq!(out, vec![Err(DecodeError::BadIpHeader)]);
    assert_eq!(s, WireStats { bad_ip: 1, tunnels_decapsulated: 1, ..WireStats::default() });
}

#[test]
fn nesting_is_capped() {
    let mut pkt = inner_udp();
    for i in 0..MAX_TUNNEL_DEPTH + 2 {
        pkt = v4(4, i as u16, 0, GW_A, GW_B, &pkt);
    }
    let (p, s) = one(V4, pkt);
    // The packet handed on is the tunnel packet at the cap.
    assert_eq!((p.src, p.protocol), (addr(GW_A), 4));
    let tunnels = MAX_TUNNEL_DEPTH as u64;
    assert_eq!(
        s,
        WireStats {
            packets: 1,
            tunnels_decapsulated: tunnels,
            tunnel_depth_capped: 1,
            ..WireStats::default()
        }
    );
    // Exactly at the cap: the innermost packet.
    let mut pkt = inner_udp();
    for i in 0..MAX_TUNNEL_DEPTH {
        pkt = v4(4, i as u16, 0, GW_A, GW_B, &pkt);
    }
    let (p, s) = one(V4, pkt);
    is_inner_udp(&p);
    assert_eq!(s, clean(tunnels));
}

// ---- GRE ----

fn gre(flags: u16, protocol: u16, optional: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&flags.to_be_bytes());
    b.extend_from_slice(&protocol.to_be_bytes());
    b.extend_from_slice(optional);
    b.extend_from_slice(payload);
    v4(47, 9, 0, GW_A, GW_B, &b)
}

#[test]
fn gre_optional_fields() {
    // No options; checksum; key; sequence; all three (RFC 2784 / 2890).
    for (flags, opt) in [
        (0x0000, &[][..]),
        (0x8000, &[0xab, 0xcd, 0, 0][..]),
        (0x2000, &[0, 0, 0, 42][..]),
        (0x1000, &[0, 0, 0, 7][..]),
        (0xb000, &[0xab, 0xcd, 0, 0, 0, 0, 0, 42, 0, 0, 0, 7][..]),
    ] {
        let (p, s) = one(V4, gre(flags, 0x0800, opt, &inner_udp()));
        is_inner_udp(&p);
        assert_eq!(s, clean(1), "flags {flags:#x}");
    }
    // RFC 1701 routing: checksum/offset word, one source route entry, the null entry.
    let opt = [0, 0, 0, 0, 0x08, 0x00, 0, 4, 1, 2, 3, 4, 0, 0, 0, 0];
    let (p, s) = one(V4, gre(0x4000, 0x0800, &opt, &inner_udp()));
    is_inner_udp(&p);
    assert_eq!(s, clean(1));
    // IPv6 payload.
    let (p, _) = one(V4, gre(0, 0x86dd, &[], &v6(17, &udp(1, 2, b"six"))));
    assert_eq!(p.payload, b"six");
}

#[test]
fn gre_ethernet_and_erspan() {
    let frame = eth(0x0800, &inner_udp());
    // Transparent Ethernet bridging, with a VLAN tag inside.
    let mut tagged = eth(0x8100, &[0x00, 0x05, 0x08, 0x00]);
    tagged.extend_from_slice(&inner_udp());
    for f in [&frame, &tagged] {
        let (p, s) = one(V4, gre(0x2000, 0x6558, &[0, 0, 0, 1], f));
        is_inner_udp(&p);
        assert_eq!(s, clean(1));
    }
    // ERSPAN type I (no GRE sequence number, no ERSPAN header) and type II (8-byte header).
    let (p, _) = one(V4, gre(0, 0x88be, &[], &frame));
    is_inner_udp(&p);
    let mut erspan2 = vec![0x10, 0x01, 0x00, 0x02, 0, 0, 0, 0];
    erspan2.extend_from_slice(&frame);
    let (p, _) = one(V4, gre(0x1000, 0x88be, &[0, 0, 0, 1], &erspan2));
    is_inner_udp(&p);
    // ERSPAN type III, with and without the 8-byte platform-specific subheader (O bit).
    let mut erspan3 = vec![0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0x00];
    erspan3.extend_from_slice(&frame);
    let (p, _) = one(V4, gre(0x1000, 0x22eb, &[0, 0, 0, 1], &erspan3));
    is_inner_udp(&p);
    let mut erspan3 =
        vec![0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0];
    erspan3.extend_from_slice(&frame);
    let (p, _) = one(V4, gre(0x1000, 0x22eb, &[0, 0, 0, 1], &erspan3));
    is_inner_udp(&p);
}

#[test]
fn gre_without_ip_inside_stays_the_outer_packet() {
    let outer_only = |s: WireStats| assert_eq!(s, WireStats { packets: 1, ..WireStats::default() });
    // ARP inside Ethernet inside GRE.
    let (p, s) = one(V4, gre(0, 0x6558, &[], &eth(0x0806, &[0; 28])));
    assert_eq!((p.src, p.protocol), (addr(GW_A), 47));
    outer_only(s);
    // PPTP acknowledgement only (enhanced GRE without a sequence number), and PPP LCP.
    let (p, s) = one(V4, gre(0x2081, 0x880b, &[0, 0, 0, 1, 0, 0, 0, 9], &[]));
    assert_eq!(p.protocol, 47);
    outer_only(s);
    let (p, s) =
        one(V4, gre(0x3001, 0x880b, &[0, 6, 0, 1, 0, 0, 0, 9], &[0xff, 0x03, 0xc0, 0x21, 9, 1]));
    assert_eq!(p.protocol, 47);
    outer_only(s);
}

#[test]
fn gre_malformed_is_counted_and_keeps_the_outer_packet() {
    let undecoded = WireStats { packets: 1, tunnels_undecoded: 1, ..WireStats::default() };
    for pkt in [
        // Header cut short; options announced but missing; unknown version 2; enhanced GRE
        // without the key or carrying something other than PPP; a routing entry cut short;
        // ERSPAN III header cut short; Ethernet header cut short.
        v4(47, 9, 0, GW_A, GW_B, &[0x00, 0x00, 0x08]),
        gre(0xb000, 0x0800, &[0, 0, 0, 0], &[]),
        gre(0x0002, 0x0800, &[], &inner_udp()),
        gre(0x1001, 0x880b, &[0, 0, 0, 1], &[]),
        gre(0x3001, 0x0800, &[0, 0, 0, 1, 0, 0, 0, 1], &inner_udp()),
        gre(0x4000, 0x0800, &[0, 0, 0, 0, 0x08, 0x00, 0, 200], &[1, 2]),
        gre(0x1000, 0x22eb, &[0, 0, 0, 1], &[0x20, 0x01]),
        gre(0, 0x6558, &[], &[0; 13]),
    ] {
        let (p, s) = one(V4, pkt);
        assert_eq!(p.protocol, 47);
        assert_eq!(s, undecoded);
    }
}

// ---- UDP tunnels ----

fn gtp(flags: u8, optional: &[u8], inner: &[u8]) -> Vec<u8> {
    let len = (optional.len() + inner.len()) as u16;
    let mut b = vec![flags, 0xff];
    b.extend_from_slice(&len.to_be_bytes());
    b.extend_from_slice(&[0, 0, 0, 1]);
    b.extend_from_slice(optional);
    b.extend_from_slice(inner);
    b
}

#[test]
fn gtp_u_optional_fields_and_extension_headers() {
    // Sequence number only (S); then E with a PDU session container extension (1 unit of 4).
    for (flags, opt) in [
        (0x32, &[0, 1, 0, 0][..]),
        (0x34, &[0, 0, 0, 0x85, 0x01, 0x00, 0x09, 0x00][..]),
        (0x34, &[0, 0, 0, 0x85, 0x02, 1, 2, 3, 4, 5, 6, 0x00][..]),
    ] {
        let tunnel = gtp(flags, opt, &inner_udp());
        let (p, s) = one(V4, v4(17, 1, 0, GW_A, GW_B, &udp(33000, 2152, &tunnel)));
        is_inner_udp(&p);
        assert_eq!(s, clean(1));
    }
    // Echo request (type 1) and GTP' (PT 0) are not user data: plain UDP.
    let mut echo = gtp(0x32, &[0, 1, 0, 0], &[]);
    echo[1] = 1;
    let mut gtp_prime = gtp(0x20, &[], &inner_udp());
    gtp_prime[0] = 0x20;
    for payload in [echo, gtp_prime] {
        let (p, s) = one(V4, v4(17, 1, 0, GW_A, GW_B, &udp(2152, 2152, &payload)));
        assert_eq!((p.src, p.ports), (addr(GW_A), Some((2152, 2152))));
        assert_eq!(s, WireStats { packets: 1, ..WireStats::default() });
    }
    // An extension header of length 0, or cut short: undecoded.
    for opt in [&[0, 0, 0, 0x85, 0x00, 0, 0, 0][..], &[0, 0, 0, 0x85, 0x04, 0, 0, 0][..]] {
        let tunnel = gtp(0x34, opt, &[]);
        let (p, s) = one(V4, v4(17, 1, 0, GW_A, GW_B, &udp(2152, 2152, &tunnel)));
        assert_eq!(p.src, addr(GW_A));
        assert_eq!(s.tunnels_undecoded, 1);
    }
    // The source port alone is no GTP-U hint (a client that picked port 2152).
    let (p, _) = one(V4, v4(17, 1, 0, GW_A, GW_B, &udp(2152, 53, &gtp(0x30, &[], &inner_udp()))));
    assert_eq!(p.ports, Some((2152, 53)));
}

#[test]
fn vxlan_and_geneve() {
    let frame = eth(0x0800, &inner_udp());
    let mut vx = vec![0x08, 0, 0, 0, 0, 0, 0x2a, 0];
    vx.extend_from_slice(&frame);
    let (p, s) = one(V4, v4(17, 1, 0, GW_A, GW_B, &udp(51234, 4789, &vx)));
    is_inner_udp(&p);
    assert_eq!(s, clean(1));
    // Without the I flag: not VXLAN.
    vx[0] = 0;
    let (p, _) = one(V4, v4(17, 1, 0, GW_A, GW_B, &udp(51234, 4789, &vx)));
    assert_eq!(p.ports, Some((51234, 4789)));

    // Geneve with 8 bytes of options, Ethernet inside; and IPv4 directly (protocol type 0x0800).
    let mut gn = vec![0x02, 0x00, 0x65, 0x58, 0, 0, 0x2a, 0, 1, 2, 3, 4, 5, 6, 7, 8];
    gn.extend_from_slice(&frame);
    let (p, s) = one(V4, v4(17, 1, 0, GW_A, GW_B, &udp(51234, 6081, &gn)));
    is_inner_udp(&p);
    assert_eq!(s, clean(1));
    let mut gn = vec![0x00, 0x00, 0x08, 0x00, 0, 0, 0x2a, 0];
    gn.extend_from_slice(&inner_udp());
    let (p, _) = one(V4, v4(17, 1, 0, GW_A, GW_B, &udp(51234, 6081, &gn)));
    is_inner_udp(&p);
    // Options running past the packet: undecoded.
    let gn = [0x3f, 0x00, 0x65, 0x58, 0, 0, 0x2a, 0];
    let (_, s) = one(V4, v4(17, 1, 0, GW_A, GW_B, &udp(51234, 6081, &gn)));
    assert_eq!(s.tunnels_undecoded, 1);
}

#[test]
fn teredo() {
    let inner = v6(17, &udp(1000, 53, b"teredo"));
    // Plain, with an origin indication, with authentication and origin indication; both
    // directions (the server's port on either side).
    let origin = [0x00, 0x00, 0xf2, 0x27, 0x3f, 0xff, 0xff, 0xfe];
    let auth = [0x00, 0x01, 0x02, 0x01, 0xaa, 0xbb, 0xcc, 1, 2, 3, 4, 5, 6, 7, 8, 0x00];
    for (prefix, ports) in [
        (vec![], (40000, 3544)),
        (origin.to_vec(), (3544, 40000)),
        ([&auth[..], &origin[..]].concat(), (3544, 40000)),
    ] {
        let payload = [&prefix[..], &inner[..]].concat();
        let (p, s) = one(V4, v4(17, 1, 0, GW_A, GW_B, &udp(ports.0, ports.1, &payload)));
        assert_eq!((p.ports, p.payload.as_slice()), (Some((1000, 53)), &b"teredo"[..]));
        assert_eq!(s, clean(1));
    }
    // A bubble (IPv6 with no next header) is an IPv6 packet too.
    let (p, _) = one(V4, v4(17, 1, 0, GW_A, GW_B, &udp(40000, 3544, &v6(59, &[]))));
    assert_eq!((p.protocol, p.ports), (59, None));
    // Not IPv6 after the headers, or a length that does not fit: plain UDP.
    let mut short = v6(17, &udp(1, 2, b"abc"));
    short[5] = 8; // payload length 8 with 11 bytes following
    for payload in [vec![0x45; 60], short, v6(59, &[])[..39].to_vec()] {
        let (p, s) = one(V4, v4(17, 1, 0, GW_A, GW_B, &udp(40000, 3544, &payload)));
        assert_eq!(p.ports, Some((40000, 3544)));
        assert_eq!(s.tunnels_decapsulated, 0);
    }
}

// ---- Fragmentation at either level ----

#[test]
fn fragmented_outer_packet_carrying_gtp() {
    // As in zeek's gtp1_gn_normal_incl_fragmentation.pcap: the outer UDP datagram is fragmented.
    let outer = v4(17, 0x2cf1, 0, GW_A, GW_B, &udp(2152, 2152, &gtp(0x30, &[], &inner_udp())));
    let (a, b) = fragment(&outer, 16);
    let (out, s) = run(&[(V4, a), (V4, b)]);
    assert_eq!(out[0], Ok(None));
    let p = out[1].as_ref().unwrap().as_ref().unwrap();
    is_inner_udp(p);
    assert!(p.reassembled);
    assert_eq!(
        s,
        WireStats {
            packets: 1,
            fragments: 2,
            reassembled: 1,
            tunnels_decapsulated: 1,
            ..WireStats::default()
        }
    );
}

#[test]
fn fragmented_inner_packet_in_an_unfragmented_tunnel() {
    let (a, b) = fragment(&inner_udp(), 8);
    let (out, s) = run(&[(V4, v4(4, 1, 0, GW_A, GW_B, &a)), (V6, v6(4, &b))]);
    assert_eq!(out[0], Ok(None));
    let p = out[1].as_ref().unwrap().as_ref().unwrap();
    is_inner_udp(p);
    assert!(p.reassembled);
    assert_eq!(
        s,
        WireStats {
            packets: 1,
            fragments: 2,
            reassembled: 1,
            tunnels_decapsulated: 2,
            ..WireStats::default()
        }
    );
}

#[test]
fn fragmented_inner_packet_in_fragmented_tunnel_packets() {
    // Inner fragments 1 and 2, each in a VXLAN packet whose outer datagram is itself fragmented:
    // the last frame completes an outer datagram, which completes the inner one.
    let (i1, i2) = fragment(&inner_udp(), 8);
    let tunnel = |id: u16, inner: &[u8]| {
        let mut vx = vec![0x08, 0, 0, 0, 0, 0, 0x2a, 0];
        vx.extend_from_slice(&eth(0x0800, inner));
        fragment(&v4(17, id, 0, GW_A, GW_B, &udp(50000, 4789, &vx)), 24)
    };
    let (a1, a2) = tunnel(100, &i1);
    let (b1, b2) = tunnel(101, &i2);
    let (out, s) = run(&[(V4, a1), (V4, b1), (V4, a2), (V4, b2)]);
    assert_eq!(&out[..3], &[Ok(None), Ok(None), Ok(None)]);
    let p = out[3].as_ref().unwrap().as_ref().unwrap();
    is_inner_udp(p);
    assert!(p.reassembled);
    assert_eq!(
        s,
        WireStats {
            packets: 1,
            fragments: 6,
            reassembled: 3,
            tunnels_decapsulated: 2,
            ..WireStats::default()
        }
    );
}

// ---- The tunnel functions alone ----

#[test]
fn only_tunnel_protocols_and_ports_are_looked_at() {
    assert_eq!(by_protocol(6, &inner_udp()), Decap::None);
    assert_eq!(by_protocol(50, &inner_udp()), Decap::None);
    assert_eq!(by_udp_port(4789, 53, &[0x08; 64]), Decap::None);
    assert_eq!(by_udp_port(6081, 443, &[0; 64]), Decap::None);
    assert_eq!(by_udp_port(53, 1234, &inner_udp()), Decap::None);
}

#[test]
fn every_prefix_of_every_tunnel_is_safe() {
    let frame = eth(0x0800, &inner_udp());
    let mut vx = vec![0x08, 0, 0, 0, 0, 0, 0x2a, 0];
    vx.extend_from_slice(&frame);
    let mut gn = vec![0x02, 0x00, 0x65, 0x58, 0, 0, 0x2a, 0, 1, 2, 3, 4, 5, 6, 7, 8];
    gn.extend_from_slice(&frame);
    let gt = gtp(0x34, &[0, 0, 0, 0x85, 0x02, 1, 2, 3, 4, 5, 6, 0x00], &inner_udp());
    let te = [
        &[0x00, 0x01, 0x02, 0x01, 0xaa, 0xbb, 0xcc, 1, 2, 3, 4, 5, 6, 7, 8, 0x00][..],
        &v6(59, &[]),
    ]
    .concat();
    let gre_routing = [
        &[0x40, 0x00, 0x08, 0x00, 0, 0, 0, 0, 0x08, 0x00, 0, 4, 1, 2, 3, 4, 0, 0, 0, 0][..],
        &inner_udp(),
    ]
    .concat();
    let pptp = &GRE_PPP[78..];
    for (port, payload) in [(4789, &vx[..]), (6081, &gn), (2152, &gt), (3544, &te)] {
        for n in 0..=payload.len() {
            let _ = by_udp_port(1, port, &payload[..n]);
        }
    }
    for (proto, payload) in
        [(47, &gre_routing[..]), (47, pptp), (4, &inner_udp()), (41, &v6(59, &[]))]
    {
        for n in 0..=payload.len() {
            let _ = by_protocol(proto, &payload[..n]);
        }
    }
}
