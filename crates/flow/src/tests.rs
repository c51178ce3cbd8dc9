//! Tests of the flow table and TCP reassembly through the public API.
//!
//! Packets are built by hand (`wire::Packet` values); every test records what the sink sees in a
//! [`Rec`], which also checks the sink invariants on every call: `flow_start` first, stream offsets
//! contiguous across `Data` and `Gap`, nothing after `End`, both TCP directions ended before
//! `flow_end`, nothing after `flow_end`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use capture::Timestamp;
use wire::{Packet, TcpFlags, TcpSegment};

use crate::{
    Chunk, ClientBy, Direction, FlowId, FlowInfo, FlowLimits, FlowSink, FlowTable, Meta, TcpState,
    Transport,
};

const SYN: u8 = TcpFlags::SYN;
const ACK: u8 = TcpFlags::ACK;
const FIN: u8 = TcpFlags::FIN;
const RST: u8 = TcpFlags::RST;
const PSH: u8 = TcpFlags::PSH;

const C: &str = "10.0.0.2:50000";
const S: &str = "93.184.216.34:443";

/// An owned copy of a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Data(u64, Vec<u8>),
    Gap(u64, u64),
    End,
    Datagram(Vec<u8>),
}

#[derive(Debug, Default)]
struct DirState {
    next: u64,
    data: u64,
    ended: bool,
    chunks: Vec<(Ev, Meta)>,
}

/// Recording, invariant-checking sink.
#[derive(Debug, Default)]
struct Rec {
    started: Vec<FlowInfo>,
    ended: Vec<FlowInfo>,
    end_meta: HashMap<FlowId, Meta>,
    dirs: HashMap<(FlowId, usize), DirState>,
    open: HashMap<FlowId, FlowInfo>,
    /// Data chunk pointers, to check the zero-copy path.
    ptrs: Vec<*const u8>,
}

impl FlowSink for Rec {
    fn flow_start(&mut self, flow: &FlowInfo, _meta: Meta) {
        assert!(!self.open.contains_key(&flow.id), "flow {} started twice", flow.id);
        assert!(self.ended.iter().all(|f| f.id != flow.id), "flow {} restarted", flow.id);
        self.started.push(flow.clone());
        self.open.insert(flow.id, flow.clone());
    }

    fn data(&mut self, flow: &FlowInfo, dir: Direction, chunk: Chunk<'_>, meta: Meta) {
        assert!(self.open.contains_key(&flow.id), "data for flow {} not open", flow.id);
        let st = self.dirs.entry((flow.id, dir.index())).or_default();
        assert!(!st.ended, "chunk after End: flow {} {dir:?} {chunk:?}", flow.id);
        let ev = match chunk {
            Chunk::Data { offset, bytes } => {
                assert_eq!(flow.transport, Transport::Tcp);
                assert_eq!(offset, st.next, "data offset not contiguous");
                assert!(!bytes.is_empty(), "empty data chunk");
                st.next += bytes.len() as u64;
                self.ptrs.push(bytes.as_ptr());
                Ev::Data(offset, bytes.to_vec())
            }
            Chunk::Gap { offset, len } => {
                assert_eq!(flow.transport, Transport::Tcp);
                assert_eq!(offset, st.next, "gap offset not contiguous");
                assert!(len > 0, "empty gap");
                assert!(flow.flags.gap);
                st.next += len;
                Ev::Gap(offset, len)
            }
            Chunk::End => {
                assert_eq!(flow.transport, Transport::Tcp);
                st.ended = true;
                Ev::End
            }
            Chunk::Datagram(b) => {
                assert_eq!(flow.transport, Transport::Udp);
                Ev::Datagram(b.to_vec())
            }
        };
        if flow.transport == Transport::Tcp {
            st.data += match &ev {
                Ev::Data(_, b) => b.len() as u64,
                _ => 0,
            };
            assert_eq!(flow.payload_bytes[dir.index()], st.data, "payload_bytes = data delivered");
        }
        st.chunks.push((ev, meta));
    }

    fn flow_end(&mut self, flow: &FlowInfo, meta: Meta) {
        assert!(self.open.remove(&flow.id).is_some(), "flow_end for flow {} not open", flow.id);
        if flow.transport == Transport::Tcp {
            for d in 0..2 {
                let ended = self.dirs.get(&(flow.id, d)).is_some_and(|s| s.ended);
                assert!(ended, "flow {} ended without End on dir {d}", flow.id);
            }
        }
        self.ended.push(flow.clone());
        self.end_meta.insert(flow.id, meta);
    }
}

impl Rec {
    fn chunks(&self, id: FlowId, dir: Direction) -> Vec<Ev> {
        self.dirs
            .get(&(id, dir.index()))
            .map(|s| s.chunks.iter().map(|c| c.0.clone()).collect())
            .unwrap_or_default()
    }

    fn metas(&self, id: FlowId, dir: Direction) -> Vec<(Ev, u64)> {
        self.dirs
            .get(&(id, dir.index()))
            .map(|s| s.chunks.iter().map(|c| (c.0.clone(), c.1.frame)).collect())
            .unwrap_or_default()
    }

    /// All data bytes of a direction, gaps left out.
    fn bytes(&self, id: FlowId, dir: Direction) -> Vec<u8> {
        let mut v = Vec::new();
        for c in self.chunks(id, dir) {
            if let Ev::Data(_, b) = c {
                v.extend(b);
            }
        }
        v
    }

    fn gaps(&self, id: FlowId, dir: Direction) -> Vec<(u64, u64)> {
        self.chunks(id, dir)
            .into_iter()
            .filter_map(|c| if let Ev::Gap(o, l) = c { Some((o, l)) } else { None })
            .collect()
    }

    fn has_end(&self, id: FlowId, dir: Direction) -> bool {
        self.dirs.get(&(id, dir.index())).is_some_and(|s| s.ended)
    }

