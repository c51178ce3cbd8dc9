//! The DNS guard: a forwarding sinkhole over UDP and TCP.
//!
//! Contract:
//! - [`run`] is a blocking call: it loads the configuration ([`Options`]), the lists and the query
//!   log, starts its own tokio runtime, binds UDP and TCP on every `--listen` address (port 0:
//!   one free port, the same for UDP and TCP), prints one line on stderr starting with
//!   `guard: listening on` (addresses, upstreams, list sizes), and serves until SIGTERM or SIGINT.
//! - Answer path: see [`handle`] (decisions), [`net`] (transports), [`upstream`] (socket pool,
//!   failover, deadline), [`cache`] and [`wire`] (bytes). Nothing on it panics on any input.
//! - [`spawn`] runs the same guard on a thread of a host process (`phonehome watch --guard`):
//!   it returns once bound (or with the error that kept it from starting), leaves SIGTERM and
//!   SIGINT to the host and stops through [`Running::stop`] instead, and counts blocked queries
//!   per client in a [`Tap`] for the host's live view (a small mutex taken for blocked queries
//!   only).
//! - SIGHUP: the config file is read again, the command line laid over it, the lists reloaded,
//!   and the new state swapped in as one `Arc` (queries being answered finish with the old one,
//!   none is dropped); the cache starts empty. Listening addresses, the database and the
//!   retention need a restart (a warning says so). A reload that fails keeps the old state.
//! - SIGTERM/SIGINT: stop reading and accepting, finish queries in flight (at most
//!   [`STOP_WAIT`]), close the query log (everything sent is written), print the counters, return
//!   `Ok`.
//!
//! Why our own loop on bytes rather than hickory-server: the guard needs very little of a server
//! (one question, forward or sinkhole), and the answer path for cached and blocked names is a
//! copy and a few byte writes with no allocation, which is what the 50,000 queries/s target
//! asks for; hickory-server's request handling decodes and re-encodes every message.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, UdpSocket};
use tokio::signal::unix::{SignalKind, signal};

use crate::querylog::{LogError, LogOptions, LogSender, QueryLog};
use crate::rules::{self, LoadReport, Rules, RulesError};

mod cache;
pub mod config;
mod handle;
mod net;
mod ratelimit;
mod tap;
mod upstream;
mod wire;

pub use config::{BlockedAnswer, Cidr, Config, Settings};
pub use tap::{ClientBlocks, MAX_TAP_CLIENTS, Tap};

/// Longest wait for queries in flight at stop.
pub const STOP_WAIT: Duration = Duration::from_secs(3);

/// Why the guard could not start (or stop cleanly).
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// The config file could not be read or parsed.
    #[error("{}: {message}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A setting is missing or out of range.
    #[error("{0}")]
    Invalid(String),
    /// A list could not be read.
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// The query log could not be opened or written.
    #[error(transparent)]
    Log(#[from] LogError),
    /// A listening address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The runtime or a signal handler could not be set up.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Where the configuration comes from: an optional file with the command line laid over it.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--config FILE`.
    pub config_file: Option<PathBuf>,
    /// The settings given on the command line.
    pub cli: Settings,
}

impl Options {
    /// Reads the file (if any), lays the command line over it and applies the defaults.
    pub fn load(&self) -> Result<Config, GuardError> {
        let file = match &self.config_file {
            Some(p) => Settings::from_file(p)?,
            None => Settings::default(),
        };
        Config::resolve(self.cli.over(file))
    }
}

fn describe(report: &LoadReport, lists: usize) -> String {
    format!(
        "{} block rules, {} allow rules from {} lists ({} invalid lines)",
        report.block_rules,
        report.allow_rules,
        lists,
        report.invalid()
    )
}

fn load_rules(config: &Config) -> Result<(Rules, String), GuardError> {
    let (rules, report) = rules::load_files(&config.block, &config.allow)?;
    for list in &report.lists {
        for e in &list.errors {
            eprintln!("guard: {}:{}: skipped: {}", e.source, e.line, e.reason);
        }
    }
    let text = describe(&report, config.block.len() + config.allow.len());
    Ok((rules, text))
}

/// Runs the guard until SIGTERM or SIGINT (see the module doc).
pub fn run(options: Options) -> Result<(), GuardError> {
    run_with(options, Control::default())
}

/// How a guard started by [`spawn`] is told to stop, and what it reports.
#[derive(Default)]
struct Control {
    /// Stops it (instead of SIGTERM/SIGINT, which its host process handles).
    stop: Option<tokio::sync::oneshot::Receiver<()>>,
    /// Where blocked queries are counted.
    tap: Option<Arc<Tap>>,
    /// Told the addresses once bound, or why it could not start.
    ready: Option<std::sync::mpsc::Sender<Vec<SocketAddr>>>,
}

