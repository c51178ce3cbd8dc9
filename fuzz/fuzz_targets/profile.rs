#![no_main]
//! Fuzz target: device profiles and vCards (both are untrusted input).
//!
//! First byte even: the rest is a profile's TOML text; when it loads, its variants are built (phone
//! number parsing, digests, encodings). Odd: the rest is a vCard file.

use std::path::Path;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode % 2 == 0 {
        let Ok(text) = std::str::from_utf8(rest) else { return };
        if let Ok(p) = detect::profile::Profile::from_str(text, Path::new("/nonexistent")) {
            let set = detect::variants::build(&p);
            assert!(set.variants.iter().all(|v| (v.item as usize) < set.items.len()));
        }
    } else {
        let _ = detect::profile::fuzz_vcard(rest);
    }
});
