//! TCP and UDP header parsing.
//!
//! Input: the transport bytes that were captured (already cut at the IP wire length) and the
//! transport length on the wire from the IP header. Checksums are not verified.

use crate::{DecodeError, TcpFlags, TcpSegment, Transport, ipproto};

/// Byte offsets inside the TCP header (RFC 9293).
mod tcpfield {
    pub(super) const SRC_PORT: usize = 0;
    pub(super) const DST_PORT: usize = 2;
    pub(super) const SEQ: usize = 4;
    pub(super) const ACK: usize = 8;
    pub(super) const DATA_OFF: usize = 12;
    pub(super) const FLAGS: usize = 13;
    pub(super) const MIN_LEN: usize = 20;
}

/// Byte offsets inside the UDP header (RFC 768).
mod udpfield {
    pub(super) const SRC_PORT: usize = 0;
    pub(super) const DST_PORT: usize = 2;
    pub(super) const LEN: usize = 4;
    pub(super) const HDR_LEN: usize = 8;
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Decodes the transport layer of `protocol`. `wire_len >= buf.len()` is the length on the wire.
pub(crate) fn parse(protocol: u8, buf: &[u8], wire_len: u32) -> Result<Transport<'_>, DecodeError> {
    match protocol {
        ipproto::TCP => parse_tcp(buf, wire_len).map(Transport::Tcp),
        ipproto::UDP => parse_udp(buf, wire_len),
        _ => Ok(Transport::Other { protocol }),
    }
}

/// TCP: the 20-byte fixed header must be captured. Options cut by the snap length (but inside the
/// wire length) still give a segment, with an empty captured payload.
fn parse_tcp(buf: &[u8], wire_len: u32) -> Result<TcpSegment<'_>, DecodeError> {
    use tcpfield as f;
    let Some(h) = buf.first_chunk::<{ f::MIN_LEN }>() else {
        return Err(DecodeError::BadTransportHeader);
    };
    let hdr_len = usize::from(h[f::DATA_OFF] >> 4) * 4;
    if hdr_len < f::MIN_LEN || hdr_len > wire_len as usize {
        return Err(DecodeError::BadTransportHeader);
    }
    Ok(TcpSegment {
        src_port: be16(h, f::SRC_PORT),
        dst_port: be16(h, f::DST_PORT),
        seq: be32(h, f::SEQ),
        ack: be32(h, f::ACK),
        flags: TcpFlags(h[f::FLAGS]),
        payload: buf.get(hdr_len..).unwrap_or_default(),
        wire_payload_len: wire_len - hdr_len as u32,
    })
}

/// UDP: the payload ends at the smallest of the UDP length, the IP length and the captured bytes.
/// A UDP length of 0 (IPv6 jumbograms, RFC 2675) means "as long as the IP payload".
fn parse_udp(buf: &[u8], wire_len: u32) -> Result<Transport<'_>, DecodeError> {
    use udpfield as f;
    let Some(h) = buf.first_chunk::<{ f::HDR_LEN }>() else {
        return Err(DecodeError::BadTransportHeader);
    };
    let udp_len = match usize::from(be16(h, f::LEN)) {
        0 => wire_len as usize,
        n if n < f::HDR_LEN => return Err(DecodeError::BadTransportHeader),
        n => n,
    };
    let end = udp_len.min(buf.len());
    Ok(Transport::Udp {
        src_port: be16(h, f::SRC_PORT),
        dst_port: be16(h, f::DST_PORT),
        payload: buf.get(f::HDR_LEN..end).unwrap_or_default(),
    })
}
