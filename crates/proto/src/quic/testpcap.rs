//! Test-only capture reader for the real-capture corpus (`/work/shared/corpus/real`): classic
//! pcap and pcapng; Ethernet (VLAN), BSD null/loop, PPP, Linux SLL/SLL2 and raw IP; IPv4/IPv6
//! (no fragment reassembly); UDP payloads and TCP segments. Just enough to feed the TLS and QUIC
//! parsers; the real reader is the `capture`/`wire` crates.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use flow::{Chunk, Direction};

use crate::{Anomalies, Event};

/// The real-capture corpus.
pub(crate) const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus/real");

/// An endpoint: address and port.
pub(crate) type Endpoint = (IpAddr, u16);

/// One UDP datagram or TCP segment.
#[derive(Debug, Clone)]
pub(crate) struct Packet {
    pub(crate) src: Endpoint,
    pub(crate) dst: Endpoint,
    /// 6 (TCP) or 17 (UDP).
    pub(crate) proto: u8,
    /// TCP sequence number.
    pub(crate) seq: u32,
    /// TCP SYN flag.
    pub(crate) syn: bool,
    pub(crate) payload: Vec<u8>,
}

/// The corpus, or `None` (with a message) when it is absent.
pub(crate) fn corpus() -> Option<PathBuf> {
    let p = PathBuf::from(CORPUS);
    if p.is_dir() {
        Some(p)
    } else {
        testkit::skip::skip("QUIC on the real corpus", &format!("{CORPUS} is absent"));
        None
    }
}

/// Reference lines `kind<TAB>value` of `<capture>.tshark.tsv` for one kind.
pub(crate) fn reference(capture: &Path, kind: &str) -> Vec<String> {
    let mut name = capture.as_os_str().to_owned();
    name.push(".tshark.tsv");
    let text = std::fs::read_to_string(name).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .filter(|(k, _)| *k == kind)
        .map(|(_, v)| v.to_string())
        .collect()
}

fn u16_at(b: &[u8], i: usize, le: bool) -> Option<u16> {
    let x: [u8; 2] = b.get(i..i + 2)?.try_into().ok()?;
    Some(if le { u16::from_le_bytes(x) } else { u16::from_be_bytes(x) })
}

fn u32_at(b: &[u8], i: usize, le: bool) -> Option<u32> {
    let x: [u8; 4] = b.get(i..i + 4)?.try_into().ok()?;
    Some(if le { u32::from_le_bytes(x) } else { u32::from_be_bytes(x) })
}

/// (link type, frame) of every packet of a pcap or pcapng file.
fn frames(data: &[u8]) -> Option<Vec<(u32, &[u8])>> {
    let mut out = Vec::new();
    let magic = u32_at(data, 0, false)?;
    if magic == 0x0a0d_0d0a {
        let mut le = true;
        let mut links = Vec::new();
        let mut pos = 0;
        while pos + 12 <= data.len() {
            if u32_at(data, pos, false)? == 0x0a0d_0d0a {
                le = u32_at(data, pos + 8, true)? == 0x1a2b_3c4d;
                links.clear();
            }
            let typ = u32_at(data, pos, le)?;
            let len = usize::try_from(u32_at(data, pos + 4, le)?).ok()?;
            let block = data.get(pos..pos + len)?;
            match typ {
                1 => links.push(u32::from(u16_at(block, 8, le)?)),
                6 => {
                    let link = *links.get(usize::try_from(u32_at(block, 8, le)?).ok()?)?;
                    let cap = usize::try_from(u32_at(block, 20, le)?).ok()?;
                    out.push((link, block.get(28..28 + cap)?));
                }
                3 => {
                    let orig = usize::try_from(u32_at(block, 8, le)?).ok()?;
                    out.push((*links.first()?, block.get(12..(12 + orig).min(len - 4))?));
                }
                _ => {}
            }
            pos += len.max(12);
        }
        return Some(out);
    }
    let le = match magic {
        0xa1b2_c3d4 | 0xa1b2_3c4d => false,
        0xd4c3_b2a1 | 0x4d3c_b2a1 => true,
        _ => return None,
    };
    let link = u32_at(data, 20, le)? & 0x0fff_ffff;
    let mut pos = 24;
    while pos + 16 <= data.len() {
        let cap = usize::try_from(u32_at(data, pos + 8, le)?).ok()?;
        out.push((link, data.get(pos + 16..pos + 16 + cap)?));
        pos += 16 + cap;
    }
    Some(out)
}

/// The IP packet inside a link-layer frame.
fn ip_of(link: u32, f: &[u8]) -> Option<&[u8]> {
    match link {
        0 | 108 => f.get(4..),
        1 => {
            let mut pos = 12;
            let mut et = u16_at(f, pos, false)?;
            while et == 0x8100 || et == 0x88a8 {
                pos += 4;
                et = u16_at(f, pos, false)?;
            }
            f.get(pos + 2..)
        }
        9 | 50 => {
            let f = if f.starts_with(&[0xff, 0x03]) { &f[2..] } else { f };
            f.get(2..)
        }
        12 | 14 | 101 | 228 | 229 => Some(f),
        113 => f.get(16..),
        276 => f.get(20..),
        _ => None,
    }
}

