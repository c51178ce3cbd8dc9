//! `phonehome vpn` watching a real WireGuard phone, end to end, in three network namespaces made
//! (and removed) here: a "phone" running wireguard-go configured from the text `vpn init`
//! printed, with every route into the tunnel; the "gateway" running `phonehome vpn` with a
//! profile, `--write`, `--jsonl` and `-o`; an "internet" with python3's web server and a small
//! DNS server (every name: 198.51.100.10 and 2001:db8:100::10). The phone resolves through the
//! gateway's guard (dig) and sends a planted IMEI over IPv4 and IPv6 and inside TLS with a key
//! log (python3). Checked: the guard's answers (a blocked name gets 0.0.0.0), the live findings
//! with the device's name, the final report, its findings the same as `analyze` of the pcapng
//! written for the device, and the clean stop; connections refused by name, address, port and
//! policy, a list reloaded; Chromium falling back from a refused QUIC to TCP. Root only (CI);
//! skipped with a message elsewhere, unless `PHONEHOME_VPN_TEST=require`.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use testkit::netns::sh;

mod vpn_lab;

use vpn_lab::{GET, GET_TLS, Lab, phonehome};

fn findings_of(doc: &Value) -> BTreeSet<String> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {} {} x{} {}",
                f["device"], f["data"], f["item"], f["host"], f["where"], f["count"], f["encoding"]
            )
        })
        .collect()
}

#[test]
fn the_gateway_watches_a_wireguard_phone_and_its_dns_goes_to_the_guard() {
    let extra = ["--redact", "--keylog", "{dir}/keys.log"];
    let Some(mut lab) = Lab::start("vpn (watching a wireguard-go phone)", 195, &extra) else {
        return;
    };
    let (phone, gw) = (lab.phone.clone(), lab.gw.clone());
    let dir = lab.dir.clone();
    let d = |name: &str| dir.join(name).to_str().unwrap().to_string();
    // The phone's DNS: the guard on the gateway's tunnel addresses, over both families.
    let dig = |server: &str, name: &str, kind: &str| lab.dig(server, name, kind);
    assert_eq!(dig("10.77.0.1", "collector.example", "A"), "198.51.100.10");
    assert_eq!(dig("fd77:7068:6f6e:6500::1", "collector.example", "AAAA"), "2001:db8:100::10");
    assert_eq!(dig("10.77.0.1", "tracker.example", "A"), "0.0.0.0", "blocked by the guard");
    // The planted IMEI, over IPv4 and IPv6.
    let get = |url: &str, host: &str| lab.python(GET, &[url, host]);
    assert_eq!(get("http://198.51.100.10:8080/?imei=865123045678905", "collector.example"), "200");
    assert_eq!(
        get("http://[2001:db8:100::10]:8080/?id=865123045678905", "collector6.example"),
        "200"
    );
    // Over TLS, its secrets in a key log the phone writes as it connects: the gateway follows
    // it (records that pass before their secrets are read wait for them) and reads the request.
    let keys = d("keys.log");
    let tls =
        lab.python(GET_TLS, &["198.51.100.10/?imei=865123045678905", "secure.example", &keys]);
    assert_eq!(tls, "200");
    let (code, rest, live) = lab.stop();
    assert_eq!(code, Some(1), "findings: exit 1, as analyze; {rest}");
    assert!(rest.contains("VPN gateway stopped"), "{rest}");
    let live_imei = live
        .iter()
        .filter(|l| l["event"] == "finding")
        .any(|l| l["finding"]["data"] == "imei" && l["finding"]["device"] == "phone");
    assert!(live_imei, "{live:?}");

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(d("report.json")).unwrap()).unwrap();
    let found = findings_of(&report);
    let imei: Vec<&String> = found.iter().filter(|f| f.contains("\"imei\"")).collect();
    assert_eq!(imei.len(), 3, "IPv4, IPv6 and inside TLS: {found:?}");
    assert!(
        imei.iter().any(|f| f.contains("\"secure.example\"")),
        "read live with the key log: {found:?}"
    );
    assert!(imei.iter().all(|f| f.starts_with("\"phone\"")), "{imei:?}");
    assert!(
        found.iter().any(|f| f.contains("\"collector.example\"")),
        "named by its DNS: {found:?}"
    );
    // --redact: the web server saw fakes of the same shape, never the IMEI; the report counts
    // them, and its findings are still what the phone tried to send.
    let www = std::fs::read_to_string(d("0.log")).unwrap();
    assert!(!www.contains("865123045678905"), "{www}");
    let fakes: Vec<&str> = www
        .lines()
        .filter_map(|l| l.split("imei=").nth(1).or_else(|| l.split("?id=").nth(1)))
        .map(|rest| &rest[..15])
        .collect();
    assert_eq!(fakes.len(), 2, "{www}");
    assert!(fakes.iter().all(|f| f.bytes().all(|b| b.is_ascii_digit())), "{fakes:?}");
    assert_eq!(report["redacted"]["items"]["imei[0]"], 2, "{}", report["redacted"]);
    let capture = &report["captures"][0];
    assert_eq!(capture["device"], "phone");
    assert_eq!(capture["path"], d("s-phone.pcapng"));
    assert!(capture["sha256"].is_string() && capture["packets"].as_u64().unwrap() > 20);
    // The same findings from the pcapng, analysed afterwards.
    let again = Command::new(phonehome())
        .args(["analyze", &d("s-phone.pcapng"), "--profile", &d("profile.toml"), "--no-cache"])
        .args(["--no-geo", "--device", "phone", "--format", "json", "--keylog", &keys])
        .output()
        .unwrap();
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(findings_of(&again), found);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d("s-phone.pcapng")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let after = sh(&gw, "nft list tables");
    assert!(!String::from_utf8_lossy(&after.stdout).contains("phonehome_vpn"));
    let _ = &phone;
}

