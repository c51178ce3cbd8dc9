//! Decryption of sessions made by a real TLS stack (rustls, through `testkit::tls_session`), fed
//! to [`Session`] in pieces of many sizes.

use flow::{Chunk, Direction};
use testkit::tls_session::{Resumption, TlsPair, Transcript};

use crate::session::test_util::flow_info;
use crate::tls::keylog::KeyLog;
use crate::{Anomalies, Decryption, Event, HttpVersion, Session};

const IMEI: &str = "490154203237518";

fn exchange(i: usize) -> (Vec<u8>, Vec<u8>) {
    let body = format!("{{\"imei\":\"{IMEI}\",\"n\":{i}}}");
    let req = format!(
        "POST /v1/activate?seq={i} HTTP/1.1\r\nHost: api.phonehome.test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_string();
    (req.into_bytes(), resp.into_bytes())
}

/// Feeds a transcript to a new session in pieces of `piece` bytes (0: whole flights).
fn run(
    t: &Transcript,
    keys: &mut KeyLog,
    piece: usize,
) -> (Vec<Event>, Option<Decryption>, Anomalies) {
    let flow = flow_info(
        flow::Transport::Tcp,
        "10.0.0.2:40000".parse().unwrap(),
        "10.0.0.1:443".parse().unwrap(),
    );
    let mut s = Session::new(&flow);
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    let mut off = [0u64; 2];
    for (dir, bytes) in &t.flights {
        let d = match dir {
            testkit::Direction::ClientToServer => Direction::ToServer,
            testkit::Direction::ServerToClient => Direction::ToClient,
        };
        let step = if piece == 0 { bytes.len() } else { piece };
        for part in bytes.chunks(step.max(1)) {
            let offset = off[d.index()];
            s.data_keyed(&flow, d, Chunk::Data { offset, bytes: part }, keys, &mut out, &mut an);
            off[d.index()] += part.len() as u64;
        }
    }
    for d in [Direction::ToServer, Direction::ToClient] {
        s.data_keyed(&flow, d, Chunk::End, keys, &mut out, &mut an);
    }
    (out, s.decryption(), an)
}

fn keys_of(text: &str) -> KeyLog {
    let mut k = KeyLog::new();
    let sum = k.read(text.as_bytes());
    assert!(sum.errors.is_empty(), "{:?}", sum.errors);
    k
}

fn requests(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::HttpRequest(r) => {
                Some(format!("{} {} {}", r.method, r.uri, String::from_utf8_lossy(&r.body.data)))
            }
            _ => None,
        })
        .collect()
}

const SUITES: [u16; 6] = [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02c, 0xcca9];

#[test]
fn every_suite_decrypts_http1_at_every_piece_size() {
    for suite in SUITES {
        let pair = TlsPair::new(suite, &["http/1.1"], "api.phonehome.test", Resumption::Tickets);
        let t = pair.session(&[exchange(0), exchange(1)], None);
        assert!(t.server_got.ends_with(b"\"n\":1}"), "rustls carried the requests");
        for piece in [0, 1, 5, 300, 1400] {
            let mut keys = keys_of(&pair.keylog());
            let (events, outcome, _) = run(&t, &mut keys, piece);
            let reqs = requests(&events);
            assert_eq!(reqs.len(), 2, "suite {suite:#x}, pieces of {piece}: {reqs:?}");
            assert!(reqs[0].starts_with("POST /v1/activate?seq=0 {\"imei\":\"490154203237518\""));
            assert_eq!(outcome, Some(Decryption::Decrypted), "suite {suite:#x}");
            let responses = events.iter().filter(|e| matches!(e, Event::HttpResponse(_))).count();
            assert_eq!(responses, 2, "suite {suite:#x}");
            let hellos = events.iter().filter(|e| matches!(e, Event::TlsClientHello(_))).count();
            assert_eq!(hellos, 1, "the hello is still reported");
        }
    }
}

#[test]
fn key_update_moves_both_directions_to_the_next_secret() {
    for suite in [0x1301, 0x1302, 0x1303] {
        let pair = TlsPair::new(suite, &["http/1.1"], "api.phonehome.test", Resumption::Tickets);
        let t = pair.session(&[exchange(0), exchange(1), exchange(2)], Some(1));
        let (events, outcome, _) = run(&t, &mut keys_of(&pair.keylog()), 0);
        assert_eq!(requests(&events).len(), 3, "suite {suite:#x}");
        assert_eq!(outcome, Some(Decryption::Decrypted));
    }
}

