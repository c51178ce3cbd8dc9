//! Renderings of a [`Report`]: the JSON document (a contract later tools rely on) and text.

use std::fmt::Write;

use pipeline::time::rfc3339;
use serde_json::{Value, json};

use crate::finding::{Evidence, Finding, Report, Source};

fn evidence_json(e: &Evidence) -> Value {
    json!({
        "file": e.file, "frame": e.frame, "flow": e.flow, "offset": e.offset,
        "field": e.field, "value": e.value,
    })
}

fn finding_json(f: &Finding) -> Value {
    let (source, confidence) = match f.source {
        Source::Profile => ("profile", None),
        Source::Heuristic { confidence } => {
            ("heuristic", Some((confidence * 100.0).round() / 100.0))
        }
    };
    let mut v = json!({
        "data": f.data.as_str(),
        "item": f.item,
        "source": source,
        "host": f.host,
        "ip": f.ip,
        "port": f.port,
        "protocol": f.protocol,
        "encrypted": f.encrypted,
        "encoding": f.encoding,
        "where": f.where_,
        "count": f.count,
        "first_seen": rfc3339(f.first_seen),
        "last_seen": rfc3339(f.last_seen),
        "evidence": f.evidence.iter().map(evidence_json).collect::<Vec<_>>(),
    });
    if let Some(c) = confidence {
        v["confidence"] = json!(c);
        v["reason"] = json!(f.reason);
    }
    v
}

/// The JSON document: `findings`, `destinations`, `address_book_uploads`.
pub fn json(report: &Report) -> Value {
    json!({
        "findings": report.findings.iter().map(finding_json).collect::<Vec<_>>(),
        "destinations": report.destinations.iter().map(|d| json!({
            "host": d.host,
            "ips": d.ips,
            "protocols": d.protocols,
            "encrypted": d.encrypted,
            "flows": d.flows,
            "bytes_sent": d.bytes_sent,
            "bytes_received": d.bytes_received,
            "first_seen": rfc3339(d.first_seen),
            "party": d.party.as_ref().map(|p| p.name.clone()),
            "category": d.party.as_ref().map(|p| p.category),
            "party_country": d.party.as_ref().map(|p| p.country.clone()),
            "country": d.geo.as_ref().and_then(|g| g.country.clone()),
            "asn": d.geo.as_ref().and_then(|g| g.asn),
            "as_org": d.geo.as_ref().and_then(|g| g.as_org.clone()),
        })).collect::<Vec<_>>(),
        "geo_source": report.geo_source,
        "address_book_uploads": report.address_book_uploads.iter().map(|u| json!({
            "host": u.host,
            "contacts": u.contacts,
            "time": rfc3339(u.time),
            "evidence": evidence_json(&u.evidence),
        })).collect::<Vec<_>>(),
    })
}

/// A plain-text summary for a terminal: a verdict line, then each destination that received
/// personal data with its findings.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let hosts: std::collections::BTreeSet<&str> =
        report.findings.iter().map(|f| f.host.as_str()).collect();
    let clear = report.findings.iter().filter(|f| !f.encrypted).count();
    if report.findings.is_empty() {
        let _ = writeln!(
            out,
            "No personal data found in the clear ({} destinations contacted).",
            report.destinations.len()
        );
        return out;
    }
    let _ = writeln!(
        out,
        "{} findings: personal data sent to {} of {} destinations, {} finding(s) in cleartext.",
        report.findings.len(),
        hosts.len(),
        report.destinations.len(),
        clear
    );
    for d in &report.destinations {
        let here: Vec<&Finding> = report.findings.iter().filter(|f| f.host == d.host).collect();
        if here.is_empty() {
            continue;
        }
        let protos: Vec<&str> = d.protocols.iter().copied().collect();
        let ips: Vec<&str> = d.ips.iter().map(String::as_str).collect();
        let party = d
            .party
            .as_ref()
            .map_or(String::new(), |p| format!("{} ({}, {}); ", p.name, p.category, p.country));
        let country = d
            .geo
            .as_ref()
            .and_then(|g| g.country.as_deref())
            .map_or(String::new(), |c| format!(" in {c}"));
        let _ = writeln!(
            out,
            "\n{}  [{}{}{}; {}; {}]",
            d.host,
            party,
            ips.join(", "),
            country,
            protos.join(", "),
            if d.encrypted { "encrypted" } else { "CLEARTEXT" }
        );
        for f in here {
            let src = match f.source {
                Source::Profile => "profile".to_string(),
                Source::Heuristic { confidence } => format!("heuristic {confidence:.2}"),
            };
            let _ = writeln!(
                out,
                "  {:<14} {:<24} {:<18} {:<28} x{:<4} {}  frame {} ({})",
                f.data.as_str(),
                f.item,
                f.encoding,
                f.where_,
                f.count,
                rfc3339(f.first_seen),
                f.evidence.first().map_or(0, |e| e.frame),
                src
            );
        }
    }
    for u in &report.address_book_uploads {
        let _ = writeln!(
            out,
            "\nAddress book upload: {} contacts in one message to {} at {} (frame {}).",
            u.contacts,
            u.host,
            rfc3339(u.time),
            u.evidence.frame
        );
    }
    out
}
