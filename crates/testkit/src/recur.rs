//! A capture for the recurrence detector (`report::recurrence`): one random install UUID sent
//! to three unrelated parties under meaningless keys (a JSON value, a query parameter, a form
//! field), a 16-hex id to two of them, and the decoys that must stay silent: a session UUID sent
//! to two hosts of one party, request ids that change with every request, an asset digest in
//! URL paths of two CDNs, and a value sent to a host and to that host's bare address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::app::http;
use crate::{Conversation, Link, MS, PcapWriter};

/// The install id every party receives.
pub const SHARED_UUID: &str = "7d3f9a2c-41be-4f6a-9c1d-e85b02a7f4c3";
/// The hex id two parties receive (the Android ID's shape).
pub const SHARED_HEX16: &str = "c41e9b7a20d35f86";
/// The three parties, and the hosts receiving the shared UUID.
pub const PARTIES: [&str; 3] =
    ["events.tracker-one.example", "sdk.adnet-two.example", "api.third-party.example"];

const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 168, 9, 2);
const START_NS: i64 = 1_700_000_000_000_000_000;

/// The capture (classic pcap, Ethernet).
pub fn capture() -> Vec<u8> {
    let mut requests: Vec<(&str, u8, http::HttpRequest)> = Vec::new();
    let [one, two, three] = PARTIES;
    // The shared identifiers, under keys that say nothing.
    requests.push((
        one,
        1,
        http::HttpRequest::post(
            one,
            "/v1/batch",
            format!("{{\"e\":[{{\"n\":\"open\"}}],\"m\":{{\"v\":\"{SHARED_UUID}\"}},\"q\":\"{SHARED_HEX16}\"}}").into_bytes(),
        )
        .header("Content-Type", "application/json"),
    ));
    requests.push((two, 2, http::HttpRequest::get(two, &format!("/ad?u={SHARED_UUID}&s=320x50"))));
    requests.push((
        three,
        3,
        http::HttpRequest::post(
            three,
            "/c",
            format!("z={SHARED_UUID}&k={SHARED_HEX16}").into_bytes(),
        )
        .header("Content-Type", "application/x-www-form-urlencoded"),
    ));
    // Decoy: one session id to two hosts of one party.
    let session = "0b6e3f1a-92cd-4e57-8a04-5f71c9d2b6e8";
    for (h, ip) in [("a.onecompany.example", 4), ("b.onecompany.example", 5)] {
        requests.push((h, ip, http::HttpRequest::get(h, &format!("/s?sid={session}"))));
    }
    // Decoy: a request id that changes with every request, to all three parties.
    let request_ids = [
        "5c2b8e91-7f3a-4d06-b1e4-93a6d0c7f528",
        "e19f4c07-2a8d-4b53-9e6f-0d72b5a1c384",
        "3a7d6b20-c5e1-4f98-a2b3-71e0d9c4f65b",
    ];
    for ((h, ip), rid) in PARTIES.iter().zip(1u8..).zip(request_ids) {
        requests.push((h, ip, http::HttpRequest::get(h, &format!("/ping?rid={rid}"))));
    }
    // Decoy: one asset digest in the paths of two CDNs.
    let digest = "9e107d9d372bb6826bd81d3542a419d6";
    for (h, ip) in [("cdn.first-cdn.example", 6), ("img.second-cdn.example", 7)] {
        requests.push((h, ip, http::HttpRequest::get(h, &format!("/a/{digest}.png"))));
    }
    let link = Link::ethernet();
    let mut frames = Vec::new();
    for (i, (_, ip, req)) in requests.iter().enumerate() {
        let client = SocketAddr::new(IpAddr::V4(CLIENT), 31_000 + i as u16);
        let server = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, *ip)), 80);
        let mut c =
            Conversation::tcp(client, server).link(link.clone()).start_ns(START_NS + i as i64 * MS);
        c.handshake();
        c.client_sends(&req.to_bytes()).fin();
        frames.extend(c.frames());
    }
    // Decoy: a value sent to a named host and, raw, to the same server's address.
    let raw_value = "4f8e2d6c1b9a7350e4d2c6b8a1f3e5d7";
    let host = "telemetry.onecompany.example";
    let server = Ipv4Addr::new(198, 51, 100, 8);
    let req = http::HttpRequest::get(host, &format!("/t?h={raw_value}"));
    let mut c = Conversation::tcp(
        SocketAddr::new(IpAddr::V4(CLIENT), 32_000),
        SocketAddr::new(IpAddr::V4(server), 80),
    )
    .link(link.clone())
    .start_ns(START_NS + 50 * MS);
    c.handshake();
    c.client_sends(&req.to_bytes()).fin();
    frames.extend(c.frames());
    let mut raw = Conversation::tcp(
        SocketAddr::new(IpAddr::V4(CLIENT), 32_001),
        SocketAddr::new(IpAddr::V4(server), 7000),
    )
    .link(link.clone())
    .start_ns(START_NS + 51 * MS);
    raw.handshake();
    raw.client_sends(format!("HELLO {raw_value}\n").as_bytes()).fin();
    frames.extend(raw.frames());
    frames.sort_by_key(|(ts, _)| *ts);
    let mut w = PcapWriter::new(Vec::new(), link.link_type()).expect("writing to a Vec");
    w.write_frames(&frames).expect("writing to a Vec");
    w.finish().expect("writing to a Vec")
}
