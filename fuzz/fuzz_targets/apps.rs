#![no_main]
//! Fuzz target: the app metadata of a frame (`pipeline::apps`): a PCAPdroid trailer at the end of
//! an Ethernet frame, a `u-<uid>` comment, uid mapping blocks. The input is cut at its first two
//! NUL bytes into a comment, a block's data and the frame (its first byte picks the link type
//! and the block's byte order). No panic; the names kept stay bounded; a uid handed out is one
//! the input wrote.

use capture::{CustomBlock, Frame, LinkType, Timestamp};
use pipeline::apps::{Apps, MAX_APPS, PCAPDROID_PEN};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0);
    let (Some(comment), Some(block), Some(frame)) = (parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    let (first, frame) = frame.split_first().unwrap_or((&0, &[]));
    let link = if first & 1 == 0 { LinkType::ETHERNET } else { LinkType::RAW };
    let custom = [CustomBlock {
        pen: PCAPDROID_PEN,
        data: block.to_vec(),
        big_endian: first & 2 != 0,
        offset: 0,
    }];
    let mut apps = Apps::default();
    for _ in 0..2 {
        let f = Frame {
            ts: Timestamp(0),
            number: 1,
            link,
            data: frame,
            orig_len: frame.len() as u32,
            offset: 0,
            secrets: &[],
            comment: (!comment.is_empty()).then_some(comment),
            custom: &custom,
        };
        if let Some(uid) = apps.frame(&f) {
            let _ = apps.app(uid).label();
        }
    }
    assert!(apps.stats().capped <= 2 && MAX_APPS > 0);
});
