//! Identifier-shaped values, for the recurrence detector: a random-looking value that the device
//! sends to two or more unrelated parties is an identifier whatever key, protobuf field or JSON
//! position it travels under (a value the device merely received from one server, or made up
//! per request, does not recur at another party).
//!
//! Contract:
//! - [`candidates`] finds, in one field's bytes, the tokens shaped like the identifiers apps and
//!   SDKs generate or read from the device: UUIDs (`8-4-4-4-12` hex, any version, not the nil
//!   UUID), 16-hex-digit tokens (Android ID), 15-digit Luhn-valid numbers (IMEI-like), 32-, 40-
//!   and 64-hex-digit tokens (MD5, SHA-1, SHA-256 digests of an identifier, hyphen-less UUIDs).
//!   Tokens are taken whole (a 16-digit piece of a longer token is not one) and must look random:
//!   hex tokens of one case with letters and digits and at least [`MIN_DISTINCT_HEX`] distinct
//!   digits (7 for 16 digits), numbers with at least 5 distinct digits.
//! - [`Candidate::key`] is the value's comparison key: lower-case hex digits without hyphens (so
//!   a UUID sent with and without hyphens is one value), or the digits.
//! - [`eligible`] says which field locations can carry one: values the device chose to send
//!   (query, form, JSON, protobuf, multipart, cookie and `x-` header values, bodies and decrypted
//!   streams), not the request line's path (where asset digests recur across CDNs), standard
//!   headers, DNS names or SNIs.
//! - The caller decides recurrence (the report counts parties once names are attributed).
//!   [`confidence`] grows with the number of parties.
//!
//! One linear pass over the bytes; no allocation but the key of each candidate.

use std::ops::Range;

/// The shortest candidate (a 15-digit number): a shorter field holds none, and the caller may
/// skip it without calling [`candidates`].
pub const MIN_LEN: usize = 15;

/// Distinct hex digits a 32-, 40- or 64-digit token (or a UUID) needs to look random.
pub const MIN_DISTINCT_HEX: usize = 8;

/// The shape of an identifier-like value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Shape {
    /// `8-4-4-4-12` hex digits.
    Uuid,
    /// 16 hex digits (the Android ID's shape).
    Hex16,
    /// 15 digits, Luhn-valid (an IMEI's shape).
    Digits15,
    /// 32 hex digits (MD5, a UUID without hyphens).
    Hex32,
    /// 40 hex digits (SHA-1).
    Hex40,
    /// 64 hex digits (SHA-256).
    Hex64,
}

impl Shape {
    /// The heuristic reason reports give: `recurring:uuid`, `recurring:hex16`...
    pub fn reason(self) -> &'static str {
        match self {
            Self::Uuid => "recurring:uuid",
            Self::Hex16 => "recurring:hex16",
            Self::Digits15 => "recurring:digits15",
            Self::Hex32 => "recurring:hex32",
            Self::Hex40 => "recurring:hex40",
            Self::Hex64 => "recurring:hex64",
        }
    }
}

/// One identifier-shaped token of a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Its shape.
    pub shape: Shape,
    /// The comparison key (lower-case hex digits, or the decimal digits).
    pub key: String,
    /// The value as it will be shown: lower case, UUIDs with their hyphens.
    pub value: String,
    /// Where it is in the field's bytes.
    pub span: Range<usize>,
}

/// Confidence that a value seen at `parties` unrelated parties is an identifier.
pub fn confidence(shape: Shape, parties: usize) -> f32 {
    let base = match shape {
        Shape::Uuid | Shape::Digits15 => 0.7,
        Shape::Hex16 | Shape::Hex32 | Shape::Hex40 | Shape::Hex64 => 0.6,
    };
    (base + 0.1 * parties.saturating_sub(2) as f32).min(0.9)
}