    fn info(&self, id: FlowId) -> &FlowInfo {
        self.ended.iter().find(|f| f.id == id).expect("flow ended")
    }

    /// Every started flow ended exactly once.
    fn all_ended(&self) {
        assert!(self.open.is_empty(), "flows still open: {:?}", self.open.keys());
        assert_eq!(self.started.len(), self.ended.len());
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn tcp<'a>(src: &str, dst: &str, seq: u32, ack: u32, flags: u8, payload: &'a [u8]) -> Packet<'a> {
    let (s, d) = (addr(src), addr(dst));
    Packet {
        src: s.ip(),
        dst: d.ip(),
        ip_len: 40 + payload.len() as u32,
        reassembled: false,
        transport: wire::Transport::Tcp(TcpSegment {
            src_port: s.port(),
            dst_port: d.port(),
            seq,
            ack,
            flags: TcpFlags(flags),
            payload,
            wire_payload_len: payload.len() as u32,
        }),
    }
}

fn udp<'a>(src: &str, dst: &str, payload: &'a [u8]) -> Packet<'a> {
    let (s, d) = (addr(src), addr(dst));
    Packet {
        src: s.ip(),
        dst: d.ip(),
        ip_len: 28 + payload.len() as u32,
        reassembled: false,
        transport: wire::Transport::Udp { src_port: s.port(), dst_port: d.port(), payload },
    }
}

/// A table plus a recorder and a clock: one packet per millisecond unless told otherwise.
struct Harness {
    table: FlowTable,
    rec: Rec,
    frame: u64,
    ts: i64,
}

impl Harness {
    fn new() -> Self {
        Self::with(FlowLimits::default())
    }

    fn with(limits: FlowLimits) -> Self {
        Self { table: FlowTable::new(limits), rec: Rec::default(), frame: 0, ts: 1_000_000_000 }
    }

    fn feed(&mut self, p: &Packet<'_>) -> u64 {
        self.frame += 1;
        self.ts += 1_000_000;
        self.table.process(Timestamp(self.ts), self.frame, p, &mut self.rec);
        self.frame
    }

    fn feed_at(&mut self, ts: i64, p: &Packet<'_>) -> u64 {
        self.ts = ts;
        self.frame += 1;
        self.table.process(Timestamp(ts), self.frame, p, &mut self.rec);
        self.frame
    }

    fn finish(&mut self) {
        self.table.finish(Timestamp(self.ts), &mut self.rec);
        self.rec.all_ended();
    }

    /// SYN, SYN-ACK, ACK with client ISN `ci` and server ISN `si`.
    fn handshake(&mut self, ci: u32, si: u32) {
        self.feed(&tcp(C, S, ci, 0, SYN, b""));
        self.feed(&tcp(S, C, si, ci.wrapping_add(1), SYN | ACK, b""));
        self.feed(&tcp(C, S, ci.wrapping_add(1), si.wrapping_add(1), ACK, b""));
    }
}

use Direction::{ToClient as TC, ToServer as TS};

#[test]
fn handshake_data_both_ways_and_fin() {
    let mut h = Harness::new();
    h.handshake(1000, 5000);
    h.feed(&tcp(C, S, 1001, 5001, ACK | PSH, b"GET / HTTP/1.1\r\n\r\n"));
    h.feed(&tcp(S, C, 5001, 1019, ACK | PSH, b"HTTP/1.1 200 OK\r\n"));
    h.feed(&tcp(S, C, 5018, 1019, ACK | PSH, b"\r\nbody"));
    h.feed(&tcp(C, S, 1019, 5024, ACK | FIN, b""));
    assert!(h.rec.ended.is_empty());
    h.feed(&tcp(S, C, 5024, 1020, ACK | FIN, b""));
    // Both FINs reached: both streams end at once, but the flow stays (closed) so that the last
    // ACK is counted in it, as tshark counts it, instead of opening a new flow.
    assert!(h.rec.has_end(1, TS) && h.rec.has_end(1, TC));
    assert!(h.rec.ended.is_empty());
    h.feed(&tcp(C, S, 1020, 5025, ACK, b""));
    h.finish();
    assert_eq!(h.rec.ended.len(), 1);
    assert_eq!(h.rec.started.len(), 1);
    let f = h.rec.info(1);
    assert_eq!(f.client, addr(C));
    assert_eq!(f.server, addr(S));
    assert_eq!(f.client_by, ClientBy::Syn);
    assert_eq!(f.tcp_state, Some(TcpState::Closed));
    assert!(!f.flags.midstream && !f.flags.gap && !f.flags.capped);
    assert_eq!(f.packets, [5, 4]);
    assert_eq!(f.payload_bytes, [18, 23]);
    assert_eq!(f.bytes, [5 * 40 + 18, 4 * 40 + 23]);
    assert_eq!(h.rec.chunks(1, TS), vec![Ev::Data(0, b"GET / HTTP/1.1\r\n\r\n".to_vec()), Ev::End]);
    assert_eq!(
        h.rec.chunks(1, TC),
        vec![
            Ev::Data(0, b"HTTP/1.1 200 OK\r\n".to_vec()),
            Ev::Data(17, b"\r\nbody".to_vec()),
            Ev::End
        ]
    );
    assert_eq!(h.table.stats().flows, 1);
    assert_eq!(h.table.stats().retransmissions, 0);
}

#[test]
fn in_order_data_is_zero_copy() {
    let mut h = Harness::new();
    h.handshake(1, 1);
    let payload = b"hello world".to_vec();
    h.feed(&tcp(C, S, 2, 2, ACK, &payload));
    assert_eq!(h.rec.ptrs, vec![payload.as_ptr()]);
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for i in 0..=p.len() {
            let mut q = p.clone();
            q.insert(i, n - 1);
            out.push(q);
        }
    }
    out
}

