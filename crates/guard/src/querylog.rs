//! The guard's query log: every answered query in SQLite, written off the answer path.
//!
//! Contract:
//! - [`QueryLog::open`] creates or opens the database file (WAL, `synchronous=NORMAL`, schema
//!   version in `PRAGMA user_version`, see [`SCHEMA_VERSION`] and [`SCHEMA`]) and starts one writer
//!   thread. A file written by a newer schema, or an SQLite file that is not a query log, is
//!   refused; every error names the file.
//! - [`LogSender::send`] never blocks and never allocates beyond the record itself: it is a
//!   `try_send` into a bounded channel of [`LogOptions::queue`] records. When the queue is full
//!   (the disk cannot keep up) or the log is closed, the record is dropped and counted
//!   ([`LogSummary::dropped`]). Senders are cheap to clone and usable from any thread or tokio
//!   task.
//! - The writer inserts in one transaction per batch of up to [`LogOptions::batch`] records, or
//!   whatever arrived within [`LogOptions::flush_interval`] of the first record of the batch,
//!   whichever comes first, through one prepared statement.
//! - Pruning runs when the writer starts and then every [`PRUNE_EVERY`]: rows older than
//!   [`LogOptions::retention`] and the oldest rows beyond [`LogOptions::max_rows`] are deleted, at
//!   most [`PRUNE_CHUNK`] rows per round so that a large backlog never stalls the writer (the next
//!   round follows sooner). The row count is kept in memory (one `count(*)` at start when
//!   `max_rows` is set), so pruning costs an index range scan of the rows it deletes.
//! - [`QueryLog::close`] stops accepting records, waits for senders caught mid-`send`, drains the
//!   queue, commits and joins the writer: nothing accepted is lost. Dropping a [`QueryLog`] without
//!   closing it does the same (errors are then ignored). A batch that cannot be written (disk full,
//!   file deleted) is counted in [`LogSummary::failed`]; the writer keeps going and `close` reports
//!   the first such error.
//! - [`stats()`] (read-only, works beside a running writer thanks to WAL) summarises a time window.
//! - The log holds wall-clock times ([`crate::QueryRecord::time_ms`]), not capture times.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags, params};

use crate::QueryRecord;

mod stats;
#[cfg(test)]
mod tests;

pub use stats::{
    ClientStats, NameCount, PartyStats, Stats, StatsQuery, Unattributed, VerdictTotals, stats,
    stats_with,
};

/// The schema version this code writes and reads (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;

/// `PRAGMA application_id` of a query log (`"phgd"`): another SQLite file is not taken for one.
pub const APPLICATION_ID: i64 = 0x7068_6764;

/// The schema (version [`SCHEMA_VERSION`]). `time_ms`: milliseconds since the Unix epoch (wall
/// clock); `client`: the address as text; `verdict`: [`crate::Verdict::as_str`]; `rule`: the rule
/// that blocked the name; `upstream_us`: upstream latency in microseconds, when asked; `tcp`: 0/1.
///
/// Indexes: `time_ms` (every statistics window) and `(client, time_ms)` (one device's queries).
/// There is deliberately no index on `name`: names arrive in random order, so each insert would
/// dirty another leaf page of such an index; it cut the writer from about 110,000 to about
/// 20,000 rows/s. [`stats()`] scans the window by time and groups names in memory. A user who wants
/// fast look-ups by name can add one (`CREATE INDEX queries_name ON queries (name)`); the writer
/// leaves extra indexes alone.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS queries (
    id          INTEGER PRIMARY KEY,
    time_ms     INTEGER NOT NULL,
    client      TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    qtype       INTEGER NOT NULL,
    verdict     TEXT    NOT NULL,
    rule        TEXT,
    rcode       INTEGER NOT NULL,
    upstream_us INTEGER,
    tcp         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS queries_time ON queries (time_ms);
CREATE INDEX IF NOT EXISTS queries_client ON queries (client, time_ms);
";

