//! `phonehome vpn --state DIR`: the gateway, watched. Every packet a device sends or receives
//! through the tunnel is fed, as a raw IP frame, to the same live session as `watch` (views,
//! `--web`, `--jsonl`, the final report), each device as its own capture: its own pcapng with
//! `--write` (NAME-DEVICE.pcapng, rotated as `watch`'s), and its name on every finding. The
//! devices' DNS goes to the built-in guard on the gateway's tunnel addresses.
//!
//! The wall clock stamps the packets (as the kernel stamps a capture's) and ticks the pipeline
//! when the tunnel is quiet, so that idle flows end.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use capture::writer::{RotatingWriter, SessionFile};
use capture::{Frame, LinkType, Timestamp};
use report::{Analyzer, CaptureInfo};
use vpn::State;
use vpn::gateway::{Flow, Gateway, Verdict};

use super::VpnArgs;
use super::filter::{Gatekeeper, Refused};
use super::redact::Redactor;
use crate::cmd::watch::iface::{file_infos, rotating_writer, wall_now};
use crate::cmd::watch::{Live, Session};
use crate::keylog_follow::KeylogFollower;
use guard::conn::ConnFilter;

/// How often the key logs are looked at for new lines.
const KEYLOG_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// One device's capture: its pcapng (with `--write`) and the run's file index of each of its
/// files (a rotation adds one).
struct DeviceCapture {
    name: String,
    writer: Option<RotatingWriter>,
    /// The pcapng files once closed.
    written: Option<Vec<SessionFile>>,
    files: Vec<usize>,
    frames: u64,
    bytes: u64,
    span: Option<(Timestamp, Timestamp)>,
}

impl DeviceCapture {
    /// The file name of the device's pcapng: `base`'s stem, `-`, the device's name.
    fn path(base: &Path, name: &str) -> PathBuf {
        let stem = base.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let ext = base.extension().map_or("pcapng".into(), |e| e.to_string_lossy().into_owned());
        base.with_file_name(format!("{stem}-{name}.{ext}"))
    }

    /// What the report says of its capture (hashed at the end).
    fn infos(&self, at_end: bool) -> Vec<(usize, CaptureInfo)> {
        let written = self.writer.as_ref().map(RotatingWriter::files).or(self.written.as_deref());
        let mut out: Vec<(usize, CaptureInfo)> = match written {
            Some(files) => self.files.iter().copied().zip(file_infos(files, at_end)).collect(),
            None => vec![(
                self.files[0],
                CaptureInfo {
                    path: not_written(&self.name),
                    size: self.bytes,
                    packets: self.frames,
                    first_packet: self.span.map(|s| s.0),
                    last_packet: self.span.map(|s| s.1),
                    ..CaptureInfo::default()
                },
            )],
        };
        for (_, info) in &mut out {
            info.device = Some(self.name.clone());
        }
        out
    }
}

fn not_written(name: &str) -> String {
    format!("{name} (vpn, not written)")
}

/// The resolvers of this machine (`nameserver` lines of /etc/resolv.conf), for the guard.
fn system_resolvers() -> Vec<guard::server::config::Addr> {
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| a.trim().split('%').next()?.parse::<IpAddr>().ok())
        .map(|ip| guard::server::config::Addr(SocketAddr::new(ip, 53)))
        .collect()
}

/// The guard on the gateway's tunnel addresses, serving the tunnel's networks only.
fn start_guard(
    args: &VpnArgs,
    state: &State,
) -> Result<(guard::server::Running, Arc<guard::server::Tap>), String> {
    use guard::server::config::{Addr, Cidr};
    let upstream =
        if args.upstream.is_empty() { system_resolvers() } else { args.upstream.clone() };
    if upstream.is_empty() {
        return Err("no resolver in /etc/resolv.conf for the devices' DNS: give --upstream".into());
    }
    let (g4, g6) = state.gateway_addresses();
    let nets =
        [format!("{}/24", state.settings.network4), format!("{}/64", state.settings.network6)];
    let allow_net: Vec<Cidr> = nets.iter().filter_map(|n| n.parse().ok()).collect();
    let options = guard::server::Options {
        config_file: None,
        cli: guard::server::Settings {
            listen: vec![
                Addr(SocketAddr::new(IpAddr::V4(g4), 53)),
                Addr(SocketAddr::new(IpAddr::V6(g6), 53)),
            ],
            upstream,
            block: args.block.clone(),
            allow: args.allow.clone(),
            db: args.db.clone(),
            allow_net,
            ..guard::server::Settings::default()
        },
    };
    let tap = Arc::new(guard::server::Tap::default());
    // The tunnel's IPv6 address can take a moment to be usable (duplicate address detection).
    let mut tries = 0;
    loop {
        match guard::server::spawn(options.clone(), Some(tap.clone())) {
            Ok(running) => return Ok((running, tap)),
            Err(e) if tries < 20 && e.to_string().contains("assign") => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => return Err(format!("the DNS guard: {e}")),
        }
    }
}

