//! Tests of the report model through the real pipeline: protection per destination (TLS version,
//! weak TLS, entropy), CNAME-cloaking attribution, severity and the country flag.

use std::net::{IpAddr, SocketAddr};

use testkit::app::{dns, tls};
use testkit::{Conversation, Frame, PcapWriter, Rng};

use report::attribution::Entities;
use report::geo::Geo;
use report::severity::{Exposure, Severity};
use report::{Analyzer, Device, Options, Protection, Report, Summary};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Runs `frames` through the pipeline with the analyzer (no profile) and attributes the report.
fn run(frames: Vec<Frame>, device: Option<Device>) -> Report {
    let mut w = PcapWriter::new(Vec::new(), testkit::linktype::ETHERNET).unwrap();
    let mut frames = frames;
    frames.sort_by_key(|f| f.0);
    w.write_frames(&frames).unwrap();
    let bytes = w.finish().unwrap();
    let mut reader = capture::CaptureReader::from_read(std::io::Cursor::new(bytes)).unwrap();
    let analyzer = Analyzer::new(Default::default(), None, None, Options::default());
    let mut pipeline = pipeline::Pipeline::new(pipeline::Config::default(), analyzer);
    pipeline.run(0, &mut reader).unwrap();
    let mut report = pipeline.finish().0.into_report().0;
    report.device = device;
    report.attribute(&Entities::builtin(), &Geo::none());
    report
}

fn tls_flow(client: &str, server: &str, sni: &str, version: u16, at: i64) -> Vec<Frame> {
    let mut c = Conversation::tcp(sa(client), sa(server)).start_ns(T0 + at);
    c.handshake();
    c.client_sends(&tls::record(22, 0x0301, &tls::ClientHello::tls12(sni).handshake_bytes()));
    let hello = tls::ServerHello { version, ..tls::ServerHello::tls12(None) };
    c.server_sends(&tls::record(22, version, &hello.handshake_bytes()));
    let mut rng = Rng::new(7);
    c.client_sends(&tls::application_data(300, &mut rng));
    c.fin();
    c.frames()
}

fn dest<'a>(r: &'a Report, host: &str) -> &'a report::Destination {
    r.destinations.iter().find(|d| d.host == host).unwrap_or_else(|| panic!("{host}: {r:?}"))
}

#[test]
fn tls_versions_weak_tls_and_entropy() {
    let mut frames = tls_flow("10.0.0.2:40001", "192.0.2.10:443", "old.example", 0x0301, 0);
    frames.extend(tls_flow("10.0.0.2:40002", "192.0.2.11:443", "new.example", 0x0303, 1_000));
    // An unknown protocol: random bytes, and text.
    let mut rng = Rng::new(99);
    let mut c = Conversation::tcp(sa("10.0.0.2:40003"), sa("192.0.2.12:9000")).start_ns(T0 + 2_000);
    c.handshake();
    c.client_sends(&rng.bytes(2000)).fin();
    frames.extend(c.frames());
    let mut c = Conversation::tcp(sa("10.0.0.2:40004"), sa("192.0.2.13:9000")).start_ns(T0 + 3_000);
    c.handshake();
    c.client_sends(&b"HELLO device=redmi status=ok battery=88 wifi=on\n".repeat(20)).fin();
    frames.extend(c.frames());
    let r = run(frames, None);

    let old = dest(&r, "old.example");
    assert_eq!(old.protection, Protection::Tls { version: Some(0x0301) });
    assert!(old.protection.is_weak());
    assert_eq!(old.severity, Severity::Low, "weak TLS without findings is low");
    let new = dest(&r, "new.example");
    assert_eq!(new.protection, Protection::Tls { version: Some(0x0303) });
    assert_eq!(new.severity, Severity::Info);
    assert_eq!(dest(&r, "192.0.2.12").protection, Protection::EncryptedUnknown);
    assert_eq!(dest(&r, "192.0.2.13").protection, Protection::Cleartext);
    // The JSON `encrypted` agrees with the protection.
    let doc = render::json(&r);
    for d in doc["destinations"].as_array().unwrap() {
        let encrypted = d["protection"] == "tls"
            || d["protection"] == "quic"
            || d["protection"] == "encrypted-unknown";
        assert_eq!(d["encrypted"], encrypted, "{d}");
    }
}

