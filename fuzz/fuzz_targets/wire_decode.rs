#![no_main]
//! Fuzz target: `wire::Decoder` on a sequence of network-layer payloads, tunnels included.
//!
//! Input layout: one selector byte, then records of `[len_hi, len_lo, bytes...]`.
//! - selector bit 0: ethertype of every record (0 = IPv4, 1 = IPv6); bit 1: alternate the two;
//!   bits 2..: pick tight reassembly limits so every cap is reachable with small inputs.
//! - selector bit 7 set: the records are Ethernet frames instead, normalised by
//!   `capture::link::normalize` first (VLAN, PPPoE, MPLS... then IP), and a record whose link
//!   layer does not decode is skipped.
//! - record length: the low 15 bits of the big-endian prefix (cut at the end of the input); the
//!   high bit advances the capture clock by 31 s before the record (past the default timeout),
//!   otherwise it advances by 1 ms.
//!
//! All records go to one decoder, so fragments from different records are reassembled together,
//! at any tunnel level (IP-in-IP, GRE, VXLAN, Geneve, GTP-U and Teredo are all reachable: their
//! protocol numbers and ports are a few bytes each). Checked beyond "no panic": captured payloads
//! never exceed the wire length, a reassembled packet fits the IP limit, the tunnel depth cap
//! holds, and every frame is accounted for in the counters.

use capture::link::{self, LinkOutcome, Network, ethertype};
use capture::{LinkType, Timestamp};
use libfuzzer_sys::fuzz_target;
use wire::{DecodeError, Decoder, DefragLimits, MAX_TUNNEL_DEPTH, Transport};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, mut rest)) = data.split_first() else {
        return;
    };
    let ethernet = selector & 0x80 != 0;
    let limits = if selector & 0x04 != 0 {
        DefragLimits {
            max_datagrams: 1 + usize::from((selector >> 5) & 3),
            max_buffered_bytes: 256 << ((selector >> 5) & 3),
            max_fragments_per_datagram: 1 + usize::from((selector >> 3) & 3) * 4,
            timeout_ns: 10_000_000,
        }
    } else {
        DefragLimits::default()
    };
    let mut decoder = Decoder::new(limits);
    let mut ts = 0i64;
    let mut frames = 0u64;
    let mut index = 0u64;
    while let [hi, lo, tail @ ..] = rest {
        let prefix = u16::from_be_bytes([*hi, *lo]);
        let len = usize::from(prefix & 0x7fff).min(tail.len());
        let (payload, next) = tail.split_at(len);
        rest = next;
        ts += if prefix & 0x8000 != 0 { 31_000_000_000 } else { 1_000_000 };
        let v6 = (selector & 1 != 0) ^ (selector & 2 != 0 && index % 2 == 1);
        index += 1;
        let net = if ethernet {
            match link::normalize(LinkType::ETHERNET, payload) {
                LinkOutcome::Network(net) => net,
                LinkOutcome::Truncated | LinkOutcome::Unsupported(_) => continue,
            }
        } else {
            Network {
                ethertype: if v6 { ethertype::IPV6 } else { ethertype::IPV4 },
                vlan: None,
                payload,
            }
        };
        frames += 1;
        match decoder.decode(Timestamp(ts), &net) {
            Ok(Some(packet)) => {
                let carried = match packet.transport {
                    Transport::Tcp(t) => {
                        assert!(t.payload.len() <= t.wire_payload_len as usize);
                        t.payload.len()
                    }
                    Transport::Udp { payload: p, .. } => p.len(),
                    Transport::Other { .. } => 0,
                };
                // The IP header is part of `ip_len`, so the payload is always shorter.
                assert!(carried < packet.ip_len as usize);
                // Reassembly never builds more than the IP limit.
                assert!(!packet.reassembled || carried <= 65_535);
            }
            Ok(None) => {}
            Err(DecodeError::NotIp) => assert!(ethernet, "only IP ethertypes are fed"),
            Err(DecodeError::BadIpHeader | DecodeError::BadTransportHeader) => {}
        }
    }
    let s = decoder.stats();
    // A tunnel only ever hands on IP, so NotIp comes from the outermost layer alone.
    assert!(ethernet || s.not_ip == 0);
    // Every frame ends once as a packet, a bad header, a fragment or not IP; a completed datagram
    // goes on to one more. An unwrapped tunnel goes on to its inner layer, so it adds nothing.
    assert_eq!(
        s.packets + s.bad_ip + s.bad_transport + s.fragments + s.not_ip,
        frames + s.reassembled
    );
    assert!(s.reassembled <= s.fragments);
    // At most MAX_TUNNEL_DEPTH tunnels are unwrapped per frame.
    assert!(s.tunnels_decapsulated <= frames * MAX_TUNNEL_DEPTH as u64);
    assert!(s.tunnel_depth_capped <= s.packets);
});
