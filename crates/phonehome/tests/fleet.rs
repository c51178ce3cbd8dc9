//! `phonehome fleet`: a lab's reports (`analyze --out DIR` with a manifest) as one table of
//! devices × parties × kinds of data, in the terminal, as JSON (checked against
//! `schema/fleet.schema.json` and against the reports it was made from) and as HTML; the
//! question "which devices sent an identifier in cleartext to a server outside their country?"
//! answered; a report that cannot be read is named, exit code 2, the others summarised.

use std::path::PathBuf;

use serde_json::Value;

mod lab;

use lab::{Dir, phonehome, root};

/// The lab's reports (`analyze --out`, JSON), with the demo profile (a device in Taiwan) and the
/// built-in country table.
fn lab(name: &str) -> (Dir, PathBuf) {
    let d = Dir::new(&format!("fleet-{name}"));
    let lab = lab::three_devices(&d.0, "redmi-b");
    let out = d.0.join("reports");
    lab::analyze_lab(&lab, &out, "json");
    (d, out)
}

#[test]
fn a_lab_is_one_table_and_answers_who_sent_identifiers_in_cleartext_abroad() {
    let (_d, reports) = lab("table");
    let o = phonehome(&["fleet", reports.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schema/fleet.schema.json")).unwrap(),
    )
    .unwrap();
    let v = jsonschema::draft202012::new(&schema).unwrap();
    let errors: Vec<String> =
        v.iter_errors(&doc).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let devices: Vec<&str> =
        doc["devices"].as_array().unwrap().iter().map(|d| d["device"].as_str().unwrap()).collect();
    assert_eq!(devices, ["mi-c", "redmi-a", "redmi-b"], "the folder's reports, sorted");
    assert_eq!(doc["devices"][1]["model"], "Redmi 1S");
    assert_eq!(doc["devices"][2]["firmware"], "MIUI V5.7");
    // Every cell is what that device's report says it sent that party.
    for cell in doc["cells"].as_array().unwrap() {
        let device = cell["device"].as_str().unwrap();
        let report: Value = serde_json::from_slice(
            &std::fs::read(reports.join(format!("{}.json", device))).unwrap(),
        )
        .unwrap();
        let party = cell["party"].as_str().unwrap();
        let mut kinds: Vec<&str> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["party"].as_str().or(f["host"].as_str()) == Some(party))
            .map(|f| f["data"].as_str().unwrap())
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        let cell_kinds: Vec<&str> =
            cell["data"].as_array().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
        assert_eq!(cell_kinds, kinds, "{device} -> {party}");
    }
    // The IMEI goes to Xiaomi from every device.
    let imei = doc["by_kind"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["data"] == "imei" && r["party"] == "Xiaomi")
        .expect("IMEI to Xiaomi");
    assert_eq!(imei["devices"], serde_json::json!(["mi-c", "redmi-a", "redmi-b"]));
    // Identifiers in cleartext abroad: the two Redmis (cleartext HTTP to China from Taiwan),
    // not the phone whose data went inside TLS.
    let abroad: Vec<&str> = doc["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["cleartext"] == true && c["abroad"] == true)
        .map(|c| c["device"].as_str().unwrap())
        .collect();
    assert!(abroad.contains(&"redmi-a") && abroad.contains(&"redmi-b"), "{abroad:?}");
    assert!(!abroad.contains(&"mi-c"), "{abroad:?}");
    // `analyze --out` wrote the same summary beside the reports.
    let written: Value =
        serde_json::from_slice(&std::fs::read(reports.join("fleet.json")).unwrap()).unwrap();
    assert_eq!(written, doc, "analyze --out's fleet.json is `phonehome fleet DIR`'s");
    assert!(reports.join("fleet.html").is_file());
    // The terminal says the same.
    let o = phonehome(&["fleet", reports.to_str().unwrap()]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.starts_with("Fleet: 3 devices, 3 sent personal data, 2 in cleartext"), "{text}");
    let section = text.split("Sent in cleartext to a server in another country:").nth(1).unwrap();
    assert!(section.contains("redmi-a -> Xiaomi") && !section.contains("mi-c"), "{section}");
    assert!(text.contains("redmi-b (Redmi 1S, MIUI V5.7): CRITICAL"), "{text}");
}

#[test]
fn the_page_is_self_contained_and_a_bad_report_is_named() {
    let (d, reports) = lab("page");
    std::fs::write(reports.join("broken.json"), b"{ not json").unwrap();
    let page = d.0.join("fleet.html");
    let o = phonehome(&["fleet", reports.to_str().unwrap(), "-o", page.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "a report could not be read");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("broken.json"), "{err}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("default-src 'none'") && !html.contains("<script"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing loaded from anywhere"
    );
    for device in ["redmi-a", "redmi-b", "mi-c"] {
        assert!(html.contains(&format!("<tr data-device=\"{device}\">")), "{device}");
    }
    assert!(html.contains("class=\"cell sev-critical\" data-party=\"Xiaomi\""));
    // Nothing readable: no summary, exit 2.
    let o = phonehome(&["fleet", reports.join("broken.json").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing to summarise"));
}
