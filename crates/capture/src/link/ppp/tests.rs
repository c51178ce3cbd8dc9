//! PPP, PPP-in-HDLC and Cisco HDLC frames, from the real corpus where one exists.

use crate::LinkType;
use crate::link::test_util::net;
use crate::link::{LinkOutcome, normalize};

const PPP: LinkType = LinkType(9);
const PPP_HDLC: LinkType = LinkType(50);
const C_HDLC: LinkType = LinkType(104);

#[test]
fn ppp_two_byte_protocol() {
    // nDPI/dlt_ppp.pcap frame 1: protocol 0x0021, IPv4.
    let f = [0x00, 0x21, 0x45, 0x02, 0x04, 0xcc, 0x41, 0x3d, 0x40, 0x00];
    assert_eq!(normalize(PPP, &f), net(0x0800, &f[2..]));
    // mercury/pcaps__quic_ppp.pcap frame 1: protocol 0x0057, IPv6.
    let f = [0x00, 0x57, 0x60, 0x00, 0x00, 0x01];
    assert_eq!(normalize(PPP, &f), net(0x86dd, &f[2..]));
}

#[test]
fn ppp_compressed_protocol() {
    // suricata-verify defrag bug-6887 frag-ppp-ipv6-tcp.pcap frame 1: one-byte protocol 0x57.
    let f = [0x57, 0x60, 0x00, 0x00, 0x00, 0x01, 0xd0, 0x2c, 0x40, 0x00];
    assert_eq!(normalize(PPP, &f), net(0x86dd, &f[1..]));
    let f = [0x21, 0x45];
    assert_eq!(normalize(PPP, &f), net(0x0800, &f[1..]));
}

#[test]
fn ppp_with_address_and_control() {
    let f = [0xff, 0x03, 0x00, 0x21, 0x45, 0x00];
    assert_eq!(normalize(PPP, &f), net(0x0800, &f[4..]));
    assert_eq!(normalize(PPP_HDLC, &f), net(0x0800, &f[4..]));
    // The control byte is skipped whatever it is (tcpdump's ppp_ip_udp_dns.pcap has 0x5f; its
    // protocol 0x7e08 is unknown, so not IP).
    let f = [0xff, 0x5f, 0x7e, 0x08, 0x00, 0x45];
    assert_eq!(normalize(PPP_HDLC, &f), net(0, &f[4..]));
    // LCP: not IP. MPLS over PPP: the label stack is followed.
    let f = [0xc0, 0x21, 0x01, 0x01];
    assert_eq!(normalize(PPP, &f), net(0, &f[2..]));
    let f = [0x02, 0x81, 0x00, 0x01, 0x01, 0x40, 0x45, 0x00];
    assert_eq!(normalize(PPP, &f), net(0x0800, &f[6..]));
    for f in [&[][..], &[0xff], &[0xff, 0x03], &[0xff, 0x03, 0x00], &[0x00]] {
        assert_eq!(normalize(PPP, f), LinkOutcome::Truncated, "{f:?}");
    }
    assert_eq!(normalize(PPP_HDLC, &[]), LinkOutcome::Truncated);
}

#[test]
fn cisco_hdlc() {
    // suricata-verify decode-chdlc-01 hdlc-http_1tx.pcap frame 1: unicast, IPv4.
    let f = [0x0f, 0x00, 0x08, 0x00, 0x45, 0x00, 0x00, 0x30, 0x15, 0x5a, 0x40, 0x00];
    assert_eq!(normalize(C_HDLC, &f), net(0x0800, &f[4..]));
    // Link type 50 with a Cisco address byte is Cisco HDLC too.
    assert_eq!(normalize(PPP_HDLC, &f), net(0x0800, &f[4..]));
    // Broadcast SLARP keepalive: not IP.
    let f = [0x8f, 0x00, 0x80, 0x35, 0x00, 0x00, 0x00, 0x02];
    assert_eq!(normalize(C_HDLC, &f), net(0x8035, &f[4..]));
    // A protocol below 0x0600 is no EtherType.
    let f = [0x0f, 0x00, 0x00, 0x20, 0xaa];
    assert_eq!(normalize(C_HDLC, &f), net(0, &f[4..]));
    assert_eq!(normalize(C_HDLC, &f[..3]), LinkOutcome::Truncated);
}