/// How often the writer prunes old rows.
pub const PRUNE_EVERY: Duration = Duration::from_secs(5);

/// At most this many rows are deleted per pruning round.
pub const PRUNE_CHUNK: u64 = 20_000;

/// How the log is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOptions {
    /// Rows older than this are deleted (`None`: kept for ever). Default 30 days.
    pub retention: Option<Duration>,
    /// At most this many rows are kept, the oldest deleted first (`None`: no cap). Default none.
    pub max_rows: Option<u64>,
    /// At most this many rows per transaction. Default 512.
    pub batch: usize,
    /// A record waits at most this long before its batch is committed. Default 250 ms.
    pub flush_interval: Duration,
    /// Records queued between the senders and the writer; beyond that they are dropped and
    /// counted. Default 65,536.
    pub queue: usize,
}

impl Default for LogOptions {
    fn default() -> Self {
        Self {
            retention: Some(Duration::from_secs(30 * 24 * 3600)),
            max_rows: None,
            batch: 512,
            flush_interval: Duration::from_millis(250),
            queue: 65_536,
        }
    }
}

/// What the log did, from open to close (or so far, from [`QueryLog::counts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LogSummary {
    /// Rows committed.
    pub written: u64,
    /// Records dropped because the queue was full or the log was closed.
    pub dropped: u64,
    /// Rows deleted by retention and `max_rows`.
    pub pruned: u64,
    /// Records lost because their batch could not be written.
    pub failed: u64,
}

