//! Byte-literal frames for every supported link type (hand-built from the header layouts in
//! tcpdump.org's LINKTYPE list).

use super::*;

/// A minimal IPv4 header start and an IPv6 header start.
const V4: &[u8] = &[0x45, 0x00, 0x00, 0x14];
const V6: &[u8] = &[0x60, 0x00, 0x00, 0x00];

fn net(ethertype: u16, vlan: Option<u16>, payload: &[u8]) -> LinkOutcome<'_> {
    LinkOutcome::Network(Network { ethertype, vlan, payload })
}

/// Ethernet header: dst, src (12 bytes), then the given type/tag bytes.
fn eth(rest: &[u8]) -> Vec<u8> {
    let mut f = vec![0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
    f.extend_from_slice(rest);
    f
}

#[test]
fn ethernet_ipv4_and_ipv6() {
    let f = eth(&[0x08, 0x00, 0x45, 0x00, 0x00, 0x14]);
    assert_eq!(normalize(LinkType::ETHERNET, &f), net(0x0800, None, V4));
    let f = eth(&[0x86, 0xdd, 0x60, 0x00, 0x00, 0x00]);
    assert_eq!(normalize(LinkType::ETHERNET, &f), net(0x86dd, None, V6));
    let f = eth(&[0x08, 0x06]);
    assert_eq!(normalize(LinkType::ETHERNET, &f), net(ethertype::ARP, None, &[]));
}

#[test]
fn ethernet_too_short() {
    assert_eq!(normalize(LinkType::ETHERNET, &[]), LinkOutcome::Truncated);
    assert_eq!(normalize(LinkType::ETHERNET, &eth(&[0x08])), LinkOutcome::Truncated);
}

#[test]
fn ethernet_vlan_tags() {
    // 802.1Q, VLAN 100 (priority 5 bits set in the TCI must be masked off).
    let f = eth(&[0x81, 0x00, 0xa0, 0x64, 0x08, 0x00, 0x45, 0x00, 0x00, 0x14]);
    assert_eq!(normalize(LinkType::ETHERNET, &f), net(0x0800, Some(100), V4));
    // 802.1ad outer 200, 802.1Q inner 100: outermost id kept.
    let f = eth(&[0x88, 0xa8, 0x00, 0xc8, 0x81, 0x00, 0x00, 0x64, 0x86, 0xdd, 0x60, 0, 0, 0]);
    assert_eq!(normalize(LinkType::ETHERNET, &f), net(0x86dd, Some(200), V6));
    // Old 0x9100 outer, then 0x8100, then 0x8100 (three stacked tags).
    let f = eth(&[
        0x91, 0x00, 0x0f, 0xff, 0x81, 0x00, 0x00, 0x01, 0x81, 0x00, 0x00, 0x02, 0x08, 0x00, 0x45,
        0x00, 0x00, 0x14,
    ]);
    assert_eq!(normalize(LinkType::ETHERNET, &f), net(0x0800, Some(4095), V4));
    // A tag cut short.
    let f = eth(&[0x81, 0x00, 0x00, 0x64, 0x08]);
    assert_eq!(normalize(LinkType::ETHERNET, &f), LinkOutcome::Truncated);
}

#[test]
fn ethernet_8023_llc_and_snap() {
    // 802.3 length 0x0026, LLC SNAP (aa aa 03), OUI 0, type IPv4.
    let f = eth(&[0x00, 0x26, 0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, 0x45, 0x00, 0x00, 0x14]);
    assert_eq!(normalize(LinkType::ETHERNET, &f), net(0x0800, None, V4));
    // SNAP with a vendor OUI (Cisco CDP): not an EtherType.
    let f = eth(&[0x00, 0x26, 0xaa, 0xaa, 0x03, 0, 0, 0x0c, 0x20, 0x00]);
    assert_eq!(
        normalize(LinkType::ETHERNET, &f),
        net(0, None, &[0xaa, 0xaa, 0x03, 0, 0, 0x0c, 0x20, 0x00])
    );
    // STP over LLC (42 42 03): EtherType 0, LLC bytes as payload.
    let f = eth(&[0x00, 0x27, 0x42, 0x42, 0x03, 0x00]);
    assert_eq!(normalize(LinkType::ETHERNET, &f), net(0, None, &[0x42, 0x42, 0x03, 0x00]));
    // 802.3 with nothing after the length.
    assert_eq!(normalize(LinkType::ETHERNET, &eth(&[0x00, 0x00])), net(0, None, &[]));
    // VLAN-tagged 802.3/SNAP.
    let f = eth(&[0x81, 0x00, 0x00, 0x07, 0x00, 0x20, 0xaa, 0xaa, 0x03, 0, 0, 0xf8, 0x86, 0xdd]);
    assert_eq!(normalize(LinkType::ETHERNET, &f), net(0x86dd, Some(7), &[]));
}

#[test]
fn linux_sll() {
    // packet type 0 (to us), ARPHRD_ETHER 1, addr len 6, address (8), protocol 0x0800.
    let mut f = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
    f.extend_from_slice(V4);
    assert_eq!(normalize(LinkType::LINUX_SLL, &f), net(0x0800, None, V4));
    // VLAN tag after the header (protocol 0x8100).
    let mut f = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x81, 0x00, 0x00, 0x0a, 0x86, 0xdd];
    f.extend_from_slice(V6);
    assert_eq!(normalize(LinkType::LINUX_SLL, &f), net(0x86dd, Some(10), V6));
    // Protocol 4: 802.2 LLC.
    let f = [0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x00, 0x04, 0x42, 0x42, 0x03];
    assert_eq!(normalize(LinkType::LINUX_SLL, &f), net(0, None, &[0x42, 0x42, 0x03]));
    // Protocol 1 (Novell 802.3): not an EtherType.
    let f = [0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x00, 0x01, 0xff, 0xff];
    assert_eq!(normalize(LinkType::LINUX_SLL, &f), net(0, None, &[0xff, 0xff]));
    // Netlink (ARPHRD 824 = 0x0338): protocol is a netlink family.
    let f = [0, 4, 0x03, 0x38, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00, 1];
    assert_eq!(normalize(LinkType::LINUX_SLL, &f), net(0, None, &[1]));
    assert_eq!(normalize(LinkType::LINUX_SLL, &f[..15]), LinkOutcome::Truncated);
}