/// A guard serving on a thread of this process (see [`spawn`]).
#[derive(Debug)]
pub struct Running {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), GuardError>>>,
    /// The addresses it answers on (UDP and TCP).
    pub addrs: Vec<SocketAddr>,
}

impl Running {
    /// Stops it as SIGTERM would (queries in flight finish, the query log is closed) and waits.
    pub fn stop(mut self) -> Result<(), GuardError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<(), GuardError> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(GuardError::Invalid("the guard's thread panicked".into())),
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Starts the guard on a thread of this process, for a host that owns the signals
/// (`phonehome watch --guard`): it does not react to SIGTERM or SIGINT (SIGHUP still reloads),
/// counts blocked queries in `tap`, and returns once it is bound, or with the error that kept it
/// from starting (configuration, lists, query log, addresses).
pub fn spawn(options: Options, tap: Option<Arc<Tap>>) -> Result<Running, GuardError> {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let control = Control { stop: Some(stop_rx), tap, ready: Some(ready_tx) };
    let thread = std::thread::Builder::new()
        .name("guard".into())
        .spawn(move || run_with(options, control))?;
    match ready_rx.recv() {
        Ok(addrs) => Ok(Running { stop: Some(stop_tx), thread: Some(thread), addrs }),
        // It ended before binding: its error says why.
        Err(_) => match thread.join() {
            Ok(Err(e)) => Err(e),
            Ok(Ok(())) => Err(GuardError::Invalid("the guard stopped before it started".into())),
            Err(_) => Err(GuardError::Invalid("the guard's thread panicked".into())),
        },
    }
}

fn run_with(options: Options, control: Control) -> Result<(), GuardError> {
    let config = options.load()?;
    let (rules, lists) = load_rules(&config)?;
    let log = match &config.db {
        Some(path) => {
            let mut o = LogOptions::default();
            if let Some(days) = config.retention_days {
                o.retention = (days > 0).then(|| Duration::from_secs(u64::from(days) * 86_400));
            }
            Some(QueryLog::open(path, o)?)
        }
        None => None,
    };
    let rt =
        tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("guard").build()?;
    let sender = log.as_ref().map(QueryLog::sender);
    let served = rt.block_on(serve(&options, config, rules, &lists, sender, control));
    rt.shutdown_timeout(Duration::from_millis(500));
    if let Some(log) = log {
        let s = log.close()?;
        eprintln!(
            "guard: query log: {} rows written, {} dropped, {} failed",
            s.written, s.dropped, s.failed
        );
    }
    served
}

/// Binds UDP then TCP on the same port (for port 0, the port UDP got; retried a few times).
async fn bind(addr: SocketAddr) -> Result<(UdpSocket, TcpListener), GuardError> {
    let mut last = None;
    for _ in 0..16 {
        let udp =
            UdpSocket::bind(addr).await.map_err(|source| GuardError::Bind { addr, source })?;
        let local = udp.local_addr()?;
        match TcpListener::bind(local).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if addr.port() == 0 => last = Some(e),
            Err(source) => return Err(GuardError::Bind { addr, source }),
        }
    }
    Err(GuardError::Bind {
        addr,
        source: last.unwrap_or_else(|| std::io::Error::other("no free port")),
    })
}

