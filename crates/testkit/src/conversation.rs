//! Conversation builders: the main tool for tests.
//!
//! A [`TcpConversation`] keeps the sequence / acknowledgment bookkeeping of both sides while you
//! describe what happens (`handshake`, `client_sends`, `server_sends`, `fin`...). Each call
//! appends [`Segment`]s to a list, each stamped with the current time, which then advances by a
//! fixed step. The list can then be edited the way a capture would show it: [`reorder`],
//! [`retransmit`], [`drop_segment`] (a capture gap: later acks still cover the dropped bytes),
//! [`fragment`] at the IP layer. [`frames`] turns the list into link-layer frames for either
//! writer. A [`UdpConversation`] does the same for datagrams.
//!
//! Index arguments refer to the current segment list (see [`len`] before a call to know the
//! indices it will create).
//!
//! [`reorder`]: TcpConversation::reorder
//! [`retransmit`]: TcpConversation::retransmit
//! [`drop_segment`]: TcpConversation::drop_segment
//! [`fragment`]: TcpConversation::fragment
//! [`frames`]: TcpConversation::frames
//! [`len`]: TcpConversation::len
//!
//! ```
//! use testkit::{Conversation, Link};
//! let mut c = Conversation::tcp("10.0.0.2:40000".parse().unwrap(), "10.0.0.1:80".parse().unwrap())
//!     .link(Link::vlan(7));
//! c.handshake().client_sends(b"GET / HTTP/1.1\r\n\r\n").server_sends(b"HTTP/1.1 204 No Content\r\n\r\n");
//! c.fin();
//! assert_eq!(c.len(), 3 + 2 + 3);
//! assert_eq!(c.segments()[3].seq, 1001); // client ISN 1000, +1 for the SYN
//! let frames = c.frames();
//! assert_eq!(frames.len(), 8);
//! ```

use std::io;
use std::net::SocketAddr;

use crate::packet::{
    self, IpHeader, Link, TcpFlags, TcpHeader, UdpHeader, ethertype, ethertype_of, tcp_option,
};
use crate::{DEFAULT_START_NS, Frame, MS, PacketSink};

/// Namespace of the two conversation constructors.
#[derive(Debug, Clone, Copy)]
pub struct Conversation;

impl Conversation {
    /// A TCP conversation between `client` and `server` (both IPv4 or both IPv6).
    pub fn tcp(client: SocketAddr, server: SocketAddr) -> TcpConversation {
        TcpConversation::new(client, server)
    }

    /// A UDP exchange between `client` and `server` (both IPv4 or both IPv6).
    pub fn udp(client: SocketAddr, server: SocketAddr) -> UdpConversation {
        UdpConversation::new(client, server)
    }
}

/// Which side sent a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client (the initiator).
    ClientToServer,
    /// From the server.
    ServerToClient,
}

impl Direction {
    /// The other direction.
    pub fn reverse(self) -> Self {
        match self {
            Self::ClientToServer => Self::ServerToClient,
            Self::ServerToClient => Self::ClientToServer,
        }
    }

    fn idx(self) -> usize {
        match self {
            Self::ClientToServer => 0,
            Self::ServerToClient => 1,
        }
    }
}

/// One generated packet of a conversation (TCP fields are ignored for UDP). Every field may be
/// edited through `segments_mut` before building frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Capture timestamp, nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// Sender.
    pub dir: Direction,
    /// TCP sequence number.
    pub seq: u32,
    /// TCP acknowledgment number (0 when ACK is not set).
    pub ack: u32,
    /// TCP flags.
    pub flags: TcpFlags,
    /// TCP window.
    pub window: u16,
    /// TCP options.
    pub options: Vec<u8>,
    /// Transport payload.
    pub payload: Vec<u8>,
    /// IPv4 identification (also the IPv6 fragment id when fragmented).
    pub ip_id: u16,
    /// If non-empty, the IP packet is fragmented with these payload sizes (see
    /// [`packet::fragment_ipv4`]); all fragments share the segment's timestamp.
    pub fragments: Vec<usize>,
    /// Transport checksum to write instead of the computed one.
    pub checksum_override: Option<u16>,
}

/// State shared by TCP and UDP conversations.
#[derive(Debug, Clone)]
struct Base {
    client: SocketAddr,
    server: SocketAddr,
    link: [Link; 2],
    now: i64,
    step: i64,
    ip_id: [u16; 2],
    ttl: [u8; 2],
    segs: Vec<Segment>,
}

