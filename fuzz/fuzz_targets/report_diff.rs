#![no_main]
//! Fuzz target: `phonehome diff`'s reading of a report (`report::diff::Run::from_json`) and the
//! comparison and renderings after it. The input is split at its first NUL byte into two
//! documents (before, after), each parsed as JSON: any of them may be no report at all, a report
//! with odd fields, huge numbers, NaN-free but absurd durations. No panic; a run compared with
//! itself is an empty diff; every change's sentence is non-empty.

use report::diff::{Run, Thresholds, compare};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (a, b) = match data.iter().position(|&x| x == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, data),
    };
    let parse = |bytes: &[u8]| {
        let doc: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        Run::from_json("fuzz", &doc).ok()
    };
    let (Some(before), Some(after)) = (parse(a), parse(b)) else { return };
    let same = compare(before.clone(), before.clone(), Thresholds::default());
    assert!(same.is_empty(), "{:?}", same.changes);
    let d = compare(before, after, Thresholds::default());
    for c in &d.changes {
        assert!(!render::diff::sentence(c).is_empty());
    }
    let _ = render::diff::text(&d);
    let _ = render::diff::json(&d);
    let _ = render::diff::markdown(&d);
    let _ = render::diff::html(&d);
});
