//! pcapng: a sequence of blocks `type, total length, body, total length`, in sections that each
//! start with a Section Header Block (SHB) giving that section's byte order.
//!
//! Read: SHB (resets the interfaces), IDB (link type, snap length, `if_tsresol` in both the
//! power-of-10 and power-of-2 forms, `if_tsoffset`), EPB, SPB (interface 0, its snap length, and
//! the last timestamp seen since an SPB has none), the obsolete Packet Block (type 2) and the
//! Decryption Secrets Block (DSB, type 10: its secrets type and data are handed out with the next
//! frame, [`crate::Frame::secrets`]; one longer than [`MAX_BLOCK_LEN`] is skipped with a warning),
//! Custom Blocks (types `0xBAD` and `0x40000BAD`: their PEN and data handed out with the next
//! frame, [`crate::Frame::custom`], at most [`crate::MAX_CUSTOM_BLOCKS`] between two frames) and
//! an EPB's first `opt_comment` ([`crate::Frame::comment`]; broken options end the list).
//! Every other block (NRB, ISB, local-use types...) is skipped without being buffered, so
//! it may have any length, and counted in [`crate::ReaderStats::skipped_blocks`].
//!
//! Checked: total length at least 12 (28 for an SHB) and a multiple of 4, trailer length equal to
//! the header's, SHB byte-order magic and major version 1, captured length within its block and at
//! most [`MAX_RECORD_LEN`]. IDBs and packet blocks are held whole in the buffer, so they may be at
//! most [`MAX_BLOCK_LEN`] bytes long; a section may describe at most [`MAX_INTERFACES`] interfaces.
//! Broken IDB options end the option list with a warning.

use crate::input::{BUF_LEN, Endian};
use crate::reader::{Core, FrameMeta, corrupt};
use crate::{CaptureError, LinkType, MAX_RECORD_LEN, Timestamp};

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
const DSB: u32 = 10;
const CB: u32 = 0x0000_0bad;
const CB_NO_COPY: u32 = 0x4000_0bad;
/// Byte-order magic, as the section's byte order reads it.
const BOM: u32 = 0x1a2b_3c4d;

/// Largest IDB or packet block accepted: it must fit the read buffer.
pub(crate) const MAX_BLOCK_LEN: usize = BUF_LEN;
/// Most interfaces in one section (memory stays bounded on hostile input).
pub(crate) const MAX_INTERFACES: usize = 1 << 16;

/// Option codes of an IDB.
const OPT_END: u16 = 0;
const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;

/// How a pcapng timestamp unit turns into nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TsScale {
    /// Multiply (resolution 10^-n with n <= 9).
    Mul(u64),
    /// Divide (resolution 10^-n with 9 < n <= 28).
    Div(u64),
    /// Multiply by 10^9 then shift right (resolution 2^-n).
    Shift(u32),
}

impl TsScale {
    /// The scale for an `if_tsresol` byte.
    fn from_tsresol(v: u8) -> Self {
        let n = u32::from(v & 0x7f);
        if v & 0x80 != 0 {
            Self::Shift(n)
        } else if n <= 9 {
            Self::Mul(10u64.pow(9 - n))
        } else if n - 9 <= 19 {
            Self::Div(10u64.pow(n - 9))
        } else {
            // 10^20 > u64::MAX: every timestamp is below one nanosecond.
            Self::Mul(0)
        }
    }

    /// Nanoseconds for `ts` units (exact in i128: at most 2^64 * 10^9).
    #[inline]
    fn to_ns(self, ts: u64) -> i128 {
        match self {
            Self::Mul(m) => i128::from(ts) * i128::from(m),
            Self::Div(d) => i128::from(ts / d),
            Self::Shift(n) => (i128::from(ts) * 1_000_000_000) >> n,
        }
    }
}

/// One interface (IDB) of the current section.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link: LinkType,
    snaplen: u32,
    scale: TsScale,
    /// `if_tsoffset`, in seconds.
    offset_s: i64,
}

