//! Streaming pcap / pcapng reader.
//!
//! **Own parser, not pcap-parser.** pcap-parser 0.17 is a dependency of the workspace plan, but its
//! readers leave the consume/refill protocol to the caller, turn I/O errors into a bare
//! `ReadError`, and underflow (panic in debug, a 4 GiB `Incomplete` in release) on pcapng blocks
//! whose total length is below 12 (DEPENDENCIES.md section 5). Working around all three needs a
//! buffer loop and a pre-parse of every block header here anyway, at which point the remaining
//! parsing is a few fixed-offset reads. The formats are small and stable, so the reader parses them
//! itself: one buffer, exact byte offsets in every error and warning, `io::Error` kept.
//!
//! Layers: [`crate::input::Input`] (one fixed buffer over the possibly decompressed byte stream),
//! then `pcap` or `pcapng` (record / block parsing), then [`CaptureReader`] (the public face).
//!
//! Policies:
//! - EOF inside a record or block (a file cut short, also a gzip/zstd stream cut short) is a
//!   [`Warning`], and the reader ends cleanly after the frames before it.
//! - Anything structurally impossible is [`CaptureError::Corrupt`] with the block's offset; after
//!   an error the reader returns `Ok(None)` forever.
//! - An EPB/PB naming an interface that its section did not describe is skipped with a warning
//!   (its frame number is still used up, so later numbers match Wireshark's for the readable part).
//! - At most [`MAX_WARNINGS`] warnings are kept; the last one then counts the rest.

use std::io::Read;
use std::path::Path;

use crate::decompress::{self, Compression};
use crate::input::Input;
use crate::pcap::Pcap;
use crate::pcapng::Pcapng;
use crate::{CaptureError, Frame, LinkType, ReaderStats, Timestamp, Warning};

/// Most warnings kept by one reader (memory stays bounded on hostile input).
pub const MAX_WARNINGS: usize = 1000;

/// The container format of a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// Classic pcap, microsecond timestamps (magic `a1b2c3d4`, either byte order).
    Pcap,
    /// Classic pcap, nanosecond timestamps (magic `a1b23c4d`, either byte order).
    PcapNsec,
    /// Kuznetzov's modified pcap (magic `a1b2cd34`): 8 more bytes per record header.
    PcapModified,
    /// pcapng.
    Pcapng,
}

impl Format {
    /// `pcap`, `pcap-nsec`, `pcap-modified`, `pcapng`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pcap => "pcap",
            Self::PcapNsec => "pcap-nsec",
            Self::PcapModified => "pcap-modified",
            Self::Pcapng => "pcapng",
        }
    }
}

/// What the format parsers hand back for one frame: indices into the input buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameMeta {
    pub(crate) ts: Timestamp,
    pub(crate) link: LinkType,
    /// Index of the first data byte in `Input::buf()`.
    pub(crate) data_at: usize,
    pub(crate) data_len: usize,
    pub(crate) orig_len: u32,
    pub(crate) offset: u64,
    /// Index and length in `Input::buf()` of the EPB's first comment.
    pub(crate) comment: Option<(usize, usize)>,
}

/// State shared by the format parsers: the input, warnings and the frame counter.
pub(crate) struct Core {
    pub(crate) input: Input,
    warnings: Vec<Warning>,
    /// Warnings not kept after [`MAX_WARNINGS`].
    warnings_dropped: u64,
    /// Number of the last packet record seen (1-based numbering; 0 before the first).
    pub(crate) number: u64,
    pub(crate) stats: ReaderStats,
    /// Decryption Secrets Blocks read since the last frame was returned.
    pub(crate) secrets: Vec<crate::Secrets>,
    /// Custom Blocks read since the last frame was returned.
    pub(crate) custom: Vec<crate::CustomBlock>,
}

impl Core {
    pub(crate) fn warn(&mut self, offset: u64, message: String) {
        if self.warnings.len() < MAX_WARNINGS - 1 {
            self.warnings.push(Warning { offset, message });
            return;
        }
        self.warnings_dropped += 1;
        let message = format!("{} more warnings not kept", self.warnings_dropped);
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(Warning { offset, message });
        } else if let Some(last) = self.warnings.last_mut() {
            last.message = message;
        }
    }

    /// The warning for EOF inside a structure that started at `offset`.
    pub(crate) fn warn_truncated(&mut self, offset: u64, what: &str, need: usize) {
        // Bytes from `offset` to the end of the input (some may have been discarded already).
        let have = self.input.offset().saturating_sub(offset) + self.input.available().len() as u64;
        let cause = match self.input.cut_short() {
            Some(at) => format!(" (compressed stream ended early at byte {at})"),
            None => String::new(),
        };
        self.warn(
            offset,
            format!(
                "{what} cut short at end of input: {have} of {need} bytes present{cause}; ignored"
            ),
        );
    }
}

/// Builds a [`CaptureError::Corrupt`].
pub(crate) fn corrupt(offset: u64, reason: impl Into<String>) -> CaptureError {
    CaptureError::Corrupt { offset, reason: reason.into() }
}

enum Parser {
    Pcap(Pcap),
    Pcapng(Pcapng),
    /// Ended (end of input, a truncated last record, or an error already returned).
    Done,
}

