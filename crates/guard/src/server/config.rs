//! The guard's configuration: command-line flags and a TOML file, one shape.
//!
//! Contract:
//! - [`Settings`] is what a user writes, every field optional: the command line fills one, the TOML
//!   file (`--config`, `deny_unknown_fields`, keys spelled like the flags: `blocked-answer`,
//!   `allow-net`...) another; [`Settings::over`] lays the command line over the file (a repeatable
//!   flag given on the command line replaces the file's whole list).
//! - [`Config::resolve`] applies the documented defaults and checks what can be checked without
//!   I/O. Relative paths in the file are taken from the file's directory.
//! - On SIGHUP the file is read again and the command line laid over it once more; the listening
//!   addresses, the database and the retention cannot change without a restart (a warning says so).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use super::GuardError;

/// Default `--upstream-timeout`, milliseconds.
pub const DEFAULT_UPSTREAM_TIMEOUT_MS: u64 = 1500;
/// Default `--cache-size`, entries.
pub const DEFAULT_CACHE_SIZE: usize = 10_000;
/// Default `--listen`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:53";
/// Default `--allow-net`: loopback and the private, CGNAT and link-local ranges.
pub const DEFAULT_ALLOW_NETS: &[&str] = &[
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "fc00::/7",
    "fe80::/10",
];

/// How a blocked name is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockedAnswer {
    /// NXDOMAIN: the name does not exist.
    Nxdomain,
    /// `0.0.0.0` for A, `::` for AAAA, an empty answer (NODATA) for other types (the default, as
    /// Pi-hole's NULL mode and hickory's blocklist do: clients do not retry elsewhere).
    #[default]
    Zero,
    /// REFUSED.
    Refused,
}

impl FromStr for BlockedAnswer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "nxdomain" => Ok(Self::Nxdomain),
            "zero" => Ok(Self::Zero),
            "refused" => Ok(Self::Refused),
            _ => Err(format!("`{s}`: expected nxdomain, zero or refused")),
        }
    }
}

/// An address range, `10.0.0.0/8` or `fc00::/7` (a bare address is a single host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// The prefix length (32 or 128 for a single address).
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The range's address as written.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// True when `ip` is inside the range (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, p) = s.split_once('/').map_or((s, None), |(a, p)| (a, Some(p)));
        let addr: IpAddr = a.parse().map_err(|_| format!("`{s}`: not an address range"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= max)
                .ok_or_else(|| format!("`{s}`: bad prefix length"))?,
        };
        Ok(Self { addr, prefix })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A server address: `192.0.2.53:53`, `[2001:db8::1]:53`, or a bare address (port 53).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addr(pub SocketAddr);

impl FromStr for Addr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Ok(a) = s.parse::<SocketAddr>() {
            return Ok(Self(a));
        }
        s.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .map(|ip| Self(SocketAddr::new(ip, 53)))
            .map_err(|_| format!("`{s}`: expected ADDRESS or ADDRESS:PORT"))
    }
}

impl<'de> Deserialize<'de> for Addr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Settings as written: every field optional (one from the command line, one from the file).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    /// `--listen`: addresses to serve on, UDP and TCP (default `127.0.0.1:53`).
    pub listen: Vec<Addr>,
    /// `--upstream`: resolvers to forward to, tried in order (required).
    pub upstream: Vec<Addr>,
    /// `--block`: blocklist files.
    pub block: Vec<PathBuf>,
    /// `--allow`: allowlist files (they win over blocklists).
    pub allow: Vec<PathBuf>,
    /// `--db`: the SQLite query log (no log without it).
    pub db: Option<PathBuf>,
    /// `--blocked-answer`: nxdomain, zero (default) or refused.
    pub blocked_answer: Option<BlockedAnswer>,
    /// `--allow-net`: client networks served (default [`DEFAULT_ALLOW_NETS`]).
    pub allow_net: Vec<Cidr>,
    /// `--rate-limit`: queries per second per client, 0 = no limit (the default).
    pub rate_limit: Option<u32>,
    /// `--upstream-timeout`: milliseconds per upstream attempt (default 1500).
    pub upstream_timeout: Option<u64>,
    /// `--cache-size`: cached answers, 0 = no cache (default 10,000).
    pub cache_size: Option<usize>,
    /// `--retention-days`: query log rows older than this are pruned (the log's default if unset).
    pub retention_days: Option<u32>,
}

