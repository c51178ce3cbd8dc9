//! QUIC tests: RFC 9001 / RFC 9369 vectors (see `testkit::app::quic::vectors`), packets built with
//! [`seal_initial`] (checked against the RFC bytes first), and real captures against tshark.

use flow::Direction;

use super::crypto::{InitialKeys, decode_packet_number};
use super::packet::{VERSION_1, VERSION_2, version_info};
use super::{
    MAX_CONNS, MAX_CRYPTO_LEN, QuicParser, looks_like_initial, seal_client_initial, seal_initial,
};
use crate::{Anomalies, ClientHello, Event, QuicInitial};
use testkit::app::quic::vectors::{
    A2_CRYPTO_FRAME, A2_PAYLOAD_LEN, A2_PN, DCID, V1_PROTECTED, V2_PROTECTED,
};
use testkit::hex;

const DRAFT29: u32 = 0xff00_001d;

fn example_hello() -> ClientHello {
    ClientHello {
        sni: Some("example.com".into()),
        alpn: vec!["alpn".into()],
        versions: vec![0x0304],
    }
}

fn initial_event(version: u32, hello: ClientHello) -> Event {
    Event::QuicInitial(QuicInitial { version, hello })
}

/// RFC 9001 A.2 plaintext payload: the CRYPTO frame and PADDING up to 1162 bytes.
fn a2_payload() -> Vec<u8> {
    let mut p = hex(A2_CRYPTO_FRAME);
    p.resize(A2_PAYLOAD_LEN, 0);
    p
}

/// The ClientHello handshake message of RFC 9001 A.2.
fn a2_hello_msg() -> Vec<u8> {
    hex(A2_CRYPTO_FRAME)[4..].to_vec()
}

fn varint(v: u64) -> Vec<u8> {
    match v {
        0..0x40 => vec![v as u8],
        0x40..0x4000 => (0x4000 | v as u16).to_be_bytes().to_vec(),
        0x4000..0x4000_0000 => (0x8000_0000 | v as u32).to_be_bytes().to_vec(),
        _ => (0xc000_0000_0000_0000 | v).to_be_bytes().to_vec(),
    }
}

fn crypto_frame(offset: u64, data: &[u8]) -> Vec<u8> {
    [vec![0x06], varint(offset), varint(data.len() as u64), data.to_vec()].concat()
}

/// Pads a payload with PADDING to 1162 bytes, like a client filling a 1200-byte datagram.
fn padded(mut p: Vec<u8>) -> Vec<u8> {
    if p.len() < A2_PAYLOAD_LEN {
        p.resize(A2_PAYLOAD_LEN, 0);
    }
    p
}

fn feed(p: &mut QuicParser, dir: Direction, dgrams: &[Vec<u8>]) -> (Vec<Event>, Anomalies) {
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    for d in dgrams {
        p.datagram(dir, d, &mut out, &mut an);
    }
    (out, an)
}

fn run(dgrams: &[Vec<u8>]) -> (Vec<Event>, Anomalies) {
    feed(&mut QuicParser::new(), Direction::ToServer, dgrams)
}

fn undecryptable(n: u64) -> Anomalies {
    Anomalies { quic_undecryptable: n, ..Anomalies::default() }
}

#[test]
fn seal_reproduces_rfc_vectors() {
    let dcid = DCID;
    let v1 = seal_client_initial(VERSION_1, &dcid, A2_PN, 4, &a2_payload()).unwrap();
    assert_eq!(v1, hex(V1_PROTECTED), "RFC 9001 A.2");
    let v2 = seal_client_initial(VERSION_2, &dcid, A2_PN, 4, &a2_payload()).unwrap();
    assert_eq!(v2, hex(V2_PROTECTED), "RFC 9369 A.2");
}

#[test]
fn open_recovers_rfc_plaintext() {
    for (version, packet) in [(VERSION_1, V1_PROTECTED), (VERSION_2, V2_PROTECTED)] {
        let keys = InitialKeys::client(version_info(version).unwrap(), &DCID).unwrap();
        let mut buf = Vec::new();
        // Header: first byte, version, DCID (1 + 8), SCID length, token length, Length (2).
        let (pn, range) = keys.open(&hex(packet), 18, None, &mut buf).unwrap();
        assert_eq!(pn, 2);
        assert_eq!(&buf[range], &a2_payload()[..]);
        let header = if version == VERSION_1 {
            "c300000001088394c8f03e5157080000449e00000002" // RFC 9001 A.2 unprotected header
        } else {
            "d36b3343cf088394c8f03e5157080000449e00000002" // RFC 9369 A.2 unprotected header
        };
        assert_eq!(&buf[..22], &hex(header)[..]);
    }
}

