//! Findings as Suricata EVE JSON alerts (`analyze --format eve`): one line per finding, in the
//! layout Suricata writes to `eve.json`, so what already ingests Suricata (Elastic's Filebeat
//! Suricata module, Splunk's and Wazuh's decoders) takes phonehome's findings unchanged.
//!
//! Only members of Suricata's own EVE schema (`etc/schema.json` in its repository) are written:
//! - `timestamp` (the finding's first occurrence, `2014-08-10T12:34:56.123456+0000`),
//!   `event_type: "alert"`, `flow_id` (the flow of the first evidence, as `phonehome flows`
//!   numbers it), `pcap_cnt` (its frame), `src_ip`/`src_port` (the flow's client: the device),
//!   `dest_ip`/`dest_port`, `proto` (`TCP` or `UDP`: QUIC, DNS and `udp.*` places are UDP),
//!   `app_proto` (`http`, `tls`, `quic`, `dns`; left out for unnamed protocols);
//! - `alert`: `action: "allowed"` (phonehome watched; the guard and the gateway block, they are
//!   not this log), `gid` 1, `rev` 1, `signature_id` one per kind of data ([`signature_id`]),
//!   `signature` (`phonehome: IMEI to Xiaomi (api.account.xiaomi.com) over cleartext HTTP`),
//!   `category` (cleartext or not), `severity` (Suricata's 1 = worst; [`suricata_severity`]),
//!   and `metadata` in the form of rule metadata, lists of strings: `signature_severity`
//!   (`Critical`, `Major`, `Minor`, `Informational`) and `tag` holding the finding as `key:value`
//!   strings (`data:imei`, `item:imei[0]`, `party:Xiaomi`, `country:CN`, `encoding:base64`,
//!   `where:http.query:imei`, `protection:TLS 1.3, decrypted`, `count:3`, `app:…`, `uid:…`, `device:…`);
//! - `http.hostname` for HTTP findings and `tls.sni` for TLS ones.
//!
//! Values are masked as in every report unless `--reveal` was given (the item is the report's).

use std::fmt::Write as _;

use detect::DataKind;
use report::severity::{Exposure, Severity};
use report::{Finding, Report};
use serde_json::{Map, Value, json};

/// Signature ids start here (Suricata's range for local rules is 1000000-1999999).
pub const SIGNATURE_BASE: u64 = 1_710_000;

/// The signature id of a kind of data: [`SIGNATURE_BASE`] + 1 for the IMEI, + 2 the IMSI, + 3
/// the ICCID, + 4 the phone number, + 5 the serial, + 6 the Android ID, + 7 the advertising ID,
/// + 8 a MAC address, + 9 an e-mail address, + 10 contacts, + 11 SMS text, + 12 the location,
/// + 13 a planted value, + 14 a cross-party identifier. Stable: dashboards key on them.
pub fn signature_id(kind: DataKind) -> u64 {
    SIGNATURE_BASE
        + match kind {
            DataKind::Imei => 1,
            DataKind::Imsi => 2,
            DataKind::Iccid => 3,
            DataKind::Phone => 4,
            DataKind::Serial => 5,
            DataKind::AndroidId => 6,
            DataKind::AdvertisingId => 7,
            DataKind::Mac => 8,
            DataKind::Email => 9,
            DataKind::Contact => 10,
            DataKind::Sms => 11,
            DataKind::Location => 12,
            DataKind::Custom => 13,
            DataKind::Identifier => 14,
        }
}

/// Suricata's severity of a phonehome severity (1 is the worst, as Suricata's priorities).
pub fn suricata_severity(s: Severity) -> u8 {
    match s {
        Severity::Critical => 1,
        Severity::High => 2,
        Severity::Medium => 3,
        Severity::Low | Severity::Info => 4,
    }
}

/// The Emerging Threats `signature_severity` word of a phonehome severity.
fn signature_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "Critical",
        Severity::High => "Major",
        Severity::Medium => "Minor",
        Severity::Low | Severity::Info => "Informational",
    }
}

/// Every finding of `report` as one EVE line (each ends with `\n`), in the report's order.
pub fn eve(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let _ = writeln!(out, "{}", alert(f));
    }
    out
}

/// A capture timestamp as EVE writes it: microseconds, and a `+0000` offset instead of `Z`.
fn timestamp(ts: capture::Timestamp) -> String {
    let mut s = pipeline::time::rfc3339(capture::Timestamp(ts.0.div_euclid(1000) * 1000));
    if s.ends_with('Z') {
        s.pop();
        s.push_str("+0000");
    }
    s
}

/// Whether the finding travelled over UDP.
fn udp(f: &Finding) -> bool {
    matches!(f.protocol, "quic" | "dns") || f.where_.starts_with("udp.")
}

/// One finding as an EVE alert.
pub fn alert(f: &Finding) -> Value {
    let first = f.evidence.first();
    let to = match &f.party {
        Some(p) => format!("{} ({})", p.name, f.host),
        None => f.host.clone(),
    };
    let signature = format!(
        "phonehome: {} to {to} over {}",
        report::summary::data_words(f.data),
        f.protection_label()
    );
    let mut tags = vec![
        "phonehome".to_owned(),
        format!("data:{}", f.data.as_str()),
        format!("item:{}", f.item),
        format!("encoding:{}", f.encoding),
        format!("where:{}", f.where_),
        format!("protection:{}", f.protection_label()),
        format!("exposure:{}", f.exposure.as_str()),
        format!("count:{}", f.count),
        format!("source:{}", f.source.as_str()),
    ];
    if !f.reason.is_empty() {
        tags.push(format!("reason:{}", f.reason));
    }
    if let Some(p) = &f.party {
        tags.push(format!("party:{}", p.name));
    }
    if let Some(c) = &f.country {
        tags.push(format!("country:{c}"));
    }
    if let Some(d) = &f.device {
        tags.push(format!("device:{d}"));
    }
    if let Some(a) = &f.app {
        tags.push(format!("app:{}", a.label()));
        tags.push(format!("uid:{}", a.uid));
    }
    let category = if f.exposure == Exposure::Cleartext {
        "Personal data sent in cleartext"
    } else {
        "Personal data sent"
    };
    let mut line = Map::new();
    line.insert("timestamp".into(), timestamp(f.first_seen).into());
    if let Some(e) = first {
        line.insert("flow_id".into(), e.flow.into());
        line.insert("pcap_cnt".into(), e.frame.into());
    }
    line.insert("event_type".into(), "alert".into());
    if let Some(src) = first.and_then(|e| e.src) {
        line.insert("src_ip".into(), src.ip().to_string().into());
        line.insert("src_port".into(), src.port().into());
    }
    line.insert("dest_ip".into(), f.ip.clone().into());
    line.insert("dest_port".into(), f.port.into());
    line.insert("proto".into(), if udp(f) { "UDP" } else { "TCP" }.into());
    if matches!(f.protocol, "http" | "tls" | "quic" | "dns") {
        line.insert("app_proto".into(), f.protocol.into());
    }
    line.insert(
        "alert".into(),
        json!({
            "action": "allowed",
            "gid": 1,
            "signature_id": signature_id(f.data),
            "rev": 1,
            "signature": signature,
            "category": category,
            "severity": suricata_severity(f.severity),
            "metadata": {
                "signature_severity": [signature_severity(f.severity)],
                "tag": tags,
            },
        }),
    );
    match f.protocol {
        "http" => {
            line.insert("http".into(), json!({ "hostname": f.host }));
        }
        "tls" => {
            line.insert("tls".into(), json!({ "sni": f.host }));
        }
        _ => {}
    }
    Value::Object(line)
}
