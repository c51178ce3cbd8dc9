//! The JSON report against its published schema (`schema/report.schema.json`), and the demo's
//! report against its golden file.
//!
//! Every document `analyze --format json` can write is validated: with and without a profile, a
//! truncated capture, an unreadable file next to a good one, an empty capture. The schema is
//! strict (`additionalProperties: false`), so a field added to the JSON without being documented
//! in the schema fails here.
//!
//! The golden file `tests/golden/demo.analyze.json` is the whole demo report (run with `--no-geo`,
//! so it is the same on every machine). After an intended change:
//! `UPDATE_GOLDEN=1 cargo test -p phonehome --test report_schema`, then review the diff.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Runs `analyze --format json --no-geo ARGS` in the repository root; returns the exit code and
/// the document.
fn analyze(args: &[&str]) -> (Option<i32>, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_phonehome"))
        .current_dir(root())
        .args(["analyze", "--format", "json", "--no-geo"])
        .args(args)
        .output()
        .expect("run phonehome");
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{args:?}: not JSON ({e}); stderr: {}", String::from_utf8_lossy(&out.stderr))
    });
    (out.status.code(), doc)
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("schema/report.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::draft202012::new(&schema).expect("the schema is a valid 2020-12 schema")
}

fn assert_valid(v: &jsonschema::Validator, what: &str, doc: &Value) {
    let errors: Vec<String> =
        v.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{what}: {} schema errors:\n{}", errors.len(), errors.join("\n"));
}

#[test]
fn every_kind_of_report_matches_the_schema() {
    let v = validator();
    let demo = "examples/demo.pcapng";
    let (code, doc) = analyze(&[demo, "--profile", "examples/profile.toml"]);
    assert_eq!(code, Some(1));
    assert_valid(&v, "demo with profile", &doc);
    assert_eq!(doc["schema"], "phonehome.report/1");
    let (code, doc) = analyze(&[demo]);
    assert_eq!(code, Some(1), "heuristics find the IMEI without a profile");
    assert_valid(&v, "demo without profile", &doc);
    assert!(doc["device"].is_null());

    // A truncated capture and a file that is no capture: exit 2, but a valid document.
    let bytes = std::fs::read(root().join(demo)).unwrap();
    let cut = scratch("cut.pcapng");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let junk = scratch("junk.pcap");
    std::fs::write(&junk, b"this is not a capture at all").unwrap();
    let (cut_s, junk_s) = (cut.to_str().unwrap(), junk.to_str().unwrap());
    let (code, doc) = analyze(&[junk_s, cut_s, "--profile", "examples/profile.toml"]);
    assert_eq!(code, Some(2));
    assert_valid(&v, "unreadable + truncated", &doc);
    let caps = doc["captures"].as_array().unwrap();
    assert_eq!(caps.len(), 2);
    assert!(caps[0]["error"].as_str().is_some_and(|e| e.contains("not a capture")), "{caps:?}");
    assert!(caps[0]["format"].is_null());
    assert!(!caps[1]["warnings"].as_array().unwrap().is_empty(), "truncation warned: {caps:?}");
    assert!(caps[1]["packets"].as_u64().unwrap() > 0);
    // Read in part: a verdict, and it says the run is incomplete.
    assert!(doc["summary"]["verdict"].is_string());
    assert_eq!(doc["summary"]["complete"], false);
    assert!(doc["summary"]["unread"][0].as_str().unwrap().contains("not a capture"));

    // An empty (header-only) capture.
    let mut w = testkit::PcapWriter::new(Vec::new(), 1).unwrap();
    w.write_frames(&[]).unwrap();
    let empty = scratch("empty.pcap");
    std::fs::write(&empty, w.finish().unwrap()).unwrap();
    let (code, doc) = analyze(&[empty.to_str().unwrap()]);
    assert_eq!(code, Some(0));
    assert_valid(&v, "empty capture", &doc);
    // Nothing read: no verdict (never "no personal data found").
    assert!(doc["summary"]["verdict"].is_null(), "{}", doc["summary"]);
    assert!(doc["summary"]["unread"][0].as_str().unwrap().ends_with(": no packets"));
    assert!(doc["captures"][0]["first_packet"].is_null());
    let _ = std::fs::remove_dir_all(cut.parent().unwrap());
}

#[test]
fn the_schema_rejects_what_it_should() {
    let v = validator();
    let (_, mut doc) = analyze(&["examples/demo.pcapng", "--profile", "examples/profile.toml"]);
    assert!(v.is_valid(&doc));
    doc["findings"][0]["severity"] = "severe".into();
    assert!(!v.is_valid(&doc), "unknown severity accepted");
    doc["findings"][0]["severity"] = "critical".into();
    doc["destinations"][0]["surprise"] = 1.into();
    assert!(!v.is_valid(&doc), "undocumented field accepted");
}

#[test]
fn demo_report_is_golden() {
    let (_, doc) = analyze(&["examples/demo.pcapng", "--profile", "examples/profile.toml"]);
    let actual = serde_json::to_string_pretty(&doc).unwrap() + "\n";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/demo.analyze.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v != "0") {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{}: {e}; create it with UPDATE_GOLDEN=1 and review it", path.display())
    });
    if expected != actual {
        let line = expected.lines().zip(actual.lines()).position(|(a, b)| a != b);
        let n = line.unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "demo report differs from {} at line {}:\n expected: {}\n      got: {}\n\
             If intended: UPDATE_GOLDEN=1 cargo test -p phonehome --test report_schema",
            path.display(),
            n + 1,
            expected.lines().nth(n).unwrap_or("<end>"),
            actual.lines().nth(n).unwrap_or("<end>"),
        );
    }
}
