#![no_main]
//! Fuzz target: capture_reader (being written).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = data;
});
