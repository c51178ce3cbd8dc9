//! Cross-checks written captures with tshark, when it is installed (skipped otherwise).

use std::path::{Path, PathBuf};
use std::process::Command;

use testkit::app::{dns, http, quic, tls};
use testkit::packet::Link;
use testkit::{Conversation, Endian, Frame, PcapNgWriter, PcapOptions, PcapWriter};

fn tshark() -> bool {
    Command::new("tshark").arg("--version").output().is_ok_and(|o| o.status.success())
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("testkit-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn run(path: &Path, args: &[&str]) -> String {
    let out = Command::new("tshark")
        .arg("-n")
        .arg("-r")
        .arg(path)
        .args(["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE"])
        .args(["-o", "udp.check_checksum:TRUE", "-o", "tcp.reassemble_out_of_order:TRUE"])
        .args(args)
        .output()
        .expect("run tshark");
    assert!(out.status.success(), "tshark failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Frames of a little scenario: DNS with a CNAME chain (one response fragmented), HTTP with a
/// reordered 3-segment request, TLS with a ClientHello over two records, QUIC v1 and v2.
fn scenario(link: &Link, v6: bool) -> Vec<Frame> {
    let (phone, resolver, web, cdn) = if v6 {
        ("[2001:db8::2]", "[2001:db8::53]", "[2001:db8::80]", "[2001:db8::443]")
    } else {
        ("10.0.0.2", "10.0.0.1", "192.0.2.80", "192.0.2.43")
    };
    let sa = |h: &str, p: u16| format!("{h}:{p}").parse().unwrap();
    let q = dns::DnsMessage::query(0x4242, "www.tracker.example", dns::qtype::A);
    let r = q.clone().into_response().answers(dns::DnsRecord::chain(
        "www.tracker.example",
        &["edge.cdn.example"],
        &["192.0.2.80".parse().unwrap()],
        60,
    ));
    let mut d = Conversation::udp(sa(phone, 40001), sa(resolver, 53)).link(link.clone());
    d.client_datagram(&q.encode()).server_datagram(&r.encode()).fragment(1, &[24]);

    let req = http::HttpRequest::get("www.tracker.example", "/track?id=1").to_bytes();
    let resp = http::HttpResponse::ok("application/json", b"{\"ok\":true}".to_vec()).gzip();
    let mut h = Conversation::tcp(sa(phone, 40002), sa(web, 80))
        .link(link.clone())
        .start_ns(d.next_ts_ns());
    h.handshake();
    let first = h.len();
    h.client_sends_split(&req, &[10, 40]);
    h.reorder(&[first + 2, first + 1]);
    h.server_sends(&resp.to_bytes()).fin();

    let ch = tls::ClientHello::new("api.tracker.example").records_split_at(&[50]);
    let mut t = Conversation::tcp(sa(phone, 40003), sa(cdn, 443))
        .link(link.clone())
        .start_ns(h.next_ts_ns());
    t.handshake().client_sends(&ch).server_sends(&tls::ServerHello::tls13(&[0; 32]).record());
    t.rst();

    let mut qc = Conversation::udp(sa(phone, 40004), sa(cdn, 443))
        .link(link.clone())
        .start_ns(t.next_ts_ns());
    qc.client_datagram(&quic::client_initial(
        quic::QuicVersion::V1,
        &[1; 8],
        &[2; 8],
        "quic1.tracker.example",
        &["h3"],
    ));
    let mut qc2 = Conversation::udp(sa(phone, 40005), sa(cdn, 443))
        .link(link.clone())
        .start_ns(qc.next_ts_ns());
    qc2.client_datagram(&quic::client_initial(
        quic::QuicVersion::V2,
        &[3; 8],
        &[4; 8],
        "quic2.tracker.example",
        &["h3"],
    ));
    testkit::interleave([d.frames(), h.frames(), t.frames(), qc.frames(), qc2.frames()])
}

fn check(path: &Path) {
    let bad = run(
        path,
        &[
            "-Y",
            "ip.checksum.status==0 || tcp.checksum.status==0 || udp.checksum.status==0 \
             || _ws.malformed || tcp.analysis.flags && !tcp.analysis.out_of_order \
             && !tcp.analysis.reused_ports && !tcp.analysis.lost_segment",
        ],
    );
    assert!(bad.is_empty(), "{}: bad packets:\n{bad}", path.display());
    let fields = run(
        path,
        &[
            "-T",
            "fields",
            "-e",
            "dns.qry.name",
            "-e",
            "dns.cname",
            "-e",
            "http.request.uri",
            "-e",
            "http.response.code",
            "-e",
            "tls.handshake.extensions_server_name",
            "-e",
            "quic.version",
        ],
    );
    for want in [
        "www.tracker.example\tedge.cdn.example",
        "/track?id=1",
        "\t200\t",
        "api.tracker.example",
        "quic1.tracker.example\t0x00000001",
        "quic2.tracker.example\t0x6b3343cf",
    ] {
        assert!(fields.contains(want), "{}: {want:?} not in\n{fields}", path.display());
    }
}

#[test]
fn tshark_reads_pcap_and_pcapng() {
    if !tshark() {
        testkit::skip::skip("testkit tshark cross-check", "tshark is not installed");
        return;
    }
    // pcap, little-endian, microseconds, 802.1Q + 802.1ad tags, IPv4.
    let link = Link::qinq(100, 200);
    let p = tmp("scenario.pcap");
    let mut w = PcapWriter::new(testkit::create_file(&p).unwrap(), link.link_type()).unwrap();
    w.write_frames(&scenario(&link, false)).unwrap();
    w.finish().unwrap();
    check(&p);

    // pcapng, big-endian section, nanoseconds, SLL2, IPv6, plus blocks a reader must skip.
    let link = Link::sll2();
    let p = tmp("scenario.pcapng");
    let mut w = PcapNgWriter::with_endian(testkit::create_file(&p).unwrap(), Endian::Big).unwrap();
    w.add_interface(link.link_type() as u16, 0, Some(9)).unwrap();
    w.write_custom(32473, b"skip me", true).unwrap();
    w.write_nrb(&[("2001:db8::80".parse().unwrap(), "web.example")]).unwrap();
    w.write_frames(0, &scenario(&link, true)).unwrap();
    w.finish().unwrap();
    check(&p);

    // gzip, big-endian nanosecond pcap, raw IP.
    let link = Link::Raw;
    let p = tmp("scenario.pcap.gz");
    let opts = PcapOptions::new(link.link_type()).endian(Endian::Big).nanos();
    let mut w = PcapWriter::new_gzip(testkit::create_file(&p).unwrap(), opts).unwrap();
    w.write_frames(&scenario(&link, false)).unwrap();
    w.finish_gzip().unwrap();
    check(&p);
    std::fs::remove_dir_all(p.parent().unwrap()).ok();
}
