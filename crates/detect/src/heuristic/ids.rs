//! Structured identifiers: digit runs (IMEI, IMEISV, IMSI, ICCID) and hex tokens (MAC, UUID
//! advertising IDs, Android IDs).
//!
//! Digit runs are taken whole: a run is every consecutive ASCII digit, and it counts only when it
//! stands alone: not glued to letters or `_` (hex hashes, words), not the integer or fraction part
//! of a decimal (`3.141592653589793`), not part of a version or address (`1.2.3`). A `%XX` or
//! `\uXXXX` escape just before the run is a boundary.

use super::keys::{ADID, ANDROID_ID, DEVICE_ID, ICCID, IMEI, IMSI, MAC};
use super::tables::{current_tac, network, plausible_tac};
use super::{Ctx, Hit};
use crate::DataKind;
use crate::hex_val;

/// Luhn check over ASCII digits.
pub(super) fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d.wrapping_sub(b'0'));
        if v > 9 {
            return false;
        }
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// Whether the bytes before `start` end with a `%XX` or `\uXXXX` escape (a boundary, not a word).
fn escape_before(data: &[u8], start: usize) -> bool {
    (start >= 3 && data[start - 3] == b'%' && data[start - 2].is_ascii_hexdigit())
        || (start >= 6 && data[start - 6] == b'\\' && data[start - 5] == b'u')
        || (start >= 2 && data[start - 2] == b'\\' && data[start - 1].is_ascii_alphabetic())
}

/// Whether a token at `start..end` stands alone: no word byte glued to it on either side, and no
/// decimal point joining it to another number.
pub(super) fn isolated(data: &[u8], start: usize, end: usize) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    if start > 0 {
        let p = data[start - 1];
        if word(p) && !escape_before(data, start) {
            return false;
        }
        if p == b'.' && start >= 2 && data[start - 2].is_ascii_digit() {
            return false;
        }
    }
    if let Some(&n) = data.get(end) {
        if word(n) {
            return false;
        }
        if n == b'.' && data.get(end + 1).is_some_and(u8::is_ascii_digit) {
            return false;
        }
    }
    true
}

/// A byte class as a lookup table.
pub(super) type Class = [bool; 256];

/// Builds a [`Class`]: hex letters if `hex`, plus digits and the separators given.
const fn class(hex: bool, colon: bool) -> Class {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_digit()
            || b == b'-'
            || (hex && b.is_ascii_hexdigit())
            || (colon && b == b':');
        i += 1;
    }
    t
}

/// Digits and `-` (dashed IMEIs): the bytes of a digit identifier.
static DIGITISH: Class = class(false, false);
/// Hex digits, `:` and `-`: the bytes of a MAC, UUID or Android ID.
pub(super) static HEXISH: Class = class(true, true);

/// Calls `f(start, end)` for every maximal run of `class` bytes at least `min` long.
///
/// Skips like a string search: when the byte `min - 1` ahead is outside the class, no long run can
/// start at or before it, so the scan jumps past it and most bytes of ordinary text are never read.
pub(super) fn long_runs(data: &[u8], class: &Class, min: usize, mut f: impl FnMut(usize, usize)) {
    let n = data.len();
    // Invariant: `i == 0` or `data[i - 1]` is outside the class.
    let mut i = 0;
    while min > 0 && i + min <= n {
        let probe = i + min - 1;
        if !class[usize::from(data[probe])] {
            i = probe + 1;
            continue;
        }
        let mut s = probe;
        while s > i && class[usize::from(data[s - 1])] {
            s -= 1;
        }
        let mut e = probe + 1;
        while e < n && class[usize::from(data[e])] {
            e += 1;
        }
        if e - s >= min {
            f(s, e);
        }
        i = e + 1;
    }
}

/// Finds the digit runs of `data` and reports the IMEIs, IMSIs and ICCIDs among them.
pub(super) fn scan_digits(ctx: &Ctx<'_>, out: &mut dyn FnMut(Hit)) {
    // The shortest identifier is an IMEI without its check digit (14); a dashed IMEI is longer.
    long_runs(ctx.data, &DIGITISH, 14, |s, e| digit_runs(ctx, s, e, out));
}

