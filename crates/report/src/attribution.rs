//! Party attribution: which organisation a destination name belongs to.
//!
//! Contract:
//! - [`Entities`] is a curated database of organisations (name, [`Category`], headquarters country)
//!   and the domains and hostnames they run, loaded from the built-in `data/entities.toml` plus an
//!   optional user file in the same format ([`Entities::load_with`]); user entries win.
//! - [`Entities::attribute`] matches a host on its exact name first, then walks up its labels
//!   (`a.b.xiaomi.com`, `b.xiaomi.com`, `xiaomi.com`), so a specific hostname can belong to another
//!   organisation than its registrable domain. IP literals are never attributed.
//! - [`Entities::attribute_chain`] follows a DNS CNAME chain so that a first-party name cloaking a
//!   tracker is attributed to the tracker.
//! - [`registrable_domain`] names what an unknown destination should be shown as.
//! - Lookups use one `HashMap` built at load time and allocate nothing beyond lower-casing a name
//!   that has upper-case letters.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

pub mod open;
pub mod trackerdb;

/// The built-in entity database.
pub const BUILTIN: &str = include_str!("../data/entities.toml");

/// What an organisation is, as far as a device's traffic is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Phone or device maker.
    Manufacturer,
    /// Operating-system vendor (Google for Android, Apple, Microsoft...).
    OsVendor,
    /// Mobile network operator.
    Carrier,
    /// Analytics, measurement and attribution.
    Analytics,
    /// Advertising: networks, exchanges, verification.
    Advertising,
    /// Crash and error reporting, performance monitoring.
    CrashReporting,
    /// Push notifications and messaging infrastructure.
    Push,
    /// Cloud hosting and content delivery.
    CloudCdn,
    /// Social networks and messengers.
    Social,
    /// Anything else.
    Other,
}

impl Category {
    /// Every category, in declaration order.
    pub const ALL: [Self; 10] = [
        Self::Manufacturer,
        Self::OsVendor,
        Self::Carrier,
        Self::Analytics,
        Self::Advertising,
        Self::CrashReporting,
        Self::Push,
        Self::CloudCdn,
        Self::Social,
        Self::Other,
    ];

    /// The name used in the data file and in reports (`os-vendor`, `cloud-cdn`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manufacturer => "manufacturer",
            Self::OsVendor => "os-vendor",
            Self::Carrier => "carrier",
            Self::Analytics => "analytics",
            Self::Advertising => "advertising",
            Self::CrashReporting => "crash-reporting",
            Self::Push => "push",
            Self::CloudCdn => "cloud-cdn",
            Self::Social => "social",
            Self::Other => "other",
        }
    }

    /// The category named `name` (as [`Category::as_str`] writes it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// True for the categories that track people across apps: analytics and advertising.
    pub fn is_tracker(self) -> bool {
        matches!(self, Self::Analytics | Self::Advertising)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// Display name (`Xiaomi`, `Google (Firebase)`).
    pub name: String,
    /// What it is.
    pub category: Category,
    /// Headquarters country, ISO 3166 alpha-2, upper case; `None` when the source does not say
    /// (the open-data layer for organisations it cannot place).
    pub country: Option<String>,
    /// Which database named it.
    pub source: Source,
}

/// Where an attribution comes from, most trusted first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// The user's `--entities` file.
    User,
    /// phonehome's curated `data/entities.toml`.
    Curated,
    /// Ghostery's TrackerDB, fetched and compiled on this machine by
    /// `scripts/entities-trackerdb.sh` (CC BY-NC-SA 4.0: not shipped).
    TrackerDb,
    /// The open-data layer built from AdGuard's companiesdb (`data/adguard/`, CC BY-SA 4.0).
    AdGuard,
}

impl Source {
    /// The name reports show (`phonehome`, `AdGuard companiesdb`, `user file`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user file",
            Self::Curated => "phonehome",
            Self::TrackerDb => "Ghostery TrackerDB (fetched)",
            Self::AdGuard => "AdGuard companiesdb",
        }
    }
}

/// Why an entity file could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntitiesError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error, as text.
        message: String,
    },
    /// The file is not valid TOML, has an unknown key or an invalid value.
    Invalid {
        /// The file (`<built-in>` for the shipped database).
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for EntitiesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, message } => write!(f, "{}: {message}", path.display()),
            Self::Invalid { path, line, message } => {
                write!(f, "{}:{line}: {message}", path.display())
            }
        }
    }
}

impl std::error::Error for EntitiesError {}