#[test]
fn without_keys_nothing_is_read_and_the_session_says_so() {
    let pair = TlsPair::new(0x1301, &["http/1.1"], "api.phonehome.test", Resumption::Tickets);
    let t = pair.session(&[exchange(0)], None);
    // Keys of another session only.
    let other = TlsPair::new(0x1301, &["http/1.1"], "x.test", Resumption::Tickets);
    let _ = other.session(&[], None);
    let (events, outcome, _) = run(&t, &mut keys_of(&other.keylog()), 0);
    assert_eq!(requests(&events), Vec::<String>::new());
    assert_eq!(outcome, Some(Decryption::NoKeys));
    // No keys at all: no decryptor, no outcome.
    let (events, outcome, _) = run(&t, &mut KeyLog::new(), 0);
    assert!(requests(&events).is_empty());
    assert_eq!(outcome, None);
}

#[test]
fn wrong_keys_fail_authentication_and_nothing_is_guessed() {
    for suite in SUITES {
        let pair = TlsPair::new(suite, &["http/1.1"], "api.phonehome.test", Resumption::Tickets);
        let t = pair.session(&[exchange(0)], None);
        // Same client randoms, every secret's last byte flipped.
        let bad: String = pair
            .keylog()
            .lines()
            .map(|l| {
                let (head, last) = l.split_at(l.len() - 1);
                let flipped = if last == "0" { "1" } else { "0" };
                format!("{head}{flipped}\n")
            })
            .collect();
        let (events, outcome, _) = run(&t, &mut keys_of(&bad), 0);
        assert!(requests(&events).is_empty(), "suite {suite:#x}");
        assert_eq!(outcome, Some(Decryption::Failed), "suite {suite:#x}");
    }
}

#[test]
fn a_tampered_record_stops_its_direction() {
    let pair = TlsPair::new(0xc02b, &["http/1.1"], "a.test", Resumption::Tickets);
    let mut t = pair.session(&[exchange(0), exchange(1)], None);
    // Flip a byte in the last client flight carrying application data (the second request).
    let i = t
        .flights
        .iter()
        .rposition(|(d, b)| *d == testkit::Direction::ClientToServer && b.len() > 100)
        .unwrap();
    let n = t.flights[i].1.len();
    t.flights[i].1[n - 20] ^= 0x40;
    let (events, outcome, _) = run(&t, &mut keys_of(&pair.keylog()), 0);
    assert_eq!(requests(&events).len(), 1, "the first request, not the tampered one");
    assert_eq!(outcome, Some(Decryption::Failed));
}

#[test]
fn tls12_resumption_by_ticket_and_by_session_id_from_learned_secrets() {
    for (suite, how) in [(0xc02b, Resumption::Tickets), (0xcca9, Resumption::SessionIds)] {
        let pair = TlsPair::new(suite, &["http/1.1"], "api.phonehome.test", how);
        let first = pair.session(&[exchange(0)], None);
        let first_log = pair.keylog();
        let second = pair.session(&[exchange(1)], None);
        assert_ne!(pair.keylog(), first_log, "rustls logs the resumed session too");
        // Only the first session's secret is known: the second is opened through what the first
        // one taught (its session id or ticket).
        let mut keys = keys_of(&first_log);
        let (e1, o1, _) = run(&first, &mut keys, 0);
        assert_eq!(requests(&e1).len(), 1);
        assert_eq!(o1, Some(Decryption::Decrypted));
        let (e2, o2, _) = run(&second, &mut keys, 0);
        assert_eq!(requests(&e2).len(), 1, "{how:?}");
        assert_eq!(o2, Some(Decryption::Decrypted), "{how:?}");
        // Without the first session, the second cannot be opened.
        let (e3, o3, _) = run(&second, &mut keys_of(&first_log), 0);
        assert!(requests(&e3).is_empty() && o3 == Some(Decryption::NoKeys), "{how:?}");
    }
}

#[test]
fn tls13_resumed_sessions_decrypt_with_their_own_logged_secrets() {
    let pair = TlsPair::new(0x1303, &["http/1.1"], "api.phonehome.test", Resumption::Tickets);
    let _ = pair.session(&[exchange(0)], None);
    let second = pair.session(&[exchange(1)], None);
    let (events, outcome, _) = run(&second, &mut keys_of(&pair.keylog()), 0);
    assert_eq!(requests(&events).len(), 1);
    assert_eq!(outcome, Some(Decryption::Decrypted));
}

