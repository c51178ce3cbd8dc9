//! The JSON document: a versioned contract (`schema/report.schema.json` at the repository root
//! describes it; a test validates every golden output against it).
//!
//! Compatibility: fields are only added within one [`SCHEMA`] version; a removal, rename or change
//! of meaning bumps it. Times are RFC 3339 UTC from capture timestamps; absent values are `null`.

use pipeline::time::rfc3339;
use serde_json::{Value, json};

use report::severity::Severity;
use report::summary::Summary;
use report::{CaptureInfo, Destination, Evidence, Finding, Party, Report, Source};

/// The schema identifier written as the document's `schema` field.
pub const SCHEMA: &str = "phonehome.report/1";

fn evidence_json(e: &Evidence) -> Value {
    let mut v = json!({
        "file": e.file, "frame": e.frame, "flow": e.flow, "offset": e.offset,
        "field": e.field, "value": e.value,
    });
    if let (Some(src), Value::Object(o)) = (e.src, &mut v) {
        o.insert("src_ip".into(), src.ip().to_string().into());
        o.insert("src_port".into(), src.port().into());
    }
    v
}

fn party_json(p: Option<&Party>) -> Value {
    p.map_or(Value::Null, |p| {
        json!({
            "name": p.name, "category": p.category, "country": p.country, "source": p.source,
            "matched": p.matched,
            "first_party": p.class == report::severity::PartyClass::First,
        })
    })
}

pub(crate) fn finding_json(f: &Finding) -> Value {
    let source = f.source.as_str();
    let confidence = match f.source {
        Source::Profile => None,
        Source::Heuristic { confidence } => Some((f64::from(confidence) * 100.0).round() / 100.0),
    };
    json!({
        "data": f.data.as_str(),
        "item": f.item,
        "source": source,
        "confidence": confidence,
        "reason": (!f.reason.is_empty()).then_some(f.reason),
        "host": f.host,
        "ip": f.ip,
        "port": f.port,
        "protocol": f.protocol,
        "encrypted": f.encrypted,
        "protection": f.protection.kind(),
        "tls_version": f.protection.version(),
        "decrypted": f.decrypted,
        "exposure": f.exposure.as_str(),
        "encoding": f.encoding,
        "where": f.where_,
        "party": f.party.as_ref().map(|p| p.name.clone()),
        "category": f.party.as_ref().map(|p| p.category),
        "country": f.country,
        "leaves_country": f.leaves_country,
        "severity": f.severity.as_str(),
        "severity_reason": f.severity_reason,
        "shared_with": f.shared_with,
        "device": f.device,
        "app": f.app.as_ref().map(|a| json!({"uid": a.uid, "package": a.package, "name": a.name})),
        "count": f.count,
        "stopped": f.stopped,
        "first_seen": rfc3339(f.first_seen),
        "last_seen": rfc3339(f.last_seen),
        "evidence": f.evidence.iter().map(evidence_json).collect::<Vec<_>>(),
    })
}

pub(crate) fn destination_json(d: &Destination) -> Value {
    json!({
        "host": d.host,
        "domain": d.domain,
        "ips": d.ips,
        "devices": d.devices,
        "apps": d.apps,
        "cnames": d.cnames,
        "protocols": d.protocols,
        "encrypted": d.protection.is_encrypted(),
        "protection": d.protection.kind(),
        "tls_version": d.protection.version(),
        "weak_tls": d.protection.is_weak(),
        "tls_sessions": d.tls_sessions,
        "tls_decrypted": d.tls_decrypted,
        "flows": d.flows,
        "refused": d.refused,
        "bytes_sent": d.bytes_sent,
        "bytes_received": d.bytes_received,
        "first_seen": rfc3339(d.first_seen),
        "party": d.party.as_ref().map(|p| p.name.clone()),
        "category": d.party.as_ref().map(|p| p.category),
        "party_country": d.party.as_ref().map(|p| p.country.clone()),
        "party_detail": party_json(d.party.as_ref()),
        "certificate": d.cert.as_ref().map(|c| json!({
            "subject_org": c.subject_org, "subject_cn": c.subject_cn, "issuer_org": c.issuer_org,
        })),
        "country": d.geo.as_ref().and_then(|g| g.country.clone()),
        "country_unknown_reason": d.geo.as_ref().and_then(|g| g.reason),
        "asn": d.geo.as_ref().and_then(|g| g.asn),
        "as_org": d.geo.as_ref().and_then(|g| g.as_org.clone()),
        "leaves_country": d.leaves_country,
        "findings": d.findings,
        "severity": d.severity.as_str(),
        "severity_reason": d.severity_reason,
    })
}

pub(crate) fn capture_json(c: &CaptureInfo) -> Value {
    let duration = match (c.first_packet, c.last_packet) {
        (Some(a), Some(b)) => Some(((b.0 - a.0).max(0) as f64 / 1e6).round() / 1e3),
        _ => None,
    };
    let mut v = json!({
        "path": c.path,
        "sha256": c.sha256,
        "size": c.size,
        "format": c.format,
        "compression": c.compression,
        "packets": c.packets,
        "first_packet": c.first_packet.map(rfc3339),
        "last_packet": c.last_packet.map(rfc3339),
        "duration_s": duration,
        "warnings": c.warnings,
        "error": c.error,
        "device": c.device,
    });
    // A manifest's labels, only when given (`analyze --manifest`).
    if let Value::Object(o) = &mut v {
        for (k, x) in [("model", &c.model), ("firmware", &c.firmware)] {
            if let Some(x) = x {
                o.insert(k.into(), x.clone().into());
            }
        }
    }
    v
}