async fn serve(
    options: &Options,
    config: Config,
    rules: Rules,
    lists: &str,
    log: Option<LogSender>,
    control: Control,
) -> Result<(), GuardError> {
    // signals first: SIGHUP's default action would end the process
    let mut hup = signal(SignalKind::hangup())?;
    // In a host process (`spawn`), the host owns SIGTERM and SIGINT and stops us through `stop`.
    let own_signals = control.stop.is_none();
    let mut term = if own_signals { Some(signal(SignalKind::terminate())?) } else { None };
    let mut int = if own_signals { Some(signal(SignalKind::interrupt())?) } else { None };
    let mut stop = control.stop;
    let mut sockets = Vec::new();
    for &addr in &config.listen {
        sockets.push(bind(addr).await?);
    }
    let bound: Vec<String> =
        sockets.iter().filter_map(|s| s.0.local_addr().ok()).map(|a| a.to_string()).collect();
    let upstreams: Vec<String> = config.upstream.iter().map(ToString::to_string).collect();
    let db = config.db.as_ref().map_or_else(|| "none".to_owned(), |p| p.display().to_string());
    eprintln!(
        "guard: listening on {} (udp, tcp); upstreams {}; {lists}; query log {db}",
        bound.join(", "),
        upstreams.join(", "),
    );
    let first = (config.listen.clone(), config.db.clone(), config.retention_days);
    let rules = Arc::new(rules);
    if let Some(tap) = &control.tap {
        tap.publish_rules(Arc::clone(&rules));
    }
    let shared = Arc::new(handle::Shared {
        state: std::sync::Mutex::new((0, Arc::new(handle::State::new(config, rules)))),
        generation: AtomicU64::new(0),
        log,
        counters: handle::Counters::default(),
        inflight: AtomicUsize::new(0),
        tap: control.tap,
    });
    // Ready once the lists are published: a host's connection filter finds them at once.
    let addrs: Vec<SocketAddr> = sockets.iter().filter_map(|s| s.0.local_addr().ok()).collect();
    if let Some(ready) = control.ready {
        let _ = ready.send(addrs);
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8);
    for (udp, tcp) in sockets {
        let udp = Arc::new(udp);
        for _ in 0..workers {
            tokio::spawn(net::udp_worker(Arc::clone(&udp), Arc::clone(&shared), stop_rx.clone()));
        }
        tokio::spawn(net::tcp_acceptor(tcp, Arc::clone(&shared), stop_rx.clone()));
    }
    loop {
        tokio::select! {
            _ = hup.recv() => {
                let options = options.clone();
                let first = first.clone();
                let shared = Arc::clone(&shared);
                let done = tokio::task::spawn_blocking(move || reload(&options, &first, &shared)).await;
                if let Ok(Err(e)) = done {
                    eprintln!("guard: reload failed, keeping the previous lists and settings: {e}");
                }
            }
            Some(_) = recv(&mut term) => break,
            Some(_) = recv(&mut int) => break,
            () = stopped(&mut stop) => break,
        }
    }
    let _ = stop_tx.send(true);
    let until = Instant::now() + STOP_WAIT;
    while shared.inflight.load(Ordering::SeqCst) > 0 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let left = shared.inflight.load(Ordering::SeqCst);
    if left > 0 {
        eprintln!("guard: stopped with {left} queries or connections still open");
    }
    eprintln!("guard: stopped: {}", shared.counters.summary());
    let ignored = shared.current().1.upstreams.ignored();
    if ignored > 0 {
        eprintln!("guard: {ignored} upstream answers ignored (unknown id or question, or late)");
    }
    Ok(())
}

