use super::*;
use crate::finding::Party;
use crate::protection::Protection;
use crate::severity::{Exposure, PartyClass};

fn base(host: &str) -> Finding {
    Finding {
        protocol: "http",
        exposure: Exposure::Cleartext,
        ..Finding::at(
            host.into(),
            "192.0.2.1".into(),
            443,
            "http",
            Protection::CleartextHttp,
            Timestamp(0),
        )
    }
}

const SHOW: Show<'static> = Show { reveal: true, files: &[] };

fn pending(key: &str, t: i64, covered: bool) -> Pending {
    Pending {
        key: key.into(),
        shape: Shape::Uuid,
        value: key.into(),
        encoding: "plain".into(),
        where_: "http.query:x".into(),
        time: Timestamp(t),
        at: (0, 0, 0, 0),
        src: std::net::SocketAddr::from(([10, 0, 0, 2], 40000)),
        decrypted: false,
        covered,
    }
}

fn dest(host: &str, domain: &str, party: Option<&str>) -> Destination {
    Destination {
        host: host.into(),
        domain: domain.into(),
        party: party.map(|p| Party {
            name: p.into(),
            category: "analytics",
            country: None,
            source: "phonehome",
            matched: domain.into(),
            class: PartyClass::Third,
        }),
        ..Destination::default()
    }
}

#[test]
fn a_value_at_two_parties_is_an_identifier_at_each() {
    let mut t = Table::default();
    t.add(pending("v1", 5, false), &base("a.tracker-one.com"), &SHOW);
    t.add(pending("v1", 9, false), &base("a.tracker-one.com"), &SHOW);
    t.add(pending("v1", 7, false), &base("sdk.two.net"), &SHOW);
    t.add(pending("v1", 8, true), &base("third.example"), &SHOW);
    // One party only: a session id to one company's two hosts.
    t.add(pending("s1", 1, false), &base("x.one-co.com"), &SHOW);
    t.add(pending("s1", 2, false), &base("y.one-co.com"), &SHOW);
    // Seen once: a per-request id.
    t.add(pending("r1", 3, false), &base("a.tracker-one.com"), &SHOW);
    let r = t.into_recurring();
    assert_eq!(r.len(), 2, "values at one host are dropped");
    let dests = [
        dest("a.tracker-one.com", "tracker-one.com", Some("Tracker One (SDK)")),
        dest("sdk.two.net", "two.net", None),
        dest("third.example", "third.example", Some("Third")),
        dest("x.one-co.com", "one-co.com", Some("OneCo (Ads)")),
        dest("y.one-co.com", "one-co.com", Some("OneCo (Analytics)")),
    ];
    let found = resolve(r, &dests);
    // third.example was covered by another detector: no second finding there.
    let hosts: Vec<&str> = found.iter().map(|f| f.host.as_str()).collect();
    assert_eq!(hosts, ["a.tracker-one.com", "sdk.two.net"]);
    let a = &found[0];
    assert_eq!((a.count, a.first_seen, a.last_seen), (2, Timestamp(5), Timestamp(9)));
    assert_eq!(a.shared_with, ["Third", "two.net"]);
    assert_eq!(a.reason, "recurring:uuid");
    let Source::Heuristic { confidence } = a.source else { panic!() };
    assert_eq!(confidence, recur::confidence(Shape::Uuid, 3));
    assert_eq!(found[1].shared_with, ["Third", "Tracker One"]);
}

#[test]
fn limits_are_counted() {
    let mut t = Table::default();
    for h in 0..MAX_RECUR_HOSTS + 3 {
        t.add(pending("v", 1, false), &base(&format!("h{h}.example")), &SHOW);
    }
    assert_eq!(t.capped, 3);
    // Full: the least recently seen tenth of the values at one host is let go; `v`, at many
    // hosts, stays.
    for v in 0..MAX_RECUR_VALUES + 2 {
        t.add(
            pending(&format!("k{v}"), i64::try_from(v).unwrap(), false),
            &base("h.example"),
            &SHOW,
        );
    }
    assert_eq!(t.capped, 3 + MAX_RECUR_VALUES as u64 / 10);
    assert!(t.values.len() <= MAX_RECUR_VALUES);
    assert!(t.values.contains_key("v") && !t.values.contains_key("k0"));
    assert!(t.values.contains_key(&format!("k{}", MAX_RECUR_VALUES + 1)));
}

#[test]
fn unknown_hosts_are_grouped_by_domain() {
    assert_eq!(party_domain("example.co.uk"), "example.co.uk");
    assert_eq!(party_domain("a.onecompany.example"), "onecompany.example");
    assert_eq!(party_domain("198.51.100.7"), "198.51.100.7");
    assert_eq!(party_domain("localhost"), "localhost");
}

#[test]
fn addresses_count_by_network_and_local_ones_not_at_all() {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(network_party(ip("23.246.11.133")), network_party(ip("23.246.3.140")));
    assert_eq!(network_party(ip("23.246.11.133")).as_deref(), Some("23.246.0.0/16"));
    assert_eq!(network_party(ip("2001:db8:1:2::1")).as_deref(), Some("2001:db8::/32"));
    for local in ["192.168.1.2", "10.0.0.1", "127.0.0.1", "169.254.1.1", "fe80::1", "fd00::1"] {
        assert_eq!(network_party(ip(local)), None, "{local}");
    }
    // A value sent to a LAN box and one tracker is at one party only.
    let mut t = Table::default();
    t.add(pending("v", 1, false), &base("192.168.1.2"), &SHOW);
    t.add(pending("v", 2, false), &base("t.tracker.example"), &SHOW);
    let dests = [dest("t.tracker.example", "tracker.example", None)];
    assert!(resolve(t.into_recurring(), &dests).is_empty());
}
