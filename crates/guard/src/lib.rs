//! Stopping it: blocklists from findings, and a DNS guard for a whole network.
//!
//! Contract:
//! - [`rules`]: blocklists and allowlists in the formats people already have (hosts files,
//!   dnsmasq, Unbound `local-zone`, RPZ zones, AdGuard/Adblock syntax, plain domain lists,
//!   wildcards with a minimum depth: never `*.com`) compiled into one [`rules::Rules`] matcher; the
//!   allowlist wins. Lists are hostile input: bad lines are skipped and counted with their line
//!   numbers, nothing panics, sizes are capped.
//! - [`export`]: the same rules written for Pi-hole/AdGuard, dnsmasq, Unbound, RPZ, hosts files,
//!   nftables (IP sets, for destinations known only by address) and Suricata; every entry carries
//!   its reason as a comment.
//! - [`policy`]: which destinations of a report to block (minimum severity, parties, categories,
//!   countries, names; an allowlist), leaving out names a device needs (push, updates,
//!   captive-portal checks: [`policy::ESSENTIAL`]) unless forced, with a warning for each.
//! - [`server`]: the DNS guard, a forwarding sinkhole over UDP and TCP on tokio (the only async
//!   code of the project): allowed client networks only, per-client rate limit, several upstreams
//!   with timeouts and failover, a TTL-respecting bounded cache, CNAME answers checked against the
//!   rules, reload on SIGHUP, clean stop on SIGTERM/SIGINT.
//! - [`querylog`]: every answered query is logged to SQLite (WAL), in batches written by a thread of
//!   its own, off the answer path; [`querylog::QueryLog::close`] flushes everything; a retention
//!   limit prunes old rows; [`querylog::stats`] summarises a time window.
//! - Unlike the analysis pipeline, the guard is a live server: its times are the wall clock.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::net::IpAddr;

pub mod conn;
pub mod export;
pub mod policy;
pub mod querylog;
pub mod rules;
pub mod server;

/// What the guard did with one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    /// Forwarded upstream (or answered from the cache) and answered.
    Allowed,
    /// Answered from the cache without asking upstream.
    Cached,
    /// The name (or a CNAME target in the upstream answer) is on a blocklist: sinkholed.
    Blocked,
    /// The client is outside the allowed networks, or over its rate limit: REFUSED.
    Refused,
    /// Every upstream failed or timed out: SERVFAIL.
    Failed,
    /// The query could not be parsed: FORMERR (or dropped when not even the header was readable).
    Malformed,
}

impl Verdict {
    /// Name in the log and in statistics: `allowed`, `cached`, `blocked`, `refused`, `failed`,
    /// `malformed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Cached => "cached",
            Self::Blocked => "blocked",
            Self::Refused => "refused",
            Self::Failed => "failed",
            Self::Malformed => "malformed",
        }
    }

    /// The inverse of [`Verdict::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Allowed, Self::Cached, Self::Blocked, Self::Refused, Self::Failed, Self::Malformed]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// One answered query, as the server hands it to the query log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRecord {
    /// When the query arrived, milliseconds since the Unix epoch (wall clock).
    pub time_ms: i64,
    /// The client's address.
    pub client: IpAddr,
    /// The name asked for, lower-case, no trailing dot (empty for malformed queries).
    pub name: String,
    /// The query type (1 = A, 28 = AAAA, ...).
    pub qtype: u16,
    /// What was done.
    pub verdict: Verdict,
    /// For [`Verdict::Blocked`]: the rule that matched and the name it matched (a CNAME target for
    /// a cloaked tracker), e.g. `ads.example.com (tracker.txt:12)`.
    pub rule: Option<String>,
    /// The DNS response code sent (0 = NOERROR, 2 = SERVFAIL, 3 = NXDOMAIN, 5 = REFUSED).
    pub rcode: u8,
    /// Microseconds the upstream took, when it was asked.
    pub upstream_us: Option<u32>,
    /// True when the query came over TCP.
    pub tcp: bool,
}
