//! TLS parser tests. Byte literals come from RFC 9001 Appendix A (a real ClientHello and
//! ServerHello); the other hellos are built field by field after RFC 8446 §4.1.2/§4.1.3 by the
//! helpers below.

use flow::{Chunk, Direction};

use super::{MAX_HANDSHAKE_LEN, MAX_RECORD_LEN, TlsParser, null, parse_client_hello};
use crate::{Anomalies, ClientHello, Event, ServerHello};
use testkit::app::quic::vectors::{A2_CRYPTO_FRAME, A3_SERVER_HELLO};
use testkit::hex;
use testkit::rng::xorshift64 as xorshift;

const TLS12: u16 = 0x0303;
const TLS13: u16 = 0x0304;

/// The ClientHello handshake message of RFC 9001 A.2 (the CRYPTO frame minus its 4-byte header).
fn rfc9001_client_hello() -> Vec<u8> {
    hex(A2_CRYPTO_FRAME)[4..].to_vec()
}

fn u16be(v: usize) -> [u8; 2] {
    u16::try_from(v).unwrap().to_be_bytes()
}

pub(crate) fn ext(typ: u16, data: &[u8]) -> Vec<u8> {
    let mut v = typ.to_be_bytes().to_vec();
    v.extend_from_slice(&u16be(data.len()));
    v.extend_from_slice(data);
    v
}

pub(crate) fn sni_ext(name: &[u8]) -> Vec<u8> {
    let mut entry = vec![0];
    entry.extend_from_slice(&u16be(name.len()));
    entry.extend_from_slice(name);
    let mut list = u16be(entry.len()).to_vec();
    list.extend(entry);
    ext(0, &list)
}

pub(crate) fn alpn_ext(names: &[&[u8]]) -> Vec<u8> {
    let mut entries = Vec::new();
    for n in names {
        entries.push(u8::try_from(n.len()).unwrap());
        entries.extend_from_slice(n);
    }
    let mut list = u16be(entries.len()).to_vec();
    list.extend(entries);
    ext(16, &list)
}

pub(crate) fn versions_ext(vs: &[u16]) -> Vec<u8> {
    let mut list = vec![u8::try_from(vs.len() * 2).unwrap()];
    for v in vs {
        list.extend_from_slice(&v.to_be_bytes());
    }
    ext(43, &list)
}

/// A ClientHello body: legacy version, random, 32-byte session id, two suites, null
/// compression, then the extensions block if `exts` is given.
pub(crate) fn client_hello_body(legacy: u16, exts: Option<&[Vec<u8>]>) -> Vec<u8> {
    let mut b = legacy.to_be_bytes().to_vec();
    b.extend_from_slice(&[0x11; 32]);
    b.push(32);
    b.extend_from_slice(&[0x22; 32]);
    b.extend_from_slice(&[0x00, 0x04, 0x13, 0x01, 0x13, 0x02, 0x01, 0x00]);
    if let Some(exts) = exts {
        let all: Vec<u8> = exts.concat();
        b.extend_from_slice(&u16be(all.len()));
        b.extend(all);
    }
    b
}

/// A ServerHello body with the given random and extensions.
fn server_hello_body(legacy: u16, random: [u8; 32], exts: &[Vec<u8>]) -> Vec<u8> {
    let mut b = legacy.to_be_bytes().to_vec();
    b.extend_from_slice(&random);
    b.extend_from_slice(&[0x00, 0x13, 0x01, 0x00]); // empty session id, suite, compression
    let all: Vec<u8> = exts.concat();
    b.extend_from_slice(&u16be(all.len()));
    b.extend(all);
    b
}

/// A handshake message: type, 24-bit length, body.
pub(crate) fn handshake(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![typ];
    v.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes()[1..]);
    v.extend_from_slice(body);
    v
}

/// `payload` as records of `typ`, each at most `frag` bytes.
pub(crate) fn records(typ: u8, payload: &[u8], frag: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for part in payload.chunks(frag) {
        v.extend_from_slice(&[typ, 0x03, 0x01]);
        v.extend_from_slice(&u16be(part.len()));
        v.extend_from_slice(part);
    }
    v
}

use super::hello::HRR_RANDOM;

/// Feeds `chunks` of one direction; returns events and anomalies.
fn run(dir: Direction, chunks: &[&[u8]]) -> (Vec<Event>, Anomalies) {
    let mut p = TlsParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    let mut offset = 0u64;
    for c in chunks {
        p.data(dir, Chunk::Data { offset, bytes: c }, &mut out, &mut an);
        offset += c.len() as u64;
    }
    (out, an)
}