/// Whether a field at `location` ([`crate::fields::Field::location`]) can carry a value the
/// device chose to send.
pub fn eligible(location: &str) -> bool {
    let top = location.split('>').next().unwrap_or(location);
    if let Some(header) = top.strip_prefix("http.header:") {
        return header.starts_with("x-");
    }
    !(top == "http.uri" || top.starts_with("dns.") || top == "tls.sni" || top == "quic.sni")
}

/// Reports every identifier-shaped token of `data`.
pub fn candidates(data: &[u8], out: &mut dyn FnMut(Candidate)) {
    let mut i = 0;
    while i < data.len() {
        if !data[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        // A run of letters and digits starts at i (the byte before is not one).
        if let Some(c) = uuid_at(data, i) {
            i = c.span.end;
            out(c);
            continue;
        }
        let end = i + data[i..].iter().take_while(|b| b.is_ascii_alphanumeric()).count();
        // A run glued to a hyphen run of other pieces (`x-<16 hex>`) is still its own token,
        // but a piece of a longer hyphenated UUID-like value was handled above.
        if let Some(c) = token(&data[i..end], i) {
            out(c);
        }
        i = end;
    }
}

/// A UUID starting at `i`, standing alone (no letter, digit or hyphen glued to either end).
fn uuid_at(data: &[u8], i: usize) -> Option<Candidate> {
    let s = data.get(i..i + 36)?;
    if i > 0 && data[i - 1] == b'-' {
        return None;
    }
    if data.get(i + 36).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-') {
        return None;
    }
    for (k, &b) in s.iter().enumerate() {
        let ok = if matches!(k, 8 | 13 | 18 | 23) { b == b'-' } else { b.is_ascii_hexdigit() };
        if !ok {
            return None;
        }
    }
    let hex: Vec<u8> = s.iter().copied().filter(|&b| b != b'-').collect();
    if !one_case(&hex) || distinct(&hex) < MIN_DISTINCT_HEX {
        return None;
    }
    let key = String::from_utf8_lossy(&hex).to_ascii_lowercase();
    let value = String::from_utf8_lossy(s).to_ascii_lowercase();
    Some(Candidate { shape: Shape::Uuid, key, value, span: i..i + 36 })
}

/// A whole run of letters and digits that is an identifier shape.
fn token(t: &[u8], at: usize) -> Option<Candidate> {
    let shape = match t.len() {
        15 if t.iter().all(u8::is_ascii_digit) => {
            if distinct(t) < 5 || !luhn(t) {
                return None;
            }
            Shape::Digits15
        }
        16 => Shape::Hex16,
        32 => Shape::Hex32,
        40 => Shape::Hex40,
        64 => Shape::Hex64,
        _ => return None,
    };
    if shape != Shape::Digits15 {
        let min = if shape == Shape::Hex16 { 7 } else { MIN_DISTINCT_HEX };
        let letters = t.iter().any(u8::is_ascii_alphabetic);
        let digits = t.iter().any(u8::is_ascii_digit);
        if !t.iter().all(u8::is_ascii_hexdigit)
            || !one_case(t)
            || !letters
            || !digits
            || distinct(t) < min
        {
            return None;
        }
    }
    let key = String::from_utf8_lossy(t).to_ascii_lowercase();
    Some(Candidate { shape, value: key.clone(), key, span: at..at + t.len() })
}

/// All letters upper case or all lower case.
fn one_case(t: &[u8]) -> bool {
    !(t.iter().any(u8::is_ascii_lowercase) && t.iter().any(u8::is_ascii_uppercase))
}

fn distinct(t: &[u8]) -> usize {
    let mut seen = [false; 256];
    let mut n = 0;
    for &b in t {
        let b = b.to_ascii_lowercase();
        if !seen[b as usize] {
            seen[b as usize] = true;
            n += 1;
        }
    }
    n
}

fn luhn(digits: &[u8]) -> bool {
    std::str::from_utf8(digits).is_ok_and(crate::profile::luhn_valid)
}

#[cfg(test)]
mod tests;