/// The digit runs within `from..to` (a run of digits and dashes).
fn digit_runs(ctx: &Ctx<'_>, from: usize, to: usize, out: &mut dyn FnMut(Hit)) {
    let data = ctx.data;
    let mut i = from;
    while i < to {
        let Some(off) = data[i..to].iter().position(u8::is_ascii_digit) else {
            break;
        };
        let start = i + off;
        let mut end = start;
        while end < to && data[end].is_ascii_digit() {
            end += 1;
        }
        i = end;
        // `35442706-323347-9` (RFC 7254 URN form) and `35-442706-323347-9`.
        if let Some(dashed_end) = dashed_imei(data, start, end) {
            i = dashed_end;
            if isolated(data, start, dashed_end) {
                let digits: Vec<u8> =
                    data[start..dashed_end].iter().copied().filter(u8::is_ascii_digit).collect();
                classify_15(ctx, &digits, start, dashed_end, out);
            }
            continue;
        }
        if !isolated(data, start, end) {
            continue;
        }
        let run = &data[start..end];
        match run.len() {
            // An IMEI without its check digit, as some SDKs send it: only under an imei key.
            14 if ctx.classes_at(start) & IMEI != 0 && plausible_tac(run) => {
                out(ctx.hit(DataKind::Imei, digits_str(run), 0.7, start, end, "tac+key:no-check"));
            }
            15 => classify_15(ctx, run, start, end, out),
            16 if ctx.classes_at(start) & IMEI != 0 && plausible_tac(run) => {
                out(ctx.hit(DataKind::Imei, digits_str(run), 0.8, start, end, "imeisv+key"));
            }
            18..=22 if run.starts_with(b"89") && luhn(run) => {
                let keyed = ctx.classes_at(start) & ICCID != 0;
                let (conf, reason) = if keyed { (0.95, "luhn+89+key") } else { (0.6, "luhn+89") };
                out(ctx.hit(DataKind::Iccid, digits_str(run), conf, start, end, reason));
            }
            _ => {}
        }
    }
}

/// The end of a dashed IMEI (`8-6-1` or `2-6-6-1` digit groups) starting with the run
/// `start..end`, if there is one.
fn dashed_imei(data: &[u8], start: usize, end: usize) -> Option<usize> {
    let shapes: &[&[usize]] = &[&[8, 6, 1], &[2, 6, 6, 1]];
    'shape: for shape in shapes {
        if end - start != shape[0] {
            continue;
        }
        let mut p = end;
        for &len in &shape[1..] {
            if data.get(p) != Some(&b'-') {
                continue 'shape;
            }
            let g = p + 1;
            let mut e = g;
            while e < data.len() && data[e].is_ascii_digit() {
                e += 1;
            }
            if e - g != len {
                continue 'shape;
            }
            p = e;
        }
        return Some(p);
    }
    None
}

/// Decides what a whole 15-digit run is.
///
/// Tie-breaking: an IMSI key wins if the MCC/MNC is real, then an IMEI (or device-id) key if the
/// Luhn digit and TAC are right. Without a telling key, a Luhn-valid number whose reporting body
/// allocates today's phones (01, 35, 86, 99) is an IMEI (a real MCC/MNC is expected by chance for a few percent of random numbers and
/// an IMSI has no check digit, while the Luhn digit only passes one in ten): its confidence drops
/// from 0.6 to 0.5 when its first digits are also a real MCC/MNC. Otherwise a real MCC/MNC is an
/// IMSI at 0.35, or 0.9 when the run is the user part of a 3GPP network access identifier
/// (`<imsi>@ims.mncXXX.mccYYY.3gppnetwork.org`).
fn classify_15(ctx: &Ctx<'_>, run: &[u8], start: usize, end: usize, out: &mut dyn FnMut(Hit)) {
    let classes = ctx.classes_at(start);
    let imei_ok = luhn(run) && plausible_tac(run);
    let imsi_ok = network(run).is_some();
    let value = digits_str(run);
    if imsi_ok && classes & IMSI != 0 {
        out(ctx.hit(DataKind::Imsi, value, 0.95, start, end, "mcc-mnc+key"));
    } else if imei_ok && classes & IMEI != 0 {
        out(ctx.hit(DataKind::Imei, value, 0.95, start, end, "luhn+tac+key"));
    } else if imei_ok && classes & DEVICE_ID != 0 {
        out(ctx.hit(DataKind::Imei, value, 0.85, start, end, "luhn+tac+key:device-id"));
    } else if imsi_ok && nai_3gpp(ctx.data, end) {
        out(ctx.hit(DataKind::Imsi, value, 0.9, start, end, "mcc-mnc+3gpp-nai"));
    } else if imei_ok && current_tac(run) {
        let conf = if imsi_ok { 0.5 } else { 0.6 };
        out(ctx.hit(DataKind::Imei, value, conf, start, end, "luhn+tac"));
    } else if imsi_ok {
        out(ctx.hit(DataKind::Imsi, value, 0.35, start, end, "mcc-mnc"));
    }
}