/// Runs the gateway until SIGINT or SIGTERM, as a live session (see the module doc).
pub(super) fn serve(args: &VpnArgs) -> anyhow::Result<ExitCode> {
    let Some(dir) = args.state.clone().or_else(super::default_state_dir) else {
        eprintln!("phonehome: vpn: --state DIR (no HOME to keep it in by default)");
        return Ok(ExitCode::from(2));
    };
    if args.session.analysis.device.is_some() {
        eprintln!("phonehome: vpn: --device: the gateway names each device by its peer's name");
        return Ok(ExitCode::from(2));
    }
    let state = match super::state_for_run(&dir, args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("phonehome: vpn: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let stop = crate::cmd::watch::stop_flag()?;
    crate::cmd::watch::session(&args.session, Vec::new(), stop.clone(), |analyzer, live| {
        run(args, &state, analyzer, live, &stop)
    })
}

fn run(
    args: &VpnArgs,
    state: &State,
    mut analyzer: Analyzer,
    live: &mut Live<'_>,
    stop: &std::sync::atomic::AtomicBool,
) -> anyhow::Result<Result<Session, ExitCode>> {
    let listen =
        args.listen.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], state.settings.listen_port)));
    let (g4, g6) = state.gateway_addresses();
    // The live view, when it listens on a tunnel address, is reachable from the devices.
    let host_ports = args
        .session
        .web
        .filter(|w| w.ip().is_unspecified() || w.ip() == IpAddr::V4(g4) || w.ip() == IpAddr::V6(g6))
        .map(|w| w.port())
        .into_iter()
        .collect();
    let options = vpn::gateway::Options {
        listen,
        tun_name: args.tun.clone(),
        allow_lan: args.allow_lan,
        host_ports,
        redirect_dns: args.block_dot,
    };
    let policy = match args.policy.as_deref().map(guard::policy::Policy::load).transpose() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("phonehome: vpn: {e}");
            return Ok(Err(ExitCode::from(2)));
        }
    };
    let mut redactor = match redactor(args, &analyzer) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("phonehome: vpn: {e}");
            return Ok(Err(ExitCode::from(2)));
        }
    };
    let mut gate = match gatekeeper(args) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("phonehome: vpn: {e}");
            return Ok(Err(ExitCode::from(2)));
        }
    };
    let mut devices: Vec<DeviceCapture> = Vec::new();
    for (i, peer) in state.settings.peers.iter().enumerate() {
        let writer = match &args.write.write {
            None => None,
            Some(base) => {
                let path = DeviceCapture::path(base, &peer.name);
                let app = format!("phonehome {} (vpn: {})", env!("CARGO_PKG_VERSION"), peer.name);
                match rotating_writer(&args.write, &path, &app, u32::from(u16::MAX)) {
                    Ok(w) => Some(w),
                    Err(code) => return Ok(Err(code)),
                }
            }
        };
        let name = match &writer {
            Some(w) => w.files()[0].path.display().to_string(),
            None => not_written(&peer.name),
        };
        analyzer.set_file_name(i, name);
        analyzer.set_file_device(i, Some(peer.name.clone()));
        devices.push(DeviceCapture {
            name: peer.name.clone(),
            writer,
            written: None,
            files: vec![i],
            frames: 0,
            bytes: 0,
            span: None,
        });
    }
    let mut gateway = match Gateway::start(state, &options) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("phonehome: vpn: {e}");
            return Ok(Err(ExitCode::from(2)));
        }
    };
    let (guard, tap) = match start_guard(args, state) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("phonehome: vpn: {e}");
            gateway.stop();
            return Ok(Err(ExitCode::from(2)));
        }
    };
    gate.follow_lists(tap.clone());
    live.tap = Some(tap);
    let names: Vec<&str> = devices.iter().map(|d| d.name.as_str()).collect();
    live.status.source = format!("VPN udp {listen} ({})", names.join(", "));
    eprintln!(
        "phonehome: VPN gateway on udp {listen} ({}, {} devices: {}; their DNS: the guard on {g4} \
         and {g6}); Ctrl-C stops it",
        args.tun,
        names.len(),
        names.join(", ")
    );
    // The key logs are followed as they grow (the phone's apps write them as they connect),
    // not read once: decryptors wait (bounded) for keys that arrive after the handshake.
    let (mut pipeline, mut errored, _) =
        crate::cmd::watch::live_pipeline(&args.session, analyzer, &[]);
    let mut keylogs = KeylogFollower::new(&args.session.keylogs);
    if !keylogs.is_empty() {
        pipeline.keys_mut().set_streaming(true);
        keylogs.poll(pipeline.keys_mut());
    }
    let mut keys_polled = std::time::Instant::now();
    let mut next_file = devices.len();
    let mut failure: Option<String> = None;
    let mut last = Timestamp(0);
    while !stop.load(Ordering::Relaxed) && failure.is_none() {
        let mut moved = false;
        let r = gateway.run_once(
            std::time::Duration::from_millis(100),
            &mut |flow: Flow, i, packet| {
                moved = true;
                let Some(dev) = devices.get_mut(i) else { return Verdict::Pass };
                let ts = wall_now().max(last);
                last = ts;
                let len = u32::try_from(packet.len()).unwrap_or(u32::MAX);
                let number = match dev.writer.as_mut() {
                    Some(w) => match w.write(LinkType::RAW, ts, packet, len) {
                        Ok(at) => {
                            if at.new_file {
                                dev.files.push(next_file);
                                let name = w.files()[at.file].path.display().to_string();
                                pipeline.observer_mut().set_file_name(next_file, name);
                                pipeline
                                    .observer_mut()
                                    .set_file_device(next_file, Some(dev.name.clone()));
                                next_file += 1;
                            }
                            at.frame
                        }
                        Err(e) => {
                            failure = Some(format!("writing {}'s pcapng: {e}", dev.name));
                            dev.frames + 1
                        }
                    },
                    None => dev.frames + 1,
                };
                dev.frames += 1;
                dev.bytes += packet.len() as u64;
                dev.span = Some(dev.span.map_or((ts, ts), |(a, b)| (a.min(ts), b.max(ts))));
                if args.no_analysis {
                    return Verdict::Pass;
                }
                // A connection ending (FIN, RST) ends its decryptors: the secrets its client
                // logged before sending its data are read first.
                if !keylogs.is_empty()
                    && vpn::reject::tcp_flags(packet).is_some_and(|f| f & 0x05 != 0)
                {
                    keylogs.poll(pipeline.keys_mut());
                }
                pipeline.switch_file(dev.files.last().copied().unwrap_or(i));
                pipeline.feed(&Frame {
                    ts,
                    number,
                    link: LinkType::RAW,
                    data: packet,
                    orig_len: len,
                    offset: 0,
                    secrets: &[],
                    comment: None,
                    custom: &[],
                });
                let facts = pipeline.last_flow();
                let id = facts.map(|f| f.info.id);
                let http = facts.is_some_and(|f| f.protocol == proto::AppProto::Http);
                let verdict = gate.judge(facts, &dev.name, ts);
                if verdict == Verdict::Reject
                    && let Some(id) = id
                {
                    pipeline.observer_mut().refuse_flow(id);
                }
                if verdict == Verdict::Pass
                    && flow == Flow::Out
                    && http
                    && let Some(r) = redactor.as_mut()
                {
                    vpn::reject::rewrite_tcp_payload(packet, |data| r.rewrite(data));
                }
                verdict
            },
        );
        if let Err(e) = r {
            failure = Some(e.to_string());
        }
        if !keylogs.is_empty() && keys_polled.elapsed() >= KEYLOG_POLL {
            keys_polled = std::time::Instant::now();
            keylogs.poll(pipeline.keys_mut());
        }
        if !moved {
            last = wall_now().max(last);
            pipeline.tick(last);
        }
        if live.due() {
            for w in devices.iter_mut().filter_map(|d| d.writer.as_mut()) {
                let _ = w.flush();
            }
            gate.show(live);
            live.status.writing = writing(&devices);
            live.refresh_with(&pipeline, &captures(&devices, false), |report| {
                if let Some(p) = &policy {
                    gate.select(&p.select(&[render::json(report)]).entries);
                }
            });
        }
    }
    let s = gateway.endpoint().stats;
    let rejects = gateway.rejects;
    let kernel_drops = gateway.kernel_drops().unwrap_or(0);
    gateway.stop();
    gate.show(live);
    if let Err(e) = guard.stop() {
        eprintln!("phonehome: the DNS guard: {e}");
    }
    eprintln!(
        "phonehome: VPN gateway stopped: {} packets from the devices, {} to them; {} connections \
         refused ({rejects} resets and unreachables sent); {} datagrams refused (invalid {}, \
         unknown key {}, spoofed source {}); {kernel_drops} dropped by the kernel before they were \
         read (receive buffer full)",
        s.from_devices,
        s.to_devices,
        gate.refused,
        s.invalid + s.unknown_peer + s.spoofed,
        s.invalid,
        s.unknown_peer,
        s.spoofed
    );
    for d in &mut devices {
        if let Some(w) = d.writer.take() {
            match w.finish(None) {
                Ok(files) => d.written = Some(files),
                Err(e) => {
                    eprintln!("phonehome: closing {}'s pcapng: {e}", d.name);
                    errored = true;
                }
            }
        }
    }
    let captures = captures(&devices, true);
    if keylogs.malformed > 0 {
        eprintln!("phonehome: vpn: {} malformed lines in the key logs", keylogs.malformed);
        errored = true;
    }
    let secrets = keylogs.secrets;
    let mut session = Session::ended(pipeline, captures, failure, "vpn", secrets, errored);
    session.refused = gate.kept.iter().map(Refused::report).collect();
    session.refused_total = gate.refused;
    session.redacted = redactor.map(|r| r.counts).unwrap_or_default();
    Ok(Ok(session))
}

