//! Addresses that have no country: private, loopback, link-local, documentation and other
//! special-purpose ranges (IANA special-purpose registries, RFC 6890 and successors).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address has no country, when that is decided by the address alone.
pub(super) fn special(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, ..) => "unspecified",
        (10, ..) | (172, 16..=31, _) | (192, 168, _) => "private",
        (100, 64..=127, _) => "private", // shared address space (carrier-grade NAT), RFC 6598
        (127, ..) => "loopback",
        (169, 254, _) => "link-local",
        (192, 0, 0) => "reserved", // IETF protocol assignments
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (198, 18..=19, _) => "reserved", // benchmarking, RFC 2544
        (224..=239, ..) => "multicast",
        (240..=255, ..) => "reserved", // incl. the limited broadcast address
        _ => return None,
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return special_v4(v4);
    }
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    let s = ip.segments();
    Some(match s[0] {
        0xfe80..=0xfebf => "link-local",
        0xfc00..=0xfdff => "private", // unique local, RFC 4193
        0xff00..=0xffff => "multicast",
        0x2001 if s[1] == 0x0db8 => "documentation",
        0x3fff if s[1] < 0x1000 => "documentation", // 3fff::/20, RFC 9637
        _ => return None,
    })
}

/// The IPv4 address a lookup should use for `ip`: IPv4-mapped (`::ffff:a.b.c.d`) and NAT64
/// well-known-prefix (`64:ff9b::a.b.c.d`) addresses stand for the IPv4 address they carry.
pub(super) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let o = v6.octets();
                return IpAddr::V4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
            }
            ip
        }
        IpAddr::V4(_) => ip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(s: &str) -> Option<&'static str> {
        special(canonical(s.parse().unwrap()))
    }

    #[test]
    fn special_ranges() {
        for (ip, want) in [
            ("10.1.2.3", Some("private")),
            ("172.16.0.1", Some("private")),
            ("172.31.255.255", Some("private")),
            ("172.32.0.1", None),
            ("192.168.1.1", Some("private")),
            ("100.64.0.1", Some("private")),
            ("100.128.0.1", None),
            ("127.0.0.1", Some("loopback")),
            ("169.254.10.10", Some("link-local")),
            ("192.0.2.1", Some("documentation")),
            ("198.51.100.150", Some("documentation")),
            ("203.0.113.17", Some("documentation")),
            ("224.0.0.251", Some("multicast")),
            ("255.255.255.255", Some("reserved")),
            ("0.0.0.0", Some("unspecified")),
            ("8.8.8.8", None),
            ("::1", Some("loopback")),
            ("::", Some("unspecified")),
            ("fe80::1", Some("link-local")),
            ("fd12:3456::1", Some("private")),
            ("ff02::fb", Some("multicast")),
            ("2001:db8::1", Some("documentation")),
            ("::ffff:192.168.0.1", Some("private")),
            ("::ffff:8.8.8.8", None),
            ("64:ff9b::10.0.0.1", Some("private")),
            ("2001:4860:4860::8888", None),
        ] {
            assert_eq!(sp(ip), want, "{ip}");
        }
    }

    #[test]
    fn mapped_and_nat64_addresses_become_ipv4() {
        let v4: IpAddr = "8.8.8.8".parse().unwrap();
        assert_eq!(canonical("::ffff:8.8.8.8".parse().unwrap()), v4);
        assert_eq!(canonical("64:ff9b::808:808".parse().unwrap()), v4);
        let v6: IpAddr = "2001:4860:4860::8888".parse().unwrap();
        assert_eq!(canonical(v6), v6);
    }
}