/// The entity database: organisations and an index from domain or hostname to organisation, in
/// two layers. The curated layer (the built-in `entities.toml` and the user's file) is asked
/// first, up the whole name; the open-data layer (AdGuard's companiesdb) only when the curated
/// one knows neither the name nor any parent.
#[derive(Debug, Clone)]
pub struct Entities {
    entities: Vec<Entity>,
    /// Lower-case domain or hostname, without trailing dot -> index into `entities`.
    by_domain: HashMap<Box<str>, usize>,
    /// The fetched TrackerDB layer, when present ([`Entities::with_local_data`]), same shape.
    local_by_domain: HashMap<Box<str>, usize>,
    /// The open-data layer, same shape.
    open_by_domain: HashMap<Box<str>, usize>,
}

/// Where a fetched entity layer is looked for, relative to the working directory and to the
/// executable's folder and its two parents (as the geo data): `data/entities/trackerdb.tsv`.
pub const LOCAL_DIR: &str = "data/entities";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    entity: Vec<RawEntity>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntity {
    name: Spanned<String>,
    category: Category,
    country: Spanned<String>,
    domains: Vec<Spanned<String>>,
}

impl Entities {
    /// The built-in database only.
    ///
    /// # Panics
    /// Never in a released build: the built-in file is checked by the tests.
    pub fn builtin() -> Self {
        let mut e = Self::curated_only();
        let lines = open::parse(open::ADGUARD, Path::new("<built-in adguard/entities.tsv>"))
            .expect("built-in adguard/entities.tsv is valid");
        e.open_by_domain = open::index(lines, &mut e.entities);
        e
    }

    /// The curated built-in database without the open-data layer.
    pub fn curated_only() -> Self {
        let mut e = Self {
            entities: Vec::new(),
            by_domain: HashMap::new(),
            local_by_domain: HashMap::new(),
            open_by_domain: HashMap::new(),
        };
        e.merge(BUILTIN, Path::new("<built-in>"), false).expect("built-in entities.toml is valid");
        e
    }

    /// What `analyze` uses: the built-in layers, the fetched TrackerDB layer when present, and
    /// the user's file when given (its entries win).
    pub fn load_default(user: Option<&Path>) -> Result<Self, EntitiesError> {
        let e = Self::builtin().with_local_data()?;
        let Some(path) = user else { return Ok(e) };
        let text = std::fs::read_to_string(path)
            .map_err(|err| EntitiesError::Io { path: path.into(), message: err.to_string() })?;
        let mut e = e;
        e.merge(&text, path, true)?;
        Ok(e)
    }

