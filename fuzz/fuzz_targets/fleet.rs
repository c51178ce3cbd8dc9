#![no_main]
//! Fuzz target: `phonehome fleet`'s reading of reports (`report::fleet::Fleet::add`) and its
//! renderings, and the capture manifest parser (`report::fleet::Manifest::parse`). The input is
//! split at its first NUL byte: before it, manifest text; after it, documents separated by
//! further NUL bytes, each parsed as JSON and added as a device's report. No panic; a report
//! that is refused adds nothing; every cell names a device that exists.

use std::path::Path;

use report::fleet::{Fleet, MAX_MANIFEST_ROWS, Manifest};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (manifest, rest) = match data.iter().position(|&x| x == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    if let Ok(m) = Manifest::parse(&String::from_utf8_lossy(manifest), Path::new("lab")) {
        assert!(m.rows.len() <= MAX_MANIFEST_ROWS);
        // Relative paths are the manifest folder's; absolute ones stay as written.
        assert!(m.rows.iter().all(|(p, _)| p.starts_with("lab") || p.is_absolute()));
    }
    let mut fleet = Fleet::default();
    for (i, doc) in rest.split(|&x| x == 0).enumerate() {
        let Ok(doc) = serde_json::from_slice::<serde_json::Value>(doc) else { continue };
        let before = fleet.clone();
        if fleet.add(&format!("r{i}"), &doc).is_err() {
            assert_eq!(fleet, before, "a refused report added something");
        }
    }
    assert!(fleet.cells.keys().all(|(d, _)| *d < fleet.devices.len()));
    let _ = render::fleet::text(&fleet);
    let _ = render::fleet::json(&fleet);
    let _ = render::fleet::html(&fleet);
});