fn example_hello() -> ClientHello {
    ClientHello {
        sni: Some("example.com".into()),
        alpn: vec!["alpn".into()],
        versions: vec![TLS13],
    }
}

#[test]
fn parses_rfc9001_client_hello() {
    let msg = rfc9001_client_hello();
    assert_eq!(msg[0], 1);
    assert_eq!(parse_client_hello(&msg[4..]), Some(example_hello()));
}

#[test]
fn sni_alpn_versions_and_grease() {
    let body = client_hello_body(
        TLS12,
        Some(&[
            ext(0x0a0a, &[]), // GREASE extension
            sni_ext(b"WWW.Example.COM."),
            alpn_ext(&[b"h2", b"http/1.1"]),
            versions_ext(&[0x3a3a, TLS13, TLS12]),
            ext(0xfe0d, &[1, 2, 3]), // ECH outer: ignored
            ext(0x1a1a, &[0]),
        ]),
    );
    let h = parse_client_hello(&body).unwrap();
    assert_eq!(h.sni.as_deref(), Some("www.example.com"));
    assert_eq!(h.alpn, ["h2", "http/1.1"]);
    assert_eq!(h.versions, [TLS13, TLS12]);
}

#[test]
fn legacy_version_without_extensions_or_supported_versions() {
    let h = parse_client_hello(&client_hello_body(0x0301, None)).unwrap();
    assert_eq!(h, ClientHello { sni: None, alpn: vec![], versions: vec![0x0301] });
    let h = parse_client_hello(&client_hello_body(TLS12, Some(&[sni_ext(b"a.b")]))).unwrap();
    assert_eq!(h.versions, [TLS12]);
    // Only GREASE in supported_versions: fall back to the legacy version.
    let h =
        parse_client_hello(&client_hello_body(TLS12, Some(&[versions_ext(&[0xfafa])]))).unwrap();
    assert_eq!(h.versions, [TLS12]);
}

#[test]
fn odd_names_are_escaped_and_first_host_name_wins() {
    let h =
        parse_client_hello(&client_hello_body(TLS12, Some(&[sni_ext(b"A\\b c\xff.")]))).unwrap();
    assert_eq!(h.sni.as_deref(), Some("a\\092b\\032c\\255"));
    assert_eq!(
        parse_client_hello(&client_hello_body(TLS12, Some(&[sni_ext(b".")]))).unwrap().sni,
        None
    );
    // Two server_name extensions: the first counts.
    let body = client_hello_body(TLS12, Some(&[sni_ext(b"one.example"), sni_ext(b"two.example")]));
    assert_eq!(parse_client_hello(&body).unwrap().sni.as_deref(), Some("one.example"));
    // An unknown name type before the host_name is skipped.
    let list = [&[0, 10, 7, 0, 1, b'x', 0, 0, 3][..], b"a.b"].concat();
    let body = client_hello_body(TLS12, Some(&[ext(0, &list)]));
    assert_eq!(parse_client_hello(&body).unwrap().sni.as_deref(), Some("a.b"));
}

#[test]
fn malformed_hellos_are_rejected() {
    let good = client_hello_body(TLS12, Some(&[sni_ext(b"example.com"), alpn_ext(&[b"h2"])]));
    assert!(parse_client_hello(&good).is_some());
    // Every truncation fails, except right before the extensions block (a hello without
    // extensions is valid).
    let no_ext = client_hello_body(TLS12, None).len();
    for n in 0..good.len() {
        assert_eq!(parse_client_hello(&good[..n]).is_some(), n == no_ext, "truncated at {n}");
    }
    // Trailing byte after the extensions.
    let mut bad = good.clone();
    bad.push(0);
    assert_eq!(parse_client_hello(&bad), None);
    // SNI list length larger than the extension.
    let bad_sni = ext(0, &[0x00, 0x20, 0x00, 0x00, 0x01, b'a']);
    assert_eq!(parse_client_hello(&client_hello_body(TLS12, Some(&[bad_sni]))), None);
    // Extension length past the block.
    let mut bad = client_hello_body(TLS12, Some(&[ext(5, &[1, 2, 3])]));
    let n = bad.len();
    bad[n - 4] = 0x09;
    assert_eq!(parse_client_hello(&bad), None);
    // supported_versions with an odd list length; ALPN with a name past its list.
    assert_eq!(
        parse_client_hello(&client_hello_body(TLS12, Some(&[ext(43, &[3, 3, 4, 3])]))),
        None
    );
    assert_eq!(
        parse_client_hello(&client_hello_body(TLS12, Some(&[ext(16, &[0, 2, 5, b'h'])]))),
        None
    );
    // Session id over 32 bytes, no cipher suites.
    let mut b = client_hello_body(TLS12, None);
    b[34] = 33;
    assert_eq!(parse_client_hello(&b), None);
    let b = [&TLS12.to_be_bytes()[..], &[0; 32], &[0, 0, 0, 1, 0]].concat();
    assert_eq!(parse_client_hello(&b), None);
}