#[test]
fn rfc_vectors_give_the_client_hello() {
    let (ev, an) = run(&[hex(V1_PROTECTED)]);
    assert_eq!(ev, [initial_event(VERSION_1, example_hello())]);
    assert_eq!(an, Anomalies::default());
    let (ev, an) = run(&[hex(V2_PROTECTED)]);
    assert_eq!(ev, [initial_event(VERSION_2, example_hello())]);
    assert_eq!(an, Anomalies::default());
}

#[test]
fn draft29_is_decrypted() {
    let pkt = seal_client_initial(DRAFT29, &[7; 8], 0, 1, &a2_payload()).unwrap();
    assert!(looks_like_initial(&pkt));
    let (ev, an) = run(&[pkt]);
    assert_eq!(ev, [initial_event(DRAFT29, example_hello())]);
    assert_eq!(an, Anomalies::default());
}

#[test]
fn looks_like_initial_checks_the_header() {
    let v1 = hex(V1_PROTECTED);
    let v2 = hex(V2_PROTECTED);
    assert!(looks_like_initial(&v1));
    assert!(looks_like_initial(&v2));
    assert!(looks_like_initial(&v1[..30]), "cut by the snap length");
    let mut greased = v1.clone();
    greased[0] &= !0x40; // fixed bit greased (RFC 9287)
    assert!(looks_like_initial(&greased));
    let mut handshake = v1.clone();
    handshake[0] |= 0x20; // v1 type 2: Handshake
    assert!(!looks_like_initial(&handshake));
    let mut v2_retry = v2.clone();
    v2_retry[0] &= !0x30; // v2 type bits 00: Retry
    assert!(!looks_like_initial(&v2_retry));
    let mut v1_as_v2 = v1.clone();
    v1_as_v2[1..5].copy_from_slice(&VERSION_2.to_be_bytes()); // v1 type bits 00 under v2: Retry
    assert!(!looks_like_initial(&v1_as_v2));
    let mut unknown = v1.clone();
    unknown[4] = 9;
    assert!(!looks_like_initial(&unknown));
    let mut long_cid = v1.clone();
    long_cid[5] = 21;
    assert!(!looks_like_initial(&long_cid));
    let mut short = v1.clone();
    short[0] &= 0x7f;
    assert!(!looks_like_initial(&short));
    assert!(!looks_like_initial(&[]));
    assert!(!looks_like_initial(&v1[..7]));
    assert!(
        !looks_like_initial(&[0xc0, 0, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x41]),
        "version negotiation"
    );
}

#[test]
fn packet_number_decoding_rfc9000_a3() {
    // RFC 9000 Appendix A.3 example.
    assert_eq!(decode_packet_number(Some(0xa82f_30ea), 0x9b32, 16), 0xa82f_9b32);
    assert_eq!(decode_packet_number(None, 2, 32), 2);
    assert_eq!(decode_packet_number(Some(255), 1, 8), 257);
    // Out-of-range input (packet numbers stop at 2^62): no overflow panic.
    let _ = decode_packet_number(Some(u64::MAX), 0, 8);
}

#[test]
fn coalesced_packets_are_walked() {
    let msg = a2_hello_msg();
    let dcid = [0x42; 8];
    // One datagram: Initial (first half of the hello), Initial (second half), a 0-RTT packet.
    let a = seal_client_initial(VERSION_1, &dcid, 0, 2, &crypto_frame(0, &msg[..100])).unwrap();
    let b = seal_client_initial(VERSION_1, &dcid, 1, 2, &crypto_frame(100, &msg[100..])).unwrap();
    let mut zero_rtt = vec![0xd1, 0, 0, 0, 1, 8];
    zero_rtt.extend_from_slice(&dcid);
    zero_rtt.extend_from_slice(&[0, 0x40, 30]);
    zero_rtt.extend_from_slice(&[0xaa; 30]);
    let (ev, an) = run(&[[a, b, zero_rtt].concat()]);
    assert_eq!(ev, [initial_event(VERSION_1, example_hello())]);
    assert_eq!(an, Anomalies::default());
}

