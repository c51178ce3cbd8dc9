//! Reassembly tests. Fragments are built by `v4_frag` / `v6_frag` below from hand-written header
//! templates (laid out field by field like the literals in `decode/tests.rs`), around a 40-byte
//! UDP datagram from `udp_datagram`.

use capture::Timestamp;
use capture::link::Network;
use testkit::rng::xorshift64;

use super::{Defragmenter, Entry, Key};
use crate::ip::{Frag, FragId};
use crate::{DecodeError, Decoder, DefragLimits, Transport, WireStats};

const V4: u16 = 0x0800;
const V6: u16 = 0x86dd;
const SEC: i64 = 1_000_000_000;

/// UDP 12345 -> 53, length 40: 8-byte header and payload bytes 0, 1, ..., 31.
fn udp_datagram() -> Vec<u8> {
    let mut d = vec![0x30, 0x39, 0x00, 0x35, 0x00, 0x28, 0x00, 0x00];
    d.extend(0u8..32);
    d
}

/// IPv4 fragment 10.0.0.1 -> 10.0.0.2 (IHL 5) carrying `data` at byte `offset`.
fn v4_frag(id: u16, protocol: u8, offset: u32, more: bool, data: &[u8]) -> Vec<u8> {
    let total = (20 + data.len()) as u16;
    let flags_frag = (offset / 8) as u16 | if more { 0x2000 } else { 0 };
    let mut b = vec![
        0x45, 0x00, 0, 0, // version 4, IHL 5; total length (below)
        0, 0, 0, 0, // identification; flags + fragment offset (below)
        0x40, protocol, 0x00, 0x00, // TTL 64; protocol; checksum
        10, 0, 0, 1, // src
        10, 0, 0, 2, // dst
    ];
    b[2..4].copy_from_slice(&total.to_be_bytes());
    b[4..6].copy_from_slice(&id.to_be_bytes());
    b[6..8].copy_from_slice(&flags_frag.to_be_bytes());
    b.extend_from_slice(data);
    b
}

/// IPv6 fragment 2001:db8::1 -> 2001:db8::2 with a hop-by-hop header (unfragmentable part) and
/// then a fragment header whose next header is `next`, carrying `data` at byte `offset`.
fn v6_frag(id: u32, next: u8, offset: u32, more: bool, data: &[u8]) -> Vec<u8> {
    let payload_len = (8 + 8 + data.len()) as u16;
    let offset_flags = (offset as u16) | u16::from(more);
    let mut b = vec![
        0x60, 0x00, 0x00, 0x00, // version 6
        0, 0, 0x00, 0x40, // payload length (below); next header hop-by-hop; hop limit 64
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // src 2001:db8::1
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // dst 2001:db8::2
        44, 0x00, 0x01, 0x04, 0, 0, 0, 0, // hop-by-hop: next fragment, len 0; PadN(4)
        next, 0x00, 0, 0, 0, 0, 0,
        0, // fragment: next; reserved; offset + M (below); id (below)
    ];
    b[4..6].copy_from_slice(&payload_len.to_be_bytes());
    // Offset is in 8-byte units in the top 13 bits, i.e. the byte offset itself.
    b[50..52].copy_from_slice(&offset_flags.to_be_bytes());
    b[52..56].copy_from_slice(&id.to_be_bytes());
    b.extend_from_slice(data);
    b
}

/// What a decode produced, owned so the decoder can be used again.
#[derive(Debug, PartialEq, Eq)]
struct Done {
    ip_len: u32,
    reassembled: bool,
    /// UDP or TCP payload; protocol number for anything else.
    transport: Result<Vec<u8>, u8>,
}

fn feed(d: &mut Decoder, ts: i64, ethertype: u16, bytes: &[u8]) -> Option<Done> {
    let net = Network { ethertype, vlan: None, payload: bytes };
    let p = d.decode(Timestamp(ts), &net).expect("decodes")?;
    let transport = match p.transport {
        Transport::Udp { payload, .. } => Ok(payload.to_vec()),
        Transport::Tcp(t) => {
            assert_eq!(t.wire_payload_len as usize, t.payload.len());
            Ok(t.payload.to_vec())
        }
        Transport::Other { protocol } => Err(protocol),
    };
    Some(Done { ip_len: p.ip_len, reassembled: p.reassembled, transport })
}

