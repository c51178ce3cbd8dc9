//! Device profiles: what the tester knows about the device under test.
//!
//! A profile is a TOML file (see [`TEMPLATE`] and `examples/profile.toml`):
//!
//! ```toml
//! name = "Redmi 1S test unit"
//! country = "TW"                 # ISO 3166 alpha-2, the region used to read national numbers
//! manufacturer = "Xiaomi"        # its maker: who counts as first party in the report
//! [identifiers]                  # every field optional, each a list
//! imei = ["865123045678905"]     # also: imsi, iccid, phone, serial, android_id,
//! phone = ["+886 912 345 678"]   # advertising_id, mac, email
//! [location]
//! lat = 25.0339
//! lon = 121.5645
//! radius_m = 500
//! [contacts]
//! vcf = "contacts.vcf"           # vCard 2.1/3.0/4.0, path relative to the profile file
//! [[contacts.entry]]
//! name = "Alice Chen"
//! phone = ["+886 987 654 321"]
//! [[sms]]
//! text = "Meet me at the station at 3pm"
//! [[custom]]
//! label = "home Wi-Fi"
//! value = "CanaryNet-7f3a"
//! ```
//!
//! Every table rejects unknown keys; every error names the file, the line and column, and the key.
//! Values are validated and normalised on load:
//!
//! | key | accepted | normalised to |
//! |---|---|---|
//! | `imei` | 14–16 digits, separators (space `-` `/` `.`) allowed | digits; a bad Luhn check digit on a 15-digit IMEI is a warning, not an error |
//! | `imsi` | 14–15 digits | digits |
//! | `iccid` | 18–22 digits | digits |
//! | `phone` | a number `phonenumber` can read (national numbers need `country`) | E.164 (`+886912345678`) |
//! | `serial` | any non-empty text | trimmed |
//! | `android_id` | 16 hex digits | lower case |
//! | `advertising_id` | a UUID (8-4-4-4-12 hex) | lower case |
//! | `mac` | 6 octets, any of `:` `-` `.` space or no separator | lower case, `:`-separated |
//! | `email` | text with an `@` between non-empty parts | trimmed |
//! | `country` | ISO 3166 alpha-2 | upper case |
//! | `location` | lat in [-90, 90], lon in [-180, 180], radius_m > 0 | – |
//!
//! Profiles and vCards are untrusted input: sizes are capped ([`MAX_PROFILE_LEN`],
//! [`MAX_VCARD_LEN`]) and nothing here panics on any input.

mod vcard;

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::variants::phone;

/// Largest profile file read (1 MiB): a profile is a few lines written by hand.
pub const MAX_PROFILE_LEN: u64 = 1 << 20;
/// Largest vCard file read (16 MiB): a large address-book export with no photos is a few MiB.
pub const MAX_VCARD_LEN: u64 = 16 << 20;
/// Most contacts kept from the profile and its vCard together (a large address book has a few
/// thousand; each contact costs some 25 variants); more is an error.
pub const MAX_CONTACTS: usize = 20_000;

/// The commented template `phonehome profile init` prints. It loads without error (no vCard).
pub const TEMPLATE: &str = r#"# phonehome device profile: what you know about the device under test.
# Every value you list is searched for in the capture, in every encoding phonehome knows
# (plain, URL, base64, hex, MD5/SHA-1/SHA-256, phone number formats, ...).
# Unknown keys are errors. Delete what you do not know; every section is optional.

name = "my test phone"          # free text, shown in reports
country = "TW"                  # ISO 3166 alpha-2: the region national phone numbers are read in,
                                # and the country the report flags data leaving
manufacturer = "Xiaomi"         # the maker: its servers are first party in the report's severity

[identifiers]                   # each key takes a list
imei = ["865123045678905"]      # 14-16 digits; separators allowed; `*#06#` on the phone
imsi = []                       # 14-15 digits (MCC + MNC + subscriber)
iccid = []                      # 18-22 digits, printed on the SIM card
phone = []                      # "+886 912 345 678", or national ("0912 345 678") with `country`
serial = []                     # hardware serial (Settings > About)
android_id = []                 # 16 hex digits (`adb shell settings get secure android_id`)
advertising_id = []             # a UUID (Google advertising ID, Apple IDFA)
mac = []                        # "64:09:80:3a:5c:7e"; any separator or none
email = []                      # accounts signed in on the device

