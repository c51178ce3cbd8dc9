#![no_main]
//! Fuzz target: quic (being written).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = data;
});
