//! `testkit`: the project's capture builder.
//!
//! It writes classic pcap and pcapng files holding crafted, fully checksummed traffic, so tests
//! (and the benchmark / demo generators) never need real captures:
//!
//! - [`pcap::PcapWriter`] and [`pcapng::PcapNgWriter`] write capture files (either byte order,
//!   micro/nano resolution, snaplen cuts, optional gzip, odd pcapng blocks for skip tests).
//! - [`packet`] builds link-layer frames: Ethernet (802.1Q / 802.1ad tags), Linux SLL / SLL2, raw
//!   IP, BSD null / loop; IPv4 (options, fragments) and IPv6 (extension headers, fragments); TCP and
//!   UDP with correct checksums; IPv4 / IPv6 fragmentation helpers.
//! - [`conversation`] is the main tool for tests: a TCP conversation builder (handshake, data split
//!   at chosen offsets, reorder / retransmit / drop, FIN / RST) and a UDP exchange builder, both
//!   producing timestamped frames.
//! - [`app`] encodes application payloads: DNS messages, TLS records (ClientHello with SNI / ALPN /
//!   supported_versions, ServerHello, application data), HTTP/1.1 messages, and QUIC v1 / v2 client
//!   Initials encrypted with the RFC 9001 / RFC 9369 initial keys.
//! - [`matrix`] plants every identifier kind in every encoding and every place, with ground
//!   truth (the accuracy test of `phonehome analyze`), and writes a decoy capture.
//! - [`mix`] generates large amounts of mixed phone-like traffic quickly (benchmark captures).
//! - [`scenario`] scripts story-like captures: the demo `examples/demo.pcapng`
//!   ([`scenario::redmi_2014`]).
//!
//! Everything is deterministic: no clock, no OS randomness; [`rng::Rng`] is a small seeded PRNG.
//!
//! # Example
//!
//! A pcap with a TCP HTTP exchange whose request is cut into 3 segments (two of them swapped in
//! the capture) and a DNS exchange:
//!
//! ```
//! use testkit::app::{dns, http};
//! use testkit::{Conversation, Link, PcapWriter};
//!
//! let link = Link::ethernet();
//! let dns_q = dns::DnsMessage::query(0x1234, "example.com", dns::qtype::A).encode();
//! let dns_r = dns::DnsMessage::query(0x1234, "example.com", dns::qtype::A)
//!     .into_response()
//!     .answer(dns::DnsRecord::a("example.com", 300, [93, 184, 216, 34].into()))
//!     .encode();
//! let mut dns = Conversation::udp("10.0.0.2:53000".parse().unwrap(), "10.0.0.1:53".parse().unwrap())
//!     .link(link.clone());
//! dns.client_datagram(&dns_q).server_datagram(&dns_r);
//!
//! let req = http::HttpRequest::get("example.com", "/").to_bytes();
//! let resp = http::HttpResponse::ok("text/plain", b"hello".to_vec()).to_bytes();
//! let mut tcp = Conversation::tcp("10.0.0.2:40000".parse().unwrap(), "93.184.216.34:80".parse().unwrap())
//!     .link(link.clone())
//!     .start_ns(dns.next_ts_ns());
//! tcp.handshake();
//! let first = tcp.len();
//! tcp.client_sends_split(&req, &[10, 20]); // segments first, first+1, first+2
//! tcp.reorder(&[first + 2, first + 1]); // swap the last two in capture order
//! tcp.server_sends(&resp).fin();
//!
//! let mut w = PcapWriter::new(Vec::new(), link.link_type()).unwrap();
//! let frames = testkit::interleave([dns.frames(), tcp.frames()]);
//! w.write_frames(&frames).unwrap();
//! let bytes = w.finish().unwrap();
//! assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
//! ```

#![warn(missing_docs)]

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;

pub mod app;
pub mod conversation;
pub mod h2_session;
pub mod matrix;
pub mod mix;
pub mod netns;
pub mod packet;
pub mod pcap;
pub mod pcapdroid;
pub mod pcapng;
pub mod recur;
pub mod rng;
pub mod scenario;
pub mod sdk;
pub mod skip;
pub mod tls_session;

pub use conversation::{Conversation, Direction, Segment, TcpConversation, UdpConversation};
pub use packet::{IpHeader, Ipv4Header, Ipv6Ext, Ipv6Header, Link, TcpFlags, TcpHeader, UdpHeader};
pub use pcap::{PcapOptions, PcapWriter, TsResolution};
pub use pcapng::PcapNgWriter;
pub use rng::Rng;

