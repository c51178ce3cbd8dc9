//! Folding a flow's hits into findings and its facts into its destination: at flow end for good,
//! and, for a live view, on a copy for the flows still open ([`super::Analyzer::snapshot`]).
//!
//! The book is bounded for sessions that run for days: beyond [`MAX_FINDINGS`] findings,
//! [`MAX_DESTINATIONS`] destinations or [`MAX_UPLOADS`] address-book uploads, the tenth least
//! recently active is let go and counted in [`Summarised`]. A capture under the limits (any phone
//! capture of hours) is never touched by them, so `analyze` and `watch` give the same report.

use std::collections::HashMap;

use capture::Timestamp;
use pipeline::FlowRecord;
use proto::AppProto;

use super::{FlowHits, Key, exposure};
use crate::finding::{AddressBookUpload, Coverage, Destination, Finding, Source};
use crate::protection::Protection;
use crate::{MAX_APPS_PER_DESTINATION, MAX_CNAMES, MAX_EVIDENCE};

/// Findings kept; beyond, the least recently seen tenth is summarised.
pub const MAX_FINDINGS: usize = 20_000;
/// Destinations kept; beyond, the least recently active tenth is summarised.
pub const MAX_DESTINATIONS: usize = 20_000;
/// Address-book uploads kept; beyond, the oldest tenth is summarised.
pub const MAX_UPLOADS: usize = 1_000;

/// What a long session let go of to stay within its limits (all zero for `analyze` of
/// captures under them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summarised {
    /// Findings let go.
    pub findings: u64,
    /// The occurrences they counted.
    pub occurrences: u64,
    /// Destinations let go.
    pub destinations: u64,
    /// Address-book uploads let go.
    pub uploads: u64,
}

impl Summarised {
    /// True when nothing was let go.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Findings, destinations, uploads and coverage of the flows folded so far.
#[derive(Debug, Clone, Default)]
pub(super) struct Book {
    pub(super) findings: HashMap<Key, Finding>,
    pub(super) destinations: HashMap<String, Destination>,
    /// Last activity per destination (for the rolling window).
    active: HashMap<String, Timestamp>,
    pub(super) uploads: Vec<AddressBookUpload>,
    pub(super) coverage: Coverage,
    pub(super) summarised: Summarised,
}

/// Where a folded flow went, for its recurrence candidates.
pub(super) struct Folded {
    pub(super) host: String,
    pub(super) ip: String,
    pub(super) port: u16,
    pub(super) protocol: &'static str,
}

impl Book {
    /// Folds one flow: its destination's facts and its hits (`hits` of a flow still open are
    /// folded into a copy by a live view; at flow end, for good).
    pub(super) fn fold(
        &mut self,
        record: &FlowRecord,
        device: Option<&str>,
        protection: Protection,
        hits: Option<&FlowHits>,
        refused: bool,
    ) -> Folded {
        let ip = record.info.server.ip().to_string();
        let host = record.name.clone().unwrap_or_else(|| ip.clone());
        let protocol = record.protocol.as_str();
        if !self.destinations.contains_key(&host) && self.destinations.len() >= MAX_DESTINATIONS {
            self.let_go_destinations();
        }
        let d = self.destinations.entry(host.clone()).or_insert_with(|| Destination {
            host: host.clone(),
            protection,
            first_seen: record.info.first,
            ..Destination::default()
        });
        let active = self.active.entry(host.clone()).or_insert(record.info.last);
        *active = (*active).max(record.info.last);
        d.ips.insert(ip.clone());
        d.protocols.insert(protocol);
        if let Some(device) = device
            && !d.devices.contains(device)
        {
            d.devices.insert(device.to_string());
        }
        if let Some(app) = &record.app
            && d.apps.len() < MAX_APPS_PER_DESTINATION
        {
            d.apps.insert(app.label());
        }
        if d.cert.is_none() {
            d.cert.clone_from(&record.cert);
        }
        d.protection = d.protection.weakest(protection);
        // The chain is about this destination only when it starts at its name (an SNI can name
        // another host on a shared address).
        let chain = match record.dns_chain.first() {
            Some(first) if first.eq_ignore_ascii_case(&host) => &record.dns_chain[1..],
            _ => &[],
        };
        for name in chain {
            if name != &host && !d.cnames.contains(name) && d.cnames.len() < MAX_CNAMES {
                d.cnames.push(name.clone());
            }
        }
        d.flows += 1;
        d.refused += u64::from(refused);
        if matches!(record.protocol, AppProto::Tls | AppProto::Quic) && record.encrypted {
            d.tls_sessions += 1;
            d.tls_decrypted += u64::from(record.decryption == Some(proto::Decryption::Decrypted));
        }
        self.coverage.count(record, &host);
        d.bytes_sent += record.info.bytes[0];
        d.bytes_received += record.info.bytes[1];
        d.first_seen = d.first_seen.min(record.info.first);
        let port = record.info.server.port();
        let folded = Folded { host, ip, port, protocol };
        let Some(hits) = hits else { return folded };
        for p in &hits.hits {
            let host = p.dns_domain.as_ref().unwrap_or(&folded.host);
            let profile = matches!(p.source, Source::Profile);
            let key = (
                p.data,
                p.item.clone(),
                profile,
                host.clone(),
                p.encoding.clone(),
                p.where_.clone(),
                device.map(str::to_string),
                record.app.as_ref().map(|a| a.uid),
            );
            if !self.findings.contains_key(&key) && self.findings.len() >= MAX_FINDINGS {
                self.let_go_findings();
            }
            let f = self.findings.entry(key).or_insert_with(|| Finding {
                data: p.data,
                item: p.item.clone(),
                source: p.source,
                encoding: p.encoding.clone(),
                where_: p.where_.clone(),
                reason: p.reason,
                exposure: exposure(protection, &p.where_),
                device: device.map(str::to_string),
                app: record.app.clone(),
                ..Finding::at(host.clone(), folded.ip.clone(), port, protocol, protection, p.time)
            });
            f.count += 1;
            f.stopped += u64::from(refused);
            f.protection = f.protection.weakest(protection);
            f.encrypted = f.protection.is_encrypted();
            f.decrypted = f.encrypted && (f.decrypted || p.decrypted);
            f.exposure = f.exposure.min(exposure(protection, &p.where_));
            f.first_seen = f.first_seen.min(p.time);
            f.last_seen = f.last_seen.max(p.time);
            if let (Source::Heuristic { confidence: a }, Source::Heuristic { confidence: b }) =
                (&mut f.source, p.source)
            {
                *a = a.max(b);
            }
            if f.evidence.len() < MAX_EVIDENCE {
                f.evidence.push(p.evidence.clone());
            }
        }
        for u in &hits.uploads {
            if self.uploads.len() >= MAX_UPLOADS {
                let n = MAX_UPLOADS / 10;
                self.uploads.sort_by_key(|u| u.time);
                self.uploads.drain(..n);
                self.summarised.uploads += n as u64;
            }
            self.uploads.push(AddressBookUpload {
                host: folded.host.clone(),
                contacts: u.contacts,
                evidence: u.evidence.clone(),
                time: u.time,
            });
        }
        folded
    }