#[test]
fn client_hello_in_one_record() {
    let stream = records(22, &rfc9001_client_hello(), MAX_RECORD_LEN);
    let (ev, an) = run(Direction::ToServer, &[&stream]);
    assert_eq!(ev, [Event::TlsClientHello(example_hello())]);
    assert_eq!(an, Anomalies::default());
}

#[test]
fn client_hello_over_two_records() {
    let msg = rfc9001_client_hello();
    let stream = records(22, &msg, msg.len() / 2 + 1);
    assert_eq!(stream.len(), msg.len() + 10);
    let (ev, an) = run(Direction::ToServer, &[&stream]);
    assert_eq!(ev, [Event::TlsClientHello(example_hello())]);
    assert_eq!(an, Anomalies::default());
}

#[test]
fn client_hello_split_at_every_segment_boundary() {
    let msg = rfc9001_client_hello();
    for frag in [MAX_RECORD_LEN, 100, 3, 1] {
        let stream = records(22, &msg, frag);
        for cut in 0..=stream.len() {
            let (a, b) = stream.split_at(cut);
            let (ev, an) = run(Direction::ToServer, &[a, b]);
            assert_eq!(ev, [Event::TlsClientHello(example_hello())], "frag {frag} cut {cut}");
            assert_eq!(an, Anomalies::default());
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        let (ev, an) = run(Direction::ToServer, &bytes);
        assert_eq!(ev, [Event::TlsClientHello(example_hello())], "frag {frag} byte by byte");
        assert_eq!(an, Anomalies::default());
    }
}

#[test]
fn server_hello_tls12_and_tls13() {
    // TLS 1.2: legacy version, ServerHello + Certificate in one record, then the rest.
    let sh12 = handshake(2, &server_hello_body(TLS12, [7; 32], &[ext(0xff01, &[0])]));
    let cert = handshake(11, &[0; 3000]);
    let stream = records(22, &[sh12, cert].concat(), MAX_RECORD_LEN);
    let (ev, an) =
        run(Direction::ToClient, &[&stream, &[0x16, 0x03, 0x03, 0x00, 0x04, 14, 0, 0, 0]]);
    assert_eq!(ev, [Event::TlsServerHello(ServerHello { version: TLS12 })]);
    assert_eq!(an, Anomalies::default());
    // TLS 1.3: RFC 9001 A.3 ServerHello, then (encrypted) application data records.
    let stream = records(22, &hex(A3_SERVER_HELLO), MAX_RECORD_LEN);
    let appdata = records(23, &[0xee; 500], MAX_RECORD_LEN);
    let (ev, an) = run(Direction::ToClient, &[&stream, &records(20, &[1], 10), &appdata]);
    assert_eq!(ev, [Event::TlsServerHello(ServerHello { version: TLS13 })]);
    assert_eq!(an, Anomalies::default());
}

#[test]
fn hello_retry_request_reports_both_hellos() {
    let mut p = TlsParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    let mut send = |p: &mut TlsParser, dir, bytes: Vec<u8>| {
        p.data(dir, Chunk::Data { offset: 0, bytes: &bytes }, &mut out, &mut an);
    };
    let ch = client_hello_body(TLS12, Some(&[sni_ext(b"hrr.example"), versions_ext(&[TLS13])]));
    let hrr = server_hello_body(TLS12, HRR_RANDOM, &[ext(51, &[0x00, 0x1d]), ext(43, &[3, 4])]);
    let sh = server_hello_body(TLS12, [9; 32], &[ext(43, &[3, 4])]);
    send(&mut p, Direction::ToServer, records(22, &handshake(1, &ch), MAX_RECORD_LEN));
    send(&mut p, Direction::ToClient, records(22, &handshake(2, &hrr), MAX_RECORD_LEN));
    send(&mut p, Direction::ToClient, records(20, &[1], 1));
    send(&mut p, Direction::ToServer, records(20, &[1], 1));
    send(&mut p, Direction::ToServer, records(22, &handshake(1, &ch), 50));
    send(&mut p, Direction::ToClient, records(22, &handshake(2, &sh), MAX_RECORD_LEN));
    send(&mut p, Direction::ToClient, records(23, &[0; 100], MAX_RECORD_LEN));
    send(&mut p, Direction::ToServer, records(23, &[0; 100], MAX_RECORD_LEN));
    let hello =
        ClientHello { sni: Some("hrr.example".into()), alpn: vec![], versions: vec![TLS13] };
    let sh13 = Event::TlsServerHello(ServerHello { version: TLS13 });
    assert_eq!(
        out,
        [Event::TlsClientHello(hello.clone()), sh13.clone(), Event::TlsClientHello(hello), sh13]
    );
    assert_eq!(an, Anomalies::default());
}

#[test]
fn tls12_client_stops_after_server_hello() {
    let mut p = TlsParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    let ch = records(22, &rfc9001_client_hello(), MAX_RECORD_LEN);
    let sh = records(22, &handshake(2, &server_hello_body(TLS12, [1; 32], &[])), MAX_RECORD_LEN);
    // ClientKeyExchange, ChangeCipherSpec, encrypted Finished (a type-22 record of ciphertext).
    let rest = [
        records(22, &handshake(16, &[0x55; 130]), 999),
        records(20, &[1], 1),
        records(22, &[0xab; 40], 99),
    ];
    p.data(Direction::ToServer, Chunk::Data { offset: 0, bytes: &ch }, &mut out, &mut an);
    p.data(Direction::ToClient, Chunk::Data { offset: 0, bytes: &sh }, &mut out, &mut an);
    p.data(
        Direction::ToServer,
        Chunk::Data { offset: 0, bytes: &rest.concat() },
        &mut out,
        &mut an,
    );
    assert_eq!(out.len(), 2);
    assert_eq!(an, Anomalies::default());
}

#[test]
fn ciphertext_after_hello_is_ignored() {
    let ch = records(22, &rfc9001_client_hello(), MAX_RECORD_LEN);
    // Garbage that would be malformed if it were parsed.
    let junk = vec![0xffu8; 100_000];
    let (ev, an) = run(Direction::ToServer, &[&ch, &records(23, &[1; 64], 64), &junk, &junk]);
    assert_eq!(ev.len(), 1);
    assert_eq!(an, Anomalies::default());
    // Too many records after the hello without a HelloRetryRequest: parsing stops quietly.
    let ccs = records(20, &[1], 1).repeat(20);
    let (ev, an) = run(Direction::ToServer, &[&ch, &ccs, &junk]);
    assert_eq!(ev.len(), 1);
    assert_eq!(an, Anomalies::default());
}

#[test]
fn malformed_streams_are_counted_once() {
    let hello = rfc9001_client_hello();
    // Bad record version, unknown content type, record too long, non-hello first message.
    let cases: Vec<Vec<u8>> = vec![
        [&[22, 2, 0, 0, 4][..], &hello[..4]].concat(),
        [&[99, 3, 1, 0, 4][..], &hello[..4]].concat(),
        [&[22, 3, 1][..], &u16be(MAX_RECORD_LEN + 1)].concat(),
        records(22, &handshake(2, &[0; 40]), 1000),
        records(22, &handshake(1, &[0; 40]), 1000), // ClientHello body too short
        [records(22, &hello[..10], 100), records(21, &[2, 40], 10)].concat(), // alert mid-message
    ];
    for (i, c) in cases.iter().enumerate() {
        let (ev, an) = run(Direction::ToServer, &[c, &hello, c]);
        assert!(ev.is_empty(), "case {i}");
        assert_eq!(an, Anomalies { tls_malformed: 1, ..Anomalies::default() }, "case {i}");
    }
}

#[test]
fn oversized_handshake_is_capped_without_buffering() {
    let len = u32::try_from(MAX_HANDSHAKE_LEN + 1).unwrap().to_be_bytes();
    let (ev, an) =
        run(Direction::ToServer, &[&[22, 3, 1, 0, 4, 1, len[1], len[2], len[3]], &[0; 1000]]);
    assert!(ev.is_empty());
    assert_eq!(an, Anomalies { tls_capped: 1, ..Anomalies::default() });
    // Exactly the limit is accepted (then found malformed: the body is zeros).
    let body = vec![0u8; MAX_HANDSHAKE_LEN];
    let (ev, an) = run(Direction::ToServer, &[&records(22, &handshake(1, &body), MAX_RECORD_LEN)]);
    assert!(ev.is_empty());
    assert_eq!(an, Anomalies { tls_malformed: 1, ..Anomalies::default() });
}

#[test]
fn gap_stops_the_direction() {
    let stream = records(22, &rfc9001_client_hello(), MAX_RECORD_LEN);
    let mut p = TlsParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    p.data(Direction::ToServer, Chunk::Data { offset: 0, bytes: &stream[..50] }, &mut out, &mut an);
    p.data(Direction::ToServer, Chunk::Gap { offset: 50, len: 10 }, &mut out, &mut an);
    p.data(
        Direction::ToServer,
        Chunk::Data { offset: 60, bytes: &stream[60..] },
        &mut out,
        &mut an,
    );
    p.data(Direction::ToServer, Chunk::Data { offset: 0, bytes: &stream }, &mut out, &mut an);
    p.data(Direction::ToServer, Chunk::Gap { offset: 9999, len: 10 }, &mut out, &mut an);
    assert!(out.is_empty());
    assert_eq!(an, Anomalies { gaps: 1, ..Anomalies::default() });
    // The other direction is unaffected.
    let sh = records(22, &hex(A3_SERVER_HELLO), MAX_RECORD_LEN);
    p.data(Direction::ToClient, Chunk::Data { offset: 0, bytes: &sh }, &mut out, &mut an);
    assert_eq!(out, [Event::TlsServerHello(ServerHello { version: TLS13 })]);
}

#[test]
fn alert_or_appdata_first_is_not_an_anomaly() {
    let (ev, an) = run(Direction::ToClient, &[&records(21, &[2, 40], 10)]);
    assert!(ev.is_empty());
    assert_eq!(an, Anomalies::default());
    let (ev, an) = run(Direction::ToServer, &[&records(23, &[5; 300], 1000), &[0xff; 10]]);
    assert!(ev.is_empty());
    assert_eq!(an, Anomalies::default());
}

#[test]
fn sslv2_compatible_client_hello() {
    // SSLv2 record header (0x80, length), CLIENT-HELLO offering TLS 1.0: 3 cipher specs of 3 bytes,
    // no session id, 16-byte challenge (RFC 5246 Appendix E.2 layout).
    let mut body = vec![1, 0x03, 0x01, 0x00, 0x09, 0x00, 0x00, 0x00, 0x10];
    body.extend_from_slice(&[0x00, 0x00, 0x04, 0x00, 0x00, 0x05, 0x00, 0x00, 0x0a]);
    body.extend_from_slice(&[0x5a; 16]);
    let stream = [&[0x80, u8::try_from(body.len()).unwrap()][..], &body].concat();
    let want =
        Event::TlsClientHello(ClientHello { sni: None, alpn: vec![], versions: vec![0x0301] });
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    let (ev, an) = run(Direction::ToServer, &bytes);
    assert_eq!(ev, [want]);
    assert_eq!(an, Anomalies::default());
    // Inconsistent lengths.
    let mut bad = stream.clone();
    bad[2 + 8] = 0x11;
    let (ev, an) = run(Direction::ToServer, &[&bad]);
    assert!(ev.is_empty());
    assert_eq!(an.tls_malformed, 1);
}

#[test]
fn tls13_draft_server_hello_without_session_id() {
    // TLS 1.3 draft 18 ServerHello (seen in arkime/tls13.pcap): version 0x7f12, random,
    // cipher suite, extensions; no session id or compression method.
    let mut body = vec![0x7f, 0x12];
    body.extend_from_slice(&[3; 32]);
    body.extend_from_slice(&[0x13, 0x01]);
    let exts = ext(51, &[0x00, 0x1d, 0x00, 0x01, 0x09]);
    body.extend_from_slice(&u16be(exts.len()));
    body.extend(exts);
    let (ev, an) = run(Direction::ToClient, &[&records(22, &handshake(2, &body), 1000)]);
    assert_eq!(ev, [Event::TlsServerHello(ServerHello { version: 0x7f12 })]);
    assert_eq!(an, Anomalies::default());
}

#[test]
fn sslv2_server_hello_gives_its_version_without_buffering_the_certificate() {
    // SSLv2 SERVER-HELLO (RFC 6101 Appendix E): msg_type 4, session_id_hit, certificate_type,
    // version 0x0002, then lengths, certificate, cipher specs, connection id.
    let mut body = vec![4, 0, 1, 0x00, 0x02, 0x03, 0x00, 0x00, 0x03, 0x00, 0x10];
    body.extend_from_slice(&[0x30; 0x300]);
    body.extend_from_slice(&[1, 0, 0x80]);
    body.extend_from_slice(&[9; 16]);
    let len = u16::try_from(body.len()).unwrap() | 0x8000;
    let stream = [&len.to_be_bytes()[..], &body].concat();
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    let (ev, an) = run(Direction::ToClient, &bytes);
    assert_eq!(ev, [Event::TlsServerHello(ServerHello { version: 2 })]);
    assert_eq!(an, Anomalies::default());
    // Not a SERVER-HELLO (an SSLv2 ERROR message).
    let (ev, an) = run(Direction::ToClient, &[&[0x80, 0x05, 0, 0, 1, 0, 0]]);
    assert!(ev.is_empty());
    assert_eq!(an.tls_malformed, 1);
}

#[test]
fn end_and_datagrams_are_harmless() {
    let mut p = TlsParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    p.data(Direction::ToServer, Chunk::Datagram(&[1, 2, 3]), &mut out, &mut an);
    p.data(Direction::ToServer, Chunk::Data { offset: 0, bytes: &[22, 3, 1] }, &mut out, &mut an);
    p.data(Direction::ToServer, Chunk::End, &mut out, &mut an);
    p.data(
        Direction::ToServer,
        Chunk::Data { offset: 3, bytes: &[0, 4, 1, 0, 0, 0] },
        &mut out,
        &mut an,
    );
    assert!(out.is_empty());
    assert_eq!(an, Anomalies::default());
}

/// Real captures: TLS-over-TCP SNIs must match tshark's `tls_sni` reference.
#[test]
fn real_captures_tls_sni_match_tshark() {
    use crate::quic::testpcap::{corpus, read, reference, tls_events};
    use std::collections::BTreeSet;
    let Some(root) = corpus() else { return };
    // TLS that does not start the TCP stream (tunnelled after HTTP CONNECT or SOCKS: the flow
    // stage / session must hand the inner stream over), and PPPoE, which the test reader does
    // not decode.
    const OUT_OF_SCOPE: [&str; 4] = [
        "PCAPdroid/http_proxy.pcap",
        "zeek/http__connect-with-header.pcap",
        "zeek/socks-with-ssl.pcap",
        "zeek/pppoe-over-qinq.pcap",
    ];
    let mut checked = 0;
    let mut total = Anomalies::default();
    let mut mismatched = Vec::new();
    for entry in walk(&root) {
        let want: BTreeSet<String> = reference(&entry, "tls_sni").into_iter().collect();
        if want.is_empty() {
            continue;
        }
        let mut an = Anomalies::default();
        let got: BTreeSet<String> = tls_events(&read(&entry), &mut an)
            .into_iter()
            .filter_map(|e| match e {
                Event::TlsClientHello(h) => h.sni,
                _ => None,
            })
            .collect();
        total += &an;
        checked += 1;
        let name = entry.strip_prefix(&root).unwrap_or(&entry).display().to_string();
        if got != want && !OUT_OF_SCOPE.contains(&name.as_str()) {
            mismatched.push(format!("{name}: missing {:?} extra {:?}", &want - &got, &got - &want));
        }
    }
    eprintln!(
        "{checked} captures with tls_sni checked, {} out of scope; {total:?}",
        OUT_OF_SCOPE.len()
    );
    assert!(mismatched.is_empty(), "{mismatched:#?}");
    assert!(checked >= 60);
}

/// Capture files under `root` (recursively), sorted.
pub(crate) fn walk(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng" || x == "cap") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn mutated_streams_never_panic() {
    let good = [records(22, &rfc9001_client_hello(), 90), records(20, &[1], 1)].concat();
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..3000 {
        let mut s = good.clone();
        for _ in 0..1 + xorshift(&mut seed) % 4 {
            let i = (xorshift(&mut seed) % s.len() as u64) as usize;
            s[i] = xorshift(&mut seed) as u8;
        }
        let cut = (xorshift(&mut seed) % s.len() as u64) as usize;
        for dir in [Direction::ToServer, Direction::ToClient] {
            let (ev, _) = run(dir, &[&s[..cut], &s[cut..]]);
            assert!(ev.len() <= 2);
        }
    }
}

/// A ServerHello handshake message choosing `suite` (legacy version `version`, no extensions).
pub(crate) fn server_hello_with_suite(version: u16, suite: u16) -> Vec<u8> {
    let mut b = version.to_be_bytes().to_vec();
    b.extend_from_slice(&[7; 32]);
    b.push(0); // empty session id
    b.extend_from_slice(&suite.to_be_bytes());
    b.push(0); // null compression
    handshake(2, &b)
}

/// The two streams of a NULL-cipher connection (from wireshark-notes' `tls-null`: TLS 1.2,
/// `TLS_RSA_WITH_NULL_SHA256`, 32-byte MACs; here MACs of `suite`'s length): hellos, ChangeCipherSpec, Finished, then
/// `client_data` and `server_data` as application data, the client's in two records. The
/// plaintext bytes are made of letters, MACs and handshake bytes of other bytes.
pub(crate) fn null_cipher_streams(
    suite: u16,
    client_data: &[u8],
    server_data: &[u8],
) -> (Vec<u8>, Vec<u8>) {
    let mac = vec![0xee; null::mac_len(suite).unwrap_or(32)];
    let app = |data: &[u8]| records(23, &[data, &mac[..]].concat(), MAX_RECORD_LEN);
    let finished = records(22, &[&handshake(20, &[0xf1; 12])[..], &mac[..]].concat(), 1000);
    let hello = client_hello_body(TLS12, Some(&[sni_ext(b"null.example")]));
    let half = client_data.len() / 2;
    let client = [
        records(22, &handshake(1, &hello), 1000),
        records(22, &handshake(16, &[0xc0; 20]), 1000),
        records(20, &[1], 1),
        finished.clone(),
        app(&client_data[..half]),
        app(&client_data[half..]),
        records(21, &[&[1, 0][..], &mac[..]].concat(), 100),
    ]
    .concat();
    let server = [
        records(22, &[server_hello_with_suite(TLS12, suite), handshake(14, &[])].concat(), 1000),
        records(20, &[1], 1),
        finished,
        app(server_data),
    ]
    .concat();
    (client, server)
}

/// Feeds the client stream, then the server stream (each cut at one offset), to a parser and its
/// plaintext walkers; returns the events and the plaintext of each direction as (offset, bytes)
/// pieces glued back together, and whether an end came through.
fn run_null(
    client: &[u8],
    server: &[u8],
    cut_c: usize,
    cut_s: usize,
) -> (Vec<Event>, [(Vec<u8>, bool); 2]) {
    let mut p = TlsParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    let mut plain: [(Vec<u8>, bool); 2] = Default::default();
    // The server first: its ServerHello (the cipher) comes before the client's ChangeCipherSpec.
    for (dir, data, cut) in
        [(Direction::ToClient, server, cut_s), (Direction::ToServer, client, cut_c)]
    {
        let pieces = [(0, &data[..cut]), (cut, &data[cut..])];
        for chunk in pieces
            .iter()
            .filter(|(_, b)| !b.is_empty())
            .map(|&(o, b)| Chunk::Data { offset: o as u64, bytes: b })
            .chain([Chunk::End])
        {
            p.data(dir, chunk, &mut out, &mut an);
            let got = &mut plain[dir.index()];
            p.plaintext(dir, chunk, |c| match c {
                Chunk::Data { offset, bytes } => {
                    assert_eq!(offset, got.0.len() as u64);
                    got.0.extend_from_slice(bytes);
                }
                Chunk::End => got.1 = true,
                other => panic!("unexpected {other:?}"),
            });
        }
    }
    assert_eq!(an, Anomalies::default());
    (out, plain)
}

#[test]
fn null_cipher_plaintext_at_every_split() {
    let req = b"GET / HTTP/1.1\r\nHost: 10.9.0.1\r\n\r\n";
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    let (client, server) = null_cipher_streams(0x003b, req, resp);
    let want = [(req.to_vec(), true), (resp.to_vec(), true)];
    for cut_c in 0..=client.len() {
        let (out, plain) = run_null(&client, &server, cut_c, server.len() / 2);
        assert_eq!(plain, want, "client cut at {cut_c}");
        assert_eq!(out.len(), 2);
    }
    for cut_s in 0..=server.len() {
        assert_eq!(run_null(&client, &server, 7, cut_s).1, want, "server cut at {cut_s}");
    }
    let mut p = TlsParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    p.data(Direction::ToClient, Chunk::Data { offset: 0, bytes: &server }, &mut out, &mut an);
    assert!(p.null_cipher());
}

#[test]
fn other_ciphers_give_no_plaintext() {
    let req = b"GET / HTTP/1.1\r\n\r\n";
    // AES-GCM, and a NULL suite under a TLS 1.3 ServerHello: nothing comes out.
    for (suite, version) in [(0x009c, TLS12), (0x003b, TLS13)] {
        let (client, mut server) = null_cipher_streams(suite, req, req);
        if version == TLS13 {
            // Patch the legacy version of the ServerHello (after record and handshake headers).
            server[9..11].copy_from_slice(&TLS13.to_be_bytes());
        }
        let (_, plain) = run_null(&client, &server, 0, 0);
        assert_eq!(plain, [(vec![], false), (vec![], false)], "suite {suite:04x}");
    }
    assert_eq!(
        (null::mac_len(0x0001), null::mac_len(0xc03b), null::mac_len(0x1301)),
        (Some(16), Some(48), None)
    );
    // A ChangeCipherSpec before any ServerHello (a one-sided capture) ends the walk.
    let client = [records(20, &[1], 1), records(23, b"GET / HTTP/1.1\r\n\r\n", 100)].concat();
    let mut p = TlsParser::new();
    let mut n = 0;
    p.plaintext(Direction::ToServer, Chunk::Data { offset: 0, bytes: &client }, |_| n += 1);
    assert_eq!(n, 0);
    assert!(p.walkers[0].is_done());
}

#[test]
fn null_cipher_gap_is_forwarded() {
    let req = b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n";
    let (client, server) = null_cipher_streams(0x0002, req, b"");
    let mut p = TlsParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    let mut got = Vec::new();
    for (dir, chunk) in [
        (Direction::ToClient, Chunk::Data { offset: 0, bytes: &server[..] }),
        (Direction::ToServer, Chunk::Data { offset: 0, bytes: &client[..client.len() - 20] }),
        (Direction::ToServer, Chunk::Gap { offset: client.len() as u64 - 20, len: 20 }),
        (Direction::ToServer, Chunk::Data { offset: client.len() as u64, bytes: b"\x17\x03\x03" }),
    ] {
        p.data(dir, chunk, &mut out, &mut an);
        p.plaintext(dir, chunk, |c| {
            if let (Direction::ToServer, Chunk::Gap { offset, len }) = (dir, c) {
                got.push((offset, len));
            }
        });
    }
    assert_eq!(got, [(req.len() as u64, 20)]);
}

#[test]
fn tls12_certificate_names_at_every_split() {
    let der = include_bytes!("x509/example-org.der");
    let mut list = (der.len() as u32).to_be_bytes()[1..].to_vec();
    list.extend_from_slice(der);
    let mut body = (list.len() as u32).to_be_bytes()[1..].to_vec();
    body.extend_from_slice(&list);
    let sh12 = handshake(2, &server_hello_body(TLS12, [7; 32], &[ext(0xff01, &[0])]));
    let names = crate::CertNames {
        subject_org: Some("Example Analytics Pte. Ltd.".into()),
        subject_cn: Some("api.example-analytics.test".into()),
        issuer_org: Some("Example Analytics Pte. Ltd.".into()),
    };
    let want =
        [Event::TlsServerHello(ServerHello { version: TLS12 }), Event::TlsCertificate(names)];
    for frag in [MAX_RECORD_LEN, 200, 7] {
        let stream = records(22, &[sh12.clone(), handshake(11, &body)].concat(), frag);
        for cut in (0..=stream.len()).step_by(if frag == 7 { 1 } else { 3 }) {
            let (a, b) = stream.split_at(cut);
            let (ev, an) = run(Direction::ToClient, &[a, b]);
            assert_eq!(ev, want, "frag {frag} cut {cut}");
            assert_eq!(an, Anomalies::default());
        }
    }
    // Resumption (ChangeCipherSpec after the ServerHello), a chain over the cap, or another
    // message first: no names, and no anomaly.
    let ccs = records(20, &[1], 10);
    let big = handshake(11, &vec![0; MAX_HANDSHAKE_LEN + 1]);
    let done = handshake(14, &[]);
    for rest in [ccs, records(22, &big, MAX_RECORD_LEN), records(22, &done, MAX_RECORD_LEN)] {
        let (ev, an) = run(Direction::ToClient, &[&records(22, &sh12, MAX_RECORD_LEN), &rest]);
        assert_eq!(ev, want[..1]);
        assert_eq!(an, Anomalies::default());
    }
}
