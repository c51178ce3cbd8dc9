use std::net::{Ipv4Addr, Ipv6Addr};

use flow::{Chunk, Direction};

use super::name::{NameIssue, read_name};
use super::*;
use crate::{Anomalies, DnsAnswer, DnsQuery, Event, RData};
use testkit::hex;
use testkit::rng::xorshift64;

/// Wire form of a dotted ASCII name (no escapes).
fn wire_name(name: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for label in name.split('.').filter(|l| !l.is_empty()) {
        v.push(label.len() as u8);
        v.extend_from_slice(label.as_bytes());
    }
    v.push(0);
    v
}

/// Header bytes.
fn header(id: u16, flags: u16, qd: u16, an: u16) -> Vec<u8> {
    let mut v = Vec::new();
    for x in [id, flags, qd, an, 0, 0] {
        v.extend_from_slice(&x.to_be_bytes());
    }
    v
}

/// A standard query (RD set) with the given questions (class IN).
fn query(id: u16, questions: &[(&str, u16)]) -> Vec<u8> {
    let mut v = header(id, 0x0100, questions.len() as u16, 0);
    for (name, qtype) in questions {
        v.extend(wire_name(name));
        v.extend_from_slice(&qtype.to_be_bytes());
        v.extend_from_slice(&1u16.to_be_bytes());
    }
    v
}

fn q(id: u16, name: &str, qtype: u16) -> Event {
    Event::DnsQuery(DnsQuery { id, name: name.into(), qtype })
}

fn parse(msg: &[u8]) -> (Vec<Event>, Anomalies) {
    let mut out = Vec::new();
    let mut an = Anomalies::default();
    DnsParser::new().datagram(msg, &mut out, &mut an);
    (out, an)
}

fn render(label: &[u8]) -> (String, Option<NameIssue>) {
    let mut msg = vec![label.len() as u8];
    msg.extend_from_slice(label);
    msg.push(0);
    let mut text = String::new();
    let read = read_name(&msg, 0, &mut text).unwrap();
    assert_eq!(read.end, msg.len());
    (text, read.issue)
}

fn anomalies(malformed: u64, bad_name: u64, gaps: u64) -> Anomalies {
    Anomalies { dns_malformed: malformed, dns_bad_name: bad_name, gaps, ..Anomalies::default() }
}

/// Query from suricata-verify `tests/dns/dns-tcp-www-google-com/dns.pcap` (client to server,
/// TCP, length prefix included): `www.google.com` A, with an EDNS cookie in the additional section.
const GOOGLE_QUERY_TCP: &str = "00375f78012000010000000000010377777706676f6f676c6503636f6d0000010001\
                                000029100000000000000c000a00085a760730fb2b37d5";

/// The response from the same capture (server to client, TCP, prefix included): twelve A records.
const GOOGLE_RESPONSE_TCP: &str = "00eb5f7881800001000c000000010377777706676f6f676c6503636f6d00000100\
    01c00c00010001000000080004d8c5f2f4c00c00010001000000080004d8c5f2e0c00c00010001000000080004d8c5f2ee\
    c00c00010001000000080004d8c5f2d2c00c00010001000000080004d8c5f2e6c00c00010001000000080004d8c5f2df\
    c00c00010001000000080004d8c5f2f5c00c00010001000000080004d8c5f2e7c00c00010001000000080004d8c5f2fb\
    c00c00010001000000080004d8c5f2edc00c00010001000000080004d8c5f2d9c00c00010001000000080004d8c5f2d8\
    0000290200000000000000";

#[test]
fn query_from_capture() {
    let (out, an) = parse(&hex(GOOGLE_QUERY_TCP)[2..]);
    assert_eq!(out, [q(0x5f78, "www.google.com", 1)]);
    assert_eq!(an, Anomalies::default());
}

#[test]
fn response_from_capture() {
    let (out, an) = parse(&hex(GOOGLE_RESPONSE_TCP)[2..]);
    assert_eq!(an, Anomalies::default());
    assert_eq!(out.len(), 12);
    let last = [0xf4, 0xe0, 0xee, 0xd2, 0xe6, 0xdf, 0xf5, 0xe7, 0xfb, 0xed, 0xd9, 0xd8];
    for (ev, last) in out.iter().zip(last) {
        let want = DnsAnswer {
            id: 0x5f78,
            name: "www.google.com".into(),
            rtype: 1,
            ttl: 8,
            data: RData::A(Ipv4Addr::new(216, 197, 242, last)),
        };
        assert_eq!(ev, &Event::DnsAnswer(want));
    }
}

