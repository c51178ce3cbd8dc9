use serde_json::{Value, json};

use super::*;

fn dest(host: &str, protection: &str, tls: Option<&str>, severity: &str, findings: u64) -> Value {
    json!({
        "host": host, "party": "Xiaomi", "country": "CN", "protection": protection,
        "tls_version": tls, "tls_sessions": u64::from(protection == "tls"),
        "tls_decrypted": 0, "severity": severity, "bytes_sent": 2000, "findings": findings,
    })
}

fn finding(host: &str, data: &str, protection: &str, severity: &str, count: u64) -> Value {
    json!({
        "host": host, "data": data, "item": format!("{data}[0]"), "protection": protection,
        "tls_version": (protection == "tls").then_some("TLS 1.3"), "severity": severity,
        "decrypted": protection == "tls", "count": count, "encoding": "plain",
    })
}

fn report(seconds: f64, destinations: Vec<Value>, findings: Vec<Value>) -> Value {
    json!({
        "schema": "phonehome.report/1",
        "summary": {"verdict": "critical", "complete": true},
        "captures": [{"duration_s": seconds}],
        "destinations": destinations,
        "findings": findings,
    })
}

fn run(doc: &Value) -> Run {
    Run::from_json("r.json", doc).unwrap()
}

fn kinds(d: &Diff) -> Vec<(&'static str, &'static str, String)> {
    d.changes
        .iter()
        .map(|c| {
            let what = c.data.as_ref().map_or(c.host.clone(), |(k, _)| format!("{} {k}", c.host));
            (c.kind.as_str(), c.direction.as_str(), what)
        })
        .collect()
}

/// The cloud service off: the phone talks to its vendor in cleartext.
fn off() -> Value {
    report(
        60.0,
        vec![dest("api.account.xiaomi.com", "cleartext-http", None, "critical", 1)],
        vec![finding("api.account.xiaomi.com", "imei", "cleartext-http", "critical", 2)],
    )
}

#[test]
fn the_same_run_is_an_empty_diff() {
    let d = compare(run(&off()), run(&off()), Thresholds::default());
    assert!(d.is_empty(), "{:?}", d.changes);
    assert_eq!((d.same_destinations, d.same_items), (1, 1));
}

#[test]
fn turning_the_cloud_service_on_adds_a_destination_and_data_worst_first() {
    let mut on = off();
    on["destinations"].as_array_mut().unwrap().push(dest(
        "api.micloud.xiaomi.net",
        "cleartext-http",
        None,
        "critical",
        2,
    ));
    on["findings"].as_array_mut().unwrap().extend([
        finding("api.micloud.xiaomi.net", "contact", "cleartext-http", "critical", 12),
        finding("api.micloud.xiaomi.net", "imei", "cleartext-http", "critical", 1),
    ]);
    let d = compare(run(&off()), run(&on), Thresholds::default());
    assert_eq!(
        kinds(&d),
        vec![
            ("data_new", "worse", "api.micloud.xiaomi.net contact".into()),
            ("data_new", "worse", "api.micloud.xiaomi.net imei".into()),
            ("destination_new", "worse", "api.micloud.xiaomi.net".into()),
        ]
    );
    assert_eq!(d.adds_at_or_above(Severity::High).count(), 2);
    assert_eq!((d.same_destinations, d.same_items), (1, 1));
}

#[test]
fn an_update_moving_data_to_https_is_better_and_without_keys_it_is_unseen_not_gone() {
    // With keys: the IMEI is still sent, over TLS 1.3; its severity drops.
    let https = |findings| {
        report(
            60.0,
            vec![dest("api.account.xiaomi.com", "tls", Some("TLS 1.3"), "medium", 1)],
            findings,
        )
    };
    let mut keyed = https(vec![finding("api.account.xiaomi.com", "imei", "tls", "medium", 2)]);
    keyed["destinations"][0]["tls_decrypted"] = json!(1);
    let d = compare(run(&off()), run(&keyed), Thresholds::default());
    assert_eq!(
        kinds(&d),
        vec![
            ("data_protection", "better", "api.account.xiaomi.com imei".into()),
            ("destination_protection", "better", "api.account.xiaomi.com".into()),
        ]
    );
    let p = &d.changes[0];
    assert_eq!(p.before.as_deref(), Some("cleartext HTTP (critical)"));
    assert_eq!(p.after.as_deref(), Some("TLS 1.3, decrypted (medium)"));
    // The same protection, another severity (say, the party became known): a severity change.
    let mut known = off();
    known["findings"][0]["severity"] = json!("high");
    let d = compare(run(&off()), run(&known), Thresholds::default());
    assert_eq!(kinds(&d), vec![("data_severity", "better", "api.account.xiaomi.com imei".into())]);
    assert_eq!(d.adds_at_or_above(Severity::Info).count(), 0, "nothing added");
    // Without keys the IMEI is not seen any more: that is not "no longer sent".
    let d = compare(run(&off()), run(&https(vec![])), Thresholds::default());
    let gone = d.changes.iter().find(|c| c.data.is_some()).unwrap();
    assert_eq!((gone.kind, gone.direction), (Kind::DataUnseen, Direction::Neutral));
}

