//! Application payload encoders: [`dns`] messages, [`tls`] records, [`http`] messages and
//! [`quic`] client Initials. They produce plain bytes to feed a conversation builder.

pub mod dns;
pub mod h2;
pub mod h3;
pub mod http;
pub mod quic;
pub mod tls;