# [location]                    # where the device was: coordinates within radius_m count
# lat = 25.0339
# lon = 121.5645
# radius_m = 500

# [contacts]
# vcf = "contacts.vcf"          # a vCard 2.1/3.0/4.0 export, relative to this file
# [[contacts.entry]]            # and/or inline entries
# name = "Alice Chen"
# phone = ["+886 987 654 321"]
# email = ["alice@example.com"]

# [[sms]]                       # text of messages on the device
# text = "Meet me at the station at 3pm"

# [[custom]]                    # anything else you planted: a Wi-Fi name, a canary string
# label = "home Wi-Fi"
# value = "CanaryNet-7f3a"
"#;

/// Why a profile could not be loaded. Every variant names the file; positions are 1-based.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file (profile or vCard) could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than the limit.
    #[error("{}: {size} bytes, more than the limit of {limit} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit ([`MAX_PROFILE_LEN`] or [`MAX_VCARD_LEN`]).
        limit: u64,
    },
    /// TOML syntax error, unknown key, missing key or a value of the wrong type.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        /// The profile file.
        path: PathBuf,
        /// Line (1-based; 0 when the parser gave no position).
        line: usize,
        /// Column in characters (1-based; 0 when unknown).
        column: usize,
        /// The parser's message (names the key, e.g. "unknown field `imeii`, expected ...").
        message: String,
    },
    /// A value that is well-formed TOML but not a valid value for its key.
    #[error("{}:{line}:{column}: {key}: {message}", path.display())]
    Invalid {
        /// The profile file.
        path: PathBuf,
        /// Line (1-based).
        line: usize,
        /// Column in characters (1-based).
        column: usize,
        /// The key, e.g. `identifiers.imei`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The vCard file could not be read as vCards.
    #[error("{}: vCard {card}: {message}", path.display())]
    Vcard {
        /// The vCard file.
        path: PathBuf,
        /// Index of the card (1-based) where the problem is.
        card: usize,
        /// What is wrong.
        message: String,
    },
    /// More than [`MAX_CONTACTS`] contacts.
    #[error("{}: more than {MAX_CONTACTS} contacts", path.display())]
    TooManyContacts {
        /// The file whose contacts went over the limit.
        path: PathBuf,
    },
}

/// A loaded, validated device profile. Values are normalised (see the module doc).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    /// Free-text name of the device.
    pub name: Option<String>,
    /// ISO 3166 alpha-2 region (upper case), used to read national phone numbers.
    pub country: Option<String>,
    /// The device's maker, as the tester names it (`Xiaomi`); the report counts its servers as
    /// first party.
    pub manufacturer: Option<String>,
    /// The device's identifiers.
    pub identifiers: Identifiers,
    /// Where the device was.
    pub location: Option<Location>,
    /// Address book: inline entries first, then the vCard's cards in file order.
    pub contacts: Vec<Contact>,
    /// Texts of SMS messages.
    pub sms: Vec<String>,
    /// Other planted values.
    pub custom: Vec<Custom>,
    /// Things accepted but worth telling the user (`file:line: message`), e.g. an IMEI whose
    /// check digit is wrong, or a contact number that could not be read.
    pub warnings: Vec<String>,
}

/// The device's identifiers, each a list of normalised values (see the module doc).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identifiers {
    /// IMEIs, 14–16 digits.
    pub imei: Vec<String>,
    /// IMSIs, 14–15 digits.
    pub imsi: Vec<String>,
    /// ICCIDs, 18–22 digits.
    pub iccid: Vec<String>,
    /// The device's phone numbers, E.164.
    pub phone: Vec<String>,
    /// Hardware serial numbers.
    pub serial: Vec<String>,
    /// Android IDs, 16 lower-case hex digits.
    pub android_id: Vec<String>,
    /// Advertising IDs, lower-case UUIDs.
    pub advertising_id: Vec<String>,
    /// MAC addresses, lower-case `aa:bb:cc:dd:ee:ff`.
    pub mac: Vec<String>,
    /// E-mail addresses.
    pub email: Vec<String>,
}

