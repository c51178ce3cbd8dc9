//! Expected outcomes shared by the link-type test files.

use super::{LinkOutcome, Network};

/// A network-layer payload of `ethertype`, not VLAN-tagged.
pub(super) fn net(ethertype: u16, payload: &[u8]) -> LinkOutcome<'_> {
    LinkOutcome::Network(Network { ethertype, vlan: None, payload })
}

/// A valid frame carrying no packet we can read.
pub(super) fn nothing<'a>() -> LinkOutcome<'a> {
    net(0, &[])
}
