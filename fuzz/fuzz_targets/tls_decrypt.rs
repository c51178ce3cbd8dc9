#![no_main]
//! Fuzz target: the TLS record layer with keys (`proto::tls::decrypt`, through
//! `Session::data_keyed`), then what the plaintext carries (HTTP/1, HTTP/2).
//!
//! Input layout: a little-endian u16 length, that many bytes of key log text, then chunks of
//! `direction byte (bit 0: 0 client, 1 server; bit 1: a gap instead of data), u16 length, bytes`.
//! Seeds (`seed.sh`) are real rustls sessions with their key logs, so mutations reach the
//! decrypted paths (keys that open the records) as well as the rejecting ones. Nothing may panic or
//! loop; a session never reports a plaintext event without a decryption outcome.

use flow::{Chunk, ClientBy, Direction, FlowFlags, FlowInfo, Transport};
use proto::{Anomalies, Event, KeyLog, Session};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((len, rest)) = data.split_first_chunk::<2>() else { return };
    let n = usize::from(u16::from_le_bytes(*len)).min(rest.len());
    let (keylog, mut rest) = rest.split_at(n);
    let mut keys = KeyLog::new();
    let _ = keys.read(keylog);
    let flow = FlowInfo {
        id: 1,
        client: "10.0.0.2:40000".parse().unwrap(),
        server: "10.0.0.1:443".parse().unwrap(),
        transport: Transport::Tcp,
        client_by: ClientBy::Syn,
        first: capture::Timestamp(0),
        last: capture::Timestamp(0),
        packets: [0; 2],
        bytes: [0; 2],
        payload_bytes: [0; 2],
        tcp_state: None,
        flags: FlowFlags::default(),
    };
    let mut s = Session::new(&flow);
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    let mut off = [0u64; 2];
    while let Some((&ctl, tail)) = rest.split_first() {
        let Some((len, tail)) = tail.split_first_chunk::<2>() else { break };
        let n = usize::from(u16::from_le_bytes(*len)).min(tail.len());
        let (bytes, tail) = tail.split_at(n);
        rest = tail;
        let dir = if ctl & 1 == 0 { Direction::ToServer } else { Direction::ToClient };
        let offset = off[dir.index()];
        let chunk = if ctl & 2 != 0 {
            Chunk::Gap { offset, len: n as u64 }
        } else {
            Chunk::Data { offset, bytes }
        };
        s.data_keyed(&flow, dir, chunk, &mut keys, &mut out, &mut an);
        off[dir.index()] += n as u64;
    }
    for dir in [Direction::ToServer, Direction::ToClient] {
        s.data_keyed(&flow, dir, Chunk::End, &mut keys, &mut out, &mut an);
    }
    let plaintext = out.iter().any(|e| matches!(e, Event::HttpRequest(_) | Event::HttpResponse(_)));
    if plaintext && s.encrypted() {
        assert!(s.decryption().is_some(), "HTTP from an encrypted flow without an outcome");
    }
});
