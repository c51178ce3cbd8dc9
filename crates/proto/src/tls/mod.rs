//! TLS over TCP: ClientHello and ServerHello from the handshake records, skeleton.

use flow::{Chunk, Direction};

use crate::{Anomalies, ClientHello, Event};

/// Largest handshake message buffered (a ClientHello with post-quantum key shares is ~2 KiB;
/// certificates are never buffered).
pub const MAX_HANDSHAKE_LEN: usize = 64 * 1024;

/// TLS parser for one flow.
#[derive(Debug, Default)]
pub struct TlsParser {}

impl TlsParser {
    /// A parser for a new flow.
    pub fn new() -> Self {
        Self {}
    }

    /// Stream data of one direction.
    pub fn data(&mut self, dir: Direction, chunk: Chunk<'_>, out: &mut Vec<Event>, an: &mut Anomalies) {
        let _ = (dir, chunk, out, an);
    }
}

/// Parses a complete ClientHello handshake message body (after the 4-byte handshake header).
/// Shared by TLS and QUIC. `None` when it is malformed.
pub fn parse_client_hello(body: &[u8]) -> Option<ClientHello> {
    let _ = body;
    None
}
