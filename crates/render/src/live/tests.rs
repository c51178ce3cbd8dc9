use super::*;
use crate::text::tests::sample;

#[test]
fn only_new_and_changed_entries_are_streamed() {
    let r = sample("x.example");
    assert!(!r.findings.is_empty() && !r.destinations.is_empty());
    let mut c = Changes::default();
    let first = c.update(&r);
    let new_findings = first.iter().filter(|x| matches!(x, Change::Finding(_, true))).count();
    let new_dests = first.iter().filter(|x| matches!(x, Change::Destination(_, true))).count();
    assert_eq!((new_findings, new_dests), (r.findings.len(), r.destinations.len()));
    assert!(c.update(&r).is_empty(), "the same snapshot again changes nothing");

    // More occurrences are not a change; a new severity is.
    let mut more = r.clone();
    more.findings[0].count += 10;
    assert!(c.update(&more).is_empty());
    more.findings[0].severity = Severity::Info;
    let changed = c.update(&more);
    assert_eq!(changed.len(), 1);
    assert!(matches!(changed[0], Change::Finding(f, false) if f.severity == Severity::Info));

    // A destination with one more finding changed.
    let mut d = more.clone();
    d.destinations[0].findings += 1;
    assert!(matches!(c.update(&d)[..], [Change::Destination(_, false)]));
}

#[test]
fn every_line_is_a_versioned_json_object() {
    let r = sample("x.example");
    let mut c = Changes::default();
    let time = Some("2026-12-07T10:00:00Z");
    let status = Status { source: "eth0".into(), packets: 5, ..Status::default() };
    let mut lines = vec![start_line("eth0", Some("s.pcapng"))];
    lines.extend(c.update(&r).iter().map(|x| change_line(x, time)));
    lines.push(counters_line(&status, &r, time));
    lines.push(end_line(&status, &r, time, Some("report.html")));
    let events: Vec<String> = lines
        .iter()
        .map(|l| {
            assert!(!l.contains('\n'));
            let v: Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["schema"], LIVE_SCHEMA);
            v["event"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(events.first().map(String::as_str), Some("start"));
    assert_eq!(events.last().map(String::as_str), Some("end"));
    assert!(events.iter().any(|e| e == "finding") && events.iter().any(|e| e == "destination"));
    let f: Value = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(f["finding"], crate::json(&r)["findings"][0], "the report's own finding object");
    let end: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(end["summary"], crate::json(&r)["summary"]);
    assert_eq!(end["report"], "report.html");
}

#[test]
fn plain_lines_say_what_went_where() {
    let r = sample("x.example");
    let mut c = Changes::default();
    let lines: Vec<String> =
        c.update(&r).iter().map(|x| change_text(x, "2026-12-07T10:00:01Z")).collect();
    assert!(lines[0].starts_with("10:00:01 finding "), "{}", lines[0]);
    assert!(lines[0].contains("→ x.example"), "{}", lines[0]);
    assert!(lines.iter().any(|l| l.starts_with("10:00:01 destination ")), "{lines:?}");
}
