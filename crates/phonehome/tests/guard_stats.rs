//! End-to-end tests of `phonehome guard stats` on a query log written through
//! `guard::querylog::QueryLog`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use guard::querylog::{LogOptions, QueryLog, now_ms};
use guard::{QueryRecord, Verdict};
use serde_json::Value;

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "phonehome-guard-stats-{tag}-{}-{}",
            std::process::id(),
            now_ms()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const HOUR: i64 = 3_600_000;

/// 20 recent queries from two phones and 5 three days old.
fn write_log(path: &Path) {
    let log = QueryLog::open(path, LogOptions::default()).unwrap();
    let tx = log.sender();
    let now = now_ms();
    let send = |count: usize, age: i64, client: u8, name: &str, verdict: Verdict| {
        for _ in 0..count {
            tx.send(QueryRecord {
                time_ms: now - age,
                client: IpAddr::V4(Ipv4Addr::new(10, 0, 0, client)),
                name: name.into(),
                qtype: 1,
                verdict,
                rule: (verdict == Verdict::Blocked).then(|| format!("{name} (block.txt:7)")),
                rcode: if verdict == Verdict::Blocked { 3 } else { 0 },
                upstream_us: (verdict == Verdict::Allowed).then_some(2_000),
                tcp: false,
            });
        }
    };
    send(6, HOUR, 5, "api.account.xiaomi.com", Verdict::Blocked);
    send(4, 2 * HOUR, 5, "app-measurement.com", Verdict::Blocked);
    send(7, HOUR, 6, "connectivitycheck.gstatic.com", Verdict::Allowed);
    send(3, HOUR, 6, "wiki.example.org", Verdict::Cached);
    send(5, 72 * HOUR, 5, "old.xiaomi.com", Verdict::Blocked);
    drop(tx);
    let summary = log.close().unwrap();
    assert_eq!(summary.written, 25);
}

fn stats(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phonehome"))
        .current_dir(dir)
        .args(["guard", "stats"])
        .args(args)
        .output()
        .expect("run phonehome")
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let out = stats(dir, &[args, &["--format", "json"]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

#[test]
fn json_over_the_default_window_and_all() {
    let dir = TempDir::new("json");
    write_log(&dir.0.join("guard.sqlite"));
    // Default: guard.sqlite in the current directory, the last 24 hours.
    let doc = json(&dir.0, &[]);
    assert_eq!(doc["db"], "guard.sqlite");
    assert!(doc["since"].as_str().unwrap().ends_with('Z'));
    assert_eq!(doc["until"], Value::Null);
    assert_eq!(doc["total"], 20);
    assert_eq!(doc["verdicts"]["blocked"], 10);
    assert_eq!(doc["verdicts"]["allowed"], 7);
    assert_eq!(doc["verdicts"]["cached"], 3);
    assert_eq!(doc["clients_total"], 2);
    assert_eq!(doc["top_blocked"][0]["name"], "api.account.xiaomi.com");
    assert_eq!(doc["top_blocked"][0]["queries"], 6);
    assert_eq!(doc["top_blocked"][0]["party"], "Xiaomi");
    assert_eq!(doc["top_blocked"][0]["rule"], "api.account.xiaomi.com (block.txt:7)");
    assert_eq!(doc["top_allowed"][0]["name"], "connectivitycheck.gstatic.com");
    assert_eq!(doc["clients"][0]["client"], "10.0.0.5");
    assert_eq!(doc["clients"][0]["blocked"], 10);
    let parties = doc["parties"].as_array().unwrap();
    let xiaomi = parties.iter().find(|p| p["party"] == "Xiaomi").expect("Xiaomi");
    assert_eq!(
        (xiaomi["blocked"].as_u64(), xiaomi["category"].as_str()),
        (Some(6), Some("manufacturer"))
    );
    assert_eq!(doc["unattributed"]["names"], 1, "wiki.example.org: {doc:#}");

    let all = json(&dir.0, &["--since", "all", "--top", "1"]);
    assert_eq!(all["since"], Value::Null);
    assert_eq!(all["total"], 25);
    assert_eq!(all["top_blocked"].as_array().unwrap().len(), 1);
    assert_eq!(all["top_blocked"][0]["name"], "api.account.xiaomi.com");
    assert_eq!(all["parties"][0]["party"], "Xiaomi");
    assert_eq!(all["parties"][0]["blocked"], 11);

    let old = json(&dir.0, &["--since", "7d", "--until", "48h"]);
    assert_eq!(old["total"], 5);
    assert_eq!(old["top_blocked"][0]["name"], "old.xiaomi.com");
    let none = json(&dir.0, &["--since", "2000-01-01", "--until", "2000-01-02T00:00:00+02:00"]);
    assert_eq!(none["total"], 0);
}

#[test]
fn text_tables() {
    let dir = TempDir::new("text");
    let db = dir.0.join("log.sqlite");
    write_log(&db);
    let out = stats(&dir.0, &["--db", "log.sqlite"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "Query log log.sqlite: ",
        "20 queries from 2 clients for 4 names",
        "Top blocked names",
        "Top allowed names",
        "Clients",
        "Parties",
        "api.account.xiaomi.com",
        "(no known party)",
    ] {
        assert!(text.contains(needle), "{needle:?} in\n{text}");
    }
    let xiaomi = text.lines().find(|l| l.trim_start().starts_with("Xiaomi")).expect(&text);
    let cells: Vec<&str> = xiaomi.split_whitespace().collect();
    assert_eq!(cells, ["Xiaomi", "manufacturer", "CN", "6", "6", "0", "1"], "{text}");
    // Columns line up: the counts of the verdict table end under the end of "queries".
    let mut lines = text.lines().skip_while(|l| !l.contains("verdict"));
    let header = lines.next().expect(&text);
    let end = header.find("queries").unwrap() + "queries".len();
    for line in lines.take(6) {
        let b = line.as_bytes();
        assert!(b[end - 1].is_ascii_digit() && b[end] == b' ', "{line:?}\n{text}");
    }

    let empty =
        stats(&dir.0, &["--db", "log.sqlite", "--since", "2000-01-01", "--until", "2000-01-02"]);
    assert!(String::from_utf8_lossy(&empty.stdout).contains("No queries in this window."));
}

#[test]
fn errors_name_the_file_and_exit_2() {
    let dir = TempDir::new("errors");
    let out = stats(&dir.0, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("guard.sqlite"), "{err}");
    assert!(!dir.0.join("guard.sqlite").exists(), "stats never creates a log");

    std::fs::write(dir.0.join("junk.sqlite"), vec![b'x'; 4096]).unwrap();
    let out = stats(&dir.0, &["--db", "junk.sqlite"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("junk.sqlite"));

    write_log(&dir.0.join("guard.sqlite"));
    let out = stats(&dir.0, &["--since", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--since yesterday"));
    let out = stats(&dir.0, &["--entities", "missing-entities.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing-entities.toml"));
}
