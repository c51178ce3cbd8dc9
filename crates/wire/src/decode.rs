//! The [`Decoder`]: network-layer bytes in, [`Packet`]s out.
//!
//! Decoding is hand-written rather than built on `etherparse`. We need only the read half for four
//! headers (IPv4, IPv6 with its extension chain, TCP, UDP) and a few fields of each; the parsers
//! are ~300 lines, have no dependency, allocate nothing, and make our own choices where captures
//! differ from the RFCs explicit (snap-length cuts, Ethernet padding, TSO lengths of 0, atomic
//! fragments). Reassembly is ours either way.
//!
//! The non-fragment path allocates nothing: the returned [`Packet`] borrows the frame. Fragments go
//! to the [`Defragmenter`]; a completed datagram is moved into one of the decoder's buffers and
//! decoded from there with `reassembled: true`.
//!
//! Two paths. The common case (one IP layer, not a fragment, not a possible tunnel) is decoded
//! inline by [`Decoder::decode`], whose only addition for tunnels is a protocol/port comparison
//! (IP protocols 4, 41, 47; the tunnel UDP ports of `crate::tunnel`). Everything else (fragments,
//! possible tunnels, malformed headers) starts again from the outer header on a general path
//! that decodes one IP layer at a time and, while a layer is a tunnel, goes on with the frame it
//! carries, up to [`MAX_TUNNEL_DEPTH`] tunnels. Each level may itself need reassembly, so the
//! decoder keeps one buffer per level, and the packet handed on may borrow from any of them (or
//! from the frame).

use capture::Timestamp;
use capture::link::{Network, ethertype};

use crate::defrag::{Defragmenter, Key};
use crate::tunnel::{self, Decap};
use crate::{
    DecodeError, DefragLimits, MAX_TUNNEL_DEPTH, Packet, Transport, WireStats, ip, transport,
};

/// Decodes network-layer payloads into packets, reassembling fragments and unwrapping tunnels.
#[derive(Debug)]
pub struct Decoder {
    defrag: Defragmenter,
    /// Datagrams completed by the last call to [`Decoder::decode`], at most one per IP layer (the
    /// outer packet, then each tunnel level); the returned packet may borrow from them.
    done: [Vec<u8>; MAX_TUNNEL_DEPTH + 1],
    stats: WireStats,
}

impl Decoder {
    /// A decoder with the given reassembly limits.
    pub fn new(limits: DefragLimits) -> Self {
        Self {
            defrag: Defragmenter::new(limits),
            done: Default::default(),
            stats: WireStats::default(),
        }
    }

    /// Decodes one frame's network layer, down to the innermost packet of any tunnels it carries.
    /// `Ok(None)`: a fragment was consumed (stored, or dropped and counted), nothing to hand on
    /// yet.
    ///
    /// `ts` drives fragment expiry: pending datagrams older than the timeout are dropped on every
    /// call, whatever the frame holds.
    pub fn decode<'a>(
        &'a mut self,
        ts: Timestamp,
        net: &Network<'a>,
    ) -> Result<Option<Packet<'a>>, DecodeError> {
        let Self { defrag, done: [first, inner_slots @ ..], stats } = self;
        if !defrag.is_idle() {
            defrag.expire(ts.0, stats);
        }
        // The common case inline, as before tunnels: one IP layer, not a fragment, not a tunnel.
        let ip = match net.ethertype {
            ethertype::IPV4 => ip::parse_v4(net.payload),
            ethertype::IPV6 => ip::parse_v6(net.payload),
            _ => {
                stats.not_ip += 1;
                return Err(DecodeError::NotIp);
            }
        };
        let ip = match ip {
            Ok(ip) if ip.frag.is_none() => ip,
            // Fragments, and errors (counted there), take the general path.
            _ => return decode_general(defrag, first, inner_slots, stats, ts, net),
        };
        let transport = transport::parse(ip.protocol, ip.payload, ip.wire_payload_len);
        match transport {
            Ok(t) if may_be_tunnel(&t) => {
                decode_general(defrag, first, inner_slots, stats, ts, net)
            }
            Ok(transport) => {
                stats.packets += 1;
                Ok(Some(Packet {
                    src: ip.src,
                    dst: ip.dst,
                    ip_len: ip.ip_len,
                    reassembled: false,
                    transport,
                }))
            }
            Err(e) => {
                stats.bad_transport += 1;
                Err(e)
            }
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &WireStats {
        &self.stats
    }
}

/// One decoded IP layer.
struct Layer<'a> {
    packet: Packet<'a>,
    /// The IP payload (after reassembly), where IP-in-IP and GRE tunnels start.
    ip_payload: &'a [u8],
}

impl<'a> Layer<'a> {
    /// The tunnel this packet is, if any.
    fn tunnel(&self) -> Decap<'a> {
        match self.packet.transport {
            Transport::Tcp(_) => Decap::None,
            Transport::Udp { src_port, dst_port, payload } => {
                tunnel::by_udp_port(src_port, dst_port, payload)
            }
            Transport::Other { protocol } => tunnel::by_protocol(protocol, self.ip_payload),
        }
    }
}

/// True for the IP protocols and UDP ports where a tunnel is looked for: the only tunnel work on
/// the common path.
#[inline(always)]
fn may_be_tunnel(transport: &Transport<'_>) -> bool {
    match *transport {
        Transport::Tcp(_) => false,
        Transport::Udp { src_port, dst_port, .. } => tunnel::is_port(src_port, dst_port),
        Transport::Other { protocol } => tunnel::is_protocol(protocol),
    }
}