#[test]
fn alpn_h2_selects_http2_and_requests_carry_their_stream() {
    use testkit::app::h2::hpack_literals;
    let mut client = crate::http2::PREFACE.to_vec();
    client.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]); // empty SETTINGS
    let fields: Vec<(String, String)> = [
        (":method", "POST"),
        (":scheme", "https"),
        (":path", "/log"),
        (":authority", "api.phonehome.test:443"),
        ("x-imei", IMEI),
    ]
    .iter()
    .map(|(n, v)| ((*n).to_string(), (*v).to_string()))
    .collect();
    let block = hpack_literals(&fields);
    let len = block.len();
    client.extend_from_slice(&[(len >> 16) as u8, (len >> 8) as u8, len as u8, 1, 4, 0, 0, 0, 1]);
    client.extend_from_slice(&block);
    client.extend_from_slice(&[0, 0, 5, 0, 1, 0, 0, 0, 1]);
    client.extend_from_slice(b"hello");
    let server = vec![0, 0, 0, 4, 0, 0, 0, 0, 0];
    let pair = TlsPair::new(0x1301, &["h2"], "api.phonehome.test", Resumption::Tickets);
    let t = pair.session(&[(client, server)], None);
    let (events, _, an) = run(&t, &mut keys_of(&pair.keylog()), 7);
    let Some(Event::HttpRequest(r)) = events.iter().find(|e| matches!(e, Event::HttpRequest(_)))
    else {
        panic!("no request: {events:?} {an:?}");
    };
    assert_eq!(
        (r.method.as_str(), r.uri.as_str(), r.host.as_deref()),
        ("POST", "/log", Some("api.phonehome.test"))
    );
    assert_eq!((r.version, r.stream), (HttpVersion::H2, Some(1)));
    assert_eq!(r.headers[0].value, IMEI.as_bytes());
    assert_eq!(r.body.data, b"hello");
}

/// OpenSSL sessions (through Python's `ssl`): required where `PHONEHOME_OPENSSL_TEST=require`
/// (CI), skipped with a message elsewhere when python3 or the suite is missing.
fn openssl(
    version: &str,
    ciphers: &str,
    etm: bool,
) -> Option<(testkit::tls_session::Transcript, String)> {
    match testkit::tls_session::openssl_session(version, ciphers, etm, &[exchange(0), exchange(1)])
    {
        Ok(s) => Some(s),
        Err(e) if std::env::var("PHONEHOME_OPENSSL_TEST").as_deref() == Ok("require") => {
            panic!("PHONEHOME_OPENSSL_TEST=require but {e}")
        }
        Err(e) => {
            testkit::skip::skip("OpenSSL sessions", &format!("{version} {ciphers}: {e}"));
            None
        }
    }
}

#[test]
fn openssl_cbc_suites_with_and_without_encrypt_then_mac_and_old_versions() {
    let cases = [
        ("1.2", "ECDHE-ECDSA-AES128-SHA", true),
        ("1.2", "ECDHE-ECDSA-AES128-SHA", false),
        ("1.2", "ECDHE-ECDSA-AES256-SHA", true),
        ("1.2", "ECDHE-ECDSA-AES128-SHA256", false),
        ("1.2", "ECDHE-ECDSA-AES256-SHA384", true),
        ("1.2", "ECDHE-ECDSA-AES256-SHA384", false),
        ("1.2", "ECDHE-ECDSA-AES128-GCM-SHA256", true),
        ("1.1", "ECDHE-ECDSA-AES128-SHA", true),
        ("1.0", "ECDHE-ECDSA-AES256-SHA", false),
        ("1.0", "ECDHE-ECDSA-AES128-SHA", true),
        ("1.3", "", true),
    ];
    for (version, ciphers, etm) in cases {
        let Some((t, keylog)) = openssl(version, ciphers, etm) else { continue };
        for piece in [0, 3, 700] {
            let (events, outcome, an) = run(&t, &mut keys_of(&keylog), piece);
            let reqs = requests(&events);
            assert_eq!(reqs.len(), 2, "TLS {version} {ciphers} etm={etm} pieces {piece}: {an:?}");
            assert!(reqs[1].contains("\"n\":1}"), "{reqs:?}");
            assert_eq!(outcome, Some(Decryption::Decrypted), "TLS {version} {ciphers}");
        }
        // A flipped MAC or padding byte in the last client record fails authentication.
        let mut bad = t.clone();
        let i = bad
            .flights
            .iter()
            .rposition(|(d, b)| *d == testkit::Direction::ClientToServer && b.len() > 100)
            .unwrap();
        let n = bad.flights[i].1.len();
        bad.flights[i].1[n - 1] ^= 1;
        let (_, outcome, _) = run(&bad, &mut keys_of(&keylog), 0);
        assert_eq!(outcome, Some(Decryption::Failed), "TLS {version} {ciphers} etm={etm}");
    }
}

