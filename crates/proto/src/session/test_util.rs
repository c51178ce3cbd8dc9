//! Helpers shared by the session's test files (`tests.rs`, `tunnel_tests.rs`).

use std::net::SocketAddr;

use flow::{ClientBy, FlowFlags, FlowInfo, Transport};

/// A fresh flow (id 1, client found by its SYN, nothing counted yet) between `client` and
/// `server`. The session reads only the transport and the ports.
pub(crate) fn flow_info(transport: Transport, client: SocketAddr, server: SocketAddr) -> FlowInfo {
    FlowInfo {
        id: 1,
        client,
        server,
        transport,
        client_by: ClientBy::Syn,
        first: capture::Timestamp(0),
        last: capture::Timestamp(0),
        packets: [0; 2],
        bytes: [0; 2],
        payload_bytes: [0; 2],
        tcp_state: None,
        flags: FlowFlags::default(),
    }
}
