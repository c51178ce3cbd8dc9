//! The live view's page and its state, for `phonehome watch --web`: one self-contained page (no
//! external resource; its one style sheet and one script are allowed by hash in
//! [`csp`]) that listens to server-sent events, each the whole [`state`] of the session as JSON,
//! and draws it with `textContent` only.

use serde_json::{Value, json};

use report::{Report, Summary};

use crate::json::{destination_json, finding_json, refused_json, summary_json};
use crate::text::live::Status;

const CSS: &str = include_str!("page.css");
const JS: &str = include_str!("page.js");
const HTML: &str = include_str!("page.html");

/// Refused connections the page lists (the latest of the report's).
pub const LIVE_REFUSED: usize = 200;

/// Blocked DNS queries of one device, when the guard runs alongside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The device's address.
    pub client: String,
    /// Queries blocked.
    pub blocked: u64,
    /// The last name blocked.
    pub last_name: String,
}

/// The page's state: the report's summary, destinations and findings (as in the report's JSON,
/// values masked as there), the status line and counters, and the guard's blocks per device
/// (`null` without the guard), and the connections a gateway refused (the report's `refused`).
pub fn state(report: &Report, status: &Status, blocked: Option<&[Blocked]>) -> String {
    let s = Summary::of(report);
    let destinations: Vec<Value> = report
        .destinations
        .iter()
        .map(|d| {
            let mut v = destination_json(d);
            v["protection_label"] = json!(d.protection_label());
            v
        })
        .collect();
    let mut refused = refused_json(report);
    if let Some(all) = refused["connections"].as_array_mut() {
        all.drain(..all.len().saturating_sub(LIVE_REFUSED));
    }
    json!({
        "summary": summary_json(&s),
        "status_line": status.line(),
        "status": crate::live::status_json(status, &s),
        "destinations": destinations,
        "findings": report.findings.iter().map(finding_json).collect::<Vec<_>>(),
        "blocked": blocked.map(|b| b.iter().map(|b| json!({
            "client": b.client, "blocked": b.blocked, "last_name": b.last_name,
        })).collect::<Vec<_>>()),
        "refused": refused,
    })
    .to_string()
}

/// The page (the same bytes every time).
pub fn html() -> String {
    HTML.replace("@@CSS@@", CSS).replace("@@JS@@", JS)
}

/// The Content-Security-Policy the page is served with: its style sheet and script by hash,
/// connections to its own origin only (the event stream), nothing else.
pub fn csp() -> String {
    format!(
        "default-src 'none'; style-src {}; script-src {}; connect-src 'self'; img-src data:; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        crate::html::csp_hash(CSS),
        crate::html::csp_hash(JS)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tests::sample;

    #[test]
    fn the_page_is_self_contained_and_its_state_is_the_reports() {
        let page = html();
        assert!(!page.contains("@@"));
        for external in ["http://", "https://", "src=", "@import", "url("] {
            assert!(!page.contains(external), "{external}");
        }
        let r = sample("x.example");
        let status = Status { source: "eth0".into(), packets: 9, ..Status::default() };
        let v: Value = serde_json::from_str(&state(&r, &status, None)).unwrap();
        assert_eq!(v["summary"], crate::json(&r)["summary"]);
        assert_eq!(v["findings"], crate::json(&r)["findings"]);
        assert_eq!(v["destinations"][0]["protection_label"], r.destinations[0].protection_label());
        assert!(v["blocked"].is_null());
        assert_eq!(v["status"]["packets"], 9);
        let b = [Blocked { client: "10.0.0.2".into(), blocked: 3, last_name: "t.example".into() }];
        let v: Value = serde_json::from_str(&state(&r, &status, Some(&b))).unwrap();
        assert_eq!(v["blocked"][0]["blocked"], 3);
        let csp = csp();
        assert!(csp.contains("connect-src 'self'") && csp.starts_with("default-src 'none'"));
    }

    #[test]
    fn the_state_lists_the_latest_refusals_and_their_total() {
        let mut r = sample("x.example");
        let v: Value = serde_json::from_str(&state(&r, &Status::default(), None)).unwrap();
        assert_eq!(v["refused"]["total"], 0);
        r.refused = (0..LIVE_REFUSED as u64 + 5)
            .map(|i| report::RefusedConnection {
                time: capture::Timestamp(1_700_000_000_000_000_000),
                device: Some("phone".into()),
                transport: "tcp",
                server: "203.0.113.9".into(),
                port: 443,
                flow: i,
                matched: "sni t.example".into(),
                rule: "t.example (block.txt:1)".into(),
            })
            .collect();
        r.refused_total = 7_000;
        let v: Value = serde_json::from_str(&state(&r, &Status::default(), None)).unwrap();
        let listed = v["refused"]["connections"].as_array().unwrap();
        assert_eq!(listed.len(), LIVE_REFUSED);
        assert_eq!(listed[0]["flow"], 5, "the oldest beyond the page's share left out");
        assert_eq!(v["refused"]["total"], 7_000);
    }
}
