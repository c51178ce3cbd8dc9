//! The server certificate's names, from handshakes made by a real TLS stack (rustls,
//! `testkit::tls_session::keyed_https`): TLS 1.2's in the clear, TLS 1.3's only when decrypted;
//! reported as an event, in flows, and per destination in the report.

use std::process::Command;

use serde_json::Value;

#[test]
fn tls12_certificate_names_reach_events_flows_and_the_report() {
    let dir = std::env::temp_dir().join(format!("phonehome-cert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("https.pcap");
    let keyed = testkit::tls_session::keyed_https();
    std::fs::write(&pcap, keyed.pcap()).unwrap();
    let keys = dir.join("https.keys");
    std::fs::write(&keys, &keyed.keylog).unwrap();
    let run = |args: &[&str]| -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_phonehome"))
            .args(args)
            .arg(&pcap)
            .output()
            .expect("run phonehome");
        String::from_utf8(out.stdout).unwrap()
    };
    let events: Vec<Value> =
        run(&["events"]).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let certs: Vec<&Value> = events.iter().filter(|e| e["kind"] == "tls_certificate").collect();
    assert_eq!(certs.len(), 1, "one TLS 1.2 connection: {certs:?}");
    assert_eq!(certs[0]["subject_cn"], "phonehome.test");
    assert!(certs[0]["subject_org"].is_null());
    let flows: Vec<Value> = run(&["flows", "--format", "jsonl"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(flows.iter().all(|f| f.get("cert_org").is_some()));
    let report: Value =
        serde_json::from_str(&run(&["analyze", "--format", "json", "--no-geo"])).unwrap();
    let with: Vec<&Value> = report["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| !d["certificate"].is_null())
        .collect();
    assert_eq!(with.len(), 1, "{with:?}");
    assert_eq!(with[0]["host"], "tracking.ad-network.example");
    assert_eq!(with[0]["certificate"]["subject_cn"], "phonehome.test");
    // With the key log, the two TLS 1.3 connections whose keys are logged give theirs too (read
    // from the decrypted handshake); the one without keys does not.
    let keylog = keys.to_str().unwrap();
    let events = run(&["events", "--keylog", keylog]);
    let flows_with: Vec<u64> = events
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["kind"] == "tls_certificate")
        .map(|e| e["flow"].as_u64().unwrap())
        .collect();
    assert_eq!(flows_with.len(), 3, "{events}");
    let _ = std::fs::remove_dir_all(&dir);
}
