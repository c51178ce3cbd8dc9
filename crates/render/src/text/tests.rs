//! Tests of the terminal report (and the sample reports other renderers' tests share).

use std::collections::BTreeSet;

use capture::Timestamp;
use detect::DataKind;

use super::{Style, clean, cols, fit, text, wrap};
use report::geo::GeoInfo;
use report::protection::Protection;
use report::severity::{Exposure, PartyClass, Severity};
use report::{
    AddressBookUpload, CaptureInfo, Destination, Device, Evidence, Finding, Party, Report, Source,
};

const T0: i64 = 1_407_661_200_000_000_000; // 2014-08-10T09:00:00Z

fn evidence(frame: u64) -> Evidence {
    Evidence {
        file: "demo.pcapng".into(),
        frame,
        flow: 3,
        offset: 0,
        field: "http.query:imei".into(),
        value: "86***********05".into(),
        src: Some(std::net::SocketAddr::from(([192, 168, 1, 23], 40000))),
    }
}

pub(crate) fn finding(host: &str, data: DataKind, item: &str, severity: Severity) -> Finding {
    Finding {
        data,
        item: item.into(),
        source: Source::Profile,
        host: host.into(),
        ip: "203.0.113.17".into(),
        port: 80,
        protocol: "http",
        encrypted: false,
        encoding: "plain".into(),
        where_: "http.query:imei".into(),
        count: 3,
        first_seen: Timestamp(T0 + 1_800_000_000),
        last_seen: Timestamp(T0 + 2_000_000_000),
        evidence: vec![evidence(12)],
        reason: "",
        protection: Protection::CleartextHttp,
        decrypted: false,
        exposure: Exposure::Cleartext,
        party: None,
        country: Some("CN".into()),
        leaves_country: Some(true),
        severity,
        severity_reason: "device identifier readable by anyone on the path".into(),
        shared_with: Vec::new(),
        device: None,
        app: None,
        stopped: 0,
    }
}

pub(crate) fn destination(host: &str, protection: Protection) -> Destination {
    Destination {
        devices: Default::default(),
        apps: Default::default(),
        refused: 0,
        host: host.into(),
        ips: BTreeSet::from(["203.0.113.17".to_string()]),
        protocols: BTreeSet::from(["http"]),
        flows: 1,
        bytes_sent: 1234,
        bytes_received: 5678,
        first_seen: Timestamp(T0 + 1_000_000_000),
        party: None,
        geo: Some(GeoInfo {
            country: Some("CN".into()),
            asn: Some(4837),
            as_org: Some("CHINA UNICOM China169 Backbone".into()),
            reason: None,
        }),
        protection,
        tls_sessions: 0,
        tls_decrypted: 0,
        cnames: Vec::new(),
        domain: host.into(),
        leaves_country: Some(true),
        findings: 0,
        severity: Severity::Info,
        severity_reason: "encrypted, nothing personal seen".into(),
        cert: None,
    }
}

fn xiaomi() -> Party {
    Party {
        name: "Xiaomi".into(),
        category: "manufacturer",
        country: Some("CN".into()),
        source: "phonehome",
        matched: "xiaomi.com".into(),
        class: PartyClass::First,
    }
}

