//! Compressed input: gzip (flate2, every member) and zstd (ruzstd, every frame), detected from the
//! magic bytes only, never from a file name.

use std::io::{self, BufRead, BufReader, Read};

use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};

/// How the capture bytes were compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// Not compressed.
    None,
    /// gzip (one or more members, as `cat a.gz b.gz` gives).
    Gzip,
    /// Zstandard (one or more frames; skippable frames are skipped).
    Zstd,
}

impl Compression {
    /// `none`, `gzip`, `zstd`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Zstd => "zstd",
        }
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Read size of the compressed side.
const COMPRESSED_BUF: usize = 128 * 1024;

/// The compression that `magic` (the first bytes of the input) announces.
pub(crate) fn detect(magic: &[u8]) -> Compression {
    if magic.starts_with(&GZIP_MAGIC) {
        Compression::Gzip
    } else if magic.starts_with(&ZSTD_MAGIC) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// Wraps `src`, whose first bytes `prefix` were already read from it, in a decoder for `c`.
pub(crate) fn decoder(
    c: Compression,
    prefix: Vec<u8>,
    src: Box<dyn Read + Send>,
) -> Box<dyn Read + Send> {
    let src = io::Cursor::new(prefix).chain(src);
    match c {
        Compression::None => Box::new(src),
        Compression::Gzip => {
            let buffered = BufReader::with_capacity(COMPRESSED_BUF, src);
            Box::new(flate2::bufread::MultiGzDecoder::new(buffered))
        }
        Compression::Zstd => {
            Box::new(ZstdFrames::new(BufReader::with_capacity(COMPRESSED_BUF, src)))
        }
    }
}

/// Decodes every zstd frame of a stream, one after the other, skipping skippable frames.
///
/// ruzstd's own `StreamingDecoder` stops after the first frame, and its constructor consumes the
/// source, so frames are driven here with a [`FrameDecoder`] directly (which the
/// `StreamingDecoder` does too).
struct ZstdFrames<R: BufRead> {
    src: R,
    dec: FrameDecoder,
    /// A frame header has been read and its content is not all returned yet.
    in_frame: bool,
}

impl<R: BufRead> ZstdFrames<R> {
    fn new(src: R) -> Self {
        Self { src, dec: FrameDecoder::new(), in_frame: false }
    }
}

fn zstd_error(e: FrameDecoderError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.in_frame {
                if self.src.fill_buf()?.is_empty() {
                    return Ok(0);
                }
                match self.dec.reset(&mut self.src) {
                    Ok(()) => self.in_frame = true,
                    Err(FrameDecoderError::ReadFrameHeaderError(
                        ReadFrameHeaderError::SkipFrame { length, .. },
                    )) => {
                        let skipped =
                            io::copy(&mut (&mut self.src).take(length.into()), &mut io::sink())?;
                        if skipped < u64::from(length) {
                            return Err(io::ErrorKind::UnexpectedEof.into());
                        }
                    }
                    Err(e) => return Err(zstd_error(e)),
                }
                continue;
            }
            if self.dec.is_finished() && self.dec.can_collect() == 0 {
                self.in_frame = false;
                continue;
            }
            while self.dec.can_collect() == 0 && !self.dec.is_finished() {
                if self.src.fill_buf()?.is_empty() {
                    // The frame is not finished but the input is: a cut-short file.
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                self.dec
                    .decode_blocks(&mut self.src, BlockDecodingStrategy::UptoBlocks(1))
                    .map_err(zstd_error)?;
            }
            let n = self.dec.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            if self.dec.can_collect() > 0 {
                // can_collect() promised bytes that read() did not give: never spin on that.
                return Err(io::Error::new(io::ErrorKind::InvalidData, "zstd decoder stalled"));
            }
        }
    }
}
