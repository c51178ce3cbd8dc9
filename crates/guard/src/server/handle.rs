//! One query, from bytes to answer bytes: the part shared by UDP, TCP and the fuzz target.
//!
//! Contract:
//! - [`local`] decides everything that needs no network, in this order: unreadable header →
//!   dropped; client outside `--allow-net` → REFUSED; over its rate limit → REFUSED; unparsable →
//!   FORMERR, not opcode 0 → NOTIMP; name blocked (allowlist first) → the configured sinkhole
//!   answer; cached → the cached answer, TTLs aged; else [`Local::Forward`].
//! - [`forward`] asks the upstreams, blocks the answer when a CNAME target is blocked (unless the
//!   query name itself was allowlisted), caches it, and builds the answer; SERVFAIL when no
//!   upstream answered within the deadline.
//! - The answer is always written into the caller's buffer; the caller truncates UDP answers
//!   ([`super::wire::truncate`]) and logs ([`Shared::log`]).

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::Verdict;
use crate::querylog::LogSender;
use crate::rules::{ListKind, Rules};

use super::cache::{Cache, Entry};
use super::config::{BlockedAnswer, Config};
use super::ratelimit::RateLimiter;
use super::upstream::Upstreams;
use super::wire::{self, Query, Reject, rcode};

/// Everything a reload replaces at once (swapped as one `Arc`).
pub(crate) struct State {
    pub(crate) config: Config,
    /// Shared with a connection filter in the same process ([`super::Tap::rules_since`]).
    pub(crate) rules: Arc<Rules>,
    pub(crate) limiter: Option<RateLimiter>,
    pub(crate) cache: Cache,
    pub(crate) upstreams: Upstreams,
}

impl State {
    /// A fresh state (empty cache) for `config` and `rules`.
    pub(crate) fn new(config: Config, rules: Arc<Rules>) -> Self {
        Self {
            limiter: (config.rate_limit > 0).then(|| RateLimiter::new(config.rate_limit)),
            cache: Cache::new(config.cache_size),
            upstreams: Upstreams::new(config.upstream.clone(), config.upstream_timeout),
            rules,
            config,
        }
    }
}

/// Counters, printed at exit.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Answers per [`Verdict`] (index: declaration order).
    pub(crate) verdicts: [AtomicU64; 6],
    /// Packets dropped without an answer (no readable header).
    pub(crate) dropped: AtomicU64,
    /// Queries refused by the rate limit (also counted as refused).
    pub(crate) rate_limited: AtomicU64,
    /// TCP connections refused because too many were open.
    pub(crate) tcp_refused: AtomicU64,
}

fn verdict_index(v: Verdict) -> usize {
    match v {
        Verdict::Allowed => 0,
        Verdict::Cached => 1,
        Verdict::Blocked => 2,
        Verdict::Refused => 3,
        Verdict::Failed => 4,
        Verdict::Malformed => 5,
    }
}

impl Counters {
    /// One line for stderr.
    pub(crate) fn summary(&self) -> String {
        let v = |x: Verdict| self.verdicts[verdict_index(x)].load(Ordering::Relaxed);
        format!(
            "{} allowed, {} cached, {} blocked, {} refused ({} over the rate limit), {} failed, {} malformed, {} dropped",
            v(Verdict::Allowed),
            v(Verdict::Cached),
            v(Verdict::Blocked),
            v(Verdict::Refused),
            self.rate_limited.load(Ordering::Relaxed),
            v(Verdict::Failed),
            v(Verdict::Malformed),
            self.dropped.load(Ordering::Relaxed),
        )
    }
}

/// What [`local`] decided.
pub(crate) enum Local<'a> {
    /// The answer is in the buffer.
    Reply {
        /// What was done.
        verdict: Verdict,
        /// For blocked names: the matching rule.
        rule: Option<String>,
        /// The query, when it could be parsed.
        query: Option<Query<'a>>,
    },
    /// Nothing to answer.
    Drop,
    /// Ask upstream; `allowlisted` when an allow rule matched the name.
    Forward {
        /// The query.
        query: Query<'a>,
        /// An allow rule matched the query name (CNAME targets are then not checked).
        allowlisted: bool,
    },
}

