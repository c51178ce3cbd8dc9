//! Capture input: the first stage of the pipeline.
//!
//! Contract:
//! - [`CaptureReader`] reads pcap (both byte orders, micro/nanosecond) and pcapng (either byte order,
//!   several sections and interfaces, `if_tsresol`, EPB/SPB/obsolete PB), optionally gzip- or
//!   zstd-compressed, from a file or `-` (stdin). The format is detected from the magic bytes.
//! - It streams: memory use does not depend on the file size (one fixed 1 MiB read buffer that
//!   holds any record up to [`MAX_RECORD_LEN`]; pcapng blocks that are not needed are skipped
//!   without buffering; at most [`MAX_WARNINGS`] warnings; a zstd decoder adds its window, as the
//!   file declares it, up to ruzstd's 128 MiB limit).
//! - Every frame comes out as a [`Frame`] borrowing the reader's buffer, with its timestamp taken from
//!   the capture (never the wall clock), its 1-based frame number and its link type.
//! - A truncated last record is a [`Warning`] with its byte offset, not an error: everything before
//!   it has been returned. Input that is not a capture at all is a [`CaptureError`].
//! - [`CaptureReader::format`] and [`CaptureReader::compression`] say what was detected.
//! - It never panics and always ends, whatever the input (fuzzed: `fuzz/fuzz_targets/capture_reader.rs`).
//! - [`link::normalize`] turns a frame of any supported link type into a network-layer view
//!   ([`link::Network`]); unsupported link types are counted as skipped, never an error.
//! - [`writer`] writes what a live session captured as pcapng, in a rotating series of private
//!   files (see its contract).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod link;
pub mod writer;

/// Largest record (packet) accepted, in bytes. Larger claimed lengths are treated as corruption.
pub const MAX_RECORD_LEN: usize = 256 * 1024;

/// Capture timestamp in nanoseconds since the Unix epoch (UTC). Negative before 1970.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

/// A link-layer header type (LINKTYPE_* value from the pcap/pcapng header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback / null (4-byte host-order address family).
    pub const NULL: Self = Self(0);
    /// Ethernet II, with optional 802.1Q / 802.1ad tags.
    pub const ETHERNET: Self = Self(1);
    /// Raw IP (DLT_RAW as written by most tools).
    pub const RAW: Self = Self(101);
    /// OpenBSD loopback (4-byte network-order address family).
    pub const LOOP: Self = Self(108);
    /// Linux cooked capture v1.
    pub const LINUX_SLL: Self = Self(113);
    /// Raw IPv4.
    pub const IPV4: Self = Self(228);
    /// Raw IPv6.
    pub const IPV6: Self = Self(229);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: Self = Self(276);
}

/// One captured frame, borrowed from the reader's buffer until the next call.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Capture timestamp.
    pub ts: Timestamp,
    /// 1-based frame number within its file, as Wireshark numbers them.
    pub number: u64,
    /// Link type of the interface the frame was captured on.
    pub link: LinkType,
    /// Captured bytes (may be shorter than `orig_len` when cut by the snap length).
    pub data: &'a [u8],
    /// Length of the frame on the wire.
    pub orig_len: u32,
    /// Byte offset of the record in the (decompressed) file.
    pub offset: u64,
    /// pcapng Decryption Secrets Blocks found between the previous frame and this one, in file
    /// order (usually empty).
    pub secrets: &'a [Secrets],
    /// The first comment (`opt_comment`) of a pcapng Enhanced Packet Block, as written (PCAPdroid
    /// writes the app's uid there as `u-10123`).
    pub comment: Option<&'a [u8]>,
    /// pcapng Custom Blocks found between the previous frame and this one, in file order (at
    /// most [`MAX_CUSTOM_BLOCKS`]; more are counted in [`ReaderStats::skipped_blocks`]).
    pub custom: &'a [CustomBlock],
}

/// Custom Blocks held between two frames at most (their data is at most a block long).
pub const MAX_CUSTOM_BLOCKS: usize = 64;

/// A pcapng Custom Block (type `0x00000BAD`, or `0x40000BAD` when not to be copied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomBlock {
    /// The Private Enterprise Number of who defined it (PCAPdroid: 62652).
    pub pen: u32,
    /// The block's data after the PEN (options included: their layout is the definer's).
    pub data: Vec<u8>,
    /// True for the section's byte order being big-endian (the data's numbers follow it).
    pub big_endian: bool,
    /// Byte offset of the block in the (decompressed) file.
    pub offset: u64,
}

/// A pcapng Decryption Secrets Block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secrets {
    /// Secrets type: [`Secrets::TLS_KEY_LOG`] (`TLSK`), `0x57474b4c` WireGuard, ...
    pub kind: u32,
    /// The secrets, as the type defines them (for TLS: NSS key log text).
    pub data: Vec<u8>,
    /// Byte offset of the block in the (decompressed) file.
    pub offset: u64,
}

impl Secrets {
    /// Secrets type of a TLS key log (NSS format).
    pub const TLS_KEY_LOG: u32 = 0x544c_534b;
}

/// Something odd but survivable in the input: reported, and reading goes on (or ends cleanly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Byte offset in the (decompressed) input where the problem starts.
    pub offset: u64,
    /// What happened, in words for a person.
    pub message: String,
}

/// Counters kept by the reader.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReaderStats {
    /// Frames returned.
    pub frames: u64,
    /// Bytes of frame data returned.
    pub frame_bytes: u64,
    /// pcapng blocks skipped because their type is not a packet block (NRB, ISB, DSB, custom...).
    pub skipped_blocks: u64,
}

/// The input could not be read as a capture.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The OS refused to read the input.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// The first bytes are not a pcap, pcapng, gzip or zstd magic.
    #[error(
        "not a capture file: it starts with bytes {} (hex), which is no pcap, pcapng, gzip or zstd magic",
        hex_bytes(magic)
    )]
    NotACapture {
        /// The first bytes found.
        magic: Vec<u8>,
    },
    /// The structure is broken beyond recovery at `offset`.
    #[error("corrupt capture at byte offset {offset}: {reason}")]
    Corrupt {
        /// Byte offset in the (decompressed) input.
        offset: u64,
        /// Why the record could not be read.
        reason: String,
    },
}

mod decompress;
mod input;
mod pcap;
mod pcapng;
/// `[0x68, 0x65]` -> `"68 65"`, for messages.
fn hex_bytes(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ")
}

mod reader;
pub use decompress::Compression;
pub use reader::{CaptureReader, Format, MAX_WARNINGS};
