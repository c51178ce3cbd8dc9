//! Command-line arguments (the "low" layer: plain data, validated by clap only).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Printed when `phonehome` runs without arguments.
pub(crate) const SHORT_USAGE: &str = "\
phonehome: what a phone (or any device) sends home, from a packet capture.

Try it on the demo capture shipped with the source:
    phonehome analyze examples/demo.pcapng --profile examples/profile.toml -o report.html
    phonehome analyze examples/demo.pcapng --profile examples/profile.toml
    phonehome flows examples/demo.pcapng
    phonehome events examples/demo.pcapng --format text

Commands:
    analyze CAPTURE... [--profile P] [-o report.html|.json|.md]
                       the personal data the device sent, to whom, where, how protected
    flows   CAPTURE...   one row per connection, each destination named
    events  CAPTURE...   DNS, TLS, QUIC and HTTP events, one per line
    block   REPORT.json|CAPTURE... --format hosts|adblock|dnsmasq|unbound|rpz|nftables|suricata
                       a blocklist of what the report found, for the filter you run
    guard   --listen ADDR --upstream ADDR --block LIST [--db guard.sqlite]
                       a DNS sinkhole for your network; `guard stats` reads its query log
    profile init | check P             write or check a device profile
    lookup  HOST|IP...   who runs a host, where an address is (offline)
    watch   -i IFACE [--filter BPF] [--write s.pcapng] [-o report.html] | --replay CAPTURE
                       live: findings as the traffic flows; Ctrl-C writes the report

Run `phonehome help` or `phonehome COMMAND --help` for more.
";

