//! Tests of policy files, selection and the essential list.

use std::path::Path;

use serde_json::{Value, json};

use super::*;

fn dest(host: &str, severity: &str, party: Option<&str>, category: Option<&str>) -> Value {
    json!({
        "host": host, "ips": ["203.0.113.9"], "cnames": [], "party": party,
        "category": category, "country": "CN", "severity": severity,
        "severity_reason": "no personal data found", "protection": "tls", "tls_version": "TLS 1.3",
    })
}

fn report() -> Value {
    let mut xiaomi =
        dest("api.account.xiaomi.com", "critical", Some("Xiaomi"), Some("manufacturer"));
    xiaomi["protection"] = json!("cleartext-http");
    xiaomi["cnames"] = json!(["a.cdn.example", "b.cdn.example"]);
    let mut router = dest("192.168.1.1", "high", None, None);
    router["ips"] = json!(["192.168.1.1"]);
    json!({
        "schema": "phonehome.report/1",
        "findings": [
            {"host": "api.account.xiaomi.com", "data": "imei"},
            {"host": "api.account.xiaomi.com", "data": "mac"},
            {"host": "api.account.xiaomi.com", "data": "imei"},
        ],
        "destinations": [
            xiaomi,
            dest("203.0.113.50", "critical", None, None),
            router,
            dest("sdk.umeng.example", "info", Some("Umeng (Alibaba)"), Some("analytics")),
            dest("mtalk.google.com", "high", Some("Google"), Some("push")),
            dest("ads.example.net", "low", Some("AdCo"), Some("advertising")),
        ],
    })
}

fn parse(text: &str) -> Result<Policy, PolicyError> {
    Policy::parse(text, Path::new("policy.toml"))
}

fn names(sel: &Selection) -> Vec<String> {
    sel.entries.iter().map(|e| e.name.clone().unwrap_or_else(|| e.ips[0].to_string())).collect()
}

#[test]
fn default_blocks_high_and_above_but_not_essential_or_local() {
    let sel = Policy::default().select(&[report()]);
    assert_eq!(names(&sel), ["api.account.xiaomi.com", "203.0.113.50"]);
    assert_eq!(sel.skipped_essential, ["192.168.1.1", "mtalk.google.com"]);
    assert!(
        sel.warnings.iter().any(|w| w.starts_with(
            "blocking mtalk.google.com may break the device: Firebase Cloud Messaging push"
        )),
        "{:?}",
        sel.warnings
    );
    let e = &sel.entries[0];
    assert_eq!(
        e.reason,
        "critical: IMEI and MAC address sent over cleartext HTTP to Xiaomi (manufacturer, CN); \
         via CNAME a.cdn.example -> b.cdn.example; selected by severity >= high"
    );
    assert!(e.subdomains);
    assert_eq!(sel.entries[1].name, None);
    assert_eq!(
        sel.entries[1].ips,
        ["203.0.113.50".parse::<IpAddr>().unwrap(), "203.0.113.9".parse().unwrap()]
    );
}

use std::net::IpAddr;

#[test]
fn criteria_allow_and_force() {
    let p = parse(
        "min_severity = \"off\"\ncategories = [\"analytics\", \"Advertising\"]\n\
         parties = [\"xiaomi\"]\nnames = [\"Extra.Example.\"]\n",
    )
    .unwrap();
    let sel = p.select(&[report()]);
    assert_eq!(
        names(&sel),
        ["api.account.xiaomi.com", "sdk.umeng.example", "ads.example.net", "extra.example"]
    );
    assert!(sel.entries[1].reason.ends_with("selected by category analytics"));
    assert_eq!(sel.entries[3].reason, "listed: name extra.example in the policy");
    let p =
        parse("countries = [\"cn\"]\nallow = [\"account.xiaomi.com\"]\nforce = true\n").unwrap();
    let sel = p.select(&[report()]);
    assert_eq!(
        names(&sel),
        ["203.0.113.50", "192.168.1.1", "sdk.umeng.example", "mtalk.google.com", "ads.example.net"]
    );
    assert!(sel.skipped_essential.is_empty());
    assert!(sel.warnings.iter().any(|w| w.contains("allowed by the policy")));
    assert!(sel.warnings.iter().any(|w| w.contains("blocked anyway (forced)")));
}

#[test]
fn names_covering_an_essential_name_are_left_out() {
    let p = parse("min_severity = \"off\"\nnames = [\"google.com\", \"apple.com\"]\n").unwrap();
    let sel = p.select(&[]);
    assert!(sel.entries.is_empty());
    assert_eq!(sel.skipped_essential, ["google.com", "apple.com"]);
}

#[test]
fn several_reports_merge() {
    let mut second = report();
    second["destinations"][0]["ips"] = json!(["198.51.100.1"]);
    let sel = Policy::default().select(&[report(), second]);
    assert_eq!(sel.entries.len(), 2);
    assert_eq!(sel.entries[0].ips.len(), 2);
}

#[test]
fn errors_name_file_line_and_column() {
    let e = parse("min_severity = \"high\"\ncategoriez = []\n").unwrap_err().to_string();
    assert!(e.starts_with("policy.toml:2:1: unknown field `categoriez`"), "{e}");
    let e = parse("min_severity = \"urgent\"\n").unwrap_err().to_string();
    assert!(e.starts_with("policy.toml:1:16: min_severity: `urgent` is not one of"), "{e}");
    let e =
        parse("categories = [\n  \"analytics\",\n  \"trackers\",\n]\n").unwrap_err().to_string();
    assert!(e.starts_with("policy.toml:3:3: categories: `trackers` is not one of"), "{e}");
    let e = parse("countries = [\"China\"]").unwrap_err().to_string();
    assert!(e.starts_with("policy.toml:1:14: countries:"), "{e}");
    let e = parse("names = [\"bad name\"]").unwrap_err().to_string();
    assert!(e.contains("names: `bad name`: character not allowed"), "{e}");
    let e = parse("force = \"yes\"").unwrap_err().to_string();
    assert!(e.starts_with("policy.toml:1:9: "), "{e}");
    let e = Policy::load(Path::new("/nonexistent/p.toml")).unwrap_err().to_string();
    assert!(e.starts_with("/nonexistent/p.toml: cannot read"), "{e}");
    assert_eq!(parse("").unwrap(), Policy::default());
}

#[test]
fn essential_list_is_well_formed() {
    assert!(ESSENTIAL.len() >= 40, "{}", ESSENTIAL.len());
    for e in ESSENTIAL.iter() {
        assert!(crate::rules::validate_name(&e.name).is_ok(), "{e}");
        assert!(!e.reason.is_empty(), "{e}");
    }
    let push = ESSENTIAL.iter().find(|e| e.name == "push.apple.com").unwrap();
    assert!(push.hit_by("1-courier.push.apple.com", false));
    assert!(!push.hit_by("push.apple.com", false));
    assert!(push.hit_by("apple.com", true));
    assert!(!push.hit_by("xpush.apple.com", true));
    assert_eq!(Policy::default().describe(), "min_severity = high");
}
