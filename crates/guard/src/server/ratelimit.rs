//! Per-client rate limit: a token bucket per client address.
//!
//! Contract: a client may send `rate` queries per second on average and a burst of `rate`
//! queries; a query over the limit is refused (REFUSED, counted by the caller). Memory is bounded:
//! at most [`MAX_CLIENTS`] buckets; when full, buckets idle for a second (they are full again, so
//! forgetting them changes nothing) are dropped, and if none is idle the table starts over.
//! Only built when `--rate-limit` is above 0; sharded like the cache.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Most client buckets kept.
pub(crate) const MAX_CLIENTS: usize = 65_536;
const SHARDS: usize = 8;

struct Bucket {
    tokens: f32,
    last: Instant,
}

/// The limiter.
pub(crate) struct RateLimiter {
    rate: f32,
    shards: Vec<Mutex<HashMap<IpAddr, Bucket>>>,
    hasher: RandomState,
}

impl RateLimiter {
    /// `rate` queries per second per client (above 0).
    pub(crate) fn new(rate: u32) -> Self {
        Self {
            rate: rate as f32,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
        }
    }

    /// Takes a token for `client`; false when it has none left.
    pub(crate) fn allow(&self, client: IpAddr, now: Instant) -> bool {
        let shard = &self.shards[(self.hasher.hash_one(client) as usize) % SHARDS];
        let mut m = shard.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() >= MAX_CLIENTS / SHARDS && !m.contains_key(&client) {
            m.retain(|_, b| now.duration_since(b.last).as_secs_f32() < 1.0);
            if m.len() >= MAX_CLIENTS / SHARDS {
                m.clear();
            }
        }
        let b = m.entry(client).or_insert(Bucket { tokens: self.rate, last: now });
        let refill = now.saturating_duration_since(b.last).as_secs_f32() * self.rate;
        b.tokens = (b.tokens + refill).min(self.rate);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket() {
        let r = RateLimiter::new(5);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t = Instant::now();
        assert_eq!((0..10).filter(|_| r.allow(ip, t)).count(), 5);
        assert!(r.allow(ip, t + Duration::from_millis(250)));
        assert!(r.allow("10.0.0.2".parse().unwrap(), t));
    }
}
