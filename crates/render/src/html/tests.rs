//! Tests of the HTML page: CSP, self-containment, the `data-*` contract against the JSON
//! document, escaping, determinism.

use capture::Timestamp;
use detect::DataKind;
use serde_json::Value;

use super::{CSS, Esc, JS, csp_hash, html};
use report::geo::GeoInfo;
use report::protection::Protection;
use report::severity::{Exposure, PartyClass, Severity};
use report::{
    AddressBookUpload, CaptureInfo, Destination, Device, Evidence, Finding, Party, Report, Source,
};

const T0: i64 = 1_407_661_200_412_069_715;

fn at(ms: i64) -> Timestamp {
    Timestamp(T0 + ms * 1_000_000)
}

fn evidence(file: &str, frame: u64, field: &str, value: &str) -> Evidence {
    Evidence {
        file: file.into(),
        frame,
        flow: frame / 10,
        offset: 17,
        field: field.into(),
        value: value.into(),
        src: Some(std::net::SocketAddr::from(([192, 168, 1, 23], 40000))),
    }
}

fn party(name: &str, category: &'static str, country: &str, class: PartyClass) -> Party {
    Party {
        name: name.into(),
        category,
        country: Some(country.into()),
        source: "phonehome",
        matched: name.into(),
        class,
    }
}

#[allow(clippy::too_many_arguments)]
fn finding(
    host: &str,
    data: DataKind,
    item: &str,
    encoding: &str,
    where_: &str,
    ms: i64,
    severity: Severity,
    exposure: Exposure,
    party: Option<Party>,
    country: Option<&str>,
) -> Finding {
    Finding {
        data,
        item: item.into(),
        source: Source::Profile,
        host: host.into(),
        ip: "203.0.113.17".into(),
        port: 80,
        protocol: "http",
        encrypted: exposure == Exposure::Encrypted,
        encoding: encoding.into(),
        where_: where_.into(),
        count: 2,
        first_seen: at(ms),
        last_seen: at(ms + 1500),
        evidence: vec![evidence("demo.pcapng", 29, where_, "86***********05")],
        reason: "",
        protection: Protection::CleartextHttp,
        decrypted: false,
        exposure,
        party,
        country: country.map(String::from),
        leaves_country: country.map(|c| c != "TW"),
        severity,
        severity_reason: format!("rated {}", severity.as_str()),
        shared_with: Vec::new(),
        device: None,
        app: None,
        stopped: 0,
    }
}

#[allow(clippy::too_many_arguments)]
fn destination(
    host: &str,
    ip: &str,
    ms: i64,
    protection: Protection,
    party: Option<Party>,
    country: Option<&str>,
    findings: usize,
    severity: Severity,
) -> Destination {
    Destination {
        devices: Default::default(),
        apps: Default::default(),
        refused: 0,
        host: host.into(),
        ips: [ip.to_string()].into(),
        protocols: ["http"].into(),
        flows: 2,
        bytes_sent: 1234 + ms as u64,
        bytes_received: 40_000 + ms as u64,
        first_seen: at(ms),
        party,
        geo: Some(GeoInfo {
            country: country.map(String::from),
            asn: country.map(|_| 4808),
            as_org: country.map(|_| "China Unicom Beijing".to_string()),
            reason: if country.is_some() { None } else { Some("documentation") },
        }),
        protection,
        tls_sessions: 0,
        tls_decrypted: 0,
        cnames: Vec::new(),
        domain: host.split_once('.').map_or(host, |(_, d)| d).into(),
        leaves_country: country.map(|c| c != "TW"),
        findings,
        severity,
        severity_reason: format!("worst: {}", severity.as_str()),
        cert: None,
    }
}

