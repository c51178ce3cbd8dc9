//! End-to-end: `phonehome analyze --keylog` (and a pcapng carrying its secrets) on HTTPS made by a
//! real TLS stack (rustls, `testkit::tls_session::keyed_https`): identifiers inside TLS 1.3 +
//! HTTP/1.1, TLS 1.3 + HTTP/2 and TLS 1.2 are found and marked as read with keys; the connection
//! without keys yields nothing and is listed in the coverage.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use testkit::tls_session::{KeyedCapture, keyed_https, planted};

struct Files {
    dir: PathBuf,
    pcap: PathBuf,
    pcapng: PathBuf,
    keys: PathBuf,
    profile: PathBuf,
}

fn files(name: &str) -> (Files, KeyedCapture) {
    let dir = std::env::temp_dir().join(format!("phonehome-decrypt-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cap = keyed_https();
    let f = Files {
        pcap: dir.join("https.pcap"),
        pcapng: dir.join("https.pcapng"),
        keys: dir.join("keys.txt"),
        profile: dir.join("profile.toml"),
        dir,
    };
    std::fs::write(&f.pcap, cap.pcap()).unwrap();
    std::fs::write(&f.pcapng, cap.pcapng_with_secrets()).unwrap();
    std::fs::write(&f.keys, &cap.keylog).unwrap();
    let profile = format!(
        "[identifiers]\nimei = [\"{}\"]\nimsi = [\"{}\"]\nphone = [\"{}\"]\nadvertising_id = [\"{}\"]\n",
        planted::IMEI,
        planted::IMSI,
        planted::PHONE,
        planted::ADVERTISING_ID
    );
    std::fs::write(&f.profile, profile).unwrap();
    (f, cap)
}

fn analyze(args: &[&Path]) -> (Output, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_phonehome"))
        .arg("analyze")
        .args(args)
        .args(["--format", "json", "--no-geo"])
        .output()
        .expect("run phonehome");
    let doc = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, doc)
}

fn found(doc: &Value, data: &str, host: &str, where_: &str) -> Option<Value> {
    doc["findings"]
        .as_array()?
        .iter()
        .find(|f| f["data"] == data && f["host"] == host && f["where"] == where_)
        .cloned()
}

fn check_opened(doc: &Value) {
    let act = found(doc, "imei", "api.account.xiaomi.com", "http.json:imei")
        .expect("IMEI in TLS 1.3 JSON");
    assert_eq!(act["decrypted"], true);
    assert_eq!(act["encrypted"], true);
    assert_eq!(act["protection"], "tls");
    assert_eq!(act["tls_version"], "TLS 1.3");
    assert!(
        found(doc, "phone", "api.account.xiaomi.com", "http.json:phone").is_some(),
        "base64 phone"
    );
    let h2 = found(doc, "imei", "data.mistat.xiaomi.com", "http.header:x-device-id")
        .expect("IMEI in an HTTP/2 header");
    assert_eq!(h2["decrypted"], true);
    assert!(
        found(doc, "imsi", "data.mistat.xiaomi.com", "http.form:imsi").is_some(),
        "IMSI in an HTTP/2 body"
    );
    let t12 = found(doc, "imsi", "tracking.ad-network.example", "http.query:imsi")
        .expect("IMSI over TLS 1.2");
    assert_eq!(t12["tls_version"], "TLS 1.2");
    // Nothing from the connection without keys; it is named in the coverage.
    let findings = doc["findings"].as_array().unwrap();
    assert!(
        findings.iter().all(|f| f["host"] != "sdk.no-keys.example"),
        "nothing claimed from ciphertext"
    );
    assert!(findings.iter().all(|f| f["data"] != "advertising_id"));
    let cov = &doc["coverage"];
    assert_eq!(
        (cov["tls_sessions"].as_u64(), cov["tls_decrypted"].as_u64(), cov["tls_no_keys"].as_u64()),
        (Some(4), Some(3), Some(1)),
        "{cov}"
    );
    assert_eq!(cov["no_keys_hosts"][0]["host"], "sdk.no-keys.example");
    assert!(doc["summary"]["coverage"].as_str().unwrap().contains("3 opened,"));
    let d = doc["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["host"] == "data.mistat.xiaomi.com")
        .unwrap();
    assert_eq!((d["tls_sessions"].as_u64(), d["tls_decrypted"].as_u64()), (Some(1), Some(1)));
}

#[test]
fn keylog_flag_opens_tls13_http2_and_tls12() {
    let (f, _) = files("flag");
    let (out, doc) =
        analyze(&[&f.pcap, Path::new("--keylog"), &f.keys, Path::new("--profile"), &f.profile]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    check_opened(&doc);
    // Two TLS 1.3 sessions (five secrets each), one TLS 1.2 master secret, two QUIC secrets.
    assert_eq!(doc["coverage"]["secrets"], 13);
    let _ = std::fs::remove_dir_all(&f.dir);
}

#[test]
fn pcapng_decryption_secrets_block_needs_no_flag() {
    let (f, _) = files("dsb");
    let (out, doc) = analyze(&[&f.pcapng, Path::new("--profile"), &f.profile]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    check_opened(&doc);
    let _ = std::fs::remove_dir_all(&f.dir);
}

#[test]
fn secrets_that_come_after_the_requests_still_open_them() {
    // As a key log followed live gives them: an empty Decryption Secrets Block first (more will
    // come), the secrets only just before the first connection's FIN, after its request and
    // response passed. Its records wait, are opened when it ends, and its request is the
    // client's (its direction is not that of the server's FIN that let it out).
    let (f, cap) = files("late");
    let dsb = |text: &str| {
        let mut body = 0x544c_534bu32.to_le_bytes().to_vec();
        body.extend_from_slice(&(text.len() as u32).to_le_bytes());
        body.extend_from_slice(text.as_bytes());
        body.resize(body.len().next_multiple_of(4), 0);
        body
    };
    let mut w = testkit::PcapNgWriter::new(Vec::new()).unwrap();
    let id = w.add_interface(testkit::Link::ethernet().link_type() as u16, 0, Some(9)).unwrap();
    w.write_block(10, &dsb("# secrets to follow\n")).unwrap();
    let fin = cap
        .frames
        .iter()
        .position(|(_, f)| f.len() > 47 && f[23] == 6 && f[47] & 0x01 != 0)
        .expect("a FIN");
    w.write_frames(id, &cap.frames[..fin]).unwrap();
    w.write_block(10, &dsb(&cap.keylog)).unwrap();
    w.write_frames(id, &cap.frames[fin..]).unwrap();
    let late = f.dir.join("late.pcapng");
    std::fs::write(&late, w.finish().unwrap()).unwrap();
    let (out, doc) = analyze(&[&late, Path::new("--profile"), &f.profile]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    // (A request taken as the server's would not be searched: responses are not, by default.)
    check_opened(&doc);
    let _ = std::fs::remove_dir_all(&f.dir);
}

#[test]
fn without_keys_the_report_says_what_was_not_read() {
    let (f, _) = files("nokeys");
    let (out, doc) = analyze(&[&f.pcap, Path::new("--profile"), &f.profile]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(doc["findings"].as_array().unwrap().iter().all(|f| f["encrypted"] == false));
    assert_eq!(doc["coverage"]["tls_no_keys"], 4);
    let headline = doc["summary"]["headline"].as_str().unwrap();
    assert!(headline.contains("5 encrypted connections could not be read"), "{headline}");
    assert!(doc["summary"]["coverage"].as_str().unwrap().contains("--keylog"));
    let _ = std::fs::remove_dir_all(&f.dir);
}

#[test]
fn a_bad_key_log_is_an_error_naming_file_and_line_and_the_rest_is_still_read() {
    let (f, cap) = files("bad");
    let bad = f.dir.join("bad-keys.txt");
    std::fs::write(
        &bad,
        format!("# keys\nCLIENT_RANDOM nothex 00\n{}garbage line here\n", cap.keylog),
    )
    .unwrap();
    let (out, doc) =
        analyze(&[&f.pcap, Path::new("--keylog"), &bad, Path::new("--profile"), &f.profile]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("bad-keys.txt: line 2:"), "{err}");
    check_opened(&doc);
    // Keys of another capture: sessions fail authentication or have no keys, nothing is found.
    let other = f.dir.join("other-keys.txt");
    let foreign: String = cap
        .keylog
        .lines()
        .map(|l| {
            let (head, last) = l.split_at(l.len() - 2);
            format!("{head}{}\n", if last == "00" { "01" } else { "00" })
        })
        .collect();
    std::fs::write(&other, foreign).unwrap();
    let (out, doc) =
        analyze(&[&f.pcap, Path::new("--keylog"), &other, Path::new("--profile"), &f.profile]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(doc["coverage"]["tls_failed"], 3);
    assert_eq!(doc["coverage"]["quic_decrypted"], 0);
    assert!(doc["summary"]["coverage"].as_str().unwrap().contains("1 QUIC connection: not opened"));
    assert!(doc["findings"].as_array().unwrap().iter().all(|f| f["encrypted"] == false));
    // A key log that cannot be read.
    let (out, _) = analyze(&[&f.pcap, Path::new("--keylog"), &f.dir.join("missing.txt")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.txt: cannot read the key log"));
    let _ = std::fs::remove_dir_all(&f.dir);
}

#[test]
fn events_show_http2_requests_with_their_stream() {
    let (f, _) = files("events");
    let out = Command::new(env!("CARGO_BIN_EXE_phonehome"))
        .arg("events")
        .arg(&f.pcap)
        .arg("--keylog")
        .arg(&f.keys)
        .output()
        .expect("run phonehome");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> = out
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    let h2: Vec<&Value> =
        lines.iter().filter(|e| e["version"] == "HTTP/2" && e["kind"] == "http_request").collect();
    assert_eq!(h2.len(), 2, "{lines:?}");
    assert_eq!((h2[0]["uri"].as_str(), h2[0]["stream"].as_u64()), (Some("/mistats/v3"), Some(1)));
    assert_eq!((h2[1]["uri"].as_str(), h2[1]["stream"].as_u64()), (Some("/config?v=2"), Some(3)));
    let _ = std::fs::remove_dir_all(&f.dir);
}

#[test]
fn mqtt_inside_tls_is_searched_as_a_raw_stream() {
    use testkit::tls_session::{Resumption, TlsPair};
    let dir = std::env::temp_dir().join(format!("phonehome-decrypt-{}-mqtt", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut connect = vec![0x10, 0x1d, 0x00, 0x04];
    connect.extend_from_slice(b"MQTT\x04\x02\x00\x3c\x00\x0f");
    connect.extend_from_slice(planted::IMEI.as_bytes());
    let pair = TlsPair::new(0x1302, &["mqtt"], "push.xiaomi.com", Resumption::Tickets);
    let t = pair.session(&[(connect, vec![0x20, 0x02, 0x00, 0x00])], None);
    let mut tcp = testkit::Conversation::tcp(
        "10.0.0.2:40000".parse().unwrap(),
        "120.92.145.60:5222".parse().unwrap(),
    )
    .link(testkit::Link::ethernet());
    tcp.handshake();
    t.lay_on(&mut tcp, 7);
    let mut w =
        testkit::PcapWriter::new(Vec::new(), testkit::Link::ethernet().link_type()).unwrap();
    w.write_frames(&tcp.frames()).unwrap();
    let (pcap, keys, profile) = (dir.join("mqtt.pcap"), dir.join("keys.txt"), dir.join("p.toml"));
    std::fs::write(&pcap, w.finish().unwrap()).unwrap();
    std::fs::write(&keys, pair.keylog()).unwrap();
    std::fs::write(&profile, format!("[identifiers]\nimei = [\"{}\"]\n", planted::IMEI)).unwrap();
    let (out, doc) =
        analyze(&[&pcap, Path::new("--keylog"), &keys, Path::new("--profile"), &profile]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let f = found(&doc, "imei", "push.xiaomi.com", "tls.payload").expect("IMEI in MQTT inside TLS");
    assert_eq!(f["decrypted"], true);
    // Without keys: nothing.
    let (_, doc) = analyze(&[&pcap, Path::new("--profile"), &profile]);
    assert!(doc["findings"].as_array().unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A QUIC connection whose server chose a protocol other than HTTP/3 (in its encrypted
/// EncryptedExtensions): each stream is searched raw, and `events` lists its pieces by stream.
#[test]
fn quic_streams_of_another_protocol_are_searched_raw() {
    use testkit::app::h3;
    let dir =
        std::env::temp_dir().join(format!("phonehome-decrypt-{}-quicraw", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let payload = format!("\x10\x1d\x00\x04MQTT\x04\x02\x00\x3c\x00\x0f{}", planted::IMEI);
    let opts = h3::QuicOptions {
        seed: 21,
        offer: &["h3", "mipush"],
        handshake_alpn: Some("mipush"),
        ..h3::QuicOptions::default()
    };
    let q = h3::connection_with("push.xiaomi.com", &[payload.into_bytes()], &opts);
    let mut u = testkit::Conversation::udp(
        "10.0.0.2:40000".parse().unwrap(),
        "120.92.145.60:443".parse().unwrap(),
    )
    .link(testkit::Link::ethernet());
    q.lay_on(&mut u);
    let mut w =
        testkit::PcapWriter::new(Vec::new(), testkit::Link::ethernet().link_type()).unwrap();
    w.write_frames(&u.frames()).unwrap();
    let (pcap, keys, profile) = (dir.join("q.pcap"), dir.join("keys.txt"), dir.join("p.toml"));
    std::fs::write(&pcap, w.finish().unwrap()).unwrap();
    std::fs::write(&keys, &q.keylog).unwrap();
    std::fs::write(&profile, format!("[identifiers]\nimei = [\"{}\"]\n", planted::IMEI)).unwrap();
    let (out, doc) =
        analyze(&[&pcap, Path::new("--keylog"), &keys, Path::new("--profile"), &profile]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let f = found(&doc, "imei", "push.xiaomi.com", "quic.payload").expect("IMEI in a QUIC stream");
    assert_eq!(f["decrypted"], true);
    let out = Command::new(env!("CARGO_BIN_EXE_phonehome"))
        .arg("events")
        .arg(&pcap)
        .arg("--keylog")
        .arg(&keys)
        .output()
        .expect("run phonehome");
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().find(|l| l.contains("quic_payload")).expect("a quic_payload event");
    let e: Value = serde_json::from_str(first).unwrap();
    assert_eq!((e["stream"].as_u64(), e["offset"].as_u64()), (Some(0), Some(0)), "{e}");
    // Without keys: nothing.
    let (_, doc) = analyze(&[&pcap, Path::new("--profile"), &profile]);
    assert!(doc["findings"].as_array().unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn websocket_messages_are_searched() {
    let dir = std::env::temp_dir().join(format!("phonehome-decrypt-{}-ws", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let req = b"GET /socket HTTP/1.1\r\nHost: chat.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    let payload = format!("{{\"type\":\"hello\",\"device\":{{\"imei\":\"{}\"}}}}", planted::IMEI);
    let key = [9u8, 8, 7, 6];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&key);
    frame.extend(payload.bytes().enumerate().map(|(i, b)| b ^ key[i % 4]));
    let resp =
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    let mut tcp = testkit::Conversation::tcp(
        "10.0.0.2:40000".parse().unwrap(),
        "203.0.113.9:80".parse().unwrap(),
    )
    .link(testkit::Link::ethernet());
    tcp.handshake();
    tcp.client_sends(req).server_sends(resp).client_sends(&frame).fin();
    let mut w =
        testkit::PcapWriter::new(Vec::new(), testkit::Link::ethernet().link_type()).unwrap();
    w.write_frames(&tcp.frames()).unwrap();
    let (pcap, profile) = (dir.join("ws.pcap"), dir.join("p.toml"));
    std::fs::write(&pcap, w.finish().unwrap()).unwrap();
    std::fs::write(&profile, format!("[identifiers]\nimei = [\"{}\"]\n", planted::IMEI)).unwrap();
    let (out, doc) = analyze(&[&pcap, Path::new("--profile"), &profile]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let f = found(&doc, "imei", "chat.example", "ws.json:device.imei")
        .expect("IMEI in a WebSocket message");
    assert_eq!(f["protection"], "cleartext-http");
    let _ = std::fs::remove_dir_all(&dir);
}
