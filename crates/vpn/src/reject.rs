//! Answers the gateway sends for a connection it refuses, so that the device's app fails at
//! once instead of waiting for a timeout (and, for QUIC, falls back to TCP at once): a TCP reset
//! to each end of a TCP connection, an ICMP or ICMPv6 "port unreachable" for anything else.
//!
//! Contract: [`answers`] takes the IP packet being dropped (as it came: from a device, or to
//! it) and returns at most two packets, each with its destination: back to the packet's sender,
//! and on to its receiver (a TCP reset, so that the server does not hold the connection open).
//! Every field is read with bounds checks: a malformed packet gets no answer; ICMP is never
//! answered with ICMP.

use std::net::IpAddr;

/// Where an answer goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toward {
    /// To the sender of the refused packet.
    Sender,
    /// To its receiver.
    Receiver,
}

/// The largest part of the refused packet quoted in an ICMPv6 error (its whole answer stays
/// within IPv6's minimum MTU, 1280).
const ICMP6_QUOTE: usize = 1280 - 40 - 8;

const TCP: u8 = 6;
const UDP: u8 = 17;

/// A packet's addresses, protocol and transport bytes.
struct Parsed<'a> {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    transport: &'a [u8],
    /// The IP header (IPv4: as written; IPv6: the fixed header), for ICMP's quote.
    whole: &'a [u8],
}

fn parse(packet: &[u8]) -> Option<Parsed<'_>> {
    match packet.first()? >> 4 {
        4 => {
            let ihl = usize::from(packet[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([*packet.get(2)?, *packet.get(3)?]));
            if ihl < 20 || total < ihl || packet.len() < total {
                return None;
            }
            // A fragment other than the first carries no transport header.
            let frag = u16::from_be_bytes([packet[6], packet[7]]) & 0x1fff;
            if frag != 0 {
                return None;
            }
            let s: [u8; 4] = packet[12..16].try_into().ok()?;
            let d: [u8; 4] = packet[16..20].try_into().ok()?;
            Some(Parsed {
                src: IpAddr::from(s),
                dst: IpAddr::from(d),
                proto: packet[9],
                transport: &packet[ihl..total],
                whole: &packet[..total],
            })
        }
        6 => {
            let len = usize::from(u16::from_be_bytes([*packet.get(4)?, *packet.get(5)?]));
            if packet.len() < 40 + len {
                return None;
            }
            let s: [u8; 16] = packet[8..24].try_into().ok()?;
            let d: [u8; 16] = packet[24..40].try_into().ok()?;
            // Only a transport header right after the fixed one (extension headers: no answer).
            Some(Parsed {
                src: IpAddr::from(s),
                dst: IpAddr::from(d),
                proto: packet[6],
                transport: &packet[40..40 + len],
                whole: &packet[..40 + len],
            })
        }
        _ => None,
    }
}

/// One's-complement sum of `data` (big-endian 16-bit words, an odd byte padded), unfolded.
fn sum(data: &[u8], mut acc: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = chunks.remainder() {
        acc += u32::from(*b) << 8;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The checksum of a transport segment with its pseudo-header.
fn transport_checksum(src: IpAddr, dst: IpAddr, proto: u8, segment: &[u8]) -> u16 {
    let mut acc = 0;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            acc = sum(&s.octets(), acc);
            acc = sum(&d.octets(), acc);
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            acc = sum(&s.octets(), acc);
            acc = sum(&d.octets(), acc);
        }
        _ => {}
    }
    acc += u32::from(proto) + segment.len() as u32;
    fold(sum(segment, acc))
}

/// An IP packet from `src` to `dst` carrying `payload` of protocol `proto`.
fn ip_packet(src: IpAddr, dst: IpAddr, proto: u8, payload: &[u8]) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = (20 + payload.len()) as u16;
            let mut p = Vec::with_capacity(usize::from(total));
            p.extend_from_slice(&[0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, proto, 0, 0]);
            p[2..4].copy_from_slice(&total.to_be_bytes());
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            let c = fold(sum(&p, 0));
            p[10..12].copy_from_slice(&c.to_be_bytes());
            p.extend_from_slice(payload);
            p
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut p = Vec::with_capacity(40 + payload.len());
            p.extend_from_slice(&[0x60, 0, 0, 0]);
            p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            p.extend_from_slice(&[proto, 64]);
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            p.extend_from_slice(payload);
            p
        }
        _ => Vec::new(),
    }
}

