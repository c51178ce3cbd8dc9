//! `watch -i IFACE`: packets from an interface (libpcap, the `live` feature), written to a
//! rotating pcapng and fed to the pipeline; the wall clock ticks the capture time on a quiet
//! link so that idle flows end.

use std::process::ExitCode;

use capture::writer::{InterfaceStats, RotatingWriter, Rotation, SessionFile};
use capture::{Frame, Timestamp};
use report::{Analyzer, CaptureInfo};

use super::Session;
use super::view::Live;
use crate::cli::{WatchArgs, WriteArgs};

pub(super) fn list_interfaces() -> anyhow::Result<ExitCode> {
    match live::list() {
        Ok(devices) => {
            for d in devices {
                let addrs: Vec<String> = d.addresses.iter().map(ToString::to_string).collect();
                let mut about = Vec::new();
                if !d.up {
                    about.push("down".to_string());
                }
                if d.loopback {
                    about.push("loopback".to_string());
                }
                if let Some(desc) = d.description {
                    about.push(desc);
                }
                let about = if about.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", about.join(", "))
                };
                println!("{}  {}{about}", d.name, addrs.join(" "));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("phonehome: {e}");
            Ok(ExitCode::from(2))
        }
    }
}

/// The longest a stopped session goes on reading what the kernel had already captured.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(1);

/// The wall clock as a capture timestamp (what the kernel stamps packets with).
pub(crate) fn wall_now() -> Timestamp {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Timestamp(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

pub(super) fn run(
    args: &WatchArgs,
    mut analyzer: Analyzer,
    live: &mut Live<'_>,
) -> anyhow::Result<Result<Session, ExitCode>> {
    let name = args.interface.clone().unwrap_or_default();
    let options = live::Options {
        interface: name.clone(),
        filter: args.filter.clone(),
        snaplen: args.snaplen,
        promiscuous: args.promiscuous,
    };
    let mut iface = match live::Interface::open(&options) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("phonehome: {e}");
            return Ok(Err(ExitCode::from(2)));
        }
    };
    let link = iface.link();
    let app = format!("phonehome {} (watch -i {name})", env!("CARGO_PKG_VERSION"));
    let mut writer = match &args.write.write {
        None => None,
        Some(path) => match rotating_writer(&args.write, path, &app, args.snaplen) {
            Ok(w) => Some(w),
            Err(code) => return Ok(Err(code)),
        },
    };
    live.status.source = match &args.filter {
        Some(f) => format!("{name} ({f})"),
        None => name.clone(),
    };
    let file_name = |w: &RotatingWriter, i: usize| w.files()[i].path.display().to_string();
    match &writer {
        Some(w) => {
            analyzer.set_file_name(0, file_name(w, 0));
            live.status.writing = Some(file_name(w, 0));
        }
        None => analyzer.set_file_name(0, format!("{name} (live, not written)")),
    }
    let (mut pipeline, mut errored, secrets) =
        super::live_pipeline(&args.session, analyzer, &args.session.keylogs);
    pipeline.begin_file(0);
    let mut frames = 0u64;
    let mut span: Option<(Timestamp, Timestamp)> = None;
    let mut failure: Option<String> = None;
    // After a stop, packets already in the kernel's ring are still read (nothing captured
    // before the stop is lost), until the link is quiet for one read timeout or DRAIN passed.
    let mut draining: Option<std::time::Instant> = None;
    loop {
        if draining.is_none() && live.stopping() {
            draining = Some(std::time::Instant::now() + DRAIN);
        }
        if draining.is_some_and(|until| std::time::Instant::now() >= until) {
            break;
        }
        match iface.next_packet() {
            Ok(Some(p)) => {
                let number = match writer.as_mut() {
                    Some(w) => match w.write(link, p.ts, p.data, p.orig_len) {
                        Ok(at) => {
                            if at.new_file {
                                pipeline.begin_file(at.file);
                                let n = file_name(w, at.file);
                                pipeline.observer_mut().set_file_name(at.file, n.clone());
                                live.status.writing = Some(n);
                            }
                            at.frame
                        }
                        Err(e) => {
                            failure = Some(format!("writing the pcapng: {e}"));
                            break;
                        }
                    },
                    None => frames + 1,
                };
                frames += 1;
                span = Some(match span {
                    None => (p.ts, p.ts),
                    Some((a, b)) => (a.min(p.ts), b.max(p.ts)),
                });
                pipeline.feed(&Frame {
                    ts: p.ts,
                    number,
                    link,
                    data: p.data,
                    orig_len: p.orig_len,
                    offset: 0,
                    secrets: &[],
                    comment: None,
                    custom: &[],
                });
            }
            Ok(None) if draining.is_some() => break,
            Ok(None) => pipeline.tick(wall_now()),
            Err(e) => {
                failure = Some(e.to_string());
                break;
            }
        }
        if live.due() && draining.is_none() {
            let stats = iface.stats();
            live.status.dropped = Some(stats.dropped + stats.if_dropped);
            if let Some(w) = writer.as_mut() {
                let _ = w.flush();
            }
            let captures = capture_infos(
                &name,
                writer.as_ref().map(RotatingWriter::files),
                frames,
                span,
                &stats,
                false,
            );
            live.refresh(&pipeline, &captures);
        }
    }
    let stats = iface.stats();
    live.status.dropped = Some(stats.dropped + stats.if_dropped);
    let files = match writer {
        Some(w) => {
            let isb = InterfaceStats {
                received: stats.received,
                dropped: stats.dropped + stats.if_dropped,
            };
            match w.finish(Some(isb)) {
                Ok(files) => Some(files),
                Err(e) => {
                    eprintln!("phonehome: closing the pcapng: {e}");
                    errored = true;
                    None
                }
            }
        }
        None => None,
    };
    let captures = capture_infos(&name, files.as_deref(), frames, span, &stats, true);
    Ok(Ok(Session::ended(pipeline, captures, failure, &name, secrets, errored)))
}

