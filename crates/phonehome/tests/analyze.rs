//! End-to-end tests of `phonehome analyze` on the demo capture (the 2014 Redmi scenario written by
//! `testkit::scenario`) with its profile, and without a profile.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn analyze(args: &[&str]) -> (Output, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_phonehome"))
        .current_dir(root())
        .arg("analyze")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("run phonehome");
    let doc = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, doc)
}

fn findings(doc: &Value) -> &Vec<Value> {
    doc["findings"].as_array().expect("findings array")
}

fn has(doc: &Value, data: &str, host: &str, encoding: &str, where_: &str) -> bool {
    findings(doc).iter().any(|f| {
        f["data"] == data && f["host"] == host && f["encoding"] == encoding && f["where"] == where_
    })
}

#[test]
fn demo_with_profile_finds_every_planted_identifier() {
    let (out, doc) = analyze(&["examples/demo.pcapng", "--profile", "examples/profile.toml"]);
    assert_eq!(out.status.code(), Some(1), "findings give exit code 1");
    let act = "api.account.xiaomi.com";
    assert!(has(&doc, "imei", act, "plain", "http.query:imei"));
    assert!(has(&doc, "imei", act, "plain", "http.form:imei"));
    assert!(has(&doc, "imsi", act, "plain", "http.form:imsi"));
    assert!(has(&doc, "phone", act, "url+e164", "http.form:phone"));
    // The address book: gzip + chunked JSON, every contact its own finding, one upload summary.
    let cloud = "api.micloud.xiaomi.net";
    assert!(has(&doc, "imei", cloud, "gzip+md5", "http.json:deviceId"));
    let contacts: std::collections::BTreeSet<&str> = findings(&doc)
        .iter()
        .filter(|f| f["data"] == "contact" && f["host"] == cloud)
        .filter_map(|f| f["item"].as_str())
        .collect();
    assert_eq!(contacts.len(), 12, "{contacts:?}");
    let uploads = doc["address_book_uploads"].as_array().unwrap();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0]["contacts"], 12);
    assert_eq!(uploads[0]["host"], cloud);
    // The tracker: hashed identifiers.
    let ad = "api.ad-tracker.example";
    assert!(has(&doc, "imei", ad, "md5", "http.query:did"));
    assert!(has(&doc, "android_id", ad, "sha1", "http.query:aid"));
    assert!(has(&doc, "mac", ad, "mac-bare", "http.query:mac"));
    // Nothing from the profile is claimed inside TLS or QUIC.
    assert!(findings(&doc).iter().all(|f| f["encrypted"] == false));
    // Every finding has the contract's fields and evidence down to the frame.
    for f in findings(&doc) {
        for key in [
            "data",
            "item",
            "source",
            "host",
            "ip",
            "port",
            "protocol",
            "encrypted",
            "encoding",
            "where",
            "count",
            "first_seen",
            "evidence",
        ] {
            assert!(!f[key].is_null(), "finding without {key}: {f}");
        }
        assert_eq!(f["source"], "profile");
        let e = &f["evidence"][0];
        assert!(e["frame"].as_u64().unwrap() > 0 && e["file"] == "examples/demo.pcapng");
    }
    // Destinations: every flow's server, encrypted only if everything to it was.
    let dests = doc["destinations"].as_array().unwrap();
    let google = dests.iter().find(|d| d["host"] == "www.googleapis.com").unwrap();
    assert_eq!(google["encrypted"], true);
    let act_dest = dests.iter().find(|d| d["host"] == act).unwrap();
    assert_eq!(act_dest["encrypted"], false);
}

#[test]
fn values_are_masked_unless_revealed() {
    let imei = "865123045678905";
    let (out, _) = analyze(&["examples/demo.pcapng", "--profile", "examples/profile.toml"]);
    // Neither the identifiers nor the address book (contacts are `contact[N]`).
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(!shown.contains(imei) && !shown.contains("Kevin Lee") && !shown.contains("媽媽"));
    assert!(shown.contains("contact[11]"));
    let (out, _) =
        analyze(&["examples/demo.pcapng", "--profile", "examples/profile.toml", "--reveal"]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains(imei) && shown.contains("Kevin Lee"));
}