    /// Adds the fetched TrackerDB layer (`data/entities/trackerdb.tsv`, see [`trackerdb`]) when
    /// one is found; a damaged one is an error naming its file and line.
    pub fn with_local_data(self) -> Result<Self, EntitiesError> {
        let mut dirs = vec![PathBuf::from(LOCAL_DIR)];
        if let Some(exe) =
            std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf))
        {
            dirs.extend(exe.ancestors().take(3).map(|d| d.join(LOCAL_DIR)));
        }
        match dirs.iter().map(|d| d.join(trackerdb::FILE_NAME)).find(|p| p.is_file()) {
            Some(path) => self.with_fetched_layer(&path),
            None => Ok(self),
        }
    }

    /// Adds a fetched layer file (the format of [`open`]) as the TrackerDB layer.
    pub fn with_fetched_layer(mut self, path: &Path) -> Result<Self, EntitiesError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| EntitiesError::Io { path: path.into(), message: e.to_string() })?;
        let lines = open::parse(&text, path)?
            .into_iter()
            .map(|(mut e, d)| {
                e.source = Source::TrackerDb;
                (e, d)
            })
            .collect();
        self.local_by_domain = open::index(lines, &mut self.entities);
        Ok(self)
    }

    /// The built-in database plus the user file at `path`, whose entries win: an entity with the
    /// name of a built-in one replaces its category and country and gains the listed domains; any
    /// domain listed in the user file is attributed to the user's entity.
    pub fn load_with(path: &Path) -> Result<Self, EntitiesError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| EntitiesError::Io { path: path.into(), message: e.to_string() })?;
        let mut e = Self::builtin();
        e.merge(&text, path, true)?;
        Ok(e)
    }

    /// The built-in database plus user entries given as text (`path` only names them in errors).
    pub fn builtin_with_str(text: &str, path: &Path) -> Result<Self, EntitiesError> {
        let mut e = Self::builtin();
        e.merge(text, path, true)?;
        Ok(e)
    }

    /// Adds the entities of one file. Within one file a domain or a name may appear only once.
    fn merge(&mut self, text: &str, path: &Path, user: bool) -> Result<(), EntitiesError> {
        let invalid = |offset: usize, message: String| EntitiesError::Invalid {
            path: path.into(),
            line: line_of(text, offset),
            message,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |s| line_of(text, s.start));
            EntitiesError::Invalid { path: path.into(), line, message: e.message().trim().into() }
        })?;
        let mut names_in_file: HashMap<String, usize> = HashMap::new();
        let mut domains_in_file: HashMap<String, usize> = HashMap::new();
        for r in raw.entity {
            let name = r.name.get_ref().trim();
            if name.is_empty() {
                return Err(invalid(r.name.span().start, "empty entity name".into()));
            }
            let key = name.to_lowercase();
            if names_in_file.insert(key.clone(), r.name.span().start).is_some() {
                return Err(invalid(r.name.span().start, format!("entity `{name}` listed twice")));
            }
            let country = r.country.get_ref().trim().to_ascii_uppercase();
            if !is_country(&country) {
                return Err(invalid(
                    r.country.span().start,
                    format!("country `{}` is not an ISO 3166 alpha-2 code", r.country.get_ref()),
                ));
            }
            if r.domains.is_empty() {
                return Err(invalid(
                    r.name.span().start,
                    format!("entity `{name}` has no domains"),
                ));
            }
            let existing = if user {
                self.entities
                    .iter()
                    .position(|e| e.source != Source::AdGuard && e.name.to_lowercase() == key)
            } else {
                None
            };
            let source = if user { Source::User } else { Source::Curated };
            let index = match existing {
                Some(i) => {
                    self.entities[i].category = r.category;
                    self.entities[i].country = Some(country);
                    self.entities[i].source = source;
                    i
                }
                None => {
                    self.entities.push(Entity {
                        name: name.into(),
                        category: r.category,
                        country: Some(country),
                        source,
                    });
                    self.entities.len() - 1
                }
            };
            for d in &r.domains {
                let domain = normalize(d.get_ref());
                if let Err(why) = check_domain(&domain) {
                    return Err(invalid(
                        d.span().start,
                        format!("domain `{}`: {why}", d.get_ref()),
                    ));
                }
                if domains_in_file.insert(domain.clone(), index).is_some() {
                    return Err(invalid(
                        d.span().start,
                        format!("domain `{domain}` listed twice in this file"),
                    ));
                }
                self.by_domain.insert(domain.into_boxed_str(), index);
            }
        }
        Ok(())
    }

    /// Number of organisations (entries of both layers; the open-data layer has one per tracker
    /// product, so a company with several products counts once per product).
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// True when there are no organisations.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// The organisations, in file order (built-in first).
    pub fn iter(&self) -> impl Iterator<Item = &Entity> {
        self.entities.iter()
    }

    /// The domains and hostnames attributed to each organisation by both layers, unordered.
    pub fn domains(&self) -> impl Iterator<Item = (&str, &Entity)> {
        self.by_domain
            .iter()
            .chain(&self.local_by_domain)
            .chain(&self.open_by_domain)
            .map(|(d, &i)| (&**d, &self.entities[i]))
    }

    /// The organisation behind `host`: in the curated layer, its exact name first, then each
    /// parent name up to the top-level label; then the same walk in the fetched TrackerDB layer
    /// (when loaded), then in the open-data layer. Case and a trailing dot are ignored; IP
    /// literals give `None`.
    pub fn attribute(&self, host: &str) -> Option<&Entity> {
        self.attribute_matched(host).map(|(e, _)| e)
    }

    /// [`Entities::attribute`], with the listed name that matched (the host or a parent).
    pub fn attribute_matched<'h>(&self, host: &'h str) -> Option<(&Entity, Cow<'h, str>)> {
        let host = lower(host);
        let name: &str = host.trim_end_matches('.');
        if name.is_empty() || is_ip_literal(name) {
            return None;
        }
        let walk = |index: &HashMap<Box<str>, usize>| {
            let mut n = name;
            loop {
                if let Some(&i) = index.get(n) {
                    return Some((i, name.len() - n.len()));
                }
                n = &n[n.find('.')? + 1..];
            }
        };
        let (i, start) = walk(&self.by_domain)
            .or_else(|| walk(&self.local_by_domain))
            .or_else(|| walk(&self.open_by_domain))?;
        let matched = match &host {
            Cow::Borrowed(h) => Cow::Borrowed(&h[start..name.len()]),
            Cow::Owned(h) => Cow::Owned(h[start..name.len()].to_owned()),
        };
        Some((&self.entities[i], matched))
    }

    /// Attributes a DNS chain: the name the device asked for first, then the CNAME targets in
    /// order. When the last attributable name belongs to a tracker (analytics or advertising) and
    /// the first name is unattributed or belongs to a non-tracker (the first party), the tracker
    /// wins: that is CNAME cloaking (`metrics.shop.example` CNAME `shop.sc.omtrdc.net` is Adobe).
    /// Otherwise the first attributable name wins. Returns the entity and the name that matched.
    pub fn attribute_chain<'a>(&'a self, names: &[&'a str]) -> Option<(&'a Entity, &'a str)> {
        let first = names.first().and_then(|n| self.attribute(n));
        let last = names.iter().rev().find_map(|&n| self.attribute(n).map(|e| (e, n)));
        if let Some((e, n)) = last
            && e.category.is_tracker()
            && first.is_none_or(|f| !f.category.is_tracker())
        {
            return Some((e, n));
        }
        names.iter().find_map(|&n| self.attribute(n).map(|e| (e, n)))
    }
}