/// phonehome: shows what a phone (or any device) sends home, from pcap/pcapng captures.
#[derive(Debug, Parser)]
#[command(name = "phonehome", version, about, long_about = None)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List protocol events (DNS queries and answers, TLS and QUIC hellos, HTTP messages).
    Events(EventsArgs),
    /// List flows (connections): who talked to whom, named, with counters.
    Flows(FlowsArgs),
    /// Find the personal data the device sent: from a device profile, and profile-less detectors.
    /// Exit code 0: nothing found; 1: findings; 2: error.
    Analyze(AnalyzeArgs),
    /// Write a blocklist of the destinations a report (or captures) shows, for Pi-hole, AdGuard,
    /// dnsmasq, Unbound, RPZ, hosts files, nftables or Suricata.
    Block(crate::cmd::block::BlockArgs),
    /// Compare two runs (reports or captures): destinations, parties, data and protection that
    /// changed, worst first. Exit code 0: no change; 1: changes (see --fail-on); 2: error.
    Diff(crate::cmd::diff::DiffArgs),
    /// Summarise many devices' reports (`analyze --out DIR`): devices × parties × kinds of data.
    /// Exit code 0; 2 when a report could not be read (the others are summarised).
    Fleet(crate::cmd::fleet::FleetArgs),
    /// Run the DNS guard (a sinkhole resolver for a network), or show its statistics.
    Guard(crate::cmd::guard::GuardArgs),
    /// Write or check a device profile.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Watch live: capture on an interface (or replay a capture as if live), analyse as the
    /// traffic flows, show findings as they appear (terminal, JSON lines, browser), write the
    /// packets to a rotating pcapng and the final report at the stop (Ctrl-C or SIGTERM).
    /// Exit code as `analyze`.
    Watch(WatchArgs),
    /// The WireGuard gateway a phone joins: `vpn init` makes its keys and prints the phone's
    /// configuration (text and QR code); `vpn peers` manages the devices.
    Vpn(crate::cmd::vpn::VpnArgs),
    /// Who runs a host name (organisation, category, headquarters, which database said so), and
    /// where an IP address is (country, network): what `analyze` would say, offline.
    Lookup(LookupArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct LookupArgs {
    /// Host names and IP addresses; `-` reads one per line from standard input (`#` comments).
    #[arg(required = true, value_name = "NAME|IP")]
    pub(crate) names: Vec<String>,
    /// One JSON object per line instead of text.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) data: DataArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct AnalyzeArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    #[command(flatten)]
    pub(crate) analysis: AnalysisArgs,
    /// Output format. Default: from the extension of `--output` (`.json`, `.md`, `.html`), else
    /// text.
    #[arg(long, value_enum)]
    pub(crate) format: Option<AnalyzeFormat>,
    /// Write the report to this file instead of standard output; a one-line verdict still goes to
    /// standard error.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Analyse every capture on its own (a folder stands for the captures in it and its
    /// `manifest.csv`) and write one report each to this folder, `NAME.json` (or the
    /// `--format`'s extension); see `--jobs` and `--manifest`.
    #[arg(long, value_name = "DIR", conflicts_with = "output")]
    pub(crate) out: Option<PathBuf>,
    /// With `--out`: captures analysed at once (default: every core). The reports do not depend
    /// on it.
    #[arg(long, value_name = "N", requires = "out", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) jobs: Option<u16>,
    /// With `--out`: a CSV file labelling captures, with a header naming its columns: `capture`
    /// (a path, absolute or relative to the manifest) and any of `device`, `model`, `firmware`.
    #[arg(long, value_name = "CSV", requires = "out")]
    pub(crate) manifest: Option<PathBuf>,
    /// Only what this app sent (a package such as `com.miui.analytics`, or a uid), when the
    /// capture says which app made each connection (PCAPdroid's metadata).
    #[arg(long, value_name = "PACKAGE")]
    pub(crate) app: Option<String>,
    #[command(flatten)]
    pub(crate) report: ReportOptions,
}

/// How a report is made and judged (`analyze`, `watch`).
#[derive(Debug, clap::Args)]
pub(crate) struct ReportOptions {
    /// Exit with code 1 only when a finding at or above this severity exists (default: any
    /// finding). For CI: `--fail-on high`.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub(crate) fail_on: Option<FailOn>,
    /// Colour in the text report: `auto` colours a terminal (and honours NO_COLOR).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub(crate) color: ColorChoice,
    /// Show identifiers as they are (they are masked by default: the report is personal data too).
    #[arg(long)]
    pub(crate) reveal: bool,
    /// Also look in what servers sent back (server-to-client streams).
    #[arg(long)]
    pub(crate) scan_responses: bool,
    /// Do not compute the captures' SHA-256 (reported as null). SHA-256 runs on a second core
    /// with the CPU's SHA instructions (about 1.8 GB/s), as fast as the analysis of a phone-like
    /// capture: skip it for the fastest runs.
    #[arg(long)]
    pub(crate) no_hash: bool,
}

/// How captures are analysed into a report (`analyze`, and `block` when given captures).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct AnalysisArgs {
    /// Device profile (TOML): the identifiers, contacts, messages and location to look for.
    /// Without it only the profile-less detectors run.
    #[arg(long, value_name = "PROFILE")]
    pub(crate) profile: Option<PathBuf>,
    /// Compile the profile afresh and leave the compiled-profile cache alone (by default a
    /// profile compiled once is read back from `$XDG_CACHE_HOME/phonehome`, or
    /// `$PHONEHOME_CACHE_DIR`, mode 0600: it holds the profile's data).
    #[arg(long)]
    pub(crate) no_cache: bool,
    /// The device these captures are of (`pixel-7`, `redmi-2014`): every finding, destination
    /// and capture of the report names it, so that reports of several devices can be told
    /// apart and compared.
    #[arg(long, value_name = "NAME")]
    pub(crate) device: Option<String>,
    #[command(flatten)]
    pub(crate) data: DataArgs,
}