/// A TCP segment with flags `flags` (RST = 0x04, ACK = 0x10), no options, no data.
fn tcp_segment(
    src: IpAddr,
    dst: IpAddr,
    ports: (u16, u16),
    seq: u32,
    ack: u32,
    flags: u8,
) -> Vec<u8> {
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&ports.0.to_be_bytes());
    t[2..4].copy_from_slice(&ports.1.to_be_bytes());
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t[8..12].copy_from_slice(&ack.to_be_bytes());
    t[12] = 5 << 4;
    t[13] = flags;
    let c = transport_checksum(src, dst, TCP, &t);
    t[16..18].copy_from_slice(&c.to_be_bytes());
    ip_packet(src, dst, TCP, &t)
}

/// The TCP flags of `packet` (FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10), or `None` for anything
/// but a well-formed TCP segment.
pub fn tcp_flags(packet: &[u8]) -> Option<u8> {
    let p = parse(packet)?;
    (p.proto == TCP).then(|| p.transport.get(13).copied())?
}

/// Lets `rewrite` change the payload of TCP `packet` in place (same length: sequence numbers
/// stay right) and, when it says it changed something (a count above 0), writes the TCP
/// checksum again. Returns that count; 0 for anything but a well-formed TCP segment with data.
pub fn rewrite_tcp_payload(packet: &mut [u8], rewrite: impl FnOnce(&mut [u8]) -> usize) -> usize {
    let Some(p) = parse(packet) else { return 0 };
    if p.proto != TCP || p.transport.len() < 20 {
        return 0;
    }
    let (src, dst) = (p.src, p.dst);
    let offset = usize::from(p.transport[12] >> 4) * 4;
    let start = p.transport.as_ptr() as usize - packet.as_ptr() as usize;
    let end = start + p.transport.len();
    if offset < 20 || start + offset >= end {
        return 0;
    }
    let n = rewrite(&mut packet[start + offset..end]);
    if n > 0 {
        let t = &mut packet[start..end];
        t[16] = 0;
        t[17] = 0;
        let c = transport_checksum(src, dst, TCP, t);
        t[16..18].copy_from_slice(&c.to_be_bytes());
    }
    n
}

