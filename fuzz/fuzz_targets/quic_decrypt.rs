#![no_main]
//! Fuzz target: QUIC decryption with keys (`proto::quic` decryptor, streams, HTTP/3), through
//! `Session::data_keyed` on a UDP flow.
//!
//! Input layout: a little-endian u16 length, that many bytes of key log text, then datagrams of
//! `direction byte (bit 0: 0 client, 1 server), u16 length, bytes`. Seeds (`seed.sh`) are
//! testkit's QUIC + HTTP/3 connections with their key logs. Nothing may panic or loop; the flow's
//! end flushes open messages.

use flow::{Chunk, ClientBy, Direction, FlowFlags, FlowInfo, Transport};
use proto::{Anomalies, KeyLog, Session};

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
        transport: Transport::Udp,
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
    while let Some((&ctl, tail)) = rest.split_first() {
        let Some((len, tail)) = tail.split_first_chunk::<2>() else { break };
        let n = usize::from(u16::from_le_bytes(*len)).min(tail.len());
        let (bytes, tail) = tail.split_at(n);
        rest = tail;
        let dir = if ctl & 1 == 0 { Direction::ToServer } else { Direction::ToClient };
        s.data_keyed(&flow, dir, Chunk::Datagram(bytes), &mut keys, &mut out, &mut an);
    }
    s.finish(&mut out, &mut an);
});