/// Whether `@...3gppnetwork.org` follows at `end` (a 3GPP NAI, whose user part is the IMSI).
fn nai_3gpp(data: &[u8], end: usize) -> bool {
    if data.get(end) != Some(&b'@') {
        return false;
    }
    let tail = &data[end + 1..data.len().min(end + 64)];
    let stop = tail
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')))
        .unwrap_or(tail.len());
    memchr::memmem::find(&tail[..stop], b".3gppnetwork.org").is_some()
}

/// ASCII digits as a `String`.
fn digits_str(run: &[u8]) -> String {
    run.iter().map(|&b| b as char).collect()
}

/// Finds the hex tokens of `data` (runs of hex digits and `:`/`-`, 12 bytes or more) and reports
/// the MACs, advertising IDs and Android IDs among them.
pub(super) fn scan_hex(ctx: &Ctx<'_>, out: &mut dyn FnMut(Hit)) {
    long_runs(ctx.data, &HEXISH, 12, |s, e| hex_run(ctx, s, e, out));
}

/// One run of hex digits and separators, trimmed to the token it holds.
fn hex_run(ctx: &Ctx<'_>, mut start: usize, mut end: usize, out: &mut dyn FnMut(Hit)) {
    let data = ctx.data;
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    // A token glued to a word on the left loses its first segment (`mac:AA:BB..` reads as
    // `ac:AA:BB..`); with no separator it is part of the word. Likewise on the right.
    if start > 0 && word(data[start - 1]) {
        match data[start..end].iter().position(|&b| b == b':' || b == b'-') {
            Some(p) => start += p + 1,
            None => return,
        }
    }
    if end < data.len() && word(data[end]) {
        match data[start..end].iter().rposition(|&b| b == b':' || b == b'-') {
            Some(p) => end = start + p,
            None => return,
        }
    }
    while start < end && !data[start].is_ascii_hexdigit() {
        start += 1;
    }
    while end > start && !data[end - 1].is_ascii_hexdigit() {
        end -= 1;
    }
    hex_token(ctx, start, end, out);
}

/// Reports a MAC, UUID or Android ID if `data[start..end]` is exactly one.
fn hex_token(ctx: &Ctx<'_>, start: usize, end: usize, out: &mut dyn FnMut(Hit)) {
    let tok = &ctx.data[start..end];
    let lower = || String::from_utf8_lossy(tok).to_ascii_lowercase();
    match tok.len() {
        17 => {
            if let Some(octets) = mac_octets(tok) {
                let keyed = ctx.classes_at(start) & MAC != 0;
                if usable_mac(&octets) {
                    let (conf, reason) = match (placeholder_mac(&octets), keyed) {
                        (true, _) => (0.1, "mac:placeholder"),
                        (false, true) => (0.95, "mac+key"),
                        (false, false) => (0.5, "mac"),
                    };
                    out(ctx.hit(DataKind::Mac, mac_str(&octets), conf, start, end, reason));
                }
            }
        }
        12 if tok.iter().all(u8::is_ascii_hexdigit) && ctx.classes_at(start) & MAC != 0 => {
            let mut octets = [0u8; 6];
            for (o, pair) in octets.iter_mut().zip(tok.chunks(2)) {
                *o = hex_val(pair[0]) << 4 | hex_val(pair[1]);
            }
            if usable_mac(&octets) {
                let (conf, reason) = if placeholder_mac(&octets) {
                    (0.1, "mac:placeholder")
                } else {
                    (0.8, "hex12+key")
                };
                out(ctx.hit(DataKind::Mac, mac_str(&octets), conf, start, end, reason));
            }
        }
        16 if tok.iter().all(u8::is_ascii_hexdigit) => {
            let classes = ctx.classes_at(start);
            let value = lower();
            if value.bytes().all(|b| b == b'0') {
                return;
            }
            // The Android 2.2 bug ID shared by many devices: still sent, but not unique.
            let shared = value == "9774d56d682e549c";
            if classes & ANDROID_ID != 0 {
                let conf = if shared { 0.3 } else { 0.9 };
                out(ctx.hit(DataKind::AndroidId, value, conf, start, end, "hex16+key"));
            } else if classes & DEVICE_ID != 0 {
                let conf = if shared { 0.2 } else { 0.6 };
                out(ctx.hit(DataKind::AndroidId, value, conf, start, end, "hex16+key:device-id"));
            }
        }
        36 if is_uuid(tok) => {
            let classes = ctx.classes_at(start);
            let value = lower();
            let zero = value.bytes().all(|b| b == b'0' || b == b'-');
            if classes & ADID != 0 {
                let (conf, reason) = if zero { (0.1, "uuid+key:zero") } else { (0.9, "uuid+key") };
                out(ctx.hit(DataKind::AdvertisingId, value, conf, start, end, reason));
            } else if classes & DEVICE_ID != 0 && !zero {
                out(ctx.hit(DataKind::AdvertisingId, value, 0.4, start, end, "uuid+key:device-id"));
            }
        }
        _ => {}
    }
}

