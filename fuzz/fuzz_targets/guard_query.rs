#![no_main]
//! Fuzz target: the DNS guard's answer path (`guard::server::fuzz_query`).
//!
//! The input is a query from an allowed and from a refused client: parse, access list, rules,
//! cache, sinkhole and error answers, UDP truncation; when the query would go upstream, the same
//! bytes (with QR set) are read as the upstream's answer: inspection (compression pointers, TTLs,
//! SOA, CNAME targets), the CNAME check, caching and re-stamping. Checks: no panic, every answer
//! carries the query's id and the QR bit, and fits the client's UDP size.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    guard::server::fuzz_query(data);
});