fn decoder(limits: DefragLimits) -> Decoder {
    Decoder::new(limits)
}

/// The three IPv4 fragments of `udp_datagram`: [0, 16), [16, 32), [32, 40).
fn v4_three(id: u16) -> [Vec<u8>; 3] {
    let d = udp_datagram();
    [
        v4_frag(id, 17, 0, true, &d[..16]),
        v4_frag(id, 17, 16, true, &d[16..32]),
        v4_frag(id, 17, 32, false, &d[32..]),
    ]
}

fn reassembled_udp() -> Done {
    Done { ip_len: 60, reassembled: true, transport: Ok((0u8..32).collect()) }
}

#[test]
fn ipv4_in_order() {
    let mut d = decoder(DefragLimits::default());
    let [a, b, c] = v4_three(7);
    assert_eq!(feed(&mut d, 0, V4, &a), None);
    assert_eq!(feed(&mut d, 0, V4, &b), None);
    assert_eq!(feed(&mut d, 0, V4, &c), Some(reassembled_udp()));
    let s = d.stats();
    assert_eq!((s.fragments, s.reassembled, s.packets, s.defrag_bad_fragments), (3, 1, 1, 0));
}

#[test]
fn ipv4_reverse_and_shuffled() {
    let [a, b, c] = v4_three(7);
    for order in [[&c, &b, &a], [&b, &c, &a], [&c, &a, &b]] {
        let mut d = decoder(DefragLimits::default());
        assert_eq!(feed(&mut d, 0, V4, order[0]), None);
        assert_eq!(feed(&mut d, 0, V4, order[1]), None);
        assert_eq!(feed(&mut d, 0, V4, order[2]), Some(reassembled_udp()));
    }
}

#[test]
fn ipv4_duplicates_are_harmless() {
    let mut d = decoder(DefragLimits::default());
    let [a, b, c] = v4_three(7);
    for f in [&a, &a, &b, &a, &b] {
        assert_eq!(feed(&mut d, 0, V4, f), None);
    }
    assert_eq!(feed(&mut d, 0, V4, &c), Some(reassembled_udp()));
    assert_eq!(d.stats().defrag_bad_fragments, 0);
    // The datagram is gone: a late duplicate starts a new one, which never completes.
    assert_eq!(feed(&mut d, 0, V4, &b), None);
}

#[test]
fn ipv4_consistent_overlap() {
    let mut d = decoder(DefragLimits::default());
    let data = udp_datagram();
    assert_eq!(feed(&mut d, 0, V4, &v4_frag(1, 17, 0, true, &data[..24])), None);
    assert_eq!(feed(&mut d, 0, V4, &v4_frag(1, 17, 8, true, &data[8..16])), None);
    assert_eq!(
        feed(&mut d, 0, V4, &v4_frag(1, 17, 16, false, &data[16..])),
        Some(reassembled_udp())
    );
    assert_eq!(d.stats().defrag_bad_fragments, 0);
}

#[test]
fn ipv4_conflicting_overlap_first_wins() {
    let data = udp_datagram();
    let mut forged = data.clone();
    forged[16..24].fill(0xee);
    let good = v4_frag(1, 17, 0, true, &data[..24]);
    let evil = v4_frag(1, 17, 16, false, &forged[16..]);

    let mut d = decoder(DefragLimits::default());
    assert_eq!(feed(&mut d, 0, V4, &good), None);
    assert_eq!(feed(&mut d, 0, V4, &evil), Some(reassembled_udp()));
    assert_eq!(d.stats().defrag_bad_fragments, 1);

    // The other way round, the forged bytes arrived first and are kept.
    let mut d = decoder(DefragLimits::default());
    assert_eq!(feed(&mut d, 0, V4, &evil), None);
    let got = feed(&mut d, 0, V4, &good).expect("complete");
    assert_eq!(got.transport, Ok(forged[8..].to_vec()));
    assert_eq!(d.stats().defrag_bad_fragments, 1);
}

#[test]
fn ipv4_key_includes_protocol() {
    let mut d = decoder(DefragLimits::default());
    let [a, b, c] = v4_three(9);
    let mut other = v4_three(9)[0].clone();
    other[9] = 6; // same id, TCP
    assert_eq!(feed(&mut d, 0, V4, &a), None);
    assert_eq!(feed(&mut d, 0, V4, &other), None);
    assert_eq!(feed(&mut d, 0, V4, &b), None);
    assert_eq!(feed(&mut d, 0, V4, &c), Some(reassembled_udp()));
    assert_eq!(d.stats().defrag_bad_fragments, 0);
}

