//! Which destinations of a report to block.
//!
//! A policy is a small TOML file (unknown keys are errors; every error names the file, line and
//! column):
//!
//! ```toml
//! min_severity = "high"                       # block destinations at or above ("off": none)
//! categories = ["analytics", "advertising"]   # also every destination of these categories
//! parties = ["Umeng (Alibaba)"]               # and of these organisations
//! countries = ["CN"]                          # and those whose server is in these countries
//! names = ["api.ad-tracker.example"]          # and these names, with their subdomains
//! allow = ["api.account.xiaomi.com"]          # never block these (nor their subdomains)
//! force = false                               # also block names the device needs
//! ```
//!
//! Any criterion selects a destination, the allowlist wins. `min_severity` is `high` when the
//! key is left out and without a policy file. [`Policy::select`] reads the analyze JSON document
//! (`schema/report.schema.json`, `destinations[]` and `findings[]`) and gives one
//! [`crate::export::Entry`] per selected destination:
//!
//! - a named destination blocks its name and subdomains (trackers rotate sub-hosts); when DNS led
//!   through CNAMEs, the name asked for is blocked and the CNAME chain is named in the reason (the
//!   guard checks CNAME targets itself, and a CDN target is shared with other sites);
//! - a destination known only by address gives an address entry (nftables, Suricata); private,
//!   loopback and link-local addresses (the router, the phone itself) are left out unless forced;
//! - names in [`ESSENTIAL`] (push, updates, time, captive-portal checks; `data/essential.txt`), and
//!   names whose subdomain rule would cover one, are left out with a warning unless forced;
//! - every entry's reason says why: `critical: IMEI sent over cleartext HTTP to Xiaomi
//!   (manufacturer, CN); via CNAME a -> b; selected by severity >= high`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use report::Severity;
use serde::Deserialize;
use toml::Spanned;

mod select;
#[cfg(test)]
mod tests;

pub use select::Selection;

/// Largest policy file read (1 MiB).
pub const MAX_POLICY_LEN: u64 = 1 << 20;

/// The categories of the entity database (`category` in the report).
pub const CATEGORIES: [&str; 10] = [
    "manufacturer",
    "os-vendor",
    "carrier",
    "analytics",
    "advertising",
    "crash-reporting",
    "push",
    "cloud-cdn",
    "social",
    "other",
];

/// A name a device needs, from `data/essential.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Essential {
    /// The name; for a `*.x` line, x.
    pub name: String,
    /// True for a `*.x` line: the names below x (not x itself).
    pub below: bool,
    /// Why the device needs it.
    pub reason: String,
}

impl Essential {
    /// True when blocking `name` (and its subdomains when `subdomains`) would block this.
    pub fn hit_by(&self, name: &str, subdomains: bool) -> bool {
        let under = |child: &str, parent: &str| {
            child.len() > parent.len()
                && child.ends_with(parent)
                && child.as_bytes()[child.len() - parent.len() - 1] == b'.'
        };
        let me = self.name.as_str();
        if self.below {
            under(name, me) || (subdomains && (name == me || under(me, name)))
        } else {
            name == me || (subdomains && under(me, name))
        }
    }
}

impl fmt::Display for Essential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let star = if self.below { "*." } else { "" };
        write!(f, "{star}{} ({})", self.name, self.reason)
    }
}

/// The curated list of names a device needs (`crates/guard/data/essential.txt`).
pub static ESSENTIAL: LazyLock<Vec<Essential>> =
    LazyLock::new(|| parse_essential(include_str!("../data/essential.txt")));

fn parse_essential(text: &str) -> Vec<Essential> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, reason) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            let name = name.to_ascii_lowercase();
            let (name, below) = match name.strip_prefix("*.") {
                Some(n) => (n.to_owned(), true),
                None => (name, false),
            };
            Essential { name, below, reason: reason.trim().to_owned() }
        })
        .collect()
}

/// Which destinations to block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Block destinations at or above this severity (`None`: the criterion is off).
    pub min_severity: Option<Severity>,
    /// Also block every destination of these categories.
    pub categories: Vec<String>,
    /// Also block every destination of these parties (compared without regard to case).
    pub parties: Vec<String>,
    /// Also block destinations whose server is in these countries (ISO codes, upper-case).
    pub countries: Vec<String>,
    /// Also block these names and their subdomains (whether the report shows them or not).
    pub names: Vec<String>,
    /// Never block these names or their subdomains.
    pub allow: Vec<String>,
    /// Also block essential names and local addresses.
    pub force: bool,
}

impl Default for Policy {
    /// `min_severity = "high"`, nothing else.
    fn default() -> Self {
        Self {
            min_severity: Some(Severity::High),
            categories: Vec::new(),
            parties: Vec::new(),
            countries: Vec::new(),
            names: Vec::new(),
            allow: Vec::new(),
            force: false,
        }
    }
}

