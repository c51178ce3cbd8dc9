//! Tests of protocol detection and dispatch.

use std::net::SocketAddr;

use super::test_util::flow_info;

use super::sniff::Pick;
use super::*;
use crate::DnsQuery;
use testkit::rng::xorshift64;

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

fn flow(transport: Transport, client_port: u16, server_port: u16) -> FlowInfo {
    flow_info(
        transport,
        SocketAddr::from(([10, 0, 0, 2], client_port)),
        SocketAddr::from(([192, 0, 2, 1], server_port)),
    )
}

fn tcp(server_port: u16) -> FlowInfo {
    flow(Transport::Tcp, 51_000, server_port)
}

/// Stand-in for `http::looks_like_request`, following its documented contract: a known method
/// token followed by a space.
fn fake_http(prefix: &[u8]) -> bool {
    ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "TRACE", "PATCH"]
        .iter()
        .any(|m| prefix.starts_with(m.as_bytes()) && prefix.get(m.len()) == Some(&b' '))
}

/// Stand-in for `quic::looks_like_initial`: long header, fixed bit, type Initial, v1 or v2
/// (v2 Initial is type 0b01).
fn fake_quic(p: &[u8]) -> bool {
    match (p.first(), p.get(1..5)) {
        (Some(&b), Some([0, 0, 0, 1])) => b & 0xf0 == 0xc0,
        (Some(&b), Some([0x6b, 0x33, 0x43, 0xcf])) => b & 0xf0 == 0xd0,
        _ => false,
    }
}

const FAKE: Probes = Probes { http_request: fake_http, quic_initial: fake_quic };