/// Feeds `data` cut at `cuts` in the order `order` after a handshake, then a FIN, and returns the
/// client stream.
fn deliver_in_order(data: &[u8], cuts: &[usize], order: &[usize], isn: u32) -> (Vec<Ev>, Harness) {
    let mut h = Harness::new();
    h.handshake(isn, 7);
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(data.len());
    for &i in order {
        let (a, b) = (bounds[i], bounds[i + 1]);
        let seq = isn.wrapping_add(1).wrapping_add(a as u32);
        h.feed(&tcp(C, S, seq, 8, ACK, &data[a..b]));
    }
    h.feed(&tcp(C, S, isn.wrapping_add(1).wrapping_add(data.len() as u32), 8, ACK | FIN, b""));
    (h.rec.chunks(1, TS), h)
}

fn merged(chunks: &[Ev]) -> Vec<u8> {
    let mut v = Vec::new();
    for c in chunks {
        match c {
            Ev::Data(_, b) => v.extend_from_slice(b),
            Ev::Gap(..) => panic!("unexpected gap"),
            _ => {}
        }
    }
    v
}

#[test]
fn every_permutation_of_four_segments_gives_the_same_bytes() {
    let data = b"The quick brown fox jumps over the lazy dog";
    for cuts in [[1, 2, 3], [5, 17, 30], [10, 11, 42]] {
        for order in permutations(4) {
            for isn in [0, 0xFFFF_FFF0, 12345] {
                let (chunks, h) = deliver_in_order(data, &cuts, &order, isn);
                assert_eq!(merged(&chunks), data, "cuts {cuts:?} order {order:?} isn {isn:#x}");
                assert_eq!(chunks.last(), Some(&Ev::End));
                let in_order = order.windows(2).all(|w| w[0] < w[1]);
                assert_eq!(h.table.stats().out_of_order == 0, in_order);
            }
        }
    }
}

#[test]
fn every_split_point_in_both_orders() {
    let data = b"0123456789abcdefghij";
    for cut in 1..data.len() {
        for order in [[0, 1], [1, 0]] {
            let (chunks, _) = deliver_in_order(data, &[cut], &order, 99);
            assert_eq!(merged(&chunks), data);
        }
    }
}

#[test]
fn retransmissions_are_dropped_and_counted() {
    let mut h = Harness::new();
    h.handshake(100, 200);
    h.feed(&tcp(C, S, 101, 201, ACK, b"abcd"));
    h.feed(&tcp(C, S, 101, 201, ACK, b"abcd"));
    // An out-of-order segment and its duplicate.
    h.feed(&tcp(C, S, 109, 201, ACK, b"ijkl"));
    h.feed(&tcp(C, S, 109, 201, ACK, b"ijkl"));
    h.feed(&tcp(C, S, 105, 201, ACK, b"efgh"));
    assert_eq!(h.rec.bytes(1, TS), b"abcdefghijkl");
    let st = h.table.stats();
    assert_eq!(st.retransmissions, 2);
    assert_eq!(st.overlaps, 0);
    assert_eq!(st.out_of_order, 1);
}

#[test]
fn overlaps_first_data_wins() {
    let mut h = Harness::new();
    h.handshake(0, 0);
    // Delivered "abcd"; a later copy of [2, 6) only contributes [4, 6).
    h.feed(&tcp(C, S, 1, 1, ACK, b"abcd"));
    h.feed(&tcp(C, S, 3, 1, ACK, b"ZZef"));
    // Buffered "XXXX" at [8, 12); a later [6, 14) keeps the buffered bytes and adds 6..8 and 12..14.
    h.feed(&tcp(C, S, 9, 1, ACK, b"XXXX"));
    h.feed(&tcp(C, S, 7, 1, ACK, b"ghijklmn"));
    assert_eq!(h.rec.bytes(1, TS), b"abcdefghXXXXmn");
    assert_eq!(
        h.rec.chunks(1, TS),
        vec![
            Ev::Data(0, b"abcd".to_vec()),
            Ev::Data(4, b"ef".to_vec()),
            Ev::Data(6, b"gh".to_vec()),
            Ev::Data(8, b"XXXX".to_vec()),
            Ev::Data(12, b"mn".to_vec()),
        ]
    );
    assert_eq!(h.table.stats().overlaps, 2);
    // Two buffered pieces, a new segment covering both and more: the bytes between them come from
    // the new segment, the buffered bytes stay.
    let mut h = Harness::new();
    h.handshake(0, 0);
    h.feed(&tcp(C, S, 3, 1, ACK, b"11"));
    h.feed(&tcp(C, S, 7, 1, ACK, b"22"));
    h.feed(&tcp(C, S, 1, 1, ACK, b"abcdefghij"));
    assert_eq!(h.rec.bytes(1, TS), b"ab11ef22ij");
    assert_eq!(h.table.stats().overlaps, 1);
    assert_eq!(h.table.stats().out_of_order, 2);
}

#[test]
fn wrap_around_sequence_numbers() {
    let mut h = Harness::new();
    let isn = 0xFFFF_FFFA;
    h.handshake(isn, 0xFFFF_FFFF);
    // Client stream starts at 0xFFFF_FFFB; "0123456789" crosses zero. Send the second half first.
    h.feed(&tcp(C, S, 0x0000_0001, 0, ACK, b"6789"));
    h.feed(&tcp(C, S, 0xFFFF_FFFB, 0, ACK, b"012345"));
    // Server ISN 0xFFFF_FFFF: its stream starts at sequence 0.
    h.feed(&tcp(S, C, 0, 0x0000_0005, ACK, b"pong"));
    assert_eq!(
        h.rec.chunks(1, TS),
        vec![Ev::Data(0, b"012345".to_vec()), Ev::Data(6, b"6789".to_vec())]
    );
    assert_eq!(h.rec.chunks(1, TC), vec![Ev::Data(0, b"pong".to_vec())]);
}

