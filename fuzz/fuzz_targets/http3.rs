#![no_main]
//! Fuzz target: HTTP/3 frames and QPACK (`proto::http3`).
//!
//! Input layout: chunks of `control byte, u16 length, bytes`. Control bit 0: sender (client or
//! server); bits 1-3: stream (0, 4: request streams; 2, 6: client unidirectional; 3, 7: server
//! unidirectional; others); bit 4: the stream ends after this chunk. Nothing may panic or loop;
//! bodies stay within the decoded-size limit. The bytes are also fed to a QPACK decoder as an
//! encoder stream and decoded as a field section.

#[path = "common/input.rs"]
mod input;

use flow::{Chunk, Direction};
use proto::http3::{H3Conn, qpack};
use proto::{Anomalies, Event};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut h = H3Conn::new(true);
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    let mut offsets = std::collections::HashMap::new();
    for (ctl, bytes) in input::records(data) {
        let sender = if ctl & 1 == 0 { Direction::ToServer } else { Direction::ToClient };
        let id = [0u64, 4, 2, 6, 3, 7, 1, 10][usize::from(ctl >> 1 & 7)];
        let off: &mut u64 = offsets.entry((id, ctl & 1)).or_default();
        h.stream(
            Direction::ToServer,
            sender,
            id,
            Chunk::Data { offset: *off, bytes },
            &mut out,
            &mut an,
        );
        *off += bytes.len() as u64;
        if ctl & 0x10 != 0 {
            h.stream(Direction::ToServer, sender, id, Chunk::End, &mut out, &mut an);
        }
    }
    h.close(Direction::ToServer, &mut out, &mut an);
    for e in &out {
        if let Event::HttpRequest(r) = e {
            assert!(r.body.data.len() <= proto::http::MAX_BODY_DECODED);
        }
    }
    let mut d = qpack::Decoder::default();
    let _ = d.encoder_stream(data);
    let _ = d.section(data);
});