    /// Lets go of the least recently seen tenth of the findings.
    fn let_go_findings(&mut self) {
        let mut by_age: Vec<(Timestamp, Key)> =
            self.findings.iter().map(|(k, f)| (f.last_seen, k.clone())).collect();
        by_age.sort_unstable();
        for (_, key) in by_age.into_iter().take(MAX_FINDINGS / 10) {
            if let Some(f) = self.findings.remove(&key) {
                self.summarised.findings += 1;
                self.summarised.occurrences += f.count;
            }
        }
    }

    /// Lets go of the least recently active tenth of the destinations.
    fn let_go_destinations(&mut self) {
        let mut by_age: Vec<(Timestamp, String)> =
            self.active.iter().map(|(h, t)| (*t, h.clone())).collect();
        by_age.sort_unstable();
        for (_, host) in by_age.into_iter().take(MAX_DESTINATIONS / 10) {
            self.active.remove(&host);
            if self.destinations.remove(&host).is_some() {
                self.summarised.destinations += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_book_stays_bounded_and_counts_what_it_let_go() {
        let mut b = Book::default();
        let hits = FlowHits::default();
        for i in 0..(MAX_DESTINATIONS as u32 + 5) {
            let mut r = super::super::tests::record(i, &format!("h{i}.example"));
            r.info.last = Timestamp(i64::from(i));
            b.fold(&r, None, Protection::CleartextHttp, Some(&hits), false);
        }
        assert!(b.destinations.len() <= MAX_DESTINATIONS);
        assert_eq!(
            b.destinations.len() as u64 + b.summarised.destinations,
            MAX_DESTINATIONS as u64 + 5
        );
        // The oldest went first.
        assert!(!b.destinations.contains_key("h0.example"));
        assert!(b.destinations.contains_key(&format!("h{}.example", MAX_DESTINATIONS + 4)));
    }
}