/// Reads frames from a capture, streaming.
///
/// ```no_run
/// # fn main() -> Result<(), capture::CaptureError> {
/// let mut reader = capture::CaptureReader::open(std::path::Path::new("in.pcapng.gz"))?;
/// while let Some(frame) = reader.next_frame()? {
///     println!("{} {} bytes", frame.number, frame.data.len());
/// }
/// for w in reader.warnings() {
///     eprintln!("offset {}: {}", w.offset, w.message);
/// }
/// # Ok(())
/// # }
/// ```
pub struct CaptureReader {
    core: Core,
    parser: Parser,
    format: Format,
    compression: Compression,
}

impl std::fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader")
            .field("format", &self.format)
            .field("compression", &self.compression)
            .field("offset", &self.core.input.offset())
            .field("stats", &self.core.stats)
            .finish()
    }
}

impl CaptureReader {
    /// Opens a capture file; `-` reads standard input.
    ///
    /// # Errors
    /// [`CaptureError::Io`] when the file cannot be opened or read, or a compressed stream is
    /// broken; [`CaptureError::NotACapture`] when its first bytes are no known magic.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        if path.as_os_str() == "-" {
            return Self::from_read(std::io::stdin());
        }
        let file = std::fs::File::open(path)?;
        Self::from_read(file)
    }

    /// Reads a capture from any byte source (a `Box<dyn Read + Send>` works too). The format and
    /// compression are detected from the first bytes.
    ///
    /// # Errors
    /// As [`CaptureReader::open`].
    pub fn from_read<R: Read + Send + 'static>(input: R) -> Result<Self, CaptureError> {
        let mut input: Box<dyn Read + Send> = Box::new(input);
        let mut prefix = Vec::with_capacity(4);
        (&mut input).take(4).read_to_end(&mut prefix)?;
        let compression = decompress::detect(&prefix);
        let input = match compression {
            Compression::None => Input::new(input, &prefix),
            c => Input::new(decompress::decoder(c, prefix, input), &[]),
        };
        let mut core = Core {
            input,
            warnings: Vec::new(),
            warnings_dropped: 0,
            number: 0,
            stats: ReaderStats::default(),
            secrets: Vec::new(),
            custom: Vec::new(),
        };
        let (format, parser) = detect_format(&mut core)?;
        Ok(Self { core, parser, format, compression })
    }

    /// The next frame, `Ok(None)` at the end of the input (also after a truncated last record, see
    /// [`CaptureReader::warnings`], and after an error).
    ///
    /// # Errors
    /// [`CaptureError::Corrupt`] for a structurally impossible record or block (with its byte
    /// offset), [`CaptureError::Io`] when reading or decompressing fails. Frames returned before
    /// stay valid results; the reader then ends.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        self.core.secrets.clear();
        self.core.custom.clear();
        let result = match &mut self.parser {
            Parser::Pcap(p) => p.next(&mut self.core),
            Parser::Pcapng(p) => p.next(&mut self.core),
            Parser::Done => return Ok(None),
        };
        match result {
            Ok(Some(m)) => {
                self.core.stats.frames += 1;
                self.core.stats.frame_bytes += m.data_len as u64;
                let buf = self.core.input.buf();
                let data = &buf[m.data_at..m.data_at + m.data_len];
                let comment = m.comment.map(|(at, n)| &buf[at..at + n]);
                Ok(Some(Frame {
                    ts: m.ts,
                    number: self.core.number,
                    link: m.link,
                    data,
                    orig_len: m.orig_len,
                    offset: m.offset,
                    secrets: &self.core.secrets,
                    comment,
                    custom: &self.core.custom,
                }))
            }
            Ok(None) => {
                self.parser = Parser::Done;
                Ok(None)
            }
            Err(e) => {
                self.parser = Parser::Done;
                Err(e)
            }
        }
    }

    /// Warnings so far (truncated last record, ...), at most [`MAX_WARNINGS`].
    pub fn warnings(&self) -> &[Warning] {
        &self.core.warnings
    }

    /// Counters so far.
    pub fn stats(&self) -> &ReaderStats {
        &self.core.stats
    }

    /// The container format, detected from the magic bytes.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The compression of the input, detected from the magic bytes.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Bytes of the (decompressed) input consumed so far.
    pub fn offset(&self) -> u64 {
        self.core.input.offset()
    }
}

/// Reads the capture magic and opens the matching parser.
fn detect_format(core: &mut Core) -> Result<(Format, Parser), CaptureError> {
    core.input.fill(4)?;
    let magic = core.input.available();
    if magic.len() < 4 {
        return Err(CaptureError::NotACapture { magic: magic.to_vec() });
    }
    let m = [magic[0], magic[1], magic[2], magic[3]];
    if let Some((endian, format)) = Pcap::magic(m) {
        let parser = Pcap::open(endian, format, core)?.map_or(Parser::Done, Parser::Pcap);
        return Ok((format, parser));
    }
    if Pcapng::magic(m) {
        return Ok((Format::Pcapng, Pcapng::open(core)?.map_or(Parser::Done, Parser::Pcapng)));
    }
    Err(CaptureError::NotACapture { magic: m.to_vec() })
}

#[cfg(test)]
mod tests;