#[test]
fn crypto_out_of_order_across_datagrams() {
    let msg = a2_hello_msg();
    let dcid = [0x43; 8];
    let pkt = |pn, frames: Vec<u8>| {
        seal_client_initial(VERSION_1, &dcid, pn, 1, &padded(frames)).unwrap()
    };
    // Three Initials: the tail first, then an overlapping middle with a duplicate, then the head.
    let d1 = pkt(0, crypto_frame(150, &msg[150..]));
    let d2 = pkt(1, [crypto_frame(60, &msg[60..160]), crypto_frame(150, &[0xff; 20])].concat());
    let d3 = pkt(2, crypto_frame(0, &msg[..70]));
    let mut p = QuicParser::new();
    let (ev, an) = feed(&mut p, Direction::ToServer, &[d1, d2]);
    assert!(ev.is_empty());
    assert_eq!(an, Anomalies::default());
    let (ev, an) = feed(&mut p, Direction::ToServer, &[d3.clone(), d3]);
    assert_eq!(ev, [initial_event(VERSION_1, example_hello())]);
    assert_eq!(an, Anomalies::default());
}

#[test]
fn crypto_frames_out_of_order_in_one_packet_with_ack_ping_close() {
    let msg = a2_hello_msg();
    // ACK with two extra ranges, ACK_ECN, PING, CRYPTO pieces reversed, application
    // CONNECTION_CLOSE with a reason, transport CONNECTION_CLOSE.
    let frames = [
        vec![0x02, 0x0a, 0x00, 0x02, 0x01, 0x00, 0x01, 0x01, 0x00],
        vec![0x03, 0x05, 0x40, 0x10, 0x00, 0x01, 0x01, 0x02, 0x03],
        vec![0x01],
        crypto_frame(200, &msg[200..]),
        crypto_frame(0, &msg[..100]),
        crypto_frame(100, &msg[100..200]),
        vec![0x1d, 0x00, 0x02, b'h', b'i'],
        vec![0x1c, 0x00, 0x06, 0x00],
    ]
    .concat();
    let pkt = seal_client_initial(VERSION_2, &[1; 20], 5, 4, &padded(frames)).unwrap();
    let (ev, an) = run(&[pkt]);
    assert_eq!(ev, [initial_event(VERSION_2, example_hello())]);
    assert_eq!(an, Anomalies::default());
}

#[test]
fn unknown_frame_ends_the_walk_quietly() {
    let msg = a2_hello_msg();
    let frames =
        [crypto_frame(0, &msg[..50]), vec![0x08, 0x00], crypto_frame(50, &msg[50..])].concat();
    let pkt = seal_client_initial(VERSION_1, &[3; 8], 0, 1, &padded(frames)).unwrap();
    let (ev, an) = run(&[pkt]);
    assert!(ev.is_empty());
    assert_eq!(an, Anomalies::default());
}

#[test]
fn one_event_per_connection_and_new_keys_after_retry() {
    let payload = a2_payload();
    let first = seal_client_initial(VERSION_1, &[0x11; 8], 0, 1, &payload).unwrap();
    // The client's next Initial to the server-chosen DCID, still under the original keys.
    let follow =
        seal_initial(VERSION_1, &[0x11; 8], &[0x99; 5], 1, 1, &padded(vec![0x01])).unwrap();
    // After a Retry: a new DCID, new keys, the ClientHello again.
    let retried = seal_client_initial(VERSION_1, &[0x22; 16], 0, 1, &payload).unwrap();
    let mut p = QuicParser::new();
    let (ev, an) =
        feed(&mut p, Direction::ToServer, &[first.clone(), first.clone(), follow.clone(), follow]);
    assert_eq!(ev, [initial_event(VERSION_1, example_hello())]);
    assert_eq!(an, Anomalies::default());
    assert_eq!(p.conns.len(), 1);
    assert_eq!(p.conns[0].dcids.len(), 2, "server-chosen DCID remembered");
    let (ev, an) = feed(&mut p, Direction::ToServer, &[retried.clone(), retried, first]);
    assert_eq!(ev, [initial_event(VERSION_1, example_hello())]);
    assert_eq!(an, Anomalies::default());
    assert_eq!(p.conns.len(), 2);
}

