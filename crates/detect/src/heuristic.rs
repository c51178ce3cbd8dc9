//! Profile-less detectors: personal data found by its shape and the key it is sent under, with or
//! without a device profile (`source: heuristic` findings).
//!
//! [`scan`] looks at one [`Field`] and reports [`Hit`]s. Every detector is precise first: a value
//! must *be* the identifier (check digit, real network code, exact shape, taken whole), not merely
//! look like one. Digit runs are taken whole (a 15-digit IMEI inside a 20-digit number is not an
//! IMEI), hex tokens likewise (a 16-hex-digit Android ID inside a 32-digit hash is not one).
//!
//! # Keys
//!
//! Many detectors need a telling key. The key of a value is the field's own key
//! ([`Field::key`], e.g. `imei` for `http.query:imei`) or the key written just before the value in
//! the bytes: `key=value`, `key:value`, `"key":"value"`, `key: "value"`, `key%3Dvalue`,
//! `<key>value`. Keys are split into words (`_android_id`, `androidId` and `Android-ID` are the same)
//! and matched whole, on their last word or last two words, so `device_imei` is an IMEI key and
//! `timeInterval` is not. Short words (`did`, `aid`, `mac`, `tel`, `ifa`, `ll`...) tell only as the
//! whole key: `xmp.did` (Adobe XMP metadata) is not a device id.
//!
//! # Detectors and confidence
//!
//! Confidence rubric (0..=1): **0.9 and above**: the shape is verified by a check (Luhn, a real
//! MCC/MNC, an exact format) *and* a telling key names it, or the value is unmistakable (an e-mail
//! address). **0.6-0.85**: a verified shape with a generic key (`deviceid`, `number`), or a
//! strong check without a key. **0.3-0.5**: a verified shape that occurs by chance in other data
//! (an MCC/MNC prefix, a colon MAC, a decimal pair). **Below 0.3**: telling key names alone and
//! values known not to be unique (opted-out advertising ID, the shared Android 2.2 ID).
//!
//! | kind | rule | confidence, reason |
//! |---|---|---|
//! | IMEI | 15-digit run (or `8-6-1` / `2-6-6-1` dashed, the RFC 7254 URN form), Luhn-valid, first two digits a GSMA reporting body (list and source in `heuristic/tables.rs`) | 0.95 `luhn+tac+key` (imei key), 0.85 `luhn+tac+key:device-id` (`did`, `deviceid`, `udid`), 0.6 `luhn+tac` (no key: only the bodies allocating today, 01, 35, 86, 99; 0.5 when its prefix is also a real MCC/MNC) |
//! | IMEI (IMEISV) | 16-digit run with a reporting body, under an imei key only | 0.8 `imeisv+key` |
//! | IMEI (no check digit) | 14-digit run with a reporting body, under an imei key only | 0.7 `tac+key:no-check` |
//! | IMSI | 15-digit run whose first 3 digits are a real MCC and next 3 or 2 a real MNC for it | 0.95 `mcc-mnc+key`, 0.9 `mcc-mnc+3gpp-nai` (`<imsi>@...3gppnetwork.org`), 0.35 `mcc-mnc` |
//! | ICCID | 18-22-digit run starting `89`, Luhn-valid | 0.95 `luhn+89+key`, 0.6 `luhn+89` |
//! | MAC | `aa:bb:cc:dd:ee:ff` or `-` form, not all-zero, not a group (multicast/broadcast) address; locally administered (randomised) ones are kept, they still identify; 12 bare hex digits or the `%3A` form only under a mac key | 0.95 `mac+key`, 0.5 `mac`, 0.8 `hex12+key`, 0.95 `mac+key:url`; Android's stand-in `02:00:00:00:00:00` 0.1 `mac:placeholder` |
//! | e-mail | local part (letters, digits, `._+-`, ≤ 64, standing alone) `@` (or `%40`) two or more DNS labels, alphabetic TLD; not a SIP/URL user part, not a `Message-ID`, not `icon@2x.png`, not under a private TLD (`.local`, `.lan`...) nor a 3GPP NAI (`...3gppnetwork.org`, whose user part is reported as an IMSI) | 0.95 `email+key`, 0.9 `email`, 0.5 `email:role` (`noreply@`, `support@`...: not personal, kept because they still show who the device talks to) |
//! | phone | value of a phone key (`phone`, `msisdn`, `tel`, `mobile`; weak: `number`), valid for the `phonenumber` crate (rules in `heuristic/text.rs`) | 0.9/0.7 `phone+key`, 0.8/0.6 `phone+key:region`, 0.6 `phone+key:cc` |
//! | location | `lat`/`lng` key pair with decimals, in range, not near `0,0` | 0.8 `key:lat+lon` |
//! | location | `lat,lon` value of a location key (`latlng`, `ll`, `location`) | 0.85 `key:latlng` |
//! | location | bare `lat,lon` pair, both with ≥ 4 decimals, in range, not near `0,0`, not in a longer list | 0.4 `latlon-pair` |
//! | advertising ID | UUID under `gaid`, `adid`, `idfa`, `advertising_id`, `aaid`, `ifa` | 0.9 `uuid+key`; the all-zero UUID (tracking opted out) 0.1 `uuid+key:zero` |
//! | advertising ID | UUID under a device-id key (`udid`, `deviceid`): an advertising or install ID | 0.4 `uuid+key:device-id` |
//! | Android ID | 16 hex digits under `android_id`, `ssaid`, `aid` | 0.9 `hex16+key` (0.3 for the shared `9774d56d682e549c`); under a device-id key 0.6 `hex16+key:device-id` |
//! | key name | a telling key name (`imei`, `imsi`, `iccid`, `serial`, `macaddress`, `msisdn`, `android_id`, `gaid`, `contacts`, `email`...; not ambiguous ones like `mac`, `adid`, `mail`, `phone`) with a value of at least 4 bytes, not a placeholder, not code (no `(`, no printf `%s`), that no value detector reported | 0.2 `key-name`; value: the raw value, at most 64 bytes |
//!
//! Key-name hits: for the field's own key they are given only when no value detector fired on the
//! field; for a key written in the bytes, only when no value hit overlaps that key's value.
//! Placeholder values (`null`, `0`, `unknown`, `true`...) give none.
//!
//! Coordinates split over two fields (`http.query:lat`, `http.query:lng`) cannot be paired here:
//! the pair is found when the parent field (the query string, the body) is scanned.
//!
//! # Performance
//!
//! Each detector is one linear pass: a byte-class loop for digit and hex runs, `memchr` for `@`,
//! `,` and the `=`/`:` of key-value pairs, with bounded look-back and look-ahead at each candidate.
//! No regular expressions. The MCC/MNC table is parsed once, on first use.