#[test]
fn linux_sll2() {
    // protocol 0x86dd, reserved, ifindex 2, ARPHRD_ETHER 1, packet type 4, addr len 6, address.
    let mut f = vec![0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 4, 6, 1, 2, 3, 4, 5, 6, 0, 0];
    f.extend_from_slice(V6);
    assert_eq!(normalize(LinkType::LINUX_SLL2, &f), net(0x86dd, None, V6));
    let mut f = vec![0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0];
    f.extend_from_slice(V4);
    assert_eq!(normalize(LinkType::LINUX_SLL2, &f), net(0x0800, None, V4));
    assert_eq!(normalize(LinkType::LINUX_SLL2, &f[..19]), LinkOutcome::Truncated);
}

#[test]
fn raw_ip() {
    for link in [LinkType::RAW, LinkType(12), LinkType(14)] {
        assert_eq!(normalize(link, V4), net(0x0800, None, V4));
        assert_eq!(normalize(link, V6), net(0x86dd, None, V6));
        assert_eq!(normalize(link, &[0x50]), net(0, None, &[0x50]));
        assert_eq!(normalize(link, &[]), LinkOutcome::Truncated);
    }
    assert_eq!(normalize(LinkType::IPV4, V4), net(0x0800, None, V4));
    assert_eq!(normalize(LinkType::IPV6, V6), net(0x86dd, None, V6));
    // 228/229 follow a nibble of 4 or 6, as tshark does (tcpdump's LINKTYPE_IPV4_invalid.pcap is
    // an IPv6 packet stored as 228); any other nibble keeps the link type's version.
    assert_eq!(normalize(LinkType::IPV4, V6), net(0x86dd, None, V6));
    assert_eq!(normalize(LinkType::IPV6, V4), net(0x0800, None, V4));
    assert_eq!(normalize(LinkType::IPV4, &[0x50]), net(0x0800, None, &[0x50]));
    assert_eq!(normalize(LinkType::IPV6, &[0x00]), net(0x86dd, None, &[0x00]));
    assert_eq!(normalize(LinkType::IPV4, &[]), LinkOutcome::Truncated);
    assert_eq!(normalize(LinkType::IPV6, &[]), LinkOutcome::Truncated);
}

