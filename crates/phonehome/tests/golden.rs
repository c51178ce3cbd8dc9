//! Golden end-to-end tests: small captures built with `testkit`, run through the real binary,
//! output compared **exactly** with `tests/golden/<case>.events.jsonl` and
//! `tests/golden/<case>.flows.jsonl`.
//!
//! To accept new output after an intended change, rewrite the golden files:
//!
//! ```sh
//! UPDATE_GOLDEN=1 cargo test -p phonehome --test golden
//! ```
//!
//! then review the diff line by line (`git diff crates/phonehome/tests/golden`): a golden file
//! must be what the output *should* be by the contract (README "Use", `pipeline::output`), not
//! just what the code prints today. Each case's function says what it checks.
//!
//! Captures are written to a directory of their own under `CARGO_TARGET_TMPDIR`, removed when the
//! case passes. Nothing here reads `../shared`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use testkit::app::{dns, http, quic, tls};
use testkit::{Conversation, Frame, Link, PcapNgWriter, PcapWriter, SEC};

/// Start of every case's traffic: 2023-11-14T22:13:20Z.
const T0: i64 = testkit::DEFAULT_START_NS;

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

/// A scratch directory for one case.
struct Scratch(PathBuf);

impl Scratch {
    fn new(case: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("golden-{case}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Self(dir)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).expect("write capture");
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn pcap(link: &Link, frames: &[Frame]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), link.link_type()).unwrap();
    w.write_frames(frames).unwrap();
    w.finish().unwrap()
}

fn pcapng(link: &Link, tsresol: Option<u8>, frames: &[Frame]) -> Vec<u8> {
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    w.add_interface(link.link_type() as u16, 0, tsresol).unwrap();
    w.write_frames(0, frames).unwrap();
    w.finish().unwrap()
}

/// Runs `phonehome ARGS`, feeding `stdin` if given.
fn phonehome(args: &[&str], files: &[&Path], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_phonehome"));
    cmd.args(args).args(files).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().expect("run phonehome");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).expect("feed stdin");
    }
    child.wait_with_output().expect("wait for phonehome")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// Compares `actual` with the golden file `<case>.<kind>.jsonl` (or rewrites it under
/// `UPDATE_GOLDEN=1`).
fn golden(case: &str, kind: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{case}.{kind}.jsonl"));
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v != "0") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{}: {e}; create it with UPDATE_GOLDEN=1 and review it", path.display())
    });
    if expected == actual {
        return;
    }
    let (exp, act): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let n = exp.iter().zip(&act).position(|(e, a)| e != a).unwrap_or(exp.len().min(act.len()));
    let (e, a) = (exp.get(n).copied().unwrap_or("<end>"), act.get(n).copied().unwrap_or("<end>"));
    let col = e.bytes().zip(a.bytes()).position(|(x, y)| x != y).unwrap_or(e.len().min(a.len()));
    let around = |l: &str| {
        let (mut from, mut to) = (col.saturating_sub(60), (col + 60).min(l.len()));
        while !l.is_char_boundary(from) {
            from -= 1;
        }
        while !l.is_char_boundary(to) {
            to += 1;
        }
        format!("...{}...", &l[from..to])
    };
    panic!(
        "{case} {kind}: output differs from {} at line {}, byte {col} ({} lines expected, {} \
         got)\n expected: {}\n      got: {}\n\
         If the change is intended: UPDATE_GOLDEN=1 cargo test -p phonehome --test golden, \
         then review the diff.",
        path.display(),
        n + 1,
        exp.len(),
        act.len(),
        around(e),
        around(a),
    );
}

/// Runs `events` and `flows` (JSON Lines) on `files`, expects success and a quiet stderr, and
/// checks both outputs against the case's golden files.
fn check_case(case: &str, files: &[&Path]) {
    for (cmd, kind) in [("events", "events"), ("flows", "flows")] {
        let out = phonehome(&[cmd, "--format", "jsonl"], files, None);
        assert!(
            out.status.success(),
            "{case} {cmd}: exit {:?}, stderr: {}",
            out.status.code(),
            text(&out.stderr)
        );
        assert_eq!(text(&out.stderr), "", "{case} {cmd}: unexpected stderr");
        golden(case, kind, &text(&out.stdout));
    }
}

