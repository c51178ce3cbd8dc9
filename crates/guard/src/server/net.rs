//! The listeners: UDP workers and TCP connections.
//!
//! Contract:
//! - UDP: several worker tasks share one socket per address; each waits for readability, then
//!   drains the socket with non-blocking reads and answers what needs no network inline (blocked,
//!   cached, refused, malformed: no allocation but the log record). A query that must go upstream
//!   is copied into a task of its own. Answers above the client's UDP size (512, or its EDNS
//!   size up to 4096) are cut to the question with TC set, so the client retries over TCP.
//! - TCP: length-prefixed messages, any number per connection, answered in order; a connection
//!   idle for [`TCP_IDLE`] (or slower than that inside a message) is closed; at most
//!   [`MAX_TCP_CONNECTIONS`] at once (more are closed at once and counted).
//! - On stop, workers stop reading, the acceptor stops accepting, idle connections close; queries
//!   already read are finished ([`InFlight`] counts them for the bounded wait in `run`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{Semaphore, watch};

use super::handle::{self, Local, Shared};
use super::wire;

/// A TCP connection is closed after this long without a complete query.
pub(crate) const TCP_IDLE: Duration = Duration::from_secs(10);
/// Most TCP connections open at once.
pub(crate) const MAX_TCP_CONNECTIONS: usize = 256;

/// Counts a forwarded query or an open connection while it lives.
pub(crate) struct InFlight(Arc<Shared>);

impl InFlight {
    pub(crate) fn new(shared: &Arc<Shared>) -> Self {
        shared.inflight.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(shared))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.inflight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn send(sock: &UdpSocket, out: &[u8], peer: SocketAddr) {
    match sock.try_send_to(out, peer) {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            let _ = sock.send_to(out, peer).await;
        }
        _ => {}
    }
}

/// One UDP worker (several share a socket).
pub(crate) async fn udp_worker(
    sock: Arc<UdpSocket>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 65_535];
    let mut out = Vec::with_capacity(4096);
    let mut state = shared.current();
    loop {
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            biased;
            _ = stop.changed() => return,
            r = sock.readable() => if r.is_err() { return },
        }
        loop {
            let (n, peer) = match sock.try_recv_from(&mut buf) {
                Ok(x) => x,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                // an ICMP error queued for an earlier answer: the next read is fine
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionRefused
                            | std::io::ErrorKind::ConnectionReset
                            | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    continue;
                }
                Err(_) => break,
            };
            shared.refresh(&mut state);
            let st = &state.1;
            let packet = &buf[..n];
            let client = peer.ip();
            let time_ms = if shared.log.is_some() { handle::now_ms() } else { 0 };
            match handle::local(st, &shared.counters, packet, client, Instant::now(), &mut out) {
                Local::Drop => {}
                Local::Reply { verdict, rule, query } => {
                    if let Some(q) = &query {
                        wire::truncate(&mut out, q.q_end, q.udp_limit());
                    }
                    send(&sock, &out, peer).await;
                    shared.log(time_ms, client, query.as_ref(), verdict, rule, &out, None, false);
                }
                Local::Forward { allowlisted, .. } => {
                    let packet = packet.to_vec();
                    let (sock, shared2, st) =
                        (Arc::clone(&sock), Arc::clone(&shared), Arc::clone(st));
                    let guard = InFlight::new(&shared);
                    tokio::spawn(async move {
                        let _guard = guard;
                        let Ok(q) = wire::parse_query(&packet) else { return };
                        let mut out = Vec::with_capacity(512);
                        let (verdict, rule, us) =
                            handle::forward(&st, &q, allowlisted, &mut out).await;
                        wire::truncate(&mut out, q.q_end, q.udp_limit());
                        send(&sock, &out, peer).await;
                        shared2.log(time_ms, client, Some(&q), verdict, rule, &out, us, false);
                    });
                }
            }
        }
    }
}

/// Accepts TCP connections until stopped.
pub(crate) async fn tcp_acceptor(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_TCP_CONNECTIONS));
    loop {
        if *stop.borrow() {
            return;
        }
        let (stream, peer) = tokio::select! {
            biased;
            _ = stop.changed() => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(_) => {
                    // out of descriptors and the like: do not spin
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            shared.counters.tcp_refused.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let guard = InFlight::new(&shared);
        let (shared, stop) = (Arc::clone(&shared), stop.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let _guard = guard;
            let _ = connection(stream, peer, &shared, stop).await;
        });
    }
}

async fn connection(
    mut s: TcpStream,
    peer: SocketAddr,
    shared: &Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    s.set_nodelay(true)?;
    let mut buf = vec![0u8; 65_535];
    let mut out = Vec::with_capacity(4096);
    let mut msg = Vec::with_capacity(4096);
    let mut state = shared.current();
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let len = tokio::select! {
            biased;
            _ = stop.changed() => return Ok(()),
            r = tokio::time::timeout(TCP_IDLE, s.read_u16()) => match r {
                Ok(Ok(n)) => usize::from(n),
                _ => return Ok(()),
            },
        };
        let packet = &mut buf[..len];
        if tokio::time::timeout(TCP_IDLE, s.read_exact(packet)).await.is_err() {
            return Ok(());
        }
        shared.refresh(&mut state);
        let st = &state.1;
        let client = peer.ip();
        let time_ms = if shared.log.is_some() { handle::now_ms() } else { 0 };
        let (query, verdict, rule, us) =
            match handle::local(st, &shared.counters, packet, client, Instant::now(), &mut out) {
                Local::Drop => return Ok(()),
                Local::Reply { verdict, rule, query } => (query, verdict, rule, None),
                Local::Forward { query, allowlisted } => {
                    let (v, r, us) = handle::forward(st, &query, allowlisted, &mut out).await;
                    (Some(query), v, r, us)
                }
            };
        msg.clear();
        msg.extend_from_slice(&(out.len() as u16).to_be_bytes());
        msg.extend_from_slice(&out);
        let written = s.write_all(&msg).await;
        shared.log(time_ms, client, query.as_ref(), verdict, rule, &out, us, true);
        written?;
    }
}
