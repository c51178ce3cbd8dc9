//! What the guard shares with its host process: what it blocked, per client, for a live view
//! (`phonehome watch --guard`): a small map under a mutex, touched only for blocked queries,
//! bounded to [`MAX_TAP_CLIENTS`] clients (others are counted in the total only); and the lists
//! it is using, for a connection filter (`phonehome vpn`), so that they are read once and a
//! reload (SIGHUP) reaches both.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::rules::Rules;

/// Clients remembered by a [`Tap`].
pub const MAX_TAP_CLIENTS: usize = 4096;

/// Blocked queries of one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientBlocks {
    /// The client's address.
    pub client: IpAddr,
    /// Queries blocked.
    pub blocked: u64,
    /// The last name blocked.
    pub last_name: String,
}

/// Blocked queries per client (see the module doc).
#[derive(Debug, Default)]
pub struct Tap {
    clients: Mutex<HashMap<IpAddr, (u64, String)>>,
    total: AtomicU64,
    rules: Mutex<Option<Arc<Rules>>>,
    /// Bumped each time the guard publishes its lists (0: never).
    rules_generation: AtomicU64,
}

impl Tap {
    /// The guard's lists, as it starts and after each reload.
    pub(crate) fn publish_rules(&self, rules: Arc<Rules>) {
        *self.rules.lock().unwrap_or_else(|e| e.into_inner()) = Some(rules);
        self.rules_generation.fetch_add(1, Ordering::Release);
    }

    /// The guard's lists when they changed since generation `seen` (which it updates): cheap to
    /// ask for every packet (one atomic load when nothing changed).
    pub fn rules_since(&self, seen: &mut u64) -> Option<Arc<Rules>> {
        let now = self.rules_generation.load(Ordering::Acquire);
        if now == *seen {
            return None;
        }
        *seen = now;
        self.rules.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Counts one blocked query.
    pub fn blocked(&self, client: IpAddr, name: &str) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let mut m = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        let full = m.len() >= MAX_TAP_CLIENTS;
        match m.get_mut(&client) {
            Some(e) => {
                e.0 += 1;
                name.clone_into(&mut e.1);
            }
            None if full => {}
            None => {
                m.insert(client, (1, name.to_owned()));
            }
        }
    }

    /// Queries blocked in all.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Every client, most blocked first.
    pub fn clients(&self) -> Vec<ClientBlocks> {
        let m = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<ClientBlocks> = m
            .iter()
            .map(|(c, (n, name))| ClientBlocks { client: *c, blocked: *n, last_name: name.clone() })
            .collect();
        v.sort_by(|a, b| b.blocked.cmp(&a.blocked).then(a.client.cmp(&b.client)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_lists_are_handed_out_once_per_change() {
        let t = Tap::default();
        let mut seen = 0;
        assert!(t.rules_since(&mut seen).is_none(), "nothing published yet");
        let mut b = Rules::builder();
        b.add_list(b"tracker.example\n", "a", crate::rules::ListKind::Block);
        t.publish_rules(Arc::new(b.build().0));
        let got = t.rules_since(&mut seen).expect("the first lists");
        assert!(got.check("x.tracker.example").is_some());
        assert!(t.rules_since(&mut seen).is_none(), "unchanged");
        t.publish_rules(Arc::new(Rules::default()));
        assert!(t.rules_since(&mut seen).expect("reloaded").check("tracker.example").is_none());
    }

    #[test]
    fn counts_per_client_and_stays_bounded() {
        let t = Tap::default();
        let a: IpAddr = "10.0.0.2".parse().unwrap();
        t.blocked(a, "x.tracker.example");
        t.blocked(a, "y.tracker.example");
        for i in 0..(MAX_TAP_CLIENTS as u32 + 10) {
            t.blocked(IpAddr::from(0x0a01_0000u32.wrapping_add(i).to_be_bytes()), "z.example");
        }
        let c = t.clients();
        assert_eq!(c.len(), MAX_TAP_CLIENTS);
        assert_eq!(
            c[0],
            ClientBlocks { client: a, blocked: 2, last_name: "y.tracker.example".into() }
        );
        assert_eq!(t.total(), 2 + MAX_TAP_CLIENTS as u64 + 10);
    }
}
