//! The flow table: bidirectional 5-tuple lookup, client decision, TCP state, expiry and eviction.
//!
//! Contract:
//! - One entry per bidirectional 5-tuple (the key is normalised so both directions hit it), found
//!   with one hash lookup per packet (a seeded multiply-fold hasher: cheap, and the random seed keeps
//!   crafted captures from forcing collisions; map order is never observable).
//! - Flows live in a slab. Each flow is also on exactly one intrusive list per idle class (open TCP,
//!   closed TCP, UDP/other, ended TCP), kept in order of last activity: a packet moves its flow to
//!   the tail in O(1), so each list head is both the next flow of its class to expire and a
//!   least-recently-active candidate. Expiry checks only list heads (amortised O(1) per packet, never
//!   a scan) and eviction compares at most three heads.
//! - Client decision, in order: the sender of a SYN without ACK; the receiver of a SYN-ACK; a known
//!   service port on exactly one side (below 1024, or one of `SERVICE_PORTS`) is the server;
//!   otherwise the higher port is the client; equal ports: the first sender.
//! - A TCP flow ends as soon as both directions delivered [`Chunk::End`](crate::Chunk::End) (both
//!   FINs reached) or on RST (both directions flushed and ended). Its entry then stays as an "ended"
//!   tombstone for `tcp_closed_idle_ns` so late ACKs and retransmissions are absorbed instead of
//!   opening a bogus mid-stream flow; a SYN with a new ISN on that key starts a new flow (port
//!   reuse). A SYN with a new ISN on an established flow also ends it and starts a new one.
//! - Chunks and `flow_end` caused by time (expiry), eviction, or [`FlowTable::finish`] carry the
//!   [`Meta`] of the flow's last packet.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::net::{IpAddr, SocketAddr};

use capture::Timestamp;
use wire::{TcpFlags, TcpSegment};

use crate::reassembly::{Out, Reassembler};
use crate::{
    ClientBy, Direction, FlowFlags, FlowId, FlowInfo, FlowLimits, FlowSink, FlowStats, Meta,
    TcpState, Transport,
};

/// Ports taken as the server side by the port heuristic, besides every port below 1024: DNS/mDNS/
/// LLMNR, HTTP(S) alternates, SSDP, STUN/TURN, IKE NAT-T, push services (Apple 5223, Google 5228),
/// MQTT, and a few common app ports.
pub(crate) const SERVICE_PORTS: &[u16] =
    &[1883, 1900, 3478, 3479, 4500, 5223, 5228, 5349, 5353, 5355, 8080, 8443, 8883, 19302];

/// Idle classes (index into `FlowTable::lists`).
const OPEN_TCP: usize = 0;
const CLOSED_TCP: usize = 1;
const DGRAM: usize = 2;
const ENDED: usize = 3;

/// "No slot" in the intrusive lists.
const NIL: u32 = u32::MAX;

/// Normalised bidirectional key: the (family, address, port) triple that sorts lower comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    lo: u128,
    hi: u128,
    lo_port: u16,
    hi_port: u16,
    /// 0x100 = TCP, 0x200 = UDP, else the IP protocol number.
    kind: u16,
    lo_v6: bool,
    hi_v6: bool,
}

fn addr_bits(ip: IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(a) => (false, u128::from(a.to_bits())),
        IpAddr::V6(a) => (true, a.to_bits()),
    }
}

impl Key {
    fn new(src: IpAddr, sport: u16, dst: IpAddr, dport: u16, kind: u16) -> Self {
        let (sv6, s) = addr_bits(src);
        let (dv6, d) = addr_bits(dst);
        let a = (sv6, s, sport);
        let b = (dv6, d, dport);
        let (l, h) = if a <= b { (a, b) } else { (b, a) };
        Self { lo: l.1, hi: h.1, lo_port: l.2, hi_port: h.2, kind, lo_v6: l.0, hi_v6: h.0 }
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.lo as u64);
        h.write_u64((self.lo >> 64) as u64);
        h.write_u64(self.hi as u64);
        h.write_u64((self.hi >> 64) as u64);
        h.write_u64(
            u64::from(self.lo_port)
                | u64::from(self.hi_port) << 16
                | u64::from(self.kind) << 32
                | u64::from(self.lo_v6) << 48
                | u64::from(self.hi_v6) << 49,
        );
    }
}