#[test]
fn long_stream_crosses_many_wraps() {
    // 64-bit offsets keep counting across several 4 GiB wraps (segments declared by gaps: the
    // snap length keeps the test small).
    let mut h = Harness::new();
    h.handshake(0x8000_0000, 1);
    let mut seq: u32 = 0x8000_0001;
    let seg = 1 << 30;
    for _ in 0..10 {
        let mut p = tcp(C, S, seq, 2, ACK, b"x");
        if let wire::Transport::Tcp(t) = &mut p.transport {
            t.wire_payload_len = seg;
        }
        h.feed(&p);
        seq = seq.wrapping_add(seg);
    }
    h.feed(&tcp(C, S, seq, 2, ACK, b"end"));
    let chunks = h.rec.chunks(1, TS);
    assert_eq!(chunks.last(), Some(&Ev::Data(10 * u64::from(seg), b"end".to_vec())));
    assert_eq!(h.table.stats().snaplen_cut, 10);
}

#[test]
fn midstream_pickup_uses_port_heuristic() {
    let mut h = Harness::new();
    h.feed(&tcp(S, C, 777_777, 5, ACK, b"server first"));
    h.feed(&tcp(C, S, 5, 777_789, ACK, b"client"));
    h.finish();
    let f = h.rec.info(1);
    assert_eq!(f.client, addr(C));
    assert_eq!(f.client_by, ClientBy::PortHeuristic);
    assert!(f.flags.midstream);
    assert_eq!(f.tcp_state, Some(TcpState::Established));
    assert_eq!(h.rec.chunks(1, TC), vec![Ev::Data(0, b"server first".to_vec()), Ev::End]);
    assert_eq!(h.rec.chunks(1, TS), vec![Ev::Data(0, b"client".to_vec()), Ev::End]);
}

#[test]
fn synack_first_decides_client_and_its_stream_start() {
    let mut h = Harness::new();
    h.feed(&tcp(S, C, 9000, 501, SYN | ACK, b""));
    // Client data out of order: offsets are known from the SYN-ACK's ACK number.
    h.feed(&tcp(C, S, 504, 9001, ACK, b"def"));
    h.feed(&tcp(C, S, 501, 9001, ACK, b"abc"));
    h.finish();
    let f = h.rec.info(1);
    assert_eq!(f.client, addr(C));
    assert_eq!(f.client_by, ClientBy::Syn);
    assert!(!f.flags.midstream);
    assert_eq!(
        h.rec.chunks(1, TS),
        vec![Ev::Data(0, b"abc".to_vec()), Ev::Data(3, b"def".to_vec()), Ev::End]
    );
}

#[test]
fn missing_syn_ack_server_stream_from_final_ack() {
    let mut h = Harness::new();
    h.feed(&tcp(C, S, 10, 0, SYN, b""));
    h.feed(&tcp(C, S, 11, 701, ACK, b""));
    h.feed(&tcp(S, C, 704, 11, ACK, b"lo"));
    h.feed(&tcp(S, C, 701, 11, ACK, b"hel"));
    assert_eq!(h.rec.bytes(1, TC), b"hello");
    h.finish();
    assert!(!h.rec.info(1).flags.midstream);
}

#[test]
fn missing_segment_gap_on_ack() {
    let mut h = Harness::new();
    h.handshake(0, 0);
    h.feed(&tcp(C, S, 1, 1, ACK, b"0123456789"));
    // [10, 20) never captured.
    h.feed(&tcp(C, S, 21, 1, ACK, b"klmnopqrst"));
    assert_eq!(h.rec.gaps(1, TS), vec![]);
    // The server acknowledged everything up to 30: [10, 20) is lost for good.
    let ack_frame = h.feed(&tcp(S, C, 1, 31, ACK, b""));
    h.feed(&tcp(C, S, 31, 1, ACK, b"after"));
    assert_eq!(
        h.rec.metas(1, TS),
        vec![
            (Ev::Data(0, b"0123456789".to_vec()), 4),
            (Ev::Gap(10, 10), ack_frame),
            (Ev::Data(20, b"klmnopqrst".to_vec()), ack_frame),
            (Ev::Data(30, b"after".to_vec()), ack_frame + 1),
        ]
    );
    let st = h.table.stats();
    assert_eq!((st.gaps, st.gap_bytes), (1, 10));
    h.finish();
    assert!(h.rec.info(1).flags.gap);
}

#[test]
fn ack_without_buffered_data_waits_for_late_segment() {
    let mut h = Harness::new();
    h.handshake(0, 0);
    // The ACK arrives before the data it covers (capture reordering): no gap yet.
    h.feed(&tcp(S, C, 1, 6, ACK, b""));
    h.feed(&tcp(C, S, 1, 1, ACK, b"hello"));
    assert_eq!(h.rec.chunks(1, TS), vec![Ev::Data(0, b"hello".to_vec())]);
}

#[test]
fn ack_covering_part_of_a_hole_declares_only_that_part() {
    let mut h = Harness::new();
    h.handshake(0, 0);
    h.feed(&tcp(C, S, 21, 1, ACK, b"later"));
    h.feed(&tcp(S, C, 1, 11, ACK, b""));
    assert_eq!(h.rec.chunks(1, TS), vec![Ev::Gap(0, 10)]);
    h.feed(&tcp(C, S, 11, 1, ACK, b"0123456789"));
    assert_eq!(
        h.rec.chunks(1, TS),
        vec![Ev::Gap(0, 10), Ev::Data(10, b"0123456789".to_vec()), Ev::Data(20, b"later".to_vec())]
    );
}

