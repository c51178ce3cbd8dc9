//! IPv4 / IPv6 fragment reassembly (skeleton: being implemented).

use crate::DefragLimits;

/// Holds fragments until their datagram is complete.
#[derive(Debug)]
pub(crate) struct Defragmenter {
    _limits: DefragLimits,
}

impl Defragmenter {
    pub(crate) fn new(limits: DefragLimits) -> Self {
        Self { _limits: limits }
    }
}