/// Writes the sinkhole answer configured for blocked names.
pub(crate) fn write_blocked(out: &mut Vec<u8>, q: &Query<'_>, mode: BlockedAnswer) {
    match mode {
        BlockedAnswer::Nxdomain => wire::write_empty(out, q, rcode::NXDOMAIN),
        BlockedAnswer::Zero => wire::write_zero(out, q),
        BlockedAnswer::Refused => wire::write_empty(out, q, rcode::REFUSED),
    }
}

/// The answer path without network (see the module doc).
pub(crate) fn local<'a>(
    state: &State,
    counters: &Counters,
    packet: &'a [u8],
    client: IpAddr,
    now: Instant,
    out: &mut Vec<u8>,
) -> Local<'a> {
    if packet.len() < wire::HEADER {
        counters.dropped.fetch_add(1, Ordering::Relaxed);
        return Local::Drop;
    }
    let parsed = wire::parse_query(packet);
    let over_limit = || {
        state.limiter.as_ref().is_some_and(|l| !l.allow(client, now)) && {
            counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            true
        }
    };
    if !state.config.allowed(client) || over_limit() {
        return match parsed {
            Ok(q) => {
                wire::write_empty(out, &q, rcode::REFUSED);
                Local::Reply { verdict: Verdict::Refused, rule: None, query: Some(q) }
            }
            Err(Reject::Drop) => {
                counters.dropped.fetch_add(1, Ordering::Relaxed);
                Local::Drop
            }
            Err(_) => {
                wire::write_header_error(out, packet, rcode::REFUSED);
                Local::Reply { verdict: Verdict::Refused, rule: None, query: None }
            }
        };
    }
    let q = match parsed {
        Ok(q) => q,
        Err(Reject::Drop) => {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            return Local::Drop;
        }
        Err(r) => {
            let rc = if r == Reject::NotImp { rcode::NOTIMP } else { rcode::FORMERR };
            wire::write_header_error(out, packet, rc);
            return Local::Reply { verdict: Verdict::Malformed, rule: None, query: None };
        }
    };
    let mut allowlisted = false;
    if let Some(m) = state.rules.check(q.name()) {
        if m.kind == ListKind::Block {
            write_blocked(out, &q, state.config.blocked_answer);
            return Local::Reply {
                verdict: Verdict::Blocked,
                rule: Some(m.to_string()),
                query: Some(q),
            };
        }
        allowlisted = true;
    }
    let mut key = [0; wire::MAX_NAME + 6];
    let hit = state.cache.with(q.cache_key(&mut key), now, |e, age| match &e.blocked {
        Some(rule) if !allowlisted => {
            write_blocked(out, &q, state.config.blocked_answer);
            Some((Verdict::Blocked, Some(rule.to_string())))
        }
        _ => wire::write_forwarded(out, &q, &e.bytes, &e.ttl_offsets, e.opt_at, age)
            .map(|()| (Verdict::Cached, None)),
    });
    match hit.flatten() {
        Some((verdict, rule)) => Local::Reply { verdict, rule, query: Some(q) },
        None => Local::Forward { query: q, allowlisted },
    }
}

/// The rule of the first blocked CNAME target, as `target (list:line)`.
pub(crate) fn blocked_cname(rules: &Rules, cnames: &[String]) -> Option<String> {
    cnames
        .iter()
        .find_map(|c| rules.check(c).filter(|m| m.kind == ListKind::Block).map(|m| m.to_string()))
}

