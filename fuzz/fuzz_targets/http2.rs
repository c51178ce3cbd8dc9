#![no_main]
//! Fuzz target: HTTP/2 frames and HPACK (`proto::http2`).
//!
//! Input layout: one control byte, then the bytes. They are fed as the client's stream (after the
//! connection preface, which the target adds when bit 0 is clear) and as the server's stream, once
//! whole and once in pieces of a size taken from the control byte; both runs must give the same
//! events. The bytes are also decoded as one HPACK header block. Nothing may panic, loop or grow
//! past the named limits.

use flow::{Chunk, Direction};
use proto::http2::{H2Parser, PREFACE, hpack};
use proto::{Anomalies, Event};

fn run(client: &[u8], server: &[u8], piece: usize) -> (Vec<Event>, Anomalies) {
    let mut p = H2Parser::new(true);
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    for (dir, data) in [(Direction::ToServer, client), (Direction::ToClient, server)] {
        let mut at = 0;
        for part in data.chunks(piece.max(1)) {
            p.data(dir, Chunk::Data { offset: at, bytes: part }, &mut out, &mut an);
            at += part.len() as u64;
        }
        p.data(dir, Chunk::End, &mut out, &mut an);
    }
    (out, an)
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else { return };
    let client = if ctl & 1 == 0 { [&PREFACE[..], rest].concat() } else { rest.to_vec() };
    let whole = run(&client, rest, usize::MAX);
    let pieces = run(&client, rest, usize::from(ctl >> 1) + 1);
    assert_eq!(whole, pieces, "events depend on how the stream was cut");
    for e in &whole.0 {
        if let Event::HttpRequest(r) = e {
            assert!(r.body.data.len() <= proto::http::MAX_BODY_DECODED);
        }
    }
    let mut d = hpack::Decoder::default();
    if let Ok(fields) = d.decode(rest) {
        let total: usize = fields.iter().map(|(n, v)| n.len() + v.len()).sum();
        assert!(total <= hpack::MAX_LIST_BYTES);
        assert!(d.table_size() <= hpack::MAX_TABLE_SIZE);
    }
});
