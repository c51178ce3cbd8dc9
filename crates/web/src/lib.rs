//! The live view's web server (`phonehome watch --web ADDR`).
//!
//! Contract:
//! - [`Server::start`] binds at once (a bad or busy address is an error before the capture
//!   starts), then serves on a thread of its own with a single-threaded tokio runtime and axum:
//!   the analysis stays synchronous, and the only crossing is [`Server::publish`], a
//!   `tokio::sync::watch` channel in which the latest snapshot replaces the previous one, so a
//!   slow browser never slows the capture.
//! - Routes: `GET /` the page (`render::live::page`, with its Content-Security-Policy header);
//!   `GET /events` server-sent events, each a `state` event carrying the whole state (the current
//!   one at once, then every new one; a comment every 15 s keeps proxies from closing the
//!   stream); `GET /state.json` the current state; `GET /report.html` the self-contained HTML
//!   report of the current snapshot (the same page `analyze -o report.html` writes), as a
//!   download. Anything else is 404.
//! - Access: with a token, every request must carry it (`?token=` or `Authorization: Bearer`),
//!   else 401. Without one, which the caller allows on loopback addresses only
//!   ([`needs_token`]), the `Host` header must name the loopback address the server is on, else
//!   403: a web page elsewhere cannot read the view through DNS rebinding.
//! - Limits: [`MAX_STREAMS`] event streams at once (beyond: 503). Every response says
//!   `Cache-Control: no-store` (the view is personal data), `X-Content-Type-Options: nosniff`
//!   and `Referrer-Policy: no-referrer`.
//! - [`Server::stop`] ends the event streams, lets responses in flight finish (at most
//!   [`STOP_WAIT`]) and joins the thread.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::{oneshot, watch};

/// Event streams served at once.
pub const MAX_STREAMS: usize = 32;
/// The longest [`Server::stop`] waits for responses in flight.
pub const STOP_WAIT: Duration = Duration::from_secs(2);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The address could not be bound.
    #[error("--web {addr}: cannot listen: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The runtime or its thread could not start.
    #[error("the live view's server could not start: {0}")]
    Io(#[from] std::io::Error),
}

/// What the page shows, as of one refresh.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The page's state (JSON, `render::live::page::state`).
    pub state: String,
    /// The report it was made from (for `/report.html`).
    pub report: report::Report,
}

struct Shared {
    token: Option<String>,
    /// `Host` values accepted without a token.
    hosts: Vec<String>,
    rx: watch::Receiver<Arc<Snapshot>>,
    streams: AtomicUsize,
    page: String,
    csp: HeaderValue,
}

/// The running server (see the module doc).
pub struct Server {
    tx: Option<watch::Sender<Arc<Snapshot>>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    addr: SocketAddr,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish_non_exhaustive()
    }
}

/// True when serving on `addr` needs a token: any address but a loopback one.
pub fn needs_token(addr: &SocketAddr) -> bool {
    !addr.ip().is_loopback()
}

/// A fresh random token (128 bits from the system's generator, hex).
pub fn random_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Server {
    /// Binds `addr` and starts serving (see the module doc); `token` guards every request.
    pub fn start(addr: SocketAddr, token: Option<String>) -> Result<Self, WebError> {
        let listener =
            std::net::TcpListener::bind(addr).map_err(|source| WebError::Bind { addr, source })?;
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        let (tx, rx) = watch::channel(Arc::new(Snapshot::default()));
        let port = local.port();
        let mut hosts = vec![local.to_string(), format!("localhost:{port}")];
        if port == 80 {
            hosts.extend([local.ip().to_string(), "localhost".to_string()]);
            if local.is_ipv6() {
                hosts.push(format!("[{}]", local.ip()));
            }
        }
        let csp = HeaderValue::from_str(&render::live::page::csp())
            .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
        let shared = Arc::new(Shared {
            token,
            hosts,
            rx,
            streams: AtomicUsize::new(0),
            page: render::live::page::html(),
            csp,
        });
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let thread = std::thread::Builder::new().name("web".into()).spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
                let app = Router::new()
                    .route("/", get(page))
                    .route("/events", get(events))
                    .route("/state.json", get(state))
                    .route("/report.html", get(report_page))
                    .fallback(not_found)
                    .with_state(shared);
                // At the stop: no new connections, and at most STOP_WAIT for the others.
                let stopping = Arc::new(tokio::sync::Notify::new());
                let notify = stopping.clone();
                let served = axum::serve(listener, app).with_graceful_shutdown(async move {
                    let _ = stop_rx.await;
                    notify.notify_one();
                });
                tokio::select! {
                    _ = served => {}
                    () = async {
                        stopping.notified().await;
                        tokio::time::sleep(STOP_WAIT).await;
                    } => {}
                }
            });
            runtime.shutdown_timeout(STOP_WAIT);
        })?;
        Ok(Self { tx: Some(tx), stop: Some(stop_tx), thread: Some(thread), addr: local })
    }

    /// The address it listens on (the port chosen, for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Shows `snapshot` from now on: open pages get it at once.
    pub fn publish(&self, snapshot: Snapshot) {
        if let Some(tx) = &self.tx {
            tx.send_replace(Arc::new(snapshot));
        }
    }

    /// Ends the event streams and the server (see the module doc).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        // Dropping the sender ends every event stream; then the server stops accepting.
        self.tx = None;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