impl Base {
    fn new(client: SocketAddr, server: SocketAddr) -> Self {
        assert!(
            packet::same_family(client.ip(), server.ip()),
            "conversation endpoints {client} and {server} are of different families"
        );
        let link = Link::ethernet();
        Self {
            client,
            server,
            link: [link.clone(), link.reversed()],
            now: DEFAULT_START_NS,
            step: MS,
            ip_id: [0x1000, 0x8000],
            ttl: [64, 56],
            segs: Vec::new(),
        }
    }

    fn next_ip_id(&mut self, dir: Direction) -> u16 {
        let id = &mut self.ip_id[dir.idx()];
        let v = *id;
        *id = id.wrapping_add(1);
        v
    }

    fn tick(&mut self) -> i64 {
        let t = self.now;
        self.now += self.step;
        t
    }

    fn push(&mut self, mut s: Segment) {
        s.ts_ns = self.tick();
        s.ip_id = self.next_ip_id(s.dir);
        self.segs.push(s);
    }

    fn reorder(&mut self, order: &[usize]) {
        let mut pos = order.to_vec();
        pos.sort_unstable();
        assert!(pos.windows(2).all(|w| w[0] != w[1]), "reorder: repeated index");
        let ts: Vec<i64> = pos.iter().map(|&p| self.segs[p].ts_ns).collect();
        let moved: Vec<Segment> = order.iter().map(|&i| self.segs[i].clone()).collect();
        for ((p, t), mut s) in pos.into_iter().zip(ts).zip(moved) {
            s.ts_ns = t;
            self.segs[p] = s;
        }
    }

    fn retransmit(&mut self, i: usize) {
        let s = self.segs[i].clone();
        self.push(s);
    }

    fn duplicate(&mut self, i: usize) {
        let s = self.segs[i].clone();
        self.segs.insert(i + 1, s);
    }

    fn build(&self, tcp: bool, zero_udp_checksum: bool, sink: &mut dyn FnMut(i64, &[u8])) {
        let mut buf = Vec::with_capacity(2048);
        for s in &self.segs {
            let d = s.dir.idx();
            let (src, dst) = match s.dir {
                Direction::ClientToServer => (self.client, self.server),
                Direction::ServerToClient => (self.server, self.client),
            };
            let link = &self.link[d];
            let mut ip = IpHeader::new(src.ip(), dst.ip());
            ip.set_id(s.ip_id);
            ip.set_ttl(self.ttl[d]);
            buf.clear();
            let frag = !s.fragments.is_empty();
            if !frag {
                let et = if src.is_ipv4() { ethertype::IPV4 } else { ethertype::IPV6 };
                link.write_header(et, &mut buf);
            }
            if tcp {
                let mut h = TcpHeader::new(src.port(), dst.port());
                h.seq = s.seq;
                h.ack = s.ack;
                h.flags = s.flags;
                h.window = s.window;
                h.options.clone_from(&s.options);
                h.checksum_override = s.checksum_override;
                packet::write_tcp_packet(&ip, &h, &s.payload, &mut buf);
            } else {
                let mut h = UdpHeader::new(src.port(), dst.port());
                h.zero_checksum = zero_udp_checksum;
                h.checksum_override = s.checksum_override;
                packet::write_udp_packet(&ip, &h, &s.payload, &mut buf);
            }
            if !frag {
                sink(s.ts_ns, &buf);
                continue;
            }
            let pieces = match ip {
                IpHeader::V4(_) => packet::fragment_ipv4(&buf, &s.fragments),
                IpHeader::V6(_) => {
                    packet::fragment_ipv6(&buf, &s.fragments, 0x5a00_0000 | u32::from(s.ip_id))
                }
            };
            for p in pieces {
                let mut f = Vec::with_capacity(link.header_len() + p.len());
                link.write_header(ethertype_of(&p), &mut f);
                f.extend_from_slice(&p);
                sink(s.ts_ns, &f);
            }
        }
    }

    fn frames(&self, tcp: bool, zero: bool) -> Vec<Frame> {
        let mut out = Vec::with_capacity(self.segs.len());
        self.build(tcp, zero, &mut |ts, f| out.push((ts, f.to_vec())));
        out
    }

    fn write_to(&self, tcp: bool, zero: bool, sink: &mut dyn PacketSink) -> io::Result<()> {
        let mut res = Ok(());
        self.build(tcp, zero, &mut |ts, f| {
            if res.is_ok() {
                res = sink.write_frame(ts, f);
            }
        });
        res
    }
}

