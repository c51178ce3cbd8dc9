//! Reader tests over captures built byte by byte here (layouts from the pcap and pcapng drafts,
//! draft-ietf-opsawg-pcap / draft-ietf-opsawg-pcapng).

use std::io::{self, Cursor, Read, Write};

use testkit::rng::xorshift64;

use super::*;
use crate::MAX_RECORD_LEN;
use crate::input::BUF_LEN;

// ---------------------------------------------------------------------------------------------
// Builders

/// Classic pcap: file header with `magic` (as a u32 in the writer's byte order) and link type.
fn pcap_header(be: bool, magic: u32, link: u32) -> Vec<u8> {
    let mut v = Vec::new();
    put32(&mut v, be, magic);
    put16(&mut v, be, 2);
    put16(&mut v, be, 4);
    put32(&mut v, be, 0); // thiszone
    put32(&mut v, be, 0); // sigfigs
    put32(&mut v, be, 65535); // snaplen
    put32(&mut v, be, link);
    v
}

fn pcap_record(v: &mut Vec<u8>, be: bool, secs: u32, frac: u32, data: &[u8], orig: u32) {
    put32(v, be, secs);
    put32(v, be, frac);
    put32(v, be, data.len() as u32);
    put32(v, be, orig);
    v.extend_from_slice(data);
}

fn put16(v: &mut Vec<u8>, be: bool, x: u16) {
    v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() });
}

fn put32(v: &mut Vec<u8>, be: bool, x: u32) {
    v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() });
}

const US: u32 = 0xa1b2_c3d4;
const NS: u32 = 0xa1b2_3c4d;

/// pcapng writer; `be` is the byte order of the current section.
struct Ng {
    out: Vec<u8>,
    be: bool,
}

impl Ng {
    /// A stream starting with an SHB in byte order `be`.
    fn new(be: bool) -> Self {
        let mut ng = Self { out: Vec::new(), be };
        ng.shb(be);
        ng
    }

    /// Appends a block with `body` (padded to 4 bytes here).
    fn block(&mut self, btype: u32, body: &[u8]) -> &mut Self {
        let padded = body.len().div_ceil(4) * 4;
        let len = (12 + padded) as u32;
        let be = self.be;
        put32(&mut self.out, be, btype);
        put32(&mut self.out, be, len);
        self.out.extend_from_slice(body);
        self.out.resize(self.out.len() + padded - body.len(), 0);
        put32(&mut self.out, be, len);
        self
    }

    fn shb(&mut self, be: bool) -> &mut Self {
        self.be = be;
        let mut body = Vec::new();
        put32(&mut body, be, 0x1a2b_3c4d);
        put16(&mut body, be, 1);
        put16(&mut body, be, 0);
        body.extend_from_slice(&u64::MAX.to_le_bytes()); // section length unknown
        // shb_userappl option, then opt_endofopt.
        put16(&mut body, be, 4);
        put16(&mut body, be, 5);
        body.extend_from_slice(b"test\0\0\0\0");
        put32(&mut body, be, 0);
        self.block(0x0a0d_0d0a, &body)
    }

    /// IDB with options `(code, value)`.
    fn idb(&mut self, link: u16, snaplen: u32, opts: &[(u16, &[u8])]) -> &mut Self {
        let be = self.be;
        let mut body = Vec::new();
        put16(&mut body, be, link);
        put16(&mut body, be, 0);
        put32(&mut body, be, snaplen);
        for (code, val) in opts {
            put16(&mut body, be, *code);
            put16(&mut body, be, val.len() as u16);
            body.extend_from_slice(val);
            body.resize(body.len().div_ceil(4) * 4, 0);
        }
        if !opts.is_empty() {
            put32(&mut body, be, 0);
        }
        self.block(1, &body)
    }

    fn epb(&mut self, iface: u32, ts: u64, data: &[u8], orig: u32) -> &mut Self {
        let be = self.be;
        let mut body = Vec::new();
        put32(&mut body, be, iface);
        put32(&mut body, be, (ts >> 32) as u32);
        put32(&mut body, be, ts as u32);
        put32(&mut body, be, data.len() as u32);
        put32(&mut body, be, orig);
        body.extend_from_slice(data);
        body.resize(body.len().div_ceil(4) * 4, 0);
        // epb_flags option (inbound), then end of options.
        put16(&mut body, be, 2);
        put16(&mut body, be, 4);
        put32(&mut body, be, 1);
        put32(&mut body, be, 0);
        self.block(6, &body)
    }

    fn pb(&mut self, iface: u16, ts: u64, data: &[u8], orig: u32) -> &mut Self {
        let be = self.be;
        let mut body = Vec::new();
        put16(&mut body, be, iface);
        put16(&mut body, be, 0); // drops
        put32(&mut body, be, (ts >> 32) as u32);
        put32(&mut body, be, ts as u32);
        put32(&mut body, be, data.len() as u32);
        put32(&mut body, be, orig);
        body.extend_from_slice(data);
        self.block(2, &body)
    }

    fn spb(&mut self, orig: u32, data: &[u8]) -> &mut Self {
        let be = self.be;
        let mut body = Vec::new();
        put32(&mut body, be, orig);
        body.extend_from_slice(data);
        self.block(3, &body)
    }

