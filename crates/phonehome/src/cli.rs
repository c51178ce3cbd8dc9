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
    /// Run the DNS guard (a sinkhole resolver for a network), or show its statistics.
    Guard(crate::cmd::guard::GuardArgs),
    /// Write or check a device profile.
    #[command(subcommand)]
    Profile(ProfileCommand),
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
#[derive(Debug, clap::Args)]
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
    #[command(flatten)]
    pub(crate) data: DataArgs,
}

/// Who runs a destination and where it is (`analyze`, `block`, `lookup`).
#[derive(Debug, clap::Args)]
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