/// Multiply-fold hasher (the mixing step of foldhash/wyhash): a 64x64->128 multiply whose halves
/// are xored, so every input bit reaches every output bit.
#[derive(Debug, Clone, Copy)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(b));
        }
    }

    fn write_u64(&mut self, x: u64) {
        let p = u128::from(self.0 ^ x) * 0x9E37_79B9_7F4A_7C15;
        self.0 = (p as u64) ^ ((p >> 64) as u64);
    }
}

/// Builds [`KeyHasher`]s from one random seed per table.
#[derive(Debug, Clone, Copy)]
struct KeyHash(u64);

impl BuildHasher for KeyHash {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(self.0)
    }
}

/// One packet as the table sees it.
struct Seen<'p, 'a> {
    meta: Meta,
    packet: &'p wire::Packet<'a>,
    key: Key,
    sport: u16,
    dport: u16,
    tcp: Option<TcpSegment<'a>>,
}

/// Head and tail of one intrusive list (`NIL` when empty).
#[derive(Debug, Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

const EMPTY: List = List { head: NIL, tail: NIL };

/// One tracked flow.
#[derive(Debug)]
struct Flow {
    info: FlowInfo,
    key: Key,
    /// Reassembly per direction (`Direction::index`); unused for UDP and other transports.
    dirs: [Reassembler; 2],
    /// Frame number of the latest packet.
    last_frame: u64,
    /// Table time (monotonic maximum of capture times) of the latest packet.
    active_at: i64,
    /// Table packet count at the latest packet: total order of activity for eviction.
    tick: u64,
    /// Idle class, i.e. which list the flow is on.
    class: usize,
    prev: u32,
    next: u32,
}

impl Flow {
    fn dir_of(&self, src: IpAddr, sport: u16) -> Direction {
        if self.info.client.ip() == src && self.info.client.port() == sport {
            Direction::ToServer
        } else {
            Direction::ToClient
        }
    }

    fn both_ended(&self) -> bool {
        self.dirs[0].ended() && self.dirs[1].ended()
    }

    fn meta(&self) -> Meta {
        Meta { ts: self.info.last, frame: self.last_frame }
    }

    /// The idle class for the flow's current state.
    fn class_now(&self) -> usize {
        match self.info.tcp_state {
            None => DGRAM,
            // Both streams over (FINs or RST): the flow stays, closed, so the last ACKs and late
            // retransmissions still count, until `tcp_closed_idle_ns` passes or input ends.
            Some(TcpState::Closed | TcpState::Reset) => CLOSED_TCP,
            Some(_) if self.both_ended() => CLOSED_TCP,
            Some(_) => OPEN_TCP,
        }
    }
}