/// Where the device was: a circle on the Earth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    /// Latitude in degrees, [-90, 90].
    pub lat: f64,
    /// Longitude in degrees, [-180, 180].
    pub lon: f64,
    /// Radius in metres (> 0).
    pub radius_m: f64,
}

/// Mean Earth radius in metres (IUGG), for haversine distances.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

impl Location {
    /// Great-circle (haversine) distance in metres from this location's centre to `lat`, `lon`.
    pub fn distance_m(&self, lat: f64, lon: f64) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), lat.to_radians());
        let dp = p2 - p1;
        let dl = (lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
    }

    /// Whether `lat`, `lon` (degrees) lies within `radius_m` of the centre. Out-of-range or
    /// non-finite coordinates are never contained.
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        (-90.0..=90.0).contains(&lat)
            && (-180.0..=180.0).contains(&lon)
            && self.distance_m(lat, lon) <= self.radius_m
    }
}

/// An address-book entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    /// Display name (vCard `FN`, else `N` joined), may be empty.
    pub name: String,
    /// Phone numbers: E.164 when readable, else the digits as written (with a warning).
    pub phone: Vec<String>,
    /// E-mail addresses.
    pub email: Vec<String>,
}

/// A planted value with the tester's label for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Custom {
    /// The label used in findings (e.g. "home Wi-Fi").
    pub label: String,
    /// The value searched for.
    pub value: String,
}

// ---------------------------------------------------------------------------------------------
// The file as written (serde), with spans for error positions.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: Option<String>,
    country: Option<Spanned<String>>,
    manufacturer: Option<String>,
    #[serde(default)]
    identifiers: RawIdentifiers,
    location: Option<RawLocation>,
    #[serde(default)]
    contacts: RawContacts,
    #[serde(default)]
    sms: Vec<RawSms>,
    #[serde(default)]
    custom: Vec<RawCustom>,
}

