//! `phonehome lookup`: who runs a host, where an address is, offline.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

fn lookup(args: &[&str], stdin: &str) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_phonehome"))
        .arg("lookup")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run phonehome");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn names_each_host_with_its_source() {
    let (code, out, _) = lookup(
        &[
            "--json",
            "--no-geo",
            "data.mistat.xiaomi.com",
            "api.gameanalytics.com",
            "nobody.invalid",
        ],
        "",
    );
    assert_eq!(code, Some(0));
    let rows: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["party"], "Xiaomi");
    assert_eq!(rows[0]["country"], "CN");
    assert_eq!(rows[0]["source"], "phonehome");
    assert_eq!(rows[0]["matched"], "mistat.xiaomi.com");
    // AdGuard's shipped layer, or TrackerDB's when scripts/entities-trackerdb.sh fetched it here.
    let source = rows[1]["source"].as_str().unwrap();
    assert!(["AdGuard companiesdb", "Ghostery TrackerDB (fetched)"].contains(&source), "{source}");
    assert_eq!(rows[1]["category"], "analytics");
    assert!(rows[2]["party"].is_null());
    assert_eq!(rows[2]["domain"], "nobody.invalid");
}

#[test]
fn reads_a_list_and_says_how_much_it_named() {
    let list = "# trackers\nlaunches.appsflyer.com\n\n192.0.2.7\nunknown.example # note\n";
    let (code, out, err) = lookup(&["--no-geo", "-"], list);
    assert_eq!(code, Some(0));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("launches.appsflyer.com\tAppsFlyer, analytics, based in IL"));
    assert!(lines[1].starts_with("192.0.2.7\t? "), "{}", lines[1]);
    assert!(lines[2].contains("unknown party (registrable domain unknown.example)"));
    assert!(err.contains("1 of 2 host names attributed (50.0%)"), "{err}");
}

#[test]
fn a_bad_entity_file_is_an_error_naming_it() {
    let dir = std::env::temp_dir().join(format!("phonehome-lookup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[[entity]]\nname = \"x\"\n").unwrap();
    let (code, out, err) = lookup(&["--entities", bad.to_str().unwrap(), "a.example"], "");
    assert_eq!(code, Some(2));
    assert!(out.is_empty());
    assert!(err.contains("bad.toml"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
