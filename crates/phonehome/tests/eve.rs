//! `analyze --format eve`: every finding as one Suricata EVE alert line, checked against
//! `schema/eve-alert.schema.json` (the members and types of Suricata's own EVE schema, and what
//! Filebeat's Suricata module reads) and against the JSON report of the same run: one line per
//! finding, in its order, with its kind, item, place, destination, first frame and flow.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Runs `analyze --no-geo ARGS --format FORMAT` in the repository root: exit code and stdout.
fn analyze(format: &str, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_phonehome"))
        .current_dir(root())
        .args(["analyze", "--no-geo", "--format", format])
        .args(args)
        .output()
        .expect("run phonehome");
    (out.status.code(), String::from_utf8(out.stdout).expect("UTF-8"))
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("schema/eve-alert.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::draft202012::new(&schema).expect("the schema is a valid 2020-12 schema")
}

/// The EVE lines and the JSON report of the same input; every line valid.
fn both(args: &[&str]) -> (Vec<Value>, Value) {
    let (code, eve) = analyze("eve", args);
    let (json_code, json) = analyze("json", args);
    assert_eq!(code, json_code, "the exit code does not depend on the format");
    let report: Value = serde_json::from_str(&json).expect("the report is JSON");
    let v = validator();
    let lines: Vec<Value> = eve
        .lines()
        .map(|l| {
            let line: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            let errors: Vec<String> =
                v.iter_errors(&line).map(|e| format!("{e} at {}", e.instance_path())).collect();
            assert!(errors.is_empty(), "{l}\n{}", errors.join("\n"));
            line
        })
        .collect();
    (lines, report)
}

fn tags(line: &Value) -> Vec<&str> {
    line["alert"]["metadata"]["tag"].as_array().unwrap().iter().filter_map(Value::as_str).collect()
}

/// Each line is its finding: same order, kind, item, place, destination, first evidence.
fn assert_lines_are_the_findings(lines: &[Value], report: &Value) {
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(lines.len(), findings.len(), "one line per finding");
    for (line, f) in lines.iter().zip(findings) {
        let t = tags(line);
        for tag in [
            format!("data:{}", f["data"].as_str().unwrap()),
            format!("item:{}", f["item"].as_str().unwrap()),
            format!("where:{}", f["where"].as_str().unwrap()),
            format!("encoding:{}", f["encoding"].as_str().unwrap()),
            format!("count:{}", f["count"]),
        ] {
            assert!(t.contains(&tag.as_str()), "{tag} missing in {t:?}");
        }
        assert_eq!(line["dest_ip"], f["ip"]);
        assert_eq!(line["dest_port"], f["port"]);
        let first = &f["evidence"][0];
        assert_eq!(line["pcap_cnt"], first["frame"]);
        assert_eq!(line["flow_id"], first["flow"]);
        assert_eq!(line["src_ip"], first["src_ip"]);
        assert_eq!(line["src_port"], first["src_port"]);
        // The first occurrence, cut to microseconds.
        let seen = f["first_seen"].as_str().unwrap();
        let ts = line["timestamp"].as_str().unwrap();
        assert_eq!(ts[..26], seen[..26], "{ts} / {seen}");
        let severity = ["critical", "high", "medium", "low", "info"]
            .iter()
            .position(|s| f["severity"] == *s)
            .unwrap();
        assert_eq!(line["alert"]["severity"], (severity + 1).min(4));
    }
}

#[test]
fn the_demo_findings_are_eve_alerts() {
    let (lines, report) = both(&["examples/demo.pcapng", "--profile", "examples/profile.toml"]);
    assert!(lines.len() >= 5, "{} lines", lines.len());
    assert_lines_are_the_findings(&lines, &report);
    let imei = lines
        .iter()
        .find(|l| tags(l).contains(&"where:http.query:imei"))
        .expect("the IMEI in the query");
    assert_eq!(imei["alert"]["signature_id"], 1_710_001);
    assert_eq!(
        imei["alert"]["signature"],
        "phonehome: IMEI to Xiaomi (api.account.xiaomi.com) over cleartext HTTP"
    );
    assert_eq!(imei["alert"]["category"], "Personal data sent in cleartext");
    assert_eq!(imei["alert"]["metadata"]["signature_severity"][0], "Critical");
    assert_eq!(imei["src_ip"], "192.168.1.23");
    assert_eq!((&imei["proto"], &imei["app_proto"]), (&"TCP".into(), &"http".into()));
    assert_eq!(imei["http"]["hostname"], "api.account.xiaomi.com");
    assert!(tags(imei).contains(&"party:Xiaomi"));
    // Masked as in the report: no whole IMEI anywhere in the output.
    let (_, eve) = analyze("eve", &["examples/demo.pcapng", "--profile", "examples/profile.toml"]);
    assert!(!eve.contains("490154203237518"), "an unmasked IMEI");
}

#[test]
fn findings_read_inside_tls_and_quic_are_eve_alerts() {
    let (lines, report) = both(&["examples/https.pcapng"]);
    assert!(!lines.is_empty());
    assert_lines_are_the_findings(&lines, &report);
    let mut quic = 0;
    for l in &lines {
        assert_eq!(l["alert"]["category"], "Personal data sent");
        assert!(l["alert"]["signature"].as_str().unwrap().ends_with(", decrypted"), "{l}");
        if l["app_proto"] == "quic" {
            quic += 1;
            assert_eq!(l["proto"], "UDP");
            continue;
        }
        assert_eq!((&l["app_proto"], &l["proto"]), (&"tls".into(), &"TCP".into()));
        let host = l["tls"]["sni"].as_str().expect("the SNI");
        assert!(l["alert"]["signature"].as_str().unwrap().contains(host), "{l}");
    }
    assert!(quic > 0 && quic < lines.len(), "TLS and QUIC findings both");
}

#[test]
fn a_run_without_findings_writes_no_line() {
    let (code, eve) = analyze("eve", &["examples/https.pcap"]);
    assert_eq!(eve, "", "no keys, nothing read, no alert");
    assert_eq!(code, Some(0));
}