#[test]
fn without_profile_heuristics_find_the_cleartext_identifiers() {
    let (out, doc) = analyze(&["examples/demo.pcapng"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        findings(&doc).iter().all(|f| f["source"] == "heuristic" && f["confidence"].is_number())
    );
    assert!(has(&doc, "imei", "api.account.xiaomi.com", "plain", "http.query:imei"));
    assert!(has(&doc, "imsi", "api.account.xiaomi.com", "plain", "http.form:imsi"));
    assert!(has(&doc, "mac", "api.ad-tracker.example", "plain", "http.query:mac"));
}

#[test]
fn bad_profile_is_an_error_naming_file_and_line() {
    let dir = std::env::temp_dir().join(format!("phonehome-analyze-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("bad.toml");
    std::fs::write(&p, "name = \"x\"\n[identifiers]\nimeii = [\"1\"]\n").unwrap();
    let (out, _) = analyze(&["examples/demo.pcapng", "--profile", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:3") && err.contains("imeii"), "{err}");
}

#[test]
fn destinations_carry_their_party_and_user_entities_override() {
    let (_, doc) = analyze(&["examples/demo.pcapng", "--profile", "examples/profile.toml"]);
    let dest = |doc: &Value, host: &str| {
        doc["destinations"].as_array().unwrap().iter().find(|d| d["host"] == host).cloned().unwrap()
    };
    let act = dest(&doc, "api.account.xiaomi.com");
    assert_eq!(
        (act["party"].as_str(), act["category"].as_str()),
        (Some("Xiaomi"), Some("manufacturer"))
    );
    assert_eq!(act["party_country"], "CN");
    assert_eq!(dest(&doc, "www.googleapis.com")["party"], "Google");
    assert!(dest(&doc, "api.ad-tracker.example")["party"].is_null());

    let dir = std::env::temp_dir().join(format!("phonehome-entities-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let user = dir.join("mine.toml");
    std::fs::write(
        &user,
        "[[entity]]\nname = \"Example Ad Tracker\"\ncategory = \"advertising\"\ncountry = \"US\"\ndomains = [\"ad-tracker.example\"]\n",
    )
    .unwrap();
    let (out, doc) = analyze(&[
        "examples/demo.pcapng",
        "--profile",
        "examples/profile.toml",
        "--entities",
        user.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let ad = dest(&doc, "api.ad-tracker.example");
    assert_eq!(
        (ad["party"].as_str(), ad["category"].as_str()),
        (Some("Example Ad Tracker"), Some("advertising"))
    );

    std::fs::write(&user, "[[entity]]\nname = \"x\"\nbogus = 1\n").unwrap();
    let (out, _) = analyze(&["examples/demo.pcapng", "--entities", user.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("mine.toml"));
}

/// Runs `phonehome analyze ARGS` in the repository root, without the `--format json` default of
/// [`analyze`].
fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phonehome"))
        .current_dir(root())
        .arg("analyze")
        .args(args)
        .output()
        .expect("run phonehome")
}

#[test]
fn severity_protection_and_the_verdict() {
    let (_, doc) = analyze(&["examples/demo.pcapng", "--profile", "examples/profile.toml"]);
    // Identifiers in cleartext HTTP: critical, whoever receives them.
    for f in findings(&doc) {
        assert_eq!(f["exposure"], "cleartext", "{f}");
        let hashed = f["encoding"].as_str().unwrap().contains("md5")
            || f["encoding"].as_str().unwrap().contains("sha");
        let expected = if hashed { "high" } else { "critical" };
        assert_eq!(f["severity"], expected, "{f}");
        assert!(f["severity_reason"].as_str().unwrap().contains("readable on the network"));
    }
    assert_eq!(doc["summary"]["verdict"], "critical");
    let dests = doc["destinations"].as_array().unwrap();
    let get = |host: &str| dests.iter().find(|d| d["host"] == host).unwrap();
    assert_eq!(get("api.account.xiaomi.com")["protection"], "cleartext-http");
    assert_eq!(get("api.account.xiaomi.com")["severity"], "critical");
    assert_eq!(get("www.googleapis.com")["protection"], "tls");
    assert_eq!(get("www.googleapis.com")["tls_version"], "TLS 1.2");
    assert_eq!(get("www.googleapis.com")["severity"], "info");
    assert_eq!(get("www.google.com")["protection"], "quic");
    // The first party of a Xiaomi phone is Xiaomi; the tracker is unknown.
    let act = get("api.account.xiaomi.com");
    assert_eq!(act["party_detail"]["first_party"], true);
    assert!(get("api.ad-tracker.example")["party_detail"].is_null());
    assert!(
        get("api.account.xiaomi.com")["cnames"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "api-account.xiaomi.com.w.bj-cdn.example")
    );
}

#[test]
fn fail_on_sets_the_exit_code_by_severity() {
    let base = ["examples/demo.pcapng", "--profile", "examples/profile.toml", "--format", "json"];
    let code = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        run(&args).status.code()
    };
    assert_eq!(code(&[]), Some(1));
    assert_eq!(code(&["--fail-on", "critical"]), Some(1), "the demo has critical findings");
    // Without a profile on a capture with only hashed or heuristic data, a high bar passes: the
    // demo without a profile still has a cleartext IMEI, so use a capture with none at all.
    let dir = std::env::temp_dir().join(format!("phonehome-failon-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.pcap");
    let mut w = testkit::PcapWriter::new(Vec::new(), 1).unwrap();
    w.write_frames(&[]).unwrap();
    std::fs::write(&empty, w.finish().unwrap()).unwrap();
    let out = run(&[empty.to_str().unwrap(), "--fail-on", "low"]);
    assert_eq!(out.status.code(), Some(0));
    let out = run(&["examples/demo.pcapng", "--fail-on", "severe"]);
    assert_eq!(out.status.code(), Some(2), "an unknown severity is a usage error");
}

#[test]
fn output_file_format_follows_its_extension() {
    let dir = std::env::temp_dir().join(format!("phonehome-output-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, starts) in [
        ("r.json", "{"),
        ("r.md", "# phonehome report"),
        ("r.html", "<!DOCTYPE html>"),
        ("r.txt", ""),
    ] {
        let path = dir.join(name);
        let out = run(&[
            "examples/demo.pcapng",
            "--profile",
            "examples/profile.toml",
            "-o",
            path.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(out.stdout.is_empty(), "{name}: the report goes to the file only");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("CRITICAL") && err.contains(name), "{name}: {err}");
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(written.starts_with(starts), "{name}: {}", &written[..written.len().min(80)]);
        assert!(!written.contains("865123045678905"), "{name}: masked");
    }
    // The text report leads with the verdict.
    let text = std::fs::read_to_string(dir.join("r.txt")).unwrap();
    assert!(text.lines().next().unwrap_or("").contains("CRITICAL"), "{text}");
}

#[test]
fn captures_are_described_with_their_hash_and_span() {
    use sha2::Digest;
    let (_, doc) = analyze(&["examples/demo.pcapng", "--profile", "examples/profile.toml"]);
    let bytes = std::fs::read(root().join("examples/demo.pcapng")).unwrap();
    let expected: String =
        sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let c = &doc["captures"][0];
    assert_eq!(c["sha256"], expected.as_str());
    assert_eq!(c["size"], bytes.len());
    assert_eq!(c["packets"], 168);
    assert_eq!(c["format"], "pcapng");
    assert_eq!(c["first_packet"], "2014-08-10T09:00:00.412069715Z");
    assert!(c["duration_s"].as_f64().unwrap() > 30.0);
    let (_, fast) = analyze(&["examples/demo.pcapng", "--no-hash"]);
    assert!(fast["captures"][0]["sha256"].is_null());
    assert_eq!(fast["captures"][0]["packets"], 168);
    assert_eq!(doc["device"]["country"], "TW");
    assert_eq!(doc["device"]["manufacturer"], "Xiaomi");
    // A gzip-compressed capture on standard input: hashed as it came.
    let gz = {
        use std::io::Write;
        let mut e = testkit::gzip(Vec::new());
        e.write_all(&bytes).unwrap();
        e.finish().unwrap()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_phonehome"))
        .current_dir(root())
        .args(["analyze", "-", "--format", "json", "--no-geo"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&gz).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected: String = sha2::Sha256::digest(&gz).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(doc["captures"][0]["sha256"], expected.as_str());
    assert_eq!(doc["captures"][0]["compression"], "gzip");
    assert_eq!(doc["captures"][0]["packets"], 168);
}

#[test]
fn without_arguments_a_short_usage_points_at_the_demo() {
    let out = Command::new(env!("CARGO_BIN_EXE_phonehome")).output().expect("run phonehome");
    let usage = String::from_utf8_lossy(&out.stdout);
    assert!(
        usage.contains(
            "phonehome analyze examples/demo.pcapng --profile examples/profile.toml -o report.html"
        ),
        "{usage}"
    );
}

/// A fresh machine (no `data/geo`, run from an empty directory) shows countries: the binary
/// carries a country table, and the report names it with its licences.
#[test]
fn countries_out_of_the_box() {
    let empty = std::env::temp_dir().join(format!("phonehome-nogeo-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_phonehome"))
        .current_dir(&empty)
        .arg("analyze")
        .arg(root().join("examples/demo.pcapng"))
        .arg("--profile")
        .arg(root().join("examples/profile.toml"))
        .args(["--format", "json", "--no-hash"])
        .output()
        .expect("run phonehome");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let dest = |h: &str| {
        doc["destinations"].as_array().unwrap().iter().find(|d| d["host"] == h).unwrap().clone()
    };
    // From the built-in table, or from data/geo when the checkout has it: the same countries.
    assert_eq!(dest("api.account.xiaomi.com")["country"], "CN");
    assert_eq!(dest("api.account.xiaomi.com")["leaves_country"], true);
    assert_eq!(doc["summary"]["findings_country_unknown"], 0);
    let source = doc["geo_source"].as_str().unwrap_or_default();
    assert!(source.contains("geo-whois-asn-country"), "{source}");
    let _ = std::fs::remove_dir_all(&empty);
}

#[test]
fn device_names_every_finding_destination_and_capture() {
    let (_, plain) = analyze(&["examples/demo.pcapng", "--profile", "examples/profile.toml"]);
    let (out, doc) = analyze(&[
        "examples/demo.pcapng",
        "--profile",
        "examples/profile.toml",
        "--device",
        "redmi-1s",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(findings(&doc).len(), findings(&plain).len(), "one device: the same findings");
    assert!(findings(&doc).iter().all(|f| f["device"] == "redmi-1s"));
    assert!(findings(&plain).iter().all(|f| f["device"].is_null()));
    let dests = doc["destinations"].as_array().unwrap();
    assert!(dests.iter().all(|d| d["devices"] == serde_json::json!(["redmi-1s"])), "{dests:?}");
    assert_eq!(doc["captures"][0]["device"], "redmi-1s");
    // People see it too.
    let text = Command::new(env!("CARGO_BIN_EXE_phonehome"))
        .current_dir(root())
        .args(["analyze", "examples/demo.pcapng", "--profile", "examples/profile.toml"])
        .args(["--device", "redmi-1s", "--format", "md"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains(r"redmi-1s: imei\[0\]"));
}
