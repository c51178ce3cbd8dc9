//! End-to-end: HAR files and mitmproxy flow dumps as inputs of `analyze`, `events` and `block`,
//! mixed with captures on one command line; broken archives are errors naming the file and the
//! position or entry, and the rest is still reported.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("phonehome-archives-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn phonehome(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phonehome")).current_dir(root()).args(args).output().unwrap()
}

const IMEI: &str = "865123045678905";

fn har() -> String {
    format!(
        r#"{{"log":{{"version":"1.2","creator":{{"name":"PCAPdroid","version":"1.7"}},"entries":[
{{"startedDateTime":"2024-05-01T10:00:00.000Z","serverIPAddress":"120.92.145.56",
 "request":{{"method":"POST","url":"https://api.account.xiaomi.com/pass/activate","httpVersion":"HTTP/2",
  "headers":[{{"name":"Content-Type","value":"application/json"}}],
  "postData":{{"mimeType":"application/json","text":"{{\"imei\":\"{IMEI}\"}}"}}}},
 "response":{{"status":200,"headers":[],"content":{{"size":2,"text":"b2s=","encoding":"base64"}}}}}},
{{"startedDateTime":"2024-05-01T10:00:01.000Z",
 "request":{{"method":"GET","url":"http://tracker.example/t?imei={IMEI}","headers":[]}},
 "response":{{"status":204,"headers":[],"content":{{"size":0}}}}}},
{{"request":{{"method":"GET","headers":[]}}}}
]}}}}"#
    )
}

/// A mitmproxy flow (format version 18) with a gzip-coded JSON body, as tnetstrings.
fn mitm() -> Vec<u8> {
    use std::io::Write;
    fn t(data: &[u8], typ: u8) -> Vec<u8> {
        [format!("{}:", data.len()).as_bytes(), data, &[typ]].concat()
    }
    fn s(v: &str) -> Vec<u8> {
        t(v.as_bytes(), b',')
    }
    fn dict(items: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let body: Vec<u8> = items.iter().flat_map(|(k, v)| [s(k), v.clone()].concat()).collect();
        t(&body, b'}')
    }
    fn list(items: &[Vec<u8>]) -> Vec<u8> {
        t(&items.concat(), b']')
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(format!("{{\"deviceId\":\"{IMEI}\"}}").as_bytes()).unwrap();
    let body = gz.finish().unwrap();
    let headers = list(&[
        list(&[s("content-type"), s("application/json")]),
        list(&[s("content-encoding"), s("gzip")]),
    ]);
    let request = dict(&[
        ("method", s("POST")),
        ("scheme", s("https")),
        ("host", s("sync.micloud.xiaomi.net")),
        ("port", t(b"443", b'#')),
        ("authority", s("sync.micloud.xiaomi.net")),
        ("path", s("/contacts/upload")),
        ("http_version", s("HTTP/1.1")),
        ("headers", headers),
        ("content", t(&body, b',')),
        ("timestamp_start", t(b"1714557600.5", b'^')),
    ]);
    let server = dict(&[("peername", list(&[s("120.92.145.57"), t(b"443", b'#')]))]);
    dict(&[
        ("type", s("http")),
        ("version", t(b"18", b'#')),
        ("request", request),
        ("response", t(b"", b'~')),
        ("server_conn", server),
    ])
}

#[test]
fn har_and_mitmproxy_mixed_with_a_capture() {
    let d = dir("mixed");
    let (h, m) = (d.join("phone.har"), d.join("flows.mitm"));
    std::fs::write(&h, har()).unwrap();
    std::fs::write(&m, mitm()).unwrap();
    let out = phonehome(&[
        "analyze".as_ref(),
        "examples/demo.pcapng".as_ref(),
        h.as_os_str(),
        m.as_os_str(),
        "--profile".as_ref(),
        "examples/profile.toml".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        "--no-geo".as_ref(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    // The HAR's third entry has no URL: named, exit code 2, the rest reported.
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("phone.har: entry 3:"), "{err}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let caps = doc["captures"].as_array().unwrap();
    assert_eq!(caps[1]["format"], "har");
    assert_eq!(caps[1]["packets"], 2);
    assert_eq!(caps[2]["format"], "mitmproxy");
    assert!(caps[1]["sha256"].as_str().is_some_and(|s| s.len() == 64));
    let f = |host: &str, where_: &str| {
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["host"] == host && f["where"] == where_ && f["data"] == "imei")
            .cloned()
    };
    let har_tls = f("api.account.xiaomi.com", "http.json:imei").expect("HAR JSON body");
    assert_eq!(
        (har_tls["decrypted"].as_bool(), har_tls["encrypted"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(har_tls["evidence"][0]["frame"], 1, "evidence points at the entry");
    assert_eq!(har_tls["evidence"][0]["file"], h.display().to_string());
    let har_http = f("tracker.example", "http.query:imei").expect("HAR query");
    assert_eq!(har_http["protection"], "cleartext-http");
    let mitm = f("sync.micloud.xiaomi.net", "http.json:deviceId").expect("mitmproxy gzip body");
    assert_eq!(mitm["encoding"], "gzip");
    // The demo's own findings are still there.
    assert!(f("api.account.xiaomi.com", "http.query:imei").is_some());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn events_and_block_read_archives_too() {
    let d = dir("events");
    let h = d.join("phone.har");
    std::fs::write(&h, har()).unwrap();
    let out = phonehome(&["events".as_ref(), h.as_os_str()]);
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let reqs: Vec<&Value> = lines.iter().filter(|e| e["kind"] == "http_request").collect();
    assert_eq!(reqs.len(), 2);
    assert_eq!((reqs[0]["frame"].as_u64(), reqs[0]["version"].as_str()), (Some(1), Some("HTTP/2")));
    assert_eq!(reqs[1]["uri"], format!("/t?imei={IMEI}"));
    let out = phonehome(&[
        "block".as_ref(),
        h.as_os_str(),
        "--format".as_ref(),
        "domains".as_ref(),
        "--profile".as_ref(),
        "examples/profile.toml".as_ref(),
    ]);
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(list.contains("tracker.example"), "{list}\n{}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn broken_archives_are_errors_with_their_position() {
    let d = dir("broken");
    let (bad, big) = (d.join("bad.har"), d.join("cut.mitm"));
    std::fs::write(&bad, "{\n \"log\": {\"entries\": [1, }").unwrap();
    let mut cut = mitm();
    cut.truncate(cut.len() - 10);
    std::fs::write(&big, cut).unwrap();
    let out = phonehome(&[
        "analyze".as_ref(),
        bad.as_os_str(),
        big.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.har: not a readable HAR file") && err.contains("line 2"), "{err}");
    assert!(err.contains("cut.mitm: not a readable mitmproxy flow file"), "{err}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["captures"][0]["error"].is_string());
    // A run that read nothing does not say nothing was found: it gives no verdict.
    assert_eq!(doc["summary"]["verdict"], Value::Null);
    assert_eq!(doc["summary"]["complete"], false);
    let headline = doc["summary"]["headline"].as_str().unwrap();
    assert!(headline.starts_with("Nothing could be read"), "{headline}");
    let _ = std::fs::remove_dir_all(&d);
}
