//! Country and network of a destination address, from open offline data.
//!
//! Contract:
//! - [`Geo::open`] reads a country mmdb (the ip-location-db `geo-whois-asn-country` file, whose
//!   records hold `country_code`, or a MaxMind GeoLite2-Country/-City file, read at
//!   `country.iso_code`, then `registered_country.iso_code`) with `maxminddb`, and ASN data: the
//!   binary range table that `scripts/geo-setup.sh` compiles once from the ip-location-db `asn`
//!   CSV ([`asn::compile`], [`compile_asn_csv`]; loading it takes milliseconds), or such a CSV
//!   (`start,end,asn,org`), compiled in memory at every start (about 0.3 s). The file's
//!   first bytes decide which. Either file may be absent. Errors name the file.
//! - [`Geo::none`] has no data: every lookup is unknown, with the reason `no-data`, and the report
//!   can say how to add data ([`SETUP_HINT`]).
//! - [`Geo::lookup`] never fails. Private, loopback, link-local, documentation, multicast and other
//!   special addresses have no country and no network, and say why in [`GeoInfo::reason`];
//!   IPv4-mapped and NAT64 (`64:ff9b::/96`) addresses are looked up as the IPv4 address they carry.
//! - [`Geo::source`] names the data and its date, for the report: the npm copies of ip-location-db
//!   carry an upstream notice that they contain errors, so the date matters.
//! - Bounded and checked: files above [`MAX_MMDB_BYTES`] / [`MAX_ASN_BYTES`] are refused; a
//!   compiled table is checked (sizes, order, indices, names) before use; malformed CSV lines are
//!   counted ([`AsnStats`]).
//!
//! Data is installed by `scripts/geo-setup.sh` into `data/geo/` (never by the build or the tests);
//! [`Geo::default_paths`] finds it there. Without a country mmdb, [`Geo::open_default`] uses the
//! country table built into the binary ([`builtin`], CC0 ip-location-db data), so a fresh machine
//! shows countries; networks (AS) still need the script.

pub mod asn;
pub mod builtin;
mod special;

use std::fmt;
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

pub use asn::{AsnStats, MAX_MALFORMED_KEPT, MAX_ORG_LEN};

/// Largest country mmdb accepted (GeoLite2-City is about 60 MB).
pub const MAX_MMDB_BYTES: u64 = 256 << 20;
/// Largest ASN file accepted, table or CSV (the npm data is a 33 MB CSV, a 12 MB table).
pub const MAX_ASN_BYTES: u64 = 256 << 20;
/// Largest `<data file>.source` side file read (the data's name and date).
const MAX_SOURCE_NOTE_BYTES: u64 = 4096;

/// Directory, relative to the working directory or to the executable's ancestors, that
/// `scripts/geo-setup.sh` fills.
pub const DATA_DIR: &str = "data/geo";
/// Country mmdb names looked for in [`DATA_DIR`], in order.
pub const COUNTRY_MMDB_NAMES: &[&str] =
    &["geo-whois-asn-country.mmdb", "GeoLite2-Country.mmdb", "GeoLite2-City.mmdb"];
/// Compiled ASN table name looked for in [`DATA_DIR`] (written by `scripts/geo-setup.sh`).
pub const ASN_TABLE_NAME: &str = "asn.bin";
/// ASN CSV name looked for in [`DATA_DIR`] when there is no table (data installed by an older
/// `scripts/geo-setup.sh`; slow to load).
pub const ASN_CSV_NAME: &str = "asn.csv";
/// What to tell a user whose report has no countries.
pub const SETUP_HINT: &str = "countries and networks are unknown: run scripts/geo-setup.sh \
     (open data from ip-location-db) or pass --geo-db PATH to a GeoLite2-Country mmdb";

/// Country and network of one address. All `None` when unknown; then `reason` says why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeoInfo {
    /// ISO 3166-1 alpha-2 code, upper case (`CN`, `US`).
    pub country: Option<String>,
    /// Autonomous system number.
    pub asn: Option<u32>,
    /// Organisation holding the AS (or the range).
    pub as_org: Option<String>,
    /// Why the country is unknown: `private`, `loopback`, `link-local`, `documentation`,
    /// `multicast`, `unspecified`, `reserved` (decided by the address), `no-data` (no country
    /// database loaded) or `not-found` (not in the database). `None` when the country is known.
    pub reason: Option<&'static str>,
}