/// Methods shared by both conversation kinds.
macro_rules! common_methods {
    ($tcp:expr) => {
        /// Uses `link` for client-to-server frames and its [`Link::reversed`] for the replies.
        pub fn link(mut self, link: Link) -> Self {
            self.base.link = [link.clone(), link.reversed()];
            self
        }

        /// Sets the timestamp of the next segment (default [`crate::DEFAULT_START_NS`]).
        pub fn start_ns(mut self, ts_ns: i64) -> Self {
            self.base.now = ts_ns;
            self
        }

        /// Sets how far the clock advances after each segment (default 1 ms).
        pub fn step_ns(mut self, step_ns: i64) -> Self {
            self.base.step = step_ns;
            self
        }

        /// Sets the TTL / hop limit of each side (default 64 client, 56 server).
        pub fn ttl(mut self, client: u8, server: u8) -> Self {
            self.base.ttl = [client, server];
            self
        }

        /// Sets the first IPv4 identification of each side (then +1 per packet).
        pub fn ip_ids(mut self, client: u16, server: u16) -> Self {
            self.base.ip_id = [client, server];
            self
        }

        /// Advances the clock by `ns` without sending anything.
        pub fn wait(&mut self, ns: i64) -> &mut Self {
            self.base.now += ns;
            self
        }

        /// The timestamp the next segment will get.
        pub fn next_ts_ns(&self) -> i64 {
            self.base.now
        }

        /// Client endpoint.
        pub fn client(&self) -> SocketAddr {
            self.base.client
        }

        /// Server endpoint.
        pub fn server(&self) -> SocketAddr {
            self.base.server
        }

        /// Link type number of the frames.
        pub fn link_type(&self) -> u32 {
            self.base.link[0].link_type()
        }

        /// Number of segments so far (the index the next one will get).
        pub fn len(&self) -> usize {
            self.base.segs.len()
        }

        /// True if nothing was sent yet.
        pub fn is_empty(&self) -> bool {
            self.base.segs.is_empty()
        }

        /// The segment list.
        pub fn segments(&self) -> &[Segment] {
            &self.base.segs
        }

        /// The segment list, for arbitrary edits (overlapping data, odd flags...).
        pub fn segments_mut(&mut self) -> &mut Vec<Segment> {
            &mut self.base.segs
        }

        /// Reorders segments: the positions named in `order`, taken in ascending order, receive
        /// the segments `order` lists, in that order. Timestamps stay with positions, so the
        /// capture stays time-ordered. `reorder(&[5, 4])` swaps 4 and 5; `reorder(&[7, 5, 6])`
        /// moves 7 before 5.
        pub fn reorder(&mut self, order: &[usize]) -> &mut Self {
            self.base.reorder(order);
            self
        }

        /// Swaps segments `i` and `j` (timestamps stay with positions).
        pub fn swap(&mut self, i: usize, j: usize) -> &mut Self {
            if i != j {
                self.base.reorder(&[i.max(j), i.min(j)]);
            }
            self
        }

        /// Sends segment `i` again now (appended, new timestamp and IP id).
        pub fn retransmit(&mut self, i: usize) -> &mut Self {
            self.base.retransmit(i);
            self
        }

        /// Inserts an exact copy of segment `i` right after it (a network duplicate).
        pub fn duplicate(&mut self, i: usize) -> &mut Self {
            self.base.duplicate(i);
            self
        }

        /// Removes segment `i` from the capture (the peer still got it: a capture gap).
        pub fn drop_segment(&mut self, i: usize) -> &mut Self {
            self.base.segs.remove(i);
            self
        }

        /// IP-fragments segment `i` with these payload sizes (see [`packet::fragment_ipv4`]).
        pub fn fragment(&mut self, i: usize, sizes: &[usize]) -> &mut Self {
            self.base.segs[i].fragments = sizes.to_vec();
            self
        }

        /// Builds the link-layer frames, in list order.
        pub fn frames(&self) -> Vec<Frame> {
            self.base.frames($tcp, self.zero_checksum())
        }

        /// Writes the frames to `sink` without collecting them.
        pub fn write_to(&self, sink: &mut dyn PacketSink) -> io::Result<()> {
            self.base.write_to($tcp, self.zero_checksum(), sink)
        }
    };
}

/// A TCP conversation builder (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct TcpConversation {
    base: Base,
    isn: [u32; 2],
    next_seq: [u32; 2],
    mss: usize,
    window: u16,
    auto_ack: bool,
    timestamps: bool,
    last_tsval: [u32; 2],
}

impl TcpConversation {
    /// Client ISN 1000, server ISN 5000, MSS 1460 (IPv4) / 1440 (IPv6), window 65535, Ethernet.
    pub fn new(client: SocketAddr, server: SocketAddr) -> Self {
        let base = Base::new(client, server);
        Self {
            base,
            isn: [1000, 5000],
            next_seq: [1000, 5000],
            mss: if client.is_ipv4() { 1460 } else { 1440 },
            window: 65535,
            auto_ack: false,
            timestamps: false,
            last_tsval: [0, 0],
        }
    }