/// One captured frame: (timestamp in nanoseconds since the Unix epoch, link-layer bytes).
pub type Frame = (i64, Vec<u8>);

/// One second in nanoseconds.
pub const SEC: i64 = 1_000_000_000;
/// One millisecond in nanoseconds.
pub const MS: i64 = 1_000_000;
/// One microsecond in nanoseconds.
pub const US: i64 = 1_000;
/// Default start time of conversations: 2023-11-14T22:13:20Z, in nanoseconds.
pub const DEFAULT_START_NS: i64 = 1_700_000_000 * SEC;

/// Byte order of a capture file (pcap) or section (pcapng).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Endian {
    /// Little-endian (what almost every capture tool writes).
    #[default]
    Little,
    /// Big-endian.
    Big,
}

impl Endian {
    pub(crate) fn u16(self, v: u16) -> [u8; 2] {
        match self {
            Self::Little => v.to_le_bytes(),
            Self::Big => v.to_be_bytes(),
        }
    }

    pub(crate) fn u32(self, v: u32) -> [u8; 4] {
        match self {
            Self::Little => v.to_le_bytes(),
            Self::Big => v.to_be_bytes(),
        }
    }
}

/// Link-layer header type numbers (the `LINKTYPE_*` registry used by pcap and pcapng).
pub mod linktype {
    /// BSD loopback: 4-byte address family in the writer's host byte order.
    pub const NULL: u32 = 0;
    /// Ethernet II.
    pub const ETHERNET: u32 = 1;
    /// Raw IP, version taken from the first nibble.
    pub const RAW: u32 = 101;
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: u32 = 108;
    /// Linux "cooked" capture v1 (16-byte header).
    pub const LINUX_SLL: u32 = 113;
    /// Raw IPv4.
    pub const IPV4: u32 = 228;
    /// Raw IPv6.
    pub const IPV6: u32 = 229;
    /// Linux "cooked" capture v2 (20-byte header).
    pub const LINUX_SLL2: u32 = 276;
}

/// Anything frames can be written to: the two capture writers, or a `Vec<Frame>`.
pub trait PacketSink {
    /// Writes one frame captured at `ts_ns` (nanoseconds since the Unix epoch).
    fn write_frame(&mut self, ts_ns: i64, frame: &[u8]) -> io::Result<()>;

    /// Writes all `frames` in order.
    fn write_frames(&mut self, frames: &[Frame]) -> io::Result<()> {
        frames.iter().try_for_each(|(ts, f)| self.write_frame(*ts, f))
    }
}

impl PacketSink for Vec<Frame> {
    fn write_frame(&mut self, ts_ns: i64, frame: &[u8]) -> io::Result<()> {
        self.push((ts_ns, frame.to_vec()));
        Ok(())
    }
}

/// Merges several frame lists into one ordered by timestamp (stable: equal timestamps keep list
/// order, then position order).
pub fn interleave<I>(lists: I) -> Vec<Frame>
where
    I: IntoIterator<Item = Vec<Frame>>,
{
    let mut all: Vec<Frame> = lists.into_iter().flatten().collect();
    all.sort_by_key(|(ts, _)| *ts);
    all
}

/// Creates (truncates) `path` and wraps it in a 1 MiB [`BufWriter`], ready for a capture writer.
pub fn create_file(path: impl AsRef<Path>) -> io::Result<BufWriter<File>> {
    Ok(BufWriter::with_capacity(1 << 20, File::create(path)?))
}

/// Wraps `out` in a gzip encoder (default level); finish it with [`GzEncoder::finish`] (or use
/// `finish_gzip` on the capture writers).
pub fn gzip<W: Write>(out: W) -> GzEncoder<W> {
    GzEncoder::new(out, Compression::default())
}

/// Wraps `out` in a gzip encoder using the fastest level (for big generated files).
pub fn gzip_fast<W: Write>(out: W) -> GzEncoder<W> {
    GzEncoder::new(out, Compression::fast())
}

/// A minimal hexadecimal decoder for test vectors: ignores whitespace, panics on bad input.
pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len().is_multiple_of(2), "odd number of hex digits");
    digits
        .chunks_exact(2)
        .map(|p| {
            let d = |c: u8| (c as char).to_digit(16).expect("hex digit") as u8;
            (d(p[0]) << 4) | d(p[1])
        })
        .collect()
}

/// Lower-case hexadecimal encoding of `bytes` (for assertions and debugging).
pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