/// Feeds chunks; returns the protocol after each one.
fn run(
    probes: &Probes,
    flow: &FlowInfo,
    chunks: &[(Direction, Chunk<'_>)],
) -> (Vec<AppProto>, Vec<Event>, Anomalies, Session) {
    let mut s = Session::new(flow);
    let mut out = Vec::new();
    let mut an = Anomalies::default();
    let mut protos = Vec::new();
    for &(dir, chunk) in chunks {
        s.data_with(probes, flow, dir, chunk, &mut KeyLog::new(), &mut out, &mut an);
        protos.push(s.protocol());
    }
    (protos, out, an, s)
}

/// `bytes` as one-byte chunks starting at stream offset `start`.
fn bytewise(dir: Direction, start: u64, bytes: &[u8]) -> Vec<(Direction, Chunk<'_>)> {
    bytes
        .chunks(1)
        .enumerate()
        .map(|(i, b)| (dir, Chunk::Data { offset: start + i as u64, bytes: b }))
        .collect()
}

/// Index of the chunk after which the protocol was first decided.
fn decided_at(protos: &[AppProto]) -> Option<usize> {
    protos.iter().position(|&p| p != AppProto::Unknown)
}

/// Start of a TLS 1.2 ClientHello record (the record and handshake headers).
const CLIENT_HELLO_START: &[u8] =
    &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03];

#[test]
fn tls_on_8443_one_byte_at_a_time() {
    for probes in [&FAKE, &PROBES] {
        let (protos, ..) = run(probes, &tcp(8443), &bytewise(C, 0, CLIENT_HELLO_START));
        assert_eq!(decided_at(&protos), Some(4), "decided once the record header is complete");
        assert_eq!(protos.last(), Some(&AppProto::Tls));
    }
    // A server speaking TLS first (flow picked up after the ClientHello).
    let server_hello = [0x16, 0x03, 0x03, 0x00, 0x5a, 0x02];
    let (protos, ..) = run(&FAKE, &tcp(993), &bytewise(S, 0, &server_hello));
    assert_eq!(protos.last(), Some(&AppProto::Tls));
    // SSLv2-compatible ClientHello, version 3.1.
    let v2 = [0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15];
    let (protos, ..) = run(&FAKE, &tcp(443), &bytewise(C, 0, &v2));
    assert_eq!((decided_at(&protos), protos.last()), (Some(4), Some(&AppProto::Tls)));
}

#[test]
fn not_quite_tls_is_other() {
    for bad in [
        &[0x16, 0x03, 0x05, 0x00, 0x10][..],
        &[0x16, 0x02, 0x01, 0x00, 0x10],
        &[0x16, 0x03, 0x01, 0x00, 0x00],
        &[0x16, 0x03, 0x01, 0xff, 0xff],
        &[0x18, 0x03, 0x01, 0x00, 0x10],
        &[0x80, 0x2e, 0x02, 0x03, 0x01],
    ] {
        let (protos, ..) = run(&FAKE, &tcp(443), &bytewise(C, 0, bad));
        assert_eq!(protos.last(), Some(&AppProto::Other), "{bad:02x?}");
    }
    // A record header cut by the end of the stream.
    let chunks = [(C, Chunk::Data { offset: 0, bytes: &[0x16, 0x03, 0x01][..] }), (C, Chunk::End)];
    let (protos, ..) = run(&FAKE, &tcp(443), &chunks);
    assert_eq!(protos, [AppProto::Unknown, AppProto::Other]);
}

#[test]
fn http_on_8080_one_byte_at_a_time() {
    let req = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n";
    let (protos, ..) = run(&FAKE, &tcp(8080), &bytewise(C, 0, req));
    assert_eq!(decided_at(&protos), Some(3), "decided at the space after the method");
    assert_eq!(protos.last(), Some(&AppProto::Http));
    // With the real probe: whatever it answers for a plain GET is what we decide.
    let want = if http::looks_like_request(b"GET /index.html ") {
        AppProto::Http
    } else {
        AppProto::Other
    };
    let (protos, ..) = run(&PROBES, &tcp(8080), &bytewise(C, 0, req));
    assert_eq!(protos.last(), Some(&want));
    // A server starting with a status line (client side not seen) is HTTP too.
    let (protos, ..) = run(&FAKE, &tcp(8000), &bytewise(S, 0, b"HTTP/1.1 200 OK\r\n"));
    assert_eq!((decided_at(&protos), protos.last()), (Some(6), Some(&AppProto::Http)));
}

#[test]
fn garbage_on_port_80_is_other() {
    let (protos, ..) = run(&FAKE, &tcp(80), &bytewise(C, 0, b"\x00\x01\x02binary"));
    assert_eq!(protos, [AppProto::Other; 9]);
    // A token longer than the buffer: decided when the buffer is full.
    let (protos, ..) = run(&FAKE, &tcp(80), &bytewise(C, 0, b"SSH-2.0-OpenSSH_9.6\r\n"));
    assert_eq!((decided_at(&protos), protos.last()), (Some(SNIFF_LEN - 1), Some(&AppProto::Other)));
    // Lower-case method: not a request.
    let (protos, ..) = run(&FAKE, &tcp(80), &bytewise(C, 0, b"get / HTTP/1.0\r\n"));
    assert_eq!(protos.last(), Some(&AppProto::Other));
    // Other ignores everything afterwards.
    let (_, out, an, mut s) = run(&FAKE, &tcp(80), &bytewise(C, 0, b"\x00"));
    let mut out2 = out.clone();
    let mut an2 = an.clone();
    s.data(
        &tcp(80),
        C,
        Chunk::Data { offset: 1, bytes: b"GET / HTTP/1.1\r\n" },
        &mut out2,
        &mut an2,
    );
    assert_eq!((s.protocol(), out2, an2), (AppProto::Other, out, an));
}

#[test]
fn server_speaks_first() {
    let banner = b"220 mail.example.com ESMTP ready\r\n";
    let mut chunks = bytewise(S, 0, banner);
    let n = chunks.len();
    chunks.extend(bytewise(C, 0, b"EHLO me\r\n"));
    let (protos, ..) = run(&FAKE, &tcp(25), &chunks);
    assert_eq!(decided_at(&protos), Some(n + 4), "waits for the client's first word");
    assert_eq!(protos.last(), Some(&AppProto::Other));
    // The client never speaks: decided after MAX_SERVER_FIRST server bytes.
    let big = vec![b'x'; MAX_SERVER_FIRST as usize];
    let chunks = [
        (S, Chunk::Data { offset: 0, bytes: &big[..100] }),
        (S, Chunk::Data { offset: 100, bytes: &big[100..] }),
    ];
    let (protos, ..) = run(&FAKE, &tcp(25), &chunks);
    assert_eq!(protos, [AppProto::Unknown, AppProto::Other]);
    // ... or at the end of the flow.
    let chunks =
        [(S, Chunk::Data { offset: 0, bytes: &banner[..] }), (S, Chunk::End), (C, Chunk::End)];
    let (protos, ..) = run(&FAKE, &tcp(25), &chunks);
    assert_eq!(protos, [AppProto::Unknown, AppProto::Unknown, AppProto::Other]);
}

#[test]
fn flows_without_payload_stay_unknown() {
    let chunks = [(C, Chunk::End), (S, Chunk::End)];
    assert_eq!(run(&FAKE, &tcp(443), &chunks).0, [AppProto::Unknown; 2]);
    let chunks = [(C, Chunk::Datagram(&[]))];
    assert_eq!(run(&FAKE, &flow(Transport::Udp, 5000, 53), &chunks).0, [AppProto::Unknown]);
    // A Datagram chunk on a TCP flow, or stream chunks on a UDP flow, are ignored.
    let chunks = [(C, Chunk::Datagram(b"GET / HTTP/1.1\r\n"))];
    assert_eq!(run(&FAKE, &tcp(80), &chunks).0, [AppProto::Unknown]);
    let chunks = [(C, Chunk::Data { offset: 0, bytes: b"x" }), (C, Chunk::End)];
    assert_eq!(run(&FAKE, &flow(Transport::Udp, 5000, 53), &chunks).0, [AppProto::Unknown; 2]);
    // Other IP protocols.
    let chunks = [(C, Chunk::Datagram(b"x"))];
    assert_eq!(run(&FAKE, &flow(Transport::Other(47), 0, 0), &chunks).0, [AppProto::Other]);
}

#[test]
fn gaps_while_sniffing() {
    // The client's first bytes are lost: decided from the server.
    let chunks = [
        (C, Chunk::Gap { offset: 0, len: 100 }),
        (S, Chunk::Data { offset: 0, bytes: b"HTTP/1.0 404" }),
    ];
    assert_eq!(run(&FAKE, &tcp(80), &chunks).0, [AppProto::Unknown, AppProto::Http]);
    let chunks = [
        (C, Chunk::Gap { offset: 0, len: 100 }),
        (C, Chunk::Data { offset: 100, bytes: b"GET / HTTP/1.1\r\n" }),
        (S, Chunk::Data { offset: 0, bytes: b"\x00\x00" }),
    ];
    assert_eq!(
        run(&FAKE, &tcp(80), &chunks).0,
        [AppProto::Unknown, AppProto::Unknown, AppProto::Other]
    );
    // A gap right after a partial method: the prefix is final.
    let chunks =
        [(C, Chunk::Data { offset: 0, bytes: b"GE" }), (C, Chunk::Gap { offset: 2, len: 10 })];
    assert_eq!(run(&FAKE, &tcp(80), &chunks).0, [AppProto::Unknown, AppProto::Other]);
}

/// Builds a TCP DNS stream of `n` queries (client) or responses (server).
fn dns_stream(n: u16, response: bool) -> (Vec<u8>, Vec<Event>) {
    let mut stream = Vec::new();
    let mut events = Vec::new();
    for i in 0..n {
        let name = format!("host{i}.example");
        let mut msg =
            vec![0x12, i as u8, if response { 0x81 } else { 0x01 }, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in name.split('.') {
            msg.push(label.len() as u8);
            msg.extend_from_slice(label.as_bytes());
        }
        msg.extend_from_slice(&[0, 0, 1, 0, 1]);
        stream.extend_from_slice(&(msg.len() as u16).to_be_bytes());
        stream.extend(msg);
        if !response {
            events.push(Event::DnsQuery(DnsQuery { id: 0x1200 | i, name, qtype: 1 }));
        }
    }
    (stream, events)
}

#[test]
fn dns_over_tcp_one_byte_at_a_time() {
    let (queries, want) = dns_stream(3, false);
    let (protos, out, an, _) = run(&FAKE, &tcp(53), &bytewise(C, 0, &queries));
    assert_eq!(decided_at(&protos), Some(0));
    assert_eq!((out, an), (want.clone(), Anomalies::default()));
    // In one chunk, and with the real probes.
    let chunks = [(C, Chunk::Data { offset: 0, bytes: &queries[..] })];
    let (protos, out, ..) = run(&PROBES, &tcp(53), &chunks);
    assert_eq!((protos, out), (vec![AppProto::Dns], want));
    // TCP on 5353 (mDNS) too, but not on another port.
    let (protos, ..) = run(&FAKE, &tcp(5353), &chunks);
    assert_eq!(protos, [AppProto::Dns]);
    let (protos, out, ..) = run(&FAKE, &tcp(5355), &chunks);
    assert_eq!((protos, out), (vec![AppProto::Other], vec![]));
}

/// Whatever the split and interleaving, the parser sees both streams whole and in order: the
/// events equal those of a one-chunk feed.
#[test]
fn replay_keeps_streams_whole() {
    let (queries, want) = dns_stream(4, false);
    let (responses, _) = dns_stream(4, true);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move |n: usize| (xorshift64(&mut x) % n as u64) as usize;
    for round in 0..500 {
        let mut chunks = Vec::new();
        let (mut qi, mut ri) = (0usize, 0usize);
        // A server-first start in some rounds (it is buffered, then replayed).
        let server_first = round % 3 == 0;
        while qi < queries.len() || ri < responses.len() {
            let client = qi < queries.len()
                && (!server_first || ri >= 3 || ri == responses.len())
                && rnd(2) == 0
                || ri == responses.len();
            let (dir, data, i) =
                if client { (C, &queries, &mut qi) } else { (S, &responses, &mut ri) };
            let max = if rnd(4) == 0 { 40 } else { 3 };
            let len = 1 + rnd(max);
            let end = (*i + len).min(data.len());
            chunks.push((dir, Chunk::Data { offset: *i as u64, bytes: &data[*i..end] }));
            *i = end;
        }
        chunks.push((C, Chunk::End));
        chunks.push((S, Chunk::End));
        let (protos, out, an, _) = run(&FAKE, &tcp(53), &chunks);
        assert_eq!(protos.last(), Some(&AppProto::Dns));
        assert_eq!((&out, &an), (&want, &Anomalies::default()), "round {round}: {chunks:?}");
    }
}

/// An owned copy of a forwarded chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owned {
    Data(u64, Vec<u8>),
    Gap(u64, u64),
    End,
}

/// What a parser would receive: the sniffing steps of [`Session::data_with`] with a recorder in
/// place of the parser.
fn forwarded(
    flow: &FlowInfo,
    chunks: &[(Direction, Chunk<'_>)],
) -> (Option<Pick>, Vec<(Direction, Owned)>) {
    let mut sniff = Some(Sniff::new(0, AppProto::Unknown));
    let mut proto = None;
    let mut rec = Vec::new();
    let mut own = |d: Direction, c: Chunk<'_>| {
        let o = match c {
            Chunk::Data { offset, bytes } => Owned::Data(offset, bytes.to_vec()),
            Chunk::Gap { offset, len } => Owned::Gap(offset, len),
            Chunk::End | Chunk::Datagram(_) => Owned::End,
        };
        rec.push((d, o));
    };
    for &(dir, chunk) in chunks {
        match &mut sniff {
            Some(s) => {
                if let Some((p, before)) = s.push(&FAKE, flow, dir, chunk) {
                    s.replay(dir, &before, chunk, &mut own);
                    proto = Some(p);
                    sniff = None;
                }
            }
            None => own(dir, chunk),
        }
    }
    (proto, rec)
}

/// Each direction's forwarded chunks are contiguous from its first offset and spell out its
/// stream.
fn check_whole(rec: &[(Direction, Owned)], dir: Direction, stream: &[u8]) {
    let mut got = Vec::new();
    for (_, o) in rec.iter().filter(|(d, _)| *d == dir) {
        match o {
            Owned::Data(off, bytes) => {
                assert_eq!(*off, got.len() as u64, "{rec:?}");
                got.extend_from_slice(bytes);
            }
            Owned::Gap(..) => panic!("unexpected gap: {rec:?}"),
            Owned::End => {}
        }
    }
    assert_eq!(got, stream);
}

#[test]
fn replay_of_multi_chunk_prefixes() {
    let req = b"POST /upload HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\nabc";
    let resp = b"HTTP/1.1 204 No Content\r\n\r\n";
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move |n: usize| (xorshift64(&mut x) % n as u64) as usize;
    for (server_port, client, want) in [
        (8080, &req[..], AppProto::Http),
        (8443, &[CLIENT_HELLO_START, &[7u8; 40][..]].concat()[..], AppProto::Tls),
    ] {
        for _ in 0..300 {
            let mut chunks = Vec::new();
            let mut i = 0;
            while i < client.len() {
                let end = (i + 1 + rnd(6)).min(client.len());
                chunks.push((C, Chunk::Data { offset: i as u64, bytes: &client[i..end] }));
                i = end;
            }
            chunks.insert(rnd(chunks.len() + 1), (S, Chunk::Data { offset: 0, bytes: &resp[..5] }));
            chunks.push((S, Chunk::Data { offset: 5, bytes: &resp[5..] }));
            chunks.push((C, Chunk::End));
            let (proto, rec) = forwarded(&tcp(server_port), &chunks);
            assert_eq!(proto, Some(Pick::App(want)));
            check_whole(&rec, C, client);
            check_whole(&rec, S, resp);
            assert_eq!(rec.last(), Some(&(C, Owned::End)));
        }
    }
}

#[test]
fn server_bytes_beyond_the_buffer_are_replayed_as_a_gap() {
    let mut sniff = Sniff::new(0, AppProto::Unknown);
    let flow = tcp(8443);
    let banner = [b'x'; 20];
    assert_eq!(
        sniff.push(&FAKE, &flow, S, Chunk::Data { offset: 0, bytes: &banner }).map(|d| d.0),
        None
    );
    let hello = Chunk::Data { offset: 0, bytes: CLIENT_HELLO_START };
    let (proto, before) = sniff.push(&FAKE, &flow, C, hello).unwrap();
    assert_eq!(proto, Pick::App(AppProto::Tls));
    let mut seen = Vec::new();
    sniff.replay(C, &before, hello, |d, c| seen.push((d, format!("{c:?}"))));
    let want = [
        (S, format!("{:?}", Chunk::Data { offset: 0, bytes: &banner[..SNIFF_LEN] })),
        (S, format!("{:?}", Chunk::Gap { offset: SNIFF_LEN as u64, len: 4 })),
        (C, format!("{hello:?}")),
    ];
    assert_eq!(seen, want);
}

#[test]
fn udp_dns_ports() {
    let (queries, want) = dns_stream(1, false);
    let msg = &queries[2..];
    for (cp, sp) in [(40_000, 53), (53, 40_000), (5353, 5353), (40_000, 5355)] {
        let chunks = [(C, Chunk::Datagram(msg)), (S, Chunk::Datagram(msg))];
        let (protos, out, an, _) = run(&FAKE, &flow(Transport::Udp, cp, sp), &chunks);
        assert_eq!(protos, [AppProto::Dns; 2]);
        assert_eq!((out.len(), &out[0], an), (2, &want[0], Anomalies::default()));
    }
    // DNS on another port is not looked at (tshark's port table neither; its header-only
    // heuristic is not followed).
    let chunks = vec![(C, Chunk::Datagram(msg)); usize::from(MAX_UDP_SNIFF)];
    let (protos, out, ..) = run(&FAKE, &flow(Transport::Udp, 40_000, 8053), &chunks);
    assert_eq!((protos.last(), out), (Some(&AppProto::Other), vec![]));
}

/// A synthetic QUIC v1 client Initial: long header, type Initial, 8-byte DCID, empty SCID and
/// token, 2-byte Length, padded to 1,200 bytes (the minimum for a client Initial).
fn synthetic_initial() -> Vec<u8> {
    let mut p = vec![0xc3, 0, 0, 0, 1, 8, 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08, 0, 0];
    let len = 1200 - p.len() - 2;
    p.extend_from_slice(&(0x4000 | len as u16).to_be_bytes());
    p.resize(1200, 0x5a);
    p
}

#[test]
fn udp_quic_decision() {
    let initial = synthetic_initial();
    let flow443 = flow(Transport::Udp, 50_000, 443);
    let chunks = [(C, Chunk::Datagram(&initial)), (S, Chunk::Datagram(b"\x40short header"))];
    let (protos, ..) = run(&FAKE, &flow443, &chunks);
    assert_eq!(protos, [AppProto::Quic; 2]);
    // 0-RTT packets before the Initial: still QUIC.
    let zero_rtt = [0xd3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0x40, 0x10];
    let chunks = [
        (C, Chunk::Datagram(&zero_rtt[..])),
        (C, Chunk::Datagram(&zero_rtt)),
        (C, Chunk::Datagram(&initial)),
    ];
    assert_eq!(run(&FAKE, &flow443, &chunks).0, [AppProto::Other, AppProto::Other, AppProto::Quic]);
    // No Initial in the first MAX_UDP_SNIFF datagrams: Other for good.
    let mut chunks = vec![(C, Chunk::Datagram(b"\x40short header")); usize::from(MAX_UDP_SNIFF)];
    chunks.push((C, Chunk::Datagram(&initial)));
    let (protos, _, _, s) = run(&FAKE, &flow443, &chunks);
    assert_eq!(protos.last(), Some(&AppProto::Other));
    assert!(matches!(s.state, State::Other));
    // DNS ports win over QUIC content.
    let chunks = [(C, Chunk::Datagram(&initial))];
    assert_eq!(run(&FAKE, &flow(Transport::Udp, 5353, 5353), &chunks).0, [AppProto::Dns]);
    // With the real probe (implemented elsewhere): our decision follows its answer.
    let want = if quic::looks_like_initial(&initial) { AppProto::Quic } else { AppProto::Other };
    let chunks = vec![(C, Chunk::Datagram(&initial)); usize::from(MAX_UDP_SNIFF)];
    assert_eq!(run(&PROBES, &flow443, &chunks).0.last(), Some(&want));
}

#[test]
fn session_is_small() {
    // Two words of state (parsers are boxed) and the run's options.
    assert!(std::mem::size_of::<Session>() <= 24);
}
