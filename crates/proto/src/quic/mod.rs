//! QUIC v1/v2 client Initial decryption (RFC 9001 initial keys), skeleton.

use flow::Direction;

use crate::{Anomalies, Event};

/// QUIC parser for one UDP flow.
#[derive(Debug, Default)]
pub struct QuicParser {}

impl QuicParser {
    /// A parser for a new flow.
    pub fn new() -> Self {
        Self {}
    }

    /// One UDP payload of this flow.
    pub fn datagram(&mut self, dir: Direction, bytes: &[u8], out: &mut Vec<Event>, an: &mut Anomalies) {
        let _ = (dir, bytes, out, an);
    }
}

/// True if `payload` starts like a QUIC v1/v2 long-header Initial packet.
pub fn looks_like_initial(payload: &[u8]) -> bool {
    let _ = payload;
    false
}
