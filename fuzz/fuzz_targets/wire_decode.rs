#![no_main]
//! Fuzz target: wire_decode (being written).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = data;
});