/// The UDP datagram or TCP segment inside an IP packet.
fn decode(link: u32, frame: &[u8]) -> Option<Packet> {
    let ip = ip_of(link, frame)?;
    let (src, dst, mut proto, mut l4): (IpAddr, IpAddr, u8, &[u8]) = match ip.first()? >> 4 {
        4 => {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            // Total length 0: TCP segmentation offload, the capture holds the whole segment.
            let total = match usize::from(u16_at(ip, 2, false)?) {
                0 => ip.len(),
                t => t.min(ip.len()),
            };
            if u16_at(ip, 6, false)? & 0x3fff != 0 {
                return None; // fragment
            }
            let s: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            (Ipv4Addr::from(s).into(), Ipv4Addr::from(d).into(), ip[9], ip.get(ihl..total)?)
        }
        6 => {
            let s: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            let plen = usize::from(u16_at(ip, 4, false)?);
            (
                Ipv6Addr::from(s).into(),
                Ipv6Addr::from(d).into(),
                ip[6],
                ip.get(40..(40 + plen).min(ip.len()))?,
            )
        }
        _ => return None,
    };
    while matches!(proto, 0 | 43 | 60) {
        let len = (usize::from(*l4.get(1)?) + 1) * 8;
        proto = l4[0];
        l4 = l4.get(len..)?;
    }
    let sport = u16_at(l4, 0, false)?;
    let dport = u16_at(l4, 2, false)?;
    let (seq, syn, payload) = match proto {
        17 => {
            let len = usize::from(u16_at(l4, 4, false)?).clamp(8, l4.len().max(8));
            (0, false, l4.get(8..len)?)
        }
        6 => {
            let off = usize::from(*l4.get(12)? >> 4) * 4;
            (u32_at(l4, 4, false)?, l4.get(13)? & 0x02 != 0, l4.get(off..)?)
        }
        _ => return None,
    };
    Some(Packet {
        src: (src, sport),
        dst: (dst, dport),
        proto,
        seq,
        syn,
        payload: payload.to_vec(),
    })
}

/// All UDP datagrams and TCP segments of a capture, in capture order.
pub(crate) fn read(path: &Path) -> Vec<Packet> {
    let data = std::fs::read(path).unwrap_or_default();
    frames(&data).unwrap_or_default().into_iter().filter_map(|(l, f)| decode(l, f)).collect()
}

/// Bidirectional flow key: the two endpoints, ordered.
fn flow_key(p: &Packet) -> (Endpoint, Endpoint) {
    if p.src <= p.dst { (p.src, p.dst) } else { (p.dst, p.src) }
}

/// Feeds every UDP flow of a capture to a fresh `QuicParser` (client = first sender).
pub(crate) fn quic_events(packets: &[Packet], an: &mut Anomalies) -> Vec<Event> {
    let mut parsers: HashMap<_, (Endpoint, crate::quic::QuicParser)> = HashMap::new();
    let mut out = Vec::new();
    for p in packets.iter().filter(|p| p.proto == 17) {
        let (client, parser) =
            parsers.entry(flow_key(p)).or_insert_with(|| (p.src, crate::quic::QuicParser::new()));
        let dir = if p.src == *client { Direction::ToServer } else { Direction::ToClient };
        parser.datagram(dir, &p.payload, &mut out, an);
    }
    out
}

/// Per-direction in-order delivery of TCP segments (retransmissions trimmed, out-of-order
/// segments held back), like the flow stage would do.
#[derive(Default)]
struct TcpDir {
    next: Option<u32>,
    held: Vec<(u32, Vec<u8>)>,
    first: bool,
}

impl TcpDir {
    fn push(&mut self, p: &Packet, mut deliver: impl FnMut(&[u8])) {
        let seq = p.seq.wrapping_add(u32::from(p.syn));
        let mut next = *self.next.get_or_insert(seq);
        if p.payload.is_empty() {
            return;
        }
        self.held.push((seq, p.payload.clone()));
        loop {
            let covering = self.held.iter().position(|(s, d)| {
                let ahead = next.wrapping_sub(*s) as i32;
                ahead >= 0 && (ahead as usize) < d.len()
            });
            let Some(i) = covering else {
                self.held
                    .retain(|(s, d)| s.wrapping_add(d.len() as u32).wrapping_sub(next) as i32 > 0);
                break;
            };
            let (s, d) = self.held.swap_remove(i);
            let skip = next.wrapping_sub(s) as usize;
            deliver(&d[skip..]);
            next = next.wrapping_add((d.len() - skip) as u32);
            self.next = Some(next);
        }
    }
}

/// Feeds every TCP flow whose client stream starts with a TLS ClientHello record (or an SSLv2
/// hello) to a fresh `TlsParser`, both directions interleaved in capture order.
pub(crate) fn tls_events(packets: &[Packet], an: &mut Anomalies) -> Vec<Event> {
    struct Flow {
        client: Option<Endpoint>,
        dirs: HashMap<Endpoint, TcpDir>,
        parser: crate::tls::TlsParser,
    }
    let mut flows: HashMap<_, Flow> = HashMap::new();
    let mut out = Vec::new();
    for p in packets.iter().filter(|p| p.proto == 6) {
        let f = flows.entry(flow_key(p)).or_insert_with(|| Flow {
            client: None,
            dirs: HashMap::new(),
            parser: crate::tls::TlsParser::new(),
        });
        let mut delivered = Vec::new();
        let d = f.dirs.entry(p.src).or_default();
        d.push(p, |b| delivered.push(b.to_vec()));
        for b in delivered {
            if f.client.is_none() && !std::mem::replace(&mut d.first, true) {
                let hello = b.len() > 5 && b[0] == 0x16 && b[1] == 3 && b[5] == 1;
                if hello || (b[0] & 0x80 != 0 && b.get(2) == Some(&1)) {
                    f.client = Some(p.src);
                }
            }
            let Some(client) = f.client else { continue };
            let dir = if p.src == client { Direction::ToServer } else { Direction::ToClient };
            f.parser.data(dir, Chunk::Data { offset: 0, bytes: &b }, &mut out, an);
        }
    }
    out
}