pub(crate) fn summary_json(s: &Summary) -> Value {
    let by_severity: serde_json::Map<String, Value> = Severity::ALL
        .iter()
        .map(|&v| (v.as_str().to_string(), json!(s.findings_by_severity[v as usize])))
        .collect();
    json!({
        "verdict": if s.nothing_read { Value::Null } else { json!(s.verdict.as_str()) },
        "complete": s.unread.is_empty(),
        "unread": s.unread,
        "headline": s.headline,
        "coverage": s.coverage,
        "stories": s.stories,
        "findings": s.findings,
        "findings_by_severity": by_severity,
        "cleartext_findings": s.cleartext_findings,
        "data": s.data.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
        "destinations": s.destinations,
        "destinations_with_data": s.destinations_with_data,
        "unprotected_destinations": s.unprotected_destinations,
        "contacts_uploaded": s.contacts_uploaded,
        "findings_leaving_country": s.findings_leaving_country,
        "findings_country_unknown": s.findings_country_unknown,
        "bytes_sent": s.bytes_sent,
        "bytes_received": s.bytes_received,
        "parties": s.parties.iter().map(|p| json!({
            "name": p.name,
            "category": p.category,
            "country": p.country,
            "destinations": p.destinations,
            "findings": p.findings,
            "data": p.data.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
            "severity": p.severity.as_str(),
            "bytes_sent": p.bytes_sent,
            "first_seen": rfc3339(p.first_seen),
        })).collect::<Vec<_>>(),
        "apps": s.apps.iter().map(|a| json!({
            "app": a.app,
            "findings": a.findings,
            "severity": a.severity.as_str(),
            "data": a.data.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
            "to": a.to,
        })).collect::<Vec<_>>(),
        "countries": s.countries.iter().map(|c| json!({
            "country": c.country,
            "destinations": c.destinations,
            "findings": c.findings,
            "bytes_sent": c.bytes_sent,
        })).collect::<Vec<_>>(),
    })
}

/// The JSON document: `schema`, `tool`, `captures`, `device`, `summary`, `findings`,
/// `destinations`, `address_book_uploads`, `geo_source`, `coverage`, `summarised`, `refused`.
pub fn json(report: &Report) -> Value {
    json!({
        "schema": SCHEMA,
        "tool": { "name": "phonehome", "version": env!("CARGO_PKG_VERSION") },
        "captures": report.captures.iter().map(capture_json).collect::<Vec<_>>(),
        "device": report.device.as_ref().map(|d| json!({
            "name": d.name, "country": d.country, "manufacturer": d.manufacturer,
            "profile": d.profile,
        })),
        "summary": summary_json(&Summary::of(report)),
        "findings": report.findings.iter().map(finding_json).collect::<Vec<_>>(),
        "destinations": report.destinations.iter().map(destination_json).collect::<Vec<_>>(),
        "address_book_uploads": report.address_book_uploads.iter().map(|u| json!({
            "host": u.host,
            "contacts": u.contacts,
            "time": rfc3339(u.time),
            "evidence": evidence_json(&u.evidence),
        })).collect::<Vec<_>>(),
        "geo_source": report.geo_source,
        "coverage": coverage_json(&report.coverage),
        "summarised": {
            "findings": report.summarised.findings,
            "occurrences": report.summarised.occurrences,
            "destinations": report.summarised.destinations,
            "address_book_uploads": report.summarised.uploads,
        },
        "refused": refused_json(report),
        "redacted": {
            "total": report.redacted.values().sum::<u64>(),
            "items": report.redacted,
        },
    })
}

/// The connections a gateway refused (`refused` of the report and of the live page's state).
pub(crate) fn refused_json(report: &Report) -> Value {
    json!({
        "total": report.refused_total,
        "connections": report.refused.iter().map(|r| json!({
            "time": rfc3339(r.time),
            "device": r.device,
            "transport": r.transport,
            "server": r.server,
            "port": r.port,
            "flow": r.flow,
            "matched": r.matched,
            "rule": r.rule,
        })).collect::<Vec<_>>(),
    })
}

fn coverage_json(c: &report::Coverage) -> Value {
    let hosts = |m: &std::collections::BTreeMap<String, u64>| {
        m.iter().map(|(h, n)| json!({ "host": h, "sessions": n })).collect::<Vec<_>>()
    };
    json!({
        "secrets": c.secrets,
        "tls_sessions": c.counts.sessions,
        "tls_decrypted": c.counts.decrypted,
        "tls_no_keys": c.counts.no_keys,
        "tls_failed": c.counts.failed,
        "tls_unsupported": c.counts.unsupported,
        "quic_sessions": c.counts.quic_sessions,
        "quic_decrypted": c.counts.quic_decrypted,
        "no_keys_hosts": hosts(&c.no_keys_hosts),
        "failed_hosts": hosts(&c.failed_hosts),
    })
}
