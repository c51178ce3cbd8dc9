#![no_main]
//! Fuzz target: flow table and TCP reassembly.
//!
//! The input is an 8-byte header (initial sequence numbers) followed by 6-byte records, each one
//! packet of one of two TCP flows sharing a server (or, now and then, a UDP datagram):
//!
//! | byte | meaning |
//! |---|---|
//! | 0 | bit 0: direction (0 = client to server); bit 1: which flow; bits 2-4 = 7: UDP instead of TCP; bits 5-7: sequence step multiplier - 1 |
//! | 1 | TCP flags (SYN, ACK, FIN, RST, PSH bits as on the wire) |
//! | 2 | sequence delta (signed) from the sender's previous sequence number, times the multiplier |
//! | 3 | ACK delta (signed) from the other side's current sequence number |
//! | 4 | bits 0-5: payload length; bit 6: cut by the snap length (half captured); bit 7: advance the sender's sequence number past the payload |
//! | 5 | time step in ms (signed: capture time may go backwards); 0x7F jumps 20 s (expiry) |
//!
//! The table runs with tiny limits so caps, eviction and expiry are reached. The sink asserts the
//! flow stage's invariants: `flow_start` before anything else of a flow; stream offsets contiguous
//! across `Data` and `Gap`; no empty data or gap; nothing after `End`; both TCP directions ended
//! before `flow_end`; `flow_end` exactly once per flow; every flow ended after `finish`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use capture::Timestamp;
use flow::{Chunk, Direction, FlowId, FlowInfo, FlowLimits, FlowSink, FlowTable, Meta, Transport};
use wire::{Packet, TcpFlags, TcpSegment};

#[derive(Default)]
struct Check {
    open: HashMap<FlowId, Transport>,
    ended: HashMap<FlowId, ()>,
    /// (next offset, ended) per flow and direction.
    dirs: HashMap<(FlowId, usize), (u64, bool)>,
    last_id: FlowId,
}

impl FlowSink for Check {
    fn flow_start(&mut self, flow: &FlowInfo, _meta: Meta) {
        assert!(flow.id > self.last_id, "flow ids must increase");
        self.last_id = flow.id;
        assert!(self.open.insert(flow.id, flow.transport).is_none());
    }

    fn data(&mut self, flow: &FlowInfo, dir: Direction, chunk: Chunk<'_>, _meta: Meta) {
        assert!(self.open.contains_key(&flow.id), "data outside flow_start..flow_end");
        let st = self.dirs.entry((flow.id, dir.index())).or_default();
        assert!(!st.1, "chunk after End");
        match chunk {
            Chunk::Data { offset, bytes } => {
                assert_eq!(offset, st.0, "data not contiguous");
                assert!(!bytes.is_empty());
                st.0 += bytes.len() as u64;
            }
            Chunk::Gap { offset, len } => {
                assert_eq!(offset, st.0, "gap not contiguous");
                assert!(len > 0);
                assert!(flow.flags.gap);
                st.0 += len;
            }
            Chunk::End => st.1 = true,
            Chunk::Datagram(_) => assert_eq!(flow.transport, Transport::Udp),
        }
    }

    fn flow_end(&mut self, flow: &FlowInfo, _meta: Meta) {
        let transport = self.open.remove(&flow.id).expect("flow_end without flow_start or twice");
        if transport == Transport::Tcp {
            for d in 0..2 {
                assert!(
                    self.dirs.get(&(flow.id, d)).is_some_and(|s| s.1),
                    "TCP flow ended without End on both directions"
                );
            }
        }
        assert!(self.ended.insert(flow.id, ()).is_none());
    }
}

static PAYLOAD: [u8; 64] = {
    let mut b = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        b[i] = i as u8;
        i += 1;
    }
    b
};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((head, records)) = data.split_first_chunk::<8>() else { return };
    let limits = FlowLimits {
        max_flows: 2,
        max_ooo_bytes_per_dir: 96,
        max_ooo_segments_per_dir: 4,
        max_ooo_bytes_total: 160,
        tcp_idle_ns: 10_000_000_000,
        tcp_closed_idle_ns: 1_000_000_000,
        udp_idle_ns: 5_000_000_000,
    };
    let mut table = FlowTable::new(limits);
    let mut sink = Check::default();
    let client = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
    let server = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let isn_c = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let isn_s = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    // seq[flow][dir]
    let mut seq = [[isn_c, isn_s], [isn_c ^ 0x8000_0000, isn_s.wrapping_add(0x7FFF_FFF0)]];
    let mut ts: i64 = 1_700_000_000_000_000_000;
    for (n, r) in records.chunks_exact(6).enumerate() {
        let dir = usize::from(r[0] & 1);
        let f = usize::from((r[0] >> 1) & 1);
        let udp = (r[0] >> 2) & 7 == 7;
        let mult = i32::from(r[0] >> 5) + 1;
        let flags = r[1] & 0x1F;
        seq[f][dir] = seq[f][dir].wrapping_add_signed(i32::from(r[2] as i8) * mult);
        let ack = seq[f][1 - dir].wrapping_add_signed(i32::from(r[3] as i8));
        let len = usize::from(r[4] & 0x3F);
        let captured = if r[4] & 0x40 != 0 { len / 2 } else { len };
        let step = if r[5] == 0x7F { 20_000_000_000 } else { i64::from(r[5] as i8) * 1_000_000 };
        ts = ts.saturating_add(step);
        let ports = [50_000 + f as u16, 443];
        let (src, dst, sport, dport) = if dir == 0 {
            (client, server, ports[0], ports[1])
        } else {
            (server, client, ports[1], ports[0])
        };
        let payload = &PAYLOAD[..captured];
        let transport = if udp {
            wire::Transport::Udp { src_port: sport, dst_port: dport, payload }
        } else {
            wire::Transport::Tcp(TcpSegment {
                src_port: sport,
                dst_port: dport,
                seq: seq[f][dir],
                ack,
                flags: TcpFlags(flags),
                payload,
                wire_payload_len: len as u32,
            })
        };
        let packet = Packet { src, dst, ip_len: 40 + len as u32, reassembled: false, transport };
        table.process(Timestamp(ts), n as u64 + 1, &packet, &mut sink);
        if r[4] & 0x80 != 0 {
            let syn_fin =
                u32::from(flags & TcpFlags::SYN != 0) + u32::from(flags & TcpFlags::FIN != 0);
            seq[f][dir] = seq[f][dir].wrapping_add(len as u32 + syn_fin);
        }
    }
    table.finish(Timestamp(ts), &mut sink);
    assert!(sink.open.is_empty(), "flows left open after finish");
    let stats = table.stats();
    assert_eq!(stats.flows as usize, sink.ended.len());
});