#[test]
fn unparsed_protocols_inside_tls_come_out_as_plaintext_stream_events() {
    // An MQTT CONNECT whose client id is the IMEI, and a vendor protocol that starts with the
    // IMEI: every plaintext byte comes out, the ones protocol detection looked at included, each
    // with its direction.
    let mut connect = vec![0x10, 0x1d, 0x00, 0x04];
    connect.extend_from_slice(b"MQTT\x04\x02\x00\x3c\x00\x0f");
    connect.extend_from_slice(IMEI.as_bytes());
    let line = format!("{IMEI}\nhello").into_bytes();
    for (alpn, request, answer) in
        [("mqtt", connect, vec![0x20, 0x02, 0x00, 0x00]), ("push", line, b"OK\n".to_vec())]
    {
        let pair = TlsPair::new(0x1301, &[alpn], "push.phonehome.test", Resumption::Tickets);
        let t = pair.session(&[(request.clone(), answer.clone())], None);
        for piece in [0, 1, 7, 1400] {
            let (events, outcome, _) = run(&t, &mut keys_of(&pair.keylog()), piece);
            assert_eq!(outcome, Some(Decryption::Decrypted));
            let mut plain = [Vec::new(), Vec::new()];
            for e in &events {
                if let Event::DecryptedStream {
                    dir,
                    stream: None,
                    chunk: crate::PlainChunk::Data { offset, data },
                } = e
                {
                    let side = &mut plain[dir.index()];
                    assert_eq!(*offset, side.len() as u64, "{alpn} piece {piece}: in order");
                    side.extend_from_slice(data);
                }
            }
            assert_eq!(plain[0], request, "{alpn} piece {piece}: the client's bytes, all of them");
            assert_eq!(plain[1], answer, "{alpn} piece {piece}: the server's bytes");
        }
    }
}

#[test]
fn tls13_early_data_is_read_with_the_early_secret() {
    let pair = TlsPair::new(0x1301, &["http/1.1"], "api.phonehome.test", Resumption::SessionIds);
    // (rustls accepts 0-RTT only with stateful tickets: SessionIds gives the server a cache.)
    let _ = pair.session(&[exchange(0)], None);
    let (early_req, _) = exchange(7);
    let (t, accepted) = pair.session_early(&early_req, &[exchange(8)]);
    assert!(accepted, "rustls accepted the 0-RTT data");
    assert!(pair.keylog().contains("CLIENT_EARLY_TRAFFIC_SECRET"));
    for piece in [0, 3, 900] {
        let (events, outcome, _) = run(&t, &mut keys_of(&pair.keylog()), piece);
        let reqs = requests(&events);
        assert_eq!(outcome, Some(Decryption::Decrypted));
        assert!(reqs.iter().any(|r| r.contains("seq=7")), "the early request: {reqs:?}");
        assert!(
            reqs.iter().any(|r| r.contains("seq=8")),
            "the request after the handshake: {reqs:?}"
        );
    }
}