/// suricata-verify `tests/dns/dns-forward-pointer/input.pcap`, first packet: two questions, the
/// first compressed with a pointer to the second. tshark reports `codemonkey.net`.
#[test]
fn forward_pointer_is_followed() {
    let msg = hex("8e0401000002000000000000c012000100010a636f64656d6f6e6b6579036e65740000010001");
    let (out, an) = parse(&msg);
    assert_eq!(out, [q(0x8e04, "codemonkey.net", 1), q(0x8e04, "codemonkey.net", 1)]);
    assert_eq!(an, Anomalies::default());
}

/// zeek `testing/btest/Traces/dns/dns-invalid-names.pcap`: a name cut after one label, a pointer to
/// itself (tshark: "<Name contains a pointer that loops>"), and a name with no root label.
#[test]
fn invalid_names_from_capture() {
    let (out, an) = parse(&hex("2222010000010000000000000361"));
    assert_eq!((out, an), (vec![], anomalies(1, 0, 0)));
    let (out, an) = parse(&hex("222301000001000000000000c00c00010001"));
    assert_eq!((out, an), (vec![q(0x2223, "", 1)], anomalies(0, 1, 0)));
    let (out, an) = parse(&hex("22240100000100000000000003616263"));
    assert_eq!((out, an), (vec![], anomalies(1, 0, 0)));
}

#[test]
fn pointer_loops_terminate() {
    // Two pointers pointing at each other (the second one after the question).
    let mut msg = header(1, 0, 1, 0);
    msg.extend(hex("c012 0001 0001 c00c"));
    let (out, an) = parse(&msg);
    assert_eq!((out, an), (vec![q(1, "", 1)], anomalies(0, 1, 0)));
    // A label then a pointer back to it: stops at the wire length limit.
    let mut msg = header(2, 0, 1, 0);
    msg.extend(hex("0161 c00c 0001 0001"));
    let (out, an) = parse(&msg);
    assert_eq!(an, anomalies(0, 1, 0));
    let Event::DnsQuery(got) = &out[0] else { panic!("{out:?}") };
    assert_eq!(got.name, vec!["a"; MAX_LABELS].join("."));
    assert_eq!(got.qtype, 1);
    // A pointer chain: question 2 points at question 1's pointer, which points forward past the end.
    let mut msg = header(3, 0, 2, 0);
    msg.extend(hex("c0ff 0001 0001 c00c 0001 0001"));
    let (out, an) = parse(&msg);
    assert_eq!((out, an), (vec![q(3, "", 1), q(3, "", 1)], anomalies(0, 2, 0)));
}

#[test]
fn long_chain_of_pointers_is_cut() {
    // Question 1 is `x`; then 200 pointers each pointing at the previous one (backwards).
    let mut msg = header(4, 0, 1, 0);
    msg.extend(hex("0178 00"));
    let mut prev = 12usize;
    let mut start = 0;
    for _ in 0..200 {
        start = msg.len();
        msg.extend_from_slice(&(0xc000 | prev as u16).to_be_bytes());
        prev = start;
    }
    let mut text = String::new();
    let read = read_name(&msg, start, &mut text).unwrap();
    assert_eq!(read.issue, Some(NameIssue::PointerLoop));
    assert_eq!(read.end, start + 2);
    // 100 hops are fine.
    let mut text = String::new();
    let read = read_name(&msg, 12 + 3 + 2 * 99, &mut text).unwrap();
    assert_eq!((read.issue, text.as_str()), (None, "x"));
}

#[test]
fn name_length_limits() {
    let label = |c: char, n: usize| c.to_string().repeat(n);
    // 63 + 63 + 63 + 61 octets of labels: 255 on the wire, the most allowed.
    let longest = [label('a', 63), label('b', 63), label('c', 63), label('d', 61)].join(".");
    let (out, an) = parse(&query(5, &[(&longest, 1)]));
    assert_eq!((out, an), (vec![q(5, &longest, 1)], Anomalies::default()));
    // One more octet: cut after three labels, and the next question is still read.
    let too_long = [label('a', 63), label('b', 63), label('c', 63), label('d', 62)].join(".");
    let (out, an) = parse(&query(6, &[(&too_long, 1), ("next.example", 28)]));
    let cut = [label('a', 63), label('b', 63), label('c', 63)].join(".");
    assert_eq!((out, an), (vec![q(6, &cut, 1), q(6, "next.example", 28)], anomalies(0, 1, 0)));
    // 128 one-octet labels.
    let many = vec!["z"; 128].join(".");
    let (out, an) = parse(&query(7, &[(&many, 1)]));
    assert_eq!((out, an), (vec![q(7, &vec!["z"; 127].join("."), 1)], anomalies(0, 1, 0)));
}

