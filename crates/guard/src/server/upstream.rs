//! Asking the upstream resolvers.
//!
//! Contract:
//! - Upstreams are tried in order, starting from the last one that answered (remembered, not
//!   round-robin: a healthy first choice keeps the traffic, a dead one costs one timeout once).
//! - Each attempt gets at most `timeout`; the whole lookup at most [`deadline`] = 2 × `timeout`,
//!   so a client never waits longer than that for its SERVFAIL.
//! - UDP goes through a pool per upstream of [`POOL_SIZE`] long-lived connected sockets, taken in
//!   turn, each bound to a source port the kernel picks at random and served by one reader task.
//!   A query registers (id, question) in its socket's pending map, then sends; the reader hands
//!   each answer to the query waiting for exactly that id *and* question on that socket (an
//!   unknown id, a wrong question or a malformed answer is ignored and counted, see
//!   [`Upstreams::ignored`]); a query whose attempt times out (or is cancelled) removes itself.
//! - Security (spoofed answers): a forged answer must hit one of the pool's open ports (the
//!   connected socket drops datagrams from any other address), carry the pending 16-bit id
//!   (SipHash of a counter under a random key: unpredictable, never reused on a socket while
//!   pending) and the exact question. The ports keep changing: a socket is rotated — replaced by a
//!   fresh one on a new random port — after [`ROTATE_AFTER`] queries or [`ROTATE_AGE`], whichever
//!   comes first; the old socket's reader stays only long enough for the answers still due
//!   (one attempt timeout), then closes it. The trade-off against a fresh socket per query: a
//!   port now serves many queries, so an off-path attacker who learns one can aim at it until it
//!   rotates (the id and question must still match).
//! - A truncated (TC) answer is asked again over TCP (a fresh connection, the same id and
//!   question checked).
//! - An ICMP "port unreachable" (connection refused) on a pool socket fails every attempt pending
//!   on it at once (they all asked the same upstream), so failover does not wait for a timeout.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, RandomState};
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{Notify, oneshot};
use tokio::time::timeout_at;

use super::wire;

/// Sockets in each upstream's pool.
pub(crate) const POOL_SIZE: usize = 16;
/// A pool socket is replaced after this many queries…
pub(crate) const ROTATE_AFTER: u32 = 2_000;
/// …or once it is this old.
pub(crate) const ROTATE_AGE: Duration = Duration::from_secs(30);

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

type Reply = (Vec<u8>, wire::Inspected);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A query waiting on a pool socket.
struct Waiter {
    question: Box<[u8]>,
    tx: oneshot::Sender<Reply>,
}

/// One long-lived connected socket of a pool.
struct Sock {
    udp: UdpSocket,
    pending: Mutex<HashMap<u16, Waiter>>,
    born: Instant,
    /// Set when the pool replaced it (or dropped): the reader lingers, then closes it.
    retire: Notify,
    /// The reader ended (socket error): the pool must replace it.
    dead: AtomicBool,
}

impl Sock {
    /// Binds a kernel-chosen random port and connects it to `addr` (needs a runtime).
    fn open(addr: SocketAddr) -> std::io::Result<Self> {
        let std = std::net::UdpSocket::bind(unspecified(addr))?;
        std.connect(addr)?;
        std.set_nonblocking(true)?;
        Ok(Self {
            udp: UdpSocket::from_std(std)?,
            pending: Mutex::new(HashMap::new()),
            born: Instant::now(),
            retire: Notify::new(),
            dead: AtomicBool::new(false),
        })
    }

    /// Hands `resp` to the query waiting for its id and question; `false` when nobody does.
    fn deliver(&self, resp: &[u8]) -> bool {
        let Some(id) = resp.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
            return false;
        };
        let mut pending = lock(&self.pending);
        let Some(w) = pending.get(&id) else { return false };
        let Some(ins) = wire::inspect(resp, &w.question) else { return false };
        let Some(w) = pending.remove(&id) else { return false };
        drop(pending);
        let _ = w.tx.send((resp.to_vec(), ins));
        true
    }

    /// Fails every pending query at once (their receivers see the sender dropped).
    fn fail_all(&self) {
        let drained: Vec<Waiter> = lock(&self.pending).drain().map(|(_, w)| w).collect();
        drop(drained);
    }
}