/// A report with two parties, a destination with findings, quiet ones (one on weak TLS), DNS-
/// carried data, an address-book upload; `host` names the destination with findings.
pub(crate) fn sample(host: &str) -> Report {
    let mut findings = vec![
        finding(host, DataKind::Imei, "imei[0]", Severity::Critical),
        finding(host, DataKind::Contact, "Zhang San 張三", Severity::Critical),
        finding(host, DataKind::Imsi, "imsi[0]", Severity::High),
    ];
    findings[1].encoding = "gzip+base64+url".into();
    findings[1].where_ = "http.body:form:contacts[].name".into();
    for f in &mut findings {
        f.party = Some(xiaomi());
    }
    let mut dns = finding("leak.example", DataKind::AndroidId, "android_id", Severity::Critical);
    dns.where_ = "dns.qname".into();
    dns.protocol = "dns";
    dns.source = Source::Heuristic { confidence: 0.8 };
    findings.push(dns);
    let mut d1 = destination(host, Protection::CleartextHttp);
    d1.party = Some(xiaomi());
    d1.findings = 3;
    d1.severity = Severity::Critical;
    d1.severity_reason = "IMEI in cleartext: anyone on the path reads it".into();
    let mut d2 = destination("account.xiaomi.com", Protection::Tls { version: Some(0x0303) });
    d2.party = Some(xiaomi());
    let mut d3 = destination("old.tracker.example", Protection::Tls { version: Some(0x0301) });
    d3.severity = Severity::Low;
    d3.severity_reason = "weak TLS".into();
    d3.geo = Some(GeoInfo { reason: Some("not-found"), ..GeoInfo::default() });
    d3.cnames = vec!["edge.cdn.example".into()];
    let d4 = destination("192.168.1.1", Protection::Cleartext);
    Report {
        recurring: Vec::new(),
        summarised: report::Summarised::default(),
        refused: Vec::new(),
        refused_total: 0,
        redacted: Default::default(),
        flows: Vec::new(),
        flows_left_out: 0,
        coverage: report::Coverage::default(),
        findings,
        destinations: vec![d4, d1, d2, d3],
        address_book_uploads: vec![AddressBookUpload {
            host: host.into(),
            contacts: 12,
            evidence: evidence(57),
            time: Timestamp(T0 + 11_000_000_000),
        }],
        geo_source: Some("test".into()),
        captures: vec![CaptureInfo {
            device: None,
            path: "examples/demo.pcapng".into(),
            sha256: Some("bacd253f4fe11474c5a1fb13776ae33c0549b69e7bceaba2333c96a99d70c8ae".into()),
            size: 65732,
            format: Some("pcapng"),
            compression: Some("none"),
            packets: 168,
            first_packet: Some(Timestamp(T0)),
            last_packet: Some(Timestamp(T0 + 37_784_000_000)),
            warnings: Vec::new(),
            error: None,
            model: None,
            firmware: None,
        }],
        device: Some(Device {
            name: Some("Redmi 1S test unit".into()),
            country: Some("TW".into()),
            manufacturer: Some("Xiaomi".into()),
            profile: Some("examples/profile.toml".into()),
        }),
    }
}

pub(crate) const HOSTILE: &str = "evil\x1b[2J\x1b]0;pwned\x07|*_`<b>[x](y)\n# h\u{202E}.example";

fn plain(width: usize) -> Style {
    Style { color: false, width }
}

