//! Streaming pcap / pcapng reader (skeleton: being implemented).

use std::io::Read;
use std::path::Path;

use crate::{CaptureError, Frame, ReaderStats, Warning};

/// Reads frames from a capture, streaming.
pub struct CaptureReader {
    warnings: Vec<Warning>,
    stats: ReaderStats,
    _input: Box<dyn Read + Send>,
}

impl std::fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader").field("stats", &self.stats).finish()
    }
}

impl CaptureReader {
    /// Opens a capture file; `-` reads standard input.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let file = std::fs::File::open(path)?;
        Self::from_read(Box::new(file))
    }

    /// Reads a capture from any byte source.
    pub fn from_read(input: Box<dyn Read + Send>) -> Result<Self, CaptureError> {
        Ok(Self { warnings: Vec::new(), stats: ReaderStats::default(), _input: input })
    }

    /// The next frame, `Ok(None)` at the end of the input.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        Ok(None)
    }

    /// Warnings so far (truncated last record, ...).
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Counters so far.
    pub fn stats(&self) -> &ReaderStats {
        &self.stats
    }
}
