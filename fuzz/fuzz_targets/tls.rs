#![no_main]
//! Fuzz target: TLS over TCP (`proto::tls`).
//!
//! The input goes to `parse_client_hello` as a hello body, and to a `TlsParser` three ways:
//! as a client stream cut at positions taken from the first bytes (with a gap when asked), as a
//! server stream, and wrapped into valid handshake records (so the fuzzer reaches the hello
//! parsers through the record layer without having to find record headers first). Then the
//! NULL-cipher plaintext walkers: after a ServerHello choosing `TLS_RSA_WITH_NULL_SHA256` and a
//! ChangeCipherSpec in each direction, the input is fed as the records that follow, cut where the
//! first bytes say.
//! The input is also read as a DER certificate and as a Certificate message body (`x509`).
//! Invariants: no panic, no endless loop, only hello and certificate events, at most two hellos
//! per direction and one certificate;
//! plaintext pieces are contiguous from offset 0 and never more bytes than were fed.

use flow::{Chunk, Direction};
use proto::tls::{TlsParser, parse_client_hello};
use proto::{Anomalies, Event};

/// Cut positions taken from the input (each a step of 0..=255 bytes).
const MAX_CUTS: usize = 16;

fn check(out: &[Event]) {
    let (mut ch, mut sh, mut cert) = (0, 0, 0);
    for e in out {
        match e {
            Event::TlsClientHello(_) => ch += 1,
            Event::TlsServerHello(_) => sh += 1,
            Event::TlsCertificate(c) => {
                cert += 1;
                for s in [&c.subject_org, &c.subject_cn, &c.issuer_org].into_iter().flatten() {
                    assert!(s.len() <= proto::tls::x509::MAX_NAME_LEN);
                }
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert!(ch <= 2 && sh <= 2 && cert <= 1, "{ch} ClientHellos, {sh} ServerHellos, {cert} certs");
}

/// `payload` as handshake records of at most `frag` bytes.
fn records(payload: &[u8], frag: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(payload.len() + 5 * (payload.len() / frag + 1));
    for part in payload.chunks(frag) {
        v.extend_from_slice(&[22, 3, 1]);
        v.extend_from_slice(&u16::try_from(part.len()).unwrap_or(0).to_be_bytes());
        v.extend_from_slice(part);
    }
    v
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = parse_client_hello(data);
    let _ = proto::tls::x509::names(data);
    let _ = proto::tls::x509::certificate_message(data);

    let Some((&ctl, rest)) = data.split_first() else { return };
    let ncuts = usize::from(ctl & 0x0f).min(MAX_CUTS).min(rest.len());
    let with_gap = ctl & 0x10 != 0;
    let (cuts, stream) = rest.split_at(ncuts);

    // Client stream, cut into pieces (a gap after the first piece when asked).
    let mut p = TlsParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    let (mut pos, mut offset) = (0usize, 0u64);
    for (i, &c) in cuts.iter().enumerate() {
        let end = (pos + usize::from(c)).min(stream.len());
        p.data(
            Direction::ToServer,
            Chunk::Data { offset, bytes: &stream[pos..end] },
            &mut out,
            &mut an,
        );
        offset += (end - pos) as u64;
        pos = end;
        if with_gap && i == 0 {
            p.data(Direction::ToServer, Chunk::Gap { offset, len: 1 }, &mut out, &mut an);
            offset += 1;
        }
    }
    p.data(Direction::ToServer, Chunk::Data { offset, bytes: &stream[pos..] }, &mut out, &mut an);
    // The same bytes as the server's stream.
    p.data(Direction::ToClient, Chunk::Data { offset: 0, bytes: stream }, &mut out, &mut an);
    p.data(Direction::ToServer, Chunk::End, &mut out, &mut an);
    p.data(Direction::ToClient, Chunk::End, &mut out, &mut an);
    check(&out);

    // The input as the handshake content of valid records, both directions, byte-cut.
    let frag = usize::from(cuts.first().copied().unwrap_or(0)).max(1) * 64;
    let wrapped = records(stream, frag);
    let mut p = TlsParser::new();
    let mut out = Vec::new();
    for dir in [Direction::ToServer, Direction::ToClient] {
        let (head, tail) = wrapped.split_at(wrapped.len() / 2);
        p.data(dir, Chunk::Data { offset: 0, bytes: head }, &mut out, &mut an);
        p.data(dir, Chunk::Data { offset: head.len() as u64, bytes: tail }, &mut out, &mut an);
    }
    check(&out);

    // NULL cipher: ServerHello (TLS 1.2, suite 0x003b) and ChangeCipherSpec, then the input.
    let mut hello = vec![3, 3];
    hello.extend_from_slice(&[7; 32]);
    hello.extend_from_slice(&[0, 0x00, 0x3b, 0]);
    let mut server = vec![22, 3, 3, 0, 4 + hello.len() as u8, 2, 0, 0, hello.len() as u8];
    server.extend(hello);
    let ccs = [20, 3, 3, 0, 1, 1];
    let mut p = TlsParser::new();
    let mut out = Vec::new();
    for (dir, start) in [(Direction::ToClient, &server[..]), (Direction::ToServer, &[][..])] {
        let mut offset = 0u64;
        let mut plain = 0u64;
        let mut chunks = vec![start, &ccs[..]];
        let mut pos = 0;
        for &c in cuts {
            let end = (pos + usize::from(c)).min(stream.len());
            chunks.push(&stream[pos..end]);
            pos = end;
        }
        chunks.push(&stream[pos..]);
        for bytes in chunks {
            let chunk = Chunk::Data { offset, bytes };
            p.data(dir, chunk, &mut out, &mut an);
            p.plaintext(dir, chunk, |c| match c {
                Chunk::Data { offset, bytes } => {
                    assert_eq!(offset, plain, "plaintext pieces are contiguous");
                    plain += bytes.len() as u64;
                }
                Chunk::End | Chunk::Gap { .. } | Chunk::Datagram(_) => {}
            });
            offset += bytes.len() as u64;
        }
        assert!(plain <= stream.len() as u64, "more plaintext than input");
    }
    assert!(p.null_cipher());
    check(&out);
});