#[test]
fn bsd_null_both_byte_orders() {
    // Little-endian writer, AF_INET.
    let f = [2, 0, 0, 0, 0x45, 0x00, 0x00, 0x14];
    assert_eq!(normalize(LinkType::NULL, &f), net(0x0800, None, V4));
    // Big-endian writer, AF_INET.
    let f = [0, 0, 0, 2, 0x45, 0x00, 0x00, 0x14];
    assert_eq!(normalize(LinkType::NULL, &f), net(0x0800, None, V4));
    // AF_INET6 of NetBSD/OpenBSD (24), FreeBSD (28), macOS (30), both orders.
    for fam in [24u8, 28, 30] {
        let f = [fam, 0, 0, 0, 0x60, 0, 0, 0];
        assert_eq!(normalize(LinkType::NULL, &f), net(0x86dd, None, V6));
        let f = [0, 0, 0, fam, 0x60, 0, 0, 0];
        assert_eq!(normalize(LinkType::NULL, &f), net(0x86dd, None, V6));
    }
    // Unknown family (AF_APPLETALK 16).
    assert_eq!(normalize(LinkType::NULL, &[16, 0, 0, 0, 9]), net(0, None, &[9]));
    assert_eq!(normalize(LinkType::NULL, &[2, 0, 0]), LinkOutcome::Truncated);
}

#[test]
fn openbsd_loop_network_order() {
    let f = [0, 0, 0, 2, 0x45, 0x00, 0x00, 0x14];
    assert_eq!(normalize(LinkType::LOOP, &f), net(0x0800, None, V4));
    let f = [0, 0, 0, 24, 0x60, 0, 0, 0];
    assert_eq!(normalize(LinkType::LOOP, &f), net(0x86dd, None, V6));
    // LOOP is always network order: a little-endian 2 is not AF_INET.
    let f = [2, 0, 0, 0, 0x45];
    assert_eq!(normalize(LinkType::LOOP, &f), net(0, None, &[0x45]));
    assert_eq!(normalize(LinkType::LOOP, &[]), LinkOutcome::Truncated);
}

#[test]
fn unsupported_link_types() {
    for link in [LinkType(107), LinkType(160), LinkType(192), LinkType(u32::MAX)] {
        assert_eq!(normalize(link, &[1, 2, 3]), LinkOutcome::Unsupported(link));
    }
}

#[test]
fn never_panics_on_short_prefixes() {
    let mut f = eth(&[0x88, 0xa8, 0x00, 0xc8, 0x81, 0x00, 0x00, 0x64, 0x00, 0x20, 0xaa, 0xaa]);
    f.extend_from_slice(&[0x03, 0, 0, 0, 0x08, 0x00, 0x45]);
    for link in [0, 1, 9, 12, 14, 50, 101, 104, 105, 108, 113, 127, 129, 228, 229, 239, 258, 276] {
        for n in 0..=f.len() {
            let _ = normalize(LinkType(link), &f[..n]);
        }
    }
}

/// zeek/pppoe-over-qinq.pcap frame 1 (first 36 bytes): two 802.1Q tags (3704, 2474), PPPoE
/// session 0x0f07, PPP protocol 0x0021, IPv4.
const PPPOE_QINQ: [u8; 36] = [
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // dst, src
    0x81, 0x00, 0x0e, 0x78, // 802.1Q, VLAN 3704
    0x81, 0x00, 0x09, 0xaa, // 802.1Q, VLAN 2474
    0x88, 0x64, // PPPoE session
    0x11, 0x00, 0x0f, 0x07, 0x00, 0x42, // ver/type 1/1, code 0, session 0x0f07, length 66
    0x00, 0x21, // PPP: IPv4
    0x45, 0x00, 0x00, 0x40, 0x00, 0x00,
];

#[test]
fn pppoe_session_over_qinq() {
    assert_eq!(
        normalize(LinkType::ETHERNET, &PPPOE_QINQ),
        net(0x0800, Some(3704), &PPPOE_QINQ[30..])
    );
    // Every cut inside the shims is truncated, never a panic.
    for n in 14..30 {
        assert_eq!(normalize(LinkType::ETHERNET, &PPPOE_QINQ[..n]), LinkOutcome::Truncated, "{n}");
    }
    // PPP LCP (0xc021) in the session: not IP, the LCP packet as payload.
    let mut f = PPPOE_QINQ;
    f[28..30].copy_from_slice(&[0xc0, 0x21]);
    assert_eq!(normalize(LinkType::ETHERNET, &f), net(0, Some(3704), &f[30..]));
    // PPPoE discovery (PADI...): not IP.
    let f = eth(&[0x88, 0x63, 0x11, 0x09, 0x00, 0x00]);
    assert_eq!(normalize(LinkType::ETHERNET, &f), net(0x8863, None, &[0x11, 0x09, 0x00, 0x00]));
}

