//! Recurrence across destinations: identifier-shaped values ([`detect::recur`]) the device sent
//! to two or more unrelated parties become `identifier` findings, whatever key, protobuf field or
//! JSON position carried them.
//!
//! Contract:
//! - The analyzer records every candidate of a request per flow, and when the flow ends (its
//!   destination named) folds it into a [`Table`] keyed by value, one prepared [`Finding`] per
//!   destination host. Bounded: [`MAX_RECUR_VALUES`] values, [`MAX_RECUR_HOSTS`] hosts per value,
//!   [`MAX_RECUR_PER_FLOW`] candidates per flow; what does not fit is counted
//!   (`detect.recur_capped`). A full table first lets go of the least recently seen tenth of the
//!   values seen at one host only (a live session of days keeps its newest candidates).
//! - [`Table::into_recurring`] keeps the values seen at two or more hosts, in value order.
//! - [`resolve`], once destinations are attributed, counts the parties of each value: a party is
//!   the organisation (its base name: `Google (Ads)` and `Google (Firebase)` are one) or, for an
//!   unknown host, its registrable domain; an unnamed flow's address counts as the party of a
//!   named destination on that address, else its AS or network (`/16`, `/32`), and addresses of
//!   the local network count as no party. A value at two or more parties gives a finding at each
//!   destination where no other detector already reported it, with the confidence of
//!   [`detect::recur::confidence`] and the other parties in [`Finding::shared_with`]. A value seen
//!   at one party only (a session id to one company's hosts, a per-request id) gives nothing.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use capture::Timestamp;
use detect::DataKind;
use detect::recur::{self, Shape};

use crate::MAX_EVIDENCE;
use crate::finding::{Destination, Evidence, Finding, Source};

/// Distinct values held, at most.
pub const MAX_RECUR_VALUES: usize = 50_000;

/// Destination hosts held per value, at most.
pub const MAX_RECUR_HOSTS: usize = 32;

/// Candidates held per flow until it ends, at most.
pub const MAX_RECUR_PER_FLOW: usize = 1_000;

/// One candidate of a request, waiting for its flow's name.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) key: String,
    pub(crate) shape: Shape,
    /// The value as found (masked only when it becomes a finding's item or evidence).
    pub(crate) value: String,
    pub(crate) encoding: String,
    pub(crate) where_: String,
    pub(crate) time: Timestamp,
    /// Where it was: capture file index, frame, flow, stream offset of the message.
    pub(crate) at: (usize, u64, u64, u64),
    /// The flow's client address.
    pub(crate) src: std::net::SocketAddr,
    pub(crate) decrypted: bool,
    /// Another detector reported the same bytes.
    pub(crate) covered: bool,
}

/// How the analyzer shows values and names capture files, for the findings [`Table::add`]
/// builds (only candidates that reach a finding pay for it).
pub(crate) struct Show<'a> {
    pub(crate) reveal: bool,
    pub(crate) files: &'a [String],
}

impl Show<'_> {
    fn value(&self, v: &str) -> String {
        if self.reveal { v.to_owned() } else { crate::mask(v) }
    }

    fn evidence(&self, p: &Pending) -> Evidence {
        let (file, frame, flow, offset) = p.at;
        Evidence {
            file: self.files.get(file).cloned().unwrap_or_else(|| file.to_string()),
            frame,
            flow,
            offset,
            field: p.where_.clone(),
            value: self.value(&p.value),
            src: Some(p.src),
        }
    }
}

/// A value seen at several hosts, before parties are known.
#[derive(Debug, Clone, PartialEq)]
pub struct Recurring {
    /// Its shape.
    pub shape: Shape,
    /// One prepared finding per host, with whether another detector already reported the value
    /// there.
    pub hosts: Vec<(Finding, bool)>,
}

#[derive(Debug, Clone)]
struct Entry {
    shape: Shape,
    hosts: Vec<(Finding, bool)>,
}

/// Candidates by value.
#[derive(Debug, Default)]
pub(crate) struct Table {
    values: HashMap<String, Entry>,
    /// Candidates dropped by a limit.
    pub(crate) capped: u64,
}

impl Table {
    /// Adds one candidate sent to `base.host` (a finding with the flow's facts filled in).
    pub(crate) fn add(&mut self, p: Pending, base: &Finding, show: &Show<'_>) {
        if !self.values.contains_key(&p.key) {
            if self.values.len() >= MAX_RECUR_VALUES && !self.let_go_singles() {
                self.capped += 1;
                return;
            }
            self.values.insert(p.key.clone(), Entry { shape: p.shape, hosts: Vec::new() });
        }
        let Some(entry) = self.values.get_mut(&p.key) else { return };
        let full = entry.hosts.len() >= MAX_RECUR_HOSTS;
        match entry.hosts.iter_mut().find(|(f, _)| f.host == base.host) {
            Some((f, covered)) => {
                *covered |= p.covered;
                f.count += 1;
                f.first_seen = f.first_seen.min(p.time);
                f.last_seen = f.last_seen.max(p.time);
                f.protection = f.protection.weakest(base.protection);
                f.encrypted = f.protection.is_encrypted();
                f.exposure = f.exposure.min(base.exposure);
                f.decrypted = f.encrypted && (f.decrypted || p.decrypted);
                if f.evidence.len() < MAX_EVIDENCE {
                    f.evidence.push(show.evidence(&p));
                }
            }
            None if full => self.capped += 1,
            None => {
                let evidence = vec![show.evidence(&p)];
                let f = Finding {
                    data: DataKind::Identifier,
                    item: show.value(&p.value),
                    source: Source::Heuristic { confidence: 0.0 },
                    reason: p.shape.reason(),
                    encoding: p.encoding,
                    where_: p.where_,
                    count: 1,
                    first_seen: p.time,
                    last_seen: p.time,
                    evidence,
                    decrypted: base.encrypted && p.decrypted,
                    ..base.clone()
                };
                entry.hosts.push((f, p.covered));
            }
        }
    }

