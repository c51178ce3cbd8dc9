//! A compiled profile, and its cache: what `analyze` needs of a device profile (the device's
//! facts, the items and their variants, the matcher over them) as bytes, so that a rerun with
//! the same profile starts in milliseconds instead of reading phone-number metadata and building
//! an automaton over tens of thousands of variants.
//!
//! Contract:
//! - [`Compiled::from_profile`] builds it; [`Compiled::to_bytes`] and [`Compiled::from_bytes`]
//!   round-trip it exactly. The byte form starts with [`MAGIC`] and the [`key`] it was built
//!   for; [`Compiled::from_bytes`] checks every length and index (the matcher with daachorse's
//!   validating reader) and gives `None` for anything else, never panicking.
//! - [`key`] is the SHA-256 of everything the result depends on: the profile file, the vCard
//!   file it names, and the source of the code that turns them into variants (`profile`,
//!   `variants`, `matcher` and this module, compiled in): a rebuilt phonehome whose variant code
//!   changed never reads an older entry.
//! - [`load`] is what `analyze` calls: with a cache directory, a valid entry named by the key is
//!   read; otherwise the profile is loaded and compiled and the entry written (mode 0600 in a
//!   0700 directory: it holds the profile's personal data, hashed and in clear; written to a
//!   temporary name and renamed, so concurrent runs never read half a file). At most
//!   [`MAX_ENTRIES`] entries are kept, the least recently written removed. A cache that cannot be
//!   read or written is skipped, never an error.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::DataKind;
use crate::matcher::{BuildError, Matcher};
use crate::profile::{Location, Profile, ProfileError};
use crate::variants::{Boundary, Item, Variant, VariantSet};

/// First bytes of an entry; the digit is the format version.
pub const MAGIC: &[u8; 8] = b"PHPROF01";

/// Entries kept in a cache directory.
pub const MAX_ENTRIES: usize = 16;

/// The code whose output an entry holds: part of the key.
const SOURCES: &[&[u8]] = &[
    include_bytes!("profile.rs"),
    include_bytes!("profile/vcard.rs"),
    include_bytes!("variants.rs"),
    include_bytes!("variants/encode.rs"),
    include_bytes!("variants/phone.rs"),
    include_bytes!("matcher.rs"),
    include_bytes!("compiled.rs"),
];

/// What `analyze` needs of a profile.
#[derive(Debug)]
pub struct Compiled {
    /// The device's name.
    pub name: Option<String>,
    /// Its country (ISO 3166 alpha-2, upper case).
    pub country: Option<String>,
    /// Its manufacturer.
    pub manufacturer: Option<String>,
    /// Where it is.
    pub location: Option<Location>,
    /// The profile's warnings, to print again on every run.
    pub warnings: Vec<String>,
    /// Items and variants.
    pub set: VariantSet,
    /// The matcher over `set` (`None` when it has no variant).
    pub matcher: Option<Matcher>,
}

/// Where [`load`] got its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Read from the cache.
    Hit,
    /// Compiled, and written to the cache.
    Written,
    /// Compiled; no cache (none asked for, or it could not be read or written).
    Compiled,
}

impl Compiled {
    /// Compiles a loaded profile.
    pub fn from_profile(p: &Profile) -> Result<Self, BuildError> {
        let set = crate::variants::build(p);
        let matcher = if set.variants.is_empty() { None } else { Some(Matcher::from_set(&set)?) };
        Ok(Self {
            name: p.name.clone(),
            country: p.country.clone(),
            manufacturer: p.manufacturer.clone(),
            location: p.location,
            warnings: p.warnings.clone(),
            set,
            matcher,
        })
    }

    /// The byte form, for `key`.
    pub fn to_bytes(&self, key: &[u8; 32]) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(1 << 20));
        w.0.extend_from_slice(MAGIC);
        w.0.extend_from_slice(key);
        for s in [&self.name, &self.country, &self.manufacturer] {
            w.opt_str(s.as_deref());
        }
        match self.location {
            Some(l) => {
                w.0.push(1);
                for v in [l.lat, l.lon, l.radius_m] {
                    w.0.extend_from_slice(&v.to_le_bytes());
                }
            }
            None => w.0.push(0),
        }
        w.u32(self.warnings.len());
        for s in &self.warnings {
            w.bytes(s.as_bytes());
        }
        w.u32(self.set.items.len());
        for it in &self.set.items {
            w.0.push(it.kind as u8);
            w.bytes(it.label.as_bytes());
            w.bytes(it.value.as_bytes());
            w.0.extend_from_slice(&it.contact.map_or(u32::MAX, |c| c).to_le_bytes());
        }
        w.u32(self.set.variants.len());
        for v in &self.set.variants {
            w.0.extend_from_slice(&v.item.to_le_bytes());
            w.bytes(v.encoding.as_bytes());
            w.bytes(&v.bytes);
            w.0.push(v.boundary as u8);
        }
        match &self.matcher {
            Some(m) => w.bytes(&m.to_bytes()),
            None => w.u32(0),
        }
        w.0
    }

    /// Reads [`Compiled::to_bytes`] back when it was written for `key`.
    pub fn from_bytes(data: &[u8], key: &[u8; 32]) -> Option<Self> {
        let mut r = Reader { data, at: 0 };
        if r.take(8)? != MAGIC || r.take(32)? != key {
            return None;
        }
        let name = r.opt_str()?;
        let country = r.opt_str()?;
        let manufacturer = r.opt_str()?;
        let location = match r.take(1)?[0] {
            0 => None,
            1 => {
                let mut f = [0f64; 3];
                for v in &mut f {
                    *v = f64::from_le_bytes(r.take(8)?.try_into().ok()?);
                }
                Some(Location { lat: f[0], lon: f[1], radius_m: f[2] })
            }
            _ => return None,
        };
        let mut warnings = Vec::new();
        for _ in 0..r.count(4)? {
            warnings.push(r.string()?);
        }
        let mut items = Vec::new();
        for _ in 0..r.count(13)? {
            let kind = *DataKind::ALL.get(usize::from(r.take(1)?[0]))?;
            let label = r.string()?;
            let value = r.string()?;
            let contact = match r.u32()? {
                u32::MAX => None,
                c => Some(c),
            };
            items.push(Item { kind, label, value, contact });
        }
        let mut variants = Vec::new();
        for _ in 0..r.count(13)? {
            let item = r.u32()?;
            if item as usize >= items.len() {
                return None;
            }
            let encoding = r.string()?;
            let bytes = r.bytes()?.to_vec();
            let boundary = *Boundary::ALL.get(usize::from(r.take(1)?[0]))?;
            variants.push(Variant { item, encoding, bytes, boundary });
        }
        let m = r.bytes()?;
        let matcher = if m.is_empty() { None } else { Some(Matcher::from_bytes(m)?) };
        if r.at != data.len() || matcher.as_ref().map_or(0, Matcher::len) != variants.len() {
            return None;
        }
        let set = VariantSet { items, variants };
        Some(Self { name, country, manufacturer, location, warnings, set, matcher })
    }
}