#[test]
fn ipv4_tcp_reassembled() {
    // TCP 1234 -> 80, data offset 5, PSH|ACK, then 20 payload bytes, split 24 + 16.
    let mut seg =
        vec![0x04, 0xd2, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 2, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0];
    seg.extend(100u8..120);
    let mut d = decoder(DefragLimits::default());
    assert_eq!(feed(&mut d, 0, V4, &v4_frag(3, 6, 24, false, &seg[24..])), None);
    let got = feed(&mut d, 0, V4, &v4_frag(3, 6, 0, true, &seg[..24]));
    assert_eq!(
        got,
        Some(Done { ip_len: 60, reassembled: true, transport: Ok((100u8..120).collect()) })
    );
}

#[test]
fn ipv4_reassembled_bad_transport_is_counted() {
    // A 16-byte "TCP" datagram: shorter than the fixed TCP header.
    let mut d = decoder(DefragLimits::default());
    assert_eq!(feed(&mut d, 0, V4, &v4_frag(3, 6, 0, true, &[0; 8])), None);
    let net = Network { ethertype: V4, vlan: None, payload: &v4_frag(3, 6, 8, false, &[0; 8]) };
    let e = d.decode(Timestamp(0), &net).unwrap_err();
    assert_eq!(e, DecodeError::BadTransportHeader);
    assert_eq!((d.stats().reassembled, d.stats().bad_transport), (1, 1));
}

#[test]
fn ipv6_fragments_with_extension_headers() {
    // Fragmentable part: destination options (next UDP, PadN(4)) then the UDP datagram: 48 bytes.
    let mut part = vec![17, 0x00, 0x01, 0x04, 0, 0, 0, 0];
    part.extend(udp_datagram());
    let mut d = decoder(DefragLimits::default());
    assert_eq!(feed(&mut d, 0, V6, &v6_frag(0xdead, 60, 24, false, &part[24..])), None);
    let got = feed(&mut d, 0, V6, &v6_frag(0xdead, 60, 0, true, &part[..24]));
    // 40 fixed + 8 hop-by-hop + 48 reassembled.
    assert_eq!(
        got,
        Some(Done { ip_len: 96, reassembled: true, transport: Ok((0u8..32).collect()) })
    );
    assert_eq!((d.stats().fragments, d.stats().reassembled), (2, 1));
}

#[test]
fn ipv6_fragment_id_separates_datagrams() {
    let data = udp_datagram();
    let mut d = decoder(DefragLimits::default());
    assert_eq!(feed(&mut d, 0, V6, &v6_frag(1, 17, 0, true, &data[..16])), None);
    assert_eq!(feed(&mut d, 0, V6, &v6_frag(2, 17, 16, false, &data[16..])), None);
    let got = feed(&mut d, 0, V6, &v6_frag(1, 17, 16, false, &data[16..]));
    assert_eq!(
        got,
        Some(Done { ip_len: 88, reassembled: true, transport: Ok((0u8..32).collect()) })
    );
}

