//! DNS messages over UDP (one per datagram) and TCP (2-byte length prefix), skeleton.

use flow::{Chunk, Direction};

use crate::{Anomalies, Event};

/// Longest DNS message accepted over TCP (the 2-byte length allows 65,535).
pub const MAX_TCP_MESSAGE: usize = 65_535;

/// DNS parser for one flow.
#[derive(Debug, Default)]
pub struct DnsParser {}

impl DnsParser {
    /// A parser for a new flow.
    pub fn new() -> Self {
        Self {}
    }

    /// One UDP payload.
    pub fn datagram(&mut self, bytes: &[u8], out: &mut Vec<Event>, an: &mut Anomalies) {
        let _ = (bytes, out, an);
    }

    /// TCP stream data of one direction.
    pub fn stream(&mut self, dir: Direction, chunk: Chunk<'_>, out: &mut Vec<Event>, an: &mut Anomalies) {
        let _ = (dir, chunk, out, an);
    }
}
