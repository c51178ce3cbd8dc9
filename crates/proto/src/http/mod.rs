//! HTTP/1.x requests and responses, skeleton.

use flow::{Chunk, Direction};

use crate::{Anomalies, Event};

/// Largest header block (request/status line + headers) buffered.
pub const MAX_HEADER_BLOCK: usize = 64 * 1024;
/// Largest decoded body kept per message.
pub const MAX_BODY_DECODED: usize = 4 << 20;
/// Requests awaiting their response at once (pipelining).
pub const MAX_PENDING: usize = 64;

/// HTTP parser for one flow.
#[derive(Debug, Default)]
pub struct HttpParser {}

impl HttpParser {
    /// A parser for a new flow.
    pub fn new() -> Self {
        Self {}
    }

    /// Stream data of one direction.
    pub fn data(&mut self, dir: Direction, chunk: Chunk<'_>, out: &mut Vec<Event>, an: &mut Anomalies) {
        let _ = (dir, chunk, out, an);
    }
}

/// True if `prefix` (the first bytes of a client-to-server stream) starts like an HTTP/1.x request:
/// a known method token followed by a space.
pub fn looks_like_request(prefix: &[u8]) -> bool {
    let _ = prefix;
    false
}