/// The cache key of the profile at `path`: SHA-256 over the code's source, the profile's bytes
/// and the bytes of the vCard file it names.
pub fn key(path: &Path) -> Result<[u8; 32], ProfileError> {
    let (text, vcf) = Profile::inputs(path)?;
    let mut h = Sha256::new();
    for s in SOURCES {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s);
    }
    h.update((text.len() as u64).to_le_bytes());
    h.update(&text);
    if let Some(v) = vcf {
        h.update(b"vcf");
        h.update(&v);
    }
    Ok(h.finalize().into())
}

/// The default cache directory: `$PHONEHOME_CACHE_DIR`, else `$XDG_CACHE_HOME/phonehome`, else
/// `$HOME/.cache/phonehome`; `None` when none is set (or `PHONEHOME_CACHE_DIR` is empty).
pub fn default_dir() -> Option<PathBuf> {
    match std::env::var_os("PHONEHOME_CACHE_DIR") {
        Some(d) if d.is_empty() => return None,
        Some(d) => return Some(d.into()),
        None => {}
    }
    let xdg = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty());
    let base = xdg.map(PathBuf::from).or_else(|| {
        std::env::var_os("HOME").filter(|d| !d.is_empty()).map(|h| PathBuf::from(h).join(".cache"))
    })?;
    Some(base.join("phonehome"))
}

/// Why [`load`] failed: the profile (as [`Profile::load`]) or the matcher.
#[derive(Debug)]
pub enum LoadError {
    /// The profile could not be read or is invalid.
    Profile(ProfileError),
    /// The matcher could not be built.
    Matcher(BuildError),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Profile(e) => e.fmt(f),
            Self::Matcher(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for LoadError {}

/// The compiled profile at `path`, from the cache in `dir` when it holds it (see the module doc).
pub fn load(path: &Path, dir: Option<&Path>) -> Result<(Compiled, Outcome), LoadError> {
    let key = key(path).map_err(LoadError::Profile)?;
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let entry = dir.map(|d| d.join(format!("{hex}.profile")));
    if let Some(e) = &entry
        && let Ok(data) = std::fs::read(e)
        && let Some(c) = Compiled::from_bytes(&data, &key)
    {
        return Ok((c, Outcome::Hit));
    }
    let profile = Profile::load(path).map_err(LoadError::Profile)?;
    let c = Compiled::from_profile(&profile).map_err(LoadError::Matcher)?;
    let outcome = match (dir, &entry) {
        (Some(d), Some(e)) if write_entry(d, e, &c.to_bytes(&key)).is_ok() => Outcome::Written,
        _ => Outcome::Compiled,
    };
    Ok((c, outcome))
}

/// Writes one entry (0600, in a 0700 directory), then prunes the directory to [`MAX_ENTRIES`].
fn write_entry(dir: &Path, entry: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    let tmp = dir.join(format!(".{}.{}.tmp", std::process::id(), data.len()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut f| f.write_all(data));
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, entry)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    prune(dir);
    Ok(())
}

/// Removes the oldest entries beyond [`MAX_ENTRIES`] (other files are left alone).
fn prune(dir: &Path) {
    let Ok(list) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<(std::time::SystemTime, PathBuf)> = list
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "profile"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if entries.len() <= MAX_ENTRIES {
        return;
    }
    entries.sort();
    for (_, p) in &entries[..entries.len() - MAX_ENTRIES] {
        let _ = std::fs::remove_file(p);
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn u32(&mut self, n: usize) {
        self.0.extend_from_slice(&(n as u32).to_le_bytes());
    }

    fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len());
        self.0.extend_from_slice(b);
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => {
                self.0.push(1);
                self.bytes(s.as_bytes());
            }
            None => self.0.push(0),
        }
    }
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.data.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    /// A count of records of at least `min` bytes each: no more than the bytes left allow.
    fn count(&mut self, min: usize) -> Option<usize> {
        let n = self.u32()? as usize;
        (n <= (self.data.len() - self.at) / min).then_some(n)
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn string(&mut self) -> Option<String> {
        std::str::from_utf8(self.bytes()?).ok().map(str::to_owned)
    }

    fn opt_str(&mut self) -> Option<Option<String>> {
        match self.take(1)?[0] {
            0 => Some(None),
            1 => Some(Some(self.string()?)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