#[test]
fn websocket_over_http2_extended_connect() {
    use testkit::app::h2::{self, H2Message};
    let payload = format!("{{\"imei\":\"{IMEI}\"}}");
    let key = [5u8, 6, 7, 8];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&key);
    frame.extend(payload.bytes().enumerate().map(|(i, b)| b ^ key[i % 4]));
    let mut req = H2Message::request(1, "CONNECT", "push.phonehome.test", "/ws").body(frame);
    req.fields.push((":protocol".into(), "websocket".into()));
    let resp = H2Message::response(1, 200).body(vec![0x81, 0x02, b'o', b'k']);
    let pair = TlsPair::new(0x1303, &["h2"], "push.phonehome.test", Resumption::Tickets);
    let t = pair.session(&[(h2::client(&[req]), h2::server(&[resp]))], None);
    let (events, _, an) = run(&t, &mut keys_of(&pair.keylog()), 0);
    let ws: Vec<&crate::WebSocketMessage> = events
        .iter()
        .filter_map(|e| match e {
            Event::WebSocketMessage(m) => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(ws.len(), 2, "{events:?} {an:?}");
    assert!(ws.iter().any(|m| m.data == payload.as_bytes()));
    assert!(events.iter().any(|e| matches!(e, Event::HttpRequest(r) if r.method == "CONNECT")));
}

#[test]
fn http2_from_the_h2_crate_inside_tls() {
    // Three requests on one connection: the h2 encoder puts repeated fields in its dynamic table
    // and Huffman-codes strings; one body is larger than a default DATA frame.
    let big = format!("{{\"imei\":\"{IMEI}\",\"pad\":\"{}\"}}", "x".repeat(20_000));
    let reqs: Vec<testkit::h2_session::Request<'_>> = vec![
        (
            "POST",
            "api.phonehome.test",
            "/v1/a?imei=490154203237518",
            vec![("x-device", IMEI.to_string()), ("user-agent", "okhttp/4.9".into())],
            b"{}".to_vec(),
        ),
        (
            "POST",
            "api.phonehome.test",
            "/v1/b",
            vec![("x-device", IMEI.to_string()), ("user-agent", "okhttp/4.9".into())],
            big.clone().into_bytes(),
        ),
        ("GET", "cdn.phonehome.test", "/c", vec![("user-agent", "okhttp/4.9".into())], Vec::new()),
    ];
    let (client, server) = testkit::h2_session::exchange(&reqs);
    assert!(client.starts_with(crate::http2::PREFACE));
    let pair = TlsPair::new(0x1302, &["h2"], "api.phonehome.test", Resumption::Tickets);
    let t = pair.session(&[(client, server)], None);
    type Row = (String, String, Option<String>, usize, Option<u64>);
    for piece in [0, 11, 1400] {
        let (events, _, an) = run(&t, &mut keys_of(&pair.keylog()), piece);
        let got: Vec<Row> = events
            .iter()
            .filter_map(|e| match e {
                Event::HttpRequest(r) => Some((
                    r.method.clone(),
                    r.uri.clone(),
                    r.host.clone(),
                    r.body.data.len(),
                    r.stream,
                )),
                _ => None,
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "POST".into(),
                    "/v1/a?imei=490154203237518".into(),
                    Some("api.phonehome.test".into()),
                    2,
                    Some(1)
                ),
                (
                    "POST".into(),
                    "/v1/b".into(),
                    Some("api.phonehome.test".into()),
                    big.len(),
                    Some(3)
                ),
                ("GET".into(), "/c".into(), Some("cdn.phonehome.test".into()), 0, Some(5)),
            ],
            "pieces {piece}: {an:?}"
        );
        let x_device = events.iter().filter(|e| matches!(e, Event::HttpRequest(r) if r.headers.iter().any(|h| h.name == "x-device" && h.value == IMEI.as_bytes()))).count();
        assert_eq!(x_device, 2, "the second x-device comes from the dynamic table");
        assert_eq!(
            events
                .iter()
                .filter(|e| matches!(e, Event::HttpResponse(r) if r.status == 200))
                .count(),
            3
        );
    }
}

