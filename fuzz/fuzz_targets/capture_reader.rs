#![no_main]
//! Fuzz target: the capture reader (format and compression detection, pcap, pcapng, gzip, zstd)
//! and link normalisation of every frame it returns, under its own link type and under every
//! supported one (so each link-layer decoder sees every frame without the fuzzer having to find
//! its link type value). Any panic, hang or unbounded allocation is a bug; errors and warnings are
//! fine.

use std::io::Cursor;

use capture::link::{self, LinkOutcome};
use capture::{CaptureReader, LinkType};

/// Every link type `link::normalize` decodes.
const SUPPORTED: [u32; 18] =
    [0, 1, 9, 12, 14, 50, 101, 104, 105, 108, 113, 127, 129, 228, 229, 239, 258, 276];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = CaptureReader::from_read(Cursor::new(data.to_vec())) else {
        return;
    };
    let mut last_number = 0;
    while let Ok(Some(frame)) = reader.next_frame() {
        assert!(frame.number > last_number, "frame numbers increase");
        last_number = frame.number;
        for link in std::iter::once(frame.link).chain(SUPPORTED.map(LinkType)) {
            if let LinkOutcome::Network(net) = link::normalize(link, frame.data) {
                assert!(net.payload.len() <= frame.data.len());
            }
        }
    }
    // Ended readers stay ended.
    assert!(matches!(reader.next_frame(), Ok(None)));
    assert!(reader.warnings().len() <= capture::MAX_WARNINGS);
});