#[test]
fn fin_after_hole_waits_then_ack_of_fin_closes_with_gap() {
    let mut h = Harness::new();
    h.handshake(0, 0);
    h.feed(&tcp(C, S, 1, 1, ACK, b"abc"));
    h.feed(&tcp(C, S, 7, 1, ACK | FIN, b"ghi"));
    assert!(!h.rec.has_end(1, TS));
    // The retransmission fills the hole: no gap.
    h.feed(&tcp(C, S, 4, 1, ACK, b"def"));
    assert_eq!(h.rec.bytes(1, TS), b"abcdefghi");
    assert!(h.rec.has_end(1, TS));

    let mut h = Harness::new();
    h.handshake(0, 0);
    h.feed(&tcp(C, S, 1, 1, ACK, b"abc"));
    h.feed(&tcp(C, S, 7, 1, ACK | FIN, b""));
    h.feed(&tcp(S, C, 1, 8, ACK | FIN, b""));
    assert_eq!(h.rec.chunks(1, TS), vec![Ev::Data(0, b"abc".to_vec()), Ev::Gap(3, 3), Ev::End]);
    assert!(h.rec.ended.is_empty());
    h.finish();
    assert_eq!(h.rec.ended.len(), 1);
}

#[test]
fn snaplen_cut_segment_delivers_captured_part_then_gap() {
    let mut h = Harness::new();
    h.handshake(0, 0);
    let mut p = tcp(C, S, 1, 1, ACK, b"12345");
    if let wire::Transport::Tcp(t) = &mut p.transport {
        t.wire_payload_len = 10;
    }
    h.feed(&p);
    h.feed(&tcp(C, S, 11, 1, ACK, b"next"));
    // An out-of-order cut segment keeps its cut part as a gap too.
    let mut p = tcp(C, S, 20, 1, ACK, b"ab");
    if let wire::Transport::Tcp(t) = &mut p.transport {
        t.wire_payload_len = 4;
    }
    h.feed(&p);
    h.feed(&tcp(C, S, 15, 1, ACK, b"01234"));
    h.feed(&tcp(C, S, 24, 1, ACK, b"z"));
    assert_eq!(
        h.rec.chunks(1, TS),
        vec![
            Ev::Data(0, b"12345".to_vec()),
            Ev::Gap(5, 5),
            Ev::Data(10, b"next".to_vec()),
            Ev::Data(14, b"01234".to_vec()),
            Ev::Data(19, b"ab".to_vec()),
            Ev::Gap(21, 2),
            Ev::Data(23, b"z".to_vec()),
        ]
    );
    assert_eq!(h.table.stats().snaplen_cut, 2);
}

#[test]
fn rst_flushes_and_ends_both_directions() {
    let mut h = Harness::new();
    h.handshake(0, 0);
    h.feed(&tcp(C, S, 1, 1, ACK, b"abc"));
    h.feed(&tcp(C, S, 10, 1, ACK, b"xyz"));
    let rst = h.feed(&tcp(S, C, 1, 0, RST, b"ignored"));
    h.feed(&tcp(C, S, 4, 1, ACK, b"late data"));
    h.finish();
    assert_eq!(h.rec.started.len(), 1);
    assert_eq!(
        h.rec.metas(1, TS),
        vec![
            (Ev::Data(0, b"abc".to_vec()), 4),
            (Ev::Gap(3, 6), rst),
            (Ev::Data(9, b"xyz".to_vec()), rst),
            (Ev::End, rst)
        ]
    );
    assert_eq!(h.rec.chunks(1, TC), vec![Ev::End]);
    let f = h.rec.info(1);
    assert_eq!(f.tcp_state, Some(TcpState::Reset));
    // The late packet after the RST is still counted: the flow ends with it.
    assert_eq!(h.rec.end_meta[&1].frame, rst + 1);
    assert_eq!(h.rec.info(1).packets[0], 5);
}

#[test]
fn tfo_data_on_syn_is_delivered() {
    let mut h = Harness::new();
    h.feed(&tcp(C, S, 50, 0, SYN, b"early"));
    h.feed(&tcp(S, C, 80, 56, SYN | ACK, b""));
    h.feed(&tcp(C, S, 56, 81, ACK, b"+more"));
    assert_eq!(h.rec.bytes(1, TS), b"early+more");
    // A retransmitted SYN with the same data is a retransmission, not a new flow.
    h.feed(&tcp(C, S, 50, 0, SYN, b"early"));
    h.finish();
    assert_eq!(h.rec.started.len(), 1);
    assert_eq!(h.table.stats().retransmissions, 1);
}

#[test]
fn ooo_segment_cap_forces_gap_and_flags_capped() {
    let limits = FlowLimits { max_ooo_segments_per_dir: 2, ..FlowLimits::default() };
    let mut h = Harness::with(limits);
    h.handshake(0, 0);
    h.feed(&tcp(C, S, 11, 1, ACK, b"bb")); // [10, 12)
    h.feed(&tcp(C, S, 21, 1, ACK, b"cc")); // [20, 22)
    h.feed(&tcp(C, S, 31, 1, ACK, b"dd")); // [30, 32): no room: hole [0, 10) becomes a gap
    assert_eq!(h.rec.chunks(1, TS), vec![Ev::Gap(0, 10), Ev::Data(10, b"bb".to_vec())]);
    assert_eq!(h.table.stats().ooo_capped, 1);
    h.finish();
    let f = h.rec.info(1);
    assert!(f.flags.capped && f.flags.gap);
    assert_eq!(
        h.rec.chunks(1, TS)[2..],
        [
            Ev::Gap(12, 8),
            Ev::Data(20, b"cc".to_vec()),
            Ev::Gap(22, 8),
            Ev::Data(30, b"dd".to_vec()),
            Ev::End
        ]
    );
}

