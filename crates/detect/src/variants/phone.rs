//! Phone numbers: normalisation to E.164 and the written forms of a number, via `phonenumber`.
//!
//! Workaround for the crate's region-hint bug (`+8613800138000` read with hint US loses the
//! leading 1 of the national number; see the dependency survey): `00` is rewritten to `+`, a
//! number starting with `+` is always parsed with no hint, and the profile's region is used only
//! for national-format numbers.

use phonenumber::{Mode, PhoneNumber, country};

/// Loads `phonenumber`'s metadata now (about 80 ms in a release build, the bulk of start-up
/// with a profile that has phone numbers; it is otherwise loaded by the first number read). Call
/// it from a thread early to overlap that with other work.
pub fn preload() {
    let _ = phonenumber::metadata::DATABASE.by_code(&1);
}

/// Fewest and most digits accepted in a phone number.
const DIGITS: std::ops::RangeInclusive<usize> = 5..=17;

/// E.164 form (`+886912345678`) of `raw`, written in any common way (spaces, dashes, dots,
/// parentheses, `00` international prefix). National numbers are read in `region` (ISO 3166
/// alpha-2); without a region a number with no `+` is tried as country code + number.
/// `None` when it is not a phone number.
pub fn normalise(raw: &str, region: Option<&str>) -> Option<String> {
    let t = raw.trim();
    if t.is_empty()
        || t.chars().any(|c| !(c.is_ascii_digit() || " +-.()/\u{a0}".contains(c)))
        || t.rfind('+').is_some_and(|i| i != 0)
    {
        return None;
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    if !DIGITS.contains(&digits.len()) {
        return None;
    }
    let pn = if t.starts_with('+') {
        phonenumber::parse(None, format!("+{digits}")).ok()?
    } else if let Some(rest) = digits.strip_prefix("00") {
        phonenumber::parse(None, format!("+{rest}")).ok()?
    } else if let Some(id) = region.and_then(|r| r.parse::<country::Id>().ok()) {
        phonenumber::parse(Some(id), &digits).ok()?
    } else {
        phonenumber::parse(None, format!("+{digits}")).ok()?
    };
    let e164 = pn.format().mode(Mode::E164).to_string();
    (pn.national().value() > 0 && DIGITS.contains(&(e164.len() - 1))).then_some(e164)
}

/// One written form of a number: encoding name, text, and whether it is a primary form (the
/// forms hashed and base64/hex-encoded; the others are only searched as text).
pub(crate) type Form = (&'static str, String, bool);

/// The written forms of an E.164 number, primary first:
/// - `e164`: `+886912345678` (primary); `e164-digits`: `886912345678` (primary);
/// - `national-digits`: `0912345678` and `912345678`, with and without the trunk prefix
///   (primary);
/// - `idd`: `00886912345678`;
/// - `international`: `+886 912 345 678`, with spaces and with dashes, and (`full`)
///   `+886 912345678`;
/// - `national`: as libphonenumber writes it (`0912 345 678`, `(650) 253-0000`), then its digit
///   groups joined by spaces and by dashes, with and without the trunk prefix.
///
/// A number `phonenumber` cannot read (a contact number kept as digits) has the single form
/// `plain` (primary).
///
/// With `full` false (contacts' numbers, to keep 500 contacts near ten thousand variants), the
/// national-digits forms are not primary and the spaced/dashed national forms without the trunk
/// prefix are left out.
pub(crate) fn forms(number: &str, full: bool) -> Vec<Form> {
    let parsed = number.strip_prefix('+').and_then(|_| phonenumber::parse(None, number).ok());
    let Some(pn) = parsed else {
        return vec![("plain", number.to_owned(), true)];
    };
    let e164 = pn.format().mode(Mode::E164).to_string();
    let digits = e164[1..].to_owned();
    let mut out: Vec<Form> = vec![("e164", e164, true), ("e164-digits", digits.clone(), true)];
    let (with, without) = national_groups(&pn);
    out.push(("national-digits", with.concat(), full));
    out.push(("national-digits", without.concat(), full));
    out.push(("idd", format!("00{digits}"), false));
    let intl = pn.format().mode(Mode::International).to_string();
    out.push(("international", intl.replace('-', " "), false));
    out.push(("international", intl.replace(' ', "-"), false));
    out.push(("international", intl, false));
    if full {
        out.push(("international", format!("+{} {}", pn.code().value(), pn.national()), false));
    }
    out.push(("national", pn.format().mode(Mode::National).to_string(), false));
    for groups in if full { vec![&with, &without] } else { vec![&with] } {
        out.push(("national", groups.join(" "), false));
        out.push(("national", groups.join("-"), false));
    }
    out
}

/// The digit groups of the national format, with and without the trunk prefix.
fn national_groups(pn: &PhoneNumber) -> (Vec<String>, Vec<String>) {
    let national = pn.national().to_string();
    let formatted = pn.format().mode(Mode::National).to_string();
    let groups: Vec<String> = formatted
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect();
    let trunk = pn
        .metadata(&phonenumber::metadata::DATABASE)
        .and_then(|m| m.national_prefix())
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned);
    let joined = groups.concat();
    match trunk {
        Some(t) if joined == national => {
            let mut with = groups.clone();
            with[0] = format!("{t}{}", with[0]);
            (with, groups)
        }
        Some(t) if joined == format!("{t}{national}") => {
            let mut without = groups.clone();
            match without[0].strip_prefix(t.as_str()) {
                Some("") => {
                    without.remove(0);
                }
                Some(rest) => without[0] = rest.to_owned(),
                None => {}
            }
            (groups, without)
        }
        _ if joined.is_empty() => (vec![national.clone()], vec![national]),
        _ => (groups.clone(), groups),
    }
}
