#![no_main]
//! Fuzz target: the DNS parser.
//!
//! The input is parsed as one UDP datagram, and as a TCP stream (one direction) cut in two at a
//! position taken from its first byte, then fed one byte at a time. Checks: no panic, the three
//! TCP feeds give the same events and counters, and every name keeps the documented form.

use flow::{Chunk, Direction};
use libfuzzer_sys::fuzz_target;
use proto::dns::{DnsParser, MAX_NAME_LEN};
use proto::{Anomalies, DnsAnswer, DnsQuery, Event};

/// Feeds `parts` as consecutive stream chunks of one direction, then the end.
fn stream(parts: &[&[u8]]) -> (Vec<Event>, Anomalies) {
    let mut p = DnsParser::new();
    let mut out = Vec::new();
    let mut an = Anomalies::default();
    let mut offset = 0u64;
    for &bytes in parts {
        p.stream(Direction::ToServer, Chunk::Data { offset, bytes }, &mut out, &mut an);
        offset += bytes.len() as u64;
    }
    p.stream(Direction::ToServer, Chunk::End, &mut out, &mut an);
    (out, an)
}

fn check_names(out: &[Event]) {
    for ev in out {
        if let Event::DnsQuery(DnsQuery { name, .. }) | Event::DnsAnswer(DnsAnswer { name, .. }) =
            ev
        {
            assert!(name.len() <= MAX_NAME_LEN);
            assert!(!name.ends_with('.') || name.ends_with("\\."));
            assert!(!name.bytes().any(|b| b.is_ascii_uppercase()));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    let mut an = Anomalies::default();
    DnsParser::new().datagram(data, &mut out, &mut an);
    check_names(&out);

    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let cut = (usize::from(first) * rest.len()) / 255;
    let (a, b) = rest.split_at(cut.min(rest.len()));
    let whole = stream(&[rest]);
    assert_eq!(stream(&[a, b]), whole);
    if rest.len() <= 4096 {
        let bytes: Vec<&[u8]> = rest.chunks(1).collect();
        assert_eq!(stream(&bytes), whole);
    }
    check_names(&whole.0);
});