#[test]
fn ooo_byte_caps_per_direction_and_total() {
    // A piece larger than the per-direction budget is delivered after a gap.
    let limits = FlowLimits { max_ooo_bytes_per_dir: 4, ..FlowLimits::default() };
    let mut h = Harness::with(limits);
    h.handshake(0, 0);
    h.feed(&tcp(C, S, 3, 1, ACK, b"ab"));
    h.feed(&tcp(C, S, 11, 1, ACK, b"too big"));
    assert_eq!(
        h.rec.chunks(1, TS),
        vec![
            Ev::Gap(0, 2),
            Ev::Data(2, b"ab".to_vec()),
            Ev::Gap(4, 6),
            Ev::Data(10, b"too big".to_vec())
        ]
    );
    assert_eq!(h.table.stats().ooo_capped, 1);

    // The global budget is shared: flow 2 cannot buffer once flow 1 holds it all.
    let limits = FlowLimits { max_ooo_bytes_total: 5, ..FlowLimits::default() };
    let mut h = Harness::with(limits);
    h.feed(&tcp(C, S, 0, 0, SYN, b""));
    h.feed(&tcp(C, S, 11, 0, ACK, b"12345"));
    h.feed(&tcp("10.0.0.2:50001", S, 0, 0, SYN, b""));
    h.feed(&tcp("10.0.0.2:50001", S, 11, 0, ACK, b"x"));
    assert_eq!(h.rec.chunks(1, TS), vec![]);
    assert_eq!(h.rec.chunks(2, TS), vec![Ev::Gap(0, 10), Ev::Data(10, b"x".to_vec())]);
    h.finish();
    assert!(!h.rec.info(1).flags.capped);
    assert!(h.rec.info(2).flags.capped);
}

#[test]
fn max_flows_evicts_least_recently_active() {
    let limits = FlowLimits { max_flows: 2, ..FlowLimits::default() };
    let mut h = Harness::with(limits);
    h.feed(&udp("10.0.0.2:40001", "8.8.8.8:53", b"q1"));
    h.feed(&udp("10.0.0.2:40002", "8.8.8.8:53", b"q2"));
    // Flow 1 active again: flow 2 is now the least recently active.
    h.feed(&udp("8.8.8.8:53", "10.0.0.2:40001", b"a1"));
    h.feed(&udp("10.0.0.2:40003", "8.8.8.8:53", b"q3"));
    assert_eq!(h.rec.ended.iter().map(|f| f.id).collect::<Vec<_>>(), vec![2]);
    assert_eq!(h.table.stats().evicted, 1);
    assert_eq!(h.table.len(), 2);
    // A TCP flow is flushed and ended properly on eviction.
    h.feed(&tcp(C, S, 0, 0, SYN, b""));
    h.feed(&tcp(C, S, 5, 0, ACK, b"ooo"));
    h.feed(&udp("10.0.0.2:40004", "8.8.8.8:53", b"q4"));
    h.feed(&udp("10.0.0.2:40005", "8.8.8.8:53", b"q5"));
    assert_eq!(h.rec.chunks(4, TS), vec![Ev::Gap(0, 4), Ev::Data(4, b"ooo".to_vec()), Ev::End]);
    h.finish();
    assert_eq!(h.table.stats().evicted, 4);
    assert_eq!(h.table.stats().flows, 6);
}

#[test]
fn idle_expiry_by_capture_time() {
    let mut h = Harness::new();
    let t0 = 1_000_000_000_000;
    h.feed_at(t0, &udp("10.0.0.2:40001", "8.8.8.8:53", b"q"));
    h.feed_at(t0 + 1, &tcp(C, S, 0, 0, SYN, b""));
    // 60 s later: not yet (must pass the deadline).
    h.feed_at(t0 + 60_000_000_000, &udp("10.0.0.2:40002", "8.8.8.8:53", b"q"));
    assert!(h.rec.ended.is_empty());
    h.feed_at(t0 + 60_000_000_001, &udp("10.0.0.2:40002", "8.8.8.8:53", b"q"));
    assert_eq!(h.rec.ended.iter().map(|f| f.id).collect::<Vec<_>>(), vec![1]);
    assert_eq!(h.rec.end_meta[&1].frame, 1);
    // TCP idles out after 5 minutes, with both directions ended.
    h.feed_at(t0 + 301_000_000_000, &udp("10.0.0.3:40003", "8.8.8.8:53", b"q"));
    assert!(h.rec.ended.iter().any(|f| f.id == 2));
    assert!(h.rec.has_end(2, TS) && h.rec.has_end(2, TC));
    assert_eq!(h.table.stats().expired, 3);
    h.finish();
}

#[test]
fn closed_flow_with_hole_expires_after_closed_idle() {
    let mut h = Harness::new();
    let t0 = 1_000_000_000_000;
    h.feed_at(t0, &tcp(C, S, 0, 0, SYN, b""));
    h.feed_at(t0, &tcp(S, C, 0, 1, SYN | ACK, b""));
    h.feed_at(t0, &tcp(C, S, 5, 1, ACK | FIN, b"late"));
    h.feed_at(t0, &tcp(S, C, 1, 1, ACK | FIN, b""));
    assert!(h.rec.ended.is_empty());
    h.feed_at(t0 + 10_000_000_001, &udp("10.0.0.2:40001", "8.8.8.8:53", b"q"));
    assert_eq!(h.rec.ended.len(), 1);
    assert_eq!(h.rec.chunks(1, TS), vec![Ev::Gap(0, 4), Ev::Data(4, b"late".to_vec()), Ev::End]);
    h.finish();
}

#[test]
fn port_reuse_after_close_starts_new_flow() {
    let mut h = Harness::new();
    h.handshake(100, 200);
    h.feed(&tcp(C, S, 101, 201, ACK | FIN, b""));
    h.feed(&tcp(S, C, 201, 102, ACK | FIN, b""));
    assert!(h.rec.has_end(1, TS) && h.rec.has_end(1, TC));
    // A retransmitted SYN of the old connection is absorbed.
    h.feed(&tcp(C, S, 100, 0, SYN, b""));
    assert_eq!(h.rec.started.len(), 1);
    // A new ISN: new connection on the same 5-tuple.
    h.handshake(9000, 300);
    h.feed(&tcp(C, S, 9001, 301, ACK, b"again"));
    h.finish();
    assert_eq!(h.rec.started.len(), 2);
    assert_eq!(h.rec.bytes(2, TS), b"again");
    assert_eq!(h.rec.info(2).client_by, ClientBy::Syn);

    // Same after RST, and a new SYN on an established flow also restarts.
    let mut h = Harness::new();
    h.handshake(1, 1);
    h.feed(&tcp(S, C, 2, 2, RST, b""));
    h.handshake(500, 600);
    h.feed(&tcp(C, S, 501, 601, ACK, b"x"));
    h.handshake(700, 800);
    h.finish();
    assert_eq!(h.rec.started.len(), 3);
    assert_eq!(h.rec.chunks(2, TS), vec![Ev::Data(0, b"x".to_vec()), Ev::End]);
}

