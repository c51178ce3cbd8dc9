//! Message bodies: framing (Content-Length, chunked, until close) and the bounded raw-body store.
//!
//! Per body byte the cost is a bounds check and, below [`MAX_BODY_DECODED`], one copy; past the
//! limit bytes are only counted.

use super::parse::{self, chunk_size};
use super::{MAX_BODY_DECODED, MAX_HEADER_BLOCK};
use crate::{Anomalies, Body, Header};

/// Longest chunk-size line (size, extensions, CR LF). Real ones are a few bytes; extensions are
/// practically unused.
pub(super) const MAX_CHUNK_LINE: usize = 4096;

/// How the end of a body is found.
#[derive(Debug)]
pub(super) enum Framing {
    /// `remaining` more bytes (Content-Length).
    Length(u64),
    /// Chunked transfer coding, in the given step.
    Chunked(ChunkStep),
    /// Until the stream ends (responses without a length).
    UntilClose,
}

/// Where a chunked body is.
#[derive(Debug)]
pub(super) enum ChunkStep {
    /// Reading a chunk-size line.
    Size,
    /// `remaining` bytes of chunk data left.
    Data(u64),
    /// Expecting the CR LF after chunk data (`cr`: the CR was seen).
    DataEnd { cr: bool },
    /// Reading trailer lines; the current line starts at `line_start` in the line buffer.
    Trailers { line_start: usize },
}

/// What a body step ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Progress {
    /// All input used, the body goes on.
    More,
    /// The body is complete; the bytes after the consumed count belong to the next message.
    Done,
    /// The framing is broken; the direction cannot be parsed further.
    Bad(BodyError),
}

/// Why body framing failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BodyError {
    /// A chunk-size line that is not hex, overflows 64 bits, or is too long.
    ChunkSize,
    /// Chunk data not followed by CR LF.
    ChunkEnd,
    /// Trailer section larger than [`MAX_HEADER_BLOCK`].
    TrailerCapped,
}

/// What a gap did to a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GapOutcome {
    /// The gap lies inside the body; framing goes on.
    Inside,
    /// The gap ends exactly where the body ends.
    Ended,
    /// The gap covers framing bytes or runs past the body: the position of the next message is
    /// lost.
    Lost,
}

/// Result of gathering one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    /// The line (LF included) is complete in the buffer.
    Complete,
    /// All input appended, no LF yet.
    Partial,
    /// The line would exceed the limit.
    TooLong,
}

/// Appends `data` up to and including its first LF to `buf`, keeping `buf` at most `max` bytes.
/// Returns the bytes consumed and the state of the line.
fn gather_line(buf: &mut Vec<u8>, data: &[u8], max: usize) -> (usize, Line) {
    let room = max.saturating_sub(buf.len());
    match memchr::memchr(b'\n', data) {
        Some(i) if i < room => {
            buf.extend_from_slice(data.get(..=i).unwrap_or_default());
            (i + 1, Line::Complete)
        }
        None if data.len() <= room => {
            buf.extend_from_slice(data);
            (data.len(), Line::Partial)
        }
        _ => (data.len(), Line::TooLong),
    }
}

/// The raw body as far as it is kept.
///
/// Invariant: `raw.len() <= MAX_BODY_DECODED` and `raw.capacity()` grows no further than that.
#[derive(Debug, Default)]
pub(super) struct RawBody {
    raw: Vec<u8>,
    /// Body bytes as sent (after chunk framing), gap bytes included.
    wire_len: u64,
    /// Bytes were dropped at the size limit.
    capped: bool,
    /// A gap interrupted the data: nothing after it is kept, so bytes are never glued over a hole.
    holed: bool,
}

impl RawBody {
    fn push(&mut self, data: &[u8]) {
        self.wire_len = self.wire_len.saturating_add(data.len() as u64);
        if self.holed || self.capped || data.is_empty() {
            return;
        }
        let room = MAX_BODY_DECODED.saturating_sub(self.raw.len());
        let keep = data.get(..room.min(data.len())).unwrap_or_default();
        if self.raw.capacity() - self.raw.len() < keep.len() {
            // Grow by doubling, but never past the limit (Vec's own growth could double past it).
            let want =
                (self.raw.len() + keep.len()).max(self.raw.capacity() * 2).min(MAX_BODY_DECODED);
            self.raw.reserve_exact(want - self.raw.len());
        }
        self.raw.extend_from_slice(keep);
        self.capped = keep.len() < data.len();
    }

    fn gap(&mut self, len: u64) {
        self.wire_len = self.wire_len.saturating_add(len);
        self.holed = true;
    }
}

/// The body of one message being read.
#[derive(Debug)]
pub(super) struct BodyReader {
    framing: Framing,
    body: RawBody,
    /// Chunk-size line or trailer section being gathered (bounded by [`MAX_CHUNK_LINE`] resp.
    /// [`MAX_HEADER_BLOCK`]).
    line: Vec<u8>,
    /// Trailer fields, once the trailer section is complete.
    trailers: Vec<Header>,
}

impl BodyReader {
    pub(super) fn new(framing: Framing) -> Self {
        Self { framing, body: RawBody::default(), line: Vec::new(), trailers: Vec::new() }
    }

    /// True if no body bytes are expected at all (Content-Length: 0).
    pub(super) fn is_empty_length(&self) -> bool {
        matches!(self.framing, Framing::Length(0))
    }