/// A DNS A lookup from `client` to `resolver` answered through a CNAME chain.
fn dns_lookup(
    client: &str,
    resolver: &str,
    id: u16,
    name: &str,
    cnames: &[&str],
    addrs: &[&str],
) -> testkit::UdpConversation {
    let q = dns::DnsMessage::query(id, name, dns::qtype::A);
    let addrs: Vec<_> = addrs.iter().map(|a| a.parse().unwrap()).collect();
    let r = q.clone().into_response().answers(dns::DnsRecord::chain(name, cnames, &addrs, 300));
    let mut u = Conversation::udp(sa(client), sa(resolver)).start_ns(T0);
    u.client_datagram(&q.encode()).server_datagram(&r.encode());
    u
}

/// HTTP over Ethernet + 802.1Q (VLAN 42). The GET is cut into 3 segments; the capture shows the
/// third before the second, then the first again (a retransmission, dropped by reassembly). The
/// response body is gzip-encoded and chunked.
///
/// Expected: one `http_request` (completed by the late second segment, frame 6) with its headers
/// in order and `body_len` 0; one `http_response` with the gzip body length after de-chunking as
/// `body_len`, `content_encoding` `["gzip"]` and the decoded length. The flow is `http`, named
/// by the Host header, closed, no flags; the retransmission still counts as a packet.
#[test]
fn http_segmented() {
    let s = Scratch::new("http_segmented");
    let link = Link::vlan(42);
    let req = http::HttpRequest::get("shop.example", "/api/items?page=2&lang=en").to_bytes();
    let body = b"{\"items\":[{\"id\":1,\"name\":\"tea\"},{\"id\":2,\"name\":\"cup\"}],\"page\":2}";
    let resp = http::HttpResponse::ok("application/json", body.repeat(3)).gzip().chunked(40);
    let mut t = Conversation::tcp(sa("10.1.0.5:49152"), sa("192.0.2.80:80"))
        .link(link.clone())
        .start_ns(T0);
    t.handshake();
    let first = t.len();
    t.client_sends_split(&req, &[20, 45]);
    t.reorder(&[first + 2, first + 1]);
    t.retransmit(first);
    t.server_ack().server_sends(&resp.to_bytes()).client_ack().fin();
    let f = s.write("http_segmented.pcap", &pcap(&link, &t.frames()));
    check_case("http_segmented", &[&f]);
}

/// TLS over IPv6 on a Linux cooked v2 (SLL2) link, in pcapng. The ClientHello is split over 2
/// records, and the records over 3 TCP segments (the second cut falls inside the second record's
/// header).
///
/// Expected: `tls_client_hello` (SNI, ALPN h2 + http/1.1, versions TLS 1.3 + 1.2) at the third
/// segment; `tls_server_hello` TLS 1.3. Flow `tls`, encrypted, `tls_version` TLS 1.3, ALPN as
/// offered; IPv6 addresses printed in brackets.
#[test]
fn tls_split_ipv6_sll2() {
    let s = Scratch::new("tls_split_ipv6_sll2");
    let link = Link::sll2();
    let hello = tls::ClientHello::new("mail.example.org");
    let records = hello.records_split_at(&[150]);
    assert_eq!(records[155], tls::content_type::HANDSHAKE, "second record starts at 155");
    let mut server_flight = tls::ServerHello::tls13(&hello.session_id).record();
    server_flight.extend_from_slice(&tls::change_cipher_spec());
    server_flight.extend_from_slice(&tls::application_data(900, &mut testkit::Rng::new(7)));
    let mut t = Conversation::tcp(sa("[2001:db8:1::23]:50123"), sa("[2001:db8:2::443]:443"))
        .link(link.clone())
        .start_ns(T0);
    t.handshake().client_sends_split(&records, &[100, 157]);
    t.server_sends(&server_flight);
    let mut finished = tls::change_cipher_spec();
    finished.extend_from_slice(&tls::application_data(53, &mut testkit::Rng::new(8)));
    t.client_sends(&finished).fin();
    let f = s.write("tls.pcapng", &pcapng(&link, None, &t.frames()));
    check_case("tls_split_ipv6_sll2", &[&f]);
}

