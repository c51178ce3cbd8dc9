//! Per-flow protocol dispatch, skeleton.

use flow::{Chunk, Direction, FlowInfo};

use crate::{Anomalies, AppProto, Event};

/// Chooses and drives the parser of one flow.
#[derive(Debug, Default)]
pub struct Session {
    proto: AppProto,
}

impl Session {
    /// A session for a new flow.
    pub fn new(flow: &FlowInfo) -> Self {
        let _ = flow;
        Self { proto: AppProto::Unknown }
    }

    /// Routes a chunk of the flow to its parser; events are appended to `out`.
    pub fn data(
        &mut self,
        flow: &FlowInfo,
        dir: Direction,
        chunk: Chunk<'_>,
        out: &mut Vec<Event>,
        an: &mut Anomalies,
    ) {
        let _ = (flow, dir, chunk, out, an);
    }

    /// The protocol recognised so far.
    pub fn protocol(&self) -> AppProto {
        self.proto
    }
}
