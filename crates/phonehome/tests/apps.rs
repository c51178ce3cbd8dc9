//! Which app made each connection, from the metadata PCAPdroid writes (`pipeline::apps`), end to
//! end through `phonehome flows`: a pcap with PCAPdroid trailers (and one forged trailer, not
//! believed), a pcapng with uid mapping blocks and `u-<uid>` packet comments, and a capture
//! without any (flows carry no `app`). The testkit writes the layouts (`testkit::pcapdroid`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use testkit::app::dns::DnsMessage;
use testkit::pcapdroid::{PEN, comment, trailer_frame, uid_map_block};
use testkit::{Conversation, Direction, Link};

/// An app: uid, package, name.
type App = (i32, &'static str, &'static str);

const ANALYTICS: App = (10_123, "com.miui.analytics", "Analytics");
const BROWSER: App = (10_050, "com.android.chrome", "Chrome");

/// Raw IP packets of an HTTP request (the analytics app) and a DNS query (the browser), in
/// order, each with the app that sent it.
fn packets() -> Vec<(i64, Vec<u8>, App)> {
    let phone = |port| SocketAddr::from(([10, 0, 0, 2], port));
    let mut tcp = Conversation::tcp(phone(40_001), SocketAddr::from(([120, 92, 96, 17], 80)))
        .link(Link::Raw)
        .start_ns(1_700_000_000_000_000_000);
    tcp.handshake();
    tcp.send(
        Direction::ClientToServer,
        b"GET /t?imei=865123045678905 HTTP/1.1\r\nHost: api.ad.xiaomi.com\r\n\r\n",
    );
    tcp.send(Direction::ServerToClient, b"HTTP/1.1 204 No Content\r\n\r\n");
    tcp.fin();
    let mut udp = Conversation::udp(phone(40_002), SocketAddr::from(([8, 8, 8, 8], 53)))
        .link(Link::Raw)
        .start_ns(1_700_000_001_000_000_000);
    udp.datagram(Direction::ClientToServer, &DnsMessage::query(7, "www.example.com", 1).encode());
    let mut all: Vec<_> = tcp.frames().into_iter().map(|(t, f)| (t, f, ANALYTICS)).collect();
    all.extend(udp.frames().into_iter().map(|(t, f)| (t, f, BROWSER)));
    all
}

fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("apps-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `phonehome flows --format jsonl --stats` on `capture`: the flows and the counters.
fn flows_of(capture: &Path) -> (Vec<Value>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_phonehome"))
        .args(["flows", "--format", "jsonl", "--stats"])
        .arg(capture)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = String::from_utf8(out.stdout).unwrap();
    let flows = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (flows, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn app_of(flow: &Value) -> (Value, Value, Value) {
    let a = &flow["app"];
    (a["uid"].clone(), a["package"].clone(), a["name"].clone())
}

#[test]
fn pcapdroid_trailers_name_the_app_of_each_flow() {
    let d = dir("trailer");
    let mut w = testkit::PcapWriter::new(Vec::new(), 1).unwrap();
    let mut frames = Vec::new();
    for (i, (ts, ip, (uid, package, _))) in packets().into_iter().enumerate() {
        let mut f = trailer_frame(&ip, uid, package);
        if i == 1 {
            // The SYN-ACK's trailer altered after its CRC: not believed, counted.
            let n = f.len();
            f[n - 28] ^= 0xff;
        }
        frames.push((ts, f));
    }
    w.write_frames(&frames).unwrap();
    let path = d.join("trailer.pcap");
    std::fs::write(&path, w.finish().unwrap()).unwrap();
    let (flows, stats) = flows_of(&path);
    assert_eq!(flows.len(), 2);
    // The trailer holds the package name, cut at 20 bytes; no app name.
    assert_eq!(app_of(&flows[0]), (10_123.into(), "com.miui.analytics".into(), Value::Null));
    assert_eq!(app_of(&flows[1]), (10_050.into(), "com.android.chrome".into(), Value::Null));
    assert!(stats.contains("apps.bad_trailers") && stats.contains("apps.trailers"), "{stats}");
    let count = |name: &str| -> u64 {
        let line = stats.lines().find(|l| l.split_whitespace().next() == Some(name)).unwrap();
        line.split_whitespace().last().unwrap().parse().unwrap()
    };
    assert_eq!(count("apps.bad_trailers"), 1);
    assert_eq!(count("apps.trailers"), frames.len() as u64 - 1);
}

#[test]
fn pcapng_uid_maps_and_comments_name_the_app_and_captures_without_them_are_as_before() {
    let d = dir("pcapng");
    let mut w = testkit::PcapNgWriter::new(Vec::new()).unwrap();
    let id = w.add_interface(101, 0, Some(9)).unwrap();
    let mut mapped = Vec::new();
    for (ts, ip, (uid, package, name)) in packets() {
        if !mapped.contains(&uid) {
            let block = uid_map_block(uid, package, name);
            assert_eq!(block[..4], PEN.to_le_bytes());
            w.write_block(0xbad, &block).unwrap();
            mapped.push(uid);
        }
        let note = comment(uid);
        w.write_epb_with_options(id, ts, &ip, ip.len() as u32, &[(1, note.as_bytes())]).unwrap();
    }
    let path = d.join("apps.pcapng");
    std::fs::write(&path, w.finish().unwrap()).unwrap();
    let (flows, _) = flows_of(&path);
    assert_eq!(app_of(&flows[0]), (10_123.into(), "com.miui.analytics".into(), "Analytics".into()));
    assert_eq!(app_of(&flows[1]), (10_050.into(), "com.android.chrome".into(), "Chrome".into()));
    // Without metadata: no `app` at all.
    let mut w = testkit::PcapWriter::new(Vec::new(), 101).unwrap();
    let plain: Vec<testkit::Frame> = packets().into_iter().map(|(t, f, _)| (t, f)).collect();
    w.write_frames(&plain).unwrap();
    let path = d.join("plain.pcap");
    std::fs::write(&path, w.finish().unwrap()).unwrap();
    let (flows, _) = flows_of(&path);
    assert_eq!(flows.len(), 2);
    assert!(flows.iter().all(|f| f.get("app").is_none()), "{flows:?}");
}

/// `phonehome analyze` with a profile on `capture` (and `extra` flags): the JSON report.
fn analyze(dir: &Path, capture: &Path, extra: &[&str]) -> Value {
    std::fs::write(dir.join("profile.toml"), "[identifiers]\nimei = [\"865123045678905\"]\n")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_phonehome"))
        .arg("analyze")
        .arg(capture)
        .arg("--profile")
        .arg(dir.join("profile.toml"))
        .args(["--no-geo", "--no-cache", "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn findings_and_destinations_name_the_app_and_app_filters() {
    let d = dir("analyze");
    let frames: Vec<testkit::Frame> = packets()
        .into_iter()
        .map(|(ts, ip, (uid, package, _))| (ts, trailer_frame(&ip, uid, package)))
        .collect();
    let mut w = testkit::PcapWriter::new(Vec::new(), 1).unwrap();
    w.write_frames(&frames).unwrap();
    let path = d.join("trailer.pcap");
    std::fs::write(&path, w.finish().unwrap()).unwrap();
    let doc = analyze(&d, &path, &[]);
    let imei = doc["findings"].as_array().unwrap().iter().find(|f| f["data"] == "imei").unwrap();
    assert_eq!(imei["app"]["package"], "com.miui.analytics");
    assert_eq!(imei["app"]["uid"], 10_123);
    let dest = |doc: &Value, host: &str| {
        doc["destinations"].as_array().unwrap().iter().find(|x| x["host"] == host).cloned()
    };
    assert_eq!(dest(&doc, "api.ad.xiaomi.com").unwrap()["apps"][0], "com.miui.analytics");
    // The story says which app sent it to whom.
    let story = doc["summary"]["stories"][0].as_str().unwrap();
    assert!(story.starts_with("CRITICAL: com.miui.analytics sent IMEI to Xiaomi"), "{story}");
    let apps = &doc["summary"]["apps"];
    assert_eq!(apps.as_array().map(Vec::len), Some(1), "{apps}");
    assert_eq!(
        (apps[0]["app"].as_str(), apps[0]["data"][0].as_str()),
        (Some("com.miui.analytics"), Some("imei"))
    );
    // --app: only what that app sent.
    let only = analyze(&d, &path, &["--app", "com.android.chrome"]);
    assert!(only["findings"].as_array().unwrap().is_empty(), "{}", only["findings"]);
    assert!(dest(&only, "api.ad.xiaomi.com").is_none());
    assert_eq!(only["destinations"].as_array().unwrap().len(), 1);
    let only = analyze(&d, &path, &["--app", "10123"]);
    assert_eq!(only["findings"].as_array().unwrap().len(), 1);
    // The tables say which app sent it.
    let out = Command::new(env!("CARGO_BIN_EXE_phonehome"))
        .arg("analyze")
        .arg(&path)
        .arg("--profile")
        .arg(d.join("profile.toml"))
        .args(["--no-geo", "--no-cache", "--format", "md"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("imei\\[0\\] from com.miui.analytics"), "{text}");
    assert!(
        text.contains("## Apps")
            && text.contains("| com.miui.analytics | critical | IMEI to Xiaomi"),
        "{text}"
    );
    let html = Command::new(env!("CARGO_BIN_EXE_phonehome"))
        .arg("analyze")
        .arg(&path)
        .arg("--profile")
        .arg(d.join("profile.toml"))
        .args(["--no-geo", "--no-cache", "--format", "html"])
        .output()
        .unwrap();
    let html = String::from_utf8_lossy(&html.stdout);
    assert!(
        html.contains("<section id=\"apps\">") && html.contains("data-app=\"com.miui.analytics\"")
    );
}
