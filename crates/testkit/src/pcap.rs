//! Classic pcap writer (libpcap format 2.4): either byte order, microsecond or nanosecond
//! timestamps, any link type, snaplen cuts, optional gzip.
//!
//! Layout written: a 24-byte file header (magic `a1b2c3d4` for microseconds or `a1b23c4d` for
//! nanoseconds, in the chosen byte order; version 2.4; thiszone 0; sigfigs 0; snaplen; link
//! type), then per packet a 16-byte record header (ts_sec, ts_frac, incl_len, orig_len) and the
//! captured bytes.

use std::io::{self, Write};

use flate2::write::GzEncoder;

use crate::{Endian, Frame, PacketSink, linktype};

/// Timestamp resolution of a pcap file (selected by the magic number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TsResolution {
    /// Microseconds (magic `0xa1b2c3d4`).
    #[default]
    Micro,
    /// Nanoseconds (magic `0xa1b23c4d`).
    Nano,
}

/// Magic number of a microsecond-resolution pcap file.
pub const MAGIC_MICRO: u32 = 0xa1b2_c3d4;
/// Magic number of a nanosecond-resolution pcap file.
pub const MAGIC_NANO: u32 = 0xa1b2_3c4d;

/// File-level options of a pcap file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcapOptions {
    /// Byte order of every header field.
    pub endian: Endian,
    /// Timestamp resolution.
    pub resolution: TsResolution,
    /// Link type of every packet ([`crate::linktype`]).
    pub link_type: u32,
    /// Maximum captured bytes per packet; longer packets are cut and keep their original length.
    pub snaplen: u32,
    /// Format version written in the header (normally 2.4).
    pub version: (u16, u16),
}

impl Default for PcapOptions {
    fn default() -> Self {
        Self {
            endian: Endian::Little,
            resolution: TsResolution::Micro,
            link_type: linktype::ETHERNET,
            snaplen: 262_144,
            version: (2, 4),
        }
    }
}

impl PcapOptions {
    /// Defaults (little-endian, microseconds, snaplen 262144) for `link_type`.
    pub fn new(link_type: u32) -> Self {
        Self { link_type, ..Self::default() }
    }

    /// Sets the byte order.
    pub fn endian(mut self, endian: Endian) -> Self {
        self.endian = endian;
        self
    }

    /// Uses nanosecond timestamps.
    pub fn nanos(mut self) -> Self {
        self.resolution = TsResolution::Nano;
        self
    }

    /// Sets the snaplen.
    pub fn snaplen(mut self, snaplen: u32) -> Self {
        self.snaplen = snaplen;
        self
    }

    /// The 24-byte file header for these options.
    pub fn header_bytes(&self) -> [u8; 24] {
        let e = self.endian;
        let magic = match self.resolution {
            TsResolution::Micro => MAGIC_MICRO,
            TsResolution::Nano => MAGIC_NANO,
        };
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&e.u32(magic));
        h[4..6].copy_from_slice(&e.u16(self.version.0));
        h[6..8].copy_from_slice(&e.u16(self.version.1));
        // thiszone (8..12) and sigfigs (12..16) stay 0.
        h[16..20].copy_from_slice(&e.u32(self.snaplen));
        h[20..24].copy_from_slice(&e.u32(self.link_type));
        h
    }

    /// Splits `ts_ns` into (seconds, fraction in this file's resolution). Seconds are truncated
    /// to 32 bits as the format requires; negative times wrap.
    pub fn split_ts(&self, ts_ns: i64) -> (u32, u32) {
        let secs = ts_ns.div_euclid(1_000_000_000);
        let ns = ts_ns.rem_euclid(1_000_000_000) as u32;
        let frac = match self.resolution {
            TsResolution::Micro => ns / 1000,
            TsResolution::Nano => ns,
        };
        (secs as u32, frac)
    }
}