use crate::DataKind;
use crate::fields::Field;

mod ids;
mod keys;
mod tables;
#[cfg(test)]
mod tests;
mod text;

pub use tables::{Network, network};

/// One heuristic detection.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// What kind of personal data it is.
    pub kind: DataKind,
    /// The value, normalised: digits for IMEI/IMSI/ICCID; `aa:bb:cc:dd:ee:ff` for MACs; lower case
    /// for e-mail, UUID and Android ID; a phone number's digits as found, with its leading `+` if
    /// present; `lat,lon` (the parsed numbers) for locations; the raw value (at most 64 bytes, lossy
    /// UTF-8) for key-name hits.
    pub value: String,
    /// How sure the detector is, 0..=1 (rubric in the module documentation).
    pub confidence: f32,
    /// Start of the value in the field's data.
    pub start: usize,
    /// End of the value in the field's data (exclusive).
    pub end: usize,
    /// Which rule fired, a short machine name (`luhn+tac+key`, `mcc-mnc`, `key-name`...).
    pub reason: &'static str,
}

/// Settings of a scan.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Region used to validate national-format phone numbers (the profile's `country`); without
    /// it only international forms are accepted.
    pub region: Option<phonenumber::country::Id>,
}

/// Runs every detector over `field`, with default [`Options`], calling `out` for each hit.
pub fn scan(field: &Field<'_>, out: &mut dyn FnMut(Hit)) {
    scan_with(field, &Options::default(), out);
}

/// Most key-name hits held back per field (the rest are dropped).
const MAX_KEY_NAME_HITS: usize = 16;
/// Longest value reported by a key-name hit, in bytes.
const MAX_KEY_NAME_VALUE: usize = 64;