/// Everything but the common case: fragments, tunnels, malformed headers. Starts again from the
/// outermost layer.
#[cold]
#[inline(never)]
fn decode_general<'a>(
    defrag: &mut Defragmenter,
    first: &'a mut Vec<u8>,
    inner_slots: &'a mut [Vec<u8>],
    stats: &mut WireStats,
    ts: Timestamp,
    net: &Network<'a>,
) -> Result<Option<Packet<'a>>, DecodeError> {
    let Some(layer) = decode_layer(defrag, first, stats, ts, net)? else {
        return Ok(None);
    };
    if may_be_tunnel(&layer.packet.transport) {
        return maybe_tunnelled(defrag, inner_slots, stats, ts, layer);
    }
    stats.packets += 1;
    Ok(Some(layer.packet))
}

/// The outer layer of a frame that may be a tunnel: the layer itself, or what it carries.
fn maybe_tunnelled<'a>(
    defrag: &mut Defragmenter,
    slots: &'a mut [Vec<u8>],
    stats: &mut WireStats,
    ts: Timestamp,
    layer: Layer<'a>,
) -> Result<Option<Packet<'a>>, DecodeError> {
    match layer.tunnel() {
        Decap::None => {}
        Decap::Undecoded => stats.tunnels_undecoded += 1,
        Decap::Inner(inner) => {
            let reassembled = layer.packet.reassembled;
            return decode_tunnelled(defrag, slots, stats, ts, inner, reassembled);
        }
    }
    stats.packets += 1;
    Ok(Some(layer.packet))
}

/// Decodes the packets inside a tunnel (`net`: the first inner frame), one level at a time, each
/// level with its own reassembly buffer from `slots`. `reassembled`: an outer level was rebuilt
/// from fragments.
fn decode_tunnelled<'a>(
    defrag: &mut Defragmenter,
    mut slots: &'a mut [Vec<u8>],
    stats: &mut WireStats,
    ts: Timestamp,
    mut net: Network<'a>,
    mut reassembled: bool,
) -> Result<Option<Packet<'a>>, DecodeError> {
    stats.tunnels_decapsulated += 1;
    loop {
        // `slots` holds one buffer per remaining level: MAX_TUNNEL_DEPTH at the first.
        let Some((slot, rest)) = std::mem::take(&mut slots).split_first_mut() else {
            // Unreachable: the depth check below stops first.
            return Ok(None);
        };
        slots = rest;
        let Some(mut layer) = decode_layer(defrag, slot, stats, ts, &net)? else {
            return Ok(None);
        };
        reassembled |= layer.packet.reassembled;
        match layer.tunnel() {
            Decap::None => {}
            Decap::Undecoded => stats.tunnels_undecoded += 1,
            Decap::Inner(_) if slots.is_empty() => stats.tunnel_depth_capped += 1,
            Decap::Inner(inner) => {
                stats.tunnels_decapsulated += 1;
                net = inner;
                continue;
            }
        }
        stats.packets += 1;
        layer.packet.reassembled = reassembled;
        return Ok(Some(layer.packet));
    }
}

/// Decodes one IP layer and its transport header. A fragment goes to `defrag`; when it completes
/// its datagram, the datagram is moved into `slot` and decoded from there.
#[inline(always)]
fn decode_layer<'a>(
    defrag: &mut Defragmenter,
    slot: &'a mut Vec<u8>,
    stats: &mut WireStats,
    ts: Timestamp,
    net: &Network<'a>,
) -> Result<Option<Layer<'a>>, DecodeError> {
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

    let (protocol, payload, wire_len, ip_len, reassembled) = match ip.frag {
        None => (ip.protocol, ip.payload, ip.wire_payload_len, ip.ip_len, false),
        Some(frag) => {
            stats.fragments += 1;
            let key = Key { src: ip.src, dst: ip.dst, id: frag.id };
            let Some(whole) = defrag.insert(ts.0, key, &frag, ip.protocol, ip.payload, stats)
            else {
                return Ok(None);
            };
            stats.reassembled += 1;
            *slot = whole.payload;
            let buf: &'a [u8] = slot;
            // The payload is at most MAX_PAYLOAD bytes, so these conversions cannot saturate.
            let payload_len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
            let ip_len = whole.header_len.saturating_add(payload_len);
            match frag.id {
                ip::FragId::V4 { .. } => (whole.protocol, buf, payload_len, ip_len, true),
                // Extension headers after the fragment header are part of the reassembled payload.
                ip::FragId::V6 { .. } => match ip::walk_v6(whole.protocol, buf, false) {
                    Ok(chain) => {
                        let rest = &buf[chain.offset..];
                        (chain.protocol, rest, rest.len() as u32, ip_len, true)
                    }
                    Err(e) => {
                        stats.bad_ip += 1;
                        return Err(e);
                    }
                },
            }
        }
    };
    match transport::parse(protocol, payload, wire_len) {
        Ok(transport) => Ok(Some(Layer {
            packet: Packet { src: ip.src, dst: ip.dst, ip_len, reassembled, transport },
            ip_payload: payload,
        })),
        Err(e) => {
            stats.bad_transport += 1;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests;
