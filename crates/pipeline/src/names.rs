//! Destination naming from DNS answers: IP -> the name that was asked for.
//!
//! A response `a.example -> CNAME b.cdn.net -> A 192.0.2.1` maps 192.0.2.1 to `b.cdn.net`, and
//! `b.cdn.net` back to `a.example`; a lookup follows the CNAME links back to the name the device
//! asked for. The latest answer for an address wins.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use proto::{DnsAnswer, RData};

/// Address and CNAME mappings kept at most (each map). When full, the oldest half is dropped and
/// counted; a phone capture has a few thousand names, so this only bites on hostile input.
pub const MAX_DNS_MAPPINGS: usize = 1 << 20;

/// Longest CNAME chain followed back.
const MAX_CNAME_HOPS: usize = 16;

/// How a flow's server was named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameSource {
    /// The TLS or QUIC ClientHello's server_name.
    Sni,
    /// The HTTP Host header.
    HttpHost,
    /// A DNS answer seen earlier for the server's address.
    Dns,
    /// No name known: the address only.
    None,
}

impl NameSource {
    /// Name used in output: `sni`, `http_host`, `dns`, `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sni => "sni",
            Self::HttpHost => "http_host",
            Self::Dns => "dns",
            Self::None => "none",
        }
    }
}

/// A bounded map with insertion order, for "drop the oldest half" eviction.
#[derive(Debug)]
struct Bounded<K> {
    map: HashMap<K, (Arc<str>, u64)>,
    seq: u64,
    capped: u64,
}

impl<K> Default for Bounded<K> {
    fn default() -> Self {
        Self { map: HashMap::new(), seq: 0, capped: 0 }
    }
}

impl<K: std::hash::Hash + Eq + Clone> Bounded<K> {
    fn insert(&mut self, k: K, v: Arc<str>) {
        if self.map.len() >= MAX_DNS_MAPPINGS && !self.map.contains_key(&k) {
            let cutoff = self.seq.saturating_sub((MAX_DNS_MAPPINGS / 2) as u64);
            let before = self.map.len();
            self.map.retain(|_, (_, s)| *s >= cutoff);
            self.capped += (before - self.map.len()) as u64;
        }
        self.seq += 1;
        self.map.insert(k, (v, self.seq));
    }

    fn get(&self, k: &K) -> Option<&Arc<str>> {
        self.map.get(k).map(|(v, _)| v)
    }
}

/// What DNS answers taught us so far.
#[derive(Debug, Default)]
pub struct DnsNames {
    by_ip: Bounded<IpAddr>,
    /// CNAME target -> owner (the name one step closer to what was asked).
    alias_of: Bounded<Arc<str>>,
}

impl DnsNames {
    /// Learns from one answer record.
    pub fn learn(&mut self, answer: &DnsAnswer) {
        match &answer.data {
            RData::A(ip) => self.by_ip.insert(IpAddr::V4(*ip), Arc::from(answer.name.as_str())),
            RData::Aaaa(ip) => self.by_ip.insert(IpAddr::V6(*ip), Arc::from(answer.name.as_str())),
            RData::Cname(target) if target != &answer.name => {
                self.alias_of.insert(Arc::from(target.as_str()), Arc::from(answer.name.as_str()));
            }
            _ => {}
        }
    }

    /// The name asked for that led to `ip`, following CNAMEs back.
    pub fn lookup(&self, ip: IpAddr) -> Option<String> {
        self.lookup_chain(ip).and_then(|mut chain| chain.drain(..).next())
    }

    /// The DNS chain that led to `ip`: the name asked for first, then each CNAME target in order,
    /// ending with the name the address record was for (at most [`MAX_CNAME_HOPS`] + 1 names).
    pub fn lookup_chain(&self, ip: IpAddr) -> Option<Vec<String>> {
        let mut name = self.by_ip.get(&ip)?;
        let mut chain = vec![name.to_string()];
        for _ in 0..MAX_CNAME_HOPS {
            match self.alias_of.get(name) {
                Some(parent) if !chain.iter().any(|n| n == parent.as_ref()) => {
                    name = parent;
                    chain.push(name.to_string());
                }
                _ => break,
            }
        }
        chain.reverse();
        Some(chain)
    }

    /// Mappings dropped because of [`MAX_DNS_MAPPINGS`].
    pub fn capped(&self) -> u64 {
        self.by_ip.capped + self.alias_of.capped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn answer(name: &str, data: RData) -> DnsAnswer {
        DnsAnswer { id: 1, name: name.into(), rtype: 1, ttl: 60, data }
    }

    #[test]
    fn follows_cname_chain_back_to_the_question() {
        let mut n = DnsNames::default();
        n.learn(&answer("api.example.com", RData::Cname("edge.cdn.net".into())));
        n.learn(&answer("edge.cdn.net", RData::Cname("e1.cdn.net".into())));
        n.learn(&answer("e1.cdn.net", RData::A(Ipv4Addr::new(192, 0, 2, 1))));
        assert_eq!(n.lookup("192.0.2.1".parse().unwrap()).as_deref(), Some("api.example.com"));
        assert_eq!(n.lookup("192.0.2.2".parse().unwrap()), None);
        assert_eq!(
            n.lookup_chain("192.0.2.1".parse().unwrap()).unwrap(),
            ["api.example.com", "edge.cdn.net", "e1.cdn.net"]
        );
    }

    #[test]
    fn cname_loop_terminates() {
        let mut n = DnsNames::default();
        n.learn(&answer("a.test", RData::Cname("b.test".into())));
        n.learn(&answer("b.test", RData::Cname("a.test".into())));
        n.learn(&answer("b.test", RData::A(Ipv4Addr::new(192, 0, 2, 9))));
        assert!(n.lookup("192.0.2.9".parse().unwrap()).is_some());
    }

    #[test]
    fn latest_answer_wins() {
        let mut n = DnsNames::default();
        n.learn(&answer("old.test", RData::A(Ipv4Addr::new(192, 0, 2, 3))));
        n.learn(&answer("new.test", RData::A(Ipv4Addr::new(192, 0, 2, 3))));
        assert_eq!(n.lookup("192.0.2.3".parse().unwrap()).as_deref(), Some("new.test"));
    }
}