impl Default for Entities {
    fn default() -> Self {
        Self::builtin()
    }
}

/// The registrable domain of `host` (`api.account.xiaomi.com` -> `xiaomi.com`), lower-cased and
/// without a trailing dot, by the ICANN section of the public suffix list: private suffixes are
/// not used (`x.y.s3.amazonaws.com` -> `amazonaws.com`, `foo.blogspot.com` -> `blogspot.com`),
/// because the question is which company runs the name. IP literals, suffix-only names (`co.uk`)
/// and names without a known public suffix (`router.lan`) are returned as they are (lower-cased).
pub fn registrable_domain(host: &str) -> String {
    let lowered = lower(host);
    let name = lowered.trim_end_matches('.');
    if name.is_empty() || is_ip_literal(name) {
        return name.to_owned();
    }
    icann_domain(name).unwrap_or(name).to_owned()
}

/// The registrable domain under the ICANN section, or `None` when there is none.
fn icann_domain(name: &str) -> Option<&str> {
    let suffix = psl::suffix(name.as_bytes())?;
    let suffix_len = match suffix.typ()? {
        psl::Type::Icann => suffix.as_bytes().len(),
        psl::Type::Private => {
            // The longest proper tail of the private suffix that is itself an ICANN suffix.
            let s = std::str::from_utf8(suffix.as_bytes()).ok()?;
            let mut tail = s;
            loop {
                tail = &tail[tail.find('.')? + 1..];
                let t = psl::suffix(tail.as_bytes())?;
                if t.typ() == Some(psl::Type::Icann) && t.as_bytes().len() == tail.len() {
                    break tail.len();
                }
            }
        }
    };
    if name.len() <= suffix_len + 1 {
        return None; // the name is a suffix itself
    }
    let before = &name[..name.len() - suffix_len - 1];
    let start = before.rfind('.').map_or(0, |i| i + 1);
    Some(&name[start..])
}

fn lower(host: &str) -> Cow<'_, str> {
    if host.bytes().any(|b| b.is_ascii_uppercase()) || !host.is_ascii() {
        Cow::Owned(host.to_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}

fn normalize(domain: &str) -> String {
    domain.trim().trim_end_matches('.').to_lowercase()
}

fn is_ip_literal(name: &str) -> bool {
    let bare = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')).unwrap_or(name);
    bare.parse::<IpAddr>().is_ok()
}

fn check_domain(d: &str) -> Result<(), &'static str> {
    if d.is_empty() {
        return Err("empty");
    }
    if is_ip_literal(d) {
        return Err("an IP address, not a name");
    }
    if !d.contains('.') {
        return Err("a bare top-level label");
    }
    if d.split('.').any(str::is_empty) {
        return Err("empty label");
    }
    if d.chars().any(|c| c.is_whitespace() || matches!(c, '*' | '/' | ':' | '@')) {
        return Err("not a host name (no wildcards, schemes, ports or paths)");
    }
    Ok(())
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// ISO 3166-1 alpha-2 codes currently assigned.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ \
BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ \
DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT \
GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY \
KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX \
MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS \
RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN \
TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Whether `code` (upper case) is an assigned ISO 3166-1 alpha-2 code.
pub fn is_country(code: &str) -> bool {
    code.len() == 2 && COUNTRIES.split_ascii_whitespace().any(|c| c == code)
}

#[cfg(test)]
mod tests;
