use super::*;
use crate::packet::checksum;

fn c4() -> (SocketAddr, SocketAddr) {
    ("10.0.0.2:40000".parse().unwrap(), "93.184.216.34:80".parse().unwrap())
}

/// (seq, ack, flags, payload len, dir) of every segment.
fn summary(c: &TcpConversation) -> Vec<(u32, u32, u8, usize, Direction)> {
    c.segments().iter().map(|s| (s.seq, s.ack, s.flags.0, s.payload.len(), s.dir)).collect()
}

const C: Direction = Direction::ClientToServer;
const S: Direction = Direction::ServerToClient;

#[test]
fn seq_ack_numbering() {
    let (a, b) = c4();
    let mut c = Conversation::tcp(a, b);
    let req = [b'x'; 30];
    let resp = vec![b'y'; 3000];
    c.handshake().client_sends_split(&req, &[10, 20]).server_sends(&resp).fin();
    let (ack, psh, syn, fin) = (0x10, 0x08, 0x02, 0x01);
    assert_eq!(
        summary(&c),
        [
            (1000, 0, syn, 0, C),
            (5000, 1001, syn | ack, 0, S),
            (1001, 5001, ack, 0, C),
            (1001, 5001, ack, 10, C),
            (1011, 5001, ack, 10, C),
            (1021, 5001, ack | psh, 10, C),
            (5001, 1031, ack, 1460, S),
            (6461, 1031, ack, 1460, S),
            (7921, 1031, ack | psh, 80, S),
            (1031, 8001, fin | ack, 0, C),
            (8001, 1032, fin | ack, 0, S),
            (1032, 8002, ack, 0, C),
        ]
    );
    let ts: Vec<i64> = c.segments().iter().map(|s| s.ts_ns).collect();
    assert!(ts.windows(2).all(|w| w[1] - w[0] == MS));
    assert_eq!(ts[0], crate::DEFAULT_START_NS);
    // SYN options: MSS 1460 first.
    assert_eq!(&c.segments()[0].options[..4], &[2, 4, 0x05, 0xb4]);
    assert!(c.segments()[3].options.is_empty());
}

#[test]
fn isn_wraps_and_auto_ack() {
    let (a, b) = c4();
    let mut c = Conversation::tcp(a, b).isn(0xffff_fff0, 7).auto_ack(true).mss(10);
    c.handshake().client_sends(&[1; 25]);
    let s = summary(&c);
    assert_eq!(s[3].0, 0xffff_fff1);
    assert_eq!(s[4].0, 0xffff_fffb);
    assert_eq!(s[5].0, 5);
    assert_eq!(s[5].3, 5);
    assert_eq!(s[6], (8, 10, 0x10, 0, S), "auto ack covers all 25 bytes");
}

#[test]
fn reorder_retransmit_drop_duplicate() {
    let (a, b) = c4();
    let mut c = Conversation::tcp(a, b).step_ns(10);
    c.handshake();
    c.client_sends_split(b"aaaabbbbcccc", &[4, 8]); // 3, 4, 5
    let ts_before: Vec<i64> = c.segments().iter().map(|s| s.ts_ns).collect();
    c.reorder(&[5, 3, 4]);
    let p: Vec<&[u8]> = c.segments()[3..].iter().map(|s| &s.payload[..]).collect();
    assert_eq!(p, [&b"cccc"[..], b"aaaa", b"bbbb"]);
    let ts_after: Vec<i64> = c.segments().iter().map(|s| s.ts_ns).collect();
    assert_eq!(ts_before, ts_after, "timestamps stay with positions");
    c.swap(3, 4);
    assert_eq!(c.segments()[3].payload, b"aaaa");
    assert_eq!(c.segments()[4].payload, b"cccc");
    let next = c.next_ts_ns();
    c.retransmit(3);
    let r = &c.segments()[6];
    assert_eq!((r.seq, &r.payload[..], r.ts_ns), (1001, &b"aaaa"[..], next));
    assert_ne!(r.ip_id, c.segments()[3].ip_id);
    c.drop_segment(4);
    assert_eq!(c.len(), 6);
    assert_eq!(c.segments()[4].payload, b"bbbb");
    c.duplicate(4);
    assert_eq!(c.segments()[4], c.segments()[5]);
}

fn u16at(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}
fn u32at(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes(b[i..i + 4].try_into().unwrap())
}

