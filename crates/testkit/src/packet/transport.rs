//! TCP and UDP headers with pseudo-header checksums.

use std::net::IpAddr;
use std::ops::{BitOr, BitOrAssign};

use super::{checksum, ip_proto};

/// TCP flags (the low 8 bits of the flags field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// No flags.
    pub const NONE: Self = Self(0);
    /// FIN.
    pub const FIN: Self = Self(0x01);
    /// SYN.
    pub const SYN: Self = Self(0x02);
    /// RST.
    pub const RST: Self = Self(0x04);
    /// PSH.
    pub const PSH: Self = Self(0x08);
    /// ACK.
    pub const ACK: Self = Self(0x10);
    /// URG.
    pub const URG: Self = Self(0x20);
    /// ECE.
    pub const ECE: Self = Self(0x40);
    /// CWR.
    pub const CWR: Self = Self(0x80);

    /// True if every flag of `other` is set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for TcpFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

/// Encoders for common TCP options.
pub mod tcp_option {
    /// No-operation (1 byte).
    pub const NOP: u8 = 1;
    /// End of option list (1 byte).
    pub const EOL: u8 = 0;

    /// Maximum segment size.
    pub fn mss(mss: u16) -> [u8; 4] {
        let m = mss.to_be_bytes();
        [2, 4, m[0], m[1]]
    }

    /// Window scale shift.
    pub fn window_scale(shift: u8) -> [u8; 3] {
        [3, 3, shift]
    }

    /// SACK permitted.
    pub fn sack_permitted() -> [u8; 2] {
        [4, 2]
    }

    /// Timestamps.
    pub fn timestamps(tsval: u32, tsecr: u32) -> [u8; 10] {
        let mut o = [8, 10, 0, 0, 0, 0, 0, 0, 0, 0];
        o[2..6].copy_from_slice(&tsval.to_be_bytes());
        o[6..10].copy_from_slice(&tsecr.to_be_bytes());
        o
    }

    /// SACK blocks (left, right edges).
    pub fn sack(blocks: &[(u32, u32)]) -> Vec<u8> {
        let mut o = vec![5, (2 + 8 * blocks.len()) as u8];
        for (l, r) in blocks {
            o.extend_from_slice(&l.to_be_bytes());
            o.extend_from_slice(&r.to_be_bytes());
        }
        o
    }

    /// The SYN options of a Linux / Android stack: MSS, SACK permitted, timestamps, NOP,
    /// window scale (20 bytes).
    pub fn syn_options(mss_value: u16, tsval: u32, tsecr: u32, wscale: u8) -> Vec<u8> {
        let mut o = Vec::with_capacity(20);
        o.extend_from_slice(&mss(mss_value));
        o.extend_from_slice(&sack_permitted());
        o.extend_from_slice(&timestamps(tsval, tsecr));
        o.push(NOP);
        o.extend_from_slice(&window_scale(wscale));
        o
    }

    /// NOP, NOP, timestamps (12 bytes), as on every segment of a timestamping connection.
    pub fn data_timestamps(tsval: u32, tsecr: u32) -> [u8; 12] {
        let mut o = [NOP; 12];
        o[2..].copy_from_slice(&timestamps(tsval, tsecr));
        o
    }
}

/// A TCP header. Data offset and checksum are computed when written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TcpHeader {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// Window.
    pub window: u16,
    /// Urgent pointer.
    pub urgent: u16,
    /// Raw options (padded with EOL to a multiple of 4 when written; at most 40 bytes).
    pub options: Vec<u8>,
    /// Checksum to write instead of the computed one (for bad-checksum tests).
    pub checksum_override: Option<u16>,
}

impl TcpHeader {
    /// A header with window 65535 and everything else zero.
    pub fn new(src_port: u16, dst_port: u16) -> Self {
        Self {
            src_port,
            dst_port,
            seq: 0,
            ack: 0,
            flags: TcpFlags::NONE,
            window: 65535,
            urgent: 0,
            options: Vec::new(),
            checksum_override: None,
        }
    }

    /// Header length in bytes.
    pub fn header_len(&self) -> usize {
        20 + self.options.len().next_multiple_of(4)
    }

    /// Appends the header and `payload` to `out`, with the checksum for `src` -> `dst`.
    pub fn write(&self, src: IpAddr, dst: IpAddr, payload: &[u8], out: &mut Vec<u8>) {
        let hlen = self.header_len();
        assert!(hlen <= 60, "TCP options longer than 40 bytes");
        let start = out.len();
        out.extend_from_slice(&self.src_port.to_be_bytes());
        out.extend_from_slice(&self.dst_port.to_be_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.ack.to_be_bytes());
        out.push(((hlen / 4) as u8) << 4);
        out.push(self.flags.0);
        out.extend_from_slice(&self.window.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.urgent.to_be_bytes());
        out.extend_from_slice(&self.options);
        out.resize(start + hlen, 0);
        out.extend_from_slice(payload);
        let sum = self
            .checksum_override
            .unwrap_or_else(|| checksum::transport(src, dst, ip_proto::TCP, &out[start..]));
        out[start + 16..start + 18].copy_from_slice(&sum.to_be_bytes());
    }
}

/// A UDP header. Length and checksum are computed when written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpHeader {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Write checksum 0 ("none"; only legal over IPv4).
    pub zero_checksum: bool,
    /// Checksum to write instead of the computed one (for bad-checksum tests).
    pub checksum_override: Option<u16>,
}

impl UdpHeader {
    /// A header with a computed checksum.
    pub fn new(src_port: u16, dst_port: u16) -> Self {
        Self { src_port, dst_port, zero_checksum: false, checksum_override: None }
    }

    /// Appends the header and `payload` to `out`, with the checksum for `src` -> `dst` (a
    /// computed 0 is sent as 0xffff).
    pub fn write(&self, src: IpAddr, dst: IpAddr, payload: &[u8], out: &mut Vec<u8>) {
        let len = 8 + payload.len();
        assert!(len <= 0xffff, "UDP datagram longer than 65535 bytes");
        let start = out.len();
        out.extend_from_slice(&self.src_port.to_be_bytes());
        out.extend_from_slice(&self.dst_port.to_be_bytes());
        out.extend_from_slice(&(len as u16).to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(payload);
        let sum = match (self.checksum_override, self.zero_checksum) {
            (Some(s), _) => s,
            (None, true) => 0,
            (None, false) => match checksum::transport(src, dst, ip_proto::UDP, &out[start..]) {
                0 => 0xffff,
                s => s,
            },
        };
        out[start + 6..start + 8].copy_from_slice(&sum.to_be_bytes());
    }
}