#[test]
fn label_rendering() {
    assert_eq!(render(b"WwW-Example_1"), ("www-example_1".into(), None));
    // nDPI `tests/pcap/dns-invalid-chars.pcap`; tshark prints `allyourba\004\005\006arebelongto`.
    assert_eq!(render(b"allyourba\x04\x05\x06arebelongto").0, r"allyourba\004\005\006arebelongto");
    // nDPI `fuzz-2006-06-26-2594.pcap`: tshark prints octal `\022` for 0x12 and `\r` for CR.
    assert_eq!(render(b"\x12").0, r"\018");
    assert_eq!(render(b"s\rp").0, r"s\013p");
    assert_eq!(render(b"%s\x00").0, r"%s\000");
    assert_eq!(render(b"a.b").0, r"a\.b");
    assert_eq!(render(b"arp\\").0, r"arp\\");
    assert_eq!(render(b"Cats Claws").0, "cats claws");
    assert_eq!(render(b"\x7f").0, r"\127");
    // UTF-8 (nDPI `1kxun.pcap` asks for this name): kept; upper-case non-ASCII is not folded.
    assert_eq!(render("小佛專機".as_bytes()).0, "小佛專機");
    assert_eq!(render("Ärzte".as_bytes()).0, "Ärzte");
    // Invalid UTF-8 (0xec alone) and a C1 control (U+0085): escaped byte by byte.
    assert_eq!(render(b"ecite\xece").0, r"ecite\236e");
    assert_eq!(render("a\u{85}".as_bytes()).0, r"a\194\133");
    // The root name.
    let mut text = String::new();
    assert_eq!(read_name(&[0], 0, &mut text).unwrap().end, 1);
    assert_eq!(text, "");
}

#[test]
fn escaped_names_stay_under_text_limit() {
    let nasty = [0x01u8; 63];
    let mut msg = header(8, 0, 1, 0);
    for n in [63, 63, 63, 61] {
        msg.push(n);
        msg.extend_from_slice(&nasty[..usize::from(n)]);
    }
    msg.extend(hex("00 0001 0001"));
    let (out, an) = parse(&msg);
    assert_eq!(an, Anomalies::default());
    let Event::DnsQuery(got) = &out[0] else { panic!() };
    assert_eq!(got.name.len(), 250 * 4 + 3);
    assert!(got.name.len() <= MAX_NAME_LEN);
}

#[test]
fn extended_label_types_are_malformed() {
    for first in [0x41u8, 0x80] {
        let mut msg = header(9, 0, 2, 0);
        msg.extend([first, 0, 0, 1, 0, 1]);
        assert_eq!(parse(&msg), (vec![], anomalies(1, 0, 0)));
    }
    // After a pointer the name is delimited: cut, and the message goes on.
    let mut msg = header(10, 0, 2, 0);
    msg.extend(hex("c01e 0001 0001 03636f6d 00 0001 0001 41"));
    let (out, an) = parse(&msg);
    assert_eq!((out, an), (vec![q(10, "", 1), q(10, "com", 1)], anomalies(0, 1, 0)));
}

#[test]
fn truncated_messages() {
    let full = query(11, &[("a.example", 1), ("b.example", 28)]);
    for len in 0..full.len() {
        let (out, an) = parse(&full[..len]);
        assert_eq!(an, anomalies(1, 0, 0), "cut at {len}");
        let want = if len >= 12 + 11 + 4 { vec![q(11, "a.example", 1)] } else { vec![] };
        assert_eq!(out, want, "cut at {len}");
    }
    assert_eq!(
        parse(&full),
        (vec![q(11, "a.example", 1), q(11, "b.example", 28)], Anomalies::default())
    );
    // A response cut inside its third answer keeps the first two.
    let resp = &hex(GOOGLE_RESPONSE_TCP)[2..];
    let cut = 12 + 20 + 2 * 16 + 5;
    let (out, an) = parse(&resp[..cut]);
    assert_eq!((out.len(), an), (2, anomalies(1, 0, 0)));
}