impl Settings {
    /// Reads a TOML file; relative paths in it are taken from its directory.
    pub fn from_file(path: &Path) -> Result<Self, GuardError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| GuardError::Config { path: path.to_owned(), message: e.to_string() })?;
        let mut s: Self = toml::from_str(&text)
            .map_err(|e| GuardError::Config { path: path.to_owned(), message: e.to_string() })?;
        let dir = path.parent().unwrap_or(Path::new(""));
        for p in s.block.iter_mut().chain(s.allow.iter_mut()).chain(s.db.iter_mut()) {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
        Ok(s)
    }

    /// `self` (the command line) laid over `file`: lists given here replace the file's.
    pub fn over(&self, file: Self) -> Self {
        fn list<T: Clone>(top: &[T], below: Vec<T>) -> Vec<T> {
            if top.is_empty() { below } else { top.to_vec() }
        }
        Self {
            listen: list(&self.listen, file.listen),
            upstream: list(&self.upstream, file.upstream),
            block: list(&self.block, file.block),
            allow: list(&self.allow, file.allow),
            db: self.db.clone().or(file.db),
            blocked_answer: self.blocked_answer.or(file.blocked_answer),
            allow_net: list(&self.allow_net, file.allow_net),
            rate_limit: self.rate_limit.or(file.rate_limit),
            upstream_timeout: self.upstream_timeout.or(file.upstream_timeout),
            cache_size: self.cache_size.or(file.cache_size),
            retention_days: self.retention_days.or(file.retention_days),
        }
    }
}

/// The settings with defaults applied.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listening addresses (UDP and TCP on each).
    pub listen: Vec<SocketAddr>,
    /// Upstream resolvers, in order.
    pub upstream: Vec<SocketAddr>,
    /// Blocklist files.
    pub block: Vec<PathBuf>,
    /// Allowlist files.
    pub allow: Vec<PathBuf>,
    /// The query log.
    pub db: Option<PathBuf>,
    /// How blocked names are answered.
    pub blocked_answer: BlockedAnswer,
    /// Client networks served; others get REFUSED.
    pub allow_net: Vec<Cidr>,
    /// Queries per second per client, 0 = unlimited.
    pub rate_limit: u32,
    /// Time allowed to one upstream attempt; a whole lookup gets twice this.
    pub upstream_timeout: Duration,
    /// Cache capacity in entries, 0 = no cache.
    pub cache_size: usize,
    /// Query log retention in days (`None`: the log's default).
    pub retention_days: Option<u32>,
}

impl Config {
    /// Defaults applied and values checked.
    pub fn resolve(s: Settings) -> Result<Self, GuardError> {
        let bad = |m: &str| GuardError::Invalid(m.to_owned());
        if s.upstream.is_empty() {
            return Err(bad("no upstream resolver (--upstream ADDRESS[:PORT])"));
        }
        let listen = if s.listen.is_empty() {
            vec![Addr::from_str(DEFAULT_LISTEN).map_err(|e| bad(&e))?.0]
        } else {
            s.listen.iter().map(|a| a.0).collect()
        };
        let allow_net = if s.allow_net.is_empty() {
            DEFAULT_ALLOW_NETS
                .iter()
                .map(|c| c.parse().map_err(|e: String| bad(&e)))
                .collect::<Result<_, _>>()?
        } else {
            s.allow_net
        };
        let ms = s.upstream_timeout.unwrap_or(DEFAULT_UPSTREAM_TIMEOUT_MS);
        if !(10..=60_000).contains(&ms) {
            return Err(bad("--upstream-timeout must be 10 to 60000 ms"));
        }
        Ok(Self {
            listen,
            upstream: s.upstream.iter().map(|a| a.0).collect(),
            block: s.block,
            allow: s.allow,
            db: s.db,
            blocked_answer: s.blocked_answer.unwrap_or_default(),
            allow_net,
            rate_limit: s.rate_limit.unwrap_or(0),
            upstream_timeout: Duration::from_millis(ms),
            cache_size: s.cache_size.unwrap_or(DEFAULT_CACHE_SIZE),
            retention_days: s.retention_days,
        })
    }

    /// True when `ip` may use the guard.
    pub fn allowed(&self, ip: IpAddr) -> bool {
        self.allow_net.iter().any(|c| c.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains("10.1.2.3".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(c.contains("::ffff:10.9.9.9".parse().unwrap()));
        let h: Cidr = "127.0.0.1".parse().unwrap();
        assert!(!h.contains("127.0.0.2".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        let v6: Cidr = "fc00::/7".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
    }

    #[test]
    fn file_and_flags() {
        let file: Settings = toml::from_str(
            "listen = [\"127.0.0.1:5353\"]\nupstream = [\"192.0.2.53\"]\nblocked-answer = \"refused\"\nrate-limit = 5\n",
        )
        .unwrap();
        let cli = Settings { rate_limit: Some(9), ..Settings::default() };
        let c = Config::resolve(cli.over(file)).unwrap();
        assert_eq!(c.upstream, vec!["192.0.2.53:53".parse().unwrap()]);
        assert_eq!(c.blocked_answer, BlockedAnswer::Refused);
        assert_eq!(c.rate_limit, 9);
        assert!(toml::from_str::<Settings>("nonsense = 1").is_err());
    }
}
