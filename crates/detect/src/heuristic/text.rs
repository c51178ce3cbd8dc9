//! Free-text detectors: e-mail addresses, phone numbers after phone keys, coordinates.

use super::keys::{LAT, LATLON, LON, PHONE, PHONE_WEAK};
use super::{Ctx, Hit};
use crate::DataKind;

/// Local parts that name a role or a machine rather than a person.
const ROLE_LOCALS: &[&str] = &[
    "noreply",
    "no-reply",
    "no_reply",
    "donotreply",
    "do-not-reply",
    "mailer-daemon",
    "postmaster",
    "hostmaster",
    "webmaster",
    "abuse",
    "admin",
    "root",
    "nobody",
    "info",
    "support",
    "help",
    "sales",
    "contact",
    "service",
    "git",
    "notifications",
    "security",
    "privacy",
    "www",
];

/// Last labels that are file extensions, not TLDs (`icon@2x.png`).
const FILE_EXTS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "webp", "svg", "bmp", "ico", "js", "css", "json", "html", "htm",
    "xml", "txt", "pdf", "mp3", "mp4", "m4a", "wav", "ttf", "woff", "woff2", "otf",
];

/// Whether `b` may be in a local part (the common subset of RFC 5322 `atext` plus `.`; `=`, `/`,
/// `%` and `:` are left out so `email=bob@..`, `//user@host` and `%3Dbob@..` do not swallow them).
fn local_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-')
}

/// Top-level names that are not on the public Internet (RFC 2606, RFC 6762, common LAN names):
/// addresses under them are lab or intranet identities, not mailboxes.
const PRIVATE_TLDS: &[&str] = &[
    "local",
    "lan",
    "localdomain",
    "localhost",
    "internal",
    "intranet",
    "home",
    "corp",
    "private",
    "test",
    "example",
    "invalid",
];

/// Finds e-mail addresses: every `@` (memchr) or `%40` (memmem), a local part of at most 64 bytes
/// before it and a domain of dot-separated labels after it ending in an alphabetic TLD.
pub(super) fn scan_email(ctx: &Ctx<'_>, out: &mut dyn FnMut(Hit)) {
    for at in memchr::memchr_iter(b'@', ctx.data) {
        email_at(ctx, at, 1, out);
    }
    // `%40` cannot overlap itself: every `%` followed by `40` is one occurrence (memchr rather
    // than a memmem searcher built per field).
    for at in memchr::memchr_iter(b'%', ctx.data) {
        if ctx.data.get(at + 1..at + 3) == Some(b"40") {
            email_at(ctx, at, 3, out);
        }
    }
}

/// An e-mail address around the `@` (or `%40`, `at_len` 3) at `at`.
fn email_at(ctx: &Ctx<'_>, at: usize, at_len: usize, out: &mut dyn FnMut(Hit)) {
    let data = ctx.data;
    // Local part, backwards.
    let mut s = at;
    while s > 0 && at - s <= 64 && local_byte(data[s - 1]) {
        s -= 1;
    }
    let local = &data[s..at];
    if local.is_empty() || at - s > 64 || (s > 0 && local_byte(data[s - 1])) {
        return;
    }
    if local[0] == b'.' || local[local.len() - 1] == b'.' || has_double_dot(local) {
        return;
    }
    // Not a SIP/URL user part (`sip:alice@`, `//user:pw@`), but `mailto:` is fine; not a
    // Message-ID.
    let before = &data[..s];
    if s > 0 && matches!(data[s - 1], b':' | b'/') && !before.ends_with(b"mailto:") {
        return;
    }
    if before.len() >= 13 && before[before.len() - 13..].eq_ignore_ascii_case(b"message-id: <") {
        return;
    }
    let Some(end) = domain_end(data, at + at_len) else {
        return;
    };
    let domain = &data[at + at_len..end];
    if reject_domain(domain) {
        return;
    }
    let local_lc = String::from_utf8_lossy(local).to_ascii_lowercase();
    let value = format!("{local_lc}@{}", String::from_utf8_lossy(domain).to_ascii_lowercase());
    let role = ROLE_LOCALS.contains(&local_lc.as_str());
    let keyed = ctx.classes_at(s) & super::keys::EMAIL != 0;
    let (conf, reason) = match (role, keyed) {
        (true, _) => (0.5, "email:role"),
        (false, true) => (0.95, "email+key"),
        (false, false) => (0.9, "email"),
    };
    out(ctx.hit(DataKind::Email, value, conf, s, end, reason));
}

