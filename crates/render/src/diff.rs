//! A before/after comparison ([`report::diff::Diff`]) for people and programs: the terminal,
//! JSON (`phonehome.diff/1`, `schema/diff.schema.json`), Markdown and a self-contained HTML page
//! (the two runs side by side, [`crate::html::diff_page`]). Every format says each change in the
//! same words ([`sentence`]); deterministic, as the reports are.

use std::fmt::Write as _;

use serde_json::{Value, json};

use report::diff::{Change, Diff, Direction, Kind, Run};

/// The JSON schema id of [`json`].
pub const DIFF_SCHEMA: &str = "phonehome.diff/1";

/// What a data change is about: `imei (imei[0])`.
fn data_words(c: &Change) -> String {
    c.data.as_ref().map_or_else(String::new, |(kind, item)| format!("{kind} ({item})"))
}

/// The destination, with its party: `api.micloud.xiaomi.net (Xiaomi)`.
fn where_words(c: &Change) -> String {
    match &c.party {
        Some(p) => format!("{} ({p})", c.host),
        None => c.host.clone(),
    }
}

/// The change in one sentence (the same in every format).
pub fn sentence(c: &Change) -> String {
    let (b, a) = (c.before.as_deref().unwrap_or(""), c.after.as_deref().unwrap_or(""));
    let (what, to) = (data_words(c), where_words(c));
    match c.kind {
        Kind::DataNew => format!("{what} newly sent to {to}, {a}"),
        Kind::DataGone => format!("{what} no longer sent to {to} (was {b})"),
        Kind::DataUnseen => format!(
            "{what} not seen going to {to} any more, but the after-run could not read its \
             encrypted traffic (no keys): it may still be sent (was {b})"
        ),
        Kind::DataProtection => format!("{what} to {to}: {b} -> {a}"),
        Kind::DataSeverity => format!("{what} to {to}: severity {b} -> {a}"),
        Kind::DataRate => format!("{what} to {to}: sent {b} -> {a} times"),
        Kind::DestinationNew => format!("new destination {to}: {a}"),
        Kind::DestinationGone => format!("destination {to} no longer contacted (was {b})"),
        Kind::DestinationProtection => format!("{to}: protection {b} -> {a}"),
        Kind::DestinationKeys => format!("{to}: {b} -> {a}"),
        Kind::DestinationSeverity => format!("{to}: severity {b} -> {a}"),
        Kind::Volume => format!("{to}: data sent {b} -> {a}"),
        Kind::CountryNew => format!("servers in a new country, {}: {a}", country_words(&c.host)),
        Kind::CountryGone => format!("no more servers in {}: was {b}", country_words(&c.host)),
    }
}

fn country_words(code: &str) -> String {
    report::country::name(code).map_or_else(|| code.to_string(), |n| format!("{n} ({code})"))
}

/// Counts of the changes: (worse, neutral, better).
fn counts(d: &Diff) -> (usize, usize, usize) {
    let n = |dir| d.changes.iter().filter(|c| c.direction == dir).count();
    (n(Direction::Worse), n(Direction::Neutral), n(Direction::Better))
}

/// One line on the whole comparison.
pub fn headline(d: &Diff) -> String {
    if d.is_empty() {
        return format!(
            "No change: {} destinations and {} data items the same.",
            d.same_destinations, d.same_items
        );
    }
    let (worse, neutral, better) = counts(d);
    let top = &d.changes[0];
    let mut s = format!(
        "{} changes ({worse} worse, {better} better, {neutral} neutral); the first: {} [{}]",
        d.changes.len(),
        sentence(top),
        top.severity.as_str()
    );
    s.push('.');
    s
}

fn run_words(r: &Run) -> String {
    let mut s =
        format!("{}: {} destinations, {} data items", r.label, r.destinations.len(), r.items.len());
    if r.duration_s >= 10.0 {
        let _ = write!(s, ", {:.0} s of capture", r.duration_s);
    } else if r.duration_s > 0.0 {
        let _ = write!(s, ", {:.2} s of capture", r.duration_s);
    }
    if let Some(v) = &r.verdict {
        let _ = write!(s, ", verdict {v}");
    }
    if !r.complete {
        s.push_str(" (not everything was read)");
    }
    s
}

/// For the terminal: the two runs, the headline, every change worst first, and what is the same.
pub fn text(d: &Diff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Before: {}", run_words(&d.before));
    let _ = writeln!(out, "After:  {}", run_words(&d.after));
    let _ = writeln!(out, "\n{}\n", headline(d));
    for c in &d.changes {
        let mark = match c.direction {
            Direction::Worse => "+",
            Direction::Neutral => "~",
            Direction::Better => "-",
        };
        let _ = writeln!(out, "{mark} {:<8} {}", c.severity.as_str(), sentence(c));
    }
    if !d.changes.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "Unchanged: {} destinations, {} data items. (+ worse, - better, ~ neither)",
        d.same_destinations, d.same_items
    );
    let left = d.before.left_out + d.after.left_out;
    if left > 0 {
        let _ = writeln!(out, "Not compared: {left} entries past the limit of a report.");
    }
    out
}