/// Bidirectional flow table with TCP reassembly.
///
/// Policies:
/// - **Client**: the sender of a SYN without ACK, else the receiver of a SYN-ACK
///   ([`ClientBy::Syn`]); else a service port (below 1024, or 1883, 1900, 3478, 3479, 4500, 5223,
///   5228, 5349, 5353, 5355, 8080, 8443, 8883, 19302) on exactly one side is the server, otherwise
///   the higher port is the client ([`ClientBy::PortHeuristic`]); equal ports: the first sender
///   ([`ClientBy::FirstPacket`]).
/// - **Stream offsets**: 0 is ISN + 1 of the SYN, or of the SYN-ACK's ACK number (SYN missed), or
///   of the handshake's final ACK (SYN-ACK missed); else the first data byte seen (mid-stream).
/// - **Overlaps: first data wins.** Bytes already delivered or buffered are kept; later copies
///   only add bytes nobody provided yet.
/// - **Gaps**: a hole becomes a [`Chunk::Gap`](crate::Chunk::Gap) when the peer's ACK covers it
///   and data or the FIN is known beyond it (up to that data, or to the ACK); when an
///   out-of-order limit is hit (earliest holes first); when a segment was cut by the snap length;
///   and when the stream is ended by RST, expiry, eviction or [`finish`](Self::finish) (holes
///   between buffered data, and up to a FIN seen beyond them).
/// - **End**: a TCP flow ends as soon as both directions reached their FIN (all data before it
///   delivered), or at once on RST; its key then absorbs late packets for `tcp_closed_idle_ns`.
///   A SYN with a new ISN on that key, or on an established flow, starts a new flow.
/// - **Expiry** by capture time: a flow idle for longer than its limit (`tcp_idle_ns`,
///   `tcp_closed_idle_ns` once both FINs were seen, `udp_idle_ns`) is ended when a later packet
///   arrives; checking costs O(1) per packet plus O(1) per expired flow.
/// - **Eviction**: beyond `max_flows`, the oldest ended TCP key is forgotten, else the least
///   recently active flow is ended (counted in `evicted`).
/// - [`Meta`] of chunks and `flow_end` caused by time, eviction or `finish` is that of the
///   flow's last packet.
#[derive(Debug)]
pub struct FlowTable {
    limits: FlowLimits,
    stats: FlowStats,
    map: HashMap<Key, u32, KeyHash>,
    slots: Vec<Option<Flow>>,
    free: Vec<u32>,
    lists: [List; 4],
    next_id: FlowId,
    /// Largest capture time seen (time never runs backwards for expiry).
    now: i64,
    /// Packets seen.
    tick: u64,
    /// Out-of-order bytes buffered across all flows.
    ooo_total: usize,
    /// The slot and id of the latest packet's flow (see [`FlowTable::last_flow`]).
    last: Option<(u32, FlowId)>,
}

impl FlowTable {
    /// A fresh flow id for a flow that does not come through the table (an HTTP exchange of an
    /// archive), so ids stay unique across a run.
    pub fn allocate_id(&mut self) -> FlowId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// An empty table with the given limits.
    pub fn new(limits: FlowLimits) -> Self {
        Self {
            limits,
            stats: FlowStats::default(),
            map: HashMap::with_hasher(KeyHash(RandomState::new().hash_one(0x5eed_u64))),
            slots: Vec::new(),
            free: Vec::new(),
            lists: [EMPTY; 4],
            next_id: 1,
            now: i64::MIN,
            tick: 0,
            ooo_total: 0,
            last: None,
        }
    }

    /// Feeds one decoded packet, in capture order.
    pub fn process(
        &mut self,
        ts: Timestamp,
        frame: u64,
        packet: &wire::Packet<'_>,
        sink: &mut impl FlowSink,
    ) {
        self.now = self.now.max(ts.0);
        self.tick += 1;
        self.last = None;
        self.expire(sink);
        let (kind, sport, dport, tcp) = match packet.transport {
            wire::Transport::Tcp(s) => (0x100, s.src_port, s.dst_port, Some(s)),
            wire::Transport::Udp { src_port, dst_port, .. } => (0x200, src_port, dst_port, None),
            wire::Transport::Other { protocol } => (u16::from(protocol), 0, 0, None),
        };
        let pkt = Seen {
            meta: Meta { ts, frame },
            packet,
            key: Key::new(packet.src, sport, packet.dst, dport, kind),
            sport,
            dport,
            tcp,
        };
        let existing = self.map.get(&pkt.key).copied().and_then(|idx| {
            let flow = self.slots[idx as usize].as_ref()?;
            Some((idx, flow.class == ENDED, tcp.is_some_and(|s| new_connection(flow, packet, &s))))
        });
        let (idx, new) = match existing {
            Some((idx, _, true)) => {
                // Port reuse: a SYN with a new ISN on this key.
                self.end_and_remove(idx, sink);
                (self.create(&pkt, sink), true)
            }
            // Late packet of an ended TCP flow: absorbed.
            Some((_, true, false)) => return,
            Some((idx, false, false)) => (idx, false),
            None => (self.create(&pkt, sink), true),
        };
        self.last = self.slots[idx as usize].as_ref().map(|f| (idx, f.info.id));
        self.update(idx, new, &pkt, sink);
    }

