//! Reading the captures of one run: open each, feed the pipeline, report per-file problems, and
//! describe each file for the report (SHA-256, packets, time span, warnings).
//!
//! The SHA-256 is computed from the same bytes the reader consumes, on a second thread (the bytes
//! are copied to it through a bounded channel), so hashing costs no second read of the capture and
//! little of the analysis core. SHA-256 (about 1.2 GB/s here, with SHA-NI) is slower than the
//! analysis of a phone-like capture, so on large captures the hash sets the pace; `analyze
//! --no-hash` skips it. (Hashing the file from a second handle instead measured slower: 1.00 s
//! against 0.88 s per GiB.) If reading stops early (a corrupt record), the rest of the file is
//! hashed afterwards so the hash is always that of the whole file (`sha256sum` agrees).
//! A progress bar is drawn on standard error when it is a terminal and the captures are large.

use std::io::Read;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use capture::CaptureReader;
use pipeline::{Config, Observer, Pipeline, Stats};
use report::CaptureInfo;
use sha2::{Digest, Sha256};

/// Captures at least this large (in all) get a progress bar (when standard error is a terminal).
const PROGRESS_MIN_BYTES: u64 = 64 << 20;
/// Read buffers queued for the hashing thread at most.
const HASH_QUEUE: usize = 16;

/// Largest key log file read.
const MAX_KEYLOG_LEN: u64 = 1 << 30;
/// Malformed key log lines printed per file (the rest are counted).
const KEYLOG_ERRORS_SHOWN: usize = 5;

/// What [`run_captures_with`] calls ahead of every frame.
pub(crate) type Before<'a, O> =
    dyn FnMut(&mut Pipeline<O>, &[CaptureInfo], capture::Timestamp) -> ControlFlow<()> + 'a;

/// Outcome of reading every capture of a run.
pub(crate) struct RunOutcome<O> {
    /// The observer, with what it gathered.
    pub(crate) observer: O,
    /// Counters of the run.
    pub(crate) stats: Stats,
    /// True if any capture could not be read completely (exit code 2).
    pub(crate) errored: bool,
    /// One entry per capture, in order.
    pub(crate) captures: Vec<CaptureInfo>,
    /// TLS secrets read, from key log files and Decryption Secrets Blocks.
    pub(crate) secrets: u64,
}

/// What to do beside analysing.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunOptions {
    /// Compute each file's SHA-256.
    pub(crate) hash: bool,
    /// Leave HTTP response bodies as sent (no inflation) when nothing reads them.
    pub(crate) keep_responses_coded: bool,
    /// TLS key logs to read before the captures.
    pub(crate) keylogs: Vec<std::path::PathBuf>,
}

/// The first `limit` bytes of a file (one more than a size limit tells a file over it).
fn read_at_most(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    std::fs::File::open(path)?.take(limit).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Reads the key logs into the pipeline's store. Problems (a file that cannot be read, malformed
/// lines) are printed with the file and line; true if there was any (exit code 2). Returns the
/// secrets taken too.
pub(crate) fn load_keylogs(paths: &[std::path::PathBuf], keys: &mut proto::KeyLog) -> (bool, u64) {
    let mut errored = false;
    let mut secrets = 0u64;
    for path in paths {
        let shown = path.display();
        let text = match read_at_most(path, MAX_KEYLOG_LEN + 1) {
            Ok(t) if t.len() as u64 > MAX_KEYLOG_LEN => {
                eprintln!(
                    "phonehome: {shown}: key log larger than {MAX_KEYLOG_LEN} bytes; not read"
                );
                errored = true;
                continue;
            }
            Ok(t) => t,
            Err(e) => {
                eprintln!("phonehome: {shown}: cannot read the key log: {e}");
                errored = true;
                continue;
            }
        };
        let sum = keys.read(&text);
        secrets += sum.secrets as u64;
        for e in sum.errors.iter().take(KEYLOG_ERRORS_SHOWN) {
            eprintln!("phonehome: {shown}: {e}");
        }
        if sum.error_count > KEYLOG_ERRORS_SHOWN {
            eprintln!(
                "phonehome: {shown}: {} more malformed lines",
                sum.error_count - KEYLOG_ERRORS_SHOWN
            );
        }
        if sum.error_count > 0 {
            errored = true;
        }
        if sum.secrets == 0 && sum.error_count == 0 {
            eprintln!("phonehome: warning: {shown}: no TLS secrets in this key log");
        }
    }
    if keys.capped() > 0 {
        eprintln!(
            "phonehome: warning: more than {} TLS connections in the key logs; {} secrets dropped",
            proto::tls::keylog::MAX_KEYS,
            keys.capped()
        );
    }
    (errored, secrets)
}

/// A reader that counts what passes (for the progress bar) and hands a copy to the hasher.
struct Tap<R> {
    inner: R,
    read: Arc<AtomicU64>,
    hash: Option<SyncSender<Vec<u8>>>,
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(tx) = &self.hash
            && n > 0
            && tx.send(buf[..n].to_vec()).is_err()
        {
            self.hash = None;
        }
        Ok(n)
    }
}