impl Interface {
    /// The timestamp for `ts` units, saturated to the i64 range.
    #[inline]
    fn timestamp(&self, ts: u64) -> Timestamp {
        let ns = self.scale.to_ns(ts) + i128::from(self.offset_s) * 1_000_000_000;
        Timestamp(ns.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
    }
}

/// A pcapng stream being read.
#[derive(Debug)]
pub(crate) struct Pcapng {
    /// Byte order of the current section.
    endian: Endian,
    /// Interfaces of the current section, by id.
    interfaces: Vec<Interface>,
    /// Timestamp of the last packet with one, given to SPBs.
    last_ts: Timestamp,
}

fn block_name(t: u32) -> &'static str {
    match t {
        SHB => "section header block",
        IDB => "interface description block",
        PB => "packet block",
        SPB => "simple packet block",
        EPB => "enhanced packet block",
        DSB => "decryption secrets block",
        _ => "block",
    }
}

/// The byte order announced by a byte-order magic.
fn byte_order(bom: [u8; 4]) -> Option<Endian> {
    if u32::from_be_bytes(bom) == BOM {
        Some(Endian::Big)
    } else if u32::from_le_bytes(bom) == BOM {
        Some(Endian::Little)
    } else {
        None
    }
}

impl Pcapng {
    /// Whether the first four bytes of a file are a pcapng SHB type.
    pub(crate) fn magic(magic: [u8; 4]) -> bool {
        u32::from_le_bytes(magic) == SHB
    }

    /// Opens a pcapng stream (its magic checked). `Ok(None)`: the first block header is cut short
    /// (warned; no frames). The SHB itself is left in the input for [`Pcapng::next`].
    pub(crate) fn open(core: &mut Core) -> Result<Option<Self>, CaptureError> {
        if !core.input.fill(12)? {
            core.warn_truncated(0, block_name(SHB), 12);
            return Ok(None);
        }
        let head = core.input.available();
        let Some(endian) = byte_order([head[8], head[9], head[10], head[11]]) else {
            // "\n\r\r\n" followed by no byte-order magic: text, not a capture.
            return Err(CaptureError::NotACapture { magic: head[..12].to_vec() });
        };
        Ok(Some(Self { endian, interfaces: Vec::new(), last_ts: Timestamp(0) }))
    }

