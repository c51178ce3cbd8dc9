//! IPv4 / IPv6 / TCP / UDP decoding (skeleton: being implemented).

use capture::Timestamp;
use capture::link::Network;

use crate::defrag::Defragmenter;
use crate::{DecodeError, DefragLimits, Packet, WireStats};

/// Decodes network-layer payloads into packets, reassembling fragments.
#[derive(Debug)]
pub struct Decoder {
    defrag: Defragmenter,
    stats: WireStats,
}

impl Decoder {
    /// A decoder with the given reassembly limits.
    pub fn new(limits: DefragLimits) -> Self {
        Self { defrag: Defragmenter::new(limits), stats: WireStats::default() }
    }

    /// Decodes one frame's network layer. `Ok(None)`: a fragment was stored, nothing to hand on yet.
    pub fn decode<'a>(
        &'a mut self,
        ts: Timestamp,
        net: &Network<'a>,
    ) -> Result<Option<Packet<'a>>, DecodeError> {
        let _ = (ts, net, &mut self.defrag);
        self.stats.not_ip += 1;
        Err(DecodeError::NotIp)
    }

    /// Counters so far.
    pub fn stats(&self) -> &WireStats {
        &self.stats
    }
}