#[test]
fn many_questions() {
    // 600 questions, all pointing at the first one's name.
    let mut msg = header(12, 0, 600, 0);
    msg.extend(wire_name("tracker.example"));
    msg.extend(hex("0001 0001"));
    for _ in 1..600 {
        msg.extend(hex("c00c 0041 0001"));
    }
    let (out, an) = parse(&msg);
    assert_eq!(an, anomalies(1, 0, 0));
    assert_eq!(out.len(), MAX_RECORDS_PER_SECTION);
    assert_eq!(out[0], q(12, "tracker.example", 1));
    assert_eq!(out[1], q(12, "tracker.example", 65));
    // 300 are fine.
    msg.truncate(12 + 17 + 4 + 299 * 6);
    msg[4..6].copy_from_slice(&300u16.to_be_bytes());
    let (out, an) = parse(&msg);
    assert_eq!((out.len(), an), (300, Anomalies::default()));
}

#[test]
fn response_record_types() {
    let mut msg = header(13, 0x8180, 1, 6);
    msg.extend(wire_name("www.example.com"));
    msg.extend(hex("0001 0001"));
    // CNAME www.example.com -> CDN.Example.NET (compressed: `cdn.example` + pointer... written fully)
    msg.extend(hex("c00c 0005 0001 00000e10 0011 03 43444e 07 4578616d706c65 03 4e4554 00"));
    // A with a bad length: kept raw.
    msg.extend(hex("c00c 0001 0001 0000003c 0003 010203"));
    // AAAA 2001:db8::1
    msg.extend(hex("c00c 001c 0001 0000003c 0010 20010db8000000000000000000000001"));
    // PTR pointing at the question name.
    msg.extend(hex("c00c 000c 0001 00000001 0002 c00c"));
    // MX: raw.
    msg.extend(hex("c00c 000f 0001 00000001 0004 000a c00c"));
    // NS whose name runs past its RDATA: raw, counted as a bad name.
    msg.extend(hex("c00c 0002 0001 00000001 0002 0161 00"));
    let (out, an) = parse(&msg);
    let a = |rtype, ttl, data| {
        Event::DnsAnswer(DnsAnswer { id: 13, name: "www.example.com".into(), rtype, ttl, data })
    };
    assert_eq!(
        out,
        [
            a(5, 3600, RData::Cname("cdn.example.net".into())),
            a(1, 60, RData::Raw(vec![1, 2, 3])),
            a(28, 60, RData::Aaaa(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))),
            a(12, 1, RData::Name("www.example.com".into())),
            a(15, 1, RData::Raw(hex("000a c00c"))),
            a(2, 1, RData::Raw(hex("0161"))),
        ]
    );
    // The trailing `00` after the last record is not parsed (authority count is 0).
    assert_eq!(an, anomalies(0, 1, 0));
}

#[test]
fn queries_and_responses_only_report_their_own_section() {
    // A response's question is not a query.
    let mut resp = query(14, &[("example.com", 1)]);
    resp[2] |= 0x80;
    assert_eq!(parse(&resp), (vec![], Anomalies::default()));
    // mDNS query with a known answer: only the question is reported.
    let mut msg = header(0, 0, 1, 1);
    msg.extend(wire_name("_airplay._tcp.local"));
    msg.extend(hex("000c 8001"));
    msg.extend(hex("c00c 000c 0001 00001194 0002 c00c"));
    assert_eq!(parse(&msg), (vec![q(0, "_airplay._tcp.local", 12)], Anomalies::default()));
    // An UPDATE (opcode 5): its zone section is reported as a query, like tshark does.
    let mut update = query(15, &[("Example.COM", 6)]);
    update[2] = 5 << 3;
    assert_eq!(parse(&update), (vec![q(15, "example.com", 6)], Anomalies::default()));
}

/// suricata-verify `tests/dns/dns-tcp-multirequest-buffer`: the client sends twenty length-prefixed
/// queries in one segment. Built the same way here, three of them.
fn multi_stream() -> (Vec<u8>, Vec<Event>) {
    let mut stream = Vec::new();
    let mut want = Vec::new();
    for i in 0..3u16 {
        let name = format!("{i}.google.com");
        let msg = query(i, &[(&name, 1)]);
        stream.extend_from_slice(&(msg.len() as u16).to_be_bytes());
        stream.extend(msg);
        want.push(q(i, &name, 1));
    }
    (stream, want)
}