#[test]
fn hello_split_over_dcid_change_uses_original_keys() {
    // First half under the original DCID, second half sent to the server-chosen DCID.
    let msg = a2_hello_msg();
    let a = seal_client_initial(VERSION_1, &[0x31; 8], 0, 1, &padded(crypto_frame(0, &msg[..120])))
        .unwrap();
    let b = seal_initial(
        VERSION_1,
        &[0x31; 8],
        &[0x77; 8],
        1,
        1,
        &padded(crypto_frame(120, &msg[120..])),
    )
    .unwrap();
    let (ev, an) = run(&[a, b]);
    assert_eq!(ev, [initial_event(VERSION_1, example_hello())]);
    assert_eq!(an, Anomalies::default());
}

#[test]
fn connections_per_flow_are_bounded() {
    let mut p = QuicParser::new();
    let mut pkts = Vec::new();
    for i in 0..(MAX_CONNS as u8 + 3) {
        pkts.push(
            seal_client_initial(VERSION_1, &[i; 8], 0, 1, &padded(crypto_frame(0, &[1, 0])))
                .unwrap(),
        );
    }
    let (ev, an) = feed(&mut p, Direction::ToServer, &pkts);
    assert!(ev.is_empty());
    assert_eq!(an, Anomalies::default());
    assert_eq!(p.conns.len(), MAX_CONNS);
}

#[test]
fn undecryptable_and_malformed_are_counted() {
    let good = hex(V1_PROTECTED);
    // Flipped ciphertext byte: AEAD failure.
    let mut bad = good.clone();
    bad[600] ^= 1;
    assert_eq!(run(&[bad]), (vec![], undecryptable(1)));
    // Length past the end of the datagram (truncated capture).
    assert_eq!(run(&[good[..1000].to_vec()]), (vec![], undecryptable(1)));
    // Malformed header of an Initial: token length past the end.
    assert_eq!(run(&[vec![0xc0, 0, 0, 0, 1, 0, 0, 0x50]]), (vec![], undecryptable(1)));
    // Too short to sample.
    let mut tiny = good[..18].to_vec();
    tiny[16..18].copy_from_slice(&[0x40, 0x05]);
    tiny.extend_from_slice(&[0; 5]);
    assert_eq!(run(&[tiny]), (vec![], undecryptable(1)));
    // Decrypts, but a CRYPTO frame runs past the payload.
    let pkt =
        seal_client_initial(VERSION_1, &[5; 8], 0, 1, &[0x06, 0x00, 0x44, 0x00, 1, 2, 3]).unwrap();
    assert_eq!(run(&[pkt]), (vec![], undecryptable(1)));
    // Decrypts, but the CRYPTO stream holds a ServerHello, not a ClientHello.
    let pkt =
        seal_client_initial(VERSION_1, &[6; 8], 0, 1, &padded(crypto_frame(0, &[2, 0, 0, 1, 0])))
            .unwrap();
    assert_eq!(run(&[pkt.clone(), pkt]), (vec![], undecryptable(1)));
    // A complete but malformed ClientHello.
    let pkt = seal_client_initial(
        VERSION_1,
        &[7; 8],
        0,
        1,
        &padded(crypto_frame(0, &[1, 0, 0, 2, 3, 3])),
    )
    .unwrap();
    assert_eq!(run(&[pkt]), (vec![], undecryptable(1)));
    // CRYPTO data beyond the buffer limit: counted once per connection.
    let far = crypto_frame(MAX_CRYPTO_LEN as u64, &[0; 10]);
    let a = seal_client_initial(VERSION_1, &[8; 8], 0, 1, &padded(far.clone())).unwrap();
    let b = seal_client_initial(VERSION_1, &[8; 8], 1, 1, &padded(far)).unwrap();
    assert_eq!(run(&[a, b]), (vec![], undecryptable(1)));
    // ClientHello claiming more than the limit.
    let huge = crypto_frame(0, &[1, 0x01, 0x00, 0x00]);
    let pkt = seal_client_initial(VERSION_1, &[9; 8], 0, 1, &padded(huge)).unwrap();
    assert_eq!(run(&[pkt]), (vec![], undecryptable(1)));
}

#[test]
fn every_truncation_and_corruption_is_safe() {
    let good = hex(V2_PROTECTED);
    let mut p = QuicParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    for n in 0..good.len() {
        p.datagram(Direction::ToServer, &good[..n], &mut out, &mut an);
    }
    for i in 0..64 {
        let mut bad = good.clone();
        bad[i] ^= 0x55;
        p.datagram(Direction::ToServer, &bad, &mut out, &mut an);
    }
    assert!(out.is_empty());
    p.datagram(Direction::ToServer, &good, &mut out, &mut an);
    assert_eq!(out, [initial_event(VERSION_2, example_hello())]);
}

