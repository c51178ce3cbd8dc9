#![no_main]
//! Fuzz target: the TLS record layer with keys (`proto::tls::decrypt`, through
//! `Session::data_keyed`), then what the plaintext carries (HTTP/1, HTTP/2).
//!
//! Input layout: a little-endian u16 length, that many bytes of key log text, then chunks of
//! `direction byte (bit 0: 0 client, 1 server; bit 1: a gap instead of data), u16 length, bytes`.
//! Seeds (`seed.sh`) are real rustls sessions with their key logs, so mutations reach the
//! decrypted paths (keys that open the records) as well as the rejecting ones. Nothing may panic or
//! loop; a session never reports a plaintext event without a decryption outcome.

#[path = "common/input.rs"]
mod input;

use flow::{Chunk, ClientBy, Direction, FlowInfo, Transport};
use proto::{Anomalies, Event, Session};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((mut keys, rest)) = input::keylog_prefix(data) else { return };
    let (client, server) = ("10.0.0.2:40000".parse().unwrap(), "10.0.0.1:443".parse().unwrap());
    let flow =
        FlowInfo::new(1, Transport::Tcp, client, server, ClientBy::Syn, capture::Timestamp(0));
    let mut s = Session::new(&flow);
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    let mut off = [0u64; 2];
    for (ctl, bytes) in input::records(rest) {
        let dir = if ctl & 1 == 0 { Direction::ToServer } else { Direction::ToClient };
        let offset = off[dir.index()];
        let chunk = if ctl & 2 != 0 {
            Chunk::Gap { offset, len: bytes.len() as u64 }
        } else {
            Chunk::Data { offset, bytes }
        };
        s.data_keyed(&flow, dir, chunk, &mut keys, &mut out, &mut an);
        off[dir.index()] += bytes.len() as u64;
    }
    for dir in [Direction::ToServer, Direction::ToClient] {
        s.data_keyed(&flow, dir, Chunk::End, &mut keys, &mut out, &mut an);
    }
    let plaintext = out.iter().any(|e| matches!(e, Event::HttpRequest(_) | Event::HttpResponse(_)));
    if plaintext && s.encrypted() {
        assert!(s.decryption().is_some(), "HTTP from an encrypted flow without an outcome");
    }
});
