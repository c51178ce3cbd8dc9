//! The per-flow record handed out when a flow ends.

use flow::FlowInfo;
use proto::AppProto;

use crate::NameSource;

/// Everything known about one flow when it ended.
#[derive(Debug, Clone)]
pub struct FlowRecord {
    /// Capture file index (0-based) of the flow's latest data (where it began when it carried
    /// none).
    pub file: usize,
    /// Addresses, counters, times, state and flags from the flow stage.
    pub info: FlowInfo,
    /// Application protocol recognised.
    pub protocol: AppProto,
    /// The server's name, if any source gave one.
    pub name: Option<String>,
    /// Where the name came from.
    pub name_source: NameSource,
    /// True when the payload is protected by TLS or QUIC.
    pub encrypted: bool,
    /// TLS version chosen by the server, when its ServerHello was seen.
    pub tls_version: Option<u16>,
    /// ALPN protocols offered by the client.
    pub alpn: Vec<String>,
    /// The names of the server's certificate, when its handshake was readable (TLS 1.0-1.2).
    pub cert: Option<proto::CertNames>,
    /// What DNS answers said of the server's address: the name asked for, then each CNAME target
    /// in order (empty when no answer named it). Attribution follows it to see through CNAME
    /// cloaking.
    pub dns_chain: Vec<String>,
    /// Protocol events produced by this flow.
    pub events: u64,
    /// What became of decrypting the flow's TLS with the run's secrets; `None` when it is not
    /// TLS, its ServerHello was not seen, or no secret was known when it started (a TLS flow with
    /// `encrypted` and no decryption was not opened).
    pub decryption: Option<proto::Decryption>,
    /// The app that made the flow, when the capture says (PCAPdroid's metadata).
    pub app: Option<crate::App>,
}

impl FlowRecord {
    /// What decryption made of an encrypted TLS flow ([`proto::Decryption::NoKeys`] when it was
    /// not tried); `None` for any other flow (QUIC included).
    pub fn tls_outcome(&self) -> Option<proto::Decryption> {
        (self.protocol == AppProto::Tls && self.encrypted)
            .then(|| self.decryption.unwrap_or(proto::Decryption::NoKeys))
    }
}