    /// The flow of the packet [`FlowTable::process`] took last, as it stands after it: `None`
    /// when that packet belonged to no flow (a late packet of an ended one) or ended and
    /// removed its flow. A gateway decides on a connection from it, packet by packet.
    pub fn last_flow(&self) -> Option<&FlowInfo> {
        let (idx, id) = self.last?;
        self.slots.get(idx as usize)?.as_ref().map(|f| &f.info).filter(|i| i.id == id)
    }

    /// End of all input: ends every open flow, in id order (buffered data is flushed with gaps,
    /// then `Chunk::End` per TCP direction, then `flow_end`). The table is empty afterwards; ids
    /// keep counting if it is fed again.
    pub fn finish(&mut self, ts: Timestamp, sink: &mut impl FlowSink) {
        self.now = self.now.max(ts.0);
        let mut open: Vec<(FlowId, u32)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.as_ref().filter(|f| f.class != ENDED).map(|f| (f.info.id, i as u32))
            })
            .collect();
        open.sort_unstable();
        for (_, idx) in open {
            self.end_flow(idx, sink);
        }
        self.map.clear();
        self.slots.clear();
        self.free.clear();
        self.lists = [EMPTY; 4];
        debug_assert_eq!(self.ooo_total, 0);
        self.ooo_total = 0;
    }

    /// Capture time moved on to `ts` without a packet (a live source's tick): flows idle past
    /// their limit end now rather than at the next packet. Feeding the packet that follows gives
    /// the same flows and order as without the tick, as long as `ts` is not later than it.
    pub fn advance(&mut self, ts: Timestamp, sink: &mut impl FlowSink) {
        self.now = self.now.max(ts.0);
        self.expire(sink);
    }

    /// The flows still open (not ended), in slot order (callers sort by id when order matters).
    pub fn open_flows(&self) -> impl Iterator<Item = &FlowInfo> {
        self.slots.iter().filter_map(|s| s.as_ref().filter(|f| f.class != ENDED).map(|f| &f.info))
    }

    /// Counters so far.
    pub fn stats(&self) -> &FlowStats {
        &self.stats
    }

    /// Flows tracked now (open ones and ended TCP tombstones).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if no flow is tracked.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn flow_mut(&mut self, idx: u32) -> &mut Flow {
        self.slots[idx as usize].as_mut().expect("flow table: list or map points at a free slot")
    }

    fn idle(&self, class: usize) -> i64 {
        match class {
            OPEN_TCP => self.limits.tcp_idle_ns,
            DGRAM => self.limits.udp_idle_ns,
            _ => self.limits.tcp_closed_idle_ns,
        }
    }

    /// Ends (or, for tombstones, forgets) every flow whose idle deadline `now` has passed.
    fn expire(&mut self, sink: &mut impl FlowSink) {
        for class in [OPEN_TCP, CLOSED_TCP, DGRAM, ENDED] {
            let idle = self.idle(class);
            loop {
                let head = self.lists[class].head;
                if head == NIL || self.flow_mut(head).active_at.saturating_add(idle) >= self.now {
                    break;
                }
                if class == ENDED {
                    self.remove(head);
                } else {
                    // A closed flow whose streams both ended simply finished; only flows cut off
                    // while open count as expired.
                    if !self.flow_mut(head).both_ended() {
                        self.stats.expired += 1;
                    }
                    self.end_and_remove(head, sink);
                }
            }
        }
    }

    /// Makes room for one flow: forgets the oldest tombstone, else ends the least recently active
    /// flow.
    fn evict(&mut self, sink: &mut impl FlowSink) {
        let tomb = self.lists[ENDED].head;
        if tomb != NIL {
            self.remove(tomb);
            return;
        }
        let mut victim = NIL;
        let mut oldest = u64::MAX;
        for class in [OPEN_TCP, CLOSED_TCP, DGRAM] {
            let head = self.lists[class].head;
            if head != NIL {
                let tick = self.flow_mut(head).tick;
                if tick < oldest {
                    oldest = tick;
                    victim = head;
                }
            }
        }
        if victim != NIL {
            self.stats.evicted += 1;
            self.end_and_remove(victim, sink);
        }
    }

    /// Creates the flow for the first packet on `key` (counters are filled in by `update`).
    fn create(&mut self, pkt: &Seen<'_, '_>, sink: &mut impl FlowSink) -> u32 {
        let Seen { meta: Meta { ts, .. }, packet, key, sport, dport, .. } = *pkt;
        let tcp = pkt.tcp.as_ref();
        while self.map.len() >= self.limits.max_flows.clamp(1, NIL as usize - 1) {
            let before = self.map.len();
            self.evict(sink);
            if self.map.len() == before {
                break;
            }
        }
        let (client_is_src, client_by) = decide_client(packet.dst, sport, dport, tcp);
        let src = SocketAddr::new(packet.src, sport);
        let dst = SocketAddr::new(packet.dst, dport);
        let (client, server) = if client_is_src { (src, dst) } else { (dst, src) };
        let transport = match packet.transport {
            wire::Transport::Tcp(_) => Transport::Tcp,
            wire::Transport::Udp { .. } => Transport::Udp,
            wire::Transport::Other { protocol } => Transport::Other(protocol),
        };
        let tcp_state = tcp.map(|s| {
            let f = s.flags;
            if f.has(TcpFlags::SYN | TcpFlags::ACK) {
                TcpState::SynReceived
            } else if f.has(TcpFlags::SYN) {
                TcpState::SynSent
            } else {
                TcpState::Established
            }
        });
        let id = self.next_id;
        self.next_id += 1;
        self.stats.flows += 1;
        let flow = Flow {
            info: FlowInfo {
                tcp_state,
                // The handshake was not seen if the flow does not start with a SYN.
                flags: FlowFlags {
                    midstream: tcp.is_some_and(|s| !s.flags.has(TcpFlags::SYN)),
                    ..FlowFlags::default()
                },
                ..FlowInfo::new(id, transport, client, server, client_by, ts)
            },
            key,
            dirs: Default::default(),
            last_frame: 0,
            active_at: self.now,
            tick: self.tick,
            class: if tcp.is_some() { OPEN_TCP } else { DGRAM },
            prev: NIL,
            next: NIL,
        };
        let idx = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(flow);
                i
            }
            None => {
                self.slots.push(Some(flow));
                (self.slots.len() - 1) as u32
            }
        };
        self.map.insert(key, idx);
        let class = self.flow_mut(idx).class;
        self.link_tail(idx, class);
        idx
    }

    /// Accounts one packet to flow `idx` and hands on what it makes deliverable.
    fn update(&mut self, idx: u32, new: bool, pkt: &Seen<'_, '_>, sink: &mut impl FlowSink) {
        let Seen { meta, packet, sport, .. } = *pkt;
        let (now, tick) = (self.now, self.tick);
        let Self { slots, stats, ooo_total, limits, .. } = self;
        let Some(flow) = slots[idx as usize].as_mut() else { return };
        let dir = flow.dir_of(packet.src, sport);
        let d = dir.index();
        flow.info.packets[d] += 1;
        flow.info.bytes[d] += u64::from(packet.ip_len);
        flow.info.last = meta.ts;
        flow.last_frame = meta.frame;
        flow.active_at = now;
        flow.tick = tick;
        if new {
            sink.flow_start(&flow.info, meta);
        }
        match packet.transport {
            wire::Transport::Tcp(seg) => {
                let mut out =
                    Out { info: &mut flow.info, sink, stats, ooo_total, limits, meta, dir };
                tcp_segment(&mut flow.dirs, dir, &seg, &mut out);
            }
            wire::Transport::Udp { payload, .. } => {
                flow.info.payload_bytes[d] += payload.len() as u64;
                sink.data(&flow.info, dir, crate::Chunk::Datagram(payload), meta);
            }
            wire::Transport::Other { .. } => {}
        }
        let class = flow.class_now();
        if class == ENDED {
            sink.flow_end(&flow.info, meta);
        }
        // Move to the tail of the (possibly new) class list: most recently active.
        let old = flow.class;
        if old != class || self.lists[class].tail != idx {
            self.unlink(idx, old);
            self.link_tail(idx, class);
        }
    }

    /// Flushes and ends flow `idx` (both TCP directions, then `flow_end`), without removing it.
    fn end_flow(&mut self, idx: u32, sink: &mut impl FlowSink) {
        let Self { slots, stats, ooo_total, limits, .. } = self;
        let Some(flow) = slots[idx as usize].as_mut() else { return };
        let meta = flow.meta();
        if flow.info.tcp_state.is_some() {
            for dir in [Direction::ToServer, Direction::ToClient] {
                let mut out =
                    Out { info: &mut flow.info, sink, stats, ooo_total, limits, meta, dir };
                flow.dirs[dir.index()].close(&mut out);
            }
        }
        sink.flow_end(&flow.info, meta);
    }

    fn end_and_remove(&mut self, idx: u32, sink: &mut impl FlowSink) {
        let ended = self.flow_mut(idx).class == ENDED;
        if !ended {
            self.end_flow(idx, sink);
        }
        self.remove(idx);
    }

    /// Forgets flow `idx` (already ended).
    fn remove(&mut self, idx: u32) {
        let class = self.flow_mut(idx).class;
        self.unlink(idx, class);
        if let Some(flow) = self.slots[idx as usize].take() {
            self.map.remove(&flow.key);
            self.free.push(idx);
        }
    }

    fn unlink(&mut self, idx: u32, class: usize) {
        let (prev, next) = {
            let f = self.flow_mut(idx);
            let links = (f.prev, f.next);
            f.prev = NIL;
            f.next = NIL;
            links
        };
        if prev == NIL {
            self.lists[class].head = next;
        } else {
            self.flow_mut(prev).next = next;
        }
        if next == NIL {
            self.lists[class].tail = prev;
        } else {
            self.flow_mut(next).prev = prev;
        }
    }

    fn link_tail(&mut self, idx: u32, class: usize) {
        let tail = self.lists[class].tail;
        {
            let f = self.flow_mut(idx);
            f.class = class;
            f.prev = tail;
            f.next = NIL;
        }
        if tail == NIL {
            self.lists[class].head = idx;
        } else {
            self.flow_mut(tail).next = idx;
        }
        self.lists[class].tail = idx;
    }
}

