//! Archives as a source: each HTTP exchange of a HAR file or a mitmproxy flow dump becomes a flow
//! of its own (a fresh flow id from the flow table), with the request and response events a
//! captured connection would have given, then its [`FlowRecord`]. The capture-only stages (wire,
//! flow reassembly, protocol detection) have nothing to do: the archive already holds messages.
//!
//! Evidence points at the exchange's entry number (`Meta::frame`), times are the archive's. An
//! exchange over TLS counts as a TLS connection read in the clear (what the recording proxy or
//! browser saw): `encrypted`, [`proto::Decryption::Decrypted`], no TLS version.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use flow::{ClientBy, Direction, FlowInfo, Meta, Transport};
use proto::{AppProto, Decryption, Event};

use crate::{Context, FlowRecord, NameSource, Observer, Pipeline};

impl<O: Observer> Pipeline<O> {
    /// Reads the exchanges of an archive as input number `file` of the run.
    pub fn run_archive(&mut self, file: usize, archive: archive::Archive) {
        self.dispatch.file = file;
        self.span = None;
        for x in archive.exchanges {
            self.span = Some(match self.span {
                None => (x.time, x.time),
                Some((a, b)) => (a.min(x.time), b.max(x.time)),
            });
            self.stats.exchanges += 1;
            let req_len = x.request.body.wire_len;
            let resp_len = x.response.as_ref().map_or(0, |r| r.body.wire_len);
            let client = x.client.unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0));
            let id = self.table.allocate_id();
            let info = FlowInfo {
                packets: [1, u64::from(x.response.is_some())],
                bytes: [req_len, resp_len],
                payload_bytes: [req_len, resp_len],
                ..FlowInfo::new(id, Transport::Tcp, client, x.server, ClientBy::FirstPacket, x.time)
            };
            let d = &mut self.dispatch;
            let (protocol, encrypted) =
                if x.tls { (AppProto::Tls, true) } else { (AppProto::Http, false) };
            let meta = Meta { ts: x.time, frame: x.index };
            let name = x.request.host.clone().filter(|h| !h.is_empty());
            let mut events = 0;
            let mut emit = |dir, event: Event, meta: Meta| {
                let ctx = Context { file, flow: &info, dir, meta, protocol, encrypted, app: None };
                d.observer.event(&ctx, &event);
                d.event_count += 1;
                events += 1;
            };
            emit(Direction::ToServer, Event::HttpRequest(x.request), meta);
            if let Some(r) = x.response {
                emit(Direction::ToClient, Event::HttpResponse(r), meta);
            }
            for m in x.websocket {
                let dir = if m.from_client { Direction::ToServer } else { Direction::ToClient };
                let ws = proto::WebSocketMessage {
                    offset: 0,
                    text: m.text,
                    data: m.data,
                    truncated: false,
                };
                emit(dir, Event::WebSocketMessage(ws), Meta { ts: m.time, frame: x.index });
            }
            let dns_chain = d.names.lookup_chain(x.server.ip()).unwrap_or_default();
            let record = FlowRecord {
                file,
                name_source: if name.is_some() { NameSource::HttpHost } else { NameSource::None },
                name,
                info,
                protocol,
                encrypted,
                tls_version: None,
                alpn: Vec::new(),
                cert: None,
                dns_chain,
                events,
                decryption: x.tls.then_some(Decryption::Decrypted),
                app: None,
            };
            d.tls.count(&record);
            d.observer.flow_end(&record);
        }
    }
}