/// A DNS answer through a 2-step CNAME chain, then a TCP connection to the answered address on
/// port 5222 carrying opaque bytes (no SNI, no HTTP).
///
/// Expected: the query and its 4 answer records; flow 2 is `other`, not encrypted, named
/// `chat.example.com` (the name asked for, not a CNAME target) with `name_source` `dns`.
#[test]
fn dns_cname_naming() {
    let s = Scratch::new("dns_cname_naming");
    let u = dns_lookup(
        "10.1.0.5:53001",
        "10.1.0.1:53",
        0x5a5a,
        "chat.example.com",
        &["chat-lb.example.net", "edge-3.cdn.example.net"],
        &["192.0.2.222", "192.0.2.223"],
    );
    let opaque: Vec<u8> = (0u8..64).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
    let mut t = Conversation::tcp(sa("10.1.0.5:49200"), sa("192.0.2.222:5222"))
        .start_ns(u.next_ts_ns() + 10 * testkit::MS);
    t.handshake().client_sends(&opaque).server_sends(&opaque[..40]).fin();
    let frames = testkit::interleave([u.frames(), t.frames()]);
    let f = s.write("dns.pcap", &pcap(&Link::ethernet(), &frames));
    check_case("dns_cname_naming", &[&f]);
}

/// QUIC v1 and v2 client Initials on two UDP flows.
///
/// Expected: two `quic_initial` events (`version` v1 / v2, SNI, ALPN h3, versions TLS 1.3);
/// both flows `quic`, encrypted, named by SNI, `tls_version` null (no ServerHello is visible).
#[test]
fn quic_v1_v2() {
    let s = Scratch::new("quic_v1_v2");
    let v1 =
        quic::client_initial(quic::QuicVersion::V1, &[1; 8], &[2; 8], "v1.quic.example", &["h3"]);
    let v2 =
        quic::client_initial(quic::QuicVersion::V2, &[3; 8], &[4; 8], "v2.quic.example", &["h3"]);
    let mut a = Conversation::udp(sa("10.1.0.5:51000"), sa("192.0.2.10:443")).start_ns(T0);
    a.client_datagram(&v1);
    let mut b = Conversation::udp(sa("10.1.0.5:51001"), sa("192.0.2.11:443"))
        .start_ns(T0 + 5 * testkit::MS);
    b.client_datagram(&v2);
    let frames = testkit::interleave([a.frames(), b.frames()]);
    let f = s.write("quic.pcap", &pcap(&Link::ethernet(), &frames));
    check_case("quic_v1_v2", &[&f]);
}

/// A DNS response over UDP cut into 3 IPv4 fragments, captured in the order 3, 1, 2.
///
/// Expected: the 7 answer records once, all at frame 4 (the fragment that completed the
/// datagram). The flow sees one reassembled datagram per direction: its counters say 1 packet
/// and 190 IP bytes to the client (the datagram), not the 3 fragments (230 IP bytes).
#[test]
fn ipv4_fragments() {
    let s = Scratch::new("ipv4_fragments");
    let addrs = ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"];
    let addrs = [&addrs[..], &["198.51.100.5", "198.51.100.6"]].concat();
    let mut u = dns_lookup(
        "10.1.0.5:53002",
        "10.1.0.1:53",
        0x0f0f,
        "big.example.com",
        &["big.cdn.example.net"],
        &addrs,
    );
    u.fragment(1, &[64, 64]);
    let mut frames = u.frames();
    assert_eq!(frames.len(), 4, "query + 3 fragments");
    let (ts, mut frags) = (frames[1].0, frames.split_off(1));
    frags.rotate_right(1);
    for (k, f) in frags.iter_mut().enumerate() {
        f.0 = ts + k as i64 * 100 * testkit::US;
    }
    frames.extend(frags);
    let f = s.write("frag.pcap", &pcap(&Link::ethernet(), &frames));
    check_case("ipv4_fragments", &[&f]);
}

