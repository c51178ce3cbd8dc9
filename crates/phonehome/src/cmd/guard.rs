//! `phonehome guard`: run the DNS guard (`guard::server::run`, which owns its tokio runtime, so
//! this crate stays synchronous), or `phonehome guard stats`.
//!
//! Every flag is also a key of the `--config` TOML file, spelled the same (`blocked-answer =
//! "nxdomain"`, `allow-net = ["10.0.0.0/8"]`); flags given here win over the file, a repeatable
//! flag replacing the file's whole list.

use std::path::PathBuf;
use std::process::ExitCode;

use guard::server::config::Addr;
use guard::server::{BlockedAnswer, Cidr, Options, Settings};

/// Arguments of `phonehome guard`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct GuardArgs {
    /// `stats`: summarise the query log.
    #[command(subcommand)]
    pub(crate) command: Option<GuardCommand>,
    /// A TOML file with the same settings (keys named like the flags); flags win over it.
    /// Read again on SIGHUP.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Address to answer on, UDP and TCP (repeatable; default 127.0.0.1:53; port 0 picks one).
    #[arg(long, value_name = "ADDR:PORT")]
    pub(crate) listen: Vec<Addr>,
    /// Resolver to forward to (repeatable, tried in order with failover; port 53 if omitted).
    #[arg(long, value_name = "ADDR[:PORT]")]
    pub(crate) upstream: Vec<Addr>,
    /// Blocklist: hosts, dnsmasq, Unbound, RPZ, Adblock or plain domain list (repeatable).
    #[arg(long, value_name = "FILE")]
    pub(crate) block: Vec<PathBuf>,
    /// Allowlist, wins over every blocklist (repeatable).
    #[arg(long, value_name = "FILE")]
    pub(crate) allow: Vec<PathBuf>,
    /// SQLite query log (WAL); no log without it.
    #[arg(long, value_name = "PATH")]
    pub(crate) db: Option<PathBuf>,
    /// Answer to blocked names: nxdomain, zero (0.0.0.0 / ::, NODATA for other types; the
    /// default) or refused.
    #[arg(long, value_name = "MODE")]
    pub(crate) blocked_answer: Option<BlockedAnswer>,
    /// Client network served, others get REFUSED (repeatable; default loopback, 10/8,
    /// 172.16/12, 192.168/16, 100.64/10, 169.254/16, fc00::/7, fe80::/10).
    #[arg(long, value_name = "CIDR")]
    pub(crate) allow_net: Vec<Cidr>,
    /// Queries per second per client (token bucket, burst of the same size); over it: REFUSED.
    /// 0 = no limit (the default).
    #[arg(long, value_name = "N")]
    pub(crate) rate_limit: Option<u32>,
    /// Milliseconds per upstream attempt (default 1500); a lookup gives up (SERVFAIL) after twice
    /// that.
    #[arg(long, value_name = "MS")]
    pub(crate) upstream_timeout: Option<u64>,
    /// Cached answers at most (default 10000; 0 = no cache).
    #[arg(long, value_name = "N")]
    pub(crate) cache_size: Option<usize>,
    /// Days of query log kept (default 30; 0 = keep everything).
    #[arg(long, value_name = "N")]
    pub(crate) retention_days: Option<u32>,
}

/// Subcommands of `phonehome guard`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum GuardCommand {
    /// Top blocked and allowed names, per client and per party, over a time window.
    Stats(super::guard_stats::StatsArgs),
}

pub(crate) fn run(args: &GuardArgs) -> anyhow::Result<ExitCode> {
    if let Some(GuardCommand::Stats(a)) = &args.command {
        return super::guard_stats::run(a);
    }
    let options = Options {
        config_file: args.config.clone(),
        cli: Settings {
            listen: args.listen.clone(),
            upstream: args.upstream.clone(),
            block: args.block.clone(),
            allow: args.allow.clone(),
            db: args.db.clone(),
            blocked_answer: args.blocked_answer,
            allow_net: args.allow_net.clone(),
            rate_limit: args.rate_limit,
            upstream_timeout: args.upstream_timeout,
            cache_size: args.cache_size,
            retention_days: args.retention_days,
        },
    };
    guard::server::run(options)?;
    Ok(ExitCode::SUCCESS)
}
