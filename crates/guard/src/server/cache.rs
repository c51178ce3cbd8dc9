//! The answer cache: keyed by (name, type, class), bounded, TTL-respecting.
//!
//! Contract:
//! - An entry lives for the TTL [`super::wire::inspect`] computed (smallest answer TTL; negative
//!   answers by the SOA minimum, capped) and is served with its TTLs lowered by its age.
//! - At most `capacity` entries (split over [`SHARDS`] shards, each locked on its own: the only
//!   lock on the answer path). A full shard first drops its expired entries (at most once a
//!   second), else one arbitrary entry: cheap and good enough for a household's working set.
//! - An entry may also remember that the answer's CNAME chain was blocked; the cache is rebuilt on
//!   reload, so such verdicts never outlive the lists that made them.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Number of shards.
pub(crate) const SHARDS: usize = 16;

/// A cached answer.
pub(crate) struct Entry {
    /// The upstream answer as received.
    pub(crate) bytes: Box<[u8]>,
    /// TTL field offsets in `bytes`.
    pub(crate) ttl_offsets: Box<[u16]>,
    /// OPT record offset, when it is the last record.
    pub(crate) opt_at: Option<u16>,
    /// When a CNAME target was blocked: the rule text (the answer is then sinkholed).
    pub(crate) blocked: Option<Arc<str>>,
    /// When it was stored.
    pub(crate) stored: Instant,
    /// When it expires.
    pub(crate) expires: Instant,
}

struct Shard {
    map: HashMap<Box<[u8]>, Entry>,
    next_sweep: Instant,
}

/// The cache.
pub(crate) struct Cache {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
    hasher: RandomState,
}

impl Cache {
    /// A cache of about `capacity` entries (0: nothing is stored).
    pub(crate) fn new(capacity: usize) -> Self {
        let now = Instant::now();
        Self {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(Shard { map: HashMap::new(), next_sweep: now }))
                .collect(),
            per_shard: capacity.div_ceil(SHARDS),
            hasher: RandomState::new(),
        }
    }

    fn shard(&self, key: &[u8]) -> &Mutex<Shard> {
        &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS]
    }

    /// Calls `f` with the live entry for `key` and its age in seconds.
    pub(crate) fn with<R>(
        &self,
        key: &[u8],
        now: Instant,
        f: impl FnOnce(&Entry, u32) -> R,
    ) -> Option<R> {
        if self.per_shard == 0 {
            return None;
        }
        let s = self.shard(key).lock().unwrap_or_else(|e| e.into_inner());
        let e = s.map.get(key)?;
        if e.expires <= now {
            return None;
        }
        let age = u32::try_from(now.duration_since(e.stored).as_secs()).unwrap_or(u32::MAX);
        Some(f(e, age))
    }

    /// Stores an answer for `ttl` seconds.
    pub(crate) fn insert(&self, key: &[u8], mut entry: Entry, ttl: u32) {
        if self.per_shard == 0 {
            return;
        }
        entry.expires = entry.stored + Duration::from_secs(u64::from(ttl));
        let mut s = self.shard(key).lock().unwrap_or_else(|e| e.into_inner());
        if s.map.len() >= self.per_shard && !s.map.contains_key(key) {
            let now = entry.stored;
            if now >= s.next_sweep {
                s.map.retain(|_, e| e.expires > now);
                s.next_sweep = now + Duration::from_secs(1);
            }
            if s.map.len() >= self.per_shard {
                let victim = s.map.keys().next().cloned();
                if let Some(v) = victim {
                    s.map.remove(&v);
                }
            }
        }
        s.map.insert(key.into(), entry);
    }

    /// Number of entries (expired ones included).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().map(|s| s.map.len()).unwrap_or(0)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(now: Instant) -> Entry {
        Entry {
            bytes: Box::new([1, 2, 3]),
            ttl_offsets: Box::new([]),
            opt_at: None,
            blocked: None,
            stored: now,
            expires: now,
        }
    }

    #[test]
    fn ttl_and_cap() {
        let c = Cache::new(32);
        let now = Instant::now();
        c.insert(b"a", entry(now), 10);
        assert_eq!(
            c.with(b"a", now + Duration::from_secs(3), |e, age| (e.bytes.len(), age)),
            Some((3, 3))
        );
        assert!(c.with(b"a", now + Duration::from_secs(10), |_, _| ()).is_none());
        for i in 0..1000u32 {
            c.insert(&i.to_be_bytes(), entry(now), 10);
        }
        assert!(c.len() <= 32);
        assert!(Cache::new(0).with(b"a", now, |_, _| ()).is_none());
    }
}
