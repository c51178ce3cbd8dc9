//! Tests of what the session looks into: SOCKS and HTTP `CONNECT` tunnels, NULL-cipher TLS, SSDP
//! over UDP. Every conversation is checked whole, cut at every offset of each direction, and one
//! byte at a time: the events must not depend on the segmentation.

use std::net::SocketAddr;

use flow::{Chunk, Direction, FlowInfo, Transport};

use super::test_util::flow_info;
use super::{MAX_TUNNELS, Session};
use crate::http::tests::requests;
use crate::tls::tests::{
    client_hello_body, handshake, null_cipher_streams, records, server_hello_with_suite, sni_ext,
};
use crate::{Anomalies, AppProto, ClientHello, Event, ServerHello};

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;
const TLS12: u16 = 0x0303;

fn flow(transport: Transport, client_port: u16, server_port: u16) -> FlowInfo {
    flow_info(
        transport,
        SocketAddr::from(([10, 0, 0, 50], client_port)),
        SocketAddr::from(([85, 194, 84, 197], server_port)),
    )
}

fn tcp(server_port: u16) -> FlowInfo {
    flow(Transport::Tcp, 59_580, server_port)
}

/// What a run gives: the protocol at the end, the events, the anomalies, and whether the content
/// counts as encrypted.
type Outcome = (AppProto, Vec<Event>, Anomalies, bool);

/// Runs the messages of `script` (in the order sent) through a session with the real probes, each
/// message cut at the stream offsets of `cuts` (per direction) that fall inside it; then both
/// ends.
/// Every event is checked to come from the side that sends such messages (a client's bytes
/// replayed while the server's chunk is read are marked with [`Event::Turn`]); the markers are
/// left out of the outcome.
fn run_script(flow: &FlowInfo, script: &[(Direction, &[u8])], cuts: [&[u64]; 2]) -> Outcome {
    let mut s = Session::new(flow);
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    let mut next = [0u64; 2];
    let mut feed = |s: &mut Session, dir: Direction, chunk: Chunk<'_>| {
        let mut batch = Vec::new();
        s.data(flow, dir, chunk, &mut batch, &mut an);
        let mut now = dir;
        for e in batch {
            let from = match &e {
                Event::Turn(to) => {
                    now = *to;
                    continue;
                }
                Event::TlsClientHello(_) | Event::HttpRequest(_) | Event::DnsQuery(_) => Some(C),
                Event::TlsServerHello(_) | Event::HttpResponse(_) => Some(S),
                _ => None,
            };
            assert!(from.is_none_or(|f| f == now), "{e:?} seen as {now:?}");
            out.push(e);
        }
        assert_eq!(now, dir, "a batch turns back before it ends");
    };
    for &(dir, msg) in script {
        let start = next[dir.index()];
        let end = start + msg.len() as u64;
        let inside = cuts[dir.index()].iter().copied().filter(|&c| c > start && c < end);
        let mut from = start;
        for to in inside.chain([end]) {
            let bytes = &msg[(from - start) as usize..(to - start) as usize];
            feed(&mut s, dir, Chunk::Data { offset: from, bytes });
            from = to;
        }
        next[dir.index()] = end;
    }
    feed(&mut s, C, Chunk::End);
    feed(&mut s, S, Chunk::End);
    (s.protocol(), out, an, s.encrypted())
}

/// [`run_script`] whole, with one cut at every offset of each direction, and one byte at a time;
/// all must agree. Returns the outcome.
fn split_everywhere(flow: &FlowInfo, script: &[(Direction, &[u8])]) -> Outcome {
    let whole = run_script(flow, script, [&[], &[]]);
    let len = |d: Direction| -> u64 {
        script.iter().filter(|(x, _)| *x == d).map(|(_, m)| m.len() as u64).sum()
    };
    for dir in [C, S] {
        for cut in 1..len(dir) {
            let cuts: [&[u64]; 2] = if dir == C { [&[cut], &[]] } else { [&[], &[cut]] };
            assert_eq!(run_script(flow, script, cuts), whole, "{dir:?} cut at {cut}");
        }
    }
    let every: [Vec<u64>; 2] = [(1..len(C)).collect(), (1..len(S)).collect()];
    assert_eq!(run_script(flow, script, [&every[0], &every[1]]), whole, "one byte at a time");
    whole
}

/// A ClientHello with `sni`, in one record.
fn client_hello(sni: &str) -> Vec<u8> {
    records(22, &handshake(1, &client_hello_body(TLS12, Some(&[sni_ext(sni.as_bytes())]))), 1000)
}

