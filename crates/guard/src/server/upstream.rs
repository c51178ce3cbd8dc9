//! Asking the upstream resolvers.
//!
//! Contract:
//! - Upstreams are tried in order, starting from the last one that answered (remembered, not
//!   round-robin: a healthy first choice keeps the traffic, a dead one costs one timeout once).
//! - Each attempt gets at most `timeout`; the whole lookup at most [`deadline`] = 2 × `timeout`,
//!   so a client never waits longer than that for its SERVFAIL.
//! - UDP: a fresh connected socket per attempt (the kernel picks a random source port and
//!   drops datagrams from other addresses), an unpredictable id (SipHash of a counter under a
//!   random key), and an answer is accepted only when id and question match (others are
//!   ignored until the attempt's time is up). A truncated (TC) answer is asked again over TCP.
//! - An ICMP "port unreachable" (connection refused) fails the attempt at once.

use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout_at;

use super::wire;

/// The whole-lookup deadline for an attempt timeout.
pub(crate) fn deadline(timeout: Duration) -> Duration {
    timeout * 2
}

/// A successful lookup.
pub(crate) struct Answer {
    /// The answer bytes.
    pub(crate) bytes: Vec<u8>,
    /// What [`wire::inspect`] read from it.
    pub(crate) inspected: wire::Inspected,
    /// Time taken by the upstream that answered.
    pub(crate) latency: Duration,
}

/// The upstream set.
pub(crate) struct Upstreams {
    addrs: Vec<SocketAddr>,
    timeout: Duration,
    preferred: AtomicUsize,
    counter: AtomicU64,
    key: RandomState,
}

impl Upstreams {
    /// Upstreams `addrs` (not empty), `timeout` per attempt.
    pub(crate) fn new(addrs: Vec<SocketAddr>, timeout: Duration) -> Self {
        Self {
            addrs,
            timeout,
            preferred: AtomicUsize::new(0),
            counter: AtomicU64::new(0),
            key: RandomState::new(),
        }
    }

    fn next_id(&self) -> u16 {
        self.key.hash_one(self.counter.fetch_add(1, Ordering::Relaxed)) as u16
    }

    /// Resolves `question` (the client's question bytes); `None` when every upstream failed or the
    /// deadline passed.
    pub(crate) async fn resolve(&self, question: &[u8]) -> Option<Answer> {
        let start = Instant::now();
        let end = tokio::time::Instant::from_std(start + deadline(self.timeout));
        let first = self.preferred.load(Ordering::Relaxed);
        let mut query = Vec::with_capacity(question.len() + 23);
        for k in 0..self.addrs.len() {
            let i = (first + k) % self.addrs.len();
            let attempt_end = end.min(tokio::time::Instant::now() + self.timeout);
            if attempt_end <= tokio::time::Instant::now() {
                break;
            }
            let t0 = Instant::now();
            let id = self.next_id();
            wire::write_upstream_query(&mut query, id, question);
            let got = match timeout_at(attempt_end, udp(self.addrs[i], &query, question)).await {
                Ok(Some((bytes, ins))) if ins.truncated => {
                    drop(bytes);
                    timeout_at(attempt_end, tcp(self.addrs[i], &query, question))
                        .await
                        .ok()
                        .flatten()
                }
                Ok(r) => r,
                Err(_) => None,
            };
            if let Some((bytes, inspected)) = got {
                if i != first {
                    self.preferred.store(i, Ordering::Relaxed);
                }
                return Some(Answer { bytes, inspected, latency: t0.elapsed() });
            }
        }
        None
    }
}

fn unspecified(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    SocketAddr::new(ip, 0)
}

fn matches(resp: &[u8], query: &[u8], question: &[u8]) -> Option<wire::Inspected> {
    if resp.len() < 2 || resp[..2] != query[..2] {
        return None;
    }
    wire::inspect(resp, question)
}

async fn udp(
    addr: SocketAddr,
    query: &[u8],
    question: &[u8],
) -> Option<(Vec<u8>, wire::Inspected)> {
    let sock = UdpSocket::bind(unspecified(addr)).await.ok()?;
    sock.connect(addr).await.ok()?;
    sock.send(query).await.ok()?;
    let mut buf = vec![0; 65_535];
    loop {
        // connection refused ends the attempt; a mismatched answer is ignored
        let n = sock.recv(&mut buf).await.ok()?;
        if let Some(ins) = matches(&buf[..n], query, question) {
            buf.truncate(n);
            return Some((buf, ins));
        }
    }
}

async fn tcp(
    addr: SocketAddr,
    query: &[u8],
    question: &[u8],
) -> Option<(Vec<u8>, wire::Inspected)> {
    let mut s = TcpStream::connect(addr).await.ok()?;
    s.set_nodelay(true).ok()?;
    let mut msg = Vec::with_capacity(query.len() + 2);
    msg.extend_from_slice(&(query.len() as u16).to_be_bytes());
    msg.extend_from_slice(query);
    s.write_all(&msg).await.ok()?;
    loop {
        let len = usize::from(s.read_u16().await.ok()?);
        let mut buf = vec![0; len];
        s.read_exact(&mut buf).await.ok()?;
        if let Some(ins) = matches(&buf, query, question) {
            return Some((buf, ins));
        }
    }
}