/// In the phone: `tls HOST PORT NAME` (a ClientHello for NAME), `tcp HOST PORT` (connect),
/// `udp HOST PORT` (a QUIC-sized datagram, then a read); prints `ok` or the error's type.
const CLIENT: &str = r#"
import socket, ssl, sys, time
kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
try:
    if kind == 'tls':
        s = socket.create_connection((host, port), timeout=3)
        ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
        ctx.wrap_socket(s, server_hostname=sys.argv[4])
        print('ok')
    elif kind == 'tcp':
        socket.create_connection((host, port), timeout=3); print('ok')
    else:
        s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(3); s.connect((host, port))
        s.send(b'\xc3' + b'\0' * 1199); time.sleep(0.3); s.send(b'\xc3' + b'\0' * 1199)
        s.recv(100); print('ok')
except Exception as e:
    print(type(e).__name__)
"#;

#[test]
fn the_gateway_refuses_blocked_connections_and_the_rest_passes() {
    let extra = [
        "--block-quic",
        "--block-dot",
        "--verdict-log",
        "{dir}/verdicts.jsonl",
        "--policy",
        "{dir}/policy.toml",
    ];
    let Some(mut lab) = Lab::start("vpn (refusing connections)", 194, &extra) else {
        return;
    };
    let _ = &extra;
    let get = |url: &str, host: &str| lab.python(GET, &[url, host]);
    let client = |args: &[&str]| lab.python(CLIENT, args);
    // Passes: a name not listed, over HTTP and TLS (the listener closes: EOF, not a reset).
    assert_eq!(get("http://198.51.100.10:8080/", "collector.example"), "200");
    assert_eq!(client(&["tls", "198.51.100.10", "8443", "fine.example"]), "SSLEOFError");
    // Refused: by HTTP Host, by TLS server name, by address, at once (a reset, not a timeout).
    let t = std::time::Instant::now();
    assert!(
        get("http://198.51.100.10:8080/?imei=865123045678905", "ads.tracker.example")
            .starts_with("error")
    );
    assert_eq!(
        client(&["tls", "198.51.100.10", "8443", "sdk.tracker.example"]),
        "ConnectionResetError"
    );
    assert_eq!(client(&["tcp", "198.51.100.11", "8080"]), "ConnectionRefusedError");
    assert!(t.elapsed() < Duration::from_secs(3), "no timeout: {:?}", t.elapsed());
    // --block-quic: UDP 443 gets port unreachable; --block-dot: port 853 refused, and plain DNS
    // for another resolver is answered by the guard.
    assert_eq!(client(&["udp", "198.51.100.10", "443"]), "ConnectionRefusedError");
    assert_eq!(client(&["tcp", "198.51.100.10", "853"]), "ConnectionRefusedError");
    assert_eq!(lab.dig("198.51.100.10", "tracker.example", "A"), "0.0.0.0", "the guard answered");
    assert_eq!(lab.dig("198.51.100.10", "collector.example", "A"), "198.51.100.10");

    // --policy: the IMEI goes to collector2.example once (a critical finding); its next
    // connection, after a refresh, is refused.
    assert_eq!(get("http://198.51.100.10:8080/?imei=865123045678905", "collector2.example"), "200");
    std::thread::sleep(Duration::from_millis(700));
    assert!(get("http://198.51.100.10:8080/", "collector2.example").starts_with("error"));
    // The lists are the guard's: a reload (SIGHUP) reaches the DNS answers and the connection
    // filter at once.
    let mut list = std::fs::read_to_string(lab.path("block.txt")).unwrap();
    list.push_str("fine.example\n");
    std::fs::write(lab.path("block.txt"), list).unwrap();
    let said = lab.reload();
    assert!(said.contains("guard: reloaded"), "{said}");
    assert_eq!(lab.dig("10.77.0.1", "fine.example", "A"), "0.0.0.0");
    let client = |args: &[&str]| lab.python(CLIENT, args);
    assert_eq!(client(&["tls", "198.51.100.10", "8443", "fine.example"]), "ConnectionResetError");

    let (code, rest, live) = lab.stop();
    assert!(code.is_some(), "{rest}");
    assert!(rest.contains("7 connections refused"), "{rest}");
    let log = std::fs::read_to_string(lab.path("verdicts.jsonl")).unwrap_or_default();
    let verdicts: Vec<Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let matched: BTreeSet<&str> = verdicts.iter().filter_map(|v| v["matched"].as_str()).collect();
    let expected = [
        "host collector2.example",
        "host ads.tracker.example",
        "sni sdk.tracker.example",
        "address 198.51.100.11",
        "udp port 443",
        "port 853",
        "sni fine.example",
    ];
    assert_eq!(matched, expected.into_iter().collect(), "{log}");
    let by_sni = verdicts.iter().find(|v| v["matched"] == "sni sdk.tracker.example").unwrap();
    assert_eq!(
        (by_sni["device"].as_str(), by_sni["rule"].as_str()),
        (Some("phone"), Some(format!("tracker.example ({}:1)", lab.path("block.txt")).as_str()))
    );
    let streamed = live.iter().filter(|l| l["event"] == "verdict").count();
    assert_eq!(streamed, 7, "every verdict streamed");
    let by_policy = verdicts.iter().find(|v| v["matched"] == "host collector2.example").unwrap();
    assert!(
        by_policy["rule"].as_str().unwrap().starts_with("--policy: collector2.example (critical"),
        "{by_policy}"
    );
    // The report lists them, and the IMEI in the refused request was stopped, not sent.
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(lab.path("report.json")).unwrap()).unwrap();
    assert_eq!(report["refused"]["total"], 7);
    assert_eq!(report["refused"]["connections"].as_array().map(Vec::len), Some(7));
    let imei = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["data"] == "imei" && f["host"] == "ads.tracker.example")
        .expect("the IMEI the phone tried to send");
    assert_eq!(imei["stopped"], imei["count"]);
    let dest = report["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["host"] == "ads.tracker.example")
        .unwrap();
    assert_eq!(dest["refused"], 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(lab.path("verdicts.jsonl")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// A real browser behind `--block-quic`: Chromium learns from the first answer's Alt-Svc that the
/// server offers HTTP/3 and tries QUIC for the next requests; the gateway refuses it (detected as
/// QUIC, not by port: it goes to UDP 8444), Chromium falls back to TCP at once and every request
/// is answered.
#[test]
fn with_block_quic_a_browser_falls_back_to_tcp() {
    let suite = "vpn (--block-quic and a browser)";
    if !testkit::netns::can_run("PHONEHOME_VPN_TEST", suite, &["chromium", "openssl"]) {
        return;
    }
    let extra = ["--block-quic", "--verdict-log", "{dir}/verdicts.jsonl"];
    let Some(mut lab) = Lab::start(suite, 196, &extra) else { return };
    // The test server's key is trusted by its hash (so that Alt-Svc is taken: it is ignored on
    // a connection with certificate errors).
    let spki = sh(
        &lab.gw,
        &format!(
            "openssl x509 -in {} -pubkey -noout | openssl pkey -pubin -outform der \
             | openssl dgst -sha256 -binary | base64",
            lab.path("tls.crt")
        ),
    );
    let spki = String::from_utf8_lossy(&spki.stdout).trim().to_string();
    assert_eq!(spki.len(), 44, "a base64 SHA-256");
    let page = Command::new("timeout")
        .args(["60", "ip", "netns", "exec", &lab.phone, "chromium", "--headless=new"])
        .args(["--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-quic"])
        .arg(format!("--user-data-dir={}", lab.path("chromium")))
        .arg(format!("--ignore-certificate-errors-spki-list={spki}"))
        .arg("--host-resolver-rules=MAP secure.example 198.51.100.10")
        .args(["--virtual-time-budget=10000", "--dump-dom"])
        .arg("https://secure.example:8444/fetch3.html")
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&page.stdout);
    assert!(
        dom.contains("<div id=\"r\">200:fine 200:fine 200:fine</div>"),
        "every request answered over TCP: {dom}\n{}",
        String::from_utf8_lossy(&page.stderr)
    );
    let (code, rest, _) = lab.stop();
    assert!(code.is_some(), "{rest}");
    let log = std::fs::read_to_string(lab.path("verdicts.jsonl")).unwrap_or_default();
    let quic: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["matched"] == "quic" && v["port"] == 8444)
        .collect();
    assert!(!quic.is_empty(), "Chromium tried QUIC and was refused: {log}");
    assert!(quic.iter().all(|v| v["transport"] == "udp" && v["rule"] == "--block-quic"), "{log}");
}
