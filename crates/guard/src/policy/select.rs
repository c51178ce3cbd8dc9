//! Applying a [`Policy`] to report documents.

use std::collections::HashMap;
use std::net::IpAddr;

use report::Severity;
use serde_json::Value;

use super::{ESSENTIAL, Policy, clean_name};
use crate::export::Entry;

/// What a policy selected from reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// The entries to write, in report order (first report first), one per name or address.
    pub entries: Vec<Entry>,
    /// Things to tell the user: names left out, allowed, invalid.
    pub warnings: Vec<String>,
    /// Selected names (and addresses) left out because the device needs them.
    pub skipped_essential: Vec<String>,
}

/// A destination that passed the criteria, before the essential/allow checks.
struct Candidate {
    key: String,
    name: Option<String>,
    ips: Vec<IpAddr>,
    reason: String,
    severity: Option<Severity>,
}

fn under_or_at(name: &str, parent: &str) -> bool {
    name == parent
        || (name.len() > parent.len()
            && name.ends_with(parent)
            && name.as_bytes()[name.len() - parent.len() - 1] == b'.')
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn strings<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a str> {
    v.get(key).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
}

/// `imei` → `IMEI` (the words of the text report).
fn data_words(kind: &str) -> &str {
    match kind {
        "imei" => "IMEI",
        "imsi" => "IMSI",
        "iccid" => "ICCID",
        "phone" => "phone number",
        "serial" => "serial number",
        "android_id" => "Android ID",
        "advertising_id" => "advertising ID",
        "mac" => "MAC address",
        "email" => "e-mail address",
        "contact" => "contacts",
        "sms" => "SMS text",
        "location" => "location",
        "custom" => "planted values",
        other => other,
    }
}

fn protection_words(d: &Value) -> String {
    match str_of(d, "protection") {
        Some("cleartext-http") => "cleartext HTTP".into(),
        Some("cleartext") => "cleartext".into(),
        Some("tls") => match str_of(d, "tls_version") {
            Some(v) => v.to_owned(),
            None => "TLS".into(),
        },
        Some("quic") => "QUIC".into(),
        Some("encrypted-unknown") => "an encrypted protocol".into(),
        _ => "an unknown protocol".into(),
    }
}

/// `critical: IMEI and MAC address sent over cleartext HTTP to Xiaomi (manufacturer, CN)`.
fn describe(d: &Value, host: &str, findings: &[Value]) -> String {
    let severity = str_of(d, "severity").unwrap_or("unknown");
    let mut kinds: Vec<String> = Vec::new();
    for f in findings.iter().filter(|f| str_of(f, "host") == Some(host)) {
        if let Some(k) = str_of(f, "data").map(data_words)
            && !kinds.iter().any(|x| x == k)
        {
            kinds.push(k.to_owned());
        }
    }
    let party = str_of(d, "party").unwrap_or("an unidentified party");
    let mut about: Vec<&str> = Vec::new();
    about.extend(str_of(d, "category"));
    about.extend(str_of(d, "country"));
    let about = if about.is_empty() { String::new() } else { format!(" ({})", about.join(", ")) };
    let what = if kinds.is_empty() {
        str_of(d, "severity_reason").unwrap_or("no personal data found").to_owned()
    } else {
        format!("{} sent over {}", report::summary::and_list(&kinds), protection_words(d))
    };
    let mut s = format!("{severity}: {what} to {party}{about}");
    let cnames: Vec<&str> = strings(d, "cnames").collect();
    if !cnames.is_empty() {
        s.push_str(&format!("; via CNAME {}", cnames.join(" -> ")));
    }
    s
}

impl Policy {
    /// The criteria `d` meets (empty: not selected).
    fn criteria(&self, d: &Value, host: &str) -> Vec<String> {
        let mut why = Vec::new();
        let severity = str_of(d, "severity").and_then(Severity::parse);
        if let (Some(min), Some(s)) = (self.min_severity, severity)
            && s >= min
        {
            why.push(format!("severity >= {}", min.as_str()));
        }
        if let Some(c) = str_of(d, "category").filter(|c| self.categories.iter().any(|x| x == c)) {
            why.push(format!("category {c}"));
        }
        if let Some(p) = str_of(d, "party")
            && self.parties.iter().any(|x| x.eq_ignore_ascii_case(p))
        {
            why.push(format!("party {p}"));
        }
        if let Some(c) = str_of(d, "country").filter(|c| self.countries.iter().any(|x| x == c)) {
            why.push(format!("server in {c}"));
        }
        let lower = host.to_ascii_lowercase();
        if let Some(n) = self.names.iter().find(|n| under_or_at(&lower, n)) {
            why.push(format!("name {n} in the policy"));
        }
        why
    }

    /// The entries `reports` (analyze JSON documents) give under this policy; several reports
    /// are merged (one entry per name, the most severe reason kept, addresses united).
    pub fn select(&self, reports: &[Value]) -> Selection {
        let mut sel = Selection::default();
        let mut candidates: Vec<Candidate> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut add = |c: Candidate| match index.get(&c.key) {
            Some(&i) => {
                let old = &mut candidates[i];
                for ip in c.ips {
                    if !old.ips.contains(&ip) {
                        old.ips.push(ip);
                    }
                }
                if c.severity > old.severity {
                    old.reason = c.reason;
                    old.severity = c.severity;
                }
            }
            None => {
                index.insert(c.key.clone(), candidates.len());
                candidates.push(c);
            }
        };
        for report in reports {
            let findings = report.get("findings").and_then(Value::as_array).map_or(&[][..], |v| v);
            let destinations = report.get("destinations").and_then(Value::as_array);
            for d in destinations.into_iter().flatten() {
                let Some(host) = str_of(d, "host") else { continue };
                let why = self.criteria(d, host);
                if why.is_empty() {
                    continue;
                }
                let reason =
                    format!("{}; selected by {}", describe(d, host, findings), why.join(", "));
                let mut ips: Vec<IpAddr> =
                    strings(d, "ips").filter_map(|s| s.parse().ok()).collect();
                let severity = str_of(d, "severity").and_then(Severity::parse);
                if let Ok(ip) = host.parse::<IpAddr>() {
                    if !ips.contains(&ip) {
                        ips.insert(0, ip);
                    }
                    add(Candidate { key: ip.to_string(), name: None, ips, reason, severity });
                    continue;
                }
                match clean_name(host) {
                    Ok(name) => add(Candidate {
                        key: name.clone(),
                        name: Some(name),
                        ips,
                        reason,
                        severity,
                    }),
                    Err(why) => sel.warnings.push(format!("{host}: not blocked: {why}")),
                }
            }
        }
        for n in &self.names {
            add(Candidate {
                key: n.clone(),
                name: Some(n.clone()),
                ips: Vec::new(),
                reason: format!("listed: name {n} in the policy"),
                severity: None,
            });
        }
        for c in candidates {
            self.admit(c, &mut sel);
        }
        sel
    }

    /// Applies the allowlist and the essential checks to one candidate.
    fn admit(&self, c: Candidate, sel: &mut Selection) {
        let Some(name) = c.name else {
            let local = c.ips.iter().any(|ip| !is_global(ip));
            if local && !self.force {
                sel.warnings.push(format!(
                    "{}: a local or private address (the router? the device?): blocking it may \
                     break the network; use force = true or --force",
                    c.key
                ));
                sel.skipped_essential.push(c.key);
                return;
            }
            sel.entries.push(Entry { name: None, ips: c.ips, reason: c.reason, subdomains: false });
            return;
        };
        if let Some(a) = self.allow.iter().find(|a| under_or_at(&name, a)) {
            sel.warnings.push(format!("{name}: selected but allowed by the policy (allow {a})"));
            return;
        }
        for a in self.allow.iter().filter(|a| under_or_at(a, &name) && **a != name) {
            sel.warnings.push(format!(
                "{a} is allowed but lies under {name}, which is blocked with its subdomains: \
                 most list formats cannot express the exception"
            ));
        }
        if let Some(e) = ESSENTIAL.iter().find(|e| e.hit_by(&name, true)) {
            if !self.force {
                sel.warnings.push(format!(
                    "blocking {name} may break the device: {}; left out (use force = true or \
                     --force)",
                    describe_essential(e, &name)
                ));
                sel.skipped_essential.push(name);
                return;
            }
            sel.warnings.push(format!(
                "blocking {name} may break the device: {}; blocked anyway (forced)",
                describe_essential(e, &name)
            ));
        }
        sel.entries.push(Entry {
            name: Some(name),
            ips: c.ips,
            reason: c.reason,
            subdomains: true,
        });
    }
}

fn describe_essential(e: &super::Essential, name: &str) -> String {
    let star = if e.below { "*." } else { "" };
    let listed = format!("{star}{}", e.name);
    if listed == name { e.reason.clone() } else { format!("{listed}: {}", e.reason) }
}

/// False for addresses that never leave the local network (or the device).
fn is_global(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64))
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg & 0xfe00) == 0xfc00
                || (seg & 0xffc0) == 0xfe80)
        }
    }
}
