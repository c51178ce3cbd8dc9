#![no_main]
//! Fuzz target: the report's data files, which users can supply. First byte even: the rest is a
//! user entity file (`--entities`, TOML) merged with the built-in database, then hosts are
//! attributed. Odd: the rest is an ASN table (`data/geo/asn.bin`) or CSV, loaded and looked up.

use std::path::Path;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode % 2 == 0 {
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
