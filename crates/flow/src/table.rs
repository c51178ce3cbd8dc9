//! The flow table (skeleton: being implemented).

use capture::Timestamp;

use crate::{FlowLimits, FlowSink, FlowStats};

/// Bidirectional flow table.
#[derive(Debug)]
pub struct FlowTable {
    _limits: FlowLimits,
    stats: FlowStats,
}

impl FlowTable {
    /// An empty table with the given limits.
    pub fn new(limits: FlowLimits) -> Self {
        Self { _limits: limits, stats: FlowStats::default() }
    }

    /// Feeds one decoded packet, in capture order.
    pub fn process(
        &mut self,
        ts: Timestamp,
        frame: u64,
        packet: &wire::Packet<'_>,
        sink: &mut impl FlowSink,
    ) {
        let _ = (ts, frame, packet, sink);
    }

    /// End of all input: ends every open flow, in id order.
    pub fn finish(&mut self, ts: Timestamp, sink: &mut impl FlowSink) {
        let _ = (ts, sink);
    }

    /// Counters so far.
    pub fn stats(&self) -> &FlowStats {
        &self.stats
    }
}
