#![no_main]
//! Fuzz target: the HTTP/1.x parser (`proto::http::HttpParser`).
//!
//! Input layout: one control byte, four cut bytes, then the stream. The stream is fed as the client
//! stream and as the server stream of one flow (so it is parsed both as requests and as responses),
//! once whole and once cut at positions chosen by the cut bytes; both runs must give the same
//! events and counters. Then, depending on the control byte: a run with a gap punched into both
//! streams, a run with the two directions interleaved piece by piece, a byte-at-a-time run (short
//! inputs), and the stream as one UDP datagram. Nothing may panic or loop, and a `CONNECT` tunnel
//! handed over (`take_tunnel`) has consistent offsets.

use flow::{Chunk, Direction};
use proto::http::HttpParser;
use proto::{Anomalies, Event};

type Outcome = (Vec<Event>, Anomalies);

/// Feeds `data` to one direction in pieces ending at `cuts` (ascending) and at the end.
fn feed(
    p: &mut HttpParser,
    dir: Direction,
    data: &[u8],
    cuts: &[usize],
    out: &mut Vec<Event>,
    an: &mut Anomalies,
) {
    let mut start = 0;
    for &c in cuts.iter().chain(std::iter::once(&data.len())) {
        let c = c.clamp(start, data.len());
        if c > start {
            p.data(dir, Chunk::Data { offset: start as u64, bytes: &data[start..c] }, out, an);
            if let Some(t) = p.take_tunnel() {
                assert!(t.client_from.saturating_add(t.held.len() as u64) <= t.client_to);
                assert!(t.client_to <= data.len() as u64 && t.server_from <= c as u64);
            }
        }
        start = c;
    }
}

/// Client stream, then server stream, then both ends.
fn run(data: &[u8], cuts: &[usize]) -> Outcome {
    let mut p = HttpParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    feed(&mut p, Direction::ToServer, data, cuts, &mut out, &mut an);
    feed(&mut p, Direction::ToClient, data, cuts, &mut out, &mut an);
    p.data(Direction::ToServer, Chunk::End, &mut out, &mut an);
    p.data(Direction::ToClient, Chunk::End, &mut out, &mut an);
    (out, an)
}

/// Both streams with the bytes `[at, at + len)` missing (delivered as a gap).
fn run_gap(data: &[u8], at: usize, len: usize) -> Outcome {
    let mut p = HttpParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    let end = at.saturating_add(len).min(data.len());
    for dir in [Direction::ToServer, Direction::ToClient] {
        p.data(dir, Chunk::Data { offset: 0, bytes: &data[..at] }, &mut out, &mut an);
        p.data(dir, Chunk::Gap { offset: at as u64, len: (end - at) as u64 }, &mut out, &mut an);
        p.data(dir, Chunk::Data { offset: end as u64, bytes: &data[end..] }, &mut out, &mut an);
        p.data(dir, Chunk::End, &mut out, &mut an);
    }
    (out, an)
}

/// The two directions interleaved, one piece each in turn.
fn run_interleaved(data: &[u8], cuts: &[usize]) {
    let mut p = HttpParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    let mut start = 0;
    for &c in cuts.iter().chain(std::iter::once(&data.len())) {
        let c = c.clamp(start, data.len());
        for dir in [Direction::ToServer, Direction::ToClient] {
            p.data(
                dir,
                Chunk::Data { offset: start as u64, bytes: &data[start..c] },
                &mut out,
                &mut an,
            );
        }
        start = c;
    }
    p.data(Direction::ToClient, Chunk::End, &mut out, &mut an);
    p.data(Direction::ToServer, Chunk::End, &mut out, &mut an);
}

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    let Some((&ctl, rest)) = input.split_first() else { return };
    let Some((cut_bytes, data)) = rest.split_at_checked(4) else { return };
    let mut cuts: Vec<usize> =
        cut_bytes.iter().map(|&b| data.len() * usize::from(b) / 255).collect();
    cuts.sort_unstable();

    let whole = run(data, &[]);
    assert_eq!(run(data, &cuts), whole, "events depend on segmentation");

    if ctl & 1 != 0 {
        run_gap(data, cuts[0], usize::from(ctl >> 2));
    }
    if ctl & 2 != 0 {
        run_interleaved(data, &cuts);
    }
    if data.len() <= 512 {
        let every: Vec<usize> = (1..data.len()).collect();
        assert_eq!(run(data, &every), whole, "events differ when fed one byte at a time");
    }
    let mut p = HttpParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    p.data(Direction::ToServer, Chunk::Datagram(data), &mut out, &mut an);
});
