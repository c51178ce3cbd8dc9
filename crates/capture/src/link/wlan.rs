//! IEEE 802.11 (link type 105) and 802.11 behind a radiotap header (127).
//!
//! Only data frames carry network-layer packets. A data frame's header is 24 bytes, plus the
//! fourth address when both To-DS and From-DS are set, plus the QoS control field (QoS subtypes),
//! plus the HT control field (QoS frames with the Order bit set); then comes 802.2 LLC/SNAP, read
//! as on Ethernet. These give a [`Network`](super::Network) with `ethertype` 0 and an empty
//! payload (counted as not IP): management and control frames, data subtypes without a body (null
//! function, CF-Ack...), protected frames (encrypted: nothing to read without the keys), and
//! A-MSDU aggregates.
//!
//! Radiotap (version 0): the header length is little-endian at bytes 2..4 and the 802.11 frame
//! follows it. The only field read is Flags, for its "data pad" bit (padding between the 802.11
//! header and the body, up to a multiple of 4 bytes). A trailing FCS (Flags bit 0x10) is left in
//! the payload: the network layer stops at its own length.

use super::{LinkOutcome, llc, nothing};

/// Frame control, first byte: type (bits 2-3) and subtype (bits 4-7).
const TYPE_DATA: u8 = 2;
/// Data subtype bit: QoS control field present.
const SUBTYPE_QOS: u8 = 0x08;
/// Data subtype bit: no frame body.
const SUBTYPE_NO_DATA: u8 = 0x04;
/// Frame control, second byte.
const FLAG_TO_DS: u8 = 0x01;
const FLAG_FROM_DS: u8 = 0x02;
const FLAG_PROTECTED: u8 = 0x40;
const FLAG_ORDER: u8 = 0x80;
/// QoS control, first byte: A-MSDU present.
const QOS_AMSDU: u8 = 0x80;
/// Length of the header of a data frame with three addresses.
const HEADER_LEN: usize = 24;

/// Radiotap present-bitmap bits.
const RT_TSFT: u32 = 1 << 0;
const RT_FLAGS: u32 = 1 << 1;
const RT_EXT: u32 = 1 << 31;
/// Radiotap Flags bit: padding between the 802.11 header and the body.
const RT_FLAG_DATAPAD: u8 = 0x20;

/// An 802.11 frame; `datapad`: the body starts on a 4-byte boundary (radiotap's data pad flag).
pub(super) fn frame(data: &[u8], datapad: bool) -> LinkOutcome<'_> {
    let Some(&[fc, flags]) = data.first_chunk::<2>() else {
        return LinkOutcome::Truncated;
    };
    let subtype = fc >> 4;
    if (fc >> 2) & 0x03 != TYPE_DATA
        || subtype & SUBTYPE_NO_DATA != 0
        || flags & FLAG_PROTECTED != 0
    {
        return nothing();
    }
    let mut len = HEADER_LEN;
    if flags & (FLAG_TO_DS | FLAG_FROM_DS) == FLAG_TO_DS | FLAG_FROM_DS {
        len += 6;
    }
    if subtype & SUBTYPE_QOS != 0 {
        let Some(&qos) = data.get(len) else {
            return LinkOutcome::Truncated;
        };
        if qos & QOS_AMSDU != 0 {
            return nothing();
        }
        len += 2;
        if flags & FLAG_ORDER != 0 {
            len += 4;
        }
    }
    if datapad {
        len = len.next_multiple_of(4);
    }
    if data.len() < len {
        return LinkOutcome::Truncated;
    }
    llc(data, len, None)
}

/// A radiotap header, then an 802.11 frame.
pub(super) fn radiotap(data: &[u8]) -> LinkOutcome<'_> {
    let Some(&[version, _pad, l0, l1, p0, p1, p2, p3]) = data.first_chunk::<8>() else {
        return LinkOutcome::Truncated;
    };
    let len = usize::from(u16::from_le_bytes([l0, l1]));
    if len < 8 || len > data.len() {
        return LinkOutcome::Truncated;
    }
    if version != 0 {
        return nothing();
    }
    let header = &data[..len];
    let present = u32::from_le_bytes([p0, p1, p2, p3]);
    // Fields start after the last present bitmap (each extended by bit 31 of the one before).
    let mut pos = 8;
    let mut word = present;
    while word & RT_EXT != 0 {
        let Some(&[a, b, c, d]) = header.get(pos..).and_then(|h| h.first_chunk::<4>()) else {
            return LinkOutcome::Truncated;
        };
        word = u32::from_le_bytes([a, b, c, d]);
        pos += 4;
    }
    let mut rt_flags = 0;
    if present & RT_TSFT != 0 {
        // A u64 aligned to 8 bytes from the start of the header.
        pos = pos.next_multiple_of(8) + 8;
    }
    if present & RT_FLAGS != 0 {
        rt_flags = header.get(pos).copied().unwrap_or(0);
    }
    frame(&data[len..], rt_flags & RT_FLAG_DATAPAD != 0)
}

#[cfg(test)]
mod tests;
