//! `analyze --out DIR`: one report per capture, `--jobs` at a time, labelled by a manifest.
//!
//! Over 200 generated captures (the 2014 Redmi with the cloud service off and on, cut at
//! different points, and HTTPS sessions with their keys inside): the reports written with
//! `--jobs 2` are byte for byte those written with `--jobs 1`, and those of single `analyze`
//! runs of the same captures; a manifest's labels reach the reports; a bad manifest is an error
//! naming its line; an unreadable capture gives exit code 2 and the others are still written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use testkit::scenario::redmi_2014_frames_with;

mod lab;

use lab::{Dir, phonehome};

fn dir(name: &str) -> Dir {
    Dir::new(&format!("batch-{name}"))
}

fn pcapng(frames: &[testkit::Frame]) -> Vec<u8> {
    let mut w = testkit::PcapNgWriter::new(Vec::new()).unwrap();
    let id = w.add_interface(testkit::Link::ethernet().link_type() as u16, 0, Some(9)).unwrap();
    w.write_frames(id, frames).unwrap();
    w.finish().unwrap()
}

/// `n` captures in `dir/lab`: every fifth an HTTPS session with its keys, the others the Redmi
/// with the cloud service on or off, cut after a varying number of frames.
fn lab(d: &Path, n: usize) -> PathBuf {
    let lab = d.join("lab");
    std::fs::create_dir_all(&lab).unwrap();
    let (off, on) = (redmi_2014_frames_with(false), redmi_2014_frames_with(true));
    let https = testkit::tls_session::keyed_https().pcapng_with_secrets();
    for i in 0..n {
        let bytes = if i % 5 == 4 {
            https.clone()
        } else {
            let frames = if i % 2 == 0 { &on } else { &off };
            pcapng(&frames[..frames.len() - (i * 7) % (frames.len() / 2)])
        };
        std::fs::write(lab.join(format!("phone{i:03}.pcapng")), bytes).unwrap();
    }
    lab
}

/// Every file of a folder, by name.
fn files(d: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())
        })
        .collect()
}

#[test]
fn two_jobs_write_what_one_job_and_single_runs_write() {
    let d = dir("jobs");
    let lab = lab(&d.0, 200);
    let (one, two) = (d.0.join("one"), d.0.join("two"));
    let run = |out: &Path, jobs: &str| {
        let o = phonehome(&[
            "analyze",
            lab.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--jobs",
            jobs,
            "--no-geo",
        ]);
        assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(&format!("200 reports written to {}", out.display())), "{err}");
        files(out)
    };
    let (a, b) = (run(&one, "1"), run(&two, "2"));
    assert_eq!(a.len(), 202, "200 reports and the fleet summary (JSON and page)");
    assert!(a.contains_key("fleet.json") && a.contains_key("fleet.html"));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(b[name] == *bytes, "{name} differs between --jobs 1 and --jobs 2");
    }
    // Not all the same report: the captures differ, and so do their reports.
    let distinct: std::collections::BTreeSet<&Vec<u8>> =
        a.iter().filter(|(k, _)| k.starts_with("phone")).map(|(_, v)| v).collect();
    assert!(distinct.len() > 20, "{} distinct reports", distinct.len());
    // And each is what `analyze CAPTURE --format json` writes.
    for i in (0..200).step_by(23) {
        let capture = lab.join(format!("phone{i:03}.pcapng"));
        let o = phonehome(&["analyze", capture.to_str().unwrap(), "--format", "json", "--no-geo"]);
        assert!(
            o.stdout == a[&format!("phone{i:03}.json")],
            "phone{i:03} differs from a single run"
        );
    }
}

#[test]
fn a_manifest_labels_the_reports_and_a_bad_one_names_its_line() {
    let d = dir("manifest");
    let lab = lab(&d.0, 5);
    std::fs::write(
        lab.join("manifest.csv"),
        "capture,device,model,firmware\nphone000.pcapng,redmi-1,Redmi 1S,\"MIUI V5, 2014-08\"\nphone001.pcapng,redmi-2,Redmi 1S,MIUI V5.7\n",
    )
    .unwrap();
    let out = d.0.join("out");
    let o =
        phonehome(&["analyze", lab.to_str().unwrap(), "--out", out.to_str().unwrap(), "--no-geo"]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(out.join(name)).unwrap()).unwrap()
    };
    let r = read("phone000.json");
    assert_eq!(r["captures"][0]["device"], "redmi-1");
    assert_eq!(r["captures"][0]["model"], "Redmi 1S");
    assert_eq!(r["captures"][0]["firmware"], "MIUI V5, 2014-08");
    assert!(r["findings"].as_array().unwrap().iter().all(|f| f["device"] == "redmi-1"));
    assert_eq!(read("phone001.json")["captures"][0]["firmware"], "MIUI V5.7");
    let unlabelled = read("phone002.json");
    assert_eq!(unlabelled["captures"][0]["device"], serde_json::Value::Null);
    assert!(unlabelled["captures"][0].get("model").is_none());
    // EVE lines carry the device too, and the format's extension names the files.
    let eve = d.0.join("eve");
    let o = phonehome(&[
        "analyze",
        lab.to_str().unwrap(),
        "--out",
        eve.to_str().unwrap(),
        "--format",
        "eve",
        "--no-geo",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let lines = std::fs::read_to_string(eve.join("phone000.eve.json")).unwrap();
    assert!(lines.lines().count() > 3 && lines.lines().all(|l| l.contains("\"device:redmi-1\"")));
    // A folder without `--out` is not read as one timeline: it says how to.
    let o = phonehome(&["analyze", lab.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is a folder: `--out DIR`"));
    // A bad manifest: an error naming the file and line, nothing analysed.
    let bad = d.0.join("bad.csv");
    std::fs::write(&bad, "capture,device\nphone000.pcapng,a\nphone001.pcapng\n").unwrap();
    let o = phonehome(&[
        "analyze",
        lab.join("phone000.pcapng").to_str().unwrap(),
        "--manifest",
        bad.to_str().unwrap(),
        "--out",
        d.0.join("none").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("{}:3: 1 fields where the header has 2", bad.display())),
        "{err}"
    );
}

#[test]
fn an_unreadable_capture_is_exit_code_2_and_the_others_are_written() {
    let d = dir("unreadable");
    let lab = lab(&d.0, 3);
    std::fs::write(lab.join("phone001.pcapng"), b"not a capture at all").unwrap();
    let out = d.0.join("out");
    let o =
        phonehome(&["analyze", lab.to_str().unwrap(), "--out", out.to_str().unwrap(), "--no-geo"]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let written = files(&out);
    assert_eq!(written.len(), 5, "3 reports and the fleet summary: {:?}", written.keys());
    let bad: serde_json::Value = serde_json::from_slice(&written["phone001.json"]).unwrap();
    assert_eq!(bad["summary"]["verdict"], serde_json::Value::Null, "nothing read is no all-clear");
    let good: serde_json::Value = serde_json::from_slice(&written["phone000.json"]).unwrap();
    assert!(!good["findings"].as_array().unwrap().is_empty());
}