/// The redactor `--redact` asks for, with a secret of this session for its fakes.
fn redactor(args: &VpnArgs, analyzer: &Analyzer) -> Result<Option<Redactor>, String> {
    if !args.redact {
        return Ok(None);
    }
    let secret =
        vpn::random_bytes::<32>().map_err(|e| format!("--redact: no random secret: {e}"))?;
    let r = Redactor::new(analyzer.variants(), secret);
    if r.is_empty() {
        return Err("--redact: the profile lists no identifier to rewrite".into());
    }
    Ok(Some(r))
}

/// The connection filter of `--block`, `--allow`, `--block-quic` and `--block-dot`, with its
/// verdict log (mode 0600).
fn gatekeeper(args: &VpnArgs) -> Result<Gatekeeper, String> {
    let options = guard::conn::Options { block_quic: args.block_quic, block_dot: args.block_dot };
    let log = match &args.verdict_log {
        None => None,
        Some(path) => Some(
            capture::writer::create_private(path)
                .map_err(|e| format!("{}: cannot write: {e}", path.display()))?,
        ),
    };
    // The lists come from the guard, which reads them (see `filter`).
    Ok(Gatekeeper::new(ConnFilter::new(Arc::default(), options), log))
}

/// The pcapng files being written, for the status line.
fn writing(devices: &[DeviceCapture]) -> Option<String> {
    let names: Vec<String> = devices
        .iter()
        .filter_map(|d| d.writer.as_ref()?.files().last().map(|f| f.path.display().to_string()))
        .collect();
    (!names.is_empty()).then(|| names.join(", "))
}

/// The report's captures: every device's files, in the run's file order.
fn captures(devices: &[DeviceCapture], at_end: bool) -> Vec<CaptureInfo> {
    let mut all: Vec<(usize, CaptureInfo)> = devices.iter().flat_map(|d| d.infos(at_end)).collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, c)| c).collect()
}
