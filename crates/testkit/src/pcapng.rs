//! pcapng writer: sections in either byte order, interfaces with any `if_tsresol`, Enhanced /
//! Simple / obsolete Packet Blocks, Name Resolution, Interface Statistics, custom and arbitrary
//! blocks (for reader skip tests), optional gzip.
//!
//! Every block is written as: type (u32), total length (u32), body padded to 4 bytes, total
//! length again, all in the current section's byte order.

use std::io::{self, Write};
use std::net::IpAddr;

use flate2::write::GzEncoder;

use crate::{Endian, Frame, PacketSink};

/// pcapng block type numbers.
pub mod block_type {
    /// Section Header Block.
    pub const SHB: u32 = 0x0A0D_0D0A;
    /// Interface Description Block.
    pub const IDB: u32 = 0x0000_0001;
    /// Packet Block (obsolete).
    pub const PB: u32 = 0x0000_0002;
    /// Simple Packet Block.
    pub const SPB: u32 = 0x0000_0003;
    /// Name Resolution Block.
    pub const NRB: u32 = 0x0000_0004;
    /// Interface Statistics Block.
    pub const ISB: u32 = 0x0000_0005;
    /// Enhanced Packet Block.
    pub const EPB: u32 = 0x0000_0006;
    /// Decryption Secrets Block.
    pub const DSB: u32 = 0x0000_000A;
    /// Custom Block that may be copied.
    pub const CB_COPY: u32 = 0x0000_0BAD;
    /// Custom Block that must not be copied.
    pub const CB_NO_COPY: u32 = 0x4000_0BAD;
}

/// Byte-order magic of a Section Header Block.
pub const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// Option code of `if_tsresol`.
pub const OPT_IF_TSRESOL: u16 = 9;
/// Option code of `opt_comment`.
pub const OPT_COMMENT: u16 = 1;

#[derive(Debug, Clone, Copy)]
struct Iface {
    snaplen: u32,
    tsresol: u8,
}

/// Writes a pcapng stream to `W`. A section is begun on creation; add interfaces before packets.
#[derive(Debug)]
pub struct PcapNgWriter<W: Write> {
    out: W,
    endian: Endian,
    ifaces: Vec<Iface>,
    buf: Vec<u8>,
    packets: u64,
}

/// Converts `ts_ns` to units of an `if_tsresol` value: bit 7 clear means 10^-v s, set means
/// 2^-v s (v = low 7 bits). Negative times wrap like the 64-bit field does.
pub fn ts_units(ts_ns: i64, tsresol: u8) -> u64 {
    let v = u32::from(tsresol & 0x7f);
    let ns = i128::from(ts_ns);
    let units = if tsresol & 0x80 == 0 {
        if v <= 9 { ns.div_euclid(10i128.pow(9 - v)) } else { ns * 10i128.pow(v - 9) }
    } else {
        (ns << v).div_euclid(1_000_000_000)
    };
    units as u64
}

fn options_len(options: &[(u16, &[u8])]) -> usize {
    if options.is_empty() {
        return 0;
    }
    options.iter().map(|(_, v)| 4 + v.len().next_multiple_of(4)).sum::<usize>() + 4
}

impl<W: Write> PcapNgWriter<W> {
    /// Starts a little-endian section on `out`.
    pub fn new(out: W) -> io::Result<Self> {
        Self::with_endian(out, Endian::Little)
    }

    /// Starts a section in byte order `endian` on `out`.
    pub fn with_endian(out: W, endian: Endian) -> io::Result<Self> {
        let mut w = Self { out, endian, ifaces: Vec::new(), buf: Vec::new(), packets: 0 };
        w.begin_section(endian)?;
        Ok(w)
    }

    /// Byte order of the current section.
    pub fn endian(&self) -> Endian {
        self.endian
    }

    /// Number of packet blocks (EPB, SPB, PB) written so far.
    pub fn packets_written(&self) -> u64 {
        self.packets
    }

    /// Begins a new section (SHB, version 1.0, unknown section length) in byte order `endian`;
    /// interfaces of the previous section are forgotten.
    pub fn begin_section(&mut self, endian: Endian) -> io::Result<()> {
        self.begin_section_with_options(endian, &[])
    }