/// True if `seg` is a SYN opening a new connection on the key of `flow` (port reuse): a SYN whose
/// ISN is not the one that opened the sender's stream, on a flow past its handshake.
fn new_connection(flow: &Flow, packet: &wire::Packet<'_>, seg: &TcpSegment<'_>) -> bool {
    if !seg.flags.has(TcpFlags::SYN) || seg.flags.has(TcpFlags::RST) {
        return false;
    }
    let dir = flow.dir_of(packet.src, seg.src_port);
    if flow.dirs[dir.index()].same_syn(seg.seq) {
        return false;
    }
    if flow.class == ENDED || flow.both_ended() {
        return true;
    }
    // On a live flow only a plain SYN restarts, and only once the handshake is over (a SYN seen
    // during the handshake is a retransmission or a simultaneous open).
    !seg.flags.has(TcpFlags::ACK)
        && matches!(
            flow.info.tcp_state,
            Some(TcpState::Established | TcpState::Closing | TcpState::Closed)
        )
}

/// Decides which side is the client from the first packet. Returns (client is the sender, how).
/// A multicast or broadcast destination is always the server side: no one connects *from* it.
fn decide_client(
    dst: std::net::IpAddr,
    sport: u16,
    dport: u16,
    tcp: Option<&TcpSegment<'_>>,
) -> (bool, ClientBy) {
    if let Some(s) = tcp
        && s.flags.has(TcpFlags::SYN)
        && !s.flags.has(TcpFlags::RST)
    {
        return (!s.flags.has(TcpFlags::ACK), ClientBy::Syn);
    }
    let group = match dst {
        std::net::IpAddr::V4(a) => a.is_multicast() || a.is_broadcast() || a.octets()[3] == 255,
        std::net::IpAddr::V6(a) => a.is_multicast(),
    };
    if group {
        return (true, ClientBy::PortHeuristic);
    }
    if sport == dport {
        return (true, ClientBy::FirstPacket);
    }
    let service = |p: u16| p < 1024 || SERVICE_PORTS.contains(&p);
    let client_is_src = match (service(sport), service(dport)) {
        (true, false) => false,
        (false, true) => true,
        _ => sport > dport,
    };
    (client_is_src, ClientBy::PortHeuristic)
}

