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
    // 228/229 trust the link type, not the nibble.
    assert_eq!(normalize(LinkType::IPV4, V6), net(0x0800, None, V6));
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
    for link in [LinkType(105), LinkType(127), LinkType(9), LinkType(u32::MAX)] {
        assert_eq!(normalize(link, &[1, 2, 3]), LinkOutcome::Unsupported(link));
    }
}

#[test]
fn never_panics_on_short_prefixes() {
    let mut f = eth(&[0x88, 0xa8, 0x00, 0xc8, 0x81, 0x00, 0x00, 0x64, 0x00, 0x20, 0xaa, 0xaa]);
    f.extend_from_slice(&[0x03, 0, 0, 0, 0x08, 0x00, 0x45]);
    for link in [0, 1, 12, 14, 101, 108, 113, 228, 229, 276] {
        for n in 0..=f.len() {
            let _ = normalize(LinkType(link), &f[..n]);
        }
    }
}