    common_methods!(true);

    fn zero_checksum(&self) -> bool {
        false
    }

    /// Sets the initial sequence numbers (the SYNs use them; data starts at ISN + 1 after a
    /// handshake, at ISN without one).
    pub fn isn(mut self, client: u32, server: u32) -> Self {
        self.isn = [client, server];
        self.next_seq = [client, server];
        self
    }

    /// Maximum payload bytes per segment for `client_sends` / `server_sends`.
    pub fn mss(mut self, mss: usize) -> Self {
        assert!(mss > 0, "mss must be positive");
        self.mss = mss;
        self
    }

    /// Window advertised on every segment.
    pub fn window(mut self, window: u16) -> Self {
        self.window = window;
        self
    }

    /// When set, every data send is followed by a pure ACK from the peer.
    pub fn auto_ack(mut self, on: bool) -> Self {
        self.auto_ack = on;
        self
    }

    /// When set, every segment carries a timestamps option (tsval in ms of capture time).
    pub fn tcp_timestamps(mut self, on: bool) -> Self {
        self.timestamps = on;
        self
    }

    /// Next sequence number of `dir`'s sender.
    pub fn next_seq(&self, dir: Direction) -> u32 {
        self.next_seq[dir.idx()]
    }

    /// Appends one segment from `dir` with `flags` and `payload`, using and advancing the
    /// sequence bookkeeping (SYN and FIN count one). The ack number is everything the peer sent
    /// so far (when ACK is set).
    pub fn raw_segment(&mut self, dir: Direction, flags: TcpFlags, payload: &[u8]) -> &mut Self {
        let d = dir.idx();
        let seq = self.next_seq[d];
        let ack = if flags.contains(TcpFlags::ACK) { self.next_seq[1 - d] } else { 0 };
        let mut options = Vec::new();
        if flags.contains(TcpFlags::SYN) {
            let tsval = self.tsval(dir);
            let tsecr = if flags.contains(TcpFlags::ACK) { self.last_tsval[1 - d] } else { 0 };
            options = tcp_option::syn_options(self.mss.min(65535) as u16, tsval, tsecr, 7);
        } else if self.timestamps {
            let tsval = self.tsval(dir);
            options = tcp_option::data_timestamps(tsval, self.last_tsval[1 - d]).to_vec();
        }
        let consumed = payload.len()
            + usize::from(flags.contains(TcpFlags::SYN))
            + usize::from(flags.contains(TcpFlags::FIN));
        self.next_seq[d] = seq.wrapping_add(consumed as u32);
        self.base.push(Segment {
            ts_ns: 0,
            dir,
            seq,
            ack,
            flags,
            window: self.window,
            options,
            payload: payload.to_vec(),
            ip_id: 0,
            fragments: Vec::new(),
            checksum_override: None,
        });
        self
    }

    fn tsval(&mut self, dir: Direction) -> u32 {
        let v = (self.base.now.div_euclid(MS) as u32).wrapping_add(if dir.idx() == 0 {
            0
        } else {
            0x4000_0000
        });
        self.last_tsval[dir.idx()] = v;
        v
    }

    /// Client SYN (with MSS, SACK permitted, timestamps and window scale options).
    pub fn syn(&mut self) -> &mut Self {
        self.next_seq[0] = self.isn[0];
        self.raw_segment(Direction::ClientToServer, TcpFlags::SYN, &[])
    }

    /// Server SYN-ACK.
    pub fn syn_ack(&mut self) -> &mut Self {
        self.next_seq[1] = self.isn[1];
        self.raw_segment(Direction::ServerToClient, TcpFlags::SYN | TcpFlags::ACK, &[])
    }

    /// Client pure ACK.
    pub fn client_ack(&mut self) -> &mut Self {
        self.raw_segment(Direction::ClientToServer, TcpFlags::ACK, &[])
    }

    /// Server pure ACK.
    pub fn server_ack(&mut self) -> &mut Self {
        self.raw_segment(Direction::ServerToClient, TcpFlags::ACK, &[])
    }

    /// SYN, SYN-ACK, ACK (3 segments).
    pub fn handshake(&mut self) -> &mut Self {
        self.syn().syn_ack().client_ack()
    }

    /// Sends `data` from `dir`, cut into segments of at most the MSS (PSH on the last one).
    pub fn send(&mut self, dir: Direction, data: &[u8]) -> &mut Self {
        let offsets: Vec<usize> =
            (1..data.len().div_ceil(self.mss)).map(|k| k * self.mss).collect();
        self.send_split(dir, data, &offsets)
    }