/// TCP state machine and reassembly for one segment sent in direction `dir`.
fn tcp_segment<S: FlowSink>(
    dirs: &mut [Reassembler; 2],
    dir: Direction,
    seg: &TcpSegment<'_>,
    out: &mut Out<'_, S>,
) {
    let (d, o) = (dir.index(), 1 - dir.index());
    let other = match dir {
        Direction::ToServer => Direction::ToClient,
        Direction::ToClient => Direction::ToServer,
    };
    let f = seg.flags;
    let (syn, ack, fin) = (f.has(TcpFlags::SYN), f.has(TcpFlags::ACK), f.has(TcpFlags::FIN));
    let state = out.info.tcp_state.unwrap_or(TcpState::Established);
    if f.has(TcpFlags::RST) {
        // Both streams end now; whatever the RST carries is not stream data.
        out.info.tcp_state = Some(TcpState::Reset);
        for dir in [Direction::ToServer, Direction::ToClient] {
            out.dir = dir;
            dirs[dir.index()].close(out);
        }
        return;
    }
    if syn {
        dirs[d].init(seg.seq.wrapping_add(1));
        if ack {
            // SYN-ACK: its ACK is the client's ISN + 1, even if the SYN was not captured.
            dirs[o].init(seg.ack);
            if state == TcpState::SynSent {
                out.info.tcp_state = Some(TcpState::SynReceived);
            }
        }
    } else if matches!(state, TcpState::SynSent | TcpState::SynReceived) {
        if ack && state == TcpState::SynSent {
            // SYN-ACK not captured: the handshake's final ACK carries the server's ISN + 1.
            dirs[o].init(seg.ack);
        }
        if ack || !seg.payload.is_empty() {
            out.info.tcp_state = Some(TcpState::Established);
        }
    }
    out.dir = dir;
    if dirs[d].segment(seg.seq, seg.payload, seg.wire_payload_len, syn, fin, out) {
        out.info.flags.midstream = true;
    }
    if fin {
        let closed = dirs[o].fin_seen() || out.info.tcp_state == Some(TcpState::Closed);
        out.info.tcp_state = Some(if closed { TcpState::Closed } else { TcpState::Closing });
    }
    if ack {
        out.dir = other;
        dirs[o].ack(seg.ack, out);
    }
}
