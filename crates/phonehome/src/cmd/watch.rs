//! `phonehome watch`: capture live (or replay a capture as if live), analyse as the traffic
//! flows, show what the device sends as it happens, and write the evidence and the final report
//! at the stop.
//!
//! One code path with `analyze`: the same pipeline and analyzer are fed frame by frame; between
//! frames the session takes a snapshot of the report (the flows that ended, and the open ones
//! folded into a copy, `Analyzer::snapshot`) on every refresh and hands it to the views. Capture
//! time drives the analysis; a quiet interface adds ticks (the wall clock as capture time) so
//! that idle flows end. The final report is `analyze`'s: a replay at full speed gives the same
//! JSON as `analyze` of the same file (a test checks it).
//!
//! Stopping: SIGINT (Ctrl-C) or SIGTERM sets a flag that the loop checks after every frame and
//! every read timeout (100 ms); a second one ends the process at once. At the stop the open
//! flows are ended, the pcapng is closed (with the kernel's counters), and the report written.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::cli::{SessionArgs, WatchArgs};
use crate::input::print_stats;

use super::analyze::{Data, Prepared, exit_code, format_for, prepare, render_as, write_file};

pub(crate) mod iface;
mod replay;
mod view;

pub(crate) use view::Live;
use view::View;

/// Open flows folded into a snapshot besides those that carried data (the rest are counted when
/// they end): bounds the work of a refresh during a flood of connections.
pub(crate) const MAX_LIVE_OPEN: usize = 4096;

pub(crate) fn run(args: &WatchArgs) -> anyhow::Result<ExitCode> {
    if args.list_interfaces {
        return iface::list_interfaces();
    }
    if args.write.write.is_some() && !args.replay.is_empty() {
        eprintln!(
            "phonehome: --write is for live capture; a replay's evidence is the capture it reads"
        );
        return Ok(ExitCode::from(2));
    }
    let stop = stop_flag()?;
    let files: Vec<String> = args.replay.iter().map(|p| p.display().to_string()).collect();
    let (guard, tap) = match start_guard(args) {
        Ok(g) => g,
        Err(code) => return Ok(code),
    };
    let code = session(&args.session, files, stop, |analyzer, live| {
        live.tap = tap;
        if args.replay.is_empty() {
            iface::run(args, analyzer, live)
        } else {
            Ok(Ok(replay::run(args, analyzer, live)))
        }
    });
    if let Some(g) = guard
        && let Err(e) = g.stop()
    {
        eprintln!("phonehome: the DNS guard: {e}");
    }
    code
}