    /// The next packet, `Ok(None)` at the end (a cut-short block is warned about).
    pub(crate) fn next(&mut self, core: &mut Core) -> Result<Option<FrameMeta>, CaptureError> {
        // Every pass consumes a whole block (at least 12 bytes) or returns.
        loop {
            let offset = core.input.offset();
            if !core.input.fill(8)? {
                if !core.input.available().is_empty() {
                    core.warn_truncated(offset, "pcapng block header", 8);
                }
                return Ok(None);
            }
            if Endian::Little.u32(core.input.available(), 0) == SHB {
                if !core.input.fill(12)? {
                    core.warn_truncated(offset, block_name(SHB), 12);
                    return Ok(None);
                }
                let h = core.input.available();
                self.endian = byte_order([h[8], h[9], h[10], h[11]]).ok_or_else(|| {
                    corrupt(offset, "section header block with a bad byte-order magic")
                })?;
                self.interfaces.clear();
            }
            let h = core.input.available();
            let btype = self.endian.u32(h, 0);
            let len = self.endian.u32(h, 4);
            let min = if btype == SHB { 28 } else { 12 };
            if len < min || !len.is_multiple_of(4) {
                let why = if len < min { "below the minimum" } else { "not a multiple of 4" };
                return Err(corrupt(
                    offset,
                    format!(
                        "{} (type {btype:#x}) has total length {len}: {why}",
                        block_name(btype)
                    ),
                ));
            }
            match btype {
                SHB => {
                    if !core.input.fill(16)? {
                        core.warn_truncated(offset, block_name(SHB), len as usize);
                        return Ok(None);
                    }
                    let h = core.input.available();
                    let (major, minor) = (self.endian.u16(h, 12), self.endian.u16(h, 14));
                    if major != 1 {
                        return Err(corrupt(
                            offset,
                            format!("unsupported pcapng version {major}.{minor}"),
                        ));
                    }
                    if !self.skip_block(core, offset, btype, len)? {
                        return Ok(None);
                    }
                }
                IDB | PB | SPB | EPB => {
                    let len = len as usize;
                    if len > MAX_BLOCK_LEN {
                        return Err(corrupt(
                            offset,
                            format!(
                                "{} is {len} bytes long, more than the maximum {MAX_BLOCK_LEN}",
                                block_name(btype)
                            ),
                        ));
                    }
                    let Some(at) = self.hold_block(core, offset, btype, len)? else {
                        return Ok(None);
                    };
                    let frame = if btype == IDB {
                        self.interface(core, offset, at, len)?;
                        None
                    } else {
                        self.packet(core, offset, btype, at, len)?
                    };
                    core.input.consume(len);
                    if frame.is_some() {
                        return Ok(frame);
                    }
                }
                DSB | CB | CB_NO_COPY if len as usize <= MAX_BLOCK_LEN => {
                    let len = len as usize;
                    let Some(at) = self.hold_block(core, offset, btype, len)? else {
                        return Ok(None);
                    };
                    if btype == DSB {
                        self.secrets(core, offset, at, len);
                    } else {
                        self.custom(core, offset, at, len);
                    }
                    core.input.consume(len);
                }
                _ => {
                    if btype == DSB {
                        core.warn(
                            offset,
                            format!(
                                "{} of {len} bytes is larger than the maximum {MAX_BLOCK_LEN}; skipped",
                                block_name(DSB)
                            ),
                        );
                    }
                    core.stats.skipped_blocks += 1;
                    if !self.skip_block(core, offset, btype, len)? {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Brings a whole block of `len` bytes (at most [`MAX_BLOCK_LEN`]) into the buffer and checks
    /// its trailer; its position in the buffer, `Ok(None)` when the input ends first (warned).
    fn hold_block(
        &self,
        core: &mut Core,
        offset: u64,
        btype: u32,
        len: usize,
    ) -> Result<Option<usize>, CaptureError> {
        if !core.input.fill(len)? {
            core.warn_truncated(offset, block_name(btype), len);
            return Ok(None);
        }
        let at = core.input.pos();
        let trailer = self.endian.u32(&core.input.buf()[at..at + len], len - 4);
        if trailer as usize != len {
            return Err(trailer_mismatch(offset, btype, len, trailer));
        }
        Ok(Some(at))
    }

    /// Moves past a block without holding it, checking its trailer. `Ok(false)`: cut short
    /// (warned).
    fn skip_block(
        &self,
        core: &mut Core,
        offset: u64,
        btype: u32,
        len: u32,
    ) -> Result<bool, CaptureError> {
        if !core.input.discard(u64::from(len) - 4)? || !core.input.fill(4)? {
            core.warn_truncated(offset, block_name(btype), len as usize);
            return Ok(false);
        }
        let trailer = self.endian.u32(core.input.available(), 0);
        if trailer != len {
            return Err(trailer_mismatch(offset, btype, len as usize, trailer));
        }
        core.input.consume(4);
        Ok(true)
    }

    /// Reads the DSB at `buf[at..at + len]` (trailer checked): secrets type, length, data.
    fn secrets(&self, core: &mut Core, offset: u64, at: usize, len: usize) {
        let e = self.endian;
        let block = &core.input.buf()[at..at + len];
        let body = &block[8..len - 4];
        if body.len() < 8 {
            core.warn(offset, format!("{} of {len} bytes is too short; skipped", block_name(DSB)));
            return;
        }
        let kind = e.u32(body, 0);
        let n = e.u32(body, 4) as usize;
        let Some(data) = body.get(8..8usize.saturating_add(n)) else {
            core.warn(
                offset,
                format!(
                    "{} says {n} bytes of secrets but holds {}; skipped",
                    block_name(DSB),
                    body.len() - 8
                ),
            );
            return;
        };
        let data = data.to_vec();
        core.secrets.push(crate::Secrets { kind, data, offset });
    }

    /// Keeps the Custom Block at `buf[at..at + len]` for the next frame (bounded).
    fn custom(&self, core: &mut Core, offset: u64, at: usize, len: usize) {
        let block = &core.input.buf()[at..at + len];
        let body = &block[8..len - 4];
        if body.len() < 4 || core.custom.len() >= crate::MAX_CUSTOM_BLOCKS {
            core.stats.skipped_blocks += 1;
            return;
        }
        let pen = self.endian.u32(body, 0);
        let data = body[4..].to_vec();
        let big_endian = matches!(self.endian, Endian::Big);
        core.custom.push(crate::CustomBlock { pen, data, big_endian, offset });
    }

    /// Reads the IDB at `buf[at..at + len]` (trailer checked).
    fn interface(
        &mut self,
        core: &mut Core,
        offset: u64,
        at: usize,
        len: usize,
    ) -> Result<(), CaptureError> {
        if len < 20 {
            return Err(corrupt(
                offset,
                format!("{} of {len} bytes is too short", block_name(IDB)),
            ));
        }
        if self.interfaces.len() >= MAX_INTERFACES {
            return Err(corrupt(
                offset,
                format!("more than {MAX_INTERFACES} interfaces in one section"),
            ));
        }
        let e = self.endian;
        let block = &core.input.buf()[at..at + len];
        let link = LinkType(u32::from(e.u16(block, 8)));
        let snaplen = e.u32(block, 12);
        let mut iface = Interface { link, snaplen, scale: TsScale::Mul(1000), offset_s: 0 };
        let mut opts = &block[16..len - 4];
        let mut overrun = false;
        while opts.len() >= 4 {
            let code = e.u16(opts, 0);
            let olen = usize::from(e.u16(opts, 2));
            if code == OPT_END {
                break;
            }
            let Some(value) = opts.get(4..4 + olen) else {
                overrun = true;
                break;
            };
            match code {
                IF_TSRESOL if olen >= 1 => iface.scale = TsScale::from_tsresol(value[0]),
                IF_TSOFFSET if olen >= 8 => iface.offset_s = e.u64(value, 0) as i64,
                _ => {}
            }
            let padded = 4 + olen.div_ceil(4) * 4;
            opts = opts.get(padded..).unwrap_or(&[]);
        }
        self.interfaces.push(iface);
        if overrun {
            core.warn(
                offset,
                format!(
                    "interface {} description: an option runs past the block; later options ignored",
                    self.interfaces.len() - 1
                ),
            );
        }
        Ok(())
    }

    /// Reads the packet block of type `btype` at `buf[at..at + len]` (trailer checked).
    /// `Ok(None)`: skipped (unknown interface, warned).
    fn packet(
        &mut self,
        core: &mut Core,
        offset: u64,
        btype: u32,
        at: usize,
        len: usize,
    ) -> Result<Option<FrameMeta>, CaptureError> {
        let e = self.endian;
        let block = &core.input.buf()[at..at + len];
        let min = if btype == SPB { 16 } else { 32 };
        if len < min {
            return Err(corrupt(
                offset,
                format!("{} of {len} bytes is too short", block_name(btype)),
            ));
        }
        // (interface id, timestamp units or None for an SPB, captured length, original length,
        // data start within the block)
        let (iface_id, ts, caplen, orig_len, data_start) = match btype {
            SPB => {
                let orig_len = e.u32(block, 8);
                (0, None, orig_len, orig_len, 12)
            }
            _ => {
                let iface_id =
                    if btype == EPB { e.u32(block, 8) } else { u32::from(e.u16(block, 8)) };
                let ts = (u64::from(e.u32(block, 12)) << 32) | u64::from(e.u32(block, 16));
                (iface_id, Some(ts), e.u32(block, 20), e.u32(block, 24), 28)
            }
        };
        core.number += 1;
        let Some(iface) = self.interfaces.get(iface_id as usize).copied() else {
            let n = self.interfaces.len();
            core.warn(
                offset,
                format!(
                    "{} (frame {}) names interface {iface_id}, but the section describes {n}; skipped",
                    block_name(btype),
                    core.number
                ),
            );
            return Ok(None);
        };
        let room = len - data_start - 4;
        let caplen = if btype == SPB {
            // An SPB has no captured length: the snap length and the block bound it.
            let mut c = (caplen as usize).min(room);
            if iface.snaplen != 0 {
                c = c.min(iface.snaplen as usize);
            }
            c
        } else {
            let c = caplen as usize;
            if c > room {
                return Err(corrupt(
                    offset,
                    format!(
                        "{} has captured length {c}, but only {room} bytes of room",
                        block_name(btype)
                    ),
                ));
            }
            c
        };
        if caplen > MAX_RECORD_LEN {
            return Err(corrupt(
                offset,
                format!("record length {caplen} is larger than the maximum {MAX_RECORD_LEN}"),
            ));
        }
        let ts = match ts {
            Some(units) => {
                let ts = iface.timestamp(units);
                self.last_ts = ts;
                ts
            }
            None => self.last_ts,
        };
        let comment = if btype == EPB {
            epb_comment(e, block, data_start + caplen.next_multiple_of(4), len - 4)
                .map(|(from, n)| (at + from, n))
        } else {
            None
        };
        Ok(Some(FrameMeta {
            ts,
            link: iface.link,
            data_at: at + data_start,
            data_len: caplen,
            orig_len,
            offset,
            comment,
        }))
    }
}

/// The first `opt_comment` among the options of `block[pos..end]`: its start and length; `None`
/// when there is none or the options break off.
fn epb_comment(e: Endian, block: &[u8], mut pos: usize, end: usize) -> Option<(usize, usize)> {
    const OPT_COMMENT: u16 = 1;
    while pos + 4 <= end {
        let (code, n) = (e.u16(block, pos), usize::from(e.u16(block, pos + 2)));
        let value = pos + 4;
        if code == OPT_END || value + n > end {
            return None;
        }
        if code == OPT_COMMENT {
            return Some((value, n));
        }
        pos = value + n.next_multiple_of(4);
    }
    None
}

fn trailer_mismatch(offset: u64, btype: u32, len: usize, trailer: u32) -> CaptureError {
    corrupt(
        offset,
        format!(
            "{} (type {btype:#x}) has total length {len} but its trailer says {trailer}",
            block_name(btype)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsresol_scales() {
        // Default 10^-6.
        assert_eq!(TsScale::from_tsresol(6).to_ns(1_500_000), 1_500_000_000);
        assert_eq!(TsScale::from_tsresol(9).to_ns(7), 7);
        assert_eq!(TsScale::from_tsresol(0).to_ns(2), 2_000_000_000);
        assert_eq!(TsScale::from_tsresol(12).to_ns(5_000), 5);
        // 2^-10: 1024 units per second.
        assert_eq!(TsScale::from_tsresol(0x80 | 10).to_ns(2048), 2_000_000_000);
        assert_eq!(TsScale::from_tsresol(0x80).to_ns(3), 3_000_000_000);
        // Extremes never overflow.
        assert_eq!(TsScale::from_tsresol(127).to_ns(u64::MAX), 0);
        assert_eq!(TsScale::from_tsresol(0xff).to_ns(u64::MAX), 0);
        assert_eq!(TsScale::from_tsresol(28).to_ns(u64::MAX), 1);
        assert_eq!(TsScale::from_tsresol(0).to_ns(u64::MAX), i128::from(u64::MAX) * 1_000_000_000);
    }

    #[test]
    fn timestamp_saturates() {
        let iface = Interface {
            link: LinkType::ETHERNET,
            snaplen: 0,
            scale: TsScale::from_tsresol(0),
            offset_s: 0,
        };
        assert_eq!(iface.timestamp(u64::MAX), Timestamp(i64::MAX));
        let back = Interface { offset_s: i64::MIN, ..iface };
        assert_eq!(back.timestamp(0), Timestamp(i64::MIN));
        let shifted = Interface { scale: TsScale::Mul(1000), offset_s: -10, ..iface };
        assert_eq!(shifted.timestamp(11_000_000), Timestamp(1_000_000_000));
    }
}