/// Why a data file could not be used.
#[derive(Debug)]
pub enum GeoError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is larger than the limit.
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The limit ([`MAX_MMDB_BYTES`] or [`MAX_ASN_BYTES`]).
        limit: u64,
    },
    /// The file is not a MaxMind DB.
    Mmdb {
        /// The file.
        path: PathBuf,
        /// What maxminddb said.
        message: String,
    },
    /// The CSV has lines but not one valid `start,end,asn,org` row.
    AsnCsv {
        /// The file.
        path: PathBuf,
        /// The first bad line (1-based).
        line: u64,
        /// What was wrong with it.
        reason: &'static str,
    },
    /// The compiled ASN table is damaged or of another format version.
    AsnTable {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        reason: &'static str,
    },
    /// The compiled table could not be written.
    Write {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl fmt::Display for GeoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Self::TooLarge { path, size, limit } => write!(
                f,
                "{}: {size} bytes is larger than the {limit}-byte limit for geo data",
                path.display()
            ),
            Self::Mmdb { path, message } => {
                write!(f, "{}: not a usable MaxMind DB file: {message}", path.display())
            }
            Self::AsnCsv { path, line, reason } => write!(
                f,
                "{}: line {line}: {reason} (expected start,end,asn,org rows)",
                path.display()
            ),
            Self::AsnTable { path, reason } => write!(
                f,
                "{}: not a usable ASN table: {reason} (scripts/geo-setup.sh --force makes a new one)",
                path.display()
            ),
            Self::Write { path, source } => write!(f, "{}: cannot write: {source}", path.display()),
        }
    }
}

impl std::error::Error for GeoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } | Self::Write { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Where the data files are, as [`Geo::default_paths`] found them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeoPaths {
    /// Country mmdb.
    pub country_mmdb: Option<PathBuf>,
    /// ASN data: the compiled table ([`ASN_TABLE_NAME`]), else a CSV ([`ASN_CSV_NAME`]).
    pub asn: Option<PathBuf>,
}

/// IP -> country and network lookups. Cheap to query, `Send + Sync`.
pub struct Geo {
    country: Option<Country>,
    asn: Option<AsnData>,
}

struct Country {
    data: CountryData,
    name: String,
    /// Heap bytes of an mmdb (the built-in table reports its own once decoded).
    bytes: usize,
}

enum CountryData {
    Mmdb(maxminddb::Reader<Vec<u8>>),
    /// The table built into the binary ([`builtin`]), decoded on first use ([`BUILTIN_TABLE`]).
    Builtin,
}

/// The built-in country table, decoded once per process on first use (about 15-20 ms): a run
/// that looks nothing up never pays for it, and [`warm_builtin`] decodes it on another thread
/// while the captures are read. `None` only if the binary's own data were damaged, which a test
/// rules out.
static BUILTIN_TABLE: std::sync::LazyLock<Option<builtin::Table>> =
    std::sync::LazyLock::new(|| builtin::Table::decode(builtin::BUILTIN).ok());

/// Decodes the built-in country table now (call it on a spare thread); lookups wait for it.
pub fn warm_builtin() {
    std::sync::LazyLock::force(&BUILTIN_TABLE);
}

struct AsnData {
    table: asn::AsnTable,
    name: String,
}

impl fmt::Debug for Geo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Geo")
            .field("country", &self.country.as_ref().map(|c| &c.name))
            .field("asn", &self.asn.as_ref().map(|a| (&a.name, &a.table.stats)))
            .finish()
    }
}

impl Geo {
    /// No data: every lookup is unknown.
    pub fn none() -> Self {
        Self { country: None, asn: None }
    }

    /// Loads the given files (either may be `None`). `asn` is a compiled table or a CSV.
    pub fn open(country_mmdb: Option<&Path>, asn: Option<&Path>) -> Result<Self, GeoError> {
        let country = country_mmdb.map(open_country).transpose()?;
        let asn = asn.map(open_asn).transpose()?;
        Ok(Self { country, asn })
    }

    /// Loads what [`Geo::default_paths`] finds; without a country mmdb, the country table built
    /// into the binary ([`builtin`]).
    pub fn open_default(geo_db: Option<&Path>) -> Result<Self, GeoError> {
        let p = Self::default_paths(geo_db);
        let mut geo = Self::open(p.country_mmdb.as_deref(), p.asn.as_deref())?;
        if geo.country.is_none() {
            geo.country = builtin_country();
        }
        Ok(geo)
    }

