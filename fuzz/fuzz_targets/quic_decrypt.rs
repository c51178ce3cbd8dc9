#![no_main]
//! Fuzz target: QUIC decryption with keys (`proto::quic` decryptor, streams, HTTP/3), through
//! `Session::data_keyed` on a UDP flow.
//!
//! Input layout: a little-endian u16 length, that many bytes of key log text, then datagrams of
//! `direction byte (bit 0: 0 client, 1 server), u16 length, bytes`. Seeds (`seed.sh`) are
//! testkit's QUIC + HTTP/3 connections with their key logs. Nothing may panic or loop; the flow's
//! end flushes open messages.

#[path = "common/input.rs"]
mod input;

use flow::{Chunk, ClientBy, Direction, FlowInfo, Transport};
use proto::{Anomalies, Session};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((mut keys, rest)) = input::keylog_prefix(data) else { return };
    let (client, server) = ("10.0.0.2:40000".parse().unwrap(), "10.0.0.1:443".parse().unwrap());
    let flow =
        FlowInfo::new(1, Transport::Udp, client, server, ClientBy::Syn, capture::Timestamp(0));
    let mut s = Session::new(&flow);
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    for (ctl, bytes) in input::records(rest) {
        let dir = if ctl & 1 == 0 { Direction::ToServer } else { Direction::ToClient };
        s.data_keyed(&flow, dir, Chunk::Datagram(bytes), &mut keys, &mut out, &mut an);
    }
    s.finish(&mut out, &mut an);
});
