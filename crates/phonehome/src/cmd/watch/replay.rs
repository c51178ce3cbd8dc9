//! `watch --replay`: captures read as if live, paced by their timestamps (`--speed`), through
//! the same reader as `analyze` (so the report's captures, hashes and errors are the same).

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use capture::Timestamp;

use super::Session;
use super::view::Live;
use crate::cli::{Speed, WatchArgs};
use crate::input::{RunOptions, run_captures_with};

/// At full speed, the clock is read every this many frames (reading it for every frame costs
/// about 1% of the throughput).
const CLOCK_EVERY: u32 = 64;
/// The longest sleep between two looks at the stop flag and the refresh.
const NAP: Duration = Duration::from_millis(50);

pub(super) fn run(args: &WatchArgs, analyzer: report::Analyzer, live: &mut Live<'_>) -> Session {
    live.status.source = match args.replay.as_slice() {
        [one] => format!("replay of {}", one.display()),
        many => format!("replay of {} captures", many.len()),
    };
    let mut start: Option<(Instant, Timestamp)> = None;
    let mut frames = 0u32;
    // Ahead of each frame: wait for its time (refreshing meanwhile, so that the views show
    // everything before it), then let it be read. No ticks: the report stays `analyze`'s.
    let mut before = |p: &mut pipeline::Pipeline<report::Analyzer>,
                      captures: &[report::CaptureInfo],
                      ts: Timestamp| {
        frames = frames.wrapping_add(1);
        match args.speed {
            Speed::Max => {
                if !frames.is_multiple_of(CLOCK_EVERY) {
                    return ControlFlow::Continue(());
                }
            }
            Speed::Factor(speed) => {
                let (wall0, ts0) = *start.get_or_insert((Instant::now(), ts));
                let ahead = (ts.0.saturating_sub(ts0.0)).max(0) as f64 / speed;
                let due = wall0 + Duration::from_nanos(ahead.min(u64::MAX as f64) as u64);
                loop {
                    let now = Instant::now();
                    if now >= due || live.stopping() {
                        break;
                    }
                    std::thread::sleep((due - now).min(NAP).min(live.until_due()));
                    if live.due() {
                        live.refresh(p, captures);
                    }
                }
            }
        }
        if live.stopping() {
            return ControlFlow::Break(());
        }
        if live.due() {
            live.refresh(p, captures);
        }
        ControlFlow::Continue(())
    };
    let run = run_captures_with(
        &args.replay,
        analyzer,
        RunOptions {
            hash: !args.session.report.no_hash,
            keep_responses_coded: !args.session.report.scan_responses,
            keylogs: args.session.keylogs.clone(),
        },
        &mut before,
    );
    Session {
        analyzer: run.observer,
        stats: run.stats,
        captures: run.captures,
        secrets: run.secrets,
        errored: run.errored,
        refused: Vec::new(),
        refused_total: 0,
        redacted: Default::default(),
    }
}