/// A live session: prepares the analysis (`files` name the captures of a replay), starts the
/// views, lets `source` feed the pipeline until it stops, then writes the final report. The
/// source returns `Err(code)` after saying why it could not start.
pub(crate) fn session(
    args: &SessionArgs,
    files: Vec<String>,
    stop: Arc<AtomicBool>,
    source: impl FnOnce(report::Analyzer, &mut Live<'_>) -> anyhow::Result<Result<Session, ExitCode>>,
) -> anyhow::Result<ExitCode> {
    if !(args.refresh.is_finite() && args.refresh >= 0.05) {
        eprintln!("phonehome: --refresh: at least 0.05 seconds");
        return Ok(ExitCode::from(2));
    }
    let prepared =
        match prepare(&args.analysis, args.report.reveal, args.report.scan_responses, files) {
            Ok(p) => p,
            Err(code) => return Ok(code),
        };
    let (analyzer, device, entities, geo) = prepared.split();
    // Every refresh attributes its snapshot: the data is needed before the first one.
    let data = match Prepared::data(entities, geo)? {
        Ok(d) => d,
        Err(code) => return Ok(code),
    };
    let web = match start_web(args) {
        Ok(w) => w,
        Err(code) => return Ok(code),
    };
    let view = View::choose(args);
    let mut live = Live::new(&data, device.clone(), view, args, stop, web);
    let session = match source(analyzer, &mut live)? {
        Ok(s) => s,
        Err(code) => {
            live.close_view();
            return Ok(code);
        }
    };
    finish(args, session, &data, device, live)
}

/// The DNS guard in this process, when `--guard` asks for it, and its count of blocked queries.
#[allow(clippy::type_complexity)]
fn start_guard(
    args: &WatchArgs,
) -> Result<(Option<guard::server::Running>, Option<Arc<guard::server::Tap>>), ExitCode> {
    let g = &args.guard;
    if !g.guard {
        return Ok((None, None));
    }
    let options = guard::server::Options {
        config_file: g.guard_config.clone(),
        cli: guard::server::Settings {
            listen: g.guard_listen.clone(),
            upstream: g.guard_upstream.clone(),
            block: g.guard_block.clone(),
            allow: g.guard_allow.clone(),
            db: g.guard_db.clone(),
            ..guard::server::Settings::default()
        },
    };
    let tap = Arc::new(guard::server::Tap::default());
    match guard::server::spawn(options, Some(tap.clone())) {
        Ok(running) => Ok((Some(running), Some(tap))),
        Err(e) => {
            eprintln!("phonehome: the DNS guard: {e}");
            Err(ExitCode::from(2))
        }
    }
}

/// What a session gathered, at its end.
pub(crate) struct Session {
    pub(crate) analyzer: report::Analyzer,
    pub(crate) stats: pipeline::Stats,
    pub(crate) captures: Vec<report::CaptureInfo>,
    pub(crate) secrets: u64,
    pub(crate) errored: bool,
    /// Connections a gateway refused (the first ones), and how many in all.
    pub(crate) refused: Vec<report::RefusedConnection>,
    pub(crate) refused_total: u64,
    /// Identifiers a gateway rewrote (`--redact`), by item.
    pub(crate) redacted: std::collections::BTreeMap<String, u64>,
}

/// A live source's pipeline: the session's options, `keylogs` loaded (`(errored, secrets)`: a
/// bad key log is said and counted, the session goes on).
pub(crate) fn live_pipeline(
    args: &SessionArgs,
    analyzer: report::Analyzer,
    keylogs: &[std::path::PathBuf],
) -> (pipeline::Pipeline<report::Analyzer>, bool, u64) {
    let config = pipeline::Config {
        session: proto::SessionOptions { decode_responses: args.report.scan_responses },
        ..pipeline::Config::default()
    };
    let mut pipeline = pipeline::Pipeline::new(config, analyzer);
    let (errored, secrets) = crate::input::load_keylogs(keylogs, pipeline.keys_mut());
    (pipeline, errored, secrets)
}

impl Session {
    /// The session of a source that stopped: its captures (the last one carries `failure`, said
    /// on standard error under `who`), the pipeline's analyzer and counters.
    pub(crate) fn ended(
        pipeline: pipeline::Pipeline<report::Analyzer>,
        mut captures: Vec<report::CaptureInfo>,
        failure: Option<String>,
        who: &str,
        secrets: u64,
        mut errored: bool,
    ) -> Self {
        if let Some(why) = failure {
            eprintln!("phonehome: {who}: {why}");
            if let Some(last) = captures.last_mut() {
                last.error = Some(why);
            }
            errored = true;
        }
        let (analyzer, stats) = pipeline.finish();
        Self {
            analyzer,
            stats,
            captures,
            secrets,
            errored,
            refused: Vec::new(),
            refused_total: 0,
            redacted: Default::default(),
        }
    }
}

fn finish(
    args: &SessionArgs,
    session: Session,
    data: &Data,
    device: Option<report::Device>,
    mut live: Live<'_>,
) -> anyhow::Result<ExitCode> {
    let Session { analyzer, stats, captures, secrets, errored, refused, refused_total, redacted } =
        session;
    live.status.packets = stats.frames;
    live.status.bytes = stats.frame_bytes;
    let (mut report, astats) = analyzer.into_report();
    report.captures = captures;
    report.refused = refused;
    report.refused_total = refused_total;
    report.redacted = redacted;
    if let Some(d) = &args.analysis.device {
        for c in report.captures.iter_mut().filter(|c| c.device.is_none()) {
            c.device = Some(d.clone());
        }
    }
    report.coverage.secrets = secrets;
    report.device = device;
    report.attribute(&data.entities, &data.geo);
    let written = args.output.as_ref().map(|p| p.display().to_string());
    live.close(&report, written.as_deref());
    let format = format_for(args.format, args.output.as_deref());
    let has_country = data.geo.has_country();
    match &args.output {
        Some(path) => {
            let text = render_as(&report, format, false, args.report.color, has_country);
            write_file(path, &text)?;
            eprintln!("{}", report::Summary::of(&report).headline);
            eprintln!("phonehome: report written to {}", path.display());
        }
        // The JSON lines' `end` says how it ended; a terminal gets the report, as `analyze`.
        None if !args.jsonl => {
            use std::io::Write;
            let text = render_as(&report, format, true, args.report.color, has_country);
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
        None => {}
    }
    if args.stats {
        print_stats(&stats, astats.counters());
    }
    Ok(exit_code(&report, errored, args.report.fail_on))
}

/// The live view's server, when `--web` asks for one; the address to open is printed.
fn start_web(args: &SessionArgs) -> Result<Option<web::Server>, ExitCode> {
    let Some(addr) = args.web else { return Ok(None) };
    let token = match (&args.web_token, web::needs_token(&addr)) {
        (Some(t), _) if t.is_empty() => {
            eprintln!("phonehome: --web-token: empty");
            return Err(ExitCode::from(2));
        }
        (Some(t), _) => Some(t.clone()),
        (None, false) => None,
        (None, true) => match web::random_token() {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("phonehome: --web {addr}: cannot make a token: {e}");
                return Err(ExitCode::from(2));
            }
        },
    };
    match web::Server::start(addr, token.clone()) {
        Ok(server) => {
            let query = token.map(|t| format!("?token={t}")).unwrap_or_default();
            eprintln!("phonehome: live view at http://{}/{query}", server.addr());
            Ok(Some(server))
        }
        Err(e) => {
            eprintln!("phonehome: {e}");
            Err(ExitCode::from(2))
        }
    }
}

/// A flag set by SIGINT or SIGTERM; a second signal ends the process at once (exit 130).
pub(crate) fn stop_flag() -> anyhow::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 130, flag.clone())?;
        signal_hook::flag::register(sig, flag.clone())?;
    }
    Ok(flag)
}
