#![no_main]
//! Fuzz target: the gateway's answers to a refused packet (`vpn::reject::answers`), which read
//! a device's or a server's IP packet. Any bytes: no panic, at most two answers, each a whole
//! IPv4 or IPv6 packet of at most 1280 bytes (an ICMPv6 error's quote is capped), never an
//! answer to ICMP.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let out = vpn::reject::answers(data);
    assert!(out.len() <= 2);
    for (_, p) in &out {
        assert!(p.len() <= 1280, "{}", p.len());
        assert!(matches!(p.first().map(|b| b >> 4), Some(4 | 6)));
    }
    if data.first().is_some_and(|b| b >> 4 == 4) && data.get(9) == Some(&1) {
        assert!(out.is_empty(), "ICMP is never answered");
    }
});