    /// Like [`Self::begin_section`], with SHB options (code, value) such as `shb_userappl` (4).
    pub fn begin_section_with_options(
        &mut self,
        endian: Endian,
        options: &[(u16, &[u8])],
    ) -> io::Result<()> {
        self.endian = endian;
        self.ifaces.clear();
        let mut body = Vec::with_capacity(16 + options_len(options));
        body.extend_from_slice(&endian.u32(BYTE_ORDER_MAGIC));
        body.extend_from_slice(&endian.u16(1));
        body.extend_from_slice(&endian.u16(0));
        body.extend_from_slice(&(-1i64 as u64).to_le_bytes()); // all ones: order irrelevant
        self.push_options(&mut body, options);
        self.write_block(block_type::SHB, &body)
    }

    /// Adds an interface (IDB) and returns its id within the section. `tsresol` is the raw
    /// `if_tsresol` value (6 = microseconds, 9 = nanoseconds, 0x80|n = 2^-n); `None` omits the
    /// option, meaning microseconds.
    pub fn add_interface(
        &mut self,
        link_type: u16,
        snaplen: u32,
        tsresol: Option<u8>,
    ) -> io::Result<u32> {
        self.add_interface_with_options(link_type, snaplen, tsresol, &[])
    }

    /// Like [`Self::add_interface`], with extra IDB options (e.g. `if_name` = 2).
    pub fn add_interface_with_options(
        &mut self,
        link_type: u16,
        snaplen: u32,
        tsresol: Option<u8>,
        options: &[(u16, &[u8])],
    ) -> io::Result<u32> {
        let e = self.endian;
        let res_opt = tsresol.map(|r| [r]);
        let mut opts: Vec<(u16, &[u8])> = Vec::with_capacity(options.len() + 1);
        if let Some(r) = &res_opt {
            opts.push((OPT_IF_TSRESOL, r));
        }
        opts.extend_from_slice(options);
        let mut body = Vec::with_capacity(8 + options_len(&opts));
        body.extend_from_slice(&e.u16(link_type));
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&e.u32(snaplen));
        self.push_options(&mut body, &opts);
        self.write_block(block_type::IDB, &body)?;
        self.ifaces.push(Iface { snaplen, tsresol: tsresol.unwrap_or(6) });
        Ok(self.ifaces.len() as u32 - 1)
    }

    fn iface(&self, if_id: u32) -> Iface {
        // Unknown ids are allowed (malformed-file tests): microseconds, no snaplen.
        self.ifaces.get(if_id as usize).copied().unwrap_or(Iface { snaplen: 0, tsresol: 6 })
    }

    /// Writes an Enhanced Packet Block: `data` is the captured bytes (written as is), `orig_len`
    /// the original length. The timestamp is converted to the interface's resolution.
    pub fn write_epb(
        &mut self,
        if_id: u32,
        ts_ns: i64,
        data: &[u8],
        orig_len: u32,
    ) -> io::Result<()> {
        self.write_epb_with_options(if_id, ts_ns, data, orig_len, &[])
    }

    /// Like [`Self::write_epb`], with EPB options (e.g. `epb_flags` = 2, comment = 1).
    pub fn write_epb_with_options(
        &mut self,
        if_id: u32,
        ts_ns: i64,
        data: &[u8],
        orig_len: u32,
        options: &[(u16, &[u8])],
    ) -> io::Result<()> {
        let e = self.endian;
        let ts = ts_units(ts_ns, self.iface(if_id).tsresol);
        let mut head = [0u8; 20];
        head[0..4].copy_from_slice(&e.u32(if_id));
        head[4..8].copy_from_slice(&e.u32((ts >> 32) as u32));
        head[8..12].copy_from_slice(&e.u32(ts as u32));
        head[12..16].copy_from_slice(&e.u32(data.len() as u32));
        head[16..20].copy_from_slice(&e.u32(orig_len));
        let mut opts = std::mem::take(&mut self.buf);
        opts.clear();
        self.push_options(&mut opts, options);
        let r = self.write_block_parts(block_type::EPB, &[&head, data], &opts);
        self.buf = opts;
        self.packets += 1;
        r
    }

    /// Writes a packet as an EPB on interface `if_id`, cut at the interface snaplen (0 = none).
    pub fn write_packet(&mut self, if_id: u32, ts_ns: i64, data: &[u8]) -> io::Result<()> {
        let snap = self.iface(if_id).snaplen as usize;
        let incl = if snap == 0 { data.len() } else { data.len().min(snap) };
        self.write_epb(if_id, ts_ns, &data[..incl], data.len() as u32)
    }

    /// Writes a Simple Packet Block (always interface 0, no timestamp): `data` is written as the
    /// captured bytes, `orig_len` as the original length.
    pub fn write_spb(&mut self, data: &[u8], orig_len: u32) -> io::Result<()> {
        let len = self.endian.u32(orig_len);
        self.packets += 1;
        self.write_block_parts(block_type::SPB, &[&len, data], &[])
    }

    /// Writes an obsolete Packet Block (type 2): 16-bit interface id and drops count.
    pub fn write_obsolete_pb(
        &mut self,
        if_id: u16,
        drops: u16,
        ts_ns: i64,
        data: &[u8],
        orig_len: u32,
    ) -> io::Result<()> {
        let e = self.endian;
        let ts = ts_units(ts_ns, self.iface(u32::from(if_id)).tsresol);
        let mut head = [0u8; 20];
        head[0..2].copy_from_slice(&e.u16(if_id));
        head[2..4].copy_from_slice(&e.u16(drops));
        head[4..8].copy_from_slice(&e.u32((ts >> 32) as u32));
        head[8..12].copy_from_slice(&e.u32(ts as u32));
        head[12..16].copy_from_slice(&e.u32(data.len() as u32));
        head[16..20].copy_from_slice(&e.u32(orig_len));
        self.packets += 1;
        self.write_block_parts(block_type::PB, &[&head, data], &[])
    }

    /// Writes a Name Resolution Block with one record per (address, name) pair.
    pub fn write_nrb(&mut self, records: &[(IpAddr, &str)]) -> io::Result<()> {
        let e = self.endian;
        let mut body = Vec::new();
        for (addr, name) in records {
            let (ty, a): (u16, Vec<u8>) = match addr {
                IpAddr::V4(a) => (1, a.octets().to_vec()),
                IpAddr::V6(a) => (2, a.octets().to_vec()),
            };
            let vlen = a.len() + name.len() + 1;
            body.extend_from_slice(&e.u16(ty));
            body.extend_from_slice(&e.u16(vlen as u16));
            body.extend_from_slice(&a);
            body.extend_from_slice(name.as_bytes());
            body.push(0);
            body.resize(body.len().next_multiple_of(4), 0);
        }
        body.extend_from_slice(&[0; 4]); // nrb_record_end
        self.write_block(block_type::NRB, &body)
    }

    /// Writes an Interface Statistics Block for `if_id` at `ts_ns` with raw options (e.g.
    /// `isb_ifrecv` = 4, `isb_ifdrop` = 5, 8-byte values in section order).
    pub fn write_isb(
        &mut self,
        if_id: u32,
        ts_ns: i64,
        options: &[(u16, &[u8])],
    ) -> io::Result<()> {
        let e = self.endian;
        let ts = ts_units(ts_ns, self.iface(if_id).tsresol);
        let mut body = Vec::with_capacity(12 + options_len(options));
        body.extend_from_slice(&e.u32(if_id));
        body.extend_from_slice(&e.u32((ts >> 32) as u32));
        body.extend_from_slice(&e.u32(ts as u32));
        self.push_options(&mut body, options);
        self.write_block(block_type::ISB, &body)
    }

    /// Writes a Custom Block with Private Enterprise Number `pen` and `data`.
    pub fn write_custom(&mut self, pen: u32, data: &[u8], copyable: bool) -> io::Result<()> {
        let ty = if copyable { block_type::CB_COPY } else { block_type::CB_NO_COPY };
        let pen = self.endian.u32(pen);
        self.write_block_parts(ty, &[&pen, data], &[])
    }

    /// Writes an arbitrary block: `body` is padded with zeros to a multiple of 4 and framed with
    /// the type and both total lengths.
    pub fn write_block(&mut self, block_type: u32, body: &[u8]) -> io::Result<()> {
        self.write_block_parts(block_type, &[body], &[])
    }

    /// Writes raw bytes to the output (for malformed-stream tests).
    pub fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    fn push_options(&self, body: &mut Vec<u8>, options: &[(u16, &[u8])]) {
        if options.is_empty() {
            return;
        }
        let e = self.endian;
        for (code, value) in options {
            body.extend_from_slice(&e.u16(*code));
            body.extend_from_slice(&e.u16(value.len() as u16));
            body.extend_from_slice(value);
            body.resize(body.len().next_multiple_of(4), 0);
        }
        body.extend_from_slice(&[0; 4]); // opt_endofopt
    }

    /// Block = type, total length, parts (the last data part padded to 4), trailer, length.
    fn write_block_parts(
        &mut self,
        block_type: u32,
        parts: &[&[u8]],
        trailer: &[u8],
    ) -> io::Result<()> {
        let e = self.endian;
        let data_len: usize = parts.iter().map(|p| p.len()).sum();
        let pad = data_len.next_multiple_of(4) - data_len;
        let total = (12 + data_len + pad + trailer.len()) as u32;
        let mut head = [0u8; 8];
        head[0..4].copy_from_slice(&e.u32(block_type));
        head[4..8].copy_from_slice(&e.u32(total));
        self.out.write_all(&head)?;
        for p in parts {
            self.out.write_all(p)?;
        }
        self.out.write_all(&[0u8; 3][..pad])?;
        self.out.write_all(trailer)?;
        self.out.write_all(&e.u32(total))
    }

    /// Writes all `frames` on interface `if_id` in order.
    pub fn write_frames(&mut self, if_id: u32, frames: &[Frame]) -> io::Result<()> {
        frames.iter().try_for_each(|(ts, f)| self.write_packet(if_id, *ts, f))
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// The underlying writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> PcapNgWriter<GzEncoder<W>> {
    /// A pcapng writer (little-endian section begun) whose output is gzip-compressed into `out`.
    pub fn new_gzip(out: W) -> io::Result<Self> {
        Self::new(crate::gzip(out))
    }

    /// Finishes the gzip stream and returns the inner writer.
    pub fn finish_gzip(self) -> io::Result<W> {
        self.out.finish()
    }
}