    /// Sends `data` from `dir`, cut at the given byte `offsets` (ascending, inside the data):
    /// `&[10, 20]` gives segments `[..10]`, `[10..20]`, `[20..]`. PSH is set on the last one.
    pub fn send_split(&mut self, dir: Direction, data: &[u8], offsets: &[usize]) -> &mut Self {
        let mut start = 0;
        for (k, &end) in offsets.iter().chain(std::iter::once(&data.len())).enumerate() {
            assert!(start <= end && end <= data.len(), "split offsets must ascend inside the data");
            if end == start && !(k == offsets.len() && start == 0) {
                continue;
            }
            let last = end == data.len();
            let flags = if last { TcpFlags::ACK | TcpFlags::PSH } else { TcpFlags::ACK };
            self.raw_segment(dir, flags, &data[start..end]);
            start = end;
        }
        if self.auto_ack {
            self.raw_segment(dir.reverse(), TcpFlags::ACK, &[]);
        }
        self
    }

    /// The client sends `data` (MSS-sized segments).
    pub fn client_sends(&mut self, data: &[u8]) -> &mut Self {
        self.send(Direction::ClientToServer, data)
    }

    /// The server sends `data` (MSS-sized segments).
    pub fn server_sends(&mut self, data: &[u8]) -> &mut Self {
        self.send(Direction::ServerToClient, data)
    }

    /// The client sends `data` cut at `offsets` (see [`Self::send_split`]).
    pub fn client_sends_split(&mut self, data: &[u8], offsets: &[usize]) -> &mut Self {
        self.send_split(Direction::ClientToServer, data, offsets)
    }

    /// The server sends `data` cut at `offsets` (see [`Self::send_split`]).
    pub fn server_sends_split(&mut self, data: &[u8], offsets: &[usize]) -> &mut Self {
        self.send_split(Direction::ServerToClient, data, offsets)
    }

    /// Client FIN-ACK.
    pub fn client_fin(&mut self) -> &mut Self {
        self.raw_segment(Direction::ClientToServer, TcpFlags::FIN | TcpFlags::ACK, &[])
    }

    /// Server FIN-ACK.
    pub fn server_fin(&mut self) -> &mut Self {
        self.raw_segment(Direction::ServerToClient, TcpFlags::FIN | TcpFlags::ACK, &[])
    }

    /// Orderly close: client FIN-ACK, server FIN-ACK, client ACK (3 segments).
    pub fn fin(&mut self) -> &mut Self {
        self.client_fin().server_fin().client_ack()
    }

    /// Client RST-ACK.
    pub fn rst(&mut self) -> &mut Self {
        self.raw_segment(Direction::ClientToServer, TcpFlags::RST | TcpFlags::ACK, &[])
    }

    /// Server RST-ACK.
    pub fn server_rst(&mut self) -> &mut Self {
        self.raw_segment(Direction::ServerToClient, TcpFlags::RST | TcpFlags::ACK, &[])
    }
}

/// A UDP exchange builder (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct UdpConversation {
    base: Base,
    zero: bool,
}

impl UdpConversation {
    /// An exchange between `client` and `server` over Ethernet.
    pub fn new(client: SocketAddr, server: SocketAddr) -> Self {
        Self { base: Base::new(client, server), zero: false }
    }

    common_methods!(false);

    fn zero_checksum(&self) -> bool {
        self.zero
    }

    /// Writes UDP checksum 0 ("none") on every datagram (IPv4 only).
    pub fn zero_checksums(mut self, on: bool) -> Self {
        self.zero = on;
        self
    }

    /// Appends one datagram from `dir`.
    pub fn datagram(&mut self, dir: Direction, payload: &[u8]) -> &mut Self {
        self.base.push(Segment {
            ts_ns: 0,
            dir,
            seq: 0,
            ack: 0,
            flags: TcpFlags::NONE,
            window: 0,
            options: Vec::new(),
            payload: payload.to_vec(),
            ip_id: 0,
            fragments: Vec::new(),
            checksum_override: None,
        });
        self
    }

    /// The client sends one datagram.
    pub fn client_datagram(&mut self, payload: &[u8]) -> &mut Self {
        self.datagram(Direction::ClientToServer, payload)
    }

    /// The server sends one datagram.
    pub fn server_datagram(&mut self, payload: &[u8]) -> &mut Self {
        self.datagram(Direction::ServerToClient, payload)
    }
}

#[cfg(test)]
mod tests;
