//! Command-line arguments (the "low" layer: plain data, validated by clap only).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Printed when `phonehome` runs without arguments.
pub(crate) const SHORT_USAGE: &str = "\
phonehome: what a phone (or any device) sends home, from a packet capture.

Try it on the demo capture shipped with the source:
    phonehome flows examples/demo.pcapng
    phonehome events examples/demo.pcapng --format text

Commands:
    flows   CAPTURE...   one row per connection, each destination named
    events  CAPTURE...   DNS, TLS, QUIC and HTTP events, one per line

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
}

/// Options shared by every command that reads captures.
#[derive(Debug, clap::Args)]
pub(crate) struct InputArgs {
    /// Capture files (pcap or pcapng, optionally gzip/zstd-compressed); `-` reads standard input.
    /// Several files are processed in the order given, as one timeline.
    #[arg(required = true, value_name = "CAPTURE")]
    pub(crate) captures: Vec<PathBuf>,
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
