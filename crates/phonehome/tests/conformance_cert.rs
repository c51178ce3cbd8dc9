//! Certificate names against tshark: on every capture of `../shared/corpus/real` where
//! `phonehome events` reports a `tls_certificate`, the subject organisation and common name it
//! gives must be among the X.509 directory strings tshark 4.0 decodes from that capture's
//! Certificate messages. Skipped (and listed by `scripts/test`) without tshark or the corpus.
//! Known difference: `ja4/socks4-https.pcap`, TLS inside a SOCKS4 tunnel, which tshark does not
//! dissect on that port (phonehome follows the tunnel).

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

const KNOWN: &[&str] = &["ja4/socks4-https.pcap"];

/// Every directory string tshark shows in the capture's Certificate messages.
fn tshark_strings(path: &Path) -> HashSet<String> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(path).args(["-Y", "tls.handshake.type == 11", "-T", "fields"]);
    cmd.args(["-E", "separator=\u{1}", "-E", "aggregator=\u{1}"]);
    for f in [
        "DirectoryString",
        "PrintableString",
        "IA5String",
        "BMPString",
        "UniversalString",
        "UTF8String",
        "TeletexString",
        "printableString",
        "teletexString",
        "universalString",
        "bmpString",
        "uTF8String",
    ] {
        cmd.args(["-e", &format!("x509sat.{f}")]);
    }
    let out = cmd.output().expect("run tshark");
    String::from_utf8_lossy(&out.stdout)
        .split(['\u{1}', '\n'])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn certificate_names_agree_with_tshark() {
    let Some(corpus) = testkit::skip::real_corpus("conformance_cert") else { return };
    if !Command::new("tshark").arg("-v").output().is_ok_and(|o| o.status.success()) {
        testkit::skip::skip("conformance_cert", "tshark is not installed");
        return;
    }
    let mut captures: Vec<_> = walk(&corpus);
    captures.sort();
    let (mut agreed, mut known) = (0, 0);
    let mut diffs = Vec::new();
    for path in captures {
        let out = Command::new(env!("CARGO_BIN_EXE_phonehome"))
            .arg("events")
            .arg(&path)
            .output()
            .expect("run phonehome");
        let certs: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains("\"tls_certificate\""))
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        if certs.is_empty() {
            continue;
        }
        let rel = path.strip_prefix(&corpus).unwrap().to_string_lossy().into_owned();
        let strings = tshark_strings(&path);
        for c in certs {
            let names: Vec<&str> =
                ["subject_org", "subject_cn"].iter().filter_map(|k| c[*k].as_str()).collect();
            if names.iter().all(|n| strings.contains(*n)) {
                agreed += 1;
            } else if KNOWN.contains(&rel.as_str()) {
                known += 1;
            } else {
                diffs.push(format!("{rel}: {names:?}"));
            }
        }
    }
    eprintln!("certificate names: {agreed} agree with tshark, {known} known differences");
    assert!(agreed >= 100, "only {agreed} certificates compared");
    assert!(diffs.is_empty(), "names tshark does not show:\n{}", diffs.join("\n"));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if !matches!(
            p.extension().and_then(|x| x.to_str()),
            Some("tsv" | "md" | "log" | "txt" | "keys" | "har" | "json" | "mitm" | "flow")
        ) {
            out.push(p);
        }
    }
    out
}
