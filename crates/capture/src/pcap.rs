//! Classic pcap (libpcap) files: a 24-byte file header, then 16-byte record headers and data.
//!
//! Both byte orders; microsecond (`a1b2c3d4`), nanosecond (`a1b23c4d`) and Kuznetzov's modified
//! (`a1b2cd34`, 24-byte record headers) magics. The version, `thiszone`, `sigfigs` and snap length
//! are not checked: a record longer than the snap length is still read, as Wireshark does. The
//! link-type field keeps its low 16 bits (the high bits carry FCS information).

use crate::input::Endian;
use crate::reader::{Core, Format, FrameMeta, corrupt};
use crate::{CaptureError, LinkType, MAX_RECORD_LEN, Timestamp};

/// Length of the file header.
const FILE_HEADER_LEN: usize = 24;

/// A pcap file after its header.
#[derive(Debug)]
pub(crate) struct Pcap {
    endian: Endian,
    /// Nanoseconds per unit of the record's sub-second field (1000 or 1).
    frac_ns: i64,
    link: LinkType,
    /// Record header length: 16, or 24 for the modified format.
    record_header_len: usize,
}

impl Pcap {
    /// The byte order and format announced by the first four bytes of a file, if it is a pcap.
    pub(crate) fn magic(magic: [u8; 4]) -> Option<(Endian, Format)> {
        Some(match u32::from_be_bytes(magic) {
            0xa1b2_c3d4 => (Endian::Big, Format::Pcap),
            0xd4c3_b2a1 => (Endian::Little, Format::Pcap),
            0xa1b2_3c4d => (Endian::Big, Format::PcapNsec),
            0x4d3c_b2a1 => (Endian::Little, Format::PcapNsec),
            0xa1b2_cd34 => (Endian::Big, Format::PcapModified),
            0x34cd_b2a1 => (Endian::Little, Format::PcapModified),
            _ => return None,
        })
    }

    /// Reads the file header of a pcap file whose magic gave `endian` and `format`. `Ok(None)`:
    /// the header is cut short (warned; no frames).
    pub(crate) fn open(
        endian: Endian,
        format: Format,
        core: &mut Core,
    ) -> Result<Option<Self>, CaptureError> {
        if !core.input.fill(FILE_HEADER_LEN)? {
            core.warn_truncated(0, "pcap file header", FILE_HEADER_LEN);
            return Ok(None);
        }
        let h = core.input.available();
        let link = LinkType(endian.u32(h, 20) & 0xffff);
        core.input.consume(FILE_HEADER_LEN);
        let pcap = Self {
            endian,
            frac_ns: if format == Format::PcapNsec { 1 } else { 1000 },
            link,
            record_header_len: if format == Format::PcapModified { 24 } else { 16 },
        };
        Ok(Some(pcap))
    }

    /// The next record, `Ok(None)` at the end (a cut-short record is warned about).
    #[inline]
    pub(crate) fn next(&mut self, core: &mut Core) -> Result<Option<FrameMeta>, CaptureError> {
        let offset = core.input.offset();
        let hlen = self.record_header_len;
        if !core.input.fill(hlen)? {
            if !core.input.available().is_empty() {
                core.warn_truncated(offset, "pcap record header", hlen);
            }
            return Ok(None);
        }
        let h = core.input.available();
        let e = self.endian;
        let secs = e.u32(h, 0);
        let frac = e.u32(h, 4);
        let caplen = e.u32(h, 8);
        let orig_len = e.u32(h, 12);
        if caplen as usize > MAX_RECORD_LEN {
            return Err(corrupt(
                offset,
                format!("record length {caplen} is larger than the maximum {MAX_RECORD_LEN}"),
            ));
        }
        let total = hlen + caplen as usize;
        if !core.input.fill(total)? {
            core.warn_truncated(offset, "pcap record", total);
            return Ok(None);
        }
        core.number += 1;
        let meta = FrameMeta {
            // u32 seconds * 1e9 + u32 fraction * 1000 < 4.3e18: no overflow in i64.
            ts: Timestamp(i64::from(secs) * 1_000_000_000 + i64::from(frac) * self.frac_ns),
            link: self.link,
            data_at: core.input.pos() + hlen,
            data_len: caplen as usize,
            orig_len,
            offset,
            comment: None,
        };
        core.input.consume(total);
        Ok(Some(meta))
    }
}