/// The pcapng writer `--write` asks for, at `path`; `Err` after saying why it cannot be made.
pub(crate) fn rotating_writer(
    write: &WriteArgs,
    path: &std::path::Path,
    app: &str,
    snaplen: u32,
) -> Result<RotatingWriter, ExitCode> {
    let rotation = Rotation {
        max_bytes: write.rotate_size,
        max_age_ns: write.rotate_time.map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
        max_files: write.rotate_files.max(1),
    };
    RotatingWriter::create(path, app, snaplen, rotation).map_err(|e| {
        eprintln!("phonehome: {}: cannot write: {e}", path.display());
        ExitCode::from(2)
    })
}

/// The report's description of the session's input: each pcapng written (hashed at the end),
/// or the interface itself when nothing was written.
fn capture_infos(
    name: &str,
    files: Option<&[SessionFile]>,
    frames: u64,
    span: Option<(Timestamp, Timestamp)>,
    stats: &live::Stats,
    at_end: bool,
) -> Vec<CaptureInfo> {
    let mut drops = Vec::new();
    if stats.dropped + stats.if_dropped > 0 {
        drops.push(format!(
            "the kernel dropped {} packets ({} by the interface): phonehome did not see them",
            stats.dropped + stats.if_dropped,
            stats.if_dropped
        ));
    }
    let Some(files) = files else {
        return vec![CaptureInfo {
            path: format!("{name} (live, not written)"),
            packets: frames,
            first_packet: span.map(|s| s.0),
            last_packet: span.map(|s| s.1),
            warnings: drops,
            ..CaptureInfo::default()
        }];
    };
    let mut out = file_infos(files, at_end);
    if let Some(last) = out.last_mut() {
        last.warnings.extend(drops);
    }
    out
}

/// The report's description of the pcapng files a session wrote: hashed at the end, and a
/// file the rotation deleted says so.
pub(crate) fn file_infos(files: &[SessionFile], at_end: bool) -> Vec<CaptureInfo> {
    files
        .iter()
        .map(|f| {
            let mut info = CaptureInfo {
                path: f.path.display().to_string(),
                size: f.bytes,
                format: Some("pcapng"),
                compression: Some("none"),
                packets: f.frames,
                first_packet: f.span.map(|s| s.0),
                last_packet: f.span.map(|s| s.1),
                ..CaptureInfo::default()
            };
            if f.deleted {
                info.warnings.push(
                    "deleted by the rotation (--rotate-files): its evidence is gone".to_string(),
                );
            } else if at_end {
                info.sha256 = crate::input::sha256_of(&f.path);
            }
            info
        })
        .collect()
}