/// Who runs a destination and where it is (`analyze`, `block`, `lookup`).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct DataArgs {
    /// Your own entity file (same format as the built-in `crates/report/data/entities.toml`):
    /// adds organisations or overrides built-in ones.
    #[arg(long, value_name = "FILE")]
    pub(crate) entities: Option<PathBuf>,
    /// A country database in MaxMind format (e.g. GeoLite2-Country.mmdb) instead of the open data
    /// that `scripts/geo-setup.sh` puts in `data/geo/`.
    #[arg(long, value_name = "PATH", conflicts_with = "no_geo")]
    pub(crate) geo_db: Option<PathBuf>,
    /// Do not look up countries and networks (the same report on every machine, whatever geo data
    /// it has).
    #[arg(long)]
    pub(crate) no_geo: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AnalyzeFormat {
    /// For a terminal: verdict, then parties, destinations and data.
    Text,
    /// One JSON document (schema `phonehome.report/1`, described by schema/report.schema.json).
    Json,
    /// Markdown, for a bug report or an article.
    Md,
    /// One self-contained HTML page (no external resources).
    Html,
    /// Suricata EVE JSON alerts, one line per finding (for Filebeat's Suricata module, Splunk,
    /// Wazuh).
    Eve,
    /// Apache Parquet tables (findings, destinations, captures), hive-partitioned by device,
    /// for DuckDB, Spark, Trino, ClickHouse, pandas; with `--out DIR` only.
    Parquet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FailOn {
    /// Any finding.
    Info,
    /// Low and above.
    Low,
    /// Medium and above.
    Medium,
    /// High and above.
    High,
    /// Critical only.
    Critical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    /// Colour when standard output is a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProfileCommand {
    /// Print a commented profile template (redirect it to a file and fill it in).
    Init,
    /// Validate a profile and print how many search variants it produces.
    Check {
        /// The profile file.
        profile: PathBuf,
        /// Print every search variant instead, one per line: bytes in hex, data kind, item,
        /// encoding, tab-separated (for benchmarks: bench/analyze.sh turns them into Suricata
        /// rules).
        #[arg(long, hide = true)]
        variants: bool,
    },
}

/// Options shared by every command that reads captures.
#[derive(Debug, clap::Args)]
pub(crate) struct InputArgs {
    /// Capture files (pcap or pcapng, optionally gzip/zstd-compressed); `-` reads standard input.
    /// Several files are processed in the order given, as one timeline.
    #[arg(required = true, value_name = "CAPTURE")]
    pub(crate) captures: Vec<PathBuf>,
    /// TLS key log (NSS `SSLKEYLOGFILE` format: browsers, curl, OpenSSL, mitmproxy, Frida
    /// scripts) for opening TLS; repeatable. Secrets in a pcapng's Decryption Secrets Blocks are
    /// read without it.
    #[arg(long = "keylog", value_name = "FILE")]
    pub(crate) keylogs: Vec<PathBuf>,
    /// Print the run's counters (limits hit, anomalies, skipped frames) on standard error.
    #[arg(long)]
    pub(crate) stats: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct EventsArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = EventsFormat::Jsonl)]
    pub(crate) format: EventsFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum EventsFormat {
    /// One JSON object per line (the stable contract).
    Jsonl,
    /// One human-readable line per event.
    Text,
}

#[derive(Debug, clap::Args)]
pub(crate) struct FlowsArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FlowsFormat::Table)]
    pub(crate) format: FlowsFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FlowsFormat {
    /// Aligned columns for a terminal.
    Table,
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header line.
    Csv,
}