fn hasher_thread(rx: Receiver<Vec<u8>>) -> JoinHandle<(Sha256, u64)> {
    std::thread::spawn(move || {
        let mut h = Sha256::new();
        let mut n = 0u64;
        for buf in rx {
            h.update(&buf);
            n += buf.len() as u64;
        }
        (h, n)
    })
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The SHA-256 of a whole file, hex; `None` when it cannot be read.
pub(crate) fn sha256_of(path: &Path) -> Option<String> {
    let mut h = Sha256::new();
    hash_rest(path, 0, &mut h).ok()?;
    Some(hex(&h.finalize()))
}

/// Hashes what of `path` lies past `from` (after reading stopped early), into `h`.
fn hash_rest(path: &Path, from: u64, h: &mut Sha256) -> std::io::Result<u64> {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    f.seek(SeekFrom::Start(from))?;
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            return Ok(n);
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
}

fn progress_bar(paths: &[impl AsRef<Path>]) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let total: u64 =
        paths.iter().filter_map(|p| std::fs::metadata(p.as_ref()).ok()).map(|m| m.len()).sum();
    if total < PROGRESS_MIN_BYTES {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr_with_hz(8),
    );
    let style = indicatif::ProgressStyle::with_template(
        "{prefix} [{wide_bar}] {bytes}/{total_bytes} {eta}",
    )
    .map(|s| s.progress_chars("=> "));
    if let Ok(style) = style {
        bar.set_style(style);
    }
    bar.set_prefix("reading");
    Some(bar)
}

/// Runs the pipeline over `paths` in order. Errors name the file and the byte offset; what could be
/// read before an error is still processed and reported.
pub(crate) fn run_captures<O: Observer>(
    paths: &[impl AsRef<Path>],
    observer: O,
    options: RunOptions,
) -> RunOutcome<O> {
    run_captures_with(paths, observer, options, &mut |_, _, _| ControlFlow::Continue(()))
}