/// Writes frames as EPBs on interface 0 (add it first).
impl<W: Write> PacketSink for PcapNgWriter<W> {
    fn write_frame(&mut self, ts_ns: i64, frame: &[u8]) -> io::Result<()> {
        self.write_packet(0, ts_ns, frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u32le(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    /// Walks blocks, checking both lengths agree and are multiples of 4; returns (type, body).
    fn blocks(b: &[u8], big: bool) -> Vec<(u32, Vec<u8>)> {
        let rd = |at: usize| {
            let a: [u8; 4] = b[at..at + 4].try_into().unwrap();
            if big { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) }
        };
        let mut out = Vec::new();
        let mut at = 0;
        while at < b.len() {
            let ty = rd(at);
            let len = rd(at + 4) as usize;
            assert_eq!(len % 4, 0, "block length {len} not padded");
            assert_eq!(rd(at + len - 4) as usize, len, "trailing length");
            out.push((ty, b[at + 8..at + len - 4].to_vec()));
            at += len;
        }
        assert_eq!(at, b.len());
        out
    }

    #[test]
    fn shb_idb_epb_layout() {
        let mut w = PcapNgWriter::new(Vec::new()).unwrap();
        let id = w.add_interface(1, 65535, Some(9)).unwrap();
        assert_eq!(id, 0);
        w.write_epb(0, 1_700_000_000_000_000_001, &[1, 2, 3, 4, 5], 60).unwrap();
        let b = w.finish().unwrap();
        // SHB: 28 bytes, magic, version 1.0, section length -1.
        assert_eq!(&b[0..4], &[0x0a, 0x0d, 0x0d, 0x0a]);
        assert_eq!(u32le(&b, 4), 28);
        assert_eq!(&b[8..12], &[0x4d, 0x3c, 0x2b, 0x1a]);
        assert_eq!(&b[12..16], &[1, 0, 0, 0]);
        assert_eq!(&b[16..24], &[0xff; 8]);
        let bl = blocks(&b, false);
        assert_eq!(bl.len(), 3);
        // IDB: link 1, reserved, snaplen, option tsresol (9, len 1, value 9, 3 pad), end.
        assert_eq!(bl[1].0, 1);
        assert_eq!(bl[1].1, [1, 0, 0, 0, 0xff, 0xff, 0, 0, 9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
        // EPB: 20-byte head + 5 data + 3 pad; total 12 + 28 = 40.
        let (ty, body) = &bl[2];
        assert_eq!(*ty, 6);
        assert_eq!(body.len(), 28);
        let ts = 1_700_000_000_000_000_001u64;
        assert_eq!(u32le(body, 4), (ts >> 32) as u32);
        assert_eq!(u32le(body, 8), ts as u32);
        assert_eq!(u32le(body, 12), 5);
        assert_eq!(u32le(body, 16), 60);
        assert_eq!(&body[20..], &[1, 2, 3, 4, 5, 0, 0, 0]);
    }

    #[test]
    fn big_endian_section_and_other_blocks() {
        let mut w = PcapNgWriter::with_endian(Vec::new(), Endian::Big).unwrap();
        w.add_interface(101, 0, None).unwrap();
        w.write_spb(&[7; 6], 100).unwrap();
        w.write_obsolete_pb(0, 3, 2_000_000, &[1], 1).unwrap();
        w.write_nrb(&[("10.0.0.1".parse().unwrap(), "a.example")]).unwrap();
        w.write_isb(0, 0, &[(4, &5u64.to_be_bytes())]).unwrap();
        w.write_custom(32473, b"abc", true).unwrap();
        w.write_block(0x1234_5678, &[1, 2, 3, 4, 5]).unwrap();
        w.begin_section(Endian::Little).unwrap();
        let b = w.finish().unwrap();
        assert_eq!(&b[8..12], &[0x1a, 0x2b, 0x3c, 0x4d]);
        // The last SHB is little-endian: split there.
        let split = b.len() - 28;
        let bl = blocks(&b[..split], true);
        let types: Vec<u32> = bl.iter().map(|(t, _)| *t).collect();
        assert_eq!(types, [block_type::SHB, 1, 3, 2, 4, 5, block_type::CB_COPY, 0x1234_5678]);
        assert_eq!(bl[2].1, [0, 0, 0, 100, 7, 7, 7, 7, 7, 7, 0, 0]);
        // PB: if 0, drops 3, ts 2000 us.
        assert_eq!(&bl[3].1[..12], &[0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0x07, 0xd0]);
        // NRB: type 1, len 4 + 10, addr, name NUL, pad to 16, then end record.
        assert_eq!(&bl[4].1[..4], &[0, 1, 0, 14]);
        assert_eq!(&bl[4].1[8..18], b"a.example\0");
        assert_eq!(bl[4].1.len(), 4 + 16 + 4);
        assert_eq!(bl[6].1, [0, 0, 0x7e, 0xd9, b'a', b'b', b'c', 0]);
        assert_eq!(bl[7].1, [1, 2, 3, 4, 5, 0, 0, 0]);
        assert_eq!(blocks(&b[split..], false)[0].0, block_type::SHB);
    }

    #[test]
    fn timestamp_units() {
        assert_eq!(ts_units(1_500_000_000, 6), 1_500_000);
        assert_eq!(ts_units(1_500_000_000, 9), 1_500_000_000);
        assert_eq!(ts_units(1_500_000_000, 3), 1_500);
        assert_eq!(ts_units(1, 12), 1_000);
        assert_eq!(ts_units(1_500_000_000, 0x80 | 10), 1536);
        assert_eq!(ts_units(-1, 6), u64::MAX);
    }

    #[test]
    fn snaplen_cut_in_write_packet() {
        let mut w = PcapNgWriter::new(Vec::new()).unwrap();
        w.add_interface(1, 4, Some(6)).unwrap();
        w.write_packet(0, 0, &[1; 10]).unwrap();
        let b = w.finish().unwrap();
        let bl = blocks(&b, false);
        assert_eq!(u32le(&bl[2].1, 12), 4);
        assert_eq!(u32le(&bl[2].1, 16), 10);
    }
}
