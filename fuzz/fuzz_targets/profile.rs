#![no_main]
//! Fuzz target: device profiles and vCards (both are untrusted input).
//!
//! First byte mod 4 = 0 or 2: the rest is a profile's TOML text; when it loads, its variants are
//! built (phone number parsing, digests, encodings). 1: the rest is a vCard file. 3: the rest is
//! a compiled-profile cache entry after its header (`detect::compiled`, a file any process of the
//! user could have written) and, whole, a matcher's byte form: read back, a hit search must not
//! panic.

use std::path::Path;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode % 4 == 3 {
        let key = [7u8; 32];
        let mut entry = detect::compiled::MAGIC.to_vec();
        entry.extend_from_slice(&key);
        entry.extend_from_slice(rest);
        if let Some(c) = detect::compiled::Compiled::from_bytes(&entry, &key)
            && let Some(m) = &c.matcher
        {
            m.find(b"865123045678905 +886912345678", |h| assert!(h.end <= 29));
        }
        if let Some(m) = detect::matcher::Matcher::from_bytes(rest) {
            m.find(rest, |h| assert!(h.start <= h.end && h.end <= rest.len()));
        }
    } else if mode % 2 == 0 {
        let Ok(text) = std::str::from_utf8(rest) else { return };
        if let Ok(p) = detect::profile::Profile::from_str(text, Path::new("/nonexistent")) {
            let set = detect::variants::build(&p);
            assert!(set.variants.iter().all(|v| (v.item as usize) < set.items.len()));
        }
    } else {
        let _ = detect::profile::fuzz_vcard(rest);
    }
});