/// A TLS 1.2 ServerHello (ECDHE-RSA-AES128-GCM-SHA256) in one record.
fn server_hello() -> Vec<u8> {
    records(22, &server_hello_with_suite(TLS12, 0xc02f), 1000)
}

fn tls_events(sni: &str) -> Vec<Event> {
    vec![
        Event::TlsClientHello(ClientHello {
            sni: Some(sni.into()),
            alpn: vec![],
            versions: vec![TLS12],
        }),
        Event::TlsServerHello(ServerHello { version: TLS12 }),
    ]
}

/// SOCKS5 CONNECT request to `host:443` by name.
fn socks5_request(host: &str) -> Vec<u8> {
    let mut r = vec![5, 1, 0, 3, host.len() as u8];
    r.extend_from_slice(host.as_bytes());
    r.extend_from_slice(&443u16.to_be_bytes());
    r
}

#[test]
fn tls_through_socks5() {
    // As in zeek's socks-with-ssl: no authentication, IPv4 reply, then TLS.
    let (ch, sh) = (client_hello("www.google.com"), server_hello());
    let request = socks5_request("www.google.com");
    let reply = [5, 0, 0, 1, 0, 0, 0, 0, 1, 0xbb];
    let script: [(Direction, &[u8]); 6] =
        [(C, &[5, 1, 0]), (S, &[5, 0]), (C, &request), (S, &reply), (C, &ch), (S, &sh)];
    let (proto, out, an, encrypted) = split_everywhere(&tcp(1080), &script);
    assert_eq!(
        (proto, &out, an, encrypted),
        (AppProto::Tls, &tls_events("www.google.com"), Anomalies::default(), true)
    );
    // A handshake cut by the end of the flow: Other.
    let (proto, out, ..) = run_script(&tcp(1080), &script[..3], [&[], &[]]);
    assert_eq!((proto, out), (AppProto::Other, vec![]));
}

#[test]
fn socks5_with_password_and_data_sent_ahead() {
    // RFC 1929 username/password; the client sends its request and ClientHello before the reply
    // (optimistic data); the reply (IPv6 address) and the ServerHello come in one piece.
    let (ch, sh) = (client_hello("example.org"), server_hello());
    let auth = [&[1, 4][..], b"user", &[4], b"pass"].concat();
    let ahead = [socks5_request("example.org"), ch].concat();
    let mut reply = vec![5, 0, 0, 4];
    reply.extend_from_slice(&[0x20; 16]);
    reply.extend_from_slice(&443u16.to_be_bytes());
    let answer = [reply, sh].concat();
    let script: [(Direction, &[u8]); 6] =
        [(C, &[5, 2, 0, 2]), (S, &[5, 2]), (C, &auth), (S, &[1, 0]), (C, &ahead), (S, &answer)];
    let (proto, out, an, _) = split_everywhere(&tcp(1080), &script);
    assert_eq!((proto, out, an), (AppProto::Tls, tls_events("example.org"), Anomalies::default()));
}

#[test]
fn http_through_socks4a() {
    let request = [&[4, 1, 0, 80, 0, 0, 0, 1][..], b"me\0example.com\0"].concat();
    let get = b"GET /x HTTP/1.1\r\nHost: example.com\r\n\r\n";
    let script: [(Direction, &[u8]); 4] = [
        (C, &request),
        (S, &[0, 0x5a, 0, 0, 0, 0, 0, 0]),
        (C, get),
        (S, b"HTTP/1.1 204 No Content\r\n\r\n"),
    ];
    let (proto, out, an, _) = split_everywhere(&tcp(1080), &script);
    assert_eq!((proto, an), (AppProto::Http, Anomalies::default()));
    let r = requests(&out);
    assert_eq!(
        (r.len(), r[0].offset, r[0].host.as_deref()),
        (1, request.len() as u64, Some("example.com"))
    );
    assert_eq!(out.len(), 2);
}