type List = Vec<Spanned<String>>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawIdentifiers {
    #[serde(default)]
    imei: List,
    #[serde(default)]
    imsi: List,
    #[serde(default)]
    iccid: List,
    #[serde(default)]
    phone: List,
    #[serde(default)]
    serial: List,
    #[serde(default)]
    android_id: List,
    #[serde(default)]
    advertising_id: List,
    #[serde(default)]
    mac: List,
    #[serde(default)]
    email: List,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocation {
    lat: Spanned<f64>,
    lon: Spanned<f64>,
    radius_m: Spanned<f64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawContacts {
    vcf: Option<Spanned<String>>,
    #[serde(default)]
    entry: Vec<RawContact>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContact {
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: List,
    #[serde(default)]
    email: List,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSms {
    text: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCustom {
    label: String,
    value: Spanned<String>,
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

/// Reads a whole file of at most `limit` bytes.
fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, ProfileError> {
    use std::io::Read;
    let io = |source| ProfileError::Io { path: path.to_owned(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut data = Vec::new();
    file.take(limit + 1).read_to_end(&mut data).map_err(io)?;
    if data.len() as u64 > limit {
        let size = std::fs::metadata(path).map_or(limit + 1, |m| m.len());
        return Err(ProfileError::TooLarge { path: path.to_owned(), size, limit });
    }
    Ok(data)
}

impl Profile {
    /// Reads and validates the profile at `path` (and its vCard, relative to the profile's
    /// folder).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ProfileError> {
        let path = path.as_ref();
        let data = read_capped(path, MAX_PROFILE_LEN)?;
        let text = String::from_utf8(data).map_err(|e| {
            let (line, column) =
                line_col(&String::from_utf8_lossy(e.as_bytes()), e.utf8_error().valid_up_to());
            ProfileError::Syntax {
                path: path.to_owned(),
                line,
                column,
                message: "not UTF-8 text".into(),
            }
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base, path)
    }

    /// The bytes a profile at `path` is made of: the profile file and the vCard file it names
    /// (read as [`Profile::load`] reads them, without validating anything else), for the cache
    /// key of [`crate::compiled`]. A profile that does not parse gives its bytes and no vCard
    /// (loading it then reports the error).
    pub fn inputs(path: &Path) -> Result<(Vec<u8>, Option<Vec<u8>>), ProfileError> {
        #[derive(Deserialize)]
        struct Only {
            contacts: Option<OnlyContacts>,
        }
        #[derive(Deserialize)]
        struct OnlyContacts {
            vcf: Option<String>,
        }
        let data = read_capped(path, MAX_PROFILE_LEN)?;
        let vcf = std::str::from_utf8(&data)
            .ok()
            .and_then(|t| toml::from_str::<Only>(t).ok())
            .and_then(|o| o.contacts?.vcf);
        let vcf = match vcf {
            Some(f) => {
                let base = path.parent().unwrap_or(Path::new("."));
                Some(read_capped(&base.join(f), MAX_VCARD_LEN)?)
            }
            None => None,
        };
        Ok((data, vcf))
    }

    /// Parses and validates profile `text`; a vCard path in it is read relative to `base_dir`.
    /// Errors name the file as `<profile>`.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str, base_dir: &Path) -> Result<Self, ProfileError> {
        Self::parse(text, base_dir, Path::new("<profile>"))
    }

    fn parse(text: &str, base_dir: &Path, path: &Path) -> Result<Self, ProfileError> {
        if text.len() as u64 > MAX_PROFILE_LEN {
            let size = text.len() as u64;
            return Err(ProfileError::TooLarge { path: path.into(), size, limit: MAX_PROFILE_LEN });
        }
        let raw: RawProfile = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
            ProfileError::Syntax {
                path: path.into(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        let mut v = Validator { text, path, warnings: Vec::new() };
        let mut p = Self {
            name: raw.name.map(|n| n.trim().to_owned()),
            manufacturer: raw.manufacturer.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()),
            ..Self::default()
        };

        if let Some(c) = raw.country {
            let code = c.get_ref().trim().to_ascii_uppercase();
            if !is_region(&code) {
                return Err(v.invalid(c.span(), "country", "not an ISO 3166 alpha-2 code"));
            }
            p.country = Some(code);
        }
        let region = p.country.as_deref();
        let ids = raw.identifiers;
        let out = &mut p.identifiers;
        v.each(&ids.imei, "identifiers.imei", &mut out.imei, imei)?;
        v.each(&ids.imsi, "identifiers.imsi", &mut out.imsi, |s, _| digits(s, 14, 15))?;
        v.each(&ids.iccid, "identifiers.iccid", &mut out.iccid, |s, _| digits(s, 18, 22))?;
        v.each(&ids.phone, "identifiers.phone", &mut out.phone, |s, _| phone_number(s, region))?;
        v.each(&ids.serial, "identifiers.serial", &mut out.serial, |s, _| non_empty(s))?;
        v.each(&ids.android_id, "identifiers.android_id", &mut out.android_id, |s, _| {
            android_id(s)
        })?;
        v.each(
            &ids.advertising_id,
            "identifiers.advertising_id",
            &mut out.advertising_id,
            |s, _| uuid(s),
        )?;
        v.each(&ids.mac, "identifiers.mac", &mut out.mac, |s, _| mac(s))?;
        v.each(&ids.email, "identifiers.email", &mut out.email, |s, _| email(s))?;

        if let Some(l) = raw.location {
            let (lat, lon, r) = (*l.lat.get_ref(), *l.lon.get_ref(), *l.radius_m.get_ref());
            if !(-90.0..=90.0).contains(&lat) {
                return Err(v.invalid(l.lat.span(), "location.lat", "must be in [-90, 90]"));
            }
            if !(-180.0..=180.0).contains(&lon) {
                return Err(v.invalid(l.lon.span(), "location.lon", "must be in [-180, 180]"));
            }
            if !(r > 0.0 && r.is_finite()) {
                return Err(v.invalid(l.radius_m.span(), "location.radius_m", "must be > 0"));
            }
            p.location = Some(Location { lat, lon, radius_m: r });
        }

        for e in raw.contacts.entry {
            let mut c = Contact { name: e.name.trim().to_owned(), ..Contact::default() };
            v.each(&e.phone, "contacts.entry.phone", &mut c.phone, |s, _| phone_number(s, region))?;
            v.each(&e.email, "contacts.entry.email", &mut c.email, |s, _| email(s))?;
            p.contacts.push(c);
        }
        if let Some(f) = raw.contacts.vcf {
            let file = base_dir.join(f.get_ref());
            let data = read_capped(&file, MAX_VCARD_LEN)?;
            let cards = vcard::parse(&data).map_err(|(card, message)| ProfileError::Vcard {
                path: file.clone(),
                card,
                message,
            })?;
            for (i, card) in cards.into_iter().enumerate() {
                let mut c = Contact { name: card.name, ..Contact::default() };
                for number in card.phone {
                    match phone_number(&number, region) {
                        Ok(n) => c.phone.push(n),
                        Err(why) => {
                            v.warnings.push(format!(
                                "{}: card {}: phone {number:?}: {why}; kept as digits",
                                file.display(),
                                i + 1
                            ));
                            let d: String = number.chars().filter(char::is_ascii_digit).collect();
                            if !d.is_empty() {
                                c.phone.push(d);
                            }
                        }
                    }
                }
                c.email.extend(card.email.iter().filter_map(|e| email(e).ok()));
                if !(c.name.is_empty() && c.phone.is_empty() && c.email.is_empty()) {
                    p.contacts.push(c);
                }
                if p.contacts.len() > MAX_CONTACTS {
                    return Err(ProfileError::TooManyContacts { path: file });
                }
            }
        }
        if p.contacts.len() > MAX_CONTACTS {
            return Err(ProfileError::TooManyContacts { path: path.into() });
        }

        for s in raw.sms {
            p.sms.push(
                non_empty(s.text.get_ref()).map_err(|m| v.invalid(s.text.span(), "sms.text", m))?,
            );
        }
        for c in raw.custom {
            let value = non_empty(c.value.get_ref())
                .map_err(|m| v.invalid(c.value.span(), "custom.value", m))?;
            p.custom.push(Custom { label: c.label.trim().to_owned(), value });
        }
        p.warnings = v.warnings;
        Ok(p)
    }

    /// Number of searchable items in the profile (what [`crate::variants::build`] expands).
    pub fn item_count(&self) -> usize {
        let i = &self.identifiers;
        let ids = i.imei.len()
            + i.imsi.len()
            + i.iccid.len()
            + i.phone.len()
            + i.serial.len()
            + i.android_id.len()
            + i.advertising_id.len()
            + i.mac.len()
            + i.email.len();
        let contacts: usize = self
            .contacts
            .iter()
            .map(|c| usize::from(!c.name.is_empty()) + c.phone.len() + c.email.len())
            .sum();
        ids + contacts + self.sms.len() + self.custom.len()
    }
}

/// Collects warnings and builds positioned errors.
struct Validator<'a> {
    text: &'a str,
    path: &'a Path,
    warnings: Vec<String>,
}

impl Validator<'_> {
    fn invalid(&self, span: Range<usize>, key: &str, message: impl fmt::Display) -> ProfileError {
        let (line, column) = line_col(self.text, span.start);
        ProfileError::Invalid {
            path: self.path.into(),
            line,
            column,
            key: key.into(),
            message: message.to_string(),
        }
    }

    /// Validates every value of a list with `check`, which may add a warning.
    fn each(
        &mut self,
        list: &[Spanned<String>],
        key: &str,
        out: &mut Vec<String>,
        check: impl Fn(&str, &mut Option<String>) -> Result<String, String>,
    ) -> Result<(), ProfileError> {
        for s in list {
            let mut warning = None;
            let value = check(s.get_ref(), &mut warning)
                .map_err(|m| self.invalid(s.span(), key, format!("{:?}: {m}", s.get_ref())))?;
            if let Some(w) = warning {
                let (line, _) = line_col(self.text, s.span().start);
                self.warnings.push(format!("{}:{line}: {key}: {w}", self.path.display()));
            }
            out.push(value);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Value checks: each returns the normalised value or says what is wrong.

/// Removes the separators people write inside numbers.
fn strip_separators(s: &str) -> String {
    s.trim().chars().filter(|c| !matches!(c, ' ' | '-' | '/' | '.' | ':')).collect()
}

fn digits(s: &str, min: usize, max: usize) -> Result<String, String> {
    let d = strip_separators(s);
    if !d.bytes().all(|b| b.is_ascii_digit()) {
        return Err("only digits (and separators) allowed".into());
    }
    if !(min..=max).contains(&d.len()) {
        return Err(format!("{} digits, expected {min} to {max}", d.len()));
    }
    Ok(d)
}

/// Luhn check over ASCII digits (the last one is the check digit).
pub(crate) fn luhn_valid(d: &str) -> bool {
    let sum: u32 = d
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let v = u32::from(b.wrapping_sub(b'0'));
            if i % 2 == 1 { if v * 2 > 9 { v * 2 - 9 } else { v * 2 } } else { v }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn imei(s: &str, warning: &mut Option<String>) -> Result<String, String> {
    let d = digits(s, 14, 16)?;
    if d.len() == 15 && !luhn_valid(&d) {
        *warning = Some(format!("IMEI {d} fails its Luhn check digit (typo?); searched as given"));
    }
    Ok(d)
}

fn phone_number(s: &str, region: Option<&str>) -> Result<String, String> {
    phone::normalise(s, region).ok_or_else(|| {
        let t = s.trim_start();
        if region.is_none() && !t.starts_with('+') && !t.starts_with("00") {
            "not a phone number (a national number needs `country`)".to_owned()
        } else {
            "not a phone number".to_owned()
        }
    })
}

fn non_empty(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() { Err("empty".into()) } else { Ok(t.to_owned()) }
}

fn android_id(s: &str) -> Result<String, String> {
    let t = s.trim().to_ascii_lowercase();
    if t.len() != 16 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("expected 16 hex digits".into());
    }
    Ok(t)
}

fn uuid(s: &str) -> Result<String, String> {
    let t = s.trim().to_ascii_lowercase();
    let ok = t.len() == 36
        && t.bytes().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) { b == b'-' } else { b.is_ascii_hexdigit() }
        });
    if ok { Ok(t) } else { Err("expected a UUID (8-4-4-4-12 hex digits)".into()) }
}

fn mac(s: &str) -> Result<String, String> {
    let hex: String = strip_separators(s).to_ascii_lowercase();
    if hex.len() != 12 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("expected 6 octets (12 hex digits, any separator)".into());
    }
    let octets: Vec<&str> = (0..6).map(|i| &hex[2 * i..2 * i + 2]).collect();
    Ok(octets.join(":"))
}

fn email(s: &str) -> Result<String, String> {
    let t = s.trim();
    match t.split_once('@') {
        Some((user, domain))
            if !user.is_empty() && !domain.is_empty() && !t.contains(char::is_whitespace) =>
        {
            Ok(t.to_owned())
        }
        _ => Err("expected an e-mail address (user@domain)".into()),
    }
}

/// ISO 3166 alpha-2 codes with no telephone metadata (uninhabited territories), accepted too.
const REGIONS_WITHOUT_PHONES: &[&str] = &["AQ", "BV", "GS", "HM", "PN", "TF", "UM"];

/// Whether `code` (upper case) is an ISO 3166 alpha-2 region: the regions of the phone-number
/// metadata (CLDR) plus [`REGIONS_WITHOUT_PHONES`].
fn is_region(code: &str) -> bool {
    code.len() == 2
        && code.bytes().all(|b| b.is_ascii_uppercase())
        && (code.parse::<phonenumber::country::Id>().is_ok()
            || REGIONS_WITHOUT_PHONES.contains(&code))
}

#[cfg(test)]
mod tests;

/// Parses vCard bytes and returns the number of cards (for the `profile` fuzz target only).
#[doc(hidden)]
pub fn fuzz_vcard(data: &[u8]) -> usize {
    vcard::parse(data).map_or(0, |cards| cards.len())
}
