//! The [`Decoder`]: network-layer bytes in, [`Packet`]s out.
//!
//! Decoding is hand-written rather than built on `etherparse`. We need only the read half for four
//! headers (IPv4, IPv6 with its extension chain, TCP, UDP) and a few fields of each; the parsers
//! are ~300 lines, have no dependency, allocate nothing, and make our own choices where captures
//! differ from the RFCs explicit (snap-length cuts, Ethernet padding, TSO lengths of 0, atomic
//! fragments). Reassembly is ours either way.
//!
//! The non-fragment path allocates nothing: the returned [`Packet`] borrows the frame. Fragments go
//! to the [`Defragmenter`]; a completed datagram is decoded from its buffer with
//! `reassembled: true`.

use capture::Timestamp;
use capture::link::{Network, ethertype};

use crate::defrag::{Defragmenter, Key};
use crate::{DecodeError, DefragLimits, Packet, Transport, WireStats, ip, transport};

/// Decodes network-layer payloads into packets, reassembling fragments.
#[derive(Debug)]
pub struct Decoder {
    defrag: Defragmenter,
    stats: WireStats,
}

impl Decoder {
    /// A decoder with the given reassembly limits.
    pub fn new(limits: DefragLimits) -> Self {
        Self { defrag: Defragmenter::new(limits), stats: WireStats::default() }
    }

    /// Decodes one frame's network layer. `Ok(None)`: a fragment was consumed (stored, or dropped
    /// and counted), nothing to hand on yet.
    ///
    /// `ts` drives fragment expiry: pending datagrams older than the timeout are dropped on every
    /// call, whatever the frame holds.
    pub fn decode<'a>(
        &'a mut self,
        ts: Timestamp,
        net: &Network<'a>,
    ) -> Result<Option<Packet<'a>>, DecodeError> {
        let Self { defrag, stats } = self;
        if !defrag.is_idle() {
            defrag.expire(ts.0, stats);
        }
        let parsed = match net.ethertype {
            ethertype::IPV4 => ip::parse_v4(net.payload),
            ethertype::IPV6 => ip::parse_v6(net.payload),
            _ => {
                stats.not_ip += 1;
                return Err(DecodeError::NotIp);
            }
        };
        let ip = match parsed {
            Ok(ip) => ip,
            Err(e) => {
                stats.bad_ip += 1;
                return Err(e);
            }
        };

        let Some(frag) = ip.frag else {
            let transport = transport::parse(ip.protocol, ip.payload, ip.wire_payload_len);
            return finish(stats, &ip, ip.ip_len, false, transport);
        };

        stats.fragments += 1;
        let key = Key { src: ip.src, dst: ip.dst, id: frag.id };
        let Some(whole) = defrag.insert(ts.0, key, &frag, ip.protocol, ip.payload, stats) else {
            return Ok(None);
        };
        stats.reassembled += 1;
        // The payload is at most MAX_PAYLOAD bytes, so these conversions cannot saturate.
        let payload_len = u32::try_from(whole.payload.len()).unwrap_or(u32::MAX);
        let ip_len = whole.header_len.saturating_add(payload_len);
        let transport = match frag.id {
            ip::FragId::V4 { .. } => transport::parse(whole.protocol, whole.payload, payload_len),
            // Extension headers after the fragment header are part of the reassembled payload.
            ip::FragId::V6 { .. } => match ip::walk_v6(whole.protocol, whole.payload, false) {
                Ok(chain) => {
                    let rest = &whole.payload[chain.offset..];
                    transport::parse(chain.protocol, rest, rest.len() as u32)
                }
                Err(e) => {
                    stats.bad_ip += 1;
                    return Err(e);
                }
            },
        };
        finish(stats, &ip, ip_len, true, transport)
    }

    /// Counters so far.
    pub fn stats(&self) -> &WireStats {
        &self.stats
    }
}

/// Builds the packet and counts the outcome.
fn finish<'a>(
    stats: &mut WireStats,
    ip: &ip::Repr<'_>,
    ip_len: u32,
    reassembled: bool,
    transport: Result<Transport<'a>, DecodeError>,
) -> Result<Option<Packet<'a>>, DecodeError> {
    match transport {
        Ok(transport) => {
            stats.packets += 1;
            Ok(Some(Packet { src: ip.src, dst: ip.dst, ip_len, reassembled, transport }))
        }
        Err(e) => {
            stats.bad_transport += 1;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests;