/// Receives the answers of one pool socket until it is retired (and has lingered) or fails.
async fn reader(sock: Arc<Sock>, linger: Duration, ignored: Arc<AtomicU64>) {
    let mut buf = vec![0u8; 65_535];
    let mut until: Option<tokio::time::Instant> = None;
    'outer: loop {
        // `recv` (not `readable`) so that an ICMP error wakes it too
        let mut got = match until {
            None => tokio::select! {
                r = sock.udp.recv(&mut buf) => r,
                () = sock.retire.notified() => {
                    until = Some(tokio::time::Instant::now() + linger);
                    continue;
                }
            },
            Some(t) => tokio::select! {
                r = sock.udp.recv(&mut buf) => r,
                () = tokio::time::sleep_until(t) => break,
            },
        };
        // then drain what else is queued without waiting
        loop {
            match got {
                Ok(n) => {
                    if !sock.deliver(&buf[..n]) {
                        ignored.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // ICMP port unreachable: the upstream is not there, fail who waits on it
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset
                    ) =>
                {
                    sock.fail_all();
                }
                Err(_) => break 'outer,
            }
            got = sock.udp.try_recv(&mut buf);
        }
    }
    sock.dead.store(true, Ordering::Relaxed);
    sock.fail_all();
}

/// A pool socket in its slot, with the queries it has carried.
struct Slot {
    sock: Arc<Sock>,
    uses: u32,
}

/// The sockets of one upstream.
struct Pool {
    addr: SocketAddr,
    slots: Box<[Mutex<Option<Slot>>]>,
    next: AtomicUsize,
}

impl Pool {
    fn new(addr: SocketAddr, size: usize) -> Self {
        Self {
            addr,
            slots: (0..size.max(1)).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// The next socket in turn, opened or rotated as needed (needs a runtime).
    fn checkout(&self, up: &Upstreams) -> Option<Arc<Sock>> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let mut slot = lock(&self.slots[i]);
        if let Some(s) = slot.as_mut() {
            let fresh = s.uses < up.rotate_after
                && s.sock.born.elapsed() < ROTATE_AGE
                && !s.sock.dead.load(Ordering::Relaxed);
            if fresh {
                s.uses += 1;
                return Some(Arc::clone(&s.sock));
            }
        }
        if let Some(old) = slot.take() {
            old.sock.retire.notify_one();
        }
        let sock = Arc::new(Sock::open(self.addr).ok()?);
        // linger a little longer than an attempt, for answers sent just before the rotation
        let linger = up.timeout + Duration::from_millis(100);
        tokio::spawn(reader(Arc::clone(&sock), linger, Arc::clone(&up.ignored)));
        *slot = Some(Slot { sock: Arc::clone(&sock), uses: 1 });
        Some(sock)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        for slot in &*self.slots {
            if let Some(s) = lock(slot).take() {
                s.sock.retire.notify_one();
            }
        }
    }
}

/// Removes a query from its socket's pending map unless it was answered.
struct Registration<'a> {
    sock: &'a Sock,
    id: u16,
    answered: bool,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        if !self.answered {
            lock(&self.sock.pending).remove(&self.id);
        }
    }
}

/// The upstream set.
pub(crate) struct Upstreams {
    addrs: Vec<SocketAddr>,
    pools: Vec<Pool>,
    timeout: Duration,
    rotate_after: u32,
    preferred: AtomicUsize,
    counter: AtomicU64,
    key: RandomState,
    ignored: Arc<AtomicU64>,
}

impl Upstreams {
    /// Upstreams `addrs` (not empty), `timeout` per attempt. No socket is opened until the
    /// first lookup.
    pub(crate) fn new(addrs: Vec<SocketAddr>, timeout: Duration) -> Self {
        Self::with_pool(addrs, timeout, POOL_SIZE, ROTATE_AFTER)
    }

    fn with_pool(
        addrs: Vec<SocketAddr>,
        timeout: Duration,
        size: usize,
        rotate_after: u32,
    ) -> Self {
        Self {
            pools: addrs.iter().map(|&a| Pool::new(a, size)).collect(),
            addrs,
            timeout,
            rotate_after: rotate_after.max(1),
            preferred: AtomicUsize::new(0),
            counter: AtomicU64::new(0),
            key: RandomState::new(),
            ignored: Arc::new(AtomicU64::new(0)),
        }
    }

    fn next_id(&self) -> u16 {
        self.key.hash_one(self.counter.fetch_add(1, Ordering::Relaxed)) as u16
    }