#[test]
fn failed_socks_handshakes_are_other() {
    let plain4 = [4, 1, 0, 80, 1, 2, 3, 4, 0];
    for script in [
        // No acceptable method.
        &[(C, &[5, 1, 0][..]), (S, &[5, 0xff][..])][..],
        // Request rejected (SOCKS4 0x5b, SOCKS5 "connection refused").
        &[(C, &plain4[..]), (S, &[0, 0x5b, 0, 0, 0, 0, 0, 0])],
        &[
            (C, &[5, 1, 0]),
            (S, &[5, 0]),
            (C, &socks5_request("a")),
            (S, &[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]),
        ],
        // GSSAPI: its messages have their own framing.
        &[(C, &[5, 1, 1]), (S, &[5, 1])],
        // The server answers something else than SOCKS.
        &[(C, &[5, 1, 0]), (S, b"SSH-2.0-OpenSSH_9.6\r\n")],
        // The reply comes before the request.
        &[(C, &[5, 1, 0]), (S, &[5, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0])],
    ] {
        let (proto, out, an, _) = split_everywhere(&tcp(1080), script);
        assert_eq!((proto, out, an), (AppProto::Other, vec![], Anomalies::default()), "{script:?}");
    }
    // Not looked at on a DNS port (a DNS-over-TCP length prefix can look like a greeting), nor
    // when the server spoke first.
    let (proto, ..) = run_script(&tcp(53), &[(C, &[5, 1, 0])], [&[], &[]]);
    assert_eq!(proto, AppProto::Dns);
    let (proto, ..) = run_script(&tcp(1080), &[(S, b"220 hi\r\n"), (C, &[5, 1, 0])], [&[], &[]]);
    assert_eq!(proto, AppProto::Other);
}

#[test]
fn socks_sniffing() {
    use crate::socks::{Sniffed, sniff};
    for (prefix, want) in [
        (&[5, 1, 0][..], Sniffed::Yes),
        (&[5, 2, 0, 2, 5, 1], Sniffed::Yes),
        (&[5, 2, 0x80, 0xfe], Sniffed::Yes),
        (&[4, 1, 0, 80, 1, 2, 3, 4, 0], Sniffed::Yes),
        (b"\x04\x01\x00\x50\x01\x02\x03\x04user", Sniffed::Yes),
        (&[5], Sniffed::NeedMore),
        (&[5, 3, 0, 1], Sniffed::NeedMore),
        (&[4, 1, 0, 80, 1, 2, 3, 4], Sniffed::NeedMore),
        (&[5, 0], Sniffed::No),
        (&[5, 15, 0], Sniffed::No),
        (&[5, 1, 0x0a], Sniffed::No),
        (&[5, 1, 0, 7], Sniffed::No),
        (&[4, 3, 0, 80, 1, 2, 3, 4, 0], Sniffed::No),
        (&[4, 1, 0, 0, 1, 2, 3, 4, 0], Sniffed::No),
        (&[4, 1, 0, 80, 1, 2, 3, 4, 0xff], Sniffed::No),
        (&[0x16, 3, 1], Sniffed::No),
    ] {
        assert_eq!(sniff(prefix), want, "{prefix:?}");
    }
}

#[test]
fn tls_through_http_connect() {
    // As in zeek's http/connect-with-header (and PCAPdroid's http_proxy).
    let connect = b"CONNECT secure.newegg.com:443 HTTP/1.1\r\nHost: secure.newegg.com\r\nProxy-Connection: keep-alive\r\n\r\n";
    let ok = b"HTTP/1.1 200 Connection established\r\n\r\n";
    let (ch, sh) = (client_hello("secure.newegg.com"), server_hello());
    let script: [(Direction, &[u8]); 4] = [(C, connect), (S, ok), (C, &ch), (S, &sh)];
    let (proto, out, an, encrypted) = split_everywhere(&tcp(8080), &script);
    assert_eq!((proto, an, encrypted), (AppProto::Tls, Anomalies::default(), true));
    assert_eq!(out.len(), 4);
    assert_eq!(out[2..], tls_events("secure.newegg.com"));
    // The ClientHello sent before the answer (held by the HTTP parser, then replayed).
    let ahead = [&connect[..], &ch].concat();
    let script: [(Direction, &[u8]); 3] = [(C, &ahead), (S, ok), (S, &sh)];
    let (proto, out2, an, _) = split_everywhere(&tcp(8080), &script);
    assert_eq!((proto, out2, an), (AppProto::Tls, out, Anomalies::default()));
}

