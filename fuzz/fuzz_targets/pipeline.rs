#![no_main]
//! Fuzz target: pipeline (being written).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = data;
});