/// The next signal of a handler we may not have (then: never).
async fn recv(s: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match s {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

/// The host's stop (a dropped sender stops too); never without a host.
async fn stopped(stop: &mut Option<tokio::sync::oneshot::Receiver<()>>) {
    match stop {
        Some(rx) => {
            let _ = rx.await;
        }
        None => std::future::pending().await,
    }
}

type Fixed = (Vec<SocketAddr>, Option<PathBuf>, Option<u32>);

fn reload(options: &Options, first: &Fixed, shared: &handle::Shared) -> Result<(), GuardError> {
    let config = options.load()?;
    if config.listen != first.0 {
        eprintln!("guard: reload: listening addresses cannot change without a restart; kept");
    }
    if config.db != first.1 || config.retention_days != first.2 {
        eprintln!(
            "guard: reload: the query log and its retention cannot change without a restart; kept"
        );
    }
    let (rules, lists) = load_rules(&config)?;
    let rules = Arc::new(rules);
    if let Some(tap) = &shared.tap {
        tap.publish_rules(Arc::clone(&rules));
    }
    shared.replace(handle::State::new(config, rules));
    eprintln!("guard: reloaded: {lists}");
    Ok(())
}

/// The answer path on `packet` without network, for the fuzz target: parse, ACL, rules, cache,
/// answer building; then the same bytes read as an upstream answer to the query (inspection,
/// CNAME check, caching, re-stamping, truncation). A fixed rule set, no sockets.
#[doc(hidden)]
pub fn fuzz_query(packet: &[u8]) {
    use std::sync::OnceLock;
    static STATE: OnceLock<(handle::State, handle::Counters)> = OnceLock::new();
    let (state, counters) = STATE.get_or_init(|| {
        let mut b = Rules::builder();
        b.add_list(
            b"ads.example.com\n0.0.0.0 tracker.example.net\n||metrics.example.org^\n",
            "fuzz-block",
            rules::ListKind::Block,
        );
        b.add_list(b"good.ads.example.com\n", "fuzz-allow", rules::ListKind::Allow);
        let settings = Settings {
            upstream: vec![config::Addr("127.0.0.1:9".parse().expect("literal"))],
            allow_net: vec!["127.0.0.0/8".parse().expect("literal")],
            rate_limit: Some(1_000_000),
            cache_size: Some(64),
            blocked_answer: Some(BlockedAnswer::Zero),
            ..Settings::default()
        };
        let config = Config::resolve(settings).expect("fixed settings");
        (handle::State::new(config, Arc::new(b.build().0)), handle::Counters::default())
    });
    let mut out = Vec::new();
    let now = Instant::now();
    for client in ["127.0.0.1", "192.0.2.1"] {
        let client = client.parse().expect("literal");
        match handle::local(state, counters, packet, client, now, &mut out) {
            handle::Local::Forward { query, allowlisted } => {
                let mut resp = packet.to_vec();
                resp[2] |= 0x80;
                if let Some(ins) = wire::inspect(&resp, query.question()) {
                    let _ = handle::finish(state, &query, allowlisted, resp, ins, &mut out);
                    wire::truncate(&mut out, query.q_end, query.udp_limit());
                }
            }
            handle::Local::Reply { query, .. } => {
                if let Some(q) = &query {
                    wire::truncate(&mut out, q.q_end, q.udp_limit());
                    assert!(out.len() <= q.udp_limit().max(q.q_end));
                }
                assert!(out.len() >= wire::HEADER && out[..2] == packet[..2] && out[2] & 0x80 != 0);
            }
            handle::Local::Drop => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fuzz entry point on ordinary packets: its own assertions hold.
    #[test]
    fn fuzz_query_on_ordinary_packets() {
        let q = |name: &str, qtype: u8, edns: bool| {
            let mut p = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, u8::from(edns)];
            for l in name.split('.') {
                p.push(l.len() as u8);
                p.extend_from_slice(l.as_bytes());
            }
            p.extend_from_slice(&[0, 0, qtype, 0, 1]);
            if edns {
                p.extend_from_slice(&[0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0]);
            }
            p
        };
        for p in [
            q("ads.example.com", 1, true),
            q("x.ads.example.com", 28, false),
            q("good.ads.example.com", 1, true),
            q("www.example.org", 16, false),
            vec![0; 12],
            vec![0xff; 40],
            Vec::new(),
        ] {
            fuzz_query(&p);
        }
    }
}

#[cfg(test)]
mod spawn_tests {
    use super::*;

    /// A guard in this process: bound before `spawn` returns, blocked queries counted per
    /// client, stopped by its handle (not by a signal), and a bad setting refused at once.
    #[test]
    fn a_spawned_guard_counts_what_it_blocks_and_stops_on_request() {
        let dir =
            std::env::temp_dir().join(format!("phonehome-guard-spawn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let list = dir.join("block.txt");
        std::fs::write(&list, "tracker.example\n").unwrap();
        let settings = |listen: &str| Settings {
            listen: vec![config::Addr(listen.parse().unwrap())],
            upstream: vec![config::Addr("127.0.0.1:9".parse().unwrap())],
            block: vec![list.clone()],
            ..Settings::default()
        };
        let tap = Arc::new(Tap::default());
        let options = Options { config_file: None, cli: settings("127.0.0.1:0") };
        let guard = spawn(options, Some(tap.clone())).unwrap();
        let addr = guard.addrs[0];
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let q = |name: &str| {
            let mut p = vec![0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
            for l in name.split('.') {
                p.push(l.len() as u8);
                p.extend_from_slice(l.as_bytes());
            }
            p.extend_from_slice(&[0, 0, 1, 0, 1]);
            p
        };
        for _ in 0..2 {
            sock.send_to(&q("ads.tracker.example"), addr).unwrap();
            let mut buf = [0u8; 512];
            let (n, _) = sock.recv_from(&mut buf).unwrap();
            assert!(n >= 12 && buf[..2] == [0xab, 0xcd], "an answer to our query");
        }
        // Counted just after the answer went out.
        let until = Instant::now() + Duration::from_secs(3);
        while tap.total() < 2 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        let clients = tap.clients();
        assert_eq!(clients.len(), 1);
        assert_eq!(clients[0].blocked, 2);
        assert_eq!(clients[0].last_name, "ads.tracker.example");
        assert_eq!(tap.total(), 2);
        let started = Instant::now();
        guard.stop().unwrap();
        assert!(started.elapsed() < STOP_WAIT + Duration::from_secs(1));
        // A missing list is an error from `spawn` itself.
        let mut bad = settings("127.0.0.1:0");
        bad.block = vec![dir.join("missing.txt")];
        let e = spawn(Options { config_file: None, cli: bad }, None).unwrap_err();
        assert!(e.to_string().contains("missing.txt"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
