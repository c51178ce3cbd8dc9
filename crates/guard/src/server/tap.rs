//! What the guard blocked, per client, for a live view in the same process (`phonehome watch
//! --guard`): a small map under a mutex, touched only for blocked queries, bounded to
//! [`MAX_TAP_CLIENTS`] clients (others are counted in the total only).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

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
}

impl Tap {
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