#[test]
fn http_through_http_connect() {
    // From suricata-verify http-connect-simple: plain HTTP in the tunnel, and a stray empty line
    // after the CONNECT request and after its answer (tshark reports the inner request).
    let script: [(Direction, &[u8]); 4] = [
        (C, b"CONNECT abc:443 HTTP/1.1\r\nUser-Agent: Victor/1.0\r\n\r\n\r\n"),
        (S, b"HTTP/1.1 200 OK\r\nServer: VictorServer/1.0\r\n\r\n\r\n"),
        (C, b"GET / HTTP/1.1\r\nUser-Agent: Victor/1.0\r\n\r\n"),
        (S, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
    ];
    let (proto, out, an, _) = split_everywhere(&tcp(8002), &script);
    assert_eq!((proto, an), (AppProto::Http, Anomalies::default()));
    let r = requests(&out);
    assert_eq!(
        r.iter().map(|r| (r.method.as_str(), r.offset)).collect::<Vec<_>>(),
        [("CONNECT", 0), ("GET", 54)]
    );
    assert_eq!(out.len(), 4);
}

#[test]
fn nested_tunnels_are_bounded() {
    // SOCKS inside SOCKS...: MAX_TUNNELS layers are looked into, the next one is not.
    let layer: [(Direction, &[u8]); 4] = [
        (C, &[5, 1, 0]),
        (S, &[5, 0]),
        (C, &[5, 1, 0, 1, 1, 2, 3, 4, 0, 80]),
        (S, &[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
    ];
    let get: [(Direction, &[u8]); 1] = [(C, b"GET / HTTP/1.1\r\n\r\n")];
    let nested = |n: u8| -> Vec<(Direction, &[u8])> {
        let mut v: Vec<_> = (0..n).flat_map(|_| layer).collect();
        v.extend(get);
        v
    };
    let (proto, out, ..) = run_script(&tcp(1080), &nested(MAX_TUNNELS), [&[], &[]]);
    assert_eq!((proto, out.len()), (AppProto::Http, 1));
    let (proto, out, ..) = run_script(&tcp(1080), &nested(MAX_TUNNELS + 1), [&[], &[]]);
    assert_eq!((proto, out.len()), (AppProto::Other, 0));
}

#[test]
fn http_inside_null_cipher_tls() {
    // As in wireshark-notes' tls-null: TLS_RSA_WITH_NULL_SHA256, HTTP inside.
    let req = b"GET / HTTP/1.1\r\nHost: 10.9.0.1\r\n\r\n";
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    let (client, server) = null_cipher_streams(0x003b, req, resp);
    // The ClientHello record, the server's whole flight, then the rest of the client's stream.
    let hello_len = 5 + usize::from(u16::from_be_bytes([client[3], client[4]]));
    let script: [(Direction, &[u8]); 3] =
        [(C, &client[..hello_len]), (S, &server), (C, &client[hello_len..])];
    let (proto, out, an, encrypted) = split_everywhere(&tcp(443), &script);
    assert_eq!((proto, an, encrypted), (AppProto::Tls, Anomalies::default(), false));
    let r = requests(&out);
    assert_eq!((r.len(), r[0].host.as_deref(), r[0].offset), (1, Some("10.9.0.1"), 0));
    assert_eq!(out.len(), 4, "{out:?}");
    // Any other cipher: the hellos only.
    let (client, server) = null_cipher_streams(0x009c, req, resp);
    let script: [(Direction, &[u8]); 3] =
        [(C, &client[..hello_len]), (S, &server), (C, &client[hello_len..])];
    let (proto, out, _, encrypted) = run_script(&tcp(443), &script, [&[], &[]]);
    assert_eq!((proto, out.len(), encrypted), (AppProto::Tls, 2, true));
}

#[test]
fn ssdp_over_udp() {
    let search = b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n";
    let notify = b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\nSERVER: Android/11 UPnP/1.0\r\n\r\n";
    let reply =
        b"HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\nLOCATION: http://10.0.0.1:49152/d.xml\r\n\r\n";
    for (client_port, server_port, msgs) in [
        (50_000, 1900, [(C, &search[..]), (S, &reply[..])]),
        (1900, 1900, [(C, &notify[..]), (C, &search[..])]),
        (1900, 50_000, [(C, &reply[..]), (S, &search[..])]),
    ] {
        let f = flow(Transport::Udp, client_port, server_port);
        let mut s = Session::new(&f);
        let (mut out, mut an) = (Vec::new(), Anomalies::default());
        for (dir, m) in msgs {
            s.data(&f, dir, Chunk::Datagram(m), &mut out, &mut an);
        }
        assert_eq!((s.protocol(), out.len(), an), (AppProto::Http, 2, Anomalies::default()));
    }
    // Another UDP port: not HTTP.
    let f = flow(Transport::Udp, 50_000, 1901);
    let mut s = Session::new(&f);
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    s.data(&f, C, Chunk::Datagram(search), &mut out, &mut an);
    assert_eq!((s.protocol(), out.len()), (AppProto::Other, 0));
}

#[test]
fn method_alone_on_its_line() {
    // zeek's http/methods: "OPTIONS" with no target and no version; tshark reports it with an
    // empty URI.
    let script: [(Direction, &[u8]); 2] = [
        (C, b"OPTIONS\nHost: www.google.com\n\n"),
        (S, b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
    ];
    let (proto, out, an, _) = split_everywhere(&tcp(80), &script);
    assert_eq!((proto, an), (AppProto::Http, Anomalies::default()));
    let r = requests(&out);
    assert_eq!(
        (r[0].method.as_str(), r[0].uri.as_str(), r[0].host.as_deref()),
        ("OPTIONS", "", Some("www.google.com"))
    );
}

#[test]
fn tunnels_keep_the_outer_protocol_until_their_content_is_known() {
    let connect = b"CONNECT git.example:22 HTTP/1.1\r\n\r\n";
    let ok = b"HTTP/1.1 200 OK\r\n\r\n";
    // SSH through the proxy: nothing we parse, the flow stays `http`.
    let script: [(Direction, &[u8]); 4] =
        [(C, connect), (S, ok), (C, b"SSH-2.0-OpenSSH_9.6\r\n"), (S, b"SSH-2.0-x\r\n")];
    let (proto, out, an, _) = split_everywhere(&tcp(3128), &script);
    assert_eq!((proto, out.len(), an), (AppProto::Http, 2, Anomalies::default()));
    // Nothing through the tunnel yet, or the SOCKS handshake still going on.
    for (port, script) in [
        (3128, &[(C, &connect[..]), (S, &ok[..])][..]),
        (1080, &[(C, &[5, 1, 0][..]), (S, &[5, 0][..])]),
    ] {
        let f = tcp(port);
        let mut s = Session::new(&f);
        let (mut out, mut an) = (Vec::new(), Anomalies::default());
        let mut next = [0u64; 2];
        for &(dir, bytes) in script {
            let offset = next[dir.index()];
            s.data(&f, dir, Chunk::Data { offset, bytes }, &mut out, &mut an);
            next[dir.index()] += bytes.len() as u64;
        }
        let want = if port == 1080 { AppProto::Unknown } else { AppProto::Http };
        assert_eq!(s.protocol(), want);
    }
}

#[test]
fn websocket_upgrade_hands_both_directions_to_the_websocket_parser() {
    let flow = flow_info(
        Transport::Tcp,
        "10.0.0.2:40000".parse().unwrap(),
        "10.0.0.1:80".parse().unwrap(),
    );
    let mut req = b"GET /chat HTTP/1.1\r\nHost: push.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n".to_vec();
    let head = req.len();
    // A masked text frame right behind the request (sent before the answer: held, then replayed).
    let payload = b"{\"imei\":\"490154203237518\"}";
    let key = [1u8, 2, 3, 4];
    req.extend_from_slice(&[0x81, 0x80 | payload.len() as u8]);
    req.extend_from_slice(&key);
    req.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    let mut resp =
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
            .to_vec();
    resp.extend_from_slice(&[0x81, 0x02, b'o', b'k']);
    // The server answers once the request head is in (the frame after it may be cut anywhere).
    for cut in [head, head + 1, head + 7, req.len() - 3, req.len()] {
        let mut s = Session::new(&flow);
        let (mut out, mut an) = (Vec::new(), Anomalies::default());
        s.data(
            &flow,
            Direction::ToServer,
            Chunk::Data { offset: 0, bytes: &req[..cut] },
            &mut out,
            &mut an,
        );
        s.data(
            &flow,
            Direction::ToClient,
            Chunk::Data { offset: 0, bytes: &resp },
            &mut out,
            &mut an,
        );
        s.data(
            &flow,
            Direction::ToServer,
            Chunk::Data { offset: cut as u64, bytes: &req[cut..] },
            &mut out,
            &mut an,
        );
        let ws: Vec<&crate::WebSocketMessage> = out
            .iter()
            .filter_map(|e| match e {
                Event::WebSocketMessage(m) => Some(m),
                _ => None,
            })
            .collect();
        assert_eq!(ws.len(), 2, "cut {cut}: {out:?}");
        assert!(ws.iter().any(|m| m.data == payload));
        assert!(ws.iter().any(|m| m.data == b"ok"));
        assert_eq!(s.protocol(), AppProto::Http);
    }
}