    /// Full: lets go of the least recently seen tenth of the values seen at one host only (a
    /// session that runs for days keeps its newest candidates; values already at two hosts are
    /// kept). Counted in `capped`; false when there was none to let go.
    fn let_go_singles(&mut self) -> bool {
        let mut singles: Vec<(Timestamp, String)> = self
            .values
            .iter()
            .filter(|(_, e)| e.hosts.len() == 1)
            .map(|(k, e)| (e.hosts[0].0.last_seen, k.clone()))
            .collect();
        if singles.is_empty() {
            return false;
        }
        singles.sort_unstable();
        for (_, k) in singles.into_iter().take(MAX_RECUR_VALUES / 10) {
            self.values.remove(&k);
            self.capped += 1;
        }
        true
    }

    /// [`Table::into_recurring`] of a table still in use (a live view's snapshot).
    pub(crate) fn recurring(&self) -> Vec<Recurring> {
        let mut keyed: Vec<(&String, &Entry)> =
            self.values.iter().filter(|(_, e)| e.hosts.len() >= 2).collect();
        keyed.sort_by(|a, b| a.0.cmp(b.0));
        keyed
            .into_iter()
            .map(|(_, e)| Recurring { shape: e.shape, hosts: e.hosts.clone() })
            .collect()
    }

    /// The values seen at two or more hosts, in value order (reruns give the same report).
    pub(crate) fn into_recurring(self) -> Vec<Recurring> {
        let mut keyed: Vec<(String, Entry)> =
            self.values.into_iter().filter(|(_, e)| e.hosts.len() >= 2).collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        keyed.into_iter().map(|(_, e)| Recurring { shape: e.shape, hosts: e.hosts }).collect()
    }
}

/// The findings of the values sent to two or more parties (see the module doc). `destinations`
/// must be attributed already.
pub(crate) fn resolve(recurring: Vec<Recurring>, destinations: &[Destination]) -> Vec<Finding> {
    let by_host: HashMap<&str, &Destination> =
        destinations.iter().map(|d| (d.host.as_str(), d)).collect();
    // An unnamed flow's host is its server address: the party of a named destination on that
    // address, when there is one (the same server is not another party).
    let mut by_ip: HashMap<&str, &Destination> = HashMap::new();
    for d in destinations.iter().filter(|d| !d.ips.contains(&d.host)) {
        for ip in &d.ips {
            by_ip.entry(ip.as_str()).or_insert(d);
        }
    }
    let party_of = |host: &str| -> Option<String> {
        if let Some(d) = by_ip.get(host).or_else(|| by_host.get(host))
            && (d.party.is_some() || !d.ips.contains(&d.host))
        {
            return Some(match &d.party {
                Some(p) => p.name.split(" (").next().unwrap_or(&p.name).to_owned(),
                None => party_domain(&d.domain),
            });
        }
        match host.parse::<IpAddr>() {
            Ok(ip) => {
                let asn = by_host.get(host).and_then(|d| d.geo.as_ref()).and_then(|g| g.asn);
                network_party(ip).map(|net| asn.map_or(net, |n| format!("AS{n}")))
            }
            Err(_) => Some(party_domain(&crate::attribution::registrable_domain(host))),
        }
    };
    let mut out = Vec::new();
    for r in recurring {
        let parties: Vec<Option<String>> = r.hosts.iter().map(|(f, _)| party_of(&f.host)).collect();
        let distinct: BTreeSet<&str> = parties.iter().flatten().map(String::as_str).collect();
        if distinct.len() < 2 {
            continue;
        }
        let confidence = recur::confidence(r.shape, distinct.len());
        for ((mut f, covered), mine) in r.hosts.into_iter().zip(&parties) {
            let Some(mine) = mine.as_deref().filter(|_| !covered) else { continue };
            f.source = Source::Heuristic { confidence };
            f.shared_with =
                distinct.iter().filter(|p| **p != mine).map(|p| (*p).to_owned()).collect();
            out.push(f);
        }
    }
    out
}

/// The party of an unnamed server address: its network (`198.51.0.0/16`, an IPv6 `/32`; the
/// caller prefers the AS number when geo data has it), so the addresses of one service count
/// once (coarse on purpose: a missed recurrence is better than a made-up one); `None` for
/// addresses that are no party at all (the
/// local network, loopback, link-local, multicast: data sent there does not leave home).
fn network_party(ip: IpAddr) -> Option<String> {
    match ip {
        IpAddr::V4(v4) => {
            if v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified()
            {
                return None;
            }
            let [a, b, ..] = v4.octets();
            Some(format!("{a}.{b}.0.0/16"))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let local = (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfe80;
            if local || v6.is_loopback() || v6.is_multicast() || v6.is_unspecified() {
                return None;
            }
            Some(format!("{:x}:{:x}::/32", s[0], s[1]))
        }
    }
}

/// A registrable domain as the party of an unknown host; a name under a suffix the public
/// suffix list does not know (`a.vendor.internal`) is cut to its last two labels. Addresses stay.
fn party_domain(domain: &str) -> String {
    let known_suffix = psl::suffix(domain.as_bytes()).is_some_and(|s| s.typ().is_some());
    if known_suffix || domain.parse::<std::net::IpAddr>().is_ok() {
        return domain.to_owned();
    }
    let mut dots = domain.rmatch_indices('.');
    match (dots.next(), dots.next()) {
        (Some(_), Some((i, _))) => domain[i + 1..].to_owned(),
        _ => domain.to_owned(),
    }
}

#[cfg(test)]
mod tests;