fn run_json(r: &Run) -> Value {
    json!({
        "label": r.label,
        "duration_s": r.duration_s,
        "verdict": r.verdict,
        "complete": r.complete,
        "destinations": r.destinations.len(),
        "data_items": r.items.len(),
        "left_out": r.left_out,
    })
}

/// The comparison as JSON (`phonehome.diff/1`).
pub fn json(d: &Diff) -> Value {
    let (worse, neutral, better) = counts(d);
    json!({
        "schema": DIFF_SCHEMA,
        "tool": {"name": "phonehome", "version": env!("CARGO_PKG_VERSION")},
        "before": run_json(&d.before),
        "after": run_json(&d.after),
        "summary": {
            "headline": headline(d),
            "changes": d.changes.len(),
            "worse": worse,
            "better": better,
            "neutral": neutral,
            "unchanged_destinations": d.same_destinations,
            "unchanged_data_items": d.same_items,
        },
        "changes": d.changes.iter().map(|c| json!({
            "kind": c.kind.as_str(),
            "direction": c.direction.as_str(),
            "severity": c.severity.as_str(),
            "host": c.host,
            "party": c.party,
            "data": c.data.as_ref().map(|(k, _)| k),
            "item": c.data.as_ref().map(|(_, i)| i),
            "before": c.before,
            "after": c.after,
            "text": sentence(c),
        })).collect::<Vec<_>>(),
    })
}

/// The comparison as Markdown: the runs, the headline, a table of the changes.
pub fn markdown(d: &Diff) -> String {
    use crate::markdown::escape;
    let mut out = String::from("# phonehome diff\n\n");
    let _ = writeln!(out, "- Before: {}", escape(&run_words(&d.before)));
    let _ = writeln!(out, "- After: {}\n", escape(&run_words(&d.after)));
    let _ = writeln!(out, "{}\n", escape(&headline(d)));
    if !d.changes.is_empty() {
        out.push_str("| Severity | Change | Destination | Data | Before | After |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        for c in &d.changes {
            let _ = writeln!(
                out,
                "| {} | {} ({}) | {} | {} | {} | {} |",
                c.severity.as_str(),
                c.kind.as_str(),
                c.direction.as_str(),
                escape(&where_words(c)),
                escape(&data_words(c)),
                escape(c.before.as_deref().unwrap_or("")),
                escape(c.after.as_deref().unwrap_or("")),
            );
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "Unchanged: {} destinations, {} data items.",
        d.same_destinations, d.same_items
    );
    out
}

/// The comparison as one self-contained HTML page (see [`crate::html::diff_page`]).
pub fn html(d: &Diff) -> String {
    crate::html::diff_page(d)
}

#[cfg(test)]
mod tests {
    use report::diff::{Thresholds, compare};

    use super::*;

    fn diff() -> Diff {
        let doc = |extra: bool| {
            let mut findings = vec![json!({"host": "a.example", "data": "imei", "item": "imei[0]",
                "protection": "cleartext-http", "severity": "critical", "count": 1})];
            let mut dests = vec![json!({"host": "a.example", "protection": "cleartext-http",
                "severity": "critical", "findings": 1})];
            if extra {
                findings
                    .push(json!({"host": "b|<x>.example", "data": "contact", "item": "contact[3]",
                    "protection": "cleartext-http", "severity": "critical", "count": 12}));
                dests.push(json!({"host": "b|<x>.example", "party": "Xiaomi",
                    "protection": "cleartext-http", "severity": "critical", "findings": 1}));
            }
            json!({"schema": "phonehome.report/1", "captures": [], "destinations": dests,
                "findings": findings})
        };
        let before = Run::from_json("off.json", &doc(false)).unwrap();
        let after = Run::from_json("on.json", &doc(true)).unwrap();
        compare(before, after, Thresholds::default())
    }

    #[test]
    fn every_format_says_the_same_change() {
        let d = diff();
        let first = sentence(&d.changes[0]);
        assert_eq!(
            first,
            "contact (contact[3]) newly sent to b|<x>.example (Xiaomi), cleartext HTTP"
        );
        assert!(text(&d).contains(&format!("+ critical {first}")));
        let j = json(&d);
        assert_eq!(j["changes"][0]["text"], first);
        assert_eq!(j["summary"]["worse"], 2);
        assert_eq!(j["summary"]["unchanged_data_items"], 1);
        let md = markdown(&d);
        assert!(md.contains("b\\|&lt;x&gt;.example"), "escaped: {md}");
        let page = html(&d);
        assert!(page.contains("b|&lt;x&gt;.example") && !page.contains("<x>"));
    }

    #[test]
    fn an_empty_diff_says_so() {
        let d = diff();
        let same = compare(d.before.clone(), d.before.clone(), Thresholds::default());
        assert_eq!(headline(&same), "No change: 1 destinations and 1 data items the same.");
        assert!(text(&same).contains("Unchanged: 1 destinations, 1 data items."));
        assert_eq!(json(&same)["changes"], json!([]));
    }
}