#[test]
fn frames_ipv4_ethernet() {
    let (a, b) = c4();
    let mut c = Conversation::tcp(a, b).ip_ids(100, 200);
    c.handshake().client_sends(b"hello");
    let f = c.frames();
    assert_eq!(f.len(), 4);
    assert_eq!(c.link_type(), 1);
    let hello = &f[3].1;
    assert_eq!(&hello[0..6], &packet::SERVER_MAC);
    assert_eq!(&hello[6..12], &packet::CLIENT_MAC);
    assert_eq!(&f[1].1[0..6], &packet::CLIENT_MAC, "reply goes back to the client");
    let ip = &hello[14..];
    assert_eq!(u16at(ip, 4), 102, "third client packet");
    assert_eq!(u16at(&f[1].1[14..], 4), 200);
    assert_eq!(ip[8], 64);
    assert_eq!(checksum::internet_checksum(&ip[..20]), 0);
    let tcp = &ip[20..];
    assert_eq!((u16at(tcp, 0), u16at(tcp, 2)), (40000, 80));
    assert_eq!((u32at(tcp, 4), u32at(tcp, 8)), (1001, 5001));
    assert_eq!(tcp[13], 0x18);
    assert_eq!(&tcp[20..], b"hello");
    assert_eq!(hello.len(), 14 + 20 + 20 + 5);
    let syn = &f[0].1[14 + 20..];
    assert_eq!(syn[12] >> 4, 10, "SYN has 20 option bytes");
    let mut sink: Vec<Frame> = Vec::new();
    c.write_to(&mut sink).unwrap();
    assert_eq!(sink, f);
}

#[test]
fn frames_ipv6_sll2_timestamps() {
    let a: SocketAddr = "[2001:db8::2]:50000".parse().unwrap();
    let b: SocketAddr = "[2001:db8::1]:443".parse().unwrap();
    let mut c = Conversation::tcp(a, b).link(Link::sll2()).tcp_timestamps(true);
    c.handshake().server_sends(&[0; 2000]);
    assert_eq!(c.segments()[3].payload.len(), 1440);
    let f = c.frames();
    assert_eq!(c.link_type(), 276);
    let d = &f[3].1;
    assert_eq!(&d[0..2], &[0x86, 0xdd]);
    assert_eq!(d[10], 0, "server to client: packet to us");
    assert_eq!(f[0].1[10], 4, "client: outgoing");
    let ip = &d[20..];
    assert_eq!(ip[0] >> 4, 6);
    assert_eq!(usize::from(u16at(ip, 4)), 32 + 1440);
    assert_eq!(ip[7], 56);
    let tcp = &ip[40..];
    assert_eq!(tcp[12] >> 4, 8, "timestamps option on data");
    assert_eq!(&tcp[20..24], &[1, 1, 8, 10]);
}

#[test]
fn udp_exchange_fragmented_and_v6() {
    let a: SocketAddr = "10.0.0.2:5353".parse().unwrap();
    let b: SocketAddr = "10.0.0.1:53".parse().unwrap();
    let mut u = Conversation::udp(a, b).link(Link::Raw).start_ns(5);
    u.client_datagram(&[1; 100]).server_datagram(&[2; 3000]).fragment(1, &[1480, 1480]);
    let f = u.frames();
    assert_eq!(f.len(), 1 + 3);
    assert!(f[1..].iter().all(|(ts, _)| *ts == 5 + MS));
    assert_eq!(f[0].1.len(), 20 + 8 + 100);
    assert_eq!(f[1].1.len(), 20 + 1480);
    assert_eq!(f[3].1.len(), 20 + (3008 - 2960));
    assert_eq!(u16at(&f[3].1, 6), 2960 / 8);
    let a6: SocketAddr = "[fe80::2]:1".parse().unwrap();
    let b6: SocketAddr = "[fe80::1]:2".parse().unwrap();
    let mut u6 = Conversation::udp(a6, b6).link(Link::null());
    u6.client_datagram(b"abc").fragment(0, &[8]);
    let f6 = u6.frames();
    assert_eq!(f6.len(), 2);
    assert_eq!(&f6[0].1[..4], &[30, 0, 0, 0]);
    assert_eq!(f6[0].1[4 + 6], 44);
}

#[test]
#[should_panic(expected = "different families")]
fn mixed_families_panic() {
    let _ = Conversation::tcp("10.0.0.1:1".parse().unwrap(), "[::1]:2".parse().unwrap());
}