type St = axum::extract::State<Arc<Shared>>;

/// `%XX` decoded (a token typed or pasted into a URL).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn given_token(uri: &Uri, headers: &HeaderMap) -> Option<String> {
    let from_query = uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("token=")).map(percent_decode));
    from_query.or_else(|| {
        let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        auth.strip_prefix("Bearer ").map(|t| t.trim().to_string())
    })
}

/// Equal, in time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn refuse(status: StatusCode, why: &'static str) -> Response {
    let mut r = (status, why).into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    private(r)
}

/// The refusal of a request that lacks the token, or names another host; `None`: allowed.
fn refused(shared: &Shared, uri: &Uri, headers: &HeaderMap) -> Option<Response> {
    if let Some(token) = &shared.token {
        return match given_token(uri, headers) {
            Some(t) if same(t.as_bytes(), token.as_bytes()) => None,
            _ => Some(refuse(
                StatusCode::UNAUTHORIZED,
                "401: this live view needs its token: open the address phonehome printed \
                 (.../?token=...)\n",
            )),
        };
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if shared.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        None
    } else {
        Some(refuse(StatusCode::FORBIDDEN, "403: not the address this live view listens on\n"))
    }
}

/// The headers every response gets.
fn private(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    r
}

async fn page(axum::extract::State(s): St, uri: Uri, headers: HeaderMap) -> Response {
    if let Some(r) = refused(&s, &uri, &headers) {
        return r;
    }
    let mut r =
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], s.page.clone()).into_response();
    r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, s.csp.clone());
    r.headers_mut().insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    private(r)
}

async fn state(axum::extract::State(s): St, uri: Uri, headers: HeaderMap) -> Response {
    if let Some(r) = refused(&s, &uri, &headers) {
        return r;
    }
    let snap = s.rx.borrow().clone();
    private(([(header::CONTENT_TYPE, "application/json")], snap.state.clone()).into_response())
}

async fn report_page(axum::extract::State(s): St, uri: Uri, headers: HeaderMap) -> Response {
    if let Some(r) = refused(&s, &uri, &headers) {
        return r;
    }
    let snap = s.rx.borrow().clone();
    let html = render::html::html(&snap.report);
    private(
        (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"phonehome-report.html\""),
            ],
            html,
        )
            .into_response(),
    )
}

async fn not_found(axum::extract::State(s): St, uri: Uri, headers: HeaderMap) -> Response {
    if let Some(r) = refused(&s, &uri, &headers) {
        return r;
    }
    refuse(StatusCode::NOT_FOUND, "404\n")
}

/// Counts an event stream while it lives.
struct StreamSlot(Arc<Shared>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.streams.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn events(axum::extract::State(s): St, uri: Uri, headers: HeaderMap) -> Response {
    if let Some(r) = refused(&s, &uri, &headers) {
        return r;
    }
    if s.streams.fetch_add(1, Ordering::SeqCst) >= MAX_STREAMS {
        s.streams.fetch_sub(1, Ordering::SeqCst);
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "503: too many live views open\n");
    }
    let slot = StreamSlot(s.clone());
    let rx = s.rx.clone();
    let stream =
        futures_util::stream::unfold((rx, slot, true), |(mut rx, slot, first)| async move {
            if !first && rx.changed().await.is_err() {
                // The session ended: the stream ends with it.
                return None;
            }
            let snap = rx.borrow_and_update().clone();
            let event = Event::default().event("state").data(snap.state.as_str());
            Some((Ok::<_, Infallible>(event), (rx, slot, false)))
        });
    let sse = Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    private(sse.into_response())
}

#[cfg(test)]
mod tests;