#[test]
fn content_verdict_first_then_parties_destinations_data() {
    let out = text(&sample("api.account.xiaomi.com"), &plain(100));
    let first = out.lines().next().unwrap();
    assert!(first.starts_with("Verdict: CRITICAL"), "{out}");
    assert!(first.contains("3 critical, 1 high"), "{out}");
    for needle in [
        "Parties and destinations",
        "Xiaomi (manufacturer, based in CN China)",
        "api.account.xiaomi.com",
        "cleartext HTTP",
        "CN China",
        "AS4837 CHINA",
        "IMEI in cleartext",
        "imei[0]",
        "gzip+base64+url",
        "09:00:01",
        "TLS 1.0 (weak)",
        "TLS 1.2",
        "? not-found",
        "via CNAME edge.cdn.example",
        "Data inside DNS queries",
        "queries for leak.example",
        "android_id",
        "(guess 0.8)",
        "Address-book uploads",
        "12 contacts in one message to api.account.xiaomi.com",
        "examples/demo.pcapng: 168 packets, 2014-08-10 09:00:00 to 09:00:37 UTC (37.8 s)",
        "bacd253f4fe11474…",
        "Device: Redmi 1S test unit by Xiaomi, used in TW Taiwan",
        "Severity rubric: docs/severity.md",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
    // Every destination appears, with its protection on its line.
    for (host, prot) in [
        ("192.168.1.1", "cleartext"),
        ("account.xiaomi.com", "TLS 1.2"),
        ("old.tracker.example", "TLS 1.0 (weak)"),
    ] {
        let line = out.lines().find(|l| l.starts_with(&format!("  {host} "))).unwrap();
        assert!(line.contains(prot), "{line}");
    }
    // Parties in summary order: the one with data first.
    let xiaomi = out.find("Xiaomi (").unwrap();
    let router = out.find("192.168.1.1 (unknown").unwrap();
    assert!(xiaomi < router, "{out}");
}

#[test]
fn same_numbers_as_the_summary() {
    let report = sample("api.account.xiaomi.com");
    let s = report::summary::Summary::of(&report);
    let out = text(&report, &plain(120));
    assert!(out.contains(&format!("{} destinations contacted", s.destinations)), "{out}");
    assert!(out.contains(&format!("{} received personal data", s.destinations_with_data)));
    assert!(out.contains(&format!("{} unprotected", s.unprotected_destinations)));
    assert!(out.contains(&format!("{} of {} findings", s.cleartext_findings, s.findings)));
    for story in &s.stories {
        let first_words: String = story.split(' ').take(4).collect::<Vec<_>>().join(" ");
        assert!(out.contains(&first_words), "{first_words} in {out}");
    }
}

#[test]
fn every_line_fits_the_width() {
    for host in ["api.account.xiaomi.com", &format!("{}.example", "very-long-label".repeat(12))] {
        let report = sample(host);
        for width in [30, 60, 80, 120] {
            for color in [false, true] {
                let out = text(&report, &Style { color, width });
                for line in out.lines() {
                    let visible = strip_sgr(line);
                    assert!(cols(&visible) <= width, "{width}: {} cols: {line:?}", cols(&visible));
                }
            }
        }
    }
}

#[test]
fn no_escapes_without_colour_and_escapes_with() {
    let report = sample("api.account.xiaomi.com");
    let out = text(&report, &plain(100));
    assert!(!out.contains('\x1b'), "{out}");
    let colored = text(&report, &Style { color: true, width: 100 });
    assert!(colored.contains("\x1b["), "{colored}");
    // Critical is bold red; headings are bold.
    assert!(
        colored.contains("\x1b[1m\x1b[31mCRITICAL")
            || colored.contains("\x1b[1;31mCRITICAL")
            || colored.contains("\x1b[31m\x1b[1mCRITICAL"),
        "{colored:?}"
    );
    assert_eq!(strip_sgr(&colored), out);
}

#[test]
fn hostile_strings_never_reach_the_terminal() {
    let mut report = sample(HOSTILE);
    report.captures[0].path = HOSTILE.into();
    report.findings[0].item = HOSTILE.into();
    report.device.as_mut().unwrap().name = Some(HOSTILE.into());
    for color in [false, true] {
        let out = text(&report, &Style { color, width: 100 });
        assert!(!out.contains("\x1b[2J") && !out.contains("\x1b]0"), "{out:?}");
        assert!(!out.contains('\x07') && !out.contains('\u{202E}'), "{out:?}");
        if !color {
            assert!(!out.contains('\x1b'));
        }
        assert!(out.contains("evil\u{FFFD}[2J"), "{out}");
    }
}

#[test]
fn empty_report() {
    let out = text(&Report::default(), &plain(80));
    assert!(out.starts_with("Verdict: INFO  no personal data found"), "{out}");
    assert!(out.contains("No personal data found"), "{out}");
    assert!(out.contains("Captures"));
}

#[test]
fn helpers() {
    assert_eq!(clean("a\x1b[31mb\tc\u{9b}d"), "a\u{FFFD}[31mb c\u{FFFD}d");
    assert_eq!(fit("abcdef", 4), "abc…");
    assert_eq!(fit("張三李四", 5), "張三…");
    assert_eq!(fit("abc", 3), "abc");
    assert_eq!(wrap("one two three four", 9, "- ", 2), ["- one two", "  three", "  four"]);
    assert_eq!(wrap("abcdefghijkl", 6, "", 2), ["abcdef", "  ghij", "  kl"]);
}

/// The demo capture (testkit's Redmi 2014 scenario) through the analyzer with the example
/// profile, attributed with the entity database and no geo data, as `analyze` does.
pub(crate) fn demo() -> Report {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let p = detect::profile::Profile::load(root.join("profile.toml")).unwrap();
    let set = detect::variants::build(&p);
    let matcher = detect::matcher::Matcher::from_set(&set).unwrap();
    let analyzer =
        report::Analyzer::new(set, Some(matcher), p.location, report::Options::default());
    let bytes = testkit::scenario::redmi_2014();
    let mut reader = capture::CaptureReader::from_read(std::io::Cursor::new(bytes)).unwrap();
    let mut pipeline = pipeline::Pipeline::new(pipeline::Config::default(), analyzer);
    pipeline.run(0, &mut reader).unwrap();
    let mut report = pipeline.finish().0.into_report().0;
    report.device = Some(Device {
        country: p.country.clone(),
        manufacturer: p.manufacturer.clone(),
        ..Device::default()
    });
    report.attribute(&report::attribution::Entities::builtin(), &report::geo::Geo::none());
    report
}

#[test]
fn analyzer_built_demo_report() {
    let report = demo();
    assert!(!report.findings.is_empty() && report.destinations.len() > 3);
    let s = report::summary::Summary::of(&report);
    for width in [60, 80, 100, 120] {
        let out = text(&report, &plain(width));
        assert!(out.lines().all(|l| cols(l) <= width), "{width}:\n{out}");
        assert!(!out.contains('\x1b'));
        assert!(out.starts_with(&format!("Verdict: {}", s.verdict.as_str().to_uppercase())));
        // Every destination is listed, on a line of its own with its protection.
        if width >= 100 {
            for d in &report.destinations {
                let line = out
                    .lines()
                    .find(|l| l.starts_with(&format!("  {} ", d.host)))
                    .unwrap_or_else(|| panic!("{} missing:\n{out}", d.host));
                assert!(line.contains(&d.protection.label()), "{line}");
            }
        }
    }
    let md = super::super::markdown::markdown(&report);
    for d in &report.destinations {
        assert!(md.contains(&format!("| {} |", super::super::markdown::escape(&d.host))));
    }
}

fn strip_sgr(s: &str) -> String {
    let mut out = String::new();
    let mut esc = false;
    for c in s.chars() {
        if esc {
            esc = c != 'm';
        } else if c == '\x1b' {
            esc = true;
        } else {
            out.push(c);
        }
    }
    out
}

/// A long session that let findings go says so in every rendering (and in JSON's `summarised`).
#[test]
fn what_a_long_session_let_go_is_said() {
    let mut r = sample("x.example");
    r.summarised =
        report::Summarised { findings: 2000, occurrences: 9000, destinations: 3, uploads: 0 };
    let t = text(&r, &Style { color: false, width: 200 });
    assert!(
        t.contains("Summarised: to keep memory bounded, this session let go of its 2000"),
        "{t}"
    );
    assert!(crate::markdown::markdown(&r).contains("- Summarised: to keep memory bounded"));
    assert!(crate::html::html(&r).contains("data-notice=\"summarised\""));
    assert_eq!(crate::json(&r)["summarised"]["occurrences"], 9000);
    assert!(!text(&sample("x.example"), &Style::default()).contains("Summarised"));
}

#[test]
fn what_the_gateway_refused_and_stopped_is_said_in_every_format() {
    let mut r = sample("x.example");
    let imei = r.findings.iter().position(|f| f.data == DataKind::Imei).unwrap();
    r.findings[imei].stopped = r.findings[imei].count;
    r.refused_total = 25;
    r.refused = (0..25)
        .map(|i| report::RefusedConnection {
            time: capture::Timestamp(1_000_000_000 * i),
            device: Some("phone".into()),
            transport: "tcp",
            server: "198.51.100.10".into(),
            port: 443,
            flow: i as u64,
            matched: "sni sdk.tracker.example".into(),
            rule: "tracker.example (block.txt:1)".into(),
        })
        .collect();
    r.redacted.insert("imei[0]".into(), 3);
    let t = text(&r, &Style { color: false, width: 200 });
    assert!(t.contains("Refused by the gateway: 25 connections"), "{t}");
    assert!(t.contains(
        "Redacted by the gateway: 3 occurrences rewritten to fakes before they left (imei[0] x3)."
    ));
    assert!(crate::html::html(&r).contains("data-notice=\"redacted\""));
    assert_eq!(crate::json(&r)["redacted"]["total"], 3);
    assert!(t.contains(
        "phone tcp 198.51.100.10:443: sni sdk.tracker.example, by tracker.example (block.txt:1)"
    ));
    assert!(t.contains("... and 5 more"), "{t}");
    assert!(t.contains("(stopped by the gateway)"), "{t}");
    let md = crate::markdown::markdown(&r);
    assert!(md.contains("## Refused by the gateway") && md.contains("stopped by the gateway"));
    let html = crate::html::html(&r);
    assert_eq!(html.matches("<tr data-refused>").count(), 25);
    assert!(html.contains("stopped by the gateway"));
    let j = crate::json(&r);
    assert_eq!(j["refused"]["total"], 25);
    assert_eq!(j["refused"]["connections"][3]["matched"], "sni sdk.tracker.example");
    assert_eq!(j["findings"][imei]["stopped"], j["findings"][imei]["count"]);
    let none = text(&sample("x.example"), &Style::default());
    assert!(!none.contains("Refused") && !none.contains("stopped") && !none.contains("Redacted"));
}
