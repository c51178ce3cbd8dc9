//! Blocklists and allowlists compiled into one matcher.
//!
//! Every common list format is read, detected line by line (a file may even mix them), so a
//! list is used as it was downloaded:
//!
//! | format | example line | matches |
//! |---|---|---|
//! | hosts file | `0.0.0.0 ads.example.com`, `127.0.0.1 a b c` | the name only (hosts files know no subdomains) |
//! | dnsmasq | `address=/x/0.0.0.0`, `address=/x/`, `address=/x/#`, `local=/x/`, `server=/x/` | x and all its subdomains (a dnsmasq domain is a zone); `server=/x/IP` forwards and is skipped |
//! | Unbound | `local-zone: "x" always_nxdomain` (`deny`, `refuse`, `static`, `redirect`, `always_*`) | x and all its subdomains (a zone) |
//! | Unbound | `local-data: "x A 0.0.0.0"` | x only |
//! | Unbound | `local-zone: "x" always_transparent` | allows x and its subdomains |
//! | RPZ zone | `x CNAME .`, `x CNAME *.`, `x CNAME rpz-drop.`, `x A 0.0.0.0` | x only |
//! | RPZ zone | `*.x CNAME .` | the subdomains of x, not x |
//! | RPZ zone | `x CNAME rpz-passthru.`, `*.x CNAME rpz-passthru.` | allows x (its subdomains) |
//! | AdGuard/Adblock | `\|\|x^`, `\|\|x^$important` | x and all its subdomains |
//! | AdGuard/Adblock | `\|x^` | x only |
//! | AdGuard/Adblock | `@@\|\|x^` | allows x and its subdomains |
//! | plain list | `x` | x and all its subdomains (what Pi-hole's and AdGuard's domain lists mean) |
//! | wildcard | `*.x` | the subdomains of x, not x |
//! | address | `203.0.113.7`, `198.51.100.0/24`, `2001:db8::/32` | connections to it ([`Rules::check_addr`], the VPN gateway's); names are not checked against it |
//!
//! Comments (`#`, `!`, `;`, `//`), `[Adblock Plus 2.0]` headers, cosmetic rules (`##`, `#@#`,
//! `#?#`, `#$#`), RPZ `$ORIGIN`/`$TTL` and SOA/NS records (parentheses spanning lines too), the
//! usual `localhost`/`broadcasthost` lines of hosts files and Unbound `server:` lines are skipped
//! silently. Adblock options (`$important`, `$third-party`, `$client=`...) are accepted and
//! ignored, except `$badfilter`, which skips its line. In an allowlist
//! ([`ListKind::Allow`]) every rule allows, whatever its syntax says; in a blocklist a line that
//! says "allow" (`@@`, `rpz-passthru.`, `always_transparent`) allows.
//!
//! Names are lower-cased, a trailing dot is dropped; IDNs must be written in punycode (`xn--`),
//! which is kept as is (UTF-8 names are rejected: a query never carries them). A name is at most
//! [`MAX_NAME_LEN`] bytes, labels at most [`MAX_LABEL_LEN`], letters, digits, `-` and `_` only.
//! A rule that covers subdomains must sit below a public suffix (the ICANN section of the Public
//! Suffix List, unknown top-level domains included): `*.com`, `*.co.uk`, `||com^`, `address=/uk/`
//! are rejected with a warning, since they would block a whole country or TLD. Private suffixes
//! (`blogspot.com`) are a company's domain and accepted.
//!
//! Hostile input: invalid lines are skipped and counted, the first [`MAX_KEPT_ERRORS`] of each list
//! kept with file, line and reason; a line longer than [`MAX_LINE_LEN`] is invalid; at most
//! [`MAX_RULES`] rules are kept (the rest are counted in [`LoadReport::over_cap`]); nothing panics.
//!
//! Matching ([`Rules::check`]) looks the name up in one hash map, then each parent name in turn
//! (`a.b.example.com`, `b.example.com`, `example.com`, `com`): one hash per label, no allocation.
//! An allow rule anywhere on that walk wins over any block rule; among rules of one kind the most
//! specific (longest) name is reported.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod addr;
mod parse;
#[cfg(test)]
mod tests;