/// An HTTP upload (Content-Length body of 3000 bytes) in 3 segments; the middle one (body bytes
/// 1000..2000 of the stream) was not captured. The server's ACK covers it, so the hole is final.
///
/// Expected, per the HTTP contract (a gap inside a body is counted as body bytes and framing
/// goes on): the request is still reported, completed at the third segment, with `body_len` 3000
/// and `body_truncated: true` (an extra key that output writes only for truncated bodies); the
/// response follows. The flow has the `gap` flag and its payload count excludes the lost bytes.
#[test]
fn gap() {
    let s = Scratch::new("gap");
    let body: Vec<u8> =
        b"{\"photo\":\"".iter().copied().chain(std::iter::repeat_n(b'A', 2990)).collect();
    let req = http::HttpRequest::post("upload.example", "/v2/photos", body).to_bytes();
    let mut t = Conversation::tcp(sa("10.1.0.5:49300"), sa("192.0.2.90:80")).start_ns(T0);
    t.handshake();
    let first = t.len();
    let head = req.len() - 3000;
    t.client_sends_split(&req, &[head + 1000, head + 2000]);
    t.drop_segment(first + 1);
    t.server_ack();
    t.server_sends(&http::HttpResponse::new(201, "Created").to_bytes()).fin();
    let f = s.write("gap.pcap", &pcap(&Link::ethernet(), &t.frames()));
    check_case("gap", &[&f]);
}

/// A pcap whose last record (the HTTP response) is cut in the middle of its data.
///
/// Expected: exit 0; stderr warns with the byte offset where the cut record starts; the events
/// before it (DNS, the HTTP request) are reported; the flow ends at the end of input.
#[test]
fn truncated_capture() {
    let s = Scratch::new("truncated_capture");
    let u = dns_lookup("10.1.0.5:53003", "10.1.0.1:53", 7, "news.example", &[], &["192.0.2.33"]);
    let mut t = Conversation::tcp(sa("10.1.0.5:49400"), sa("192.0.2.33:80"))
        .start_ns(u.next_ts_ns() + 10 * testkit::MS);
    t.handshake().client_sends(&http::HttpRequest::get("news.example", "/today").to_bytes());
    t.server_sends(&http::HttpResponse::ok("text/plain", b"headline ".repeat(20)).to_bytes());
    let frames = testkit::interleave([u.frames(), t.frames()]);
    let last = frames.last().unwrap().1.len();
    let mut bytes = pcap(&Link::ethernet(), &frames);
    let last_offset = bytes.len() - 16 - last;
    bytes.truncate(bytes.len() - last / 2);
    let f = s.write("cut.pcap", &bytes);
    for (cmd, kind) in [("events", "events"), ("flows", "flows")] {
        let out = phonehome(&[cmd, "--format", "jsonl"], &[&f], None);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{cmd}: a cut last record is not an error: {err}");
        assert!(err.contains("warning"), "{cmd}: no warning: {err}");
        assert!(err.contains(&f.display().to_string()), "{cmd}: file not named: {err}");
        assert!(
            err.contains(&format!("byte offset {last_offset}")),
            "{cmd}: offset {last_offset} not named: {err}"
        );
        golden("truncated_capture", kind, &text(&out.stdout));
    }
}

/// A text file given as a capture: exit 2, an error naming the file, nothing on stdout.
#[test]
fn not_a_capture() {
    let s = Scratch::new("not_a_capture");
    let f = s.write("notes.txt", b"These are my notes, not a packet capture.\n");
    for cmd in ["events", "flows"] {
        let out = phonehome(&[cmd, "--format", "jsonl"], &[&f], None);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: stderr: {err}");
        assert!(err.contains(&f.display().to_string()), "{cmd}: file not named: {err}");
        assert_eq!(text(&out.stdout), "", "{cmd}: nothing to report");
    }
}

