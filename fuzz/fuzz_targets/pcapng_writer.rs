#![no_main]
//! Fuzz target: the pcapng writer of live sessions (`capture::writer`), checked against our
//! reader. The input is cut into frames (`link: u8, ts: i64 LE, len: u16 LE, bytes`); whatever
//! the frames, the file written must read back as the same frames (timestamps before 1970 are
//! written as 0; frames over `MAX_RECORD_LEN` cut to it, their original length kept), without a
//! reader warning.

use std::io::Cursor;

use capture::writer::{InterfaceStats, PcapngWriter};
use capture::{CaptureReader, LinkType, MAX_RECORD_LEN, Timestamp};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut frames = Vec::new();
    let mut rest = data;
    while rest.len() >= 11 && frames.len() < 64 {
        let link = LinkType(u32::from(rest[0]));
        let ts = i64::from_le_bytes(rest[1..9].try_into().unwrap_or_default());
        let len = usize::from(u16::from_le_bytes([rest[9], rest[10]]));
        rest = &rest[11..];
        let take = len.min(rest.len());
        frames.push((link, Timestamp(ts), rest[..take].to_vec()));
        rest = &rest[take..];
    }
    let Ok(mut w) = PcapngWriter::new(Vec::new(), "fuzz", 0) else { return };
    for (link, ts, bytes) in &frames {
        w.write(*link, *ts, bytes, bytes.len() as u32).expect("writing to memory");
    }
    let out = w.finish(Some(InterfaceStats { received: 1, dropped: 2 })).expect("finish");
    if frames.is_empty() {
        return;
    }
    let mut r = CaptureReader::from_read(Cursor::new(out)).expect("our own file opens");
    for (i, (link, ts, bytes)) in frames.iter().enumerate() {
        let f = r.next_frame().expect("reads").expect("every frame is there");
        assert_eq!(f.number, i as u64 + 1);
        assert_eq!(f.link, *link);
        assert_eq!(f.ts, Timestamp(ts.0.max(0)));
        assert_eq!(f.data, &bytes[..bytes.len().min(MAX_RECORD_LEN)]);
        assert_eq!(f.orig_len as usize, bytes.len());
    }
    assert!(r.next_frame().expect("reads").is_none());
    assert!(r.warnings().is_empty());
});