/// Longest name accepted, in bytes, without the trailing dot (RFC 1035: 255 on the wire).
pub const MAX_NAME_LEN: usize = 253;
/// Longest label accepted (RFC 1035).
pub const MAX_LABEL_LEN: usize = 63;
/// Longest line read; longer lines are invalid (no list format needs more than a name and a few
/// options).
pub const MAX_LINE_LEN: usize = 4096;
/// Most rules kept over all lists (about 0.5 GiB of memory at the cap); further rules are counted
/// in [`LoadReport::over_cap`].
pub const MAX_RULES: usize = 5_000_000;
/// Invalid lines kept with their position and reason, per list (all are counted).
pub const MAX_KEPT_ERRORS: usize = 10;
/// Largest list file read by [`load_files`] (1 GiB).
pub const MAX_FILE_LEN: u64 = 1 << 30;

/// Whether a list blocks or allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListKind {
    /// A blocklist (lines that say "allow" still allow).
    Block,
    /// An allowlist: every rule allows.
    Allow,
}

impl ListKind {
    /// `block` or `allow`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Allow => "allow",
        }
    }
}

/// A listed name that matched a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match<'a> {
    /// Block or allow.
    pub kind: ListKind,
    /// The listed name that matched: the query name, or a parent of it for a subdomain rule.
    pub name: &'a str,
    /// The list the rule came from (file name, or the source name given to the builder).
    pub source: &'a str,
    /// Line number in that list (1-based).
    pub line: u32,
    /// The rule as written (trimmed, at most 200 bytes).
    pub text: &'a str,
}

impl fmt::Display for Match<'_> {
    /// `ads.example.com (tracker.txt:12)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}:{})", self.name, self.source, self.line)
    }
}

/// One invalid line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// The list.
    pub source: String,
    /// Line number (1-based).
    pub line: u32,
    /// Why it was skipped.
    pub reason: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.source, self.line, self.reason)
    }
}

/// What loading one list gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListStats {
    /// The list's name.
    pub source: String,
    /// Lines read.
    pub lines: u64,
    /// Rules added (a hosts line with three names adds three).
    pub rules: u64,
    /// Rules whose name and match mode were already listed with the same verdict (first kept).
    pub duplicates: u64,
    /// Lines skipped on purpose: comments, headers, cosmetic rules, SOA/NS records.
    pub ignored: u64,
    /// Lines (or names of a line) skipped as invalid or unsupported.
    pub invalid: u64,
    /// The first [`MAX_KEPT_ERRORS`] invalid lines.
    pub errors: Vec<LineError>,
}

/// What loading all lists gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// One entry per list, in the order added.
    pub lists: Vec<ListStats>,
    /// Block rules in the matcher.
    pub block_rules: u64,
    /// Allow rules in the matcher.
    pub allow_rules: u64,
    /// Rules dropped because [`MAX_RULES`] was reached.
    pub over_cap: u64,
}

impl LoadReport {
    /// Invalid lines over all lists.
    pub fn invalid(&self) -> u64 {
        self.lists.iter().map(|l| l.invalid).sum()
    }
}

/// Why lists could not be loaded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_FILE_LEN`].
    #[error("{}: more than {limit} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
}

/// Index of a rule in [`Rules::rules`]; `NONE` when a slot is empty.
type RuleId = u32;
const NONE: RuleId = RuleId::MAX;

/// The rules listed for one name: for the name itself and for its subdomains, per kind.
#[derive(Debug, Clone, Copy)]
struct Slots {
    block_exact: RuleId,
    block_below: RuleId,
    allow_exact: RuleId,
    allow_below: RuleId,
}