    /// Consumes body bytes from `data`. Returns how many were used (all of them unless the body
    /// ended or broke) and how the body stands.
    pub(super) fn feed(&mut self, data: &[u8]) -> (usize, Progress) {
        let mut used = 0;
        while let Some(rest) = data.get(used..).filter(|r| !r.is_empty()) {
            match &mut self.framing {
                Framing::Length(remaining) => {
                    let n = take_len(remaining, rest.len());
                    self.body.push(rest.get(..n).unwrap_or_default());
                    used += n;
                    if *remaining == 0 {
                        return (used, Progress::Done);
                    }
                }
                Framing::UntilClose => {
                    self.body.push(rest);
                    used += rest.len();
                }
                Framing::Chunked(step) => {
                    let (n, progress) =
                        chunk_step(step, &mut self.line, &mut self.body, &mut self.trailers, rest);
                    used += n;
                    if progress != Progress::More {
                        return (used, progress);
                    }
                }
            }
        }
        (used, Progress::More)
    }

    /// A gap of `len` bytes in the stream.
    pub(super) fn gap(&mut self, len: u64) -> GapOutcome {
        let remaining = match &mut self.framing {
            Framing::UntilClose => {
                self.body.gap(len);
                return GapOutcome::Inside;
            }
            Framing::Length(r) | Framing::Chunked(ChunkStep::Data(r)) => r,
            Framing::Chunked(_) => return GapOutcome::Lost,
        };
        if len > *remaining {
            self.body.gap(*remaining);
            *remaining = 0;
            return GapOutcome::Lost;
        }
        self.body.gap(len);
        *remaining -= len;
        match &mut self.framing {
            Framing::Length(0) => GapOutcome::Ended,
            Framing::Chunked(step @ ChunkStep::Data(0)) => {
                *step = ChunkStep::DataEnd { cr: false };
                GapOutcome::Inside
            }
            _ => GapOutcome::Inside,
        }
    }

    /// True if the body ends with the stream (no length), so the end of the stream completes it.
    pub(super) fn until_close(&self) -> bool {
        matches!(self.framing, Framing::UntilClose)
    }

    /// Finishes the body: content decoding (`codings` in the order applied, when `decode`) with
    /// output capped at [`MAX_BODY_DECODED`]. `incomplete`: the body was cut (end of stream,
    /// broken framing). Returns the body and the trailer fields.
    pub(super) fn finish(
        self,
        codings: &[String],
        decode: bool,
        incomplete: bool,
        an: &mut Anomalies,
    ) -> (Body, Vec<Header>) {
        let RawBody { raw, wire_len, capped, holed } = self.body;
        let body =
            super::decoded_body(raw, wire_len, codings, incomplete || holed, capped, decode, an);
        (body, self.trailers)
    }
}

/// Takes up to `avail` bytes off `remaining`; returns how many.
fn take_len(remaining: &mut u64, avail: usize) -> usize {
    let n = usize::try_from(*remaining).map_or(avail, |r| r.min(avail));
    *remaining -= n as u64;
    n
}

/// One step of the chunked decoder over `data` (not empty).
fn chunk_step(
    step: &mut ChunkStep,
    line: &mut Vec<u8>,
    body: &mut RawBody,
    trailers: &mut Vec<Header>,
    data: &[u8],
) -> (usize, Progress) {
    match step {
        ChunkStep::Size => {
            let (n, state) = gather_line(line, data, MAX_CHUNK_LINE);
            match state {
                Line::Partial => (n, Progress::More),
                Line::TooLong => (n, Progress::Bad(BodyError::ChunkSize)),
                Line::Complete => {
                    let size = chunk_size(line);
                    line.clear();
                    match size {
                        None => (n, Progress::Bad(BodyError::ChunkSize)),
                        Some(0) => {
                            *step = ChunkStep::Trailers { line_start: 0 };
                            (n, Progress::More)
                        }
                        Some(size) => {
                            *step = ChunkStep::Data(size);
                            (n, Progress::More)
                        }
                    }
                }
            }
        }
        ChunkStep::Data(remaining) => {
            let n = take_len(remaining, data.len());
            body.push(data.get(..n).unwrap_or_default());
            if *remaining == 0 {
                *step = ChunkStep::DataEnd { cr: false };
            }
            (n, Progress::More)
        }
        ChunkStep::DataEnd { cr } => match data.first() {
            Some(b'\n') => {
                *step = ChunkStep::Size;
                (1, Progress::More)
            }
            Some(b'\r') if !*cr => {
                *cr = true;
                (1, Progress::More)
            }
            _ => (1, Progress::Bad(BodyError::ChunkEnd)),
        },
        ChunkStep::Trailers { line_start } => {
            let (n, state) = gather_line(line, data, MAX_HEADER_BLOCK);
            match state {
                Line::Partial => (n, Progress::More),
                Line::TooLong => (n, Progress::Bad(BodyError::TrailerCapped)),
                Line::Complete => {
                    let current = line.get(*line_start..).unwrap_or_default();
                    if current == b"\n" || current == b"\r\n" {
                        if *line_start > 0 {
                            *trailers = parse::parse_fields(line);
                        }
                        line.clear();
                        (n, Progress::Done)
                    } else {
                        *line_start = line.len();
                        (n, Progress::More)
                    }
                }
            }
        }
    }
}
