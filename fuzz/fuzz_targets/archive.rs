#![no_main]
//! Fuzz target: the archive readers (`archive::read`): HAR JSON (first byte even) and mitmproxy
//! tnetstring flow dumps (odd), and `archive::sniff`. Nothing may panic; entry errors stay
//! bounded; every exchange has a 1-based entry index within the input.

use archive::{Kind, MAX_ERRORS, read, sniff};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else { return };
    let _ = sniff(rest);
    let kind = if ctl & 1 == 0 { Kind::Har } else { Kind::Mitmproxy };
    if let Ok(a) = read(kind, rest) {
        assert!(a.errors.len() <= MAX_ERRORS);
        assert!(a.exchanges.iter().all(|x| x.index >= 1));
        assert!(a.exchanges.windows(2).all(|w| w[0].index < w[1].index));
    }
    let _ = archive::tnetstring::parse(rest);
});
