use capture::{CustomBlock, Frame, LinkType, Timestamp};
use testkit::pcapdroid::{comment, trailer_frame, uid_map_block};

use super::*;

/// A minimal IPv4/UDP packet (28 bytes).
fn ip() -> Vec<u8> {
    let mut p = vec![0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 2, 8, 8, 8, 8];
    p.extend_from_slice(&[0x9c, 0x40, 0, 53, 0, 8, 0, 0]);
    p
}

fn frame<'a>(data: &'a [u8], link: LinkType, custom: &'a [CustomBlock]) -> Frame<'a> {
    Frame {
        ts: Timestamp(0),
        number: 1,
        link,
        data,
        orig_len: data.len() as u32,
        offset: 0,
        secrets: &[],
        comment: None,
        custom,
    }
}

fn block(data: &[u8]) -> CustomBlock {
    // The block's data after the PEN.
    CustomBlock { pen: PCAPDROID_PEN, data: data[4..].to_vec(), big_endian: false, offset: 0 }
}

#[test]
fn a_trailer_names_the_app() {
    let mut apps = Apps::default();
    let f = trailer_frame(&ip(), 10_123, "com.miui.analytics");
    assert_eq!(apps.frame(&frame(&f, LinkType::ETHERNET, &[])), Some(10_123));
    let app = apps.app(10_123);
    assert_eq!(app.package.as_deref(), Some("com.miui.analytics"));
    assert_eq!(app.label(), "com.miui.analytics");
    // A name longer than 20 bytes is cut, as PCAPdroid cuts it.
    let f = trailer_frame(&ip(), 10_200, "com.xiaomi.market.sdk.long");
    assert_eq!(apps.frame(&frame(&f, LinkType::ETHERNET, &[])), Some(10_200));
    assert_eq!(apps.app(10_200).package.as_deref(), Some("com.xiaomi.market.sd"));
    assert_eq!((apps.stats().trailers, apps.stats().tagged_frames), (2, 2));
}

#[test]
fn forged_altered_cut_and_absent_trailers_are_not_believed() {
    let mut apps = Apps::default();
    let good = trailer_frame(&ip(), 10_123, "com.example");
    // Altered after the CRC was computed: a byte of the packet, or the uid.
    for at in [20, good.len() - 28] {
        let mut f = good.clone();
        f[at] ^= 1;
        assert_eq!(apps.frame(&frame(&f, LinkType::ETHERNET, &[])), None, "byte {at}");
    }
    // A name with a byte that is not printable, CRC recomputed (a made-up trailer).
    let mut odd = trailer_frame(&ip(), 1, "bad\u{7}name");
    assert_eq!(apps.frame(&frame(&odd, LinkType::ETHERNET, &[])), None);
    assert_eq!(apps.stats().bad_trailers, 3);
    // Cut by the snap length: the trailer is lost (counted once a capture has shown trailers).
    assert_eq!(apps.frame(&frame(&good, LinkType::ETHERNET, &[])), Some(10_123));
    let mut cut = frame(&good[..good.len() - 8], LinkType::ETHERNET, &[]);
    cut.orig_len = good.len() as u32;
    assert_eq!(apps.frame(&cut), None);
    assert_eq!(apps.stats().cut_trailers, 1);
    // Not Ethernet, too short, or no magic: no trailer, nothing counted.
    assert_eq!(apps.frame(&frame(&good, LinkType::RAW, &[])), None);
    odd.truncate(40);
    assert_eq!(apps.frame(&frame(&odd, LinkType::ETHERNET, &[])), None);
    let mut plain = vec![0u8; 14];
    plain.extend_from_slice(&ip());
    plain.resize(80, 0);
    assert_eq!(apps.frame(&frame(&plain, LinkType::ETHERNET, &[])), None);
    assert_eq!(apps.stats().bad_trailers, 3);
    // Every cut of a good trailer frame: no panic, never a wrong uid.
    for n in 0..good.len() {
        let f = frame(&good[..n], LinkType::ETHERNET, &[]);
        assert_ne!(apps.frame(&f), Some(0));
    }
}

#[test]
fn pcapng_comments_and_uid_maps_name_the_app() {
    let mut apps = Apps::default();
    let map = [block(&uid_map_block(10_123, "com.miui.analytics", "Analytics"))];
    let c = comment(10_123);
    let data = ip();
    let mut f = frame(&data, LinkType::RAW, &map);
    f.comment = Some(c.as_bytes());
    assert_eq!(apps.frame(&f), Some(10_123));
    let app = apps.app(10_123);
    assert_eq!(
        (app.package.as_deref(), app.name.as_deref()),
        (Some("com.miui.analytics"), Some("Analytics"))
    );
    assert_eq!((apps.stats().uid_maps, apps.stats().comments), (1, 1));
    // Big-endian sections write the numbers big-endian.
    let mut be = uid_map_block(1000, "android", "System");
    be[4..6].copy_from_slice(&1u16.to_be_bytes());
    be[8..12].copy_from_slice(&1000i32.to_be_bytes());
    let mut b = block(&be);
    b.big_endian = true;
    apps.frame(&frame(&data, LinkType::RAW, &[b]));
    assert_eq!(apps.app(1000).name.as_deref(), Some("System"));
    // Comments that are not a uid, and blocks that do not read: nothing.
    for bad in [&b"u-"[..], b"u-x1", b"u-99999999999999", b"hello"] {
        let mut f = frame(&data, LinkType::RAW, &[]);
        f.comment = Some(bad);
        assert_eq!(apps.frame(&f), None, "{bad:?}");
    }
    let mut short = uid_map_block(5, "com.cut", "Cut");
    short.truncate(14);
    let mut other = uid_map_block(5, "x", "y");
    other[6] = 2; // another block type
    apps.frame(&frame(&data, LinkType::RAW, &[block(&short), block(&other), block(&[0; 6])]));
    assert_eq!(apps.stats().bad_blocks, 3);
    assert_eq!(apps.app(5), App { uid: 5, package: None, name: None });
}

#[test]
fn names_are_bounded() {
    let mut apps = Apps::default();
    let data = ip();
    for uid in 0..(MAX_APPS as i32 + 5) {
        let map = [block(&uid_map_block(uid, "p", "n"))];
        apps.frame(&frame(&data, LinkType::RAW, &map));
    }
    assert_eq!(apps.stats().capped, 5);
    assert_eq!(apps.app(MAX_APPS as i32 + 1).package, None);
}