#[derive(Debug, clap::Args)]
pub(crate) struct WatchArgs {
    /// Network interface to capture on (`wlan0`, `eth0`, `any`): needs root or the capabilities
    /// CAP_NET_RAW and CAP_NET_ADMIN, and a build with the `live` feature (libpcap).
    #[arg(short, long, value_name = "IFACE", required_unless_present_any = ["replay", "list_interfaces"], conflicts_with = "replay")]
    pub(crate) interface: Option<String>,
    /// Read a capture as if it were live, paced by its timestamps (see --speed); repeatable, in
    /// order, as one timeline. Everything but the interface works the same.
    #[arg(long, value_name = "CAPTURE")]
    pub(crate) replay: Vec<PathBuf>,
    /// Replay speed: 1 as recorded, 10 ten times faster, `max` as fast as phonehome reads.
    #[arg(long, value_name = "N|max", default_value = "1", value_parser = parse_speed)]
    pub(crate) speed: Speed,
    /// List the interfaces that can be captured on, and exit.
    #[arg(long)]
    pub(crate) list_interfaces: bool,
    /// Capture filter, in the BPF language of tcpdump and Wireshark: `host 192.168.4.23` (the
    /// phone), `not port 22`.
    #[arg(long, value_name = "BPF")]
    pub(crate) filter: Option<String>,
    /// Bytes kept of each packet (default: whole packets, 262144).
    #[arg(long, value_name = "BYTES", default_value_t = live::DEFAULT_SNAPLEN)]
    pub(crate) snaplen: u32,
    /// Promiscuous mode (off by default: the traffic of this machine and what it routes, which
    /// is all of the phone's on the access point or gateway it uses).
    #[arg(long)]
    pub(crate) promiscuous: bool,
    #[command(flatten)]
    pub(crate) write: WriteArgs,
    #[command(flatten)]
    pub(crate) session: SessionArgs,
    #[command(flatten)]
    pub(crate) guard: WatchGuardArgs,
}

/// The pcapng a live session writes, and its rotation (`watch`, `vpn`).
#[derive(Debug, clap::Args)]
pub(crate) struct WriteArgs {
    /// Write what is captured to this pcapng (mode 0600; the next files of a rotation are
    /// NAME-2.pcapng, NAME-3.pcapng, ...): the evidence of every finding, and a session that
    /// `analyze` can read again. The VPN gateway writes one per device: NAME-DEVICE.pcapng.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) write: Option<PathBuf>,
    /// Start the next pcapng file when the current one reaches this size (`500M`, `2G`).
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = parse_size)]
    pub(crate) rotate_size: u64,
    /// Start the next pcapng file after this much capture time (`30m`, `1h`, `1d`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) rotate_time: Option<std::time::Duration>,
    /// pcapng files kept; the oldest is deleted beyond (never an unbounded session).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub(crate) rotate_files: usize,
}

/// What a live session analyses, shows and writes at its end (`watch`, `vpn`).
#[derive(Debug, clap::Args)]
pub(crate) struct SessionArgs {
    /// TLS key log to open TLS with (NSS format, as SSLKEYLOGFILE writes it); repeatable.
    /// `watch` reads it at the start; `vpn` follows it as it grows.
    #[arg(long = "keylog", value_name = "FILE")]
    pub(crate) keylogs: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) analysis: AnalysisArgs,
    /// Write the final report here at the stop (format from the extension, as `analyze -o`).
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Format of the final report (default: from the extension of --output, else text).
    #[arg(long, value_enum)]
    pub(crate) format: Option<AnalyzeFormat>,
    /// Print the live stream as JSON lines (schema `phonehome.live/1`, described by
    /// schema/live.schema.json) instead of the terminal view: for scripts and a SIEM.
    #[arg(long)]
    pub(crate) jsonl: bool,
    /// Serve the live view in a browser on this address (`127.0.0.1:8080`): the verdict,
    /// findings, destinations by party and country, first contacts, a button to download the
    /// report. Another address than loopback needs a token (--web-token, or a random one that
    /// is printed).
    #[arg(long, value_name = "ADDR:PORT")]
    pub(crate) web: Option<std::net::SocketAddr>,
    /// The token every request to the live view must carry (`?token=` or `Authorization:
    /// Bearer`); without it a non-loopback --web gets a random one.
    #[arg(long, value_name = "TOKEN", requires = "web")]
    pub(crate) web_token: Option<String>,
    /// Seconds between refreshes of the views.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    pub(crate) refresh: f64,
    #[command(flatten)]
    pub(crate) report: ReportOptions,
    /// Print the session's counters on standard error at the end.
    #[arg(long)]
    pub(crate) stats: bool,
}

/// A replay speed: a factor, or as fast as possible.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Speed {
    /// Capture time runs this many times faster than the wall clock.
    Factor(f64),
    /// No pacing.
    Max,
}