/// Writes a classic pcap file to `W`. Wrap files in a `BufWriter` ([`crate::create_file`]).
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    opts: PcapOptions,
    packets: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header with default options for `link_type`.
    pub fn new(out: W, link_type: u32) -> io::Result<Self> {
        Self::with_options(out, PcapOptions::new(link_type))
    }

    /// Writes the file header with `opts`.
    pub fn with_options(mut out: W, opts: PcapOptions) -> io::Result<Self> {
        out.write_all(&opts.header_bytes())?;
        Ok(Self { out, opts, packets: 0 })
    }

    /// The options this file was started with.
    pub fn options(&self) -> &PcapOptions {
        &self.opts
    }

    /// Number of packet records written so far.
    pub fn packets_written(&self) -> u64 {
        self.packets
    }

    /// Writes one packet captured at `ts_ns`; cut at the snaplen (original length kept).
    pub fn write_packet(&mut self, ts_ns: i64, data: &[u8]) -> io::Result<()> {
        self.write_packet_truncated(ts_ns, data, data.len() as u32)
    }

    /// Writes `data` as the captured bytes of a packet whose original length was `orig_len` (as
    /// a capture with a small snaplen would record it). `data` is still cut at the file snaplen.
    pub fn write_packet_truncated(
        &mut self,
        ts_ns: i64,
        data: &[u8],
        orig_len: u32,
    ) -> io::Result<()> {
        let incl = data.len().min(self.opts.snaplen as usize);
        let (sec, frac) = self.opts.split_ts(ts_ns);
        self.write_raw_record(sec, frac, incl as u32, orig_len, &data[..incl])
    }

    /// Writes a record header with exactly the given fields, then `data` (whatever its length):
    /// for malformed-file tests (incl_len lying, fraction out of range...).
    pub fn write_raw_record(
        &mut self,
        ts_sec: u32,
        ts_frac: u32,
        incl_len: u32,
        orig_len: u32,
        data: &[u8],
    ) -> io::Result<()> {
        let e = self.opts.endian;
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&e.u32(ts_sec));
        h[4..8].copy_from_slice(&e.u32(ts_frac));
        h[8..12].copy_from_slice(&e.u32(incl_len));
        h[12..16].copy_from_slice(&e.u32(orig_len));
        self.out.write_all(&h)?;
        self.out.write_all(data)?;
        self.packets += 1;
        Ok(())
    }

    /// Writes all `frames` in order.
    pub fn write_frames(&mut self, frames: &[Frame]) -> io::Result<()> {
        frames.iter().try_for_each(|(ts, f)| self.write_packet(*ts, f))
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// The underlying writer, e.g. to append garbage for truncation tests.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> PcapWriter<GzEncoder<W>> {
    /// A pcap writer whose output is gzip-compressed into `out`.
    pub fn new_gzip(out: W, opts: PcapOptions) -> io::Result<Self> {
        Self::with_options(crate::gzip(out), opts)
    }

    /// Finishes the gzip stream and returns the inner writer.
    pub fn finish_gzip(self) -> io::Result<W> {
        self.out.finish()
    }
}

impl<W: Write> PacketSink for PcapWriter<W> {
    fn write_frame(&mut self, ts_ns: i64, frame: &[u8]) -> io::Result<()> {
        self.write_packet(ts_ns, frame)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn le_micro_header_and_record() {
        let mut w = PcapWriter::new(Vec::new(), linktype::ETHERNET).unwrap();
        w.write_packet(1_700_000_000_123_456_789, &[1, 2, 3]).unwrap();
        let b = w.finish().unwrap();
        assert_eq!(
            &b[..24],
            &[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0]
        );
        assert_eq!(u32::from_le_bytes(b[24..28].try_into().unwrap()), 1_700_000_000);
        assert_eq!(u32::from_le_bytes(b[28..32].try_into().unwrap()), 123_456);
        assert_eq!(u32::from_le_bytes(b[32..36].try_into().unwrap()), 3);
        assert_eq!(u32::from_le_bytes(b[36..40].try_into().unwrap()), 3);
        assert_eq!(&b[40..], &[1, 2, 3]);
    }

    #[test]
    fn be_nano_snaplen_cut() {
        let opts = PcapOptions::new(linktype::RAW).endian(Endian::Big).nanos().snaplen(4);
        let mut w = PcapWriter::with_options(Vec::new(), opts).unwrap();
        w.write_packet(5 * crate::SEC + 7, &[9; 10]).unwrap();
        w.write_packet_truncated(-1, &[8; 2], 1500).unwrap();
        assert_eq!(w.packets_written(), 2);
        let b = w.finish().unwrap();
        assert_eq!(&b[0..4], &[0xa1, 0xb2, 0x3c, 0x4d]);
        assert_eq!(&b[4..8], &[0, 2, 0, 4]);
        assert_eq!(&b[16..20], &4u32.to_be_bytes());
        assert_eq!(&b[20..24], &101u32.to_be_bytes());
        let r = &b[24..];
        assert_eq!(&r[0..4], &5u32.to_be_bytes());
        assert_eq!(&r[4..8], &7u32.to_be_bytes());
        assert_eq!(&r[8..12], &4u32.to_be_bytes());
        assert_eq!(&r[12..16], &10u32.to_be_bytes());
        assert_eq!(&r[16..20], &[9; 4]);
        let r = &r[20..];
        assert_eq!(&r[0..4], &u32::MAX.to_be_bytes()); // -1 ns -> second -1, wrapped
        assert_eq!(&r[4..8], &999_999_999u32.to_be_bytes());
        assert_eq!(&r[8..12], &2u32.to_be_bytes());
        assert_eq!(&r[12..16], &1500u32.to_be_bytes());
        assert_eq!(r.len(), 18);
    }

    #[test]
    fn gzip_roundtrip() {
        let mut w = PcapWriter::new_gzip(Vec::new(), PcapOptions::default()).unwrap();
        w.write_packet(0, &[0xaa; 100]).unwrap();
        let gz = w.finish_gzip().unwrap();
        assert_eq!(&gz[..2], &[0x1f, 0x8b]);
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut plain).unwrap();
        assert_eq!(plain.len(), 24 + 16 + 100);
        assert_eq!(&plain[..4], &MAGIC_MICRO.to_le_bytes());
    }
}