/// A first-party-looking name (`metrics.shop-demo.com`) whose DNS answer is a CNAME into Adobe's
/// tracking domain is attributed to Adobe; the CNAME chain is kept on the destination.
#[test]
fn cname_cloaking_is_attributed_to_the_tracker() {
    let (client, resolver) = (sa("10.0.0.2:5353"), sa("10.0.0.1:53"));
    let server: IpAddr = "192.0.2.50".parse().unwrap();
    let q = dns::DnsMessage::query(7, "metrics.shop-demo.com", 1);
    let a = q.clone().into_response().answers(dns::DnsRecord::chain(
        "metrics.shop-demo.com",
        &["shop.sc.omtrdc.net"],
        &[server],
        60,
    ));
    let mut c = Conversation::udp(client, resolver);
    c.client_datagram(&q.encode()).server_datagram(&a.encode());
    let mut frames = c.frames();
    // Plain HTTP to it, carrying an e-mail address the heuristics find.
    let mut h =
        Conversation::tcp(sa("10.0.0.2:40100"), SocketAddr::new(server, 80)).start_ns(T0 + SEC);
    h.handshake();
    h.client_sends(
        b"GET /b/ss?email=jane.doe%40example.org HTTP/1.1\r\nHost: metrics.shop-demo.com\r\n\r\n",
    )
    .fin();
    frames.extend(h.frames());
    let r = run(frames, Some(Device { country: Some("TW".into()), ..Device::default() }));
    let d = dest(&r, "metrics.shop-demo.com");
    assert_eq!(d.cnames, ["shop.sc.omtrdc.net"]);
    let party = d.party.as_ref().expect("attributed");
    assert!(party.name.starts_with("Adobe"), "{party:?}");
    assert_eq!(party.matched, "shop.sc.omtrdc.net");
    assert_eq!(party.category, "analytics");
    assert_eq!(d.domain, "shop-demo.com");
    let f = r.findings.iter().find(|f| f.host == d.host).expect("the e-mail");
    assert_eq!(f.exposure, Exposure::Cleartext);
    assert_eq!(f.party.as_ref().map(|p| p.name.as_str()), Some(party.name.as_str()));
    assert_eq!(f.severity, Severity::Critical, "{}", f.severity_reason);
    assert!(f.severity_reason.contains("third party"), "{}", f.severity_reason);
    // No geo data: the country is unknown, and so is whether the data left the device's.
    assert_eq!((f.leaves_country, d.leaves_country), (None, None));
    let s = Summary::of(&r);
    assert_eq!((s.findings_leaving_country, s.findings_country_unknown), (0, 1));
    check_unknown_is_not_no(&r);
    assert_eq!(s.verdict, Severity::Critical);
    assert_eq!(s.findings_by_severity[Severity::Critical as usize], 1);
    assert!(s.stories[0].contains("Adobe"), "{:?}", s.stories);
}

const SEC: i64 = testkit::SEC;
const T0: i64 = testkit::DEFAULT_START_NS;

/// A report whose device country is known but whose servers' countries are not: every renderer
/// says "unknown", none says "0 outside"; JSON has `leaves_country: null`.
fn check_unknown_is_not_no(r: &Report) {
    let j = render::json(r);
    assert!(j["findings"][0]["leaves_country"].is_null(), "{}", j["findings"][0]);
    assert!(j["destinations"].as_array().unwrap().iter().all(|d| d["leaves_country"].is_null()));
    assert_eq!(j["summary"]["findings_leaving_country"], 0);
    assert_eq!(j["summary"]["findings_country_unknown"], 1);
    let text = render::text::text(r, &Default::default());
    let md = render::markdown::markdown(r);
    let html = render::html::html(r);
    for (name, out) in [("text", &text), ("markdown", &md), ("html", &html)] {
        assert!(!out.contains("0 sent outside"), "{name}: {out}");
        assert!(out.contains("unknown"), "{name}");
    }
    assert!(text.contains("server country unknown for the finding"), "{text}");
    assert!(md.contains("| findings sent outside TW | unknown |"), "{md}");
    assert!(html.contains("data-metric=\"summary.findings_leaving_country\">unknown<"), "{html}");
}

/// A capture that could not be read gives no verdict in any format: never "no personal data
/// found"; one read in part says which part in the verdict line.
#[test]
fn an_unreadable_capture_is_no_all_clear() {
    use report::CaptureInfo;

    let unreadable = CaptureInfo {
        path: "broken.pcap".into(),
        error: Some("not a capture file (first bytes 7b 22 61 22)".into()),
        ..CaptureInfo::default()
    };
    let mut r = Report { captures: vec![unreadable.clone()], ..Report::default() };
    r.attribute(&Entities::builtin(), &Geo::none());
    let s = Summary::of(&r);
    assert!(s.nothing_read);
    let j = render::json(&r);
    assert!(j["summary"]["verdict"].is_null(), "{}", j["summary"]);
    assert_eq!(j["summary"]["complete"], false);
    assert!(j["summary"]["unread"][0].as_str().unwrap().starts_with("broken.pcap: not a capture"));
    let text = render::text::text(&r, &Default::default());
    let md = render::markdown::markdown(&r);
    let html = render::html::html(&r);
    for (name, out) in
        [("text", &text), ("markdown", &md), ("html", &html), ("json", &j.to_string())]
    {
        assert!(!out.to_lowercase().contains("no personal data found"), "{name}: {out}");
        assert!(out.contains("broken.pcap"), "{name}");
    }
    assert!(text.starts_with("Verdict: INCOMPLETE  nothing could be read"), "{text}");
    assert!(md.contains("**Verdict: INCOMPLETE** (nothing could be read)"), "{md}");
    assert!(html.contains("data-metric=\"summary.verdict\">incomplete<"), "{html}");

    // Read in part: a verdict, and the verdict line says what was not read.
    let whole = CaptureInfo { path: "good.pcap".into(), packets: 10, ..CaptureInfo::default() };
    let cut = CaptureInfo {
        path: "cut.pcap".into(),
        packets: 3,
        error: Some("at byte offset 900: truncated packet record".into()),
        ..CaptureInfo::default()
    };
    let mut r = Report { captures: vec![whole, cut], ..Report::default() };
    r.attribute(&Entities::builtin(), &Geo::none());
    let text = render::text::text(&r, &Default::default());
    let first = text.lines().next().unwrap();
    assert!(first.starts_with("Verdict: INFO"), "{first}");
    assert!(first.contains("incomplete: 1 input not read whole"), "{first}");
    assert!(text.contains("Not read whole: cut.pcap: stopped after 3 packets: at byte offset 900"));
    let j = render::json(&r);
    assert_eq!(
        (j["summary"]["verdict"].as_str(), j["summary"]["complete"].as_bool()),
        (Some("info"), Some(false))
    );
    assert!(render::markdown::markdown(&r).contains("Not read whole: cut.pcap: stopped after 3"));
    assert!(render::html::html(&r).contains("class=\"incomplete\">Not read whole: cut.pcap"));
}
