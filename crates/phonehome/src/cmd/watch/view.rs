//! The views of a live session: a screen redrawn in place (standard output is a terminal), plain
//! lines (it is not), or JSON lines (`--jsonl`); each refresh turns a snapshot of the report into
//! one of them.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pipeline::Pipeline;
use pipeline::time::rfc3339;
use render::live::page::Blocked;
use render::live::{Changes, change_line, change_text, counters_line, end_line, start_line};
use render::text::Style;
use render::text::live::{Status, screen};
use report::{Analyzer, CaptureInfo, Device, Report};

use super::MAX_LIVE_OPEN;
use crate::cli::{ColorChoice, SessionArgs};
use crate::cmd::analyze::{Data, terminal_width};

/// An open flow without a name shows in the live view after this much capture time.
const UNNAMED_AFTER_NS: i64 = 5_000_000_000;

/// How often the JSON lines and plain lines get a counters line.
const COUNTERS_EVERY: Duration = Duration::from_secs(10);

/// Where a session shows itself.
pub(crate) enum View {
    /// Redrawn in place (alternate screen), coloured as asked.
    Screen { color: bool },
    /// One line per change.
    Lines,
    /// One JSON object per line.
    Jsonl,
}

impl View {
    /// JSON lines when asked; else a screen on a terminal, plain lines elsewhere.
    pub(crate) fn choose(args: &SessionArgs) -> Self {
        if args.jsonl {
            return Self::Jsonl;
        }
        if !std::io::stdout().is_terminal() {
            return Self::Lines;
        }
        let color = match args.report.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::env::var_os("NO_COLOR").is_none(),
        };
        Self::Screen { color }
    }
}

/// A session's views and their state.
pub(crate) struct Live<'a> {
    data: &'a Data,
    device: Option<Device>,
    view: View,
    refresh: Duration,
    next_refresh: Instant,
    next_counters: Instant,
    started: Instant,
    stop: Arc<AtomicBool>,
    /// What the session is doing (the source fills in what it knows: drops, the file written).
    pub(crate) status: Status,
    changes: Changes,
    screen_open: bool,
    started_stream: bool,
    time: Option<String>,
    /// The browser view, when `--web` serves one.
    web: Option<web::Server>,
    /// What the DNS guard alongside blocked, when it runs.
    pub(crate) tap: Option<Arc<guard::server::Tap>>,
    /// Connections a gateway refused since the last refresh (verdict log objects), streamed
    /// by the line views.
    pub(crate) verdicts: Vec<serde_json::Value>,
    /// A gateway's refusals so far (the first [`report::MAX_REFUSED_KEPT`]) and their count, for
    /// the snapshots.
    pub(crate) refused: (Vec<report::RefusedConnection>, u64),
}

impl<'a> Live<'a> {
    pub(crate) fn new(
        data: &'a Data,
        device: Option<Device>,
        view: View,
        args: &SessionArgs,
        stop: Arc<AtomicBool>,
        web: Option<web::Server>,
    ) -> Self {
        let now = Instant::now();
        let refresh = Duration::from_secs_f64(args.refresh);
        Self {
            data,
            device,
            view,
            refresh,
            next_refresh: now,
            next_counters: now + COUNTERS_EVERY,
            started: now,
            stop,
            status: Status::default(),
            changes: Changes::default(),
            screen_open: false,
            started_stream: false,
            time: None,
            web,
            tap: None,
            verdicts: Vec::new(),
            refused: (Vec::new(), 0),
        }
    }

    /// True once a stop was asked for (a signal, or standard output closed).
    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// True when a refresh is due.
    pub(crate) fn due(&self) -> bool {
        Instant::now() >= self.next_refresh
    }

    /// The wall-clock time left before the next refresh.
    pub(crate) fn until_due(&self) -> Duration {
        self.next_refresh.saturating_duration_since(Instant::now())
    }

    /// Takes a snapshot of the report and shows it.
    pub(crate) fn refresh(&mut self, pipeline: &Pipeline<Analyzer>, captures: &[CaptureInfo]) {
        self.refresh_with(pipeline, captures, |_| {});
    }

    /// [`Live::refresh`], handing the snapshot to `also` too (a gateway's policy selects from
    /// it).
    pub(crate) fn refresh_with(
        &mut self,
        pipeline: &Pipeline<Analyzer>,
        captures: &[CaptureInfo],
        also: impl FnOnce(&Report),
    ) {
        self.next_refresh = Instant::now() + self.refresh;
        let analyzer = pipeline.observer();
        let mut others = 0;
        let mut open = pipeline.open_records(|id| {
            if analyzer.has_hits(id) {
                return true;
            }
            others += 1;
            others <= MAX_LIVE_OPEN
        });
        // A flow shows once it is named (or carried data, or has run a while): a connection is
        // not first shown under its address and then again under its name.
        let now = pipeline.now();
        open.retain(|r| {
            r.name.is_some()
                || analyzer.has_hits(r.info.id)
                || now.0.saturating_sub(r.info.first.0) >= UNNAMED_AFTER_NS
        });
        let mut report = analyzer.snapshot(&open);
        report.captures = captures.to_vec();
        report.device = self.device.clone();
        report.refused.clone_from(&self.refused.0);
        report.refused_total = self.refused.1;
        report.attribute(&self.data.entities, &self.data.geo);
        let stats = pipeline.stats();
        // The per-device list first, then the total: a block recorded in between shows in the
        // total only, never in the list without the total.
        let blocked = self.blocked();
        self.status.blocked = self.tap.as_ref().map(|t| t.total());
        self.status.packets = stats.frames;
        self.status.bytes = stats.frame_bytes;
        self.status.open_flows = pipeline.open_flow_count();
        self.status.elapsed_secs = self.started.elapsed().as_secs();
        self.time = (stats.frames > 0).then(|| rfc3339(pipeline.now()));
        self.show(&report, false);
        also(&report);
        self.publish(report, blocked.as_deref());
    }