#[test]
fn pppoe_with_compressed_protocol() {
    // suricata-verify bug-4810 pppoe-session-http.pcap frame 1: the PPP protocol is one byte
    // (0x21, protocol-field compression).
    let f: [u8; 30] = [
        0x00, 0x0c, 0x29, 0x39, 0xf3, 0xc3, 0x00, 0x0c, 0x29, 0x20, 0x8e, 0xa1, 0x88, 0x64, 0x11,
        0x00, 0x00, 0x2d, 0x00, 0x3d, 0x21, 0x45, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x40, 0x00, 0x40,
    ];
    assert_eq!(normalize(LinkType::ETHERNET, &f), net(0x0800, None, &f[21..]));
    assert_eq!(normalize(LinkType::ETHERNET, &f[..20]), LinkOutcome::Truncated);
}

#[test]
fn mpls_label_stacks() {
    // zeek/mpls-in-vlan.pcap frame 2: VLAN 0, one label (16106, bottom of stack), IPv4.
    let f: [u8; 28] = [
        0x00, 0x08, 0xe3, 0x41, 0x41, 0x41, 0x00, 0x08, 0xe3, 0x41, 0x41, 0x41, 0x81, 0x00, 0x00,
        0x00, 0x88, 0x47, 0x03, 0xee, 0xa1, 0x2c, 0x45, 0x00, 0x05, 0xdc, 0x39, 0x70,
    ];
    assert_eq!(normalize(LinkType::ETHERNET, &f), net(0x0800, Some(0), &f[22..]));
    // Two labels (the first without the bottom-of-stack bit), IPv6.
    let f = eth(&[0x88, 0x47, 0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40, 0x60, 0, 0, 0]);
    assert_eq!(normalize(LinkType::ETHERNET, &f), net(0x86dd, None, V6));
    // Multicast MPLS; a stack without its bottom label is cut short.
    let f = eth(&[0x88, 0x48, 0x00, 0x01, 0x01, 0x40, 0x45, 0x00, 0x00, 0x14]);
    assert_eq!(normalize(LinkType::ETHERNET, &f), net(0x0800, None, V4));
    let f = eth(&[0x88, 0x47, 0x00, 0x01, 0x00, 0x40, 0x00, 0x02]);
    assert_eq!(normalize(LinkType::ETHERNET, &f), LinkOutcome::Truncated);
    // Ethernet pseudowire: control word 0, then an Ethernet frame with a VLAN tag and IPv4.
    let mut f = eth(&[0x88, 0x47, 0x00, 0x01, 0x01, 0x40, 0, 0, 0, 0]);
    f.extend_from_slice(&eth(&[0x81, 0x00, 0x00, 0x05, 0x08, 0x00, 0x45, 0x00, 0x00, 0x14]));
    assert_eq!(normalize(LinkType::ETHERNET, &f), net(0x0800, Some(5), V4));
    // Nothing after the stack, or an unknown nibble: not IP.
    let f = eth(&[0x88, 0x47, 0x00, 0x01, 0x01, 0x40]);
    assert_eq!(normalize(LinkType::ETHERNET, &f), net(0, None, &[]));
    let f = eth(&[0x88, 0x47, 0x00, 0x01, 0x01, 0x40, 0x10, 0x00]);
    assert_eq!(normalize(LinkType::ETHERNET, &f), net(0, None, &[0x10, 0x00]));
}

#[test]
fn by_ethertype_and_nested_ethernet() {
    // GRE-style payload types.
    assert_eq!(by_ethertype(0x0800, V4), net(0x0800, None, V4));
    assert_eq!(by_ethertype(0x86dd, V6), net(0x86dd, None, V6));
    // Transparent Ethernet bridging: an Ethernet frame, itself with a VLAN tag.
    let f = eth(&[0x81, 0x00, 0x00, 0x09, 0x86, 0xdd, 0x60, 0, 0, 0]);
    assert_eq!(by_ethertype(0x6558, &f), net(0x86dd, Some(9), V6));
    assert_eq!(by_ethertype(0x6558, &f[..13]), LinkOutcome::Truncated);
    // PPP with address and control bytes (PPTP in GRE).
    let f = [0xff, 0x03, 0x00, 0x21, 0x45, 0x00, 0x00, 0x14];
    assert_eq!(by_ethertype(0x880b, &f), net(0x0800, None, V4));
    assert_eq!(ppp(&f), net(0x0800, None, V4));
    assert_eq!(ppp(&f[..3]), LinkOutcome::Truncated);
    // Ethernet in Ethernet in Ethernet...: deep nesting is a loop, not recursion.
    let mut f = Vec::new();
    for _ in 0..20_000 {
        f.extend_from_slice(&eth(&[0x65, 0x58]));
    }
    f.extend_from_slice(&eth(&[0x08, 0x00, 0x45, 0x00, 0x00, 0x14]));
    assert_eq!(ethernet(&f), net(0x0800, None, V4));
}