/// Runs every detector over `field` with `options`, calling `out` for each hit. Hits come out
/// grouped by detector, each group in data order; key-name hits last. A [`Scanner`] does the
/// same for many fields and remembers their keys.
pub fn scan_with(field: &Field<'_>, options: &Options, out: &mut dyn FnMut(Hit)) {
    Scanner::new(*options).scan(field, out);
}

/// Runs the detectors over field after field with the same [`Options`], remembering how each
/// field's key was classified: a JSON array of objects repeats a few keys thousands of times,
/// and this runs for every value.
#[derive(Clone, Default)]
pub struct Scanner {
    options: Options,
    memo: Box<keys::Memo>,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner").field("options", &self.options).finish_non_exhaustive()
    }
}

impl Scanner {
    /// A scanner with `options` and nothing remembered.
    pub fn new(options: Options) -> Self {
        Self { options, memo: Box::default() }
    }

    /// Whether a field of `len` bytes under `key` ([`Field::key`]) can give a hit: it is long
    /// enough for a detector that needs no key, or long enough for one that does and its key
    /// tells. A field it declines gives nothing in [`scan`](Self::scan).
    pub fn wants(&mut self, key: Option<&str>, len: usize) -> bool {
        len >= MIN_UNKEYED_LEN
            || (len >= MIN_KEYED_LEN && key.is_some_and(|k| self.memo.classify(k.as_bytes()) != 0))
    }

    /// Runs every detector over `field`, calling `out` for each hit (as [`scan_with`]).
    pub fn scan(&mut self, field: &Field<'_>, out: &mut dyn FnMut(Hit)) {
        let data: &[u8] = &field.data;
        // Most values of telemetry are short (counters, flags, enums): no detector can fire
        // on them.
        if data.len() < MIN_KEYED_LEN {
            return;
        }
        let key = field.key().map_or(0, |k| self.memo.classify(k.as_bytes()));
        if key == 0 && data.len() < MIN_UNKEYED_LEN {
            return;
        }
        scan_all(&Ctx { data, field: key }, &self.options, out);
    }
}

/// Shortest field any detector reports a hit in when its key tells nothing: an e-mail `a@b.co`
/// (digit and hex identifiers are 12 bytes and more, a `key=value` pair inside needs a key).
/// `tests::no_hit_below_the_minimum_lengths` checks both bounds over every short value.
const MIN_UNKEYED_LEN: usize = 6;
/// Shortest field any detector reports a hit in under a telling key (a key-name hit needs a
/// 4-byte value; a `lat,lon` key needs two numbers with decimals).
const MIN_KEYED_LEN: usize = 4;

/// Every detector, with the field's key classified.
fn scan_all(ctx: &Ctx<'_>, options: &Options, out: &mut dyn FnMut(Hit)) {
    let data = ctx.data;
    // Value ranges already reported, for the key-name rule.
    let mut spans: Vec<(usize, usize)> = Vec::new();
    // Pairs under telling key names, for the key-name rule once every value detector has run.
    let mut named_pairs: Vec<keys::Pair> = Vec::new();
    {
        let mut emit = |h: Hit| {
            spans.push((h.start, h.end));
            out(h);
        };
        ids::scan_digits(ctx, &mut emit);
        ids::scan_hex(ctx, &mut emit);
        text::scan_email(ctx, &mut emit);
        text::scan_coords(ctx, &mut emit);

        // Key-value pairs: phone numbers, coordinate keys.
        let mut coords = text::KeyCoords::default();
        if ctx.field & (keys::PHONE | keys::PHONE_WEAK) != 0 {
            text::phone(ctx, ctx.field, 0, options.region, &mut emit);
        }
        if ctx.field & keys::LATLON != 0 {
            coords.pair(ctx, keys::LATLON, 0, data.len(), &mut emit);
        }
        keys::pairs(data, |p| {
            ids::mac_encoded(ctx, p.classes, p.start, p.end, &mut emit);
            text::phone(ctx, p.classes, p.start, options.region, &mut emit);
            coords.pair(ctx, p.classes, p.start, p.end, &mut emit);
            if p.classes & keys::NAMED != 0 && named_pairs.len() < MAX_KEY_NAME_HITS * 4 {
                named_pairs.push(p);
            }
        });
    }

    // Key names.
    let mut named = 0;
    if ctx.field & keys::NAMED != 0
        && spans.is_empty()
        && let Some(h) = key_name_hit(ctx, ctx.field, 0, data.len())
    {
        named += 1;
        out(h);
    }
    for p in named_pairs {
        if named >= MAX_KEY_NAME_HITS {
            break;
        }
        if spans.iter().any(|&(s, e)| s < p.end.max(p.start + 1) && p.start < e) {
            continue;
        }
        if let Some(h) = key_name_hit(ctx, p.classes, p.start, p.end) {
            named += 1;
            out(h);
        }
    }
}