#[test]
fn udp_datagrams_and_client_by_port() {
    let mut h = Harness::new();
    h.feed(&udp("8.8.8.8:53", "10.0.0.2:40001", b"answer first"));
    h.feed(&udp("10.0.0.2:40001", "8.8.8.8:53", b"query"));
    h.feed(&udp("10.0.0.2:5353", "224.0.0.251:5353", b"mdns"));
    h.feed(&udp("10.0.0.2:3000", "10.0.0.9:8443", b"alt https"));
    h.feed(&udp("10.0.0.2:20000", "10.0.0.9:30000", b"p2p"));
    let other = Packet {
        src: "10.0.0.2".parse::<IpAddr>().unwrap(),
        dst: "10.0.0.1".parse::<IpAddr>().unwrap(),
        ip_len: 84,
        reassembled: false,
        transport: wire::Transport::Other { protocol: 1 },
    };
    h.feed(&other);
    h.finish();
    let f = h.rec.info(1);
    assert_eq!((f.client, f.client_by), (addr("10.0.0.2:40001"), ClientBy::PortHeuristic));
    assert_eq!(f.packets, [1, 1]);
    assert_eq!(f.payload_bytes, [5, 12]);
    assert_eq!(f.tcp_state, None);
    assert_eq!(h.rec.chunks(1, TC), vec![Ev::Datagram(b"answer first".to_vec())]);
    assert_eq!(h.rec.chunks(1, TS), vec![Ev::Datagram(b"query".to_vec())]);
    let mdns = h.rec.info(2);
    assert_eq!((mdns.client, mdns.client_by), (addr("10.0.0.2:5353"), ClientBy::PortHeuristic));
    assert_eq!(h.rec.info(3).client, addr("10.0.0.2:3000"));
    assert_eq!(h.rec.info(4).client, addr("10.0.0.9:30000"));
    let o = h.rec.info(5);
    assert_eq!((o.transport, o.client_by), (Transport::Other(1), ClientBy::FirstPacket));
    assert_eq!(o.client.port(), 0);
}

#[test]
fn ipv6_flows_and_families_are_distinct() {
    let mut h = Harness::new();
    h.feed(&udp("[2001:db8::1]:40000", "[2001:db8::53]:53", b"q6"));
    h.feed(&udp("[2001:db8::53]:53", "[2001:db8::1]:40000", b"a6"));
    h.feed(&udp("10.0.0.2:40000", "10.0.0.53:53", b"q4"));
    h.feed(&udp("[::a00:2]:40000", "[::a00:35]:53", b"compat"));
    h.finish();
    assert_eq!(h.rec.started.len(), 3);
    assert_eq!(h.rec.info(1).packets, [1, 1]);
}