/// Why the query log could not be opened, written or read.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// An SQLite call failed.
    #[error("{}: {what}: {source}", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What was being done (`open`, `write`, `read`...).
        what: &'static str,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The file is an SQLite database but not a query log this version can read.
    #[error("{}: {message}", path.display())]
    Schema {
        /// The database file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The writer thread panicked (a bug).
    #[error("{}: the query log writer thread panicked", path.display())]
    WriterPanicked {
        /// The database file.
        path: PathBuf,
    },
    /// The entity file for party attribution could not be loaded.
    #[error("{0}")]
    Entities(#[from] report::attribution::EntitiesError),
}

impl LogError {
    fn sqlite<'p>(path: &'p Path, what: &'static str) -> impl FnOnce(rusqlite::Error) -> Self + 'p {
        move |source| Self::Sqlite { path: path.to_path_buf(), what, source }
    }
}

/// Counters shared by the senders and the writer.
#[derive(Debug, Default)]
struct Shared {
    closed: AtomicBool,
    /// Senders between their `closed` check and their `try_send`.
    in_flight: AtomicUsize,
    written: AtomicU64,
    dropped: AtomicU64,
    pruned: AtomicU64,
    failed: AtomicU64,
}

impl Shared {
    fn summary(&self) -> LogSummary {
        LogSummary {
            written: self.written.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            pruned: self.pruned.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

enum Msg {
    Record(QueryRecord),
    /// Commit what is queued before this message, then answer.
    Flush(mpsc::Sender<()>),
    Stop,
}

/// The handle given to the answer path: [`LogSender::send`] never blocks.
#[derive(Debug, Clone)]
pub struct LogSender {
    tx: SyncSender<Msg>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Record(_) => "Record",
            Self::Flush(_) => "Flush",
            Self::Stop => "Stop",
        })
    }
}

impl LogSender {
    /// Queues `rec` for the writer; drops and counts it when the queue is full or the log closed.
    pub fn send(&self, rec: QueryRecord) {
        let s = &*self.shared;
        s.in_flight.fetch_add(1, Ordering::SeqCst);
        if s.closed.load(Ordering::SeqCst) {
            s.dropped.fetch_add(1, Ordering::Relaxed);
        } else if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.tx.try_send(Msg::Record(rec))
        {
            s.dropped.fetch_add(1, Ordering::Relaxed);
        }
        s.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    /// The counters so far.
    pub fn counts(&self) -> LogSummary {
        self.shared.summary()
    }
}

/// An open query log with its writer thread.
#[derive(Debug)]
pub struct QueryLog {
    path: PathBuf,
    sender: LogSender,
    writer: Option<JoinHandle<Result<(), LogError>>>,
}

impl QueryLog {
    /// Creates or opens the log at `path` and starts the writer thread.
    pub fn open(path: &Path, options: LogOptions) -> Result<Self, LogError> {
        Self::open_with(path, options, PRUNE_EVERY)
    }

    pub(crate) fn open_with(
        path: &Path,
        options: LogOptions,
        prune_every: Duration,
    ) -> Result<Self, LogError> {
        let conn = open_writer(path)?;
        let rows = if options.max_rows.is_some() {
            let n: i64 = conn
                .query_row("SELECT count(*) FROM queries", [], |r| r.get(0))
                .map_err(LogError::sqlite(path, "count rows"))?;
            n.max(0) as u64
        } else {
            0
        };
        let (tx, rx) = mpsc::sync_channel(options.queue.max(1));
        let shared = Arc::new(Shared::default());
        let mut writer = Writer {
            path: path.to_path_buf(),
            conn,
            options,
            shared: Arc::clone(&shared),
            rows,
            first_error: None,
            prune_every,
        };
        let handle = std::thread::Builder::new()
            .name("guard-querylog".into())
            .spawn(move || writer.run(&rx))
            .map_err(|e| LogError::Schema {
                path: path.to_path_buf(),
                message: format!("cannot start the writer thread: {e}"),
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            sender: LogSender { tx, shared },
            writer: Some(handle),
        })
    }

    /// A sender for the answer path.
    pub fn sender(&self) -> LogSender {
        self.sender.clone()
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The counters so far.
    pub fn counts(&self) -> LogSummary {
        self.sender.counts()
    }

    /// Blocks until every record queued before this call is committed (for tests and for a clean
    /// point-in-time view; the answer path never needs it).
    pub fn flush(&self) {
        let (tx, rx) = mpsc::channel();
        if self.sender.tx.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.recv();
        }
    }

    /// Stops accepting records, writes everything queued, joins the writer and returns the
    /// counters. The error, if any, is the first batch that could not be written.
    pub fn close(mut self) -> Result<LogSummary, LogError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<LogSummary, LogError> {
        let Some(handle) = self.writer.take() else {
            return Ok(self.counts());
        };
        let s = &*self.sender.shared;
        s.closed.store(true, Ordering::SeqCst);
        // A sender that saw `closed == false` is about to `try_send`: let it finish, so that its
        // record is queued before `Stop`.
        while s.in_flight.load(Ordering::SeqCst) != 0 {
            std::thread::yield_now();
        }
        let _ = self.sender.tx.send(Msg::Stop);
        let result = match handle.join() {
            Ok(r) => r,
            Err(_) => Err(LogError::WriterPanicked { path: self.path.clone() }),
        };
        result.map(|()| self.counts())
    }
}

impl Drop for QueryLog {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Opens (creating if needed) the database for writing and checks or installs the schema.
fn open_writer(path: &Path) -> Result<Connection, LogError> {
    let conn = Connection::open(path).map_err(LogError::sqlite(path, "open"))?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(LogError::sqlite(path, "open"))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(LogError::sqlite(path, "set WAL mode"))?;
    if !mode.eq_ignore_ascii_case("wal") && !mode.eq_ignore_ascii_case("memory") {
        return Err(LogError::Schema {
            path: path.into(),
            message: format!("cannot switch to WAL mode (journal_mode is {mode})"),
        });
    }
    conn.execute_batch("PRAGMA synchronous=NORMAL; PRAGMA cache_size=-16384;")
        .map_err(LogError::sqlite(path, "set synchronous"))?;
    let version = user_version(&conn, path)?;
    if version == 0 {
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'table'", [], |r| r.get(0))
            .map_err(LogError::sqlite(path, "read schema"))?;
        if tables != 0 {
            return Err(LogError::Schema {
                path: path.into(),
                message: "an SQLite database, but not a phonehome query log".into(),
            });
        }
        let ddl = format!(
            "BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; \
             PRAGMA application_id = {APPLICATION_ID}; COMMIT;"
        );
        conn.execute_batch(&ddl).map_err(LogError::sqlite(path, "create schema"))?;
    } else {
        check_schema(&conn, path, version)?;
    }
    Ok(conn)
}

/// Opens an existing log read-only (for [`stats`]); never creates the file.
pub(crate) fn open_reader(path: &Path) -> Result<Connection, LogError> {
    if let Err(e) = std::fs::metadata(path) {
        return Err(LogError::Schema { path: path.into(), message: e.to_string() });
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(LogError::sqlite(path, "open"))?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(LogError::sqlite(path, "open"))?;
    let version = user_version(&conn, path)?;
    if version == 0 {
        return Err(LogError::Schema {
            path: path.into(),
            message: "not a phonehome query log (no schema version)".into(),
        });
    }
    check_schema(&conn, path, version)?;
    Ok(conn)
}

fn user_version(conn: &Connection, path: &Path) -> Result<i64, LogError> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|source| match source {
        rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::NotADatabase => {
            LogError::Schema { path: path.into(), message: "not an SQLite database".into() }
        }
        source => LogError::Sqlite { path: path.into(), what: "read schema version", source },
    })
}

fn check_schema(conn: &Connection, path: &Path, version: i64) -> Result<(), LogError> {
    let app: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(LogError::sqlite(path, "read application id"))?;
    if app != APPLICATION_ID {
        return Err(LogError::Schema {
            path: path.into(),
            message: "an SQLite database, but not a phonehome query log".into(),
        });
    }
    if version > SCHEMA_VERSION {
        return Err(LogError::Schema {
            path: path.into(),
            message: format!(
                "query log schema version {version} is newer than this phonehome reads \
                 ({SCHEMA_VERSION})"
            ),
        });
    }
    Ok(())
}

/// Milliseconds since the Unix epoch, now (wall clock).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

const INSERT: &str = "INSERT INTO queries \
    (time_ms, client, name, qtype, verdict, rule, rcode, upstream_us, tcp) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

/// The writer thread's state.
struct Writer {
    path: PathBuf,
    conn: Connection,
    options: LogOptions,
    shared: Arc<Shared>,
    /// Rows in the table (tracked only when `max_rows` is set).
    rows: u64,
    first_error: Option<LogError>,
    prune_every: Duration,
}

impl Writer {
    fn run(&mut self, rx: &Receiver<Msg>) -> Result<(), LogError> {
        let batch_max = self.options.batch.max(1);
        let mut batch: Vec<QueryRecord> = Vec::with_capacity(batch_max);
        let mut batch_started = Instant::now();
        let mut next_prune = Instant::now();
        loop {
            let now = Instant::now();
            if now >= next_prune {
                let full = self.prune();
                next_prune =
                    Instant::now() + if full { self.prune_every / 20 } else { self.prune_every };
            }
            let deadline = if batch.is_empty() {
                next_prune
            } else {
                (batch_started + self.options.flush_interval).min(next_prune)
            };
            let msg = rx.recv_timeout(deadline.saturating_duration_since(Instant::now()));
            match msg {
                Ok(Msg::Record(r)) => {
                    if batch.is_empty() {
                        batch_started = Instant::now();
                    }
                    batch.push(r);
                    // Take whatever else is already queued without waiting.
                    while batch.len() < batch_max {
                        match rx.try_recv() {
                            Ok(Msg::Record(r)) => batch.push(r),
                            Ok(other) => {
                                self.write(&mut batch);
                                if self.control(other, rx, &mut batch) {
                                    return self.finish();
                                }
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    if batch.len() >= batch_max
                        || batch_started.elapsed() >= self.options.flush_interval
                    {
                        self.write(&mut batch);
                    }
                }
                Ok(other) => {
                    self.write(&mut batch);
                    if self.control(other, rx, &mut batch) {
                        return self.finish();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    if !batch.is_empty() && batch_started.elapsed() >= self.options.flush_interval {
                        self.write(&mut batch);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.write(&mut batch);
                    return self.finish();
                }
            }
        }
    }

    /// Handles a flush or stop message (the batch is already written). True to stop.
    fn control(&mut self, msg: Msg, rx: &Receiver<Msg>, batch: &mut Vec<QueryRecord>) -> bool {
        match msg {
            Msg::Flush(done) => {
                let _ = done.send(());
                false
            }
            Msg::Stop => {
                // Senders stopped before `Stop` was queued: drain what is left.
                let batch_max = self.options.batch.max(1);
                while let Ok(m) = rx.try_recv() {
                    match m {
                        Msg::Record(r) => {
                            batch.push(r);
                            if batch.len() >= batch_max {
                                self.write(batch);
                            }
                        }
                        Msg::Flush(done) => {
                            self.write(batch);
                            let _ = done.send(());
                        }
                        Msg::Stop => {}
                    }
                }
                self.write(batch);
                true
            }
            Msg::Record(_) => false,
        }
    }

    fn finish(&mut self) -> Result<(), LogError> {
        self.prune();
        match self.first_error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Commits `batch` in one transaction and empties it.
    fn write(&mut self, batch: &mut Vec<QueryRecord>) {
        if batch.is_empty() {
            return;
        }
        let n = batch.len() as u64;
        match insert_batch(&mut self.conn, batch) {
            Ok(()) => {
                self.shared.written.fetch_add(n, Ordering::Relaxed);
                self.rows += n;
            }
            Err(source) => {
                self.shared.failed.fetch_add(n, Ordering::Relaxed);
                self.note_error("write", source);
            }
        }
        batch.clear();
    }

    fn note_error(&mut self, what: &'static str, source: rusqlite::Error) {
        if self.first_error.is_none() {
            self.first_error = Some(LogError::Sqlite { path: self.path.clone(), what, source });
        }
    }

    /// One pruning round. True when a limit was hit and more rows may be due.
    fn prune(&mut self) -> bool {
        let mut more = false;
        if let Some(retention) = self.options.retention {
            let cutoff =
                now_ms().saturating_sub(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX));
            match self.conn.execute(
                "DELETE FROM queries WHERE id IN \
                 (SELECT id FROM queries WHERE time_ms < ?1 LIMIT ?2)",
                params![cutoff, PRUNE_CHUNK as i64],
            ) {
                Ok(n) => {
                    more |= n as u64 >= PRUNE_CHUNK;
                    self.pruned(n as u64);
                }
                Err(e) => self.note_error("prune", e),
            }
        }
        if let Some(max) = self.options.max_rows
            && self.rows > max
        {
            let excess = (self.rows - max).min(PRUNE_CHUNK);
            match self.conn.execute(
                "DELETE FROM queries WHERE id IN (SELECT id FROM queries ORDER BY id LIMIT ?1)",
                params![excess as i64],
            ) {
                Ok(n) => {
                    self.pruned(n as u64);
                    more |= self.rows > max;
                }
                Err(e) => self.note_error("prune", e),
            }
        }
        more
    }

    fn pruned(&mut self, n: u64) {
        self.rows = self.rows.saturating_sub(n);
        self.shared.pruned.fetch_add(n, Ordering::Relaxed);
    }
}

fn insert_batch(conn: &mut Connection, batch: &[QueryRecord]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(INSERT)?;
        let mut client = String::with_capacity(48);
        for r in batch {
            use std::fmt::Write;
            client.clear();
            let _ = write!(client, "{}", r.client);
            stmt.execute(params![
                r.time_ms,
                client,
                r.name,
                i64::from(r.qtype),
                r.verdict.as_str(),
                r.rule,
                i64::from(r.rcode),
                r.upstream_us.map(i64::from),
                r.tcp,
            ])?;
        }
    }
    tx.commit()
}
