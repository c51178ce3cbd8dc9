//! 802.11 and radiotap frames: arkime/80211http.pcap and zeek/wlanmon.pcap, and hand-made
//! variants following the 802.11 header layout.

use crate::LinkType;
use crate::link::test_util::{net, nothing};
use crate::link::{LinkOutcome, normalize};

const WLAN: LinkType = LinkType(105);
const RADIOTAP: LinkType = LinkType(127);

/// zeek/wlanmon.pcap frame 1 (first 48 bytes): QoS data, To-DS, then LLC/SNAP IPv4.
const QOS_DATA: [u8; 48] = [
    0x88, 0x01, 0x2c, 0x00, // frame control: QoS data, To-DS; duration
    0x8a, 0x15, 0x14, 0x9b, 0x5a, 0xe0, 0x90, 0x72, 0x40, 0x97, 0xb6, 0xf5, // address 1, 2
    0x44, 0x2b, 0x03, 0xaa, 0xab, 0x8d, 0x10, 0x00, // address 3, sequence control
    0x06, 0x00, // QoS control
    0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00, // LLC/SNAP, IPv4
    0x45, 0x00, 0x00, 0x3f, 0xd6, 0x8d, 0x00, 0x00, 0x40, 0x11, 0xae, 0xa2, 0xac, 0x11,
];

/// arkime/80211http.pcap frame 1 (first 80 bytes): radiotap (36 bytes, two present words, TSFT,
/// Flags = FCS at end), then a data frame (To-DS) with LLC/SNAP IPv4.
const RADIOTAP_DATA: [u8; 80] = [
    0x00, 0x00, 0x24, 0x00, 0x2f, 0x40, 0x00, 0xa0, 0x20, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x28, 0xeb, 0x68, 0x28, 0x00, 0x00, 0x00, 0x00, 0x10, 0x16, 0x9e, 0x09, 0xa0, 0x00, 0xba, 0x00,
    0x00, 0x00, 0xba, 0x00, 0x08, 0x01, 0x02, 0x01, 0x88, 0x25, 0x93, 0x40, 0x6b, 0x6f, 0xf8, 0xa9,
    0xd0, 0x1e, 0x90, 0xa3, 0x88, 0x25, 0x93, 0x40, 0x6b, 0x6f, 0x20, 0xb7, 0xaa, 0xaa, 0x03, 0x00,
    0x00, 0x00, 0x08, 0x00, 0x45, 0x00, 0x00, 0x3c, 0xf9, 0x31, 0x40, 0x00, 0x40, 0x06, 0x61, 0x30,
];

#[test]
fn qos_data_frame() {
    assert_eq!(normalize(WLAN, &QOS_DATA), net(0x0800, &QOS_DATA[34..]));
    assert_eq!(normalize(WLAN, &QOS_DATA[..25]), LinkOutcome::Truncated);
    assert_eq!(normalize(WLAN, &QOS_DATA[..1]), LinkOutcome::Truncated);
}

#[test]
fn header_variants() {
    // Plain data (subtype 0), From-DS: 24-byte header.
    let mut f = QOS_DATA.to_vec();
    f[0] = 0x08;
    f[1] = 0x02;
    f.drain(24..26);
    assert_eq!(normalize(WLAN, &f), net(0x0800, &f[32..]));
    // Four addresses (To-DS and From-DS): 30-byte header, QoS 32, with HT control 36.
    let mut f = QOS_DATA.to_vec();
    f[1] = 0x03;
    f.splice(24..24, [0; 6]);
    assert_eq!(normalize(WLAN, &f), net(0x0800, &f[40..]));
    f[1] = 0x83;
    f.splice(32..32, [0; 4]);
    assert_eq!(normalize(WLAN, &f), net(0x0800, &f[44..]));
}

#[test]
fn frames_without_a_readable_packet() {
    let mut f = QOS_DATA;
    // Protected (encrypted).
    f[1] = 0x41;
    assert_eq!(normalize(WLAN, &f), nothing());
    // QoS null function (subtype 12): no body.
    let mut f = QOS_DATA;
    f[0] = 0xc8;
    assert_eq!(normalize(WLAN, &f), nothing());
    // A-MSDU.
    let mut f = QOS_DATA;
    f[24] = 0x86;
    assert_eq!(normalize(WLAN, &f), nothing());
    // Beacon (management) and ACK (control).
    assert_eq!(normalize(WLAN, &[0x80, 0x00, 0, 0]), nothing());
    assert_eq!(normalize(WLAN, &[0xd4, 0x00, 0, 0]), nothing());
}

#[test]
fn radiotap_header() {
    assert_eq!(normalize(RADIOTAP, &RADIOTAP_DATA), net(0x0800, &RADIOTAP_DATA[68..]));
    for n in 0..60 {
        assert_eq!(normalize(RADIOTAP, &RADIOTAP_DATA[..n]), LinkOutcome::Truncated, "{n}");
    }
    // Data pad flag: the 26-byte QoS header is padded to 28.
    let mut f = vec![0x00, 0x00, 0x09, 0x00, 0x02, 0x00, 0x00, 0x00, 0x20];
    let mut frame = QOS_DATA.to_vec();
    frame.splice(26..26, [0, 0]);
    f.extend_from_slice(&frame);
    assert_eq!(normalize(RADIOTAP, &f), net(0x0800, &f[9 + 36..]));
    // Without the flag the padding would be read as LLC.
    f[8] = 0x00;
    assert_eq!(normalize(RADIOTAP, &f), net(0, &f[9 + 26..]));
    // Unknown radiotap version: nothing readable. Extended bitmap running past the header: cut.
    let mut f = RADIOTAP_DATA;
    f[0] = 1;
    assert_eq!(normalize(RADIOTAP, &f), nothing());
    let f = [0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x80, 0x08];
    assert_eq!(normalize(RADIOTAP, &f), LinkOutcome::Truncated);
}