    fn bytes(&self) -> Vec<u8> {
        self.out.clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Reading helpers

/// A frame copied out of the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owned {
    ts: i64,
    number: u64,
    link: u32,
    data: Vec<u8>,
    orig_len: u32,
    offset: u64,
    /// Decryption secrets handed out with the frame: (type, data).
    secrets: Vec<(u32, Vec<u8>)>,
}

/// Everything a reader gave: frames, the error that ended it (if any), warnings, stats.
#[derive(Debug)]
struct Out {
    frames: Vec<Owned>,
    error: Option<CaptureError>,
    warnings: Vec<Warning>,
    stats: ReaderStats,
}

fn drain(mut r: CaptureReader) -> Out {
    let mut frames = Vec::new();
    let mut error = None;
    // Guard: a reader must end; no test input has a million frames.
    for _ in 0..1_000_000 {
        match r.next_frame() {
            Ok(Some(f)) => frames.push(Owned {
                ts: f.ts.0,
                number: f.number,
                link: f.link.0,
                data: f.data.to_vec(),
                orig_len: f.orig_len,
                offset: f.offset,
                secrets: f.secrets.iter().map(|s| (s.kind, s.data.clone())).collect(),
            }),
            Ok(None) => break,
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    // After the end or an error, the reader stays ended.
    assert!(matches!(r.next_frame(), Ok(None)));
    Out { frames, error, warnings: r.warnings().to_vec(), stats: r.stats().clone() }
}

fn read(bytes: &[u8]) -> Out {
    drain(CaptureReader::from_read(Cursor::new(bytes.to_vec())).expect("opens"))
}

/// Reads expecting no error and no warning.
fn read_clean(bytes: &[u8]) -> Vec<Owned> {
    let out = read(bytes);
    assert!(out.error.is_none(), "{:?}", out.error);
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    out.frames
}

/// A source returning at most one byte per `read`, and `Interrupted` every other call.
struct Trickle {
    data: Vec<u8>,
    pos: usize,
    calls: u64,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls.is_multiple_of(2) {
            return Err(io::ErrorKind::Interrupted.into());
        }
        if self.pos >= self.data.len() || buf.is_empty() {
            return Ok(0);
        }
        buf[0] = self.data[self.pos];
        self.pos += 1;
        Ok(1)
    }
}

fn read_trickle(bytes: &[u8]) -> Out {
    let src = Trickle { data: bytes.to_vec(), pos: 0, calls: 0 };
    drain(CaptureReader::from_read(src).expect("opens"))
}

fn corrupt_offset(out: &Out) -> u64 {
    match &out.error {
        Some(CaptureError::Corrupt { offset, .. }) => *offset,
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A zstd frame holding `bytes` in raw (stored) blocks of 1000 bytes: enough of an encoder for
/// tests.
fn zstd_raw(bytes: &[u8]) -> Vec<u8> {
    let mut v = vec![0x28, 0xb5, 0x2f, 0xfd];
    // Frame header descriptor: no content size, no checksum, no dictionary; window 1 KiB.
    v.push(0x00);
    v.push(0x00);
    let chunks: Vec<&[u8]> = bytes.chunks(1000).collect();
    if chunks.is_empty() {
        v.extend_from_slice(&[1, 0, 0]); // last, raw, size 0
    }
    for (i, c) in chunks.iter().enumerate() {
        let last = u32::from(i + 1 == chunks.len());
        let h = last | ((c.len() as u32) << 3);
        v.extend_from_slice(&h.to_le_bytes()[..3]);
        v.extend_from_slice(c);
    }
    v
}

// ---------------------------------------------------------------------------------------------
// pcap

fn two_record_pcap(be: bool, magic: u32) -> Vec<u8> {
    let mut v = pcap_header(be, magic, 1);
    pcap_record(&mut v, be, 1_700_000_000, 123_456, &[1, 2, 3, 4], 60);
    pcap_record(&mut v, be, 1_700_000_001, 7, &[5; 10], 10);
    v
}

#[test]
fn pcap_both_byte_orders_micro_and_nano() {
    for be in [false, true] {
        for (magic, format, frac_ns) in [(US, Format::Pcap, 1000), (NS, Format::PcapNsec, 1)] {
            let bytes = two_record_pcap(be, magic);
            let r = CaptureReader::from_read(Cursor::new(bytes.clone())).unwrap();
            assert_eq!(r.format(), format);
            assert_eq!(r.compression(), Compression::None);
            let frames = read_clean(&bytes);
            assert_eq!(
                frames,
                vec![
                    Owned {
                        ts: 1_700_000_000 * 1_000_000_000 + 123_456 * frac_ns,
                        number: 1,
                        link: 1,
                        data: vec![1, 2, 3, 4],
                        orig_len: 60,
                        offset: 24,
                        secrets: vec![],
                    },
                    Owned {
                        ts: 1_700_000_001 * 1_000_000_000 + 7 * frac_ns,
                        number: 2,
                        link: 1,
                        data: vec![5; 10],
                        orig_len: 10,
                        offset: 24 + 16 + 4,
                        secrets: vec![],
                    },
                ],
                "be={be} magic={magic:x}"
            );
        }
    }
}

#[test]
fn reader_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<CaptureReader>();
}

#[test]
fn pcap_stats_count_frames_and_bytes() {
    let out = read(&two_record_pcap(false, US));
    assert_eq!(out.stats, ReaderStats { frames: 2, frame_bytes: 14, skipped_blocks: 0 });
}

#[test]
fn pcap_modified_format_has_longer_record_headers() {
    let mut v = pcap_header(false, 0xa1b2_cd34, 101);
    for (i, data) in [&[0x45u8, 0][..], &[0x60, 0, 0]].iter().enumerate() {
        pcap_record(&mut v, false, 10 + i as u32, 0, data, data.len() as u32);
        v.extend_from_slice(&[0xee; 8]); // ifindex, protocol, pkt_type, pad
        // The 8 extra header bytes come before the data: move them there.
        let n = v.len();
        v[n - 8 - data.len()..n].rotate_right(8);
    }
    let r = CaptureReader::from_read(Cursor::new(v.clone())).unwrap();
    assert_eq!(r.format(), Format::PcapModified);
    let frames = read_clean(&v);
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].data, [0x45, 0]);
    assert_eq!(frames[1].data, [0x60, 0, 0]);
    assert_eq!(frames[1].offset, 24 + 24 + 2);
}

#[test]
fn pcap_link_type_keeps_low_16_bits() {
    // FCS-length bits (28..31) set above LINKTYPE_ETHERNET.
    let mut v = pcap_header(false, US, 0x1000_0000 | 1);
    pcap_record(&mut v, false, 0, 0, &[0; 14], 14);
    assert_eq!(read_clean(&v)[0].link, 1);
}

#[test]
fn pcap_record_longer_than_snaplen_is_read() {
    let mut v = pcap_header(true, US, 1);
    v[16..20].copy_from_slice(&64u32.to_be_bytes());
    pcap_record(&mut v, true, 0, 0, &[7; 200], 200);
    assert_eq!(read_clean(&v)[0].data.len(), 200);
}

#[test]
fn pcap_header_only_is_empty() {
    assert!(read_clean(&pcap_header(false, US, 1)).is_empty());
    assert!(read_clean(&pcap_header(true, NS, 113)).is_empty());
}

#[test]
fn pcap_truncated_header_warns() {
    let v = pcap_header(false, US, 1);
    let out = read(&v[..10]);
    assert!(out.error.is_none());
    assert!(out.frames.is_empty());
    assert_eq!(out.warnings.len(), 1);
    assert_eq!(out.warnings[0].offset, 0);
}

#[test]
fn pcap_truncated_last_record_warns_after_earlier_frames() {
    let full = two_record_pcap(false, US);
    let second = 24 + 16 + 4;
    // Cut inside the second record's data, and inside its header.
    for cut in [full.len() - 1, second + 16, second + 3, second + 1] {
        let out = read(&full[..cut]);
        assert!(out.error.is_none(), "cut {cut}");
        assert_eq!(out.frames.len(), 1, "cut {cut}");
        assert_eq!(out.warnings.len(), 1, "cut {cut}");
        assert_eq!(out.warnings[0].offset, second as u64, "cut {cut}");
        assert!(out.warnings[0].message.contains("cut short"), "{}", out.warnings[0].message);
    }
    // Cut exactly between records: no warning.
    assert_eq!(read_clean(&full[..second]).len(), 1);
}

#[test]
fn pcap_oversized_record_is_corrupt() {
    let mut v = two_record_pcap(false, US);
    let second = 24 + 16 + 4;
    v[second + 8..second + 12].copy_from_slice(&(MAX_RECORD_LEN as u32 + 1).to_le_bytes());
    let out = read(&v);
    assert_eq!(out.frames.len(), 1);
    assert_eq!(corrupt_offset(&out), second as u64);
    // Exactly MAX_RECORD_LEN is fine.
    let mut v = pcap_header(false, US, 1);
    pcap_record(&mut v, false, 0, 0, &vec![9; MAX_RECORD_LEN], 1 << 20);
    assert_eq!(read_clean(&v)[0].data.len(), MAX_RECORD_LEN);
}

#[test]
fn pcap_many_records_cross_buffer_boundaries() {
    // ~3.5 buffers of records of varying sizes, each filled with its own index.
    let mut v = pcap_header(false, NS, 1);
    let mut sizes = Vec::new();
    let mut total = 0;
    let mut i = 0u32;
    while total < BUF_LEN * 3 + BUF_LEN / 2 {
        let len = match i % 5 {
            0 => MAX_RECORD_LEN,
            1 => 0,
            2 => 1,
            3 => 1514,
            _ => 77_777,
        };
        pcap_record(&mut v, false, i, i, &vec![i as u8; len], len as u32);
        sizes.push(len);
        total += 16 + len;
        i += 1;
    }
    let frames = read_clean(&v);
    assert_eq!(frames.len(), sizes.len());
    let mut offset = 24;
    for (i, (f, len)) in frames.iter().zip(&sizes).enumerate() {
        assert_eq!(f.number, i as u64 + 1);
        assert_eq!(f.offset, offset);
        assert_eq!(f.data.len(), *len);
        assert!(f.data.iter().all(|b| *b == i as u8));
        assert_eq!(f.ts, i as i64 * 1_000_000_001);
        offset += 16 + *len as u64;
    }
}

// ---------------------------------------------------------------------------------------------
// Not a capture, I/O

#[test]
fn garbage_is_not_a_capture() {
    for input in [&b"GET / HTTP/1.1\r\n"[..], b"\x00\x01", b"", b"\n\r\r\nhello world, no bom"] {
        match CaptureReader::from_read(Cursor::new(input.to_vec())) {
            Err(CaptureError::NotACapture { magic }) => {
                assert!(input.starts_with(&magic), "{magic:?}");
            }
            other => panic!("{input:?}: {other:?}"),
        }
    }
    // A gzip of text: the magic shown is the decompressed one.
    match CaptureReader::from_read(Cursor::new(gzip(b"hello world"))) {
        Err(CaptureError::NotACapture { magic }) => assert_eq!(magic, b"hell"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn read_errors_are_kept() {
    struct Failing(Cursor<Vec<u8>>);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(io::Error::new(io::ErrorKind::PermissionDenied, "disk on fire")),
                n => Ok(n),
            }
        }
    }
    let mut v = two_record_pcap(false, US);
    v.truncate(v.len() - 2);
    let out = drain(CaptureReader::from_read(Failing(Cursor::new(v))).unwrap());
    assert_eq!(out.frames.len(), 1);
    match out.error {
        Some(CaptureError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::PermissionDenied),
        other => panic!("{other:?}"),
    }
}

#[test]
fn open_reads_files_and_reports_missing_ones() {
    let dir = std::env::temp_dir().join(format!("capture-open-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("two.pcap.gz");
    std::fs::write(&path, gzip(&two_record_pcap(true, NS))).unwrap();
    let out = drain(CaptureReader::open(&path).unwrap());
    assert_eq!(out.frames.len(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(matches!(CaptureReader::open(&dir.join("nope")), Err(CaptureError::Io(_))));
}

#[test]
fn one_byte_reads_give_the_same_frames() {
    let mut ng = Ng::new(false);
    ng.idb(1, 0, &[]).epb(0, 5, &[1; 33], 33).block(4, &[0; 20]).spb(3, &[2, 2, 2]);
    let mut big = pcap_header(false, US, 1);
    pcap_record(&mut big, false, 1, 2, &[3; 3000], 3000);
    pcap_record(&mut big, false, 1, 3, &[4; 5], 5);
    for bytes in [two_record_pcap(true, NS), ng.bytes(), big.clone(), gzip(&big), zstd_raw(&big)] {
        let expected = read(&bytes);
        let trickled = read_trickle(&bytes);
        assert!(expected.error.is_none() && trickled.error.is_none());
        assert!(!expected.frames.is_empty());
        assert_eq!(expected.frames, trickled.frames);
        assert_eq!(expected.warnings, trickled.warnings);
        assert_eq!(expected.stats, trickled.stats);
    }
    // Truncation found through one-byte reads too.
    let cut = read_trickle(&big[..big.len() - 1]);
    assert_eq!(cut.frames.len(), 1);
    assert_eq!(cut.warnings.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Compression

#[test]
fn gzip_input_is_detected_and_read() {
    let plain = two_record_pcap(false, US);
    let gz = gzip(&plain);
    let r = CaptureReader::from_read(Cursor::new(gz.clone())).unwrap();
    assert_eq!(r.compression(), Compression::Gzip);
    assert_eq!(r.format(), Format::Pcap);
    assert_eq!(read_clean(&gz), read_clean(&plain));
    // Offsets are in the decompressed stream.
    assert_eq!(read_clean(&gz)[1].offset, 44);
}

#[test]
fn gzip_multi_member() {
    let plain = two_record_pcap(true, US);
    let mut gz = gzip(&plain[..30]);
    gz.extend(gzip(&plain[30..]));
    assert_eq!(read_clean(&gz), read_clean(&plain));
}

#[test]
fn gzip_cut_short_warns() {
    let mut plain = pcap_header(false, US, 1);
    for i in 0..200u32 {
        pcap_record(&mut plain, false, i, 0, &i.to_le_bytes().repeat(50), 200);
    }
    let gz = gzip(&plain);
    let out = read(&gz[..gz.len() / 2]);
    assert!(out.error.is_none(), "{:?}", out.error);
    assert!(!out.frames.is_empty() && out.frames.len() < 200);
    assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
    assert!(out.warnings[0].message.contains("compressed stream ended early"));
}

#[test]
fn zstd_input_frames_and_skippable_frames() {
    let plain = two_record_pcap(false, NS);
    let z = zstd_raw(&plain);
    let r = CaptureReader::from_read(Cursor::new(z.clone())).unwrap();
    assert_eq!(r.compression(), Compression::Zstd);
    assert_eq!(read_clean(&z), read_clean(&plain));
    // Two frames with a skippable frame between them.
    let mut multi = zstd_raw(&plain[..20]);
    multi.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
    multi.extend(zstd_raw(&plain[20..]));
    assert_eq!(read_clean(&multi), read_clean(&plain));
    // An empty frame after the data.
    let mut tail = z.clone();
    tail.extend(zstd_raw(&[]));
    assert_eq!(read_clean(&tail), read_clean(&plain));
}

#[test]
fn zstd_cut_short_warns() {
    let mut plain = pcap_header(false, US, 1);
    for i in 0..2000u32 {
        pcap_record(&mut plain, false, i, 0, &[i as u8; 100], 100);
    }
    let z = zstd_raw(&plain);
    let out = read(&z[..z.len() - 1000]);
    assert!(out.error.is_none(), "{:?}", out.error);
    assert!(!out.frames.is_empty() && out.frames.len() < 2000);
    assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
    // Cut at a zstd block boundary (inside a record). The decoder keeps its window (1 KiB here)
    // until the frame ends, so those bytes are lost with the end of the frame.
    let block_end = 6 + 100 * (3 + 1000);
    let out = read(&z[..block_end]);
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
    assert!(out.frames.len() >= (100 * 1000 - 1024 - 24) / 116, "{}", out.frames.len());
}

#[test]
fn zstd_real_file_matches_uncompressed_sibling() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus/real/PcapPlusPlus");
    let zst = format!("{dir}/file_heuristics__pcapng-example.pcapng.zst");
    let plain = format!("{dir}/PcapExamples__pcapng-example.pcapng");
    let (Ok(z), Ok(p)) = (std::fs::read(&zst), std::fs::read(&plain)) else {
        testkit::skip::skip("capture zstd (real file)", &format!("{zst} or its sibling is absent"));
        return;
    };
    let r = CaptureReader::from_read(Cursor::new(z.clone())).unwrap();
    assert_eq!((r.compression(), r.format()), (Compression::Zstd, Format::Pcapng));
    let from_zstd = read_clean(&z);
    assert_eq!(from_zstd.len(), 159);
    assert_eq!(from_zstd, read_clean(&p));
}

// ---------------------------------------------------------------------------------------------
// pcapng

#[test]
fn pcapng_basic_both_byte_orders() {
    for be in [false, true] {
        let mut ng = Ng::new(be);
        ng.idb(1, 65535, &[]).epb(0, 1_700_000_000_123_456, &[0xab; 5], 99);
        let bytes = ng.bytes();
        let shb_len = 44;
        let idb_len = 20;
        let frames = read_clean(&bytes);
        assert_eq!(
            frames,
            vec![Owned {
                ts: 1_700_000_000_123_456_000,
                number: 1,
                link: 1,
                data: vec![0xab; 5],
                orig_len: 99,
                offset: shb_len + idb_len,
                secrets: vec![],
            }],
            "be={be}"
        );
        let r = CaptureReader::from_read(Cursor::new(bytes)).unwrap();
        assert_eq!(r.format(), Format::Pcapng);
    }
}

#[test]
fn pcapng_empty_sections() {
    assert!(read_clean(&Ng::new(false).bytes()).is_empty());
    let mut ng = Ng::new(true);
    ng.idb(1, 0, &[]).shb(false).shb(true);
    assert!(read_clean(&ng.bytes()).is_empty());
}

#[test]
fn pcapng_multi_section_mixed_byte_order_resets_interfaces() {
    let mut ng = Ng::new(false);
    ng.idb(1, 0, &[]).idb(101, 0, &[]).epb(1, 1, &[0x45], 1).epb(0, 2, &[1; 14], 14);
    ng.shb(true).idb(113, 0, &[(9, &[9])]).epb(0, 3, &[2; 16], 16);
    // Interface 1 belonged to the first section only.
    ng.epb(1, 4, &[3], 1);
    ng.shb(false).idb(228, 0, &[]).epb(0, 5, &[0x45, 0], 2);
    let out = read(&ng.bytes());
    assert!(out.error.is_none());
    let got: Vec<(u64, u32, i64)> = out.frames.iter().map(|f| (f.number, f.link, f.ts)).collect();
    assert_eq!(got, [(1, 101, 1000), (2, 1, 2000), (3, 113, 3), (5, 228, 5000)]);
    assert_eq!(out.warnings.len(), 1);
    assert!(out.warnings[0].message.contains("interface 1"), "{}", out.warnings[0].message);
    assert!(out.warnings[0].message.contains("frame 4"), "{}", out.warnings[0].message);
}

#[test]
fn pcapng_interfaces_with_their_own_resolution_and_offset() {
    let mut ng = Ng::new(false);
    ng.idb(1, 0, &[]) // default 10^-6
        .idb(101, 0, &[(9, &[9])]) // 10^-9
        .idb(276, 0, &[(9, &[0x80 | 10])]) // 2^-10
        .idb(0, 0, &[(9, &[3]), (14, &100i64.to_le_bytes())]) // 10^-3, +100 s
        .idb(108, 0, &[(14, &(-5i64).to_le_bytes())]) // 10^-6, -5 s
        .idb(1, 0, &[(2, b"eth0"), (9, &[0])]); // if_name then 1 s units
    for i in 0..6 {
        ng.epb(i, 3072, &[i as u8], 1);
    }
    let frames = read_clean(&ng.bytes());
    let got: Vec<(u32, i64)> = frames.iter().map(|f| (f.link, f.ts)).collect();
    assert_eq!(
        got,
        [
            (1, 3_072_000),
            (101, 3072),
            (276, 3_000_000_000),
            (0, 103_072_000_000),
            (108, 3_072_000 - 5_000_000_000),
            (1, 3072 * 1_000_000_000),
        ]
    );
}

#[test]
fn pcapng_huge_timestamps_saturate() {
    let mut ng = Ng::new(true);
    ng.idb(1, 0, &[(9, &[0])]).epb(0, u64::MAX, &[1], 1);
    ng.idb(1, 0, &[(9, &[0x80 | 127])]).epb(1, u64::MAX, &[1], 1);
    let frames = read_clean(&ng.bytes());
    assert_eq!(frames[0].ts, i64::MAX);
    assert_eq!(frames[1].ts, 0);
}

#[test]
fn pcapng_simple_packet_block() {
    let mut ng = Ng::new(false);
    // Interface 0 snaps at 4 bytes.
    ng.idb(1, 4, &[]).spb(10, &[1, 2, 3, 4, 0, 0, 0, 0]);
    ng.epb(0, 7, &[9, 9], 2).spb(3, &[5, 6, 7, 0]).spb(6, &[8, 8]);
    let frames = read_clean(&ng.bytes());
    let got: Vec<(i64, &[u8], u32)> =
        frames.iter().map(|f| (f.ts, &f.data[..], f.orig_len)).collect();
    assert_eq!(
        got,
        [
            (0, &[1, 2, 3, 4][..], 10), // no timestamp seen yet
            (7000, &[9, 9][..], 2),
            (7000, &[5, 6, 7][..], 3),    // orig_len bounds it
            (7000, &[8, 8, 0, 0][..], 6), // block room bounds it (padding included)
        ]
    );
    // An SPB before any IDB: skipped with a warning, number used.
    let mut ng = Ng::new(false);
    ng.spb(1, &[1]).idb(1, 0, &[]).spb(1, &[2]);
    let out = read(&ng.bytes());
    assert_eq!(out.frames.len(), 1);
    assert_eq!(out.frames[0].number, 2);
    assert_eq!(out.warnings.len(), 1);
}

#[test]
fn pcapng_obsolete_packet_block() {
    let mut ng = Ng::new(true);
    ng.idb(1, 0, &[]).idb(105, 0, &[(9, &[9])]).pb(1, 0x1_0000_0002, &[1, 2, 3], 40);
    let frames = read_clean(&ng.bytes());
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].link, 105);
    assert_eq!(frames[0].ts, 0x1_0000_0002);
    assert_eq!(frames[0].data, [1, 2, 3]);
    assert_eq!(frames[0].orig_len, 40);
}

#[test]
fn pcapng_other_blocks_are_skipped_and_counted() {
    let mut ng = Ng::new(false);
    ng.idb(1, 0, &[]);
    ng.block(4, &[1, 0, 8, 0, 10, 0, 0, 1, b'a', b'.', b'b', 0, 0, 0, 0, 0]); // NRB
    ng.epb(0, 1, &[1], 1);
    ng.block(5, &[0; 12]); // ISB
    ng.block(0x0bad, &[0; 5]); // custom, copyable
    ng.block(0x4000_0bad, &[]); // custom, not copyable
    ng.block(0x8000_0001, &[1; 3]); // local use
    ng.block(0x1234, &[]); // unknown
    ng.epb(0, 2, &[2], 1);
    let out = read(&ng.bytes());
    assert!(out.error.is_none() && out.warnings.is_empty());
    assert_eq!(out.frames.len(), 2);
    assert_eq!(out.frames[1].number, 2);
    // The copyable custom block is kept for the next frame (`Frame::custom`); the empty one has
    // no PEN.
    assert_eq!(out.stats.skipped_blocks, 5);
}

#[test]
fn pcapng_decryption_secrets_come_with_the_next_frame_in_either_byte_order() {
    for big in [false, true] {
        let mut ng = Ng::new(big);
        let (kind, len) = if big {
            (*b"TLSK", [0, 0, 0, 6])
        } else {
            let mut k = *b"TLSK";
            k.reverse();
            (k, [6, 0, 0, 0])
        };
        let dsb = |data: &[u8]| [&kind[..], &len[..], data].concat();
        ng.idb(1, 0, &[]);
        ng.block(0x0a, &dsb(b"line 1"));
        ng.epb(0, 1, &[1], 1);
        ng.epb(0, 2, &[2], 1);
        ng.block(0x0a, &dsb(b"line 2"));
        ng.block(0x0a, &dsb(b"line 3"));
        ng.epb(0, 3, &[3], 1);
        let frames = read_clean(&ng.bytes());
        let got: Vec<Vec<&[u8]>> =
            frames.iter().map(|f| f.secrets.iter().map(|(_, d)| d.as_slice()).collect()).collect();
        assert_eq!(got, vec![vec![&b"line 1"[..]], vec![], vec![&b"line 2"[..], &b"line 3"[..]]]);
        assert_eq!(frames[0].secrets[0].0, crate::Secrets::TLS_KEY_LOG);
    }
    // A secrets length past the block: a warning, the block skipped, the rest read.
    let mut ng = Ng::new(false);
    ng.idb(1, 0, &[]).block(0x0a, b"KSLT\xff\x00\x00\x00ab").epb(0, 1, &[1], 1);
    let out = read(&ng.bytes());
    assert!(out.error.is_none());
    assert_eq!((out.frames.len(), out.warnings.len()), (1, 1));
    assert!(out.warnings[0].message.contains("decryption secrets block"), "{:?}", out.warnings);
}

#[test]
fn pcapng_skipped_block_larger_than_the_buffer_is_streamed() {
    let mut ng = Ng::new(false);
    ng.idb(1, 0, &[]).block(0x1234, &vec![7; 3 * BUF_LEN + 12]).epb(0, 1, &[1], 1);
    let out = read(&ng.bytes());
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.frames.len(), 1);
    assert_eq!(out.stats.skipped_blocks, 1);
    // A Decryption Secrets Block that large is not read, and says so.
    let mut big = Ng::new(false);
    big.idb(1, 0, &[]).block(0x0a, &vec![7; 3 * BUF_LEN + 12]).epb(0, 1, &[1], 1);
    let out = read(&big.bytes());
    assert_eq!((out.frames.len(), out.warnings.len()), (1, 1), "{:?}", out.warnings);
    // Cut inside it: a warning, not an error.
    let bytes = ng.bytes();
    let out = read(&bytes[..2 * BUF_LEN]);
    assert!(out.error.is_none() && out.frames.is_empty());
    assert_eq!(out.warnings.len(), 1);
    assert_eq!(out.warnings[0].offset, 44 + 20);
}

#[test]
fn pcapng_truncated_last_block_warns() {
    let mut ng = Ng::new(true);
    ng.idb(1, 0, &[]).epb(0, 1, &[1; 20], 20);
    let first_end = ng.out.len();
    ng.epb(0, 2, &[2; 20], 20);
    let bytes = ng.bytes();
    for cut in [bytes.len() - 1, first_end + 4, first_end + 9, first_end + 30] {
        let out = read(&bytes[..cut]);
        assert!(out.error.is_none(), "cut {cut}: {:?}", out.error);
        assert_eq!(out.frames.len(), 1, "cut {cut}");
        assert_eq!(out.warnings.len(), 1, "cut {cut}");
        assert_eq!(out.warnings[0].offset, first_end as u64);
    }
    // Cut inside the first SHB.
    let out = read(&bytes[..20]);
    assert!(out.error.is_none() && out.frames.is_empty());
    assert_eq!(out.warnings.len(), 1);
    assert_eq!(read(&bytes[..6]).warnings.len(), 1);
}

#[test]
fn pcapng_bad_block_lengths_are_corrupt_with_offset() {
    let mut ng = Ng::new(false);
    ng.idb(1, 0, &[]).epb(0, 1, &[1], 1);
    let at = ng.out.len();
    ng.epb(0, 2, &[2], 1);
    let good = ng.bytes();
    let set_len = |len: u32| {
        let mut v = good.clone();
        v[at + 4..at + 8].copy_from_slice(&len.to_le_bytes());
        v
    };
    // Below 12, below the EPB minimum, not a multiple of 4, header/trailer mismatch, huge.
    for len in [0, 5, 8, 16, 30, 44, 0xffff_fff0] {
        let out = read(&set_len(len));
        assert_eq!(out.frames.len(), 1, "len {len}");
        assert_eq!(corrupt_offset(&out), at as u64, "len {len}: {:?}", out.error);
    }
    // Trailer alone wrong.
    let mut v = good.clone();
    let n = v.len();
    v[n - 4] ^= 0x10;
    assert_eq!(corrupt_offset(&read(&v)), at as u64);
    // Captured length larger than the block.
    let mut v = good.clone();
    v[at + 20..at + 24].copy_from_slice(&100u32.to_le_bytes());
    assert_eq!(corrupt_offset(&read(&v)), at as u64);
}

#[test]
fn pcapng_fuzz_found_short_block_is_corrupt() {
    // DEPENDENCIES.md section 5: the block that made pcap-parser 0.17 underflow (type 0x80000001,
    // total length 5), here after a valid SHB.
    let mut v = Ng::new(false).bytes();
    let shb_len = v.len() as u64;
    v.extend_from_slice(&[
        0x01, 0x00, 0x00, 0x80, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0e, 0x7e, 0x7e, 0x7e, 0x7e,
        0x23, 0x27, 0x2b, 0x2b, 0x17, 0x00, 0x2b, 0x00, 0x2b,
    ]);
    assert_eq!(corrupt_offset(&read(&v)), shb_len);
}

#[test]
fn pcapng_bad_section_headers() {
    // Version 2.0.
    let mut v = Ng::new(false).bytes();
    v[12] = 2;
    assert_eq!(corrupt_offset(&read(&v)), 0);
    // A later SHB with a broken byte-order magic.
    let mut ng = Ng::new(false);
    ng.idb(1, 0, &[]).epb(0, 1, &[1], 1);
    let at = ng.out.len();
    ng.shb(true);
    let mut v = ng.bytes();
    v[at + 8] = 0;
    let out = read(&v);
    assert_eq!(out.frames.len(), 1);
    assert_eq!(corrupt_offset(&out), at as u64);
    // SHB too short to be one.
    let mut v = Ng::new(false).bytes();
    v[4..8].copy_from_slice(&24u32.to_le_bytes());
    assert_eq!(corrupt_offset(&read(&v)), 0);
}

#[test]
fn pcapng_idb_option_overrun_warns_and_keeps_the_interface() {
    let mut ng = Ng::new(false);
    ng.idb(1, 0, &[(9, &[9])]);
    // Make the if_tsresol option claim 200 bytes.
    let n = ng.out.len();
    ng.out[n - 4 - 4 - 8 + 2] = 200;
    ng.epb(0, 5, &[1], 1);
    let out = read(&ng.bytes());
    assert!(out.error.is_none());
    assert_eq!(out.frames.len(), 1);
    assert_eq!(out.frames[0].ts, 5000, "resolution option ignored");
    assert_eq!(out.warnings.len(), 1);
}

#[test]
fn warnings_are_bounded() {
    let mut ng = Ng::new(false);
    for _ in 0..MAX_WARNINGS + 50 {
        ng.epb(3, 0, &[], 0);
    }
    let out = read(&ng.bytes());
    assert!(out.error.is_none());
    assert_eq!(out.warnings.len(), MAX_WARNINGS);
    assert_eq!(out.warnings.last().unwrap().message, "51 more warnings not kept");
}

#[test]
fn every_prefix_and_many_mutations_end_without_panic() {
    let mut ng = Ng::new(false);
    ng.idb(1, 0, &[(9, &[9])]).epb(0, 1, &[1; 9], 9).block(4, &[0; 8]);
    ng.shb(true).idb(0, 4, &[]).spb(9, &[2; 9]).pb(0, 4, &[3; 5], 5);
    let inputs = [ng.bytes(), two_record_pcap(true, NS), gzip(&ng.bytes()), zstd_raw(&ng.bytes())];
    for base in &inputs {
        for cut in 0..base.len() {
            if let Ok(r) = CaptureReader::from_read(Cursor::new(base[..cut].to_vec())) {
                drain(r);
            }
        }
        // Deterministic byte mutations (xorshift).
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..3000 {
            let mut v = base.clone();
            for _ in 0..3 {
                let r = xorshift64(&mut x);
                let i = (r as usize) % v.len();
                v[i] = (r >> 32) as u8;
            }
            if let Ok(r) = CaptureReader::from_read(Cursor::new(v)) {
                drain(r);
            }
        }
    }
}

/// An EPB body for interface 0 with `data` and the options `opts` (code, value), then the end.
fn epb_with_options(be: bool, data: &[u8], opts: &[(u16, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for v in [0, 0, 7, data.len() as u32, data.len() as u32] {
        put32(&mut body, be, v);
    }
    body.extend_from_slice(data);
    body.resize(body.len().div_ceil(4) * 4, 0);
    for (code, value) in opts {
        put16(&mut body, be, *code);
        put16(&mut body, be, value.len() as u16);
        body.extend_from_slice(value);
        body.resize(body.len().div_ceil(4) * 4, 0);
    }
    body.extend_from_slice(&[0; 4]);
    body
}

#[test]
fn pcapng_custom_blocks_and_epb_comments_come_with_the_next_frame() {
    for be in [false, true] {
        let mut ng = Ng::new(be);
        ng.idb(1, 0, &[]);
        let mut custom = Vec::new();
        put32(&mut custom, be, 62_652);
        custom.extend_from_slice(b"\x01\x00\x01\x00ab");
        ng.block(0x0bad, &custom);
        ng.block(0x4000_0bad, &[]); // too short for a PEN: skipped
        let flags: &[u8] = &[0, 0, 0, 1];
        ng.block(6, &epb_with_options(be, &[1, 2, 3], &[(2, flags), (1, b"u-10123")]));
        for _ in 0..crate::MAX_CUSTOM_BLOCKS + 1 {
            ng.block(0x0bad, &custom);
        }
        // Options that break off (a length past the block) give no comment, and no error.
        let mut broken = Vec::new();
        for v in [0, 0, 8, 1, 1] {
            put32(&mut broken, be, v);
        }
        broken.extend_from_slice(&[4, 0, 0, 0]);
        put16(&mut broken, be, 1);
        put16(&mut broken, be, 64);
        broken.extend_from_slice(&[0; 4]);
        ng.block(6, &broken);
        ng.epb(0, 9, &[5], 1);
        let mut r = CaptureReader::from_read(Cursor::new(ng.bytes())).unwrap();
        let f = r.next_frame().unwrap().unwrap();
        assert_eq!(f.data, [1, 2, 3]);
        assert_eq!(f.comment, Some(&b"u-10123"[..]), "be {be}");
        assert_eq!(f.custom.len(), 1);
        assert_eq!((f.custom[0].pen, f.custom[0].big_endian), (62_652, be));
        assert!(f.custom[0].data.starts_with(b"\x01\x00\x01\x00ab"));
        let f = r.next_frame().unwrap().unwrap();
        assert_eq!(f.custom.len(), crate::MAX_CUSTOM_BLOCKS, "the rest skipped");
        assert_eq!((f.data, f.comment), (&[4u8][..], None), "broken options: no comment");
        let f = r.next_frame().unwrap().unwrap();
        assert!(f.custom.is_empty() && f.comment.is_none());
        assert!(r.next_frame().unwrap().is_none());
        assert!(r.warnings().is_empty());
        assert_eq!(r.stats().skipped_blocks, 2, "the short one and the one past the bound");
    }
}