#[test]
fn direction_handling() {
    let pkt = hex(V1_PROTECTED);
    // The client side is fixed by the first decryption; the other side is then ignored.
    let mut p = QuicParser::new();
    let (ev, an) = feed(&mut p, Direction::ToServer, std::slice::from_ref(&pkt));
    assert_eq!(ev.len(), 1);
    assert_eq!(an, Anomalies::default());
    let mut junk = pkt.clone();
    junk[100] ^= 1;
    assert_eq!(feed(&mut p, Direction::ToClient, &[junk.clone()]), (vec![], Anomalies::default()));
    // Flow stage guessed the client wrong: the Initial arrives as server-to-client. Failures on
    // that side (a server Initial) are not counted while the client side is unknown.
    let mut p = QuicParser::new();
    assert_eq!(feed(&mut p, Direction::ToClient, &[junk]), (vec![], Anomalies::default()));
    let (ev, an) = feed(&mut p, Direction::ToClient, std::slice::from_ref(&pkt));
    assert_eq!(ev, [initial_event(VERSION_1, example_hello())]);
    assert_eq!(an, Anomalies::default());
    assert_eq!(feed(&mut p, Direction::ToServer, &[pkt]), (vec![], Anomalies::default()));
}

#[test]
fn short_headers_and_other_traffic_are_ignored() {
    let mut p = QuicParser::new();
    let (ev, an) = feed(
        &mut p,
        Direction::ToServer,
        &[vec![0x40; 1200], vec![], vec![0xc0, 0, 0, 0, 0, 1, 2]],
    );
    assert!(ev.is_empty());
    assert_eq!(an, Anomalies::default());
    assert!(p.conns.is_empty());
}

/// Real captures: QUIC SNIs must match tshark's `quic_sni` reference.
#[test]
fn real_captures_quic_sni_match_tshark() {
    use super::testpcap::{corpus, quic_events, read, reference};
    use std::collections::BTreeSet;
    let Some(root) = corpus() else { return };
    let (mut checked, mut mismatched, mut total) = (Vec::new(), Vec::new(), Anomalies::default());
    for path in crate::tls::tests::walk(&root) {
        let want: BTreeSet<String> = reference(&path, "quic_sni").into_iter().collect();
        if want.is_empty() {
            continue;
        }
        let mut an = Anomalies::default();
        let events = quic_events(&read(&path), &mut an);
        total += &an;
        let got: BTreeSet<String> = events
            .iter()
            .filter_map(|e| match e {
                Event::QuicInitial(q) => q.hello.sni.clone(),
                _ => None,
            })
            .collect();
        let versions: BTreeSet<u32> = events
            .iter()
            .filter_map(|e| match e {
                Event::QuicInitial(q) => Some(q.version),
                _ => None,
            })
            .collect();
        let name = path.strip_prefix(&root).unwrap_or(&path).display().to_string();
        if got == want {
            checked.push(format!("{name} {versions:x?} {} undecryptable", an.quic_undecryptable));
        } else {
            mismatched.push(format!("{name}: missing {:?} extra {:?}", &want - &got, &got - &want));
        }
    }
    eprintln!("QUIC captures matching tshark: {}", checked.len());
    for c in &checked {
        eprintln!("  ok {c}");
    }
    for m in &mismatched {
        eprintln!("  DIFF {m}");
    }
    eprintln!("total {total:?}");
    assert!(mismatched.is_empty(), "{mismatched:#?}");
    assert!(checked.len() >= 35, "{checked:#?}");
    assert_eq!(total, Anomalies::default(), "no undecryptable Initial in the corpus");
}