/// Whether `s` contains `..`.
fn has_double_dot(s: &[u8]) -> bool {
    s.windows(2).any(|w| w == b"..")
}

/// The end of a domain starting at `from`: at least two labels of `[A-Za-z0-9-]` (1-63 bytes, no
/// `-` at either end), the last one 2-24 letters, 253 bytes at most, not glued to a word after.
fn domain_end(data: &[u8], from: usize) -> Option<usize> {
    let mut p = from;
    let mut labels = 0;
    let mut end = None;
    loop {
        let ls = p;
        while p < data.len() && (data[p].is_ascii_alphanumeric() || data[p] == b'-') {
            p += 1;
        }
        let label = &data[ls..p];
        if label.is_empty()
            || label.len() > 63
            || label[0] == b'-'
            || label[label.len() - 1] == b'-'
        {
            break;
        }
        labels += 1;
        if labels >= 2 {
            end = Some((p, (ls, p)));
        }
        if p - from > 253 {
            return None;
        }
        // Another label follows only after a dot and an alphanumeric byte.
        if p + 1 < data.len() && data[p] == b'.' && data[p + 1].is_ascii_alphanumeric() {
            p += 1;
        } else {
            break;
        }
    }
    let (end, (ts, te)) = end?;
    // The whole run of labels must have been taken; a `_` or `-` glued after it means this is a
    // longer token.
    if end != p || data.get(end).is_some_and(|&b| b == b'_' || b == b'-') {
        return None;
    }
    let tld = &data[ts..te];
    if !(2..=24).contains(&tld.len()) || !tld.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    Some(end)
}