/// Like [`run`], with the key log arriving as it is written (a live key log): `parts` of it are
/// read just before flight `i` (`i == flights`: after them all, before the connections' ends).
/// Each event comes with its direction: the chunk's, or as an [`Event::Turn`] says.
fn run_streaming(
    t: &Transcript,
    parts: &[(usize, String)],
) -> (Vec<(Direction, Event)>, Option<Decryption>) {
    let flow = flow_info(
        flow::Transport::Tcp,
        "10.0.0.2:40000".parse().unwrap(),
        "10.0.0.1:443".parse().unwrap(),
    );
    let mut keys = KeyLog::new();
    keys.set_streaming(true);
    let mut s = Session::new(&flow);
    let mut an = Anomalies::default();
    let mut directed = Vec::new();
    let mut off = [0u64; 2];
    let give = |keys: &mut KeyLog, i: usize| {
        for (_, text) in parts.iter().filter(|(at, _)| *at == i) {
            assert!(keys.read(text.as_bytes()).errors.is_empty());
        }
    };
    let mut feed = |s: &mut Session, keys: &mut KeyLog, d: Direction, chunk: Chunk<'_>| {
        let mut out = Vec::new();
        s.data_keyed(&flow, d, chunk, keys, &mut out, &mut an);
        let mut now = d;
        for e in out {
            match e {
                Event::Turn(to) => now = to,
                e => directed.push((now, e)),
            }
        }
        assert_eq!(now, d, "a batch turns back before it ends");
    };
    for (i, (dir, bytes)) in t.flights.iter().enumerate() {
        give(&mut keys, i);
        let d = match dir {
            testkit::Direction::ClientToServer => Direction::ToServer,
            testkit::Direction::ServerToClient => Direction::ToClient,
        };
        feed(&mut s, &mut keys, d, Chunk::Data { offset: off[d.index()], bytes });
        off[d.index()] += bytes.len() as u64;
    }
    give(&mut keys, t.flights.len());
    for d in [Direction::ToServer, Direction::ToClient] {
        feed(&mut s, &mut keys, d, Chunk::End);
    }
    (directed, s.decryption())
}

/// The requests, each checked to be of the client, and the responses of the server.
fn requests_directed(events: &[(Direction, Event)]) -> Vec<String> {
    for (d, e) in events {
        match e {
            Event::HttpRequest(_) => assert_eq!(*d, Direction::ToServer, "{e:?}"),
            Event::HttpResponse(_) => assert_eq!(*d, Direction::ToClient, "{e:?}"),
            _ => {}
        }
    }
    let events: Vec<Event> = events.iter().map(|(_, e)| e.clone()).collect();
    requests(&events)
}

#[test]
fn secrets_that_arrive_after_the_records_still_open_them() {
    for suite in [0x1301, 0xc02b, 0xcca9] {
        let pair = TlsPair::new(suite, &["http/1.1"], "api.phonehome.test", Resumption::Tickets);
        let t = pair.session(&[exchange(0), exchange(1)], None);
        let log = pair.keylog();
        // The whole key log at every point, up to the end of the connection.
        for at in 0..=t.flights.len() {
            let (events, outcome) = run_streaming(&t, &[(at, log.clone())]);
            let reqs = requests_directed(&events);
            assert_eq!(reqs.len(), 2, "suite {suite:#x}, keys before flight {at}");
            let responses = events.iter().filter(|(_, e)| matches!(e, Event::HttpResponse(_)));
            assert_eq!(responses.count(), 2, "suite {suite:#x}, keys before flight {at}");
            assert_eq!(outcome, Some(Decryption::Decrypted), "suite {suite:#x}, at {at}");
        }
        // A key log caught half written: the handshake secrets early, the traffic secrets only
        // when the connection ends (a TLS 1.3 decryptor waits for the whole set).
        let (hs, app): (Vec<&str>, Vec<&str>) =
            log.lines().partition(|l| l.contains("HANDSHAKE") || l.starts_with("CLIENT_RANDOM"));
        let parts = [(1, hs.join("\n") + "\n"), (t.flights.len(), app.join("\n") + "\n")];
        let (events, outcome) = run_streaming(&t, &parts);
        assert_eq!(requests_directed(&events).len(), 2, "suite {suite:#x}, split key log");
        assert_eq!(outcome, Some(Decryption::Decrypted));
    }
}

#[test]
fn a_partial_tls13_key_log_is_used_when_the_connection_ends() {
    // Only the handshake secrets ever arrive: the handshake is read at the end (the certificate
    // names), no application data, and nothing is reported as failed.
    let pair = TlsPair::new(0x1301, &["http/1.1"], "api.phonehome.test", Resumption::Tickets);
    let t = pair.session(&[exchange(0)], None);
    let log = pair.keylog();
    let hs: Vec<&str> = log.lines().filter(|l| l.contains("HANDSHAKE")).collect();
    let (events, outcome) = run_streaming(&t, &[(0, hs.join("\n") + "\n")]);
    assert!(requests_directed(&events).is_empty());
    assert_eq!(outcome, Some(Decryption::Decrypted), "the handshake records opened");
}
