//! `phonehome vpn`: the WireGuard gateway a phone joins. `vpn init` and `vpn peers` make its
//! state and the devices' configurations; `vpn --state DIR` runs it (forwarding through a TUN
//! device and the kernel's NAT, watched as `watch` watches an interface: `serve`). The
//! contracts are the `vpn` crate's.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use vpn::State;

use crate::cli::{SessionArgs, WriteArgs};

mod filter;
mod redact;
mod serve;

/// Arguments of `phonehome vpn`: run the gateway, or manage its state.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct VpnArgs {
    #[command(subcommand)]
    pub(crate) command: Option<VpnCommand>,
    /// The state folder `vpn init` made (runs the gateway: needs root or CAP_NET_ADMIN).
    /// Default: $PHONEHOME_VPN_STATE, else $XDG_STATE_HOME/phonehome/vpn, else
    /// ~/.local/state/phonehome/vpn; made on the first run (a device "phone", its QR code shown).
    #[arg(long, value_name = "DIR")]
    pub(crate) state: Option<PathBuf>,
    /// Where the phone reaches this machine, for a state made on the first run (default: this
    /// machine's address on the route to the internet, and the listening port).
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) endpoint: Option<String>,
    /// UDP address to listen on (default: every address, the state's port).
    #[arg(long, value_name = "ADDR:PORT")]
    pub(crate) listen: Option<std::net::SocketAddr>,
    /// Name of the TUN device.
    #[arg(long, value_name = "NAME", default_value = "phvpn0")]
    pub(crate) tun: String,
    /// Let the devices reach private networks (RFC 1918, link-local, ...) and this host.
    #[arg(long)]
    pub(crate) allow_lan: bool,
    /// Resolver the devices' DNS is forwarded to by the built-in guard (repeatable; default:
    /// this machine's, from /etc/resolv.conf).
    #[arg(long, value_name = "ADDR[:PORT]")]
    pub(crate) upstream: Vec<guard::server::config::Addr>,
    /// Blocklist (the guard's formats: hosts, domains, adblock; addresses and ranges;
    /// `phonehome block` writes one from a report), repeatable: its names get no answer from
    /// the guard, and connections to its addresses, or named by it (TLS or QUIC server name,
    /// HTTP Host, DNS), are refused.
    #[arg(long, value_name = "FILE")]
    pub(crate) block: Vec<PathBuf>,
    /// Allowlist: names and addresses never blocked (repeatable).
    #[arg(long, value_name = "FILE")]
    pub(crate) allow: Vec<PathBuf>,
    /// The policy of `phonehome block --policy` (TOML: min_severity, categories, parties,
    /// countries, names, allow), applied live: on every refresh the destinations it selects
    /// from the session's report so far are refused from then on (the IMEI just went to a
    /// tracker: its next connection is refused).
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,
    /// Refuse QUIC (UDP to port 443, and any connection found to be QUIC): apps fall back to
    /// TLS over TCP at once (an ICMP port unreachable tells them).
    #[arg(long)]
    pub(crate) block_quic: bool,
    /// Keep the devices on the guard: refuse DNS over TLS and QUIC (port 853) and the known
    /// DNS-over-HTTPS resolvers (crates/guard/data/doh.txt), and answer plain DNS sent to any
    /// resolver from the guard.
    #[arg(long)]
    pub(crate) block_dot: bool,
    /// Rewrite the profile's identifiers (IMEI, IMSI, phone number, IDs, MAC, e-mail; as
    /// written, encoded or hashed) in the devices' cleartext HTTP to fakes of the same length
    /// and checksum before they leave; counted in the report (needs --profile).
    #[arg(long, requires = "profile")]
    pub(crate) redact: bool,
    /// Forward (and write with --write) without analysing: no findings, no connection
    /// filtering (the guard still answers DNS with --block); for measuring the analysis' cost.
    #[arg(long, conflicts_with_all = ["profile", "redact", "policy", "block_quic", "block_dot"])]
    pub(crate) no_analysis: bool,
    /// Log every refused connection here, one JSON object per line (mode 0600): time, device,
    /// server, what matched and the rule.
    #[arg(long, value_name = "FILE")]
    pub(crate) verdict_log: Option<PathBuf>,
    /// The guard's SQLite query log (mode 0600): every query of every device, with its verdict.
    #[arg(long, value_name = "PATH")]
    pub(crate) db: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) write: WriteArgs,
    #[command(flatten)]
    pub(crate) session: SessionArgs,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum VpnCommand {
    /// Make a gateway state (its keys, a first device) and print that device's configuration
    /// for the WireGuard app, as text and as a QR code.
    Init {
        /// The state folder (created, mode 0700; keys in it are 0600).
        #[arg(long, value_name = "DIR")]
        state: PathBuf,
        /// Where the phone reaches this machine: HOST:PORT (e.g. 192.168.1.20:51820).
        #[arg(long, value_name = "HOST:PORT")]
        endpoint: String,
        /// The first device's name.
        #[arg(long, default_value = "phone")]
        name: String,
        #[command(flatten)]
        qr: QrArgs,
    },
    /// The devices that may join: add, remove, list, show.
    #[command(subcommand)]
    Peers(PeersCommand),
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum PeersCommand {
    /// Add a device and print its configuration.
    Add {
        /// Its name (letters, digits, - and _).
        name: String,
        #[arg(long, value_name = "DIR")]
        state: PathBuf,
        #[command(flatten)]
        qr: QrArgs,
    },
    /// Remove a device (its key is deleted: it can no longer join).
    Remove {
        name: String,
        #[arg(long, value_name = "DIR")]
        state: PathBuf,
    },
    /// List the devices: name, tunnel addresses, public key.
    List {
        #[arg(long, value_name = "DIR")]
        state: PathBuf,
    },
    /// Print a device's configuration again.
    Show {
        name: String,
        #[arg(long, value_name = "DIR")]
        state: PathBuf,
        #[command(flatten)]
        qr: QrArgs,
    },
}

/// How the configuration is shown besides its text.
#[derive(Debug, clap::Args)]
pub(crate) struct QrArgs {
    /// Print the QR code too (the default when standard output is a terminal).
    #[arg(long)]
    qr: bool,
    /// Write the QR code to this file: PNG, or SVG when the name ends in .svg (mode 0600: it
    /// holds the device's private key).
    #[arg(long, value_name = "FILE")]
    qr_out: Option<PathBuf>,
}

pub(crate) fn run(args: &VpnArgs) -> anyhow::Result<ExitCode> {
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("phonehome: {e}");
        Ok(ExitCode::from(2))
    };
    let Some(command) = &args.command else {
        return serve::serve(args);
    };
    match command {
        VpnCommand::Init { state, endpoint, name, qr } => {
            match State::init(state, endpoint, name) {
                Ok(s) => {
                    eprintln!(
                        "phonehome: VPN state made in {} (keys mode 0600); `phonehome vpn peers add \
                     NAME --state {}` adds another device",
                        state.display(),
                        state.display()
                    );
                    show(&s, name, qr)
                }
                Err(e) => fail(&e),
            }
        }
        VpnCommand::Peers(p) => match p {
            PeersCommand::Add { name, state, qr } => {
                let mut s = match State::open(state) {
                    Ok(s) => s,
                    Err(e) => return fail(&e),
                };
                if let Err(e) = s.add_peer(name) {
                    return fail(&e);
                }
                show(&s, name, qr)
            }
            PeersCommand::Remove { name, state } => {
                match State::open(state).and_then(|mut s| s.remove_peer(name)) {
                    Ok(()) => {
                        eprintln!("phonehome: {name} removed; it can no longer join");
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(e) => fail(&e),
                }
            }
            PeersCommand::List { state } => match State::open(state) {
                Ok(s) => {
                    let mut out = std::io::stdout().lock();
                    for p in &s.settings.peers {
                        writeln!(
                            out,
                            "{}\t{}\t{}\t{}",
                            p.name, p.address4, p.address6, p.public_key
                        )?;
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => fail(&e),
            },
            PeersCommand::Show { name, state, qr } => match State::open(state) {
                Ok(s) => show(&s, name, qr),
                Err(e) => fail(&e),
            },
        },
    }
}

/// Prints the device's configuration, and its QR code when asked (or on a terminal).
fn show(s: &State, name: &str, qr: &QrArgs) -> anyhow::Result<ExitCode> {
    let conf = match s.phone_config(name) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("phonehome: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let mut out = std::io::stdout().lock();
    out.write_all(conf.as_bytes())?;
    if qr.qr || std::io::stdout().is_terminal() {
        writeln!(out)?;
        out.write_all(vpn::qr::terminal(&conf)?.as_bytes())?;
        writeln!(out, "\nScan it in the WireGuard app: + > Scan from QR code.")?;
    }
    out.flush()?;
    if let Some(path) = &qr.qr_out {
        let svg = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("svg"));
        let bytes = if svg { vpn::qr::svg(&conf)?.into_bytes() } else { vpn::qr::png(&conf, 6)? };
        write_private(path, &bytes)?;
        eprintln!("phonehome: QR code written to {} (mode 0600)", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The state folder when --state is not given (see its help).
pub(crate) fn default_state_dir() -> Option<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("PHONEHOME_VPN_STATE")
        .or_else(|| var("XDG_STATE_HOME").map(|d| d.join("phonehome/vpn")))
        .or_else(|| var("HOME").map(|h| h.join(".local/state/phonehome/vpn")))
}

/// This machine's address on the route to the internet (what a phone on the same network
/// reaches it at), without sending anything: a UDP socket connected to a documentation address.
pub(crate) fn local_address() -> Option<std::net::IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok()?;
    s.local_addr().ok().map(|a| a.ip()).filter(|ip| !ip.is_unspecified())
}

/// The state to run: `dir`'s, or, when there is none yet, a new one with a device "phone" whose
/// configuration and QR code are shown (and, on a terminal, a pause to scan it).
pub(crate) fn state_for_run(dir: &Path, args: &VpnArgs) -> Result<State, String> {
    if dir.join("vpn.toml").exists() {
        return State::open(dir).map_err(|e| e.to_string());
    }
    let port = args.listen.map_or(51820, |l| l.port());
    let endpoint = match &args.endpoint {
        Some(e) => e.clone(),
        None => {
            let ip = local_address()
                .ok_or("no address of this machine to give the phone: give --endpoint HOST:PORT")?;
            std::net::SocketAddr::new(ip, port).to_string()
        }
    };
    let state = State::init(dir, &endpoint, "phone").map_err(|e| e.to_string())?;
    eprintln!(
        "phonehome: VPN state made in {} (keys mode 0600); the phone joins at {endpoint}: scan \
         this in the WireGuard app (+ > Scan from QR code)",
        dir.display()
    );
    let qr = QrArgs { qr: true, qr_out: None };
    show(&state, "phone", &qr).map_err(|e| e.to_string())?;
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        eprint!("Press Enter once the phone has it. ");
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    }
    Ok(state)
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let fail = |e: std::io::Error| anyhow::anyhow!("{}: cannot write: {e}", path.display());
    capture::writer::create_private(path).and_then(|mut f| f.write_all(bytes)).map_err(fail)
}