fn feed(p: &mut DnsParser, chunks: &[Chunk<'_>]) -> (Vec<Event>, Anomalies) {
    let mut out = Vec::new();
    let mut an = Anomalies::default();
    for &c in chunks {
        p.stream(Direction::ToServer, c, &mut out, &mut an);
    }
    (out, an)
}

#[test]
fn tcp_split_at_every_boundary() {
    let (stream, want) = multi_stream();
    for i in 0..=stream.len() {
        for j in i..=stream.len() {
            let (a, rest) = stream.split_at(i);
            let (b, c) = rest.split_at(j - i);
            let chunks = [
                Chunk::Data { offset: 0, bytes: a },
                Chunk::Data { offset: i as u64, bytes: b },
                Chunk::Data { offset: j as u64, bytes: c },
                Chunk::End,
            ];
            let got = feed(&mut DnsParser::new(), &chunks);
            assert_eq!(got, (want.clone(), Anomalies::default()), "split at {i}, {j}");
        }
    }
}

#[test]
fn tcp_one_byte_at_a_time() {
    let mut stream = multi_stream().0;
    stream.extend(hex(GOOGLE_QUERY_TCP));
    let mut p = DnsParser::new();
    let mut out = Vec::new();
    let mut an = Anomalies::default();
    for (i, b) in stream.iter().enumerate() {
        let bytes = std::slice::from_ref(b);
        p.stream(Direction::ToServer, Chunk::Data { offset: i as u64, bytes }, &mut out, &mut an);
    }
    assert_eq!(an, Anomalies::default());
    assert_eq!(out.len(), 4);
    assert_eq!(out[3], q(0x5f78, "www.google.com", 1));
    assert!(p.tcp[0].partial.is_empty());
    // Both directions are independent.
    let resp = hex(GOOGLE_RESPONSE_TCP);
    let mut out = Vec::new();
    for (i, b) in resp.iter().enumerate() {
        let c = Chunk::Data { offset: i as u64, bytes: std::slice::from_ref(b) };
        p.stream(Direction::ToClient, c, &mut out, &mut an);
        if i == 3 {
            p.stream(
                Direction::ToServer,
                Chunk::Data { offset: stream.len() as u64, bytes: &[0] },
                &mut out,
                &mut an,
            );
        }
    }
    assert_eq!(out.len(), 12);
    assert_eq!(p.tcp[0].partial, [0]);
}

#[test]
fn tcp_gap_drops_partial_and_resyncs() {
    let (stream, want) = multi_stream();
    let first = usize::from(u16::from_be_bytes([stream[0], stream[1]])) + 2;
    // The first message and part of the second, a hole, then data starting at the third message.
    let mut p = DnsParser::new();
    let chunks = [
        Chunk::Data { offset: 0, bytes: &stream[..first + 10] },
        Chunk::Gap { offset: (first + 10) as u64, len: 100 },
        Chunk::Data { offset: (first + 110) as u64, bytes: &stream[first..] },
        Chunk::End,
    ];
    let (out, an) = feed(&mut p, &chunks);
    assert_eq!((out, an), (want.clone(), anomalies(0, 0, 1)));

    // After a gap, a chunk announcing a frame too short for a header is dropped whole; framing
    // restarts at the next chunk.
    let mut p = DnsParser::new();
    let mut junk = vec![0, 5];
    junk.extend_from_slice(&stream);
    let chunks = [
        Chunk::Data { offset: 0, bytes: &stream[..first + 10] },
        Chunk::Gap { offset: (first + 10) as u64, len: 1 },
        Chunk::Data { offset: (first + 11) as u64, bytes: &junk },
        Chunk::Data { offset: (first + 11 + junk.len()) as u64, bytes: &stream },
    ];
    let mut want2 = want[..1].to_vec();
    want2.extend_from_slice(&want);
    assert_eq!(feed(&mut p, &chunks), (want2.clone(), anomalies(0, 0, 1)));
    // The same, fed one byte at a time after the gap: the short length is seen once both of its
    // bytes are there, and the chunk holding the second byte is dropped.
    let mut p = DnsParser::new();
    let (out, an) = feed(&mut p, &chunks[..2]);
    assert_eq!((out, an), (want[..1].to_vec(), anomalies(0, 0, 1)));
    let mut out = Vec::new();
    let mut an = Anomalies::default();
    let base = first as u64 + 11;
    for (i, b) in [0u8, 5].iter().chain(&stream).enumerate() {
        let c = Chunk::Data { offset: base + i as u64, bytes: std::slice::from_ref(b) };
        p.stream(Direction::ToServer, c, &mut out, &mut an);
    }
    // Byte by byte, the resync restarts at every byte: it locks onto the stream's first frame.
    assert_eq!(out, want);
    assert_eq!(an, Anomalies::default());
}

#[test]
fn tcp_unreported_hole_and_overlap() {
    let (stream, want) = multi_stream();
    let mut p = DnsParser::new();
    let chunks = [
        Chunk::Data { offset: 0, bytes: &stream[..5] },
        // Overlapping replay of bytes 3..5 plus new bytes.
        Chunk::Data { offset: 3, bytes: &stream[3..] },
    ];
    assert_eq!(feed(&mut p, &chunks), (want.clone(), Anomalies::default()));
    let mut p = DnsParser::new();
    let chunks = [
        Chunk::Data { offset: 0, bytes: &stream[..5] },
        // A jump in offsets: handled as a gap.
        Chunk::Data { offset: 1000, bytes: &stream },
    ];
    assert_eq!(feed(&mut p, &chunks), (want, anomalies(0, 0, 1)));
}

#[test]
fn tcp_end_with_partial_message_and_zero_length() {
    let (stream, _) = multi_stream();
    let mut p = DnsParser::new();
    let (out, an) = feed(&mut p, &[Chunk::Data { offset: 0, bytes: &stream[..10] }, Chunk::End]);
    assert_eq!((out, an), (vec![], anomalies(1, 0, 0)));
    // A zero-length frame is a malformed message, and framing goes on.
    let mut bytes = vec![0, 0];
    bytes.extend_from_slice(&stream);
    let (out, an) = feed(&mut DnsParser::new(), &[Chunk::Data { offset: 0, bytes: &bytes }]);
    assert_eq!((out.len(), an), (3, anomalies(1, 0, 0)));
}

#[test]
fn tcp_large_message_buffer_is_bounded() {
    // A 65,535-byte message sent one byte at a time: buffered once, then freed.
    let mut msg = query(16, &[("big.example", 1)]);
    msg.resize(MAX_TCP_MESSAGE, 0);
    let mut stream = (msg.len() as u16).to_be_bytes().to_vec();
    stream.extend(&msg);
    let mut p = DnsParser::new();
    let mut out = Vec::new();
    let mut an = Anomalies::default();
    for (i, b) in stream.iter().enumerate() {
        let c = Chunk::Data { offset: i as u64, bytes: std::slice::from_ref(b) };
        p.stream(Direction::ToServer, c, &mut out, &mut an);
        assert!(p.tcp[0].partial.len() <= MAX_TCP_MESSAGE + 2);
    }
    assert_eq!(out, [q(16, "big.example", 1)]);
    assert_eq!(p.tcp[0].partial.capacity(), 0);
}

#[test]
fn hostile_inputs_do_not_panic() {
    // Deterministic pseudo-random messages, mutations of real ones, both transports.
    let seeds = [hex(GOOGLE_QUERY_TCP), hex(GOOGLE_RESPONSE_TCP), multi_stream().0];
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move || xorshift64(&mut x);
    for _ in 0..3000 {
        let mut m = seeds[(rnd() % 3) as usize].clone();
        for _ in 0..(rnd() % 8) {
            let i = (rnd() as usize) % m.len();
            m[i] = rnd() as u8;
        }
        m.truncate((rnd() as usize) % (m.len() + 1));
        let mut out = Vec::new();
        let mut an = Anomalies::default();
        let mut p = DnsParser::new();
        p.datagram(&m, &mut out, &mut an);
        let split = (rnd() as usize) % (m.len() + 1);
        p.stream(
            Direction::ToClient,
            Chunk::Data { offset: 0, bytes: &m[..split] },
            &mut out,
            &mut an,
        );
        p.stream(
            Direction::ToClient,
            Chunk::Data { offset: split as u64, bytes: &m[split..] },
            &mut out,
            &mut an,
        );
        p.stream(Direction::ToClient, Chunk::End, &mut out, &mut an);
        for ev in &out {
            if let Event::DnsQuery(DnsQuery { name, .. })
            | Event::DnsAnswer(DnsAnswer { name, .. }) = ev
            {
                assert!(name.len() <= MAX_NAME_LEN);
                assert!(!name.bytes().any(|b| b.is_ascii_uppercase()), "{name}");
            }
        }
    }
}
