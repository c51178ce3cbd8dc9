//! Address rules: single addresses in one hash map, ranges in a list scanned in order (lists of
//! addresses to block are short: the servers a report saw, a few networks); an allow rule wins,
//! else the longest prefix.

use std::collections::HashMap;
use std::net::IpAddr;

use super::{ListKind, RuleId};
use crate::server::config::Cidr;

/// One address rule: the range, whether it allows, its rule id, and its text.
#[derive(Debug, Clone)]
struct Entry {
    net: Cidr,
    allow: bool,
    id: RuleId,
    shown: Box<str>,
}

/// The address rules of a [`super::Rules`].
#[derive(Debug, Clone, Default)]
pub(super) struct Addresses {
    entries: Vec<Entry>,
    /// Single addresses (IPv4-mapped IPv6 as IPv4): indexes into `entries`, block and allow.
    hosts: HashMap<IpAddr, [Option<usize>; 2]>,
    /// Ranges: indexes into `entries`.
    ranges: Vec<usize>,
}

impl Addresses {
    pub(super) fn insert(&mut self, net: Cidr, allow: bool, id: RuleId) {
        let i = self.entries.len();
        let shown = net.to_string().trim_end_matches("/32").trim_end_matches("/128").into();
        self.entries.push(Entry { net, allow, id, shown });
        let full = if net.addr().is_ipv4() { 32 } else { 128 };
        if net.prefix() == full {
            let slot =
                &mut self.hosts.entry(net.addr().to_canonical()).or_default()[usize::from(allow)];
            slot.get_or_insert(i);
        } else {
            self.ranges.push(i);
        }
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The rule that decides `ip`: allow over block, then the longest prefix.
    pub(super) fn check(&self, ip: IpAddr) -> Option<(ListKind, RuleId, &str)> {
        let ip = ip.to_canonical();
        let mut best: [Option<&Entry>; 2] = [None, None];
        if let Some(h) = self.hosts.get(&ip) {
            for (k, slot) in h.iter().enumerate() {
                best[k] = slot.map(|i| &self.entries[i]);
            }
        }
        for &i in &self.ranges {
            let e = &self.entries[i];
            if e.net.contains(ip) {
                let k = usize::from(e.allow);
                if best[k].is_none_or(|b| b.net.prefix() < e.net.prefix()) {
                    best[k] = Some(e);
                }
            }
        }
        let e = best[1].or(best[0])?;
        let kind = if e.allow { ListKind::Allow } else { ListKind::Block };
        Some((kind, e.id, &e.shown))
    }
}
