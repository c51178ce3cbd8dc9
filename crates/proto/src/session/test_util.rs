//! Helpers shared by the session's test files (`tests.rs`, `tunnel_tests.rs`).

use std::net::SocketAddr;

use flow::{ClientBy, FlowInfo, Transport};

/// A fresh flow (id 1, client found by its SYN, nothing counted yet) between `client` and
/// `server`. The session reads only the transport and the ports.
pub(crate) fn flow_info(transport: Transport, client: SocketAddr, server: SocketAddr) -> FlowInfo {
    FlowInfo::new(1, transport, client, server, ClientBy::Syn, capture::Timestamp(0))
}