    /// UDP answers ignored so far: unknown id, wrong question, malformed, or too late.
    pub(crate) fn ignored(&self) -> u64 {
        self.ignored.load(Ordering::Relaxed)
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
            let got = match timeout_at(attempt_end, self.udp(i, &mut query, question)).await {
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

    /// One UDP attempt on upstream `i` through its pool; `query` is left holding what was sent.
    async fn udp(&self, i: usize, query: &mut Vec<u8>, question: &[u8]) -> Option<Reply> {
        let sock = self.pools[i].checkout(self)?;
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut pending = lock(&sock.pending);
            let mut waiter = Some(Waiter { question: question.into(), tx });
            let mut id = None;
            // an id already pending on this socket is not reused (rare: a few tries at most)
            for _ in 0..16 {
                let candidate = self.next_id();
                if let Entry::Vacant(v) = pending.entry(candidate) {
                    v.insert(waiter.take()?);
                    id = Some(candidate);
                    break;
                }
            }
            id?
        };
        let mut registration = Registration { sock: &sock, id, answered: false };
        wire::write_upstream_query(query, id, question);
        match sock.udp.try_send(query) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                sock.udp.send(query).await.ok()?;
            }
            // connection refused (an earlier ICMP error) and the like: this attempt failed
            Err(_) => return None,
        }
        let reply = rx.await.ok();
        // answered or failed by the reader: the entry is gone (and the id may be reused)
        registration.answered = true;
        reply
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

async fn tcp(addr: SocketAddr, query: &[u8], question: &[u8]) -> Option<Reply> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn question(name: &str) -> Vec<u8> {
        let mut q = Vec::new();
        for l in name.split('.') {
            q.push(l.len() as u8);
            q.extend_from_slice(l.as_bytes());
        }
        q.extend_from_slice(&[0, 0, 1, 0, 1]);
        q
    }

    /// An answer to `query` (header and question only) with `id` and the question replaced by
    /// `question` when given.
    fn answer(query: &[u8], id: u16, question: Option<&[u8]>) -> Vec<u8> {
        let q_end = wire::HEADER + query[wire::HEADER..].iter().position(|&b| b == 0).unwrap() + 5;
        let mut a = Vec::from(&query[..wire::HEADER]);
        a[..2].copy_from_slice(&id.to_be_bytes());
        a[2] |= 0x80;
        a[6..12].fill(0);
        a.extend_from_slice(question.unwrap_or(&query[wire::HEADER..q_end]));
        a
    }

    /// A fake upstream that first sends two forged answers (wrong id, wrong question), then the
    /// true one.
    async fn spoofing_upstream() -> SocketAddr {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = sock.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = vec![0; 4096];
            let forged = question("forged.example");
            while let Ok((n, peer)) = sock.recv_from(&mut buf).await {
                let q = &buf[..n];
                let id = u16::from_be_bytes([q[0], q[1]]);
                let _ = sock.send_to(&answer(q, id.wrapping_add(1), None), peer).await;
                let _ = sock.send_to(&answer(q, id, Some(&forged)), peer).await;
                let _ = sock.send_to(&answer(q, id, None), peer).await;
            }
        });
        addr
    }

    /// Many concurrent uncached lookups through a small, fast-rotating pool: each gets the answer
    /// to its own question, and every forged answer is ignored.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pool_answers_each_query_and_ignores_forgeries() {
        let addr = spoofing_upstream().await;
        let up = Arc::new(Upstreams::with_pool(vec![addr], Duration::from_secs(2), 8, 50));
        // 64 at a time: the fake upstream (one socket, one task) must not drop queries
        let slots = Arc::new(tokio::sync::Semaphore::new(64));
        let tasks: Vec<_> = (0..2000)
            .map(|i| {
                let (up, slots) = (Arc::clone(&up), Arc::clone(&slots));
                tokio::spawn(async move {
                    let _slot = slots.acquire().await.unwrap();
                    let q = question(&format!("n{i}.example.net"));
                    let t = Instant::now();
                    let Some(a) = up.resolve(&q).await else {
                        panic!("{i} unanswered after {:?}, ignored {}", t.elapsed(), up.ignored())
                    };
                    assert_eq!(&a.bytes[wire::HEADER..], &q[..], "answer to another question");
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        // the forgeries for the last answers may still be in flight
        let until = Instant::now() + Duration::from_secs(2);
        while up.ignored() < 4000 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(up.ignored(), 4000);
        for pool in &up.pools {
            for slot in &*pool.slots {
                if let Some(s) = &*lock(slot) {
                    assert!(lock(&s.sock.pending).is_empty(), "a waiter was left behind");
                }
            }
        }
    }

    /// A port nobody listens on: connection refused fails the attempt at once; a silent upstream
    /// fails by the deadline and leaves nothing pending.
    #[tokio::test]
    async fn refused_fast_and_timeout_cleans_up() {
        let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let up = Upstreams::new(vec![addr], Duration::from_secs(2));
        let t = Instant::now();
        assert!(up.resolve(&question("a.example")).await.is_none());
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());

        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let up = Upstreams::new(vec![silent.local_addr().unwrap()], Duration::from_millis(100));
        assert!(up.resolve(&question("a.example")).await.is_none());
        let pending: usize = up.pools[0]
            .slots
            .iter()
            .filter_map(|s| lock(s).as_ref().map(|s| lock(&s.sock.pending).len()))
            .sum();
        assert_eq!(pending, 0);
    }
}