/// Six octets from `aa:bb:cc:dd:ee:ff` or `aa-bb-cc-dd-ee-ff` (one separator throughout).
fn mac_octets(tok: &[u8]) -> Option<[u8; 6]> {
    let sep = *tok.get(2)?;
    if sep != b':' && sep != b'-' {
        return None;
    }
    let mut octets = [0u8; 6];
    for (k, o) in octets.iter_mut().enumerate() {
        let p = k * 3;
        let (h, l) = (tok[p], tok[p + 1]);
        if !h.is_ascii_hexdigit() || !l.is_ascii_hexdigit() || (k < 5 && tok[p + 2] != sep) {
            return None;
        }
        *o = hex_val(h) << 4 | hex_val(l);
    }
    Some(octets)
}

/// A MAC that names one interface: not all-zero, not a group address (multicast bit, which also
/// covers broadcast). Locally administered addresses are kept: randomised MACs still identify a
/// device to a network or an app.
fn usable_mac(octets: &[u8; 6]) -> bool {
    octets.iter().any(|&o| o != 0) && octets[0] & 1 == 0
}

/// `02:00:00:00:00:00`: what Android 6+ returns to apps instead of the Wi-Fi MAC (and iOS 7+
/// similarly). Sent often, identifies nothing: reported at 0.1 so the attempt stays visible.
fn placeholder_mac(octets: &[u8; 6]) -> bool {
    *octets == [2, 0, 0, 0, 0, 0]
}

/// A URL-encoded MAC (`02%3A00%3A00%3A00%3A00%3A00`) as the value of a mac key at `start..end`.
pub(super) fn mac_encoded(
    ctx: &Ctx<'_>,
    classes: super::keys::Classes,
    start: usize,
    end: usize,
    out: &mut dyn FnMut(Hit),
) {
    let v = &ctx.data[start..end];
    if classes & MAC == 0 || v.len() != 27 || !(v[2..5].eq_ignore_ascii_case(b"%3A")) {
        return;
    }
    let mut octets = [0u8; 6];
    for (k, o) in octets.iter_mut().enumerate() {
        let p = k * 5;
        let (h, l) = (v[p], v[p + 1]);
        if !h.is_ascii_hexdigit()
            || !l.is_ascii_hexdigit()
            || (k < 5 && !v[p + 2..p + 5].eq_ignore_ascii_case(b"%3A"))
        {
            return;
        }
        *o = hex_val(h) << 4 | hex_val(l);
    }
    if usable_mac(&octets) {
        let (conf, reason) =
            if placeholder_mac(&octets) { (0.1, "mac:placeholder") } else { (0.95, "mac+key:url") };
        out(ctx.hit(DataKind::Mac, mac_str(&octets), conf, start, end, reason));
    }
}

/// `aa:bb:cc:dd:ee:ff`, lower case.
fn mac_str(octets: &[u8; 6]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(17);
    for (k, o) in octets.iter().enumerate() {
        if k > 0 {
            s.push(':');
        }
        let _ = write!(s, "{o:02x}");
    }
    s
}

/// Whether `tok` is 8-4-4-4-12 hex digits.
fn is_uuid(tok: &[u8]) -> bool {
    tok.len() == 36
        && tok.iter().enumerate().all(|(k, &b)| match k {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}