/// The kind a telling key name stands for.
fn key_kind(classes: keys::Classes) -> Option<DataKind> {
    let order = [
        (keys::IMEI, DataKind::Imei),
        (keys::IMSI, DataKind::Imsi),
        (keys::ICCID, DataKind::Iccid),
        (keys::PHONE, DataKind::Phone),
        (keys::ANDROID_ID, DataKind::AndroidId),
        (keys::ADID, DataKind::AdvertisingId),
        (keys::MAC, DataKind::Mac),
        (keys::SERIAL, DataKind::Serial),
        (keys::CONTACTS, DataKind::Contact),
        (keys::EMAIL, DataKind::Email),
    ];
    order.iter().find(|(c, _)| classes & c != 0).map(|&(_, k)| k)
}

/// A key-name hit for the value at `start..end`, unless the value is empty or a placeholder.
fn key_name_hit(ctx: &Ctx<'_>, classes: keys::Classes, start: usize, end: usize) -> Option<Hit> {
    let kind = key_kind(classes)?;
    let raw = ctx.data.get(start..end)?;
    let trimmed = raw.trim_ascii();
    // Identifiers are never shorter than 4 bytes (`imei=1` is a flag); a `(` is code
    // (`a.email=decodeURIComponent(d[0])`).
    if trimmed.len() < 4 || trimmed.contains(&b'(') || format_spec(trimmed) || placeholder(trimmed)
    {
        return None;
    }
    let cut = &trimmed[..trimmed.len().min(MAX_KEY_NAME_VALUE)];
    let s = start + (raw.len() - raw.trim_ascii_start().len());
    Some(ctx.hit(
        kind,
        String::from_utf8_lossy(cut).into_owned(),
        0.2,
        s,
        s + trimmed.len(),
        "key-name",
    ))
}

/// Whether `v` holds a printf conversion (`%.16s`, `%d`): a template, not a value. URL escapes
/// (`%3A`) are not conversions.
fn format_spec(v: &[u8]) -> bool {
    v.windows(2).enumerate().any(|(i, w)| {
        w[0] == b'%'
            && !(w[1].is_ascii_hexdigit() && v.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

/// Values that say "nothing here".
fn placeholder(v: &[u8]) -> bool {
    const EMPTY: &[&[u8]] = &[
        b"",
        b"0",
        b"-1",
        b"-",
        b"null",
        b"nil",
        b"none",
        b"undefined",
        b"unknown",
        b"true",
        b"false",
        b"n/a",
        b"na",
        b"{}",
        b"[]",
        b"\"\"",
    ];
    v.iter().all(|&b| b == b'0') || EMPTY.iter().any(|e| v.eq_ignore_ascii_case(e))
}

/// What every detector sees: the bytes and what the field's own key tells.
pub(crate) struct Ctx<'d> {
    /// The field's bytes.
    data: &'d [u8],
    /// Classes of the field's key.
    field: keys::Classes,
}

impl Ctx<'_> {
    /// What the keys around a value starting at `pos` tell: the field's key and the key written
    /// just before it.
    fn classes_at(&self, pos: usize) -> keys::Classes {
        self.field | keys::classify(keys::key_before(self.data, pos))
    }

    /// A hit (confidence clamped to 0..=1, range clamped to the data).
    fn hit(
        &self,
        kind: DataKind,
        value: String,
        confidence: f32,
        start: usize,
        end: usize,
        reason: &'static str,
    ) -> Hit {
        let end = end.min(self.data.len());
        Hit {
            kind,
            value,
            confidence: confidence.clamp(0.0, 1.0),
            start: start.min(end),
            end,
            reason,
        }
    }
}