/// [`run_captures`], calling `before` ahead of every frame with the pipeline, the captures read
/// so far and the frame's timestamp (a live view's snapshots and pacing: `watch --replay`). When
/// it breaks, the capture being read is marked as stopped early and the captures after it are
/// not read.
pub(crate) fn run_captures_with<O: Observer>(
    paths: &[impl AsRef<Path>],
    observer: O,
    options: RunOptions,
    before: &mut Before<'_, O>,
) -> RunOutcome<O> {
    let config = Config {
        session: proto::SessionOptions { decode_responses: !options.keep_responses_coded },
        ..Config::default()
    };
    let mut pipeline = Pipeline::new(config, observer);
    let (mut errored, mut secrets) = load_keylogs(&options.keylogs, pipeline.keys_mut());
    let mut captures = Vec::with_capacity(paths.len());
    let bar = progress_bar(paths);
    let mut done_before = 0u64;
    let mut stopped = false;
    for (index, path) in paths.iter().enumerate() {
        let path = path.as_ref();
        let shown = path.display();
        if let Some(kind) = sniff_archive(path) {
            let (info, failed) = run_archive(&mut pipeline, index, path, kind, options.hash);
            errored |= failed;
            done_before += info.size;
            captures.push(info);
            continue;
        }
        let mut info = CaptureInfo { path: shown.to_string(), ..CaptureInfo::default() };
        let read = Arc::new(AtomicU64::new(0));
        let (tx, hasher) = if options.hash {
            let (tx, rx) = sync_channel(HASH_QUEUE);
            (Some(tx), Some(hasher_thread(rx)))
        } else {
            (None, None)
        };
        let opened: Result<Box<dyn Read + Send>, std::io::Error> = if path.as_os_str() == "-" {
            Ok(Box::new(std::io::stdin()))
        } else {
            std::fs::File::open(path).map(|f| {
                info.size = f.metadata().map_or(0, |m| m.len());
                Box::new(f) as Box<dyn Read + Send>
            })
        };
        let result = opened.map_err(capture::CaptureError::from).and_then(|inner| {
            CaptureReader::from_read(Tap { inner, read: read.clone(), hash: tx })
        });
        match result {
            Err(e) => {
                eprintln!("phonehome: {shown}: {e}");
                info.error = Some(e.to_string());
                errored = true;
            }
            Ok(mut reader) => {
                info.format = Some(reader.format().as_str());
                info.compression = Some(reader.compression().as_str());
                let ticker = bar.as_ref().map(|bar| {
                    let (bar, read) = (bar.clone(), read.clone());
                    Ticker::start(move || {
                        bar.set_position(done_before + read.load(Ordering::Relaxed));
                    })
                });
                let result =
                    pipeline.run_with(index, &mut reader, |p, ts| before(p, &captures, ts));
                if let Some(t) = ticker {
                    t.stop();
                }
                info.packets = reader.stats().frames;
                if let Some((first, last)) = pipeline.last_run_span() {
                    info.first_packet = Some(first);
                    info.last_packet = Some(last);
                }
                for w in reader.warnings() {
                    eprintln!(
                        "phonehome: warning: {shown}: at byte offset {}: {}",
                        w.offset, w.message
                    );
                    info.warnings.push(format!("at byte offset {}: {}", w.offset, w.message));
                }
                match result {
                    Err(e) => {
                        eprintln!("phonehome: {shown}: {e}");
                        info.error = Some(e.to_string());
                        errored = true;
                    }
                    Ok(true) => {
                        info.error = Some(format!(
                            "stopped on request after {} packets; the rest was not read",
                            info.packets
                        ));
                        stopped = true;
                    }
                    Ok(false) => {}
                }
                // Dropping the reader closes the hashing channel.
            }
        }
        if let Some(hasher) = hasher
            && let Ok((mut h, n)) = hasher.join()
        {
            let complete = path.as_os_str() == "-"
                || n >= info.size
                || hash_rest(path, n, &mut h).is_ok_and(|k| n + k == info.size);
            if complete && info.size.max(n) > 0 {
                info.sha256 = Some(hex(&h.finalize()));
            }
            if path.as_os_str() == "-" {
                info.size = n;
            }
        }
        done_before += read.load(Ordering::Relaxed);
        captures.push(info);
        if stopped {
            break;
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let (observer, stats) = pipeline.finish();
    secrets += stats.secrets_from_blocks;
    if stats.secrets_bad_lines > 0 {
        eprintln!(
            "phonehome: warning: {} malformed key log lines in Decryption Secrets Blocks",
            stats.secrets_bad_lines
        );
    }
    RunOutcome { observer, stats, errored, captures, secrets }
}

/// The archive kind of a file (HAR, mitmproxy flow dump) from its first bytes; `None` for
/// captures, standard input and files that cannot be opened (the capture reader reports those).
fn sniff_archive(path: &Path) -> Option<archive::Kind> {
    if path.as_os_str() == "-" {
        return None;
    }
    archive::sniff(&read_at_most(path, 64).ok()?)
}

/// Reads an archive into the pipeline as input `index`: its description for the report, and true
/// when it could not be read or had broken entries (printed with the file and entry).
fn run_archive<O: Observer>(
    pipeline: &mut Pipeline<O>,
    index: usize,
    path: &Path,
    kind: archive::Kind,
    hash: bool,
) -> (CaptureInfo, bool) {
    let shown = path.display();
    let mut info = CaptureInfo {
        path: shown.to_string(),
        format: Some(kind.as_str()),
        compression: Some("none"),
        ..CaptureInfo::default()
    };
    let data = match read_at_most(path, archive::MAX_ARCHIVE_LEN + 1) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("phonehome: {shown}: cannot read: {e}");
            info.error = Some(format!("cannot read: {e}"));
            return (info, true);
        }
    };
    info.size = std::fs::metadata(path).map_or(data.len() as u64, |m| m.len());
    if hash && (data.len() as u64) <= archive::MAX_ARCHIVE_LEN {
        info.sha256 = Some(hex(&Sha256::digest(&data)));
    }
    let read = match archive::read(kind, &data) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("phonehome: {shown}: {e}");
            info.error = Some(e.to_string());
            return (info, true);
        }
    };
    drop(data);
    for (entry, why) in &read.errors {
        eprintln!("phonehome: {shown}: entry {entry}: {why}; skipped");
        info.warnings.push(format!("entry {entry}: {why}; skipped"));
    }
    if read.error_count > read.errors.len() as u64 {
        eprintln!(
            "phonehome: {shown}: {} more broken entries",
            read.error_count - read.errors.len() as u64
        );
    }
    let failed = read.error_count > 0;
    info.packets = read.exchanges.len() as u64;
    pipeline.run_archive(index, read);
    if let Some((first, last)) = pipeline.last_run_span() {
        info.first_packet = Some(first);
        info.last_packet = Some(last);
    }
    (info, failed)
}

/// Calls a function every 100 ms on a thread until stopped.
struct Ticker {
    stop: Arc<std::sync::atomic::AtomicBool>,
    handle: JoinHandle<()>,
}

impl Ticker {
    fn start(tick: impl Fn() + Send + 'static) -> Self {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                tick();
                std::thread::park_timeout(std::time::Duration::from_millis(100));
            }
            tick();
        });
        Self { stop, handle }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.thread().unpark();
        let _ = self.handle.join();
    }
}

/// Prints the run's counters, then `extra` ones (a later stage's), on standard error, one
/// `name value` per line; zero counters are left out, except the first of each stage so every
/// stage shows it ran.
pub(crate) fn print_stats(stats: &Stats, extra: Vec<(String, u64)>) {
    let mut counters = stats.counters();
    counters.extend(extra);
    let width = counters.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    eprintln!("phonehome: stats");
    let mut last_stage = "";
    for (name, value) in &counters {
        let stage = name.split('.').next().unwrap_or("");
        if *value != 0 || stage != last_stage {
            eprintln!("  {name:<width$}  {value}");
        }
        last_stage = stage;
    }
}
