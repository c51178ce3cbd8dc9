//! The app metadata PCAPdroid writes, for tests (layouts as `pipeline::apps` documents them):
//! the trailer after an IP packet in a pcap, and the pcapng uid mapping block and EPB comment.

/// PCAPdroid's Private Enterprise Number.
pub const PEN: u32 = 62_652;

/// `ip` (an IPv4 or IPv6 packet) as PCAPdroid's pcap export with the trailer writes it: a
/// made-up Ethernet header, the packet, zeros to a multiple of 4, then magic, `uid`
/// (big-endian), `name` (cut to 20 bytes, NUL-padded) and the CRC-32 of everything before it
/// (little-endian, as the phone writes it).
pub fn trailer_frame(ip: &[u8], uid: i32, name: &str) -> Vec<u8> {
    let ethertype: [u8; 2] =
        if ip.first().is_some_and(|b| b >> 4 == 6) { [0x86, 0xdd] } else { [8, 0] };
    let mut f = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2];
    f.extend_from_slice(&ethertype);
    f.extend_from_slice(ip);
    f.resize(f.len().next_multiple_of(4), 0);
    f.extend_from_slice(&[0x01, 0x07, 0x20, 0x21]);
    f.extend_from_slice(&uid.to_be_bytes());
    let mut n = [0u8; 20];
    let cut = name.len().min(20);
    n[..cut].copy_from_slice(&name.as_bytes()[..cut]);
    f.extend_from_slice(&n);
    let mut crc = flate2::Crc::new();
    crc.update(&f);
    f.extend_from_slice(&crc.sum().to_le_bytes());
    f
}

/// The body of a pcapng Custom Block (type `0xBAD`) mapping `uid` to `package` and `name`:
/// PEN, version 1, type 1, the uid and the two lengths, the names (little-endian section).
pub fn uid_map_block(uid: i32, package: &str, name: &str) -> Vec<u8> {
    let mut b = PEN.to_le_bytes().to_vec();
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&[1, 0]);
    b.extend_from_slice(&uid.to_le_bytes());
    b.push(u8::try_from(package.len()).unwrap_or(u8::MAX));
    b.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
    b.extend_from_slice(package.as_bytes());
    b.extend_from_slice(name.as_bytes());
    b.resize(b.len().next_multiple_of(4), 0);
    b
}

/// The EPB comment PCAPdroid gives a packet of `uid`.
pub fn comment(uid: i32) -> String {
    format!("u-{uid}")
}
