//! Conformance against tshark on the real captures in `../shared/corpus/real`.
//!
//! For every capture with a `<capture>.tshark.tsv` reference, the sets of DNS query names, TLS SNIs,
//! QUIC SNIs, HTTP hosts and HTTP request lines reported by `phonehome events` must equal tshark's,
//! except where `known-differences.tsv` (next to this file) has an entry saying why phonehome is
//! right or why the case is out of scope. The test prints the agreement figure.
//!
//! Normalisation before comparing (documented in the README): DNS names and SNIs are compared
//! lower-case without a trailing dot (phonehome's contract); tshark's `<Root>` is the empty name.
//! HTTP hosts are the raw Host header value, as tshark prints `http.host`.
//!
//! Skips with a message when `../shared` is absent.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const KINDS: [&str; 5] = ["dns_query", "tls_sni", "quic_sni", "http_host", "http_request"];

fn normalise(kind: &str, v: &str) -> String {
    match kind {
        "dns_query" | "tls_sni" | "quic_sni" => {
            let v = if v == "<Root>" { "" } else { v };
            v.trim_end_matches('.').to_ascii_lowercase()
        }
        _ => v.to_string(),
    }
}

type Set = BTreeSet<(String, String)>;

fn reference(path: &Path) -> Set {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .filter(|(k, _)| KINDS.contains(k))
        .map(|(k, v)| (k.to_string(), normalise(k, v)))
        .collect()
}

fn ours(capture: &Path) -> (Set, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_phonehome"))
        .args(["events", "--format", "jsonl"])
        .arg(capture)
        .output()
        .expect("run phonehome");
    let mut set = Set::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("events output is JSON lines");
        let s = |k: &str| v[k].as_str().map(str::to_string);
        let mut add = |k: &str, val: Option<String>| {
            if let Some(val) = val.filter(|x| !x.is_empty() || k == "dns_query") {
                set.insert((k.to_string(), normalise(k, &val)));
            }
        };
        match v["kind"].as_str().unwrap_or("") {
            "dns_query" => add("dns_query", s("name")),
            "tls_client_hello" => add("tls_sni", s("sni")),
            "quic_initial" => add("quic_sni", s("sni")),
            // tshark's reference has HTTP/1.x requests only (`http.request.*`); HTTP/2 requests
            // inside decrypted TLS (or h2c) are checked by the decryption tests.
            "http_request" if !s("version").unwrap_or_default().starts_with("HTTP/1") => {}
            "http_request" => {
                let host = v["headers"].as_array().and_then(|h| {
                    h.iter().find_map(|kv| {
                        let name = kv[0].as_str()?;
                        name.eq_ignore_ascii_case("host")
                            .then(|| kv[1].as_str().map(str::to_string))?
                    })
                });
                add("http_host", host);
                add(
                    "http_request",
                    Some(format!(
                        "{} {}",
                        s("method").unwrap_or_default(),
                        s("uri").unwrap_or_default()
                    )),
                );
            }
            _ => {}
        }
    }
    (set, out.status.code().unwrap_or(-1))
}

/// `capture \t kind \t side(missing|extra) \t value \t reason`; `*` as value matches every value of
/// that kind and side for the capture.
fn known_differences() -> BTreeMap<(String, String, String), Vec<(String, String)>> {
    let text = include_str!("known-differences.tsv");
    let mut map: BTreeMap<_, Vec<_>> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        assert!(
            f.len() == 5 && !f[4].trim().is_empty(),
            "known-differences.tsv line {}: need 5 tab-separated fields with a reason",
            n + 1
        );
        assert!(
            KINDS.contains(&f[1]) && (f[2] == "missing" || f[2] == "extra"),
            "known-differences.tsv line {}: bad kind or side",
            n + 1
        );
        map.entry((f[0].to_string(), f[1].to_string(), f[2].to_string()))
            .or_default()
            .push((normalise(f[1], f[3]), f[4].to_string()));
    }
    map
}

#[test]
fn events_match_tshark_on_real_corpus() {
    let Some(root) = testkit::skip::real_corpus("conformance (tshark events)") else { return };
    let known = known_differences();
    let mut used: BTreeSet<(String, String, String, String)> = BTreeSet::new();
    let mut refs: Vec<PathBuf> = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap().flatten() {
        if dir.path().is_dir() {
            for f in std::fs::read_dir(dir.path()).unwrap().flatten() {
                let p = f.path();
                if p.to_string_lossy().ends_with(".tshark.tsv") {
                    refs.push(p);
                }
            }
        }
    }
    refs.sort();
    let (mut agree, mut total) = (BTreeMap::<&str, usize>::new(), BTreeMap::<&str, usize>::new());
    let mut unexplained = Vec::new();
    let mut explained = 0usize;
    for r in &refs {
        let capture =
            PathBuf::from(r.to_string_lossy().trim_end_matches(".tshark.tsv").to_string());
        let rel = capture.strip_prefix(&root).unwrap().to_string_lossy().to_string();
        let want = reference(r);
        let (got, _code) = ours(&capture);
        for kind in KINDS {
            let w: BTreeSet<_> =
                want.iter().filter(|(k, _)| k == kind).map(|(_, v)| v.clone()).collect();
            let g: BTreeSet<_> =
                got.iter().filter(|(k, _)| k == kind).map(|(_, v)| v.clone()).collect();
            *agree.entry(kind).or_default() += w.intersection(&g).count();
            *total.entry(kind).or_default() += w.union(&g).count();
            for (side, diff) in [("missing", w.difference(&g)), ("extra", g.difference(&w))] {
                for v in diff {
                    let key = (rel.clone(), kind.to_string(), side.to_string());
                    let hit = known
                        .get(&key)
                        .and_then(|list| list.iter().find(|(kv, _)| kv == "*" || kv == v));
                    match hit {
                        Some((kv, _)) => {
                            explained += 1;
                            used.insert((
                                rel.clone(),
                                kind.to_string(),
                                side.to_string(),
                                kv.clone(),
                            ));
                        }
                        None => unexplained.push(format!("{rel}\t{kind}\t{side}\t{v}")),
                    }
                }
            }
        }
    }
    let (a, t): (usize, usize) = (agree.values().sum(), total.values().sum());
    println!(
        "conformance: {} captures, {a}/{t} values agree with tshark ({:.1}%), {explained} differences explained in known-differences.tsv, {} unexplained",
        refs.len(),
        100.0 * a as f64 / t.max(1) as f64,
        unexplained.len()
    );
    for k in KINDS {
        println!("  {k:<13} {}/{}", agree.get(k).unwrap_or(&0), total.get(k).unwrap_or(&0));
    }
    let stale: Vec<_> = known
        .iter()
        .flat_map(|(k, list)| {
            list.iter().map(move |(v, _)| (k.0.clone(), k.1.clone(), k.2.clone(), v.clone()))
        })
        .filter(|e| !used.contains(e))
        .collect();
    for s in &stale {
        println!("stale known difference (no longer differs): {}\t{}\t{}\t{}", s.0, s.1, s.2, s.3);
    }
    if !unexplained.is_empty() {
        for u in &unexplained {
            println!("UNEXPLAINED\t{u}");
        }
    }
    assert!(
        unexplained.is_empty(),
        "{} differences from tshark are not explained",
        unexplained.len()
    );
    assert!(stale.is_empty(), "{} known differences are stale; remove them", stale.len());
}
