//! `phonehome diff` end to end, on captures the testkit writes: the demo phone with its cloud
//! service off and on; the 2014 story before and after the vendor's "fix" (the same identifiers
//! moved into HTTPS, read with the keys its pcapng carries); a run compared with itself (an empty
//! diff), also as a report against its capture. Golden files (`tests/golden/diff-*`) hold the
//! text and JSON; the JSON is checked against `schema/diff.schema.json`. Rewrite them with
//! `UPDATE_GOLDEN=1 cargo test -p phonehome --test diff` and review the change.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use testkit::scenario::{IMEI, IMSI, PHONE_NUMBER, redmi_2014_frames_with};

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The captures and the profile, in a folder of the test's own.
fn setup(name: &str) -> Dir {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("diff-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pcapng = |frames: &[testkit::Frame]| {
        let mut w = testkit::PcapNgWriter::new(Vec::new()).unwrap();
        let id = w.add_interface(testkit::Link::ethernet().link_type() as u16, 0, Some(9)).unwrap();
        w.write_frames(id, frames).unwrap();
        w.finish().unwrap()
    };
    std::fs::write(dir.join("off.pcapng"), pcapng(&redmi_2014_frames_with(false))).unwrap();
    std::fs::write(dir.join("on.pcapng"), pcapng(&redmi_2014_frames_with(true))).unwrap();
    let https = testkit::tls_session::keyed_https().pcapng_with_secrets();
    std::fs::write(dir.join("https.pcapng"), https).unwrap();
    let profile = format!(
        "[identifiers]\nimei = [\"{IMEI}\"]\nimsi = [\"{IMSI}\"]\nphone = [\"{PHONE_NUMBER}\"]\n"
    );
    std::fs::write(dir.join("profile.toml"), profile).unwrap();
    Dir(dir)
}

fn phonehome(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phonehome"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run phonehome")
}

fn diff(dir: &Path, before: &str, after: &str, extra: &[&str]) -> Output {
    let mut args = vec!["diff", before, after, "--profile", "profile.toml", "--no-geo"];
    args.extend_from_slice(extra);
    phonehome(dir, &args)
}

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v != "0") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{}: {e}; create it with UPDATE_GOLDEN=1 and review it", path.display())
    });
    assert_eq!(actual, expected, "{} differs (UPDATE_GOLDEN=1 rewrites it)", path.display());
}

/// The JSON form, checked against the schema, without the tool's version.
fn json_of(dir: &Path, before: &str, after: &str) -> Value {
    let out = diff(dir, before, after, &["--format", "json"]);
    let mut doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/diff.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    doc["tool"]["version"] = Value::Null;
    doc
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_cloud_service_turned_on_adds_the_address_book_upload() {
    let d = setup("cloud");
    let out = diff(&d.0, "off.pcapng", "on.pcapng", &[]);
    assert_eq!(out.status.code(), Some(1), "changes: 1; {}", String::from_utf8_lossy(&out.stderr));
    let t = text(&out);
    golden("diff-cloud.txt", &t);
    // The first lines are the worst: the address book's numbers newly sent to Xiaomi's cloud, in
    // cleartext.
    let first = t.lines().find(|l| l.starts_with('+')).unwrap();
    assert!(first.starts_with("+ critical phone") && first.contains("api.micloud.xiaomi.net"));
    let doc = json_of(&d.0, "off.pcapng", "on.pcapng");
    golden("diff-cloud.json", &(serde_json::to_string_pretty(&doc).unwrap() + "\n"));
    assert_eq!(doc["changes"][0]["kind"], "data_new");
    assert_eq!(doc["changes"][0]["severity"], "critical");
    // A maker's CI: the after-run adds critical data.
    let ci = diff(&d.0, "off.pcapng", "on.pcapng", &["--fail-on", "new-critical"]);
    assert_eq!(ci.status.code(), Some(1));
    // Reversed, it only improves: nothing new fails it.
    let back = diff(&d.0, "on.pcapng", "off.pcapng", &["--fail-on", "new-info"]);
    assert_eq!(back.status.code(), Some(0), "{}", text(&back));
    assert!(text(&back).contains("- critical phone"), "{}", text(&back));
}

#[test]
fn the_vendors_fix_moved_the_identifiers_into_https() {
    let d = setup("https");
    let out = diff(&d.0, "on.pcapng", "https.pcapng", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let t = text(&out);
    golden("diff-https.txt", &t);
    let doc = json_of(&d.0, "on.pcapng", "https.pcapng");
    golden("diff-https.json", &(serde_json::to_string_pretty(&doc).unwrap() + "\n"));
    let changes = doc["changes"].as_array().unwrap();
    let imei = changes
        .iter()
        .find(|c| {
            c["kind"] == "data_protection"
                && c["host"] == "api.account.xiaomi.com"
                && c["data"] == "imei"
        })
        .expect("the IMEI to the activation server changed protection");
    assert_eq!(imei["direction"], "better");
    assert_eq!(imei["before"], "cleartext HTTP (critical)");
    assert_eq!(imei["after"], "TLS 1.3, decrypted (medium)");
}

#[test]
fn the_same_run_is_an_empty_diff_whether_report_or_capture() {
    let d = setup("same");
    let out = diff(&d.0, "on.pcapng", "on.pcapng", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("No change:"), "{}", text(&out));
    // A report kept from before, against the capture analysed now.
    let report = phonehome(
        &d.0,
        &["analyze", "on.pcapng", "--profile", "profile.toml", "--no-geo", "-o", "on.json"],
    );
    assert_eq!(report.status.code(), Some(1));
    let out = diff(&d.0, "on.json", "on.pcapng", &["--format", "md"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("No change:"));
}

#[test]
fn bad_inputs_are_errors_naming_the_file() {
    let d = setup("bad");
    std::fs::write(d.0.join("broken.json"), b"{\"schema\": \"phonehome.report/1\", \"cap").unwrap();
    let out = diff(&d.0, "broken.json", "on.pcapng", &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.json") && err.contains("line 1 column"), "{err}");
    let no_host = r#"{"schema":"phonehome.report/1","captures":[],"destinations":[],"findings":[{"data":"imei"}]}"#;
    std::fs::write(d.0.join("odd.json"), no_host).unwrap();
    let out = diff(&d.0, "on.pcapng", "odd.json", &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("odd.json: findings[0]: no \"host\""), "{err}");
    let out = diff(&d.0, "on.pcapng", "missing.pcapng", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.pcapng"));
}
