//! QUIC versions and long-header parsing (RFC 9000 §17.2, RFC 9369 §3).

use crate::tls::reader::Reader;

/// Longest connection id of QUIC v1/v2 (RFC 9000 §17.2).
pub(crate) const MAX_CID_LEN: usize = 20;

/// QUIC v1 (RFC 9000).
pub(crate) const VERSION_1: u32 = 0x0000_0001;
/// QUIC v2 (RFC 9369).
pub(crate) const VERSION_2: u32 = 0x6b33_43cf;

/// Initial salt of QUIC v1 and drafts 33/34 (RFC 9001 §5.2).
const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
/// Initial salt of QUIC v2 (RFC 9369 §3.3.1).
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];
/// Initial salt of drafts 23 to 28 (draft-ietf-quic-tls-23 §5.2).
const SALT_DRAFT23: [u8; 20] = [
    0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65,
    0xbe, 0xf9, 0xf5, 0x02,
];
/// Initial salt of drafts 29 to 32 (draft-ietf-quic-tls-29 §5.2).
const SALT_DRAFT29: [u8; 20] = [
    0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0,
    0x43, 0x90, 0xa8, 0x99,
];

/// What differs between the QUIC versions we can decrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VersionInfo {
    /// Version number on the wire.
    pub(crate) id: u32,
    /// Initial salt.
    pub(crate) salt: &'static [u8; 20],
    /// QUIC v2: "quicv2 ..." HKDF labels and renumbered long packet types.
    pub(crate) v2: bool,
}

/// The versions whose Initial packets we decrypt: v1, v2, drafts 23 to 34 (0xff000017 to
/// 0xff000022; their Initial format and labels are v1's, only the salt differs).
pub(crate) fn version_info(id: u32) -> Option<VersionInfo> {
    let (salt, v2) = match id {
        VERSION_1 | 0xff00_0021 | 0xff00_0022 => (&SALT_V1, false),
        VERSION_2 => (&SALT_V2, true),
        0xff00_001d..=0xff00_0020 => (&SALT_DRAFT29, false),
        0xff00_0017..=0xff00_001c => (&SALT_DRAFT23, false),
        _ => return None,
    };
    Some(VersionInfo { id, salt, v2 })
}

/// Long-header packet type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PacketType {
    Initial,
    ZeroRtt,
    Handshake,
    Retry,
}

impl VersionInfo {
    /// Packet type from the first byte (bits 4-5; RFC 9369 §3.2 renumbers them for v2).
    pub(crate) fn packet_type(self, first: u8) -> PacketType {
        let bits = (first >> 4) & 0x03;
        let bits = if self.v2 { (bits + 3) & 0x03 } else { bits };
        match bits {
            0 => PacketType::Initial,
            1 => PacketType::ZeroRtt,
            2 => PacketType::Handshake,
            _ => PacketType::Retry,
        }
    }

    /// The type bits for `Initial` (for building packets).
    pub(crate) fn initial_type_bits(self) -> u8 {
        if self.v2 { 1 } else { 0 }
    }
}

/// A parsed long header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LongHeader<'a> {
    pub(crate) version: VersionInfo,
    pub(crate) ptype: PacketType,
    pub(crate) dcid: &'a [u8],
    /// Source Connection ID.
    pub(crate) scid: &'a [u8],
    /// Offset of the (protected) packet number.
    pub(crate) pn_offset: usize,
    /// End of the packet: `pn_offset + Length` (may exceed the input when truncated). A Retry
    /// packet has no Length and extends to the end of the datagram.
    pub(crate) end: usize,
}

/// Why a packet was not parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// Short header, unknown version, Version Negotiation, or a broken non-Initial packet:
    /// nothing more to find in this datagram.
    Skip,
    /// An Initial packet of a known version whose header is malformed.
    BadInitial,
}

/// Parses the long header at the start of `pkt`.
pub(crate) fn parse_long(pkt: &[u8]) -> Result<LongHeader<'_>, HeaderError> {
    use HeaderError::{BadInitial, Skip};
    let mut r = Reader::new(pkt);
    let first = r.u8().ok_or(Skip)?;
    if first & 0x80 == 0 {
        return Err(Skip);
    }
    // The fixed bit (0x40) is not checked: it may be greased (RFC 9287) and the version is known.
    let version = version_info(r.u32().ok_or(Skip)?).ok_or(Skip)?;
    let ptype = version.packet_type(first);
    let bad = if ptype == PacketType::Initial { BadInitial } else { Skip };
    let dcid = r.u8_prefixed().ok_or(bad)?;
    let scid = r.u8_prefixed().ok_or(bad)?;
    if dcid.len() > MAX_CID_LEN || scid.len() > MAX_CID_LEN {
        return Err(bad);
    }
    if ptype == PacketType::Retry {
        return Ok(LongHeader { version, ptype, dcid, scid, pn_offset: pkt.len(), end: pkt.len() });
    }
    if ptype == PacketType::Initial {
        let token_len = r.varint_len().ok_or(bad)?;
        r.skip(token_len).ok_or(bad)?;
    }
    let length = r.varint_len().ok_or(bad)?;
    let pn_offset = pkt.len() - r.left();
    let end = pn_offset.checked_add(length).ok_or(bad)?;
    Ok(LongHeader { version, ptype, dcid, scid, pn_offset, end })
}