/// Stores an upstream answer and builds the client's answer from it; returns the verdict and
/// rule. Shared by [`forward`] and the fuzz target.
pub(crate) fn finish(
    state: &State,
    q: &Query<'_>,
    allowlisted: bool,
    bytes: Vec<u8>,
    ins: wire::Inspected,
    out: &mut Vec<u8>,
) -> (Verdict, Option<String>) {
    let blocked = if allowlisted { None } else { blocked_cname(&state.rules, &ins.cnames) };
    if blocked.is_some() {
        write_blocked(out, q, state.config.blocked_answer);
    } else if wire::write_forwarded(out, q, &bytes, &ins.ttl_offsets, ins.opt_at, 0).is_none() {
        wire::write_empty(out, q, rcode::SERVFAIL);
        return (Verdict::Failed, None);
    }
    if let Some(ttl) = ins.cache_ttl {
        let mut key = [0; wire::MAX_NAME + 6];
        let now = Instant::now();
        let entry = Entry {
            bytes: bytes.into_boxed_slice(),
            ttl_offsets: ins.ttl_offsets.into_boxed_slice(),
            opt_at: ins.opt_at,
            blocked: blocked.as_deref().map(Arc::from),
            stored: now,
            expires: now,
        };
        state.cache.insert(q.cache_key(&mut key), entry, ttl);
    }
    match blocked {
        Some(rule) => (Verdict::Blocked, Some(rule)),
        None => (Verdict::Allowed, None),
    }
}

/// Asks upstream and builds the answer; the verdict, rule and upstream latency in µs.
pub(crate) async fn forward(
    state: &State,
    q: &Query<'_>,
    allowlisted: bool,
    out: &mut Vec<u8>,
) -> (Verdict, Option<String>, Option<u32>) {
    match state.upstreams.resolve(q.question()).await {
        Some(a) => {
            let us = u32::try_from(a.latency.as_micros()).unwrap_or(u32::MAX);
            let (v, rule) = finish(state, q, allowlisted, a.bytes, a.inspected, out);
            (v, rule, Some(us))
        }
        None => {
            wire::write_empty(out, q, rcode::SERVFAIL);
            (Verdict::Failed, None, None)
        }
    }
}

/// What the server keeps for all its tasks.
pub(crate) struct Shared {
    /// The current state and its generation (bumped at each reload).
    pub(crate) state: std::sync::Mutex<(u64, Arc<State>)>,
    /// Mirror of the generation, read on the answer path without the lock.
    pub(crate) generation: AtomicU64,
    /// The query log, when `--db` was given.
    pub(crate) log: Option<LogSender>,
    /// Counters.
    pub(crate) counters: Counters,
    /// Queries being forwarded and open TCP connections.
    pub(crate) inflight: std::sync::atomic::AtomicUsize,
    /// Blocked queries per client, for a live view in the same process.
    pub(crate) tap: Option<Arc<super::Tap>>,
}

impl Shared {
    /// The current state.
    pub(crate) fn current(&self) -> (u64, Arc<State>) {
        let g = self.state.lock().unwrap_or_else(|e| e.into_inner());
        (g.0, Arc::clone(&g.1))
    }

    /// Replaces the state (a reload).
    pub(crate) fn replace(&self, state: State) {
        let mut g = self.state.lock().unwrap_or_else(|e| e.into_inner());
        g.0 += 1;
        g.1 = Arc::new(state);
        self.generation.store(g.0, Ordering::Release);
    }

    /// Refreshes a task's copy of the state when a reload happened.
    pub(crate) fn refresh(&self, mine: &mut (u64, Arc<State>)) {
        if self.generation.load(Ordering::Acquire) != mine.0 {
            *mine = self.current();
        }
    }

    /// Counts an answer and sends it to the query log.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn log(
        &self,
        time_ms: i64,
        client: IpAddr,
        q: Option<&Query<'_>>,
        verdict: Verdict,
        rule: Option<String>,
        answer: &[u8],
        upstream_us: Option<u32>,
        tcp: bool,
    ) {
        self.counters.verdicts[verdict_index(verdict)].fetch_add(1, Ordering::Relaxed);
        if let (Some(tap), Verdict::Blocked, Some(q)) = (&self.tap, verdict, q) {
            tap.blocked(client.to_canonical(), q.name());
        }
        if let Some(log) = &self.log {
            log.send(crate::QueryRecord {
                time_ms,
                client: client.to_canonical(),
                name: q.map(|q| q.name().to_owned()).unwrap_or_default(),
                qtype: q.map_or(0, |q| q.qtype),
                verdict,
                rule,
                rcode: answer.get(3).map_or(0, |b| b & 0x0f),
                upstream_us,
                tcp,
            });
        }
    }
}

/// Wall-clock milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