#[test]
fn runs_of_different_length_compare_by_rate() {
    // Twice as long, twice the occurrences and bytes: the same rate, no change.
    let mut long = off();
    long["captures"][0]["duration_s"] = json!(120.0);
    long["findings"][0]["count"] = json!(4);
    long["destinations"][0]["bytes_sent"] = json!(4000);
    let d = compare(run(&off()), run(&long), Thresholds::default());
    assert!(d.is_empty(), "{:?}", d.changes);
    // The same count in half the time: the rate doubled.
    let mut often = off();
    often["findings"][0]["count"] = json!(4);
    let mut short = often.clone();
    short["captures"][0]["duration_s"] = json!(30.0);
    let d = compare(run(&often), run(&short), Thresholds::default());
    assert_eq!(kinds(&d), vec![("data_rate", "worse", "api.account.xiaomi.com imei".into())]);
    assert_eq!(d.changes[0].before.as_deref(), Some("4 (4.0/min)"));
    assert_eq!(d.changes[0].after.as_deref(), Some("4 (8.0/min)"));
    // Once or twice says nothing about how often.
    let mut twice = off();
    twice["captures"][0]["duration_s"] = json!(30.0);
    assert!(compare(run(&off()), run(&twice), Thresholds::default()).is_empty());
    // A run of a few seconds is compared by counts: 4 against 1 is fewer, whatever the rate.
    let mut blink = off();
    blink["captures"][0]["duration_s"] = json!(0.25);
    blink["findings"][0]["count"] = json!(1);
    let d = compare(run(&often), run(&blink), Thresholds::default());
    assert_eq!(kinds(&d), vec![("data_rate", "better", "api.account.xiaomi.com imei".into())]);
    let c = &d.changes[0];
    assert_eq!((c.before.as_deref(), c.after.as_deref()), (Some("4"), Some("1")));
    // Volume: by rate, and only past the byte threshold.
    let mut more = off();
    more["destinations"][0]["bytes_sent"] = json!(200_000);
    let d = compare(run(&off()), run(&more), Thresholds::default());
    assert_eq!(kinds(&d), vec![("volume", "worse", "api.account.xiaomi.com".into())]);
    let mut little = off();
    little["destinations"][0]["bytes_sent"] = json!(5000);
    assert!(compare(run(&off()), run(&little), Thresholds::default()).is_empty(), "under 4 KiB");
}

#[test]
fn countries_added_and_gone() {
    let mut moved = off();
    moved["destinations"][0]["country"] = json!("SG");
    let d = compare(run(&off()), run(&moved), Thresholds::default());
    assert_eq!(
        kinds(&d),
        vec![("country_new", "worse", "SG".into()), ("country_gone", "neutral", "CN".into())]
    );
    assert_eq!(d.changes[0].after.as_deref(), Some("api.account.xiaomi.com"));
}

#[test]
fn what_is_not_a_report_is_refused_with_the_field() {
    let err = |doc: Value| Run::from_json("x", &doc).unwrap_err().0;
    assert!(err(json!([1, 2])).contains("no \"schema\""));
    assert!(err(json!({"schema": "phonehome.live/1"})).contains("not a phonehome.report/1"));
    let mut r = off();
    r["findings"].as_array_mut().unwrap().push(json!({"data": "imei"}));
    assert_eq!(err(r), "findings[1]: no \"host\"");
    let mut r = off();
    r["destinations"][0]["protection"] = json!("carrier-pigeon");
    assert!(err(r).starts_with("destinations[0]: unknown \"protection\""));
    let mut r = off();
    r["destinations"][0]["severity"] = json!(7);
    assert_eq!(err(r), "destinations[0]: no valid \"severity\"");
    // Odd durations do not make rates.
    let mut r = off();
    r["captures"] = json!([{"duration_s": -5.0}, {"duration_s": "x"}, {}]);
    assert_eq!(run(&r).duration_s, 0.0);
}

#[test]
fn findings_of_one_item_merge_and_hosts_listed_twice_add_up() {
    let mut r = off();
    let mut b64 = finding("api.account.xiaomi.com", "imei", "cleartext-http", "high", 3);
    b64["encoding"] = json!("base64");
    r["findings"].as_array_mut().unwrap().push(b64);
    r["destinations"].as_array_mut().unwrap().push(dest(
        "api.account.xiaomi.com",
        "tls",
        Some("TLS 1.2"),
        "low",
        0,
    ));
    let r = run(&r);
    let item = &r.items[&("api.account.xiaomi.com".into(), "imei".into(), "imei[0]".into())];
    assert_eq!((item.count, item.severity), (5, Severity::Critical));
    assert_eq!(item.encodings.iter().map(String::as_str).collect::<Vec<_>>(), ["base64", "plain"]);
    let d = &r.destinations["api.account.xiaomi.com"];
    assert_eq!((d.protection, d.bytes_sent, d.tls_sessions), (Protection::CleartextHttp, 4000, 1));
}