#[test]
fn random_frames_in_valid_packets_never_panic() {
    use testkit::rng::xorshift64 as xorshift;
    let msg = a2_hello_msg();
    let mut seed = 0x2545_f491_4f6c_dd1d;
    for round in 0..500u32 {
        let mut p = QuicParser::new();
        let (mut out, mut an) = (Vec::new(), Anomalies::default());
        for pn in 0..3 {
            // A mix of real frame starts and random bytes.
            let mut frames = Vec::new();
            while frames.len() < 60 {
                match xorshift(&mut seed) % 5 {
                    0 => frames.extend(crypto_frame(
                        xorshift(&mut seed) % 300,
                        &msg[..(xorshift(&mut seed) % 40) as usize],
                    )),
                    1 => frames.extend_from_slice(&[
                        0x02,
                        0x05,
                        0x00,
                        (xorshift(&mut seed) % 70) as u8,
                    ]),
                    2 => frames.push(0),
                    _ => frames.push(xorshift(&mut seed) as u8),
                }
            }
            let pkt = seal_client_initial(VERSION_1, &round.to_be_bytes(), pn, 2, &frames).unwrap();
            p.datagram(Direction::ToServer, &pkt, &mut out, &mut an);
        }
        assert!(out.len() <= 1);
    }
}

