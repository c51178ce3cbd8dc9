#![no_main]
//! Fuzz target: the report's data files, which users can supply. First byte mod 4 = 0: the rest
//! is a user entity file (`--entities`, TOML) merged with the built-in database, then hosts are
//! attributed. 1: an ASN table (`data/geo/asn.bin`) or CSV, loaded and looked up. 2: a country
//! table in the built-in format (`report::geo::builtin`), decoded raw and gzip'd, looked up.
//! 3: the open-data entity layer: the rest read as a layer file (`attribution::open::parse`),
//! and, split at the first `\0`, as companiesdb's trackers and companies JSON compiled by
//! `attribution::open::compile_adguard`, whose output must parse back; and whole as a TrackerDB
//! SQL dump (`attribution::trackerdb::compile`), likewise.

use std::path::Path;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode % 4 == 3 {
        use report::attribution::{Entities, open};
        let Ok(text) = std::str::from_utf8(rest) else { return };
        let _ = open::parse(text, Path::new("fuzz.tsv"));
        let (trackers, companies) = text.split_once('\0').unwrap_or((text, "{}"));
        let curated = Entities::curated_only();
        if let Ok((out, _)) = open::compile_adguard(trackers, companies, &curated) {
            open::parse(&out, Path::new("compiled.tsv")).expect("compiled layer parses back");
        }
        if let Ok((out, _)) = report::attribution::trackerdb::compile(text, &curated) {
            open::parse(&out, Path::new("trackerdb.tsv")).expect("TrackerDB layer parses back");
        }
    } else if mode % 4 == 2 {
        use report::geo::builtin::Table;
        for t in [Table::decode_raw(rest), Table::decode(rest)].into_iter().flatten() {
            for ip in ["0.0.0.0", "8.8.8.8", "255.255.255.255", "::", "2001:db8::1", "ffff::1"] {
                let _ = t.lookup(ip.parse().expect("address literal"));
            }
        }
    } else if mode % 4 == 0 {
        let Ok(text) = std::str::from_utf8(rest) else { return };
        if let Ok(e) = report::attribution::Entities::builtin_with_str(text, Path::new("fuzz.toml"))
        {
            for host in ["api.account.xiaomi.com", "x.y.z.example", "com", "", "..", "a.b.c.d.e.f"]
            {
                let _ = e.attribute(host);
            }
            let _ = e.attribute_chain(&["metrics.shop.com", "shop.sc.omtrdc.net", "cdn.example"]);
        }
    } else {
        report::geo::fuzz_asn(rest);
    }
});