    /// What the guard blocked per device (and whose the last blocked name is, from the same
    /// entity database as the findings); `None` without a guard or a browser view.
    fn blocked(&self) -> Option<Vec<Blocked>> {
        self.web.as_ref()?;
        self.tap.as_ref().map(|t| {
            t.clients()
                .into_iter()
                .map(|c| {
                    let party = self.data.entities.attribute(&c.last_name).map(|e| e.name.clone());
                    Blocked {
                        client: c.client.to_string(),
                        blocked: c.blocked,
                        last_name: match party {
                            Some(p) => format!("{} ({p})", c.last_name),
                            None => c.last_name,
                        },
                    }
                })
                .collect()
        })
    }

    /// Hands the snapshot to the browser view, with what the guard blocked per device.
    fn publish(&self, report: Report, blocked: Option<&[Blocked]>) {
        let Some(w) = &self.web else { return };
        let state = render::live::page::state(&report, &self.status, blocked);
        w.publish(web::Snapshot { state, report });
    }

    fn show(&mut self, report: &Report, last: bool) {
        let time = self.time.clone();
        let time = time.as_deref();
        let mut text = String::new();
        match self.view {
            View::Screen { color } => {
                // The screen shows their count (the status line).
                self.verdicts.clear();
                let (width, rows) = match terminal_size::terminal_size() {
                    Some((w, h)) => (usize::from(w.0), usize::from(h.0)),
                    None => (terminal_width(), 24),
                };
                if last {
                    self.close_view();
                    return;
                }
                if !self.screen_open {
                    // The alternate screen, cursor hidden; both restored by `close_view`.
                    text.push_str("\x1b[?1049h\x1b[?25l");
                    self.screen_open = true;
                }
                text.push_str("\x1b[H");
                let body = screen(report, &self.status, &Style { color, width }, rows);
                for line in body.lines() {
                    text.push_str(line);
                    text.push_str("\x1b[K\n");
                }
                text.push_str("\x1b[J");
            }
            View::Lines | View::Jsonl => {
                let jsonl = matches!(self.view, View::Jsonl);
                if !self.started_stream {
                    self.started_stream = true;
                    if jsonl {
                        text.push_str(&start_line(
                            &self.status.source,
                            self.status.writing.as_deref(),
                        ));
                        text.push('\n');
                    }
                }
                for v in self.verdicts.drain(..) {
                    if jsonl {
                        text.push_str(&render::live::verdict_line(&v, time));
                    } else {
                        text.push_str(&render::live::verdict_text(&v));
                    }
                    text.push('\n');
                }
                let changes = self.changes.update(report);
                for c in &changes {
                    if jsonl {
                        text.push_str(&change_line(c, time));
                    } else {
                        text.push_str(&change_text(c, time.unwrap_or("")));
                    }
                    text.push('\n');
                }
                if !last && Instant::now() >= self.next_counters {
                    self.next_counters = Instant::now() + COUNTERS_EVERY;
                    if jsonl {
                        text.push_str(&counters_line(&self.status, report, time));
                    } else {
                        text.push_str(&self.status.line());
                    }
                    text.push('\n');
                }
            }
        }
        self.write(&text);
    }

    fn write(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        let mut out = std::io::stdout().lock();
        if out.write_all(text.as_bytes()).and_then(|()| out.flush()).is_err() {
            // Nobody reads any more (`| head`): end the session as if asked to.
            self.stop.store(true, Ordering::Relaxed);
        }
    }

    /// Leaves the screen (when one was drawn).
    pub(crate) fn close_view(&mut self) {
        if self.screen_open {
            self.screen_open = false;
            self.write("\x1b[?25h\x1b[?1049l");
        }
    }

    /// The end of the session: the last changes and the `end` line (JSON lines), or the screen
    /// left for the final report.
    pub(crate) fn close(&mut self, report: &Report, written: Option<&str>) {
        self.status.elapsed_secs = self.started.elapsed().as_secs();
        let blocked = self.blocked();
        self.status.blocked = self.tap.as_ref().map(|t| t.total());
        self.show(report, true);
        self.publish(report.clone(), blocked.as_deref());
        if matches!(self.view, View::Jsonl) {
            let time = self.time.clone();
            let line = end_line(&self.status, report, time.as_deref(), written);
            self.write(&format!("{line}\n"));
        }
    }
}

impl Drop for Live<'_> {
    fn drop(&mut self) {
        self.close_view();
    }
}