/// QUIC v1 and v2 connections carrying HTTP/3 (testkit's packets: 1-RTT with a client key
/// update, out-of-order packets), opened with their key log through the session.
#[test]
fn quic_v1_and_v2_one_rtt_with_key_update_give_http3_requests() {
    use testkit::app::{h3, quic::QuicVersion};
    let flow = crate::session::test_util::flow_info(
        flow::Transport::Udp,
        "10.0.0.2:40000".parse().unwrap(),
        "10.0.0.1:443".parse().unwrap(),
    );
    for v in [QuicVersion::V1, QuicVersion::V2] {
        let reqs: Vec<Vec<u8>> = (0..3)
            .map(|i| {
                h3::request(
                    "POST",
                    "q.example",
                    &format!("/r{i}"),
                    &[("x-imei", "490154203237518")],
                    b"{}",
                )
            })
            .collect();
        let q = h3::connection_version(v, "q.example", &reqs, true, 3);
        let mut keys = crate::KeyLog::new();
        keys.read(q.keylog.as_bytes());
        let mut s = crate::Session::new(&flow);
        let (mut out, mut an) = (Vec::new(), crate::Anomalies::default());
        for (client, d) in &q.datagrams {
            let dir = if *client { Direction::ToServer } else { Direction::ToClient };
            s.data_keyed(&flow, dir, flow::Chunk::Datagram(d), &mut keys, &mut out, &mut an);
        }
        s.finish(&mut out, &mut an);
        let uris: Vec<String> = out
            .iter()
            .filter_map(|e| match e {
                Event::HttpRequest(r) => Some(r.uri.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(uris, vec!["/r0", "/r1", "/r2"], "{v:?}: {an:?}");
        assert_eq!(s.decryption(), Some(crate::Decryption::Decrypted), "{v:?}");
        // Without the secrets: the Initial is read (SNI), nothing else.
        let mut s = crate::Session::new(&flow);
        let mut out = Vec::new();
        for (client, d) in &q.datagrams {
            let dir = if *client { Direction::ToServer } else { Direction::ToClient };
            s.data_keyed(
                &flow,
                dir,
                flow::Chunk::Datagram(d),
                &mut crate::KeyLog::new(),
                &mut out,
                &mut an,
            );
        }
        assert!(out.iter().all(|e| matches!(e, Event::QuicInitial(_))), "{v:?}");
    }
}

/// Runs a testkit QUIC connection through a parser with `keylog`: the events and the parser.
fn run_quic(q: &testkit::app::h3::H3Connection, keylog: &str) -> (Vec<Event>, QuicParser) {
    let mut keys = crate::KeyLog::new();
    keys.read(keylog.as_bytes());
    let mut p = QuicParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    for (client, d) in &q.datagrams {
        let dir = if *client { Direction::ToServer } else { Direction::ToClient };
        p.datagram(dir, d, &mut out, &mut an);
        p.decrypt(dir, d, &keys, &mut out, &mut an);
    }
    p.finish(&mut out, &mut an);
    assert_eq!(an.quic_undecryptable, 0, "{an:?}");
    (out, p)
}

fn request_uris(out: &[Event]) -> Vec<String> {
    out.iter()
        .filter_map(|e| match e {
            Event::HttpRequest(r) => Some(r.uri.clone()),
            _ => None,
        })
        .collect()
}

/// The raw bytes of each (stream, direction) that went out as `DecryptedStream`, checking that
/// they come in order.
fn raw_streams(out: &[Event]) -> std::collections::BTreeMap<(u64, usize), Vec<u8>> {
    let mut got = std::collections::BTreeMap::<(u64, usize), Vec<u8>>::new();
    for e in out {
        if let Event::DecryptedStream { dir, stream, chunk } = e {
            let id = stream.expect("a QUIC stream id");
            if let crate::PlainChunk::Data { offset, data } = chunk {
                let s = got.entry((id, dir.index())).or_default();
                assert_eq!(*offset, s.len() as u64, "stream {id}: in order");
                s.extend_from_slice(data);
            }
        }
    }
    got
}

/// Handshake packets (v1, v2): the server's flight in two CRYPTO frames, second half first and
/// coalesced after its Initial, is put back together and its EncryptedExtensions read; the ALPN
/// it chose decides how the streams are read.
#[test]
fn handshake_crypto_is_reassembled_and_the_servers_alpn_decides() {
    use testkit::app::{h3, quic::QuicVersion};
    let req = h3::request("POST", "q.example", "/r", &[("x-imei", "490154203237518")], b"{}");
    let raw = b"\x10\x20\x00\x04MQTTimei=490154203237518".to_vec();
    for v in [QuicVersion::V1, QuicVersion::V2] {
        // HTTP/3 chosen: requests, and the ALPN read from EncryptedExtensions.
        let opts = h3::QuicOptions {
            version: v,
            seed: 9,
            offer: &["h3"],
            handshake_alpn: Some("h3"),
            ..h3::QuicOptions::default()
        };
        let q = h3::connection_with("q.example", std::slice::from_ref(&req), &opts);
        let (out, p) = run_quic(&q, &q.keylog);
        assert_eq!(request_uris(&out), vec!["/r"], "{v:?}");
        assert_eq!(p.server_alpn(), Some("h3"), "{v:?}");

        // The client offered h3 first, the server chose another protocol: raw streams, in both
        // directions, with their stream ids.
        let opts =
            h3::QuicOptions { offer: &["h3", "vpush"], handshake_alpn: Some("vpush"), ..opts };
        let q = h3::connection_with("push.example", &[raw.clone(), raw.clone()], &opts);
        let (out, p) = run_quic(&q, &q.keylog);
        assert_eq!(p.server_alpn(), Some("vpush"), "{v:?}");
        assert!(request_uris(&out).is_empty(), "{v:?}");
        let got = raw_streams(&out);
        assert_eq!(got.get(&(0, 0)), Some(&raw), "{v:?}: stream 0, client");
        assert_eq!(got.get(&(4, 0)), Some(&raw), "{v:?}: stream 4, client");
        assert_eq!(got.get(&(4, 1)).map(Vec::as_slice), Some(&b"OK\n"[..]), "{v:?}: server");
        let ends = out
            .iter()
            .filter(|e| matches!(e, Event::DecryptedStream { chunk: crate::PlainChunk::End, .. }))
            .count();
        assert_eq!(ends, 4, "{v:?}: every stream ends");

        // Without the handshake secrets the server's choice is unknown: the client's offer
        // (HTTP/3) decides, and the raw bytes are not HTTP/3.
        let app_only: String = q
            .keylog
            .lines()
            .filter(|l| !l.contains("HANDSHAKE"))
            .map(|l| format!("{l}\n"))
            .collect();
        let (out, p) = run_quic(&q, &app_only);
        assert_eq!(p.server_alpn(), None, "{v:?}");
        assert!(raw_streams(&out).is_empty(), "{v:?}");
    }
}

/// A Handshake packet lost from the capture leaves a hole before the EncryptedExtensions: the
/// ALPN stays unknown (nothing is read past a gap), the rest still decrypts.
#[test]
fn handshake_crypto_gap_is_not_read_across() {
    use testkit::app::h3;
    let opts = h3::QuicOptions {
        seed: 4,
        offer: &["vpush"],
        handshake_alpn: Some("vpush"),
        ..h3::QuicOptions::default()
    };
    let raw = b"imei=490154203237518".to_vec();
    let mut q = h3::connection_with("push.example", std::slice::from_ref(&raw), &opts);
    // Datagram 2 is the server's Handshake packet with the first half of its flight.
    q.datagrams.remove(2);
    let (out, p) = run_quic(&q, &q.keylog);
    assert_eq!(p.server_alpn(), None);
    assert_eq!(p.decryption(), Some(crate::Decryption::Decrypted));
    // The client offered only vpush: raw streams.
    assert_eq!(raw_streams(&out).get(&(0, 0)), Some(&raw));
}
