#![no_main]
//! Fuzz target: flow_reassembly (being written).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = data;
});