impl Default for Slots {
    fn default() -> Self {
        Self { block_exact: NONE, block_below: NONE, allow_exact: NONE, allow_below: NONE }
    }
}

/// Where a rule came from.
#[derive(Debug, Clone)]
struct RuleInfo {
    source: u32,
    line: u32,
    text: Arc<str>,
}

/// FxHash (rustc's hasher): keys are list entries chosen by the operator, and queries only look
/// up, so hash flooding buys an attacker nothing; SipHash would cost a third of a lookup.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0xf135_7aea_2e62_a9c5;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(26) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(26) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    fn write_u8(&mut self, b: u8) {
        self.write(&[b]);
    }
    fn finish(&self) -> u64 {
        self.0.rotate_left(20)
    }
}

type Map = HashMap<Box<str>, Slots, BuildHasherDefault<FxHasher>>;

/// Compiled blocklists and allowlists. Cheap to query from many threads (`&self`, no locks).
#[derive(Debug, Clone, Default)]
pub struct Rules {
    map: Map,
    rules: Vec<RuleInfo>,
    sources: Vec<Box<str>>,
    addresses: addr::Addresses,
}

impl Rules {
    /// A builder to add lists to.
    pub fn builder() -> RulesBuilder {
        RulesBuilder::default()
    }

    /// Number of rules (block and allow).
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when no rule is listed.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether `name` is listed: `None` when no rule matches; an allow rule wins over every
    /// block rule. `name` may carry a trailing dot and any case; names longer than
    /// [`MAX_NAME_LEN`] or with an empty label match nothing.
    pub fn check(&self, name: &str) -> Option<Match<'_>> {
        let name = name.strip_suffix('.').unwrap_or(name);
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return None;
        }
        let mut buf = [0u8; MAX_NAME_LEN];
        let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            let out = &mut buf[..name.len()];
            out.copy_from_slice(name.as_bytes());
            out.make_ascii_lowercase();
            std::str::from_utf8(out).ok()?
        } else {
            name
        };
        let (mut block, mut allow) = (None, None);
        let mut rest = name;
        let mut exact = true;
        loop {
            if let Some((key, s)) = self.map.get_key_value(rest) {
                let (b, a) = if exact {
                    (s.block_exact, s.allow_exact)
                } else {
                    (s.block_below, s.allow_below)
                };
                // The walk goes from the longest name up: the first hit is the most specific.
                if a != NONE && allow.is_none() {
                    allow = Some((key, a));
                }
                if b != NONE && block.is_none() {
                    block = Some((key, b));
                }
            }
            match rest.find('.') {
                Some(i) => rest = &rest[i + 1..],
                None => break,
            }
            exact = false;
        }
        let (kind, (key, id)) = match (allow, block) {
            (Some(a), _) => (ListKind::Allow, a),
            (None, Some(b)) => (ListKind::Block, b),
            (None, None) => return None,
        };
        self.matched(kind, id, key)
    }

    /// The match of rule `id`, of kind `kind`, that matched as `name`.
    fn matched<'a>(&'a self, kind: ListKind, id: RuleId, name: &'a str) -> Option<Match<'a>> {
        let info = self.rules.get(id as usize)?;
        Some(Match {
            kind,
            name,
            source: self.sources.get(info.source as usize).map_or("", |s| s),
            line: info.line,
            text: &info.text,
        })
    }

    /// Whether address `ip` is listed (a line of a list that is an address or a range, for a
    /// gateway's connections; the DNS guard does not use them): an allow rule wins, else the
    /// most specific block rule.
    pub fn check_addr(&self, ip: std::net::IpAddr) -> Option<Match<'_>> {
        let (kind, id, net) = self.addresses.check(ip)?;
        self.matched(kind, id, net)
    }

    /// Address rules (see [`Rules::check_addr`]).
    pub fn address_rules(&self) -> usize {
        self.addresses.len()
    }

    /// True when `name` (or a parent, by a subdomain rule) is blocked and not allowed.
    pub fn is_blocked(&self, name: &str) -> bool {
        self.check(name).is_some_and(|m| m.kind == ListKind::Block)
    }
}