/// The answers to the refused `packet` (see the module doc).
pub fn answers(packet: &[u8]) -> Vec<(Toward, Vec<u8>)> {
    let Some(p) = parse(packet) else { return Vec::new() };
    match p.proto {
        TCP => {
            let t = p.transport;
            if t.len() < 20 || t[13] & 0x04 != 0 {
                return Vec::new(); // malformed, or a reset itself
            }
            let offset = usize::from(t[12] >> 4) * 4;
            let data = t.len().saturating_sub(offset) as u32;
            let (sport, dport) =
                (u16::from_be_bytes([t[0], t[1]]), u16::from_be_bytes([t[2], t[3]]));
            let seq = u32::from_be_bytes([t[4], t[5], t[6], t[7]]);
            let ack = u32::from_be_bytes([t[8], t[9], t[10], t[11]]);
            let (syn, fin, has_ack) = (t[13] & 0x02 != 0, t[13] & 0x01 != 0, t[13] & 0x10 != 0);
            let end = seq.wrapping_add(data + u32::from(syn) + u32::from(fin));
            // To the sender: at the sequence number it expects (the packet's ack), or, for a
            // segment without one (a SYN), acknowledging it.
            let back = if has_ack {
                tcp_segment(p.dst, p.src, (dport, sport), ack, 0, 0x04)
            } else {
                tcp_segment(p.dst, p.src, (dport, sport), 0, end, 0x14)
            };
            let mut out = vec![(Toward::Sender, back)];
            // To the receiver, which never got this segment: at its sequence number.
            if has_ack {
                out.push((
                    Toward::Receiver,
                    tcp_segment(p.src, p.dst, (sport, dport), seq, 0, 0x04),
                ));
            }
            out
        }
        UDP => {
            let icmp = match p.src {
                IpAddr::V4(_) => {
                    // Type 3 (unreachable), code 3 (port), the IP header and 8 bytes quoted.
                    let ihl = usize::from(p.whole[0] & 0x0f) * 4;
                    let quote = &p.whole[..p.whole.len().min(ihl + 8)];
                    let mut m = vec![3, 3, 0, 0, 0, 0, 0, 0];
                    m.extend_from_slice(quote);
                    let c = fold(sum(&m, 0));
                    m[2..4].copy_from_slice(&c.to_be_bytes());
                    ip_packet(p.dst, p.src, 1, &m)
                }
                IpAddr::V6(_) => {
                    // Type 1 (unreachable), code 4 (port), as much of the packet as fits.
                    let quote = &p.whole[..p.whole.len().min(ICMP6_QUOTE)];
                    let mut m = vec![1, 4, 0, 0, 0, 0, 0, 0];
                    m.extend_from_slice(quote);
                    let c = transport_checksum(p.dst, p.src, 58, &m);
                    m[2..4].copy_from_slice(&c.to_be_bytes());
                    ip_packet(p.dst, p.src, 58, &m)
                }
            };
            vec![(Toward::Sender, icmp)]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp_packet(src: &str, dst: &str, seq: u32, ack: u32, flags: u8, data: &[u8]) -> Vec<u8> {
        let (s, d): (IpAddr, IpAddr) = (src.parse().unwrap(), dst.parse().unwrap());
        let mut p = tcp_segment(s, d, (40000, 443), seq, ack, flags);
        // Append data and fix the lengths and checksums the simple way: rebuild.
        let header = if s.is_ipv4() { 20 } else { 40 };
        let mut t = p.split_off(header);
        t.extend_from_slice(data);
        t[16] = 0;
        t[17] = 0;
        let c = transport_checksum(s, d, TCP, &t);
        t[16..18].copy_from_slice(&c.to_be_bytes());
        ip_packet(s, d, TCP, &t)
    }

    fn fields(p: &[u8]) -> (IpAddr, IpAddr, u16, u16, u32, u32, u8) {
        let q = parse(p).unwrap();
        let t = q.transport;
        // Checksums verify: the sum over the segment with its pseudo-header is zero.
        assert_eq!(transport_checksum(q.src, q.dst, q.proto, t), 0);
        (
            q.src,
            q.dst,
            u16::from_be_bytes([t[0], t[1]]),
            u16::from_be_bytes([t[2], t[3]]),
            u32::from_be_bytes([t[4], t[5], t[6], t[7]]),
            u32::from_be_bytes([t[8], t[9], t[10], t[11]]),
            t[13],
        )
    }

    #[test]
    fn a_refused_tcp_segment_resets_both_ends_at_their_sequence_numbers() {
        for (a, b) in [("10.77.0.2", "203.0.113.9"), ("fd77::2", "2001:db8::9")] {
            let hello = tcp_packet(a, b, 1000, 5000, 0x18, b"\x16\x03\x01 client hello");
            let out = answers(&hello);
            assert_eq!(out.len(), 2);
            let (s, d, sp, dp, seq, _, flags) = fields(&out[0].1);
            assert_eq!(out[0].0, Toward::Sender);
            assert_eq!((s.to_string(), d.to_string(), sp, dp), (b.into(), a.into(), 443, 40000));
            assert_eq!((seq, flags), (5000, 0x04), "at the ack the sender expects");
            let (s, _, _, _, seq, _, flags) = fields(&out[1].1);
            assert_eq!(out[1].0, Toward::Receiver);
            assert_eq!((s.to_string(), seq, flags), (a.into(), 1000, 0x04));
            if s.is_ipv4() {
                assert_eq!(fold(sum(&out[0].1[..20], 0)), 0, "IPv4 header checksum");
            }
        }
        // A SYN: one RST+ACK back, acknowledging it.
        let syn = tcp_packet("10.77.0.2", "203.0.113.9", 77, 0, 0x02, b"");
        let out = answers(&syn);
        assert_eq!(out.len(), 1);
        let (_, _, _, _, seq, ack, flags) = fields(&out[0].1);
        assert_eq!((seq, ack, flags), (0, 78, 0x14));
        // A reset gets no answer.
        assert!(answers(&tcp_packet("10.77.0.2", "203.0.113.9", 1, 1, 0x04, b"")).is_empty());
    }

    #[test]
    fn a_refused_datagram_gets_port_unreachable() {
        for (a, b, proto, kind) in
            [("10.77.0.2", "203.0.113.9", 1u8, [3u8, 3]), ("fd77::2", "2001:db8::9", 58, [1, 4])]
        {
            let (s, d): (IpAddr, IpAddr) = (a.parse().unwrap(), b.parse().unwrap());
            let mut udp = vec![0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 0];
            udp.extend_from_slice(&[0xc3; 1200]); // a QUIC Initial's size
            let len = udp.len() as u16;
            udp[4..6].copy_from_slice(&len.to_be_bytes());
            let packet = ip_packet(s, d, UDP, &udp);
            let out = answers(&packet);
            assert_eq!(out.len(), 1);
            let q = parse(&out[0].1).unwrap();
            assert_eq!((q.src, q.dst, q.proto), (d, s, proto));
            assert_eq!(q.transport[..2], kind);
            if proto == 58 {
                assert_eq!(transport_checksum(q.src, q.dst, 58, q.transport), 0);
                assert!(out[0].1.len() <= 1280);
            } else {
                assert_eq!(fold(sum(q.transport, 0)), 0);
                assert_eq!(q.transport.len(), 8 + 20 + 8, "header and 8 bytes quoted");
            }
        }
    }

    #[test]
    fn a_rewritten_payload_keeps_a_valid_checksum() {
        for (a, b) in [("10.77.0.2", "203.0.113.9"), ("fd77::2", "2001:db8::9")] {
            let mut p = tcp_packet(a, b, 1, 1, 0x18, b"GET /?imei=865123045678905 HTTP/1.1");
            let n = rewrite_tcp_payload(&mut p, |data| {
                let at = data.windows(15).position(|w| w == b"865123045678905").unwrap();
                data[at..at + 15].copy_from_slice(b"490154203237518");
                1
            });
            assert_eq!(n, 1);
            let q = parse(&p).unwrap();
            assert_eq!(transport_checksum(q.src, q.dst, TCP, q.transport), 0);
            assert!(p.ends_with(b"GET /?imei=490154203237518 HTTP/1.1"));
        }
        let mut syn = tcp_packet("10.77.0.2", "203.0.113.9", 1, 0, 0x02, b"");
        assert_eq!(tcp_flags(&syn), Some(0x02));
        assert_eq!(tcp_flags(&[0x45; 10]), None);
        assert_eq!(rewrite_tcp_payload(&mut syn, |_| panic!("no payload")), 0);
        let mut garbage = [0x45u8; 30];
        assert_eq!(rewrite_tcp_payload(&mut garbage, |_| 1), 0);
    }

    #[test]
    fn malformed_packets_get_no_answer_and_no_panic() {
        let hello = tcp_packet("10.77.0.2", "203.0.113.9", 1000, 5000, 0x18, b"data");
        for cut in 0..hello.len() {
            let _ = answers(&hello[..cut]);
        }
        let mut lies = hello.clone();
        lies[2] = 0xff; // total length beyond the packet
        assert!(answers(&lies).is_empty());
        let mut icmp = hello;
        icmp[9] = 1;
        assert!(answers(&icmp).is_empty(), "ICMP is not answered");
        assert!(answers(&[0x70; 60]).is_empty());
    }
}