/// Why a policy could not be loaded. Every variant names the file; positions are 1-based.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_POLICY_LEN`].
    #[error("{}: more than {limit} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// TOML syntax error, unknown key or a value of the wrong type.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Line (0 when the parser gave no position).
        line: usize,
        /// Column in characters (0 when unknown).
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A well-formed value that is not valid for its key.
    #[error("{}:{line}:{column}: {key}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Line.
        line: usize,
        /// Column in characters.
        column: usize,
        /// The key.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    min_severity: Option<Spanned<String>>,
    #[serde(default)]
    categories: Vec<Spanned<String>>,
    #[serde(default)]
    parties: Vec<String>,
    #[serde(default)]
    countries: Vec<Spanned<String>>,
    #[serde(default)]
    names: Vec<Spanned<String>>,
    #[serde(default)]
    allow: Vec<Spanned<String>>,
    #[serde(default)]
    force: bool,
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

/// Lower-case, without a trailing dot, validated.
fn clean_name(name: &str) -> Result<String, &'static str> {
    let name = name.trim().to_ascii_lowercase();
    let name = name.strip_suffix('.').unwrap_or(&name).to_owned();
    crate::rules::validate_name(&name)?;
    Ok(name)
}

impl Policy {
    /// Reads and validates the policy file at `path`.
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        use std::io::Read;
        let io = |source| PolicyError::Io { path: path.to_owned(), source };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut data = Vec::new();
        file.take(MAX_POLICY_LEN + 1).read_to_end(&mut data).map_err(io)?;
        if data.len() as u64 > MAX_POLICY_LEN {
            return Err(PolicyError::TooLarge { path: path.to_owned(), limit: MAX_POLICY_LEN });
        }
        let text = String::from_utf8(data).map_err(|e| {
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let (line, column) = line_col(&lossy, e.utf8_error().valid_up_to());
            PolicyError::Syntax {
                path: path.to_owned(),
                line,
                column,
                message: "not UTF-8 text".into(),
            }
        })?;
        Self::parse(&text, path)
    }

    /// Parses policy `text`; errors name the file as `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, PolicyError> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
            PolicyError::Syntax {
                path: path.to_owned(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        let invalid = |span: std::ops::Range<usize>, key: &'static str, message: String| {
            let (line, column) = line_col(text, span.start);
            PolicyError::Invalid { path: path.to_owned(), line, column, key, message }
        };
        let min_severity = match raw.min_severity {
            None => Some(Severity::High),
            Some(s) if matches!(s.get_ref().as_str(), "off" | "none") => None,
            Some(s) => Some(Severity::parse(s.get_ref()).ok_or_else(|| {
                invalid(
                    s.span(),
                    "min_severity",
                    format!(
                        "`{}` is not one of info, low, medium, high, critical, off",
                        s.get_ref()
                    ),
                )
            })?),
        };
        let mut categories = Vec::new();
        for c in raw.categories {
            let v = c.get_ref().to_ascii_lowercase();
            if !CATEGORIES.contains(&v.as_str()) {
                let msg = format!("`{}` is not one of {}", c.get_ref(), CATEGORIES.join(", "));
                return Err(invalid(c.span(), "categories", msg));
            }
            categories.push(v);
        }
        let mut countries = Vec::new();
        for c in raw.countries {
            let v = c.get_ref().trim().to_ascii_uppercase();
            if v.len() != 2 || !v.bytes().all(|b| b.is_ascii_uppercase()) {
                let msg = format!("`{}` is not a two-letter country code", c.get_ref());
                return Err(invalid(c.span(), "countries", msg));
            }
            countries.push(v);
        }
        let mut lists: [Vec<String>; 2] = [Vec::new(), Vec::new()];
        for (key, values, out) in [("names", raw.names, 0), ("allow", raw.allow, 1)] {
            for n in values {
                let name = clean_name(n.get_ref())
                    .map_err(|why| invalid(n.span(), key, format!("`{}`: {why}", n.get_ref())))?;
                lists[out].push(name);
            }
        }
        let [names, allow] = lists;
        Ok(Self {
            min_severity,
            categories,
            parties: raw.parties.into_iter().map(|p| p.trim().to_owned()).collect(),
            countries,
            names,
            allow,
            force: raw.force,
        })
    }

    /// A one-line description, for list headers: `min_severity = high, categories = analytics`.
    pub fn describe(&self) -> String {
        let mut parts =
            vec![format!("min_severity = {}", self.min_severity.map_or("off", Severity::as_str))];
        for (key, list) in [
            ("categories", &self.categories),
            ("parties", &self.parties),
            ("countries", &self.countries),
            ("names", &self.names),
            ("allow", &self.allow),
        ] {
            if !list.is_empty() {
                parts.push(format!("{key} = {}", list.join(" ")));
            }
        }
        if self.force {
            parts.push("force".into());
        }
        parts.join(", ")
    }
}