fn parse_speed(s: &str) -> Result<Speed, String> {
    if s.eq_ignore_ascii_case("max") {
        return Ok(Speed::Max);
    }
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() && f > 0.0 => Ok(Speed::Factor(f)),
        _ => Err(format!("{s:?}: a positive number (1 = as recorded) or `max`")),
    }
}

/// A number with an optional unit letter (case-insensitive when `fold`), times the unit's
/// factor; `None` when malformed or overflowing.
fn suffixed(s: &str, units: &[(char, u64)], fold: bool) -> Option<u64> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let c = if fold { c.to_ascii_uppercase() } else { c };
            (&t[..i], units.iter().find(|(u, _)| *u == c)?.1)
        }
        _ => (t, 1),
    };
    num.trim().parse::<u64>().ok()?.checked_mul(mult)
}

/// `1G`, `500M`, `64K`, `1000` (bytes; powers of 1024).
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    const UNITS: [(char, u64); 4] =
        [('K', 1 << 10), ('M', 1 << 20), ('G', 1 << 30), ('T', 1 << 40)];
    suffixed(s, &UNITS, true)
        .filter(|&n| n >= 4096)
        .ok_or_else(|| format!("{s:?}: a size like 500M or 2G (at least 4K)"))
}

/// `90s`, `30m`, `1h`, `1d`, `3600` (seconds).
pub(crate) fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    const UNITS: [(char, u64); 4] = [('s', 1), ('m', 60), ('h', 3600), ('d', 86400)];
    suffixed(s, &UNITS, false)
        .filter(|&n| n > 0)
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| format!("{s:?}: a duration like 90s, 30m, 1h or 1d"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_durations_and_speeds() {
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("500m"), Ok(500 << 20));
        assert_eq!(parse_size("8192"), Ok(8192));
        assert!(parse_size("10").is_err() && parse_size("5Q").is_err() && parse_size("").is_err());
        assert!(parse_size("99999999999T").is_err());
        assert_eq!(parse_duration("30m"), Ok(std::time::Duration::from_secs(1800)));
        assert_eq!(parse_duration("1d"), Ok(std::time::Duration::from_secs(86400)));
        assert!(parse_duration("0").is_err() && parse_duration("3x").is_err());
        assert_eq!(parse_speed("max"), Ok(Speed::Max));
        assert_eq!(parse_speed("2.5"), Ok(Speed::Factor(2.5)));
        assert!(parse_speed("0").is_err() && parse_speed("nan").is_err());
    }
}

/// The DNS guard alongside a live session (`watch --guard`): the guard's own settings, named
/// `--guard-*` here (or its `--config` file as `--guard-config`).
#[derive(Debug, clap::Args)]
pub(crate) struct WatchGuardArgs {
    /// Run the DNS guard in the same process (as `phonehome guard`): one command on an access
    /// point watches and blocks; the live view shows what it blocked per device.
    #[arg(long)]
    pub(crate) guard: bool,
    /// The guard's TOML settings (as `phonehome guard --config`); the flags below win over it.
    #[arg(long, value_name = "FILE", requires = "guard")]
    pub(crate) guard_config: Option<PathBuf>,
    /// Address the guard answers on, UDP and TCP (repeatable; default 127.0.0.1:53).
    #[arg(long, value_name = "ADDR:PORT", requires = "guard")]
    pub(crate) guard_listen: Vec<guard::server::config::Addr>,
    /// Resolver the guard forwards to (repeatable).
    #[arg(long, value_name = "ADDR[:PORT]", requires = "guard")]
    pub(crate) guard_upstream: Vec<guard::server::config::Addr>,
    /// Blocklist of the guard (repeatable; `phonehome block` writes one from a report).
    #[arg(long, value_name = "FILE", requires = "guard")]
    pub(crate) guard_block: Vec<PathBuf>,
    /// Allowlist of the guard (repeatable).
    #[arg(long, value_name = "FILE", requires = "guard")]
    pub(crate) guard_allow: Vec<PathBuf>,
    /// The guard's SQLite query log.
    #[arg(long, value_name = "PATH", requires = "guard")]
    pub(crate) guard_db: Option<PathBuf>,
}