/// Two captures in one call form one timeline: a DNS answer in the first (pcap) names a TCP flow
/// (opaque MQTT bytes) in the second (pcapng, nanoseconds) 5 s later. The second file starts
/// with another lookup, answered NXDOMAIN (no records).
///
/// Expected: events of the second file have `file` 1 and frame numbers counted from 1 in that
/// file; flow ids go on (2 for the second lookup, 3 for the TCP flow); flow 3 is named
/// `sync.example.net` from the first file's DNS answer.
#[test]
fn multi_file() {
    let s = Scratch::new("multi_file");
    let u = dns_lookup(
        "10.1.0.5:53004",
        "10.1.0.1:53",
        0x1234,
        "sync.example.net",
        &["sync-eu.example.net"],
        &["192.0.2.77"],
    );
    let a = s.write("a.pcap", &pcap(&Link::ethernet(), &u.frames()));
    let q = dns::DnsMessage::query(0x4321, "time.example.net", dns::qtype::A);
    let mut u2 = Conversation::udp(sa("10.1.0.5:53006"), sa("10.1.0.1:53")).start_ns(T0 + 4 * SEC);
    u2.client_datagram(&q.encode()).server_datagram(&q.clone().into_response().rcode(3).encode());
    let mut t =
        Conversation::tcp(sa("10.1.0.5:49500"), sa("192.0.2.77:8883")).start_ns(T0 + 5 * SEC);
    t.handshake()
        .client_sends(&[0x10, 0x0c, 0x00, 0x04, b'M', b'Q', b'T', b'T', 4, 2, 0, 60, 0, 0]);
    t.server_sends(&[0x20, 0x02, 0x00, 0x00]).fin();
    let frames = testkit::interleave([u2.frames(), t.frames()]);
    let b = s.write("b.pcapng", &pcapng(&Link::ethernet(), Some(9), &frames));
    check_case("multi_file", &[&a, &b]);
}

/// A gzip-compressed pcap read from standard input (`-`) gives exactly the output of the plain
/// file; the plain file's output is checked against the golden files.
#[test]
fn gzip_and_stdin() {
    let s = Scratch::new("gzip_and_stdin");
    let u = dns_lookup("10.1.0.5:53005", "10.1.0.1:53", 99, "cdn.example", &[], &["192.0.2.5"]);
    let mut t = Conversation::tcp(sa("10.1.0.5:49600"), sa("192.0.2.5:80"))
        .start_ns(u.next_ts_ns() + 10 * testkit::MS);
    t.handshake().client_sends(&http::HttpRequest::get("cdn.example", "/logo.png").to_bytes());
    t.server_sends(&http::HttpResponse::ok("image/png", vec![0x89; 300]).to_bytes()).fin();
    let frames = testkit::interleave([u.frames(), t.frames()]);
    let link = Link::ethernet();
    let plain = s.write("plain.pcap", &pcap(&link, &frames));
    check_case("gzip_and_stdin", &[&plain]);
    let mut w =
        PcapWriter::new_gzip(Vec::new(), testkit::PcapOptions::new(link.link_type())).unwrap();
    w.write_frames(&frames).unwrap();
    let gz = w.finish_gzip().unwrap();
    assert_eq!(&gz[..2], &[0x1f, 0x8b]);
    for cmd in ["events", "flows"] {
        let file = phonehome(&[cmd, "--format", "jsonl"], &[&plain], None);
        let stdin = phonehome(&[cmd, "--format", "jsonl", "-"], &[], Some(&gz));
        assert!(stdin.status.success(), "{cmd} on stdin: {}", text(&stdin.stderr));
        assert_eq!(text(&stdin.stderr), "", "{cmd} on stdin: unexpected stderr");
        assert_eq!(text(&stdin.stdout), text(&file.stdout), "{cmd}: stdin .gz != plain file");
    }
}

/// The demo capture shipped in `examples/` (generated by `testkit::scenario::redmi_2014`, see
/// `examples/README.md`): every TLS / QUIC flow named by SNI, every HTTP flow by Host, the
/// gzip + chunked address-book upload decoded, the retransmission and the reordered segment
/// invisible in the events.
#[test]
fn demo() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo.pcapng");
    check_case("demo", &[&demo]);
}