    /// Finds the data files. `geo_db` is the `--geo-db PATH` option: when given it is the country
    /// mmdb (ip-location-db or MaxMind GeoLite2 Country/City), used whether or not it exists (so
    /// that opening it reports the error). The other files are looked for in [`DATA_DIR`] under the
    /// working directory, then under the executable's directory and its two parents (so
    /// `target/release/phonehome` finds the repository's `data/geo`).
    pub fn default_paths(geo_db: Option<&Path>) -> GeoPaths {
        let mut dirs = vec![PathBuf::from(DATA_DIR)];
        if let Some(exe_dir) =
            std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf))
        {
            dirs.extend(exe_dir.ancestors().take(3).map(|d| d.join(DATA_DIR)));
        }
        Self::paths_in(&dirs, geo_db)
    }

    fn paths_in(dirs: &[PathBuf], geo_db: Option<&Path>) -> GeoPaths {
        let first = |names: &[&str]| {
            dirs.iter().flat_map(|d| names.iter().map(move |n| d.join(n))).find(|p| p.is_file())
        };
        GeoPaths {
            country_mmdb: geo_db.map(Path::to_path_buf).or_else(|| first(COUNTRY_MMDB_NAMES)),
            asn: first(&[ASN_TABLE_NAME, ASN_CSV_NAME]),
        }
    }

    /// True when a country database is loaded.
    pub fn has_country(&self) -> bool {
        self.country.is_some()
    }

    /// True when ASN data is loaded.
    pub fn has_asn(&self) -> bool {
        self.asn.is_some()
    }

    /// What loading (or, for a CSV, compiling) the ASN data found (`None` without ASN data).
    pub fn asn_stats(&self) -> Option<&AsnStats> {
        self.asn.as_ref().map(|a| &a.table.stats)
    }

    /// Whether countries come from the built-in table.
    pub fn uses_builtin(&self) -> bool {
        matches!(self.country.as_ref().map(|c| &c.data), Some(CountryData::Builtin))
    }

    /// Approximate heap bytes held (the mmdb file plus the ASN table).
    pub fn heap_bytes(&self) -> usize {
        let country = match self.country.as_ref().map(|c| &c.data) {
            Some(CountryData::Builtin) => {
                BUILTIN_TABLE.as_ref().map_or(0, builtin::Table::heap_bytes)
            }
            _ => self.country.as_ref().map_or(0, |c| c.bytes),
        };
        country + self.asn.as_ref().map_or(0, |a| a.table.heap_bytes())
    }

    /// Country and network of `ip`.
    pub fn lookup(&self, ip: IpAddr) -> GeoInfo {
        let ip = special::canonical(ip);
        if let Some(reason) = special::special(ip) {
            return GeoInfo { reason: Some(reason), ..GeoInfo::default() };
        }
        let mut info = GeoInfo::default();
        if let Some((asn, org)) = self.asn.as_ref().and_then(|a| a.table.lookup(ip)) {
            info.asn = (asn != 0).then_some(asn);
            info.as_org = (!org.is_empty()).then(|| org.to_owned());
        }
        match &self.country {
            None => info.reason = Some("no-data"),
            Some(c) => {
                info.country = match &c.data {
                    CountryData::Mmdb(reader) => country_of(reader, ip),
                    CountryData::Builtin => BUILTIN_TABLE.as_ref().and_then(|t| t.lookup(ip)),
                };
                if info.country.is_none() {
                    info.reason = Some("not-found");
                }
            }
        }
        info
    }

    /// The data used, for the report: name and date of each source, e.g.
    /// `country: geo-whois-asn-country (built 2026-06-17); network: @ip-location-db/asn ...`.
    /// `None` with no data.
    pub fn source(&self) -> Option<String> {
        let parts: Vec<String> = [
            self.country.as_ref().map(|c| format!("country: {}", c.name)),
            self.asn.as_ref().map(|a| format!("network: {}", a.name)),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, GeoError> {
    let io = |source| GeoError::Io { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size > limit {
        return Err(GeoError::TooLarge { path: path.to_path_buf(), size, limit });
    }
    let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // `take` guards against a file that grows while being read.
    file.take(limit + 1).read_to_end(&mut buf).map_err(io)?;
    if buf.len() as u64 > limit {
        return Err(GeoError::TooLarge { path: path.to_path_buf(), size: buf.len() as u64, limit });
    }
    Ok(buf)
}

fn open_country(path: &Path) -> Result<Country, GeoError> {
    let buf = read_bounded(path, MAX_MMDB_BYTES)?;
    let bytes = buf.len();
    let mmdb_err = |e: maxminddb::MaxMindDbError| GeoError::Mmdb {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let reader = maxminddb::Reader::from_source(buf).map_err(mmdb_err)?;
    let md = reader.metadata();
    let date = i64::try_from(md.build_epoch)
        .ok()
        .and_then(|s| s.checked_mul(1_000_000_000))
        .map(|ns| pipeline::time::rfc3339(capture::Timestamp(ns))[..10].to_owned())
        .unwrap_or_else(|| "unknown date".to_owned());
    let kind: String = md.database_type.chars().filter(|c| !c.is_control()).take(80).collect();
    let file = path
        .file_name()
        .map_or_else(|| path.display().to_string(), |f| f.to_string_lossy().into_owned());
    let name = match source_note(path) {
        Some(note) => format!("{note}, built {date}"),
        None => format!("{kind} (built {date}, {file})"),
    };
    Ok(Country { data: CountryData::Mmdb(reader), name, bytes })
}

/// The built-in table (decoded on first lookup).
fn builtin_country() -> Option<Country> {
    let name = builtin::BUILTIN_SOURCE.lines().next().unwrap_or_default().trim().to_owned();
    Some(Country { bytes: 0, data: CountryData::Builtin, name })
}

fn open_asn(path: &Path) -> Result<AsnData, GeoError> {
    let buf = read_bounded(path, MAX_ASN_BYTES)?;
    let table_err = |reason| GeoError::AsnTable { path: path.to_path_buf(), reason };
    // A table starts with a byte no CSV line starts with; a damaged magic is reported as such.
    let table = if buf.first() == asn::TABLE_MAGIC.first() {
        asn::AsnTable::load(buf).map_err(table_err)?
    } else {
        let compiled = compile_csv(path, &buf)?;
        let mut table = asn::AsnTable::load(compiled.bytes).map_err(table_err)?;
        table.stats = compiled.stats;
        table
    };
    let name = source_note(path).unwrap_or_else(|| path.display().to_string());
    Ok(AsnData { table, name })
}

/// For the fuzz target: `data` read as an ASN table (and, when it compiles as a CSV, compiled and
/// read back), then a few lookups. Never panics on any input.
#[doc(hidden)]
pub fn fuzz_asn(data: &[u8]) {
    let probe = |t: &asn::AsnTable| {
        for ip in ["0.0.0.0", "8.8.8.8", "255.255.255.255", "::", "2001:db8::1", "ffff::1"] {
            let _ = t.lookup(ip.parse().expect("address literal"));
        }
    };
    if let Ok(t) = asn::AsnTable::load(data.to_vec()) {
        probe(&t);
    }
    if let Ok(c) = asn::compile(data) {
        let t = asn::AsnTable::load(c.bytes).expect("a compiled table loads");
        probe(&t);
    }
}

fn compile_csv(path: &Path, csv: &[u8]) -> Result<asn::Compiled, GeoError> {
    asn::compile(csv).map_err(|b| GeoError::AsnCsv {
        path: path.to_path_buf(),
        line: b.line,
        reason: b.reason,
    })
}

/// Compiles the ASN CSV `csv` (`start,end,asn,org`, the ip-location-db `asn` package) into the
/// table [`Geo::open`] loads in milliseconds, written to `out`. `scripts/geo-setup.sh` runs this
/// once through `cargo run --release -p report --example geo-compile`.
pub fn compile_asn_csv(csv: &Path, out: &Path) -> Result<AsnStats, GeoError> {
    let buf = read_bounded(csv, MAX_ASN_BYTES)?;
    let compiled = compile_csv(csv, &buf)?;
    std::fs::write(out, &compiled.bytes)
        .map_err(|source| GeoError::Write { path: out.to_path_buf(), source })?;
    Ok(compiled.stats)
}

/// The first line of `<path>.source`, which `scripts/geo-setup.sh` writes next to each data file:
/// the package, its version and data date, and the licence.
fn source_note(path: &Path) -> Option<String> {
    let mut note = path.as_os_str().to_owned();
    note.push(".source");
    let b = read_bounded(Path::new(&note), MAX_SOURCE_NOTE_BYTES).ok()?;
    let s = String::from_utf8_lossy(&b);
    let line = s.lines().next()?.trim();
    (!line.is_empty()).then(|| line.chars().filter(|c| !c.is_control()).collect())
}

/// `country_code` (ip-location-db), else `country.iso_code`, else `registered_country.iso_code`
/// (MaxMind GeoLite2 / GeoIP2, DB-IP). Only a two-letter code is accepted.
fn country_of(reader: &maxminddb::Reader<Vec<u8>>, ip: IpAddr) -> Option<String> {
    use maxminddb::PathElement::Key;
    let found = reader.lookup(ip).ok()?;
    if !found.has_data() {
        return None;
    }
    let paths: [&[maxminddb::PathElement<'_>]; 3] = [
        &[Key("country_code")],
        &[Key("country"), Key("iso_code")],
        &[Key("registered_country"), Key("iso_code")],
    ];
    paths.iter().find_map(|p| {
        let code: String = found.decode_path(p).ok().flatten()?;
        (code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()))
            .then(|| code.to_ascii_uppercase())
    })
}

#[cfg(test)]
mod tests;
