#![no_main]
//! Fuzz target: QUIC Initial decryption (`proto::quic`).
//!
//! First byte selects the mode:
//! - even: the rest is a sequence of datagrams, each prefixed by a 2-byte length, fed to one
//!   `QuicParser` (direction from bit 1), and also checked with `looks_like_initial`. Real AEAD
//!   means random bytes stop at the tag check, so this mostly exercises header walking.
//! - odd: the rest picks a version and a DCID, then a sequence of 2-byte-length-prefixed
//!   plaintext payloads. Each is sealed as a valid client Initial (`seal_client_initial`) so the
//!   decryptor's frame parser and CRYPTO reassembly see fuzzer-chosen frames; bit 1 coalesces
//!   consecutive packets into one datagram.
//!
//! Invariants: no panic; only `QuicInitial` events; in seal mode (one DCID) at most one.

use flow::Direction;
use proto::quic::{QuicParser, looks_like_initial, seal_client_initial};
use proto::{Anomalies, Event};

const VERSIONS: [u32; 4] = [0x0000_0001, 0x6b33_43cf, 0xff00_001d, 0xff00_001c];

/// Splits `data` into 2-byte-length-prefixed pieces (the last one takes what is left).
fn pieces(mut data: &[u8]) -> Vec<&[u8]> {
    let mut v = Vec::new();
    while data.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([data[0], data[1]]));
        let (piece, rest) = data[2..].split_at(len.min(data.len() - 2));
        v.push(piece);
        data = rest;
    }
    v
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut p = QuicParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    if mode & 1 == 0 {
        let dir = if mode & 2 == 0 { Direction::ToServer } else { Direction::ToClient };
        for d in pieces(rest) {
            let _ = looks_like_initial(d);
            p.datagram(dir, d, &mut out, &mut an);
        }
    } else {
        let [sel, dcid_len, tail @ ..] = rest else { return };
        let version = VERSIONS[usize::from(*sel) % VERSIONS.len()];
        let dcid_len = usize::from(*dcid_len % 21).min(tail.len());
        let (dcid, tail) = tail.split_at(dcid_len);
        let mut datagram = Vec::new();
        for (pn, payload) in pieces(tail).into_iter().enumerate() {
            let mut payload = payload.to_vec();
            if payload.len() < 4 {
                payload.resize(4, 0); // PADDING, so the header-protection sample exists
            }
            let pn = u32::try_from(pn).unwrap_or(u32::MAX);
            let pn_len = usize::from(*sel >> 4) % 4 + 1;
            let Some(pkt) = seal_client_initial(version, dcid, pn, pn_len, &payload) else {
                continue;
            };
            datagram.extend_from_slice(&pkt);
            if mode & 2 == 0 || datagram.len() > 1200 {
                p.datagram(Direction::ToServer, &datagram, &mut out, &mut an);
                datagram.clear();
            }
        }
        if !datagram.is_empty() {
            p.datagram(Direction::ToServer, &datagram, &mut out, &mut an);
        }
        // One DCID, one connection: one ClientHello at most.
        assert!(out.len() <= 1, "{} events for one connection", out.len());
    }
    assert!(out.iter().all(|e| matches!(e, Event::QuicInitial(_))));
});
