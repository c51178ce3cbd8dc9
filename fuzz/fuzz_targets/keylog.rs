#![no_main]
//! Fuzz target: the NSS key log reader (`proto::KeyLog::read`), as `--keylog` files and pcapng
//! Decryption Secrets Blocks feed it. Nothing may panic; errors are bounded and name lines inside
//! the text; every secret read can be looked up again.

use proto::tls::keylog::{KeyLog, MAX_ERRORS};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut k = KeyLog::new();
    let sum = k.read(data);
    assert!(sum.errors.len() <= MAX_ERRORS && sum.errors.len() <= sum.error_count);
    let lines = data.split(|&b| b == b'\n').count();
    assert!(sum.errors.iter().all(|e| e.line >= 1 && e.line <= lines));
    assert!(k.len() <= sum.secrets);
    // Reading the same text again changes nothing but the counts.
    let before = k.len();
    let again = k.read(data);
    assert_eq!((again.secrets, again.error_count, k.len()), (sum.secrets, sum.error_count, before));
});