/// Domains that are not mail domains: `2x.png` style asset names, private names, and 3GPP
/// network access identifiers (`<imsi>@ims.mncXXX.mccYYY.3gppnetwork.org`, reported as the IMSI).
fn reject_domain(domain: &[u8]) -> bool {
    let lower = String::from_utf8_lossy(domain).to_ascii_lowercase();
    let tld = lower.rsplit('.').next().unwrap_or("");
    if FILE_EXTS.contains(&tld)
        || PRIVATE_TLDS.contains(&tld)
        || lower.ends_with(".3gppnetwork.org")
    {
        return true;
    }
    // `@2x`, `@3x` scale suffixes.
    let first = lower.split('.').next().unwrap_or("");
    first.len() >= 2
        && first.ends_with('x')
        && first[..first.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

/// A phone number found after a phone key: the value starts at `start`; `classes` are the key's.
///
/// Accepted: `+`, `%2B` or `00` then 7-15 digits, or bare digits, with spaces, `-`, `.`, `(`, `)`
/// and `%20` between; a leading `tel:` is skipped. Anything else in the value (letters, `*`, `#`)
/// and it is not a phone number. Validation with `phonenumber`, never with a region hint for
/// international forms (see `../shared/DEPENDENCIES.md` section 5 for the hint bug):
/// - `+`/`00` numbers: valid as `+digits` -> 0.9 under a phone key, 0.7 under a weak key
///   (`number`); reason `phone+key`.
/// - national numbers with `Options::region`: valid in that region -> 0.8 / 0.6,
///   reason `phone+key:region`.
/// - bare digits under a (strong) phone key, valid as `+digits` (country code without plus, as
///   `msisdn` values often are) -> 0.6, reason `phone+key:cc`.
pub(super) fn phone(
    ctx: &Ctx<'_>,
    classes: super::keys::Classes,
    start: usize,
    region: Option<phonenumber::country::Id>,
    out: &mut dyn FnMut(Hit),
) {
    if classes & (PHONE | PHONE_WEAK) == 0 {
        return;
    }
    let strong = classes & PHONE != 0;
    let data = ctx.data;
    let mut s = start.min(data.len());
    if data.len() - s >= 4 && data[s..s + 4].eq_ignore_ascii_case(b"tel:") {
        s += 4;
    }
    // The value runs over phone characters from `s` (not to `end`: values of other keys stop at a
    // space, a phone number may contain some), at most 40 bytes.
    let limit = data.len().min(s + 40);
    let v = &data[s..limit];
    let mut plus = false;
    let mut digits = String::with_capacity(16);
    let mut first_digit = None;
    let mut last = s;
    let mut i = 0;
    while i < v.len() {
        let b = v[i];
        let step = if b.is_ascii_digit() {
            if first_digit.is_none() {
                first_digit = Some(i);
            }
            digits.push(b as char);
            last = s + i + 1;
            1
        } else if (b == b'+' || v[i..].starts_with(b"%2B") || v[i..].starts_with(b"%2b"))
            && digits.is_empty()
            && !plus
        {
            plus = true;
            if b == b'+' { 1 } else { 3 }
        } else if matches!(b, b' ' | b'-' | b'.' | b'(' | b')') {
            1
        } else if v[i..].starts_with(b"%20") {
            3
        } else {
            // The number must not run into a word (`12345abc`).
            if b.is_ascii_alphanumeric() && last == s + i {
                return;
            }
            break;
        };
        i += step;
        if digits.len() > 15 {
            return;
        }
    }
    if !(7..=15).contains(&digits.len()) {
        return;
    }
    let Some(fd) = first_digit else { return };
    let hit_start = if plus { s } else { s + fd };
    let intl = plus || digits.starts_with("00");
    let e164 = if digits.starts_with("00") && !plus {
        format!("+{}", &digits[2..])
    } else {
        format!("+{digits}")
    };
    let valid = |hint: Option<phonenumber::country::Id>, text: &str| {
        phonenumber::parse(hint, text).is_ok_and(|n| phonenumber::is_valid(&n))
    };
    let found = if plus { format!("+{digits}") } else { digits.clone() };
    let verdict = if intl {
        valid(None, &e164).then_some(if strong { 0.9 } else { 0.7 }).map(|c| (c, "phone+key"))
    } else if region.is_some() && valid(region, &digits) {
        Some((if strong { 0.8 } else { 0.6 }, "phone+key:region"))
    } else if strong && valid(None, &e164) {
        Some((0.6, "phone+key:cc"))
    } else {
        None
    };
    if let Some((conf, reason)) = verdict {
        out(ctx.hit(DataKind::Phone, found, conf, hit_start, last, reason));
    }
}

/// A decimal number (`-12.3456`) parsed from ASCII: value and number of decimals.
fn decimal(s: &[u8]) -> Option<(f64, usize)> {
    let body = s.strip_prefix(b"-").unwrap_or(s);
    let dot = body.iter().position(|&b| b == b'.');
    let (int, frac) = match dot {
        Some(d) => (&body[..d], &body[d + 1..]),
        None => (body, &body[..0]),
    };
    if int.is_empty()
        || int.len() > 3
        || !int.iter().all(u8::is_ascii_digit)
        || !frac.iter().all(u8::is_ascii_digit)
        || (dot.is_some() && frac.is_empty())
        || frac.len() > 15
    {
        return None;
    }
    let v: f64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    Some((v, frac.len()))
}

/// Whether a pair is a plausible position: in range, and not near Null Island (|lat| and |lon|
/// both below 1 degree, which is where `0,0` and normalised sensor floats land).
fn plausible(lat: f64, lon: f64) -> bool {
    (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lon)
        && (lat.abs() >= 1.0 || lon.abs() >= 1.0)
}

/// The `lat,lon` value string.
fn latlon(lat: f64, lon: f64) -> String {
    format!("{lat},{lon}")
}

/// Collects lat/lon key pairs (`lat=25.0339&lng=121.5645`, `"latitude":25.0339,...`) and
/// `latlng=25.0339,121.5645` values. A pair needs both numbers to have a decimal point and to be
/// within 256 bytes of each other: 0.8, reason `key:lat+lon`; a `lat,lon` value under a location
/// key: 0.85, reason `key:latlng`.
#[derive(Debug, Default)]
pub(super) struct KeyCoords {
    /// The last latitude seen: value and range.
    lat: Option<(f64, usize, usize)>,
    /// The last longitude seen.
    lon: Option<(f64, usize, usize)>,
}

impl KeyCoords {
    /// Feeds one telling pair.
    pub(super) fn pair(
        &mut self,
        ctx: &Ctx<'_>,
        classes: super::keys::Classes,
        start: usize,
        end: usize,
        out: &mut dyn FnMut(Hit),
    ) {
        if classes & LATLON != 0 {
            // The value of a location key runs past the comma that ends other values.
            let data = ctx.data;
            let num = |b: u8| b.is_ascii_digit() || b == b'.' || b == b'-';
            let mut e = start;
            while e < data.len()
                && e - start < 48
                && (num(data[e]) || data[e] == b',' || data[e] == b' ')
            {
                e += 1;
            }
            while e > start && !data[e - 1].is_ascii_digit() {
                e -= 1;
            }
            if let Some((lat, lon, _)) = split_pair(&data[start..e], 1)
                && plausible(lat, lon)
            {
                out(ctx.hit(DataKind::Location, latlon(lat, lon), 0.85, start, e, "key:latlng"));
            }
            return;
        }
        let v = &ctx.data[start..end];
        let Some((x, decimals)) = decimal(v) else {
            return;
        };
        if decimals == 0 {
            return;
        }
        if classes & LAT != 0 {
            self.lat = Some((x, start, end));
        } else if classes & LON != 0 {
            self.lon = Some((x, start, end));
        } else {
            return;
        }
        if let (Some((lat, ls, le)), Some((lon, os, oe))) = (self.lat, self.lon) {
            let (s, e) = (ls.min(os), le.max(oe));
            if e - s <= 256 && plausible(lat, lon) {
                out(ctx.hit(DataKind::Location, latlon(lat, lon), 0.8, s, e, "key:lat+lon"));
                self.lat = None;
                self.lon = None;
            }
        }
    }
}

/// Splits `lat,lon` (optional space after the comma) with at least `min_dec` decimals each.
fn split_pair(v: &[u8], min_dec: usize) -> Option<(f64, f64, usize)> {
    let c = v.iter().position(|&b| b == b',')?;
    let (a, b) = (&v[..c], &v[c + 1..]);
    let b = b.strip_prefix(b" ").unwrap_or(b);
    // `lat,lon,alt`: the third number is not part of the pair.
    let b = b.iter().position(|&x| x == b',').map_or(b, |p| &b[..p]);
    let (lat, da) = decimal(a)?;
    let (lon, db) = decimal(b)?;
    (da >= min_dec && db >= min_dec).then_some((lat, lon, da.min(db)))
}

/// Finds bare `lat,lon` pairs: two decimals with at least 4 decimals each around a comma,
/// in range, not near `0,0`, and standing alone (not inside a longer list of numbers, not glued to
/// a word or another number). 0.4, reason `latlon-pair` (after a location key, [`KeyCoords`]
/// reports it instead).
pub(super) fn scan_coords(ctx: &Ctx<'_>, out: &mut dyn FnMut(Hit)) {
    let data = ctx.data;
    let num = |b: u8| b.is_ascii_digit() || b == b'.' || b == b'-';
    for c in memchr::memchr_iter(b',', data) {
        // Backwards over the first number.
        let mut s = c;
        while s > 0 && c - s < 20 && num(data[s - 1]) {
            s -= 1;
        }
        // Forwards over the second.
        let mut f = c + 1;
        if data.get(f) == Some(&b' ') {
            f += 1;
        }
        let mut e = f;
        while e < data.len() && e - f < 20 && num(data[e]) {
            e += 1;
        }
        if s == c || e == f {
            continue;
        }
        let before = s.checked_sub(1).map(|p| data[p]);
        let after = data.get(e).copied();
        let glued = |b: Option<u8>| {
            b.is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b',' | b'-'))
        };
        if glued(before) || glued(after) {
            continue;
        }
        let Some((lat, lon, _)) = split_pair(&data[s..e], 4) else {
            continue;
        };
        if !plausible(lat, lon) {
            continue;
        }
        // After a location key the pair is reported by [`KeyCoords`].
        if ctx.classes_at(s) & LATLON != 0 {
            continue;
        }
        out(ctx.hit(DataKind::Location, latlon(lat, lon), 0.4, s, e, "latlon-pair"));
    }
}