#[test]
fn ipv6_nested_fragment_header_is_bad() {
    // The reassembled payload starts with another (non-atomic) fragment header.
    let inner = [17, 0, 0x00, 0x01, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    let mut d = decoder(DefragLimits::default());
    assert_eq!(feed(&mut d, 0, V6, &v6_frag(5, 44, 0, true, &inner[..8])), None);
    let net =
        Network { ethertype: V6, vlan: None, payload: &v6_frag(5, 44, 8, false, &inner[8..]) };
    assert_eq!(d.decode(Timestamp(0), &net).unwrap_err(), DecodeError::BadIpHeader);
    assert_eq!(d.stats().bad_ip, 1);
}

#[test]
fn ipv6_atomic_fragment_passes_through() {
    let mut d = decoder(DefragLimits::default());
    let got = feed(&mut d, 0, V6, &v6_frag(5, 17, 0, false, &udp_datagram()));
    assert_eq!(
        got,
        Some(Done { ip_len: 96, reassembled: false, transport: Ok((0u8..32).collect()) })
    );
    assert_eq!(d.stats().fragments, 0);
}

#[test]
fn timeout_by_capture_time() {
    let [a, b, c] = v4_three(7);
    // Exactly at the timeout the datagram is still alive.
    let mut d = decoder(DefragLimits::default());
    assert_eq!(feed(&mut d, 0, V4, &a), None);
    assert_eq!(feed(&mut d, 30 * SEC, V4, &b), None);
    assert_eq!(feed(&mut d, 30 * SEC, V4, &c), Some(reassembled_udp()));
    assert_eq!(d.stats().defrag_timeouts, 0);

    // Past it, the first fragment is gone and the rest never completes.
    let mut d = decoder(DefragLimits::default());
    assert_eq!(feed(&mut d, 0, V4, &a), None);
    assert_eq!(feed(&mut d, 30 * SEC + 1, V4, &b), None);
    assert_eq!(feed(&mut d, 30 * SEC + 1, V4, &c), None);
    assert_eq!(d.stats().defrag_timeouts, 1);

    // Expiry also runs on frames that are not fragments.
    let mut d = decoder(DefragLimits { timeout_ns: SEC, ..DefragLimits::default() });
    assert_eq!(feed(&mut d, 0, V4, &a), None);
    let whole = v4_frag(8, 17, 0, false, &udp_datagram());
    assert!(feed(&mut d, 2 * SEC, V4, &whole).is_some());
    assert_eq!(d.stats().defrag_timeouts, 1);
    assert_eq!(feed(&mut d, 2 * SEC, V4, &b), None);
    assert_eq!(feed(&mut d, 2 * SEC, V4, &c), None);
}

#[test]
fn timeout_with_time_going_backwards() {
    // A frame from the past neither panics nor expires anything.
    let [a, b, c] = v4_three(7);
    let mut d = decoder(DefragLimits::default());
    assert_eq!(feed(&mut d, 100 * SEC, V4, &a), None);
    assert_eq!(feed(&mut d, i64::MIN, V4, &b), None);
    assert_eq!(feed(&mut d, 100 * SEC, V4, &c), Some(reassembled_udp()));
    // Far future: everything expires, without overflow.
    assert_eq!(feed(&mut d, i64::MIN, V4, &a), None);
    assert_eq!(feed(&mut d, i64::MAX, V4, &b), None);
    assert_eq!(d.stats().defrag_timeouts, 1);
}

#[test]
fn max_datagrams() {
    let mut d = decoder(DefragLimits { max_datagrams: 2, ..DefragLimits::default() });
    let [a1, b1, c1] = v4_three(1);
    let [a2, ..] = v4_three(2);
    let [a3, b3, c3] = v4_three(3);
    assert_eq!(feed(&mut d, 0, V4, &a1), None);
    assert_eq!(feed(&mut d, 1, V4, &a2), None);
    assert_eq!(feed(&mut d, 2, V4, &a3), None); // drops datagram 1, the oldest
    assert_eq!(d.stats().defrag_capped, 1);
    assert_eq!(feed(&mut d, 3, V4, &b3), None);
    assert_eq!(feed(&mut d, 3, V4, &c3), Some(reassembled_udp()));
    assert_eq!(feed(&mut d, 4, V4, &b1), None); // datagram 1 starts again (room: 3 is done)
    assert_eq!(feed(&mut d, 4, V4, &c1), None); // and lacks its first fragment
    assert_eq!(d.stats().defrag_capped, 1);

    let mut d = decoder(DefragLimits { max_datagrams: 0, ..DefragLimits::default() });
    assert_eq!(feed(&mut d, 0, V4, &a1), None);
    assert_eq!(d.stats().defrag_capped, 1);
}

#[test]
fn max_buffered_bytes() {
    let data = udp_datagram();
    let mut d = decoder(DefragLimits { max_buffered_bytes: 32, ..DefragLimits::default() });
    assert_eq!(feed(&mut d, 0, V4, &v4_frag(1, 17, 0, true, &data[..16])), None); // 16 held
    assert_eq!(feed(&mut d, 0, V4, &v4_frag(2, 17, 0, true, &data[..24])), None); // drops 1
    assert_eq!(d.stats().defrag_capped, 1);
    // Datagram 3 alone needs 40 bytes: dropped itself, datagram 2 is kept.
    assert_eq!(feed(&mut d, 0, V4, &v4_frag(3, 17, 32, false, &data[32..])), None);
    assert_eq!(d.stats().defrag_capped, 2);
    // Datagram 2 grows to 32 bytes, exactly the budget, and completes (a truncated UDP datagram:
    // its length field says 40, so the payload is cut at the 32 reassembled bytes).
    let got = feed(&mut d, 0, V4, &v4_frag(2, 17, 24, false, &data[24..32]));
    assert_eq!(
        got,
        Some(Done { ip_len: 52, reassembled: true, transport: Ok((0u8..24).collect()) })
    );
    assert_eq!((d.stats().defrag_capped, d.stats().defrag_bad_fragments), (2, 0));
}

#[test]
fn max_buffered_bytes_completes_within_budget() {
    let mut d = decoder(DefragLimits { max_buffered_bytes: 40, ..DefragLimits::default() });
    let [a, b, c] = v4_three(1);
    assert_eq!(feed(&mut d, 0, V4, &c), None);
    assert_eq!(feed(&mut d, 0, V4, &a), None);
    assert_eq!(feed(&mut d, 0, V4, &b), Some(reassembled_udp()));
    let mut d = decoder(DefragLimits { max_buffered_bytes: 39, ..DefragLimits::default() });
    assert_eq!(feed(&mut d, 0, V4, &c), None);
    assert_eq!(d.stats().defrag_capped, 1);
}

#[test]
fn max_fragments_per_datagram() {
    let [a, b, c] = v4_three(1);
    let mut d = decoder(DefragLimits { max_fragments_per_datagram: 2, ..DefragLimits::default() });
    assert_eq!(feed(&mut d, 0, V4, &a), None);
    assert_eq!(feed(&mut d, 0, V4, &b), None);
    assert_eq!(feed(&mut d, 0, V4, &c), None);
    assert_eq!(d.stats().defrag_bad_fragments, 1);

    let mut d = decoder(DefragLimits { max_fragments_per_datagram: 0, ..DefragLimits::default() });
    assert_eq!(feed(&mut d, 0, V4, &a), None);
    assert_eq!(d.stats().defrag_bad_fragments, 1);
}

#[test]
fn offsets_beyond_the_limit() {
    let mut d = decoder(DefragLimits::default());
    // Largest offset (8191 * 8 = 65528): 8 bytes end at 65536, one past the limit.
    assert_eq!(feed(&mut d, 0, V4, &v4_frag(1, 17, 65528, false, &[0; 8])), None);
    assert_eq!(d.stats().defrag_bad_fragments, 1);
    // 7 bytes end exactly at 65535: accepted.
    assert_eq!(feed(&mut d, 0, V4, &v4_frag(1, 17, 65528, false, &[0; 7])), None);
    assert_eq!(d.stats().defrag_bad_fragments, 1);
    // IPv6 too.
    assert_eq!(feed(&mut d, 0, V6, &v6_frag(1, 17, 65528, true, &[0; 16])), None);
    assert_eq!(d.stats().defrag_bad_fragments, 2);
}

#[test]
fn zero_length_fragments() {
    let data = udp_datagram();
    let mut d = decoder(DefragLimits::default());
    assert_eq!(feed(&mut d, 0, V4, &v4_frag(1, 17, 8, true, &[])), None);
    assert_eq!(feed(&mut d, 0, V4, &v4_frag(1, 17, 0, true, &data)), None);
    // A zero-length last fragment sets the end.
    assert_eq!(feed(&mut d, 0, V4, &v4_frag(1, 17, 40, false, &[])), Some(reassembled_udp()));
    assert_eq!(d.stats().defrag_bad_fragments, 0);
}

#[test]
fn malformed_fragments() {
    let data = udp_datagram();
    let mut d = decoder(DefragLimits::default());
    // Non-last fragment whose length is not a multiple of 8.
    assert_eq!(feed(&mut d, 0, V4, &v4_frag(1, 17, 0, true, &data[..12])), None);
    assert_eq!(d.stats().defrag_bad_fragments, 1);
    // Fragment cut by the snap length.
    let cut = v4_frag(1, 17, 0, true, &data[..16]);
    assert_eq!(feed(&mut d, 0, V4, &cut[..30]), None);
    assert_eq!(d.stats().defrag_bad_fragments, 2);
    // Contradicting ends: a second last fragment with another end, data past the end, and a last
    // fragment ending before data already held.
    assert_eq!(feed(&mut d, 0, V4, &v4_frag(2, 17, 32, false, &data[32..])), None);
    assert_eq!(feed(&mut d, 0, V4, &v4_frag(2, 17, 24, false, &data[24..32])), None);
    assert_eq!(feed(&mut d, 0, V4, &v4_frag(2, 17, 40, true, &[0; 8])), None);
    assert_eq!(d.stats().defrag_bad_fragments, 4);
    assert_eq!(feed(&mut d, 0, V4, &v4_frag(3, 17, 16, true, &data[16..32])), None);
    assert_eq!(feed(&mut d, 0, V4, &v4_frag(3, 17, 8, false, &data[8..16])), None);
    assert_eq!(d.stats().defrag_bad_fragments, 5);
    // Datagram 2 still completes from good fragments.
    assert_eq!(feed(&mut d, 0, V4, &v4_frag(2, 17, 0, true, &data[..32])), Some(reassembled_udp()));
}

#[test]
fn fill_tracks_holes() {
    let mut e = Entry {
        serial: 0,
        first_ts: 0,
        data: vec![0; 64],
        ranges: Vec::new(),
        end: None,
        fragments: 0,
        head: None,
    };
    assert!(!e.fill(16, &[1; 8]));
    assert!(!e.fill(40, &[2; 8]));
    assert_eq!(e.ranges, [(16, 24), (40, 48)]);
    // Touching ranges merge.
    assert!(!e.fill(24, &[1; 8]));
    assert_eq!(e.ranges, [(16, 32), (40, 48)]);
    // Spanning both and the hole between: only the hole is written; the overlap disagrees.
    assert!(e.fill(8, &[3; 48]));
    assert_eq!(e.ranges, [(8, 56)]);
    assert_eq!(&e.data[8..16], &[3; 8]);
    assert_eq!(&e.data[16..32], &[1; 16]);
    assert_eq!(&e.data[32..40], &[3; 8]);
    assert_eq!(&e.data[40..48], &[2; 8]);
    assert_eq!(&e.data[48..56], &[3; 8]);
    // Inside held data, identical: no conflict.
    assert!(!e.fill(18, &[1; 4]));
    assert!(!e.fill(0, &[]));
    assert_eq!(e.ranges, [(8, 56)]);
    e.end = Some(56);
    assert!(!e.is_complete());
    assert!(!e.fill(0, &[0; 8]));
    assert!(e.is_complete());
}

/// Pseudo-random fragment soup (xorshift, fixed seed): no panic, and the limits hold after every
/// fragment. Parameters are tuned so that every outcome (completion, each drop) happens.
#[test]
fn random_fragments_keep_invariants() {
    let limits = DefragLimits {
        max_datagrams: 8,
        max_buffered_bytes: 2048,
        max_fragments_per_datagram: 6,
        timeout_ns: 10,
    };
    let mut f = Defragmenter::new(limits);
    let mut stats = WireStats::default();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || xorshift64(&mut x);
    let data = [0xabu8; 1024];
    let mut completed = 0;
    for now in 0..50_000i64 {
        let r = next();
        let key = Key {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            id: FragId::V4 { protocol: 17, id: (r % 10) as u16 },
        };
        let frag = Frag {
            id: key.id,
            offset: ((r >> 8) % 8) as u32 * 64,
            more: (r >> 16) % 4 != 0,
            truncated: (r >> 24) % 100 == 0,
            header_len: 20,
        };
        let len = ((r >> 32) % 9) as usize * 32 + usize::from((r >> 40) % 20 == 0);
        let got = f.insert(now, key, &frag, 17, &data[..len], &mut stats).map(|r| r.payload.len());
        if let Some(n) = got {
            assert!(n <= super::MAX_PAYLOAD as usize);
            completed += 1;
        }
        assert!(f.buffered <= limits.max_buffered_bytes);
        assert_eq!(f.buffered, f.table.values().map(|e| e.data.len()).sum::<usize>());
        assert!(f.table.len() <= limits.max_datagrams);
        assert!(f.order.len() <= 2 * limits.max_datagrams + 64);
        assert!(f.table.values().all(|e| e.fragments <= limits.max_fragments_per_datagram));
    }
    println!("{completed} completed, {stats:?}");
    assert!(completed > 0);
    assert!(stats.defrag_capped > 0 && stats.defrag_timeouts > 0 && stats.defrag_bad_fragments > 0);
}
