//! The connections a report keeps for the Parquet `flows` table ([`super::Options::keep_flows`]):
//! one [`crate::FlowRow`] per ended flow, at most [`crate::MAX_FLOW_ROWS`] (the rest counted).

use pipeline::FlowRecord;

use super::fold::Folded;
use super::{Analyzer, FlowHits};
use crate::protection::Protection;

impl Analyzer {
    /// Keeps one ended connection as a row ([`Options::keep_flows`]).
    pub(super) fn keep_flow(
        &mut self,
        record: &FlowRecord,
        at: &Folded,
        protection: Protection,
        hits: Option<&FlowHits>,
        device: Option<&str>,
    ) {
        if self.flow_rows.len() >= crate::MAX_FLOW_ROWS {
            self.flows_left_out += 1;
            return;
        }
        let i = &record.info;
        self.flow_rows.push(crate::FlowRow {
            id: i.id,
            client: i.client,
            server: i.server,
            transport: pipeline::output::transport_name(i.transport),
            protocol: at.protocol,
            host: at.host.clone(),
            protection,
            alpn: record.alpn.join(","),
            first: i.first,
            last: i.last,
            packets: i.packets,
            bytes: i.bytes,
            findings: hits.map_or(0, |h| h.hits.len() as u64),
            app: record.app.as_ref().map(pipeline::App::label),
            device: device.map(str::to_owned),
        });
    }
}
