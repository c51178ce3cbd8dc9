#![no_main]
//! Fuzz target: the capture reader (format and compression detection, pcap, pcapng, gzip, zstd)
//! and link normalisation of every frame it returns. Any panic, hang or unbounded allocation is a
//! bug; errors and warnings are fine.

use std::io::Cursor;

use capture::CaptureReader;
use capture::link::{self, LinkOutcome};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = CaptureReader::from_read(Cursor::new(data.to_vec())) else {
        return;
    };
    let mut last_number = 0;
    while let Ok(Some(frame)) = reader.next_frame() {
        assert!(frame.number > last_number, "frame numbers increase");
        last_number = frame.number;
        if let LinkOutcome::Network(net) = link::normalize(frame.link, frame.data) {
            assert!(net.payload.len() <= frame.data.len());
        }
    }
    // Ended readers stay ended.
    assert!(matches!(reader.next_frame(), Ok(None)));
    assert!(reader.warnings().len() <= capture::MAX_WARNINGS);
});