/// A report shaped like the demo's: a manufacturer in cleartext, a tracker over weak TLS, a quiet
/// destination, data in DNS names, an address-book upload.
fn demo() -> Report {
    let xiaomi = party("Xiaomi", "manufacturer", "CN", PartyClass::First);
    let host = "api.account.xiaomi.com";
    let tracker = "api.ad-tracker.example";
    let mut weak = finding(
        tracker,
        DataKind::AndroidId,
        "android_id[0]",
        "md5",
        "http.query:aid",
        26_000,
        Severity::Medium,
        Exposure::WeakTls,
        None,
        None,
    );
    weak.source = Source::Heuristic { confidence: 0.8 };
    weak.reason = "hex-id";
    Report {
        recurring: Vec::new(),
        summarised: report::Summarised::default(),
        refused: Vec::new(),
        refused_total: 0,
        redacted: Default::default(),
        flows: Vec::new(),
        flows_left_out: 0,
        coverage: report::Coverage::default(),
        findings: vec![
            finding(
                host,
                DataKind::Imei,
                "imei[0]",
                "plain",
                "http.query:imei",
                1800,
                Severity::Critical,
                Exposure::Cleartext,
                Some(xiaomi.clone()),
                Some("CN"),
            ),
            finding(
                host,
                DataKind::Imsi,
                "imsi[0]",
                "plain",
                "http.form:imsi",
                1800,
                Severity::Critical,
                Exposure::Cleartext,
                Some(xiaomi.clone()),
                Some("CN"),
            ),
            finding(
                host,
                DataKind::Contact,
                "Wang Wei",
                "url",
                "http.body",
                11_000,
                Severity::High,
                Exposure::Cleartext,
                Some(xiaomi.clone()),
                Some("CN"),
            ),
            weak,
            finding(
                "leak.example",
                DataKind::Imei,
                "imei[0]",
                "hex",
                "dns.qname",
                30_000,
                Severity::Critical,
                Exposure::Cleartext,
                None,
                None,
            ),
        ],
        destinations: vec![
            destination(
                host,
                "203.0.113.17",
                1700,
                Protection::CleartextHttp,
                Some(xiaomi),
                Some("CN"),
                3,
                Severity::Critical,
            ),
            destination(
                "www.google.com",
                "198.51.100.4",
                5000,
                Protection::Tls { version: Some(0x0304) },
                Some(party("Google", "os-vendor", "US", PartyClass::First)),
                Some("US"),
                0,
                Severity::Info,
            ),
            destination(
                tracker,
                "192.0.2.150",
                25_900,
                Protection::Tls { version: Some(0x0301) },
                None,
                None,
                1,
                Severity::Medium,
            ),
        ],
        address_book_uploads: vec![AddressBookUpload {
            host: host.into(),
            contacts: 12,
            evidence: evidence("demo.pcapng", 82, "http.body", "W****ei"),
            time: at(11_000),
        }],
        geo_source: Some("ip-location-db (2026-11-01)".into()),
        captures: vec![CaptureInfo {
            device: None,
            path: "demo.pcapng".into(),
            sha256: Some("bacd253f4fe11474c5a1fb13776ae33c0549b69e7bceaba2333c96a99d70c8ae".into()),
            size: 65_732,
            format: Some("pcapng"),
            compression: Some("none"),
            packets: 168,
            first_packet: Some(at(0)),
            last_packet: Some(at(37_784)),
            warnings: vec!["at byte offset 65000: capture cut short".into()],
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

/// Everything between `open` and the next `close` after it.
fn between<'a>(page: &'a str, open: &str, close: &str) -> &'a str {
    let a = page.find(open).unwrap_or_else(|| panic!("no {open}")) + open.len();
    let b = page[a..].find(close).unwrap_or_else(|| panic!("no {close}")) + a;
    &page[a..b]
}

/// The values of attribute `name` on every tag, unescaped for `&amp; &lt; &gt; &quot; &#39;`.
fn attributes(page: &str, name: &str) -> Vec<String> {
    let needle = format!(" {name}=\"");
    page.match_indices(&needle)
        .map(|(i, _)| {
            let rest = &page[i + needle.len()..];
            unescape(&rest[..rest.find('"').unwrap()])
        })
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x2028;", "\u{2028}")
        .replace("&amp;", "&")
}

/// The page without the contents of its `<style>` and `<script>` elements: the markup only.
fn markup(page: &str) -> String {
    page.replace(CSS, "").replace(JS, "")
}

fn assert_csp(page: &str) {
    assert_eq!(page.matches("<style>").count(), 1);
    assert_eq!(page.matches("<script>").count(), 1);
    let style = between(page, "<style>", "</style>");
    let script = between(page, "<script>", "</script>");
    let expected = format!(
        "default-src 'none'; style-src {}; script-src {}; img-src data:",
        csp_hash(style),
        csp_hash(script)
    );
    let meta = between(page, "<meta http-equiv=\"Content-Security-Policy\" content=\"", "\"");
    assert_eq!(unescape(meta), expected);
    assert!(!page.contains("unsafe-inline"));
    // The meta comes before the style it governs.
    assert!(page.find("Content-Security-Policy").unwrap() < page.find("<style>").unwrap());
}

#[test]
fn csp_allows_exactly_the_inline_style_and_script() {
    let page = html(&demo());
    assert_csp(&page);
    // A known vector: SHA-256 of the empty string.
    assert_eq!(csp_hash(""), "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='");
}

#[test]
fn nothing_is_loaded_from_outside() {
    for page in [html(&demo()), html(&Report::default())] {
        assert!(!page.contains("http://") && !page.contains("https://"));
        let m = markup(&page);
        assert!(!m.contains("//"), "no protocol-relative URL either");
        assert!(attributes(&m, "src").is_empty());
        for href in attributes(&m, "href") {
            assert!(href.starts_with('#'), "{href}");
        }
        for tag in ["<link", "<img", "<iframe", "<object", "<embed", "<base", "<form"] {
            assert!(!m.contains(tag), "{tag}");
        }
        assert!(!CSS.contains("url(") && !CSS.contains("@import"));
    }
}

#[test]
fn no_inline_styles_or_event_handlers() {
    let page = markup(&html(&demo())).to_ascii_lowercase();
    assert!(!page.contains(" style="));
    // Any ` on…=` attribute inside a tag.
    for tag in page.split('<').skip(1).map(|t| t.split('>').next().unwrap_or("")) {
        for (i, _) in tag.match_indices(" on") {
            let name: String = tag[i + 1..].chars().take_while(char::is_ascii_alphabetic).collect();
            assert!(!tag[i + 1 + name.len()..].starts_with('='), "handler in <{tag}>");
        }
    }
    assert!(!JS.contains("innerHTML") && !JS.contains("eval("));
}

#[test]
fn every_metric_is_the_json_value() {
    for report in [demo(), Report::default()] {
        let page = html(&report);
        let doc = super::super::json(&report);
        let summary = &doc["summary"];
        let metric = |name: &str| {
            let open = format!("data-metric=\"{name}\">");
            assert_eq!(page.matches(&open).count(), 1, "{name}");
            between(&page, &open, "<").trim().to_string()
        };
        for path in [
            "verdict",
            "findings",
            "findings_by_severity.critical",
            "findings_by_severity.high",
            "cleartext_findings",
            "destinations",
            "destinations_with_data",
            "contacts_uploaded",
            "findings_leaving_country",
            "bytes_sent",
        ] {
            let v = path.split('.').fold(summary, |v, k| &v[k]);
            let want = match v {
                Value::String(s) => s.clone(),
                // Unknown is not 0: with no finding's country known the card says so.
                Value::Number(_)
                    if path == "findings_leaving_country"
                        && summary["findings_country_unknown"] == summary["findings"] =>
                {
                    "unknown".into()
                }
                Value::Number(n) => n.to_string(),
                other => panic!("{path}: {other}"),
            };
            assert_eq!(metric(&format!("summary.{path}")), want, "{path}");
        }
        let with_data = summary["parties"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["findings"].as_u64() > Some(0))
            .count();
        assert_eq!(metric("parties_with_data"), with_data.to_string());
    }
    let page = html(&demo());
    assert!(page.contains("data-metric=\"summary.verdict\">critical<"));
    assert!(page.contains("data-metric=\"summary.bytes_sent\">36302<"), "exact, no separators");
}

#[test]
fn rows_findings_and_hashes_follow_the_report() {
    let report = demo();
    let page = html(&report);
    let m = markup(&page);
    let hosts: Vec<String> = report.destinations.iter().map(|d| d.host.clone()).collect();
    assert_eq!(attributes(&m, "data-host"), hosts);
    assert_eq!(m.matches("<tr data-host=").count(), report.destinations.len());
    assert_eq!(m.matches(" data-finding").count(), report.findings.len());
    assert_eq!(attributes(&m, "data-sha256"), [report.captures[0].sha256.clone().unwrap()]);
    let sha = between(&m, "data-sha256=\"", "<");
    assert!(sha.ends_with(">bacd253f4fe11474c5a1fb13776ae33c0549b69e7bceaba2333c96a99d70c8ae"));
    // The sortable table and its keys.
    assert!(m.contains("<table id=\"destinations\">"));
    let keys = attributes(&m, "data-key");
    for k in ["host", "party", "country", "severity", "bytes"] {
        assert!(keys.iter().any(|x| x == k), "{k}");
    }
    // Every row has one cell per header cell.
    let header = between(&m, "<table id=\"destinations\"><thead>", "</thead>");
    let columns = header.matches("<th ").count();
    assert_eq!(columns, 10);
    let body = between(&m, "<table id=\"destinations\">", "</table>");
    for row in body.split("<tr data-host=").skip(1) {
        let row = row.split("</tr>").next().unwrap();
        assert_eq!(row.matches("<td").count(), columns, "{row}");
        assert_eq!(row.matches("data-sort=").count(), columns, "{row}");
    }
    // Severity sorts by rank, bytes by the exact count.
    assert!(m.contains("class=\"sev\" data-sort=\"4\"><span class=\"badge sev-critical\">"));
    assert!(m.contains("data-sort=\"2934\""), "bytes sent of the first destination");
    // Charts, sections, country names, the weak TLS flag, the DNS-carried group.
    assert_eq!(m.matches("<svg class=\"chart\"").count(), 3);
    for needle in [
        "China (CN)",
        "TLS 1.0 (weak)",
        "AS4808",
        "leak.example",
        "inside DNS query names",
        "Address-book uploads",
        "capture cut short",
        "Redmi 1S test unit",
        "examples/profile.toml",
        "ip-location-db (2026-11-01)",
        "heuristic (hex-id), confidence 0.80",
        concat!("phonehome ", env!("CARGO_PKG_VERSION")),
    ] {
        assert!(m.contains(needle), "{needle}");
    }
    assert!(!m.contains("data-notice=\"geo\""), "geo data was loaded");
}

#[test]
fn unknown_countries_say_how_to_get_them() {
    let mut report = demo();
    report.geo_source = None;
    let page = html(&report);
    assert!(page.contains("data-notice=\"geo\""));
    assert!(page.contains(
        "countries unknown: run <code>scripts/geo-setup.sh</code> or pass <code>--geo-db</code>"
    ));
}

#[test]
fn escape_covers_markup_quotes_separators_and_controls() {
    assert_eq!(Esc("a<b>&\"c'").to_string(), "a&lt;b&gt;&amp;&quot;c&#39;");
    assert_eq!(Esc("x\u{2028}y\u{2029}").to_string(), "x&#x2028;y&#x2029;");
    assert_eq!(Esc("n\0u\u{7f}l\u{85}").to_string(), "n\u{FFFD}u\u{FFFD}l\u{FFFD}");
    assert_eq!(Esc("tab\tnl\ncr\r").to_string(), "tab\tnl\ncr\r");
    assert_eq!(Esc("張三 ok").to_string(), "張三 ok");
    assert_eq!(Esc("").to_string(), "");
}

#[test]
fn hostile_strings_are_escaped() {
    let evil =
        "<script>alert(1)</script>\"'></style></title><img src=x onerror=alert(1)>\u{2028}\0";
    let mut r = demo();
    r.destinations[0].host = evil.into();
    r.destinations[0].ips.insert(evil.into());
    r.destinations[0].cnames.push(evil.into());
    r.findings[0].host = evil.into();
    r.findings[0].item = evil.into();
    r.findings[0].evidence[0].field = evil.into();
    r.findings[0].evidence[0].value = evil.into();
    r.findings[3].host = evil.into();
    r.captures[0].path = evil.into();
    r.captures[0].sha256 = Some(evil.into());
    r.captures[0].error = Some(evil.into());
    r.address_book_uploads[0].host = evil.into();
    r.geo_source = Some(evil.into());
    r.device.as_mut().unwrap().name = Some(evil.into());
    r.device.as_mut().unwrap().country = Some(evil.into());
    let page = html(&r);
    assert_csp(&page);
    assert_eq!(page.matches("<script").count(), 1);
    assert_eq!(page.matches("</script>").count(), 1);
    assert_eq!(page.matches("</style>").count(), 1);
    assert_eq!(page.matches("</title>").count(), page.matches("<title>").count());
    assert!(!page.contains("<img") && !page.contains('\u{2028}') && !page.contains('\0'));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;"));
    // The attribute round-trips to the original host.
    let m = markup(&page);
    assert_eq!(attributes(&m, "data-host")[0], evil.replace('\0', "\u{FFFD}"));
}

#[test]
fn rendering_is_deterministic() {
    let r = demo();
    assert_eq!(html(&r), html(&r));
    assert_eq!(html(&Report::default()), html(&Report::default()));
}

#[test]
fn an_empty_report_renders_a_sensible_page() {
    let page = html(&Report::default());
    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(page.ends_with("</body>\n</html>\n"));
    assert_csp(&page);
    assert!(page.contains("No personal data found in what could be read"));
    assert!(page.contains("data-metric=\"summary.verdict\">info<"));
    assert!(page.contains("<table id=\"destinations\">"), "the sorter's table is always there");
    assert!(!page.contains("<tr data-host") && !page.contains(" data-finding"));
    for note in ["No destinations.", "No capture was read.", "No device profile was given"] {
        assert!(page.contains(note), "{note}");
    }
    assert!(!page.contains("NaN"));
}

#[test]
fn many_destinations_keep_the_timeline_bounded() {
    let mut r = demo();
    let d = r.destinations[1].clone();
    for i in 0..200 {
        r.destinations.push(Destination { host: format!("h{i}.example"), ..d.clone() });
    }
    let page = html(&r);
    assert_eq!(page.matches("<tr data-host=").count(), 203);
    assert!(page.contains("most severe of 203 destinations"));
    let timeline = between(&page, "First contact per destination", "</figure>");
    assert_eq!(timeline.matches("<circle").count(), super::MAX_TIMELINE_ROWS + 5);
    // The worst ones are kept.
    assert!(
        timeline.contains("api.account.xiaomi.com") && timeline.contains("api.ad-tracker.example")
    );
}
