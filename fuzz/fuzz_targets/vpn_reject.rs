#![no_main]
//! Fuzz target: what the gateway does to a device's or a server's IP packet: the answers to a
//! refused one (`vpn::reject::answers`) and the in-place rewrite of a TCP payload
//! (`vpn::reject::rewrite_tcp_payload`, as `--redact` uses it). Any bytes: no panic, at most two
//! answers, each a whole IPv4 or IPv6 packet of at most 1280 bytes (an ICMPv6 error's quote is
//! capped), never an answer to ICMP; a rewrite keeps the packet's length and, when it changed
//! the payload, gives a segment whose answers still parse.

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
    let mut packet = data.to_vec();
    let n = vpn::reject::rewrite_tcp_payload(&mut packet, |payload| {
        payload.iter_mut().for_each(|b| *b = b'x');
        1
    });
    assert_eq!(packet.len(), data.len());
    if n > 0 {
        assert!(vpn::reject::answers(&packet).len() <= 2);
    }
});