#[test]
fn finish_ends_flows_in_id_order_and_flushes() {
    let mut h = Harness::new();
    h.feed(&udp("10.0.0.2:40001", "8.8.8.8:53", b"q"));
    h.feed(&tcp(C, S, 0, 0, SYN, b""));
    h.feed(&tcp(C, S, 4, 0, ACK, b"tail"));
    h.feed(&udp("10.0.0.2:40002", "8.8.8.8:53", b"q"));
    h.feed(&udp("10.0.0.2:40001", "8.8.8.8:53", b"q"));
    h.finish();
    assert_eq!(h.rec.ended.iter().map(|f| f.id).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(h.rec.chunks(2, TS), vec![Ev::Gap(0, 3), Ev::Data(3, b"tail".to_vec()), Ev::End]);
    assert!(h.table.is_empty());
    // Fed again, ids keep counting.
    h.feed(&udp("10.0.0.2:40001", "8.8.8.8:53", b"q"));
    h.finish();
    assert_eq!(h.rec.ended.last().map(|f| f.id), Some(4));
}

/// Tiny deterministic PRNG (xorshift64*), enough for property tests without extra dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Random segmentations of a known stream with reordering, duplicates, overlaps, losses, cuts and
/// ACKs, under random small limits: the sink's invariants hold (checked in `Rec`), every delivered
/// byte is the stream's byte at that offset, and without loss the whole stream arrives.
#[test]
fn random_segment_sequences_keep_invariants() {
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    for round in 0..600 {
        let len = 1 + rng.below(400) as usize;
        let stream: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let isn = if round % 3 == 0 { u32::MAX - rng.below(300) as u32 } else { rng.next() as u32 };
        let lossy = round % 2 == 1;
        let limits = FlowLimits {
            max_flows: 1 + rng.below(3) as usize,
            max_ooo_bytes_per_dir: rng.below(300) as usize,
            max_ooo_segments_per_dir: rng.below(8) as usize,
            max_ooo_bytes_total: if rng.below(2) == 0 {
                usize::MAX
            } else {
                rng.below(500) as usize
            },
            ..FlowLimits::default()
        };
        let mut h = Harness::with(limits);
        let handshake = rng.below(4) != 0;
        if handshake {
            h.handshake(isn.wrapping_sub(1), 1);
        }
        // Segments covering the stream, plus extra random overlapping copies.
        let mut segs = Vec::new();
        let mut a = 0;
        while a < len {
            let b = (a + 1 + rng.below(40) as usize).min(len);
            segs.push((a, b));
            a = b;
        }
        for _ in 0..rng.below(6) {
            let x = rng.below(len as u64) as usize;
            let y = (x + 1 + rng.below(60) as usize).min(len);
            segs.push((x, y));
        }
        // Shuffle locally (bounded displacement), sometimes fully.
        for i in 0..segs.len() {
            let span = if round % 5 == 0 { segs.len() } else { 4 };
            let j = (i + rng.below(span as u64) as usize).min(segs.len() - 1);
            segs.swap(i, j);
        }
        // Stream offset 0 is the first byte after the SYN, or the first byte seen.
        let origin = if handshake { 0 } else { segs[0].0 };
        let mut seen = vec![false; len];
        let mut cut = false;
        for (k, &(a, b)) in segs.iter().enumerate() {
            // Never drop the first segment of a mid-stream pick-up (it fixes the origin).
            if lossy && k > 0 && rng.below(8) == 0 {
                continue;
            }
            let seq = isn.wrapping_add(a as u32);
            let mut p = tcp(C, S, seq, 2, ACK, &stream[a..b]);
            if lossy && rng.below(10) == 0 {
                if let wire::Transport::Tcp(t) = &mut p.transport {
                    t.payload = &stream[a..a + (b - a) / 2];
                }
                cut = true;
            }
            h.feed(&p);
            seen[a..b].iter_mut().for_each(|x| *x = true);
            if rng.below(4) == 0 {
                // Lossy rounds acknowledge anything; others only what was seen contiguously.
                let prefix = seen.iter().position(|x| !x).unwrap_or(len);
                let limit = if lossy { len + 2 } else { prefix + 1 };
                let acked = rng.below(limit as u64) as u32;
                h.feed(&tcp(S, C, 2, isn.wrapping_add(acked), ACK, b""));
            }
        }
        if rng.below(2) == 0 {
            h.feed(&tcp(C, S, isn.wrapping_add(len as u32), 2, ACK | FIN, b""));
        }
        if rng.below(3) == 0 {
            h.feed(&tcp(S, C, 2, isn.wrapping_add(len as u32 + 1), ACK | FIN, b""));
        }
        h.finish();
        // Every delivered byte is the stream's byte at that offset (first data wins, and all
        // copies carry the same bytes here).
        let mut total = 0;
        let mut gaps = 0;
        for id in 1..=h.rec.started.len() as u64 {
            for c in h.rec.chunks(id, TS) {
                match c {
                    Ev::Data(o, b) => {
                        let o = o as usize + origin;
                        assert_eq!(&stream[o..o + b.len()], &b[..], "round {round}");
                        total += b.len();
                    }
                    Ev::Gap(..) => gaps += 1,
                    _ => {}
                }
            }
        }
        let capped = h.table.stats().ooo_capped > 0;
        let evicted = h.table.stats().evicted > 0;
        if !lossy && !cut && !capped && !evicted {
            assert_eq!(total, len - origin, "round {round}: whole stream expected");
            assert_eq!(gaps, 0, "round {round}");
        }
    }
}

/// Two interleaved flows and random garbage flags and numbers never break the invariants.
#[test]
fn random_garbage_never_panics() {
    let mut rng = Rng(42);
    let flags = [SYN, SYN | ACK, ACK, ACK | FIN, RST, ACK | PSH, FIN, RST | ACK, 0, 0xFF];
    for _ in 0..200 {
        let limits = FlowLimits {
            max_flows: 1 + rng.below(2) as usize,
            max_ooo_bytes_per_dir: rng.below(64) as usize,
            max_ooo_segments_per_dir: rng.below(4) as usize,
            max_ooo_bytes_total: rng.below(128) as usize,
            tcp_idle_ns: rng.below(50) as i64 * 1_000_000,
            tcp_closed_idle_ns: rng.below(10) as i64 * 1_000_000,
            udp_idle_ns: rng.below(20) as i64 * 1_000_000,
        };
        let mut h = Harness::with(limits);
        let buf = [7u8; 64];
        let mut seqs = [rng.next() as u32, rng.next() as u32];
        for _ in 0..rng.below(80) {
            let client = ["10.0.0.2:50000", "10.0.0.2:50001"][rng.below(2) as usize];
            let d = rng.below(2) as usize;
            let n = rng.below(20) as usize;
            seqs[d] = seqs[d].wrapping_add(rng.below(40) as u32).wrapping_sub(15);
            let f = flags[rng.below(flags.len() as u64) as usize];
            let ack = seqs[1 - d].wrapping_add(rng.below(60) as u32);
            let mut p = if d == 0 {
                tcp(client, S, seqs[d], ack, f, &buf[..n])
            } else {
                tcp(S, client, seqs[d], ack, f, &buf[..n])
            };
            if rng.below(6) == 0
                && let wire::Transport::Tcp(t) = &mut p.transport
            {
                t.wire_payload_len = n as u32 + rng.below(100) as u32;
            }
            if rng.below(10) == 0 {
                p = udp(client, S, &buf[..n]);
            }
            let ts = h.ts + rng.below(5_000_000) as i64 - 1_000_000;
            h.feed_at(ts, &p);
        }
        h.finish();
    }
}

#[test]
fn multicast_or_broadcast_destination_is_the_server() {
    let mut h = Harness::new();
    // DHCPv6 solicit: client port 546 sends to the All_DHCP_Relay_Agents_and_Servers group on 547.
    h.feed(&udp("[fe80::4e6a:f6ff:fe9f:f627]:546", "[ff02::1:2]:547", b"solicit"));
    // DHCP discover: 0.0.0.0:68 broadcast to 67; SSDP: 1900 on both sides via a multicast group.
    h.feed(&udp("0.0.0.0:68", "255.255.255.255:67", b"discover"));
    h.feed(&udp("192.168.2.1:1900", "239.255.255.250:1900", b"notify"));
    h.finish();
    assert_eq!(h.rec.info(1).client, "[fe80::4e6a:f6ff:fe9f:f627]:546".parse().unwrap());
    assert_eq!(h.rec.info(2).client, "0.0.0.0:68".parse().unwrap());
    assert_eq!(h.rec.info(3).client, "192.168.2.1:1900".parse().unwrap());
}