/// Collects lists, then compiles them ([`RulesBuilder::build`]).
#[derive(Debug)]
pub struct RulesBuilder {
    rules: Rules,
    report: LoadReport,
    max_rules: usize,
}

impl Default for RulesBuilder {
    fn default() -> Self {
        Self { rules: Rules::default(), report: LoadReport::default(), max_rules: MAX_RULES }
    }
}

/// One rule a line gave, before it goes into the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parsed<'a> {
    /// The name, lower-case, validated.
    pub(crate) name: &'a str,
    /// Matches the name itself.
    pub(crate) exact: bool,
    /// Matches its subdomains.
    pub(crate) below: bool,
    /// The line says "allow".
    pub(crate) allow: bool,
}

impl RulesBuilder {
    /// Keeps at most `max` rules (default and upper bound [`MAX_RULES`]); further rules are
    /// counted in [`LoadReport::over_cap`].
    pub fn max_rules(&mut self, max: usize) -> &mut Self {
        self.max_rules = max.min(MAX_RULES);
        self
    }

    /// Adds one list: `text` in any of the formats of the module doc, `source` its name in
    /// matches and errors (e.g. the file name).
    pub fn add_list(&mut self, text: &[u8], source: &str, kind: ListKind) -> &mut Self {
        let source_id = self.rules.sources.len() as u32;
        self.rules.sources.push(source.into());
        let mut stats = ListStats { source: source.to_owned(), ..ListStats::default() };
        let text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text);
        let mut state = parse::FileState::default();
        let mut lines = text.split(|&b| b == b'\n').enumerate().peekable();
        while let Some((i, raw)) = lines.next() {
            let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
            if raw.is_empty() && lines.peek().is_none() {
                break;
            }
            stats.lines += 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let err = |stats: &mut ListStats, reason: String| {
                stats.invalid += 1;
                if stats.errors.len() < MAX_KEPT_ERRORS {
                    stats.errors.push(LineError {
                        source: source.to_owned(),
                        line: line_no,
                        reason,
                    });
                }
            };
            if raw.len() > MAX_LINE_LEN {
                err(&mut stats, format!("line longer than {MAX_LINE_LEN} bytes"));
                continue;
            }
            let Ok(line) = std::str::from_utf8(raw) else {
                err(&mut stats, "not UTF-8 text".into());
                continue;
            };
            let mut lower = line.trim().to_owned();
            lower.make_ascii_lowercase();
            let mut names: Vec<Parsed<'_>> = Vec::new();
            let mut bad: Vec<String> = Vec::new();
            match parse::line(&lower, &mut state, &mut names, &mut bad) {
                parse::Outcome::Ignored => stats.ignored += 1,
                parse::Outcome::Invalid(reason) => err(&mut stats, reason),
                parse::Outcome::Address(net) => {
                    if self.rules.rules.len() >= self.max_rules {
                        self.report.over_cap += 1;
                    } else {
                        let id = self.rules.rules.len() as RuleId;
                        let text: Arc<str> = truncate(line.trim(), 200).into();
                        self.rules.rules.push(RuleInfo { source: source_id, line: line_no, text });
                        let allow = kind == ListKind::Allow;
                        self.rules.addresses.insert(net, allow, id);
                        stats.rules += 1;
                        if allow {
                            self.report.allow_rules += 1;
                        } else {
                            self.report.block_rules += 1;
                        }
                    }
                }
                parse::Outcome::Rules => {
                    let text: Arc<str> = truncate(line.trim(), 200).into();
                    for p in &names {
                        let allow = p.allow || kind == ListKind::Allow;
                        self.insert(p, allow, source_id, line_no, &text, &mut stats);
                    }
                }
            }
            for reason in bad {
                err(&mut stats, reason);
            }
        }
        self.report.lists.push(stats);
        self
    }

    fn insert(
        &mut self,
        p: &Parsed<'_>,
        allow: bool,
        source: u32,
        line: u32,
        text: &Arc<str>,
        stats: &mut ListStats,
    ) {
        if self.rules.rules.len() >= self.max_rules {
            self.report.over_cap += 1;
            return;
        }
        let id = self.rules.rules.len() as RuleId;
        let slots = match self.rules.map.get_mut(p.name) {
            Some(s) => s,
            None => self.rules.map.entry(p.name.into()).or_default(),
        };
        let (exact, below) = if allow {
            (&mut slots.allow_exact, &mut slots.allow_below)
        } else {
            (&mut slots.block_exact, &mut slots.block_below)
        };
        let mut added = false;
        for (wanted, slot) in [(p.exact, exact), (p.below, below)] {
            if wanted && *slot == NONE {
                *slot = id;
                added = true;
            }
        }
        if !added {
            stats.duplicates += 1;
            return;
        }
        self.rules.rules.push(RuleInfo { source, line, text: Arc::clone(text) });
        stats.rules += 1;
        if allow {
            self.report.allow_rules += 1;
        } else {
            self.report.block_rules += 1;
        }
    }

    /// The compiled rules and what loading gave.
    pub fn build(mut self) -> (Rules, LoadReport) {
        self.rules.map.shrink_to_fit();
        self.rules.rules.shrink_to_fit();
        (self.rules, self.report)
    }
}

fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Reads blocklist and allowlist files (each at most [`MAX_FILE_LEN`] bytes) into one matcher;
/// rules are named after the file's path as given.
pub fn load_files(block: &[PathBuf], allow: &[PathBuf]) -> Result<(Rules, LoadReport), RulesError> {
    let mut b = Rules::builder();
    for (paths, kind) in [(block, ListKind::Block), (allow, ListKind::Allow)] {
        for path in paths {
            let data = read_capped(path)?;
            b.add_list(&data, &path.display().to_string(), kind);
        }
    }
    Ok(b.build())
}

fn read_capped(path: &Path) -> Result<Vec<u8>, RulesError> {
    use std::io::Read;
    let io = |source| RulesError::Io { path: path.to_owned(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut data = Vec::new();
    file.take(MAX_FILE_LEN + 1).read_to_end(&mut data).map_err(io)?;
    if data.len() as u64 > MAX_FILE_LEN {
        return Err(RulesError::TooLarge { path: path.to_owned(), limit: MAX_FILE_LEN });
    }
    Ok(data)
}

/// Checks a name as rules and exports need it: lower-case ASCII letters, digits, `-` and `_`,
/// labels of 1 to [`MAX_LABEL_LEN`] bytes, at most [`MAX_NAME_LEN`] bytes, not an IP address.
/// `name` must already be lower-case and without a trailing dot.
pub fn validate_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty name");
    }
    if name.len() > MAX_NAME_LEN {
        return Err("name longer than 253 bytes");
    }
    if !name.is_ascii() {
        return Err("not ASCII (write IDNs in punycode, xn--)");
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("empty label");
        }
        if label.len() > MAX_LABEL_LEN {
            return Err("label longer than 63 bytes");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err("character not allowed in a name");
        }
    }
    if name.parse::<std::net::IpAddr>().is_ok()
        || name.rsplit('.').next().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("an IP address, not a name");
    }
    Ok(())
}

/// True when a rule covering the subdomains of `name` is acceptable: `name` is not itself a
/// public suffix of the ICANN section (`com`, `co.uk`, an unknown single-label TLD).
pub fn subdomain_rule_allowed(name: &str) -> bool {
    match psl::suffix(name.as_bytes()) {
        Some(s) if s.as_bytes() == name.as_bytes() => s.typ() == Some(psl::Type::Private),
        _ => true,
    }
}
