//! `vpn --redact`: the profile's identifiers rewritten to fakes in cleartext HTTP before they
//! leave (AntMonitor's idea): the app keeps working, the server gets a value that identifies
//! no one.
//!
//! Every variant of an identifier item of the profile (IMEI, IMSI, ICCID, phone number, serial,
//! Android and advertising IDs, MAC, e-mail: as written, percent-encoded, hashed...) of at least
//! [`MIN_LEN`] bytes is searched in the payload of each TCP segment the device sends on a
//! connection the analysis found to be HTTP, and replaced by a fake of the same length and
//! shape (digits by digits, hex by hex, letters by letters of the same case, everything else
//! kept), so that sequence numbers stay right. A fake of a Luhn-valid number (an IMEI, an
//! ICCID) is Luhn-valid too. Fakes are the same for the whole session (keyed by a random
//! secret drawn at start), so a server sees one consistent fake device. A value is only
//! replaced where no letter or digit adjoins it. A value cut across two segments is not
//! replaced (the analysis still reports it, not `redacted`).

use std::collections::BTreeMap;

use detect::DataKind;
use detect::variants::VariantSet;
use sha2::{Digest, Sha256};

/// Shortest variant rewritten (shorter ones would replace bytes that only look alike).
pub(super) const MIN_LEN: usize = 8;

/// The identifiers to rewrite and what was rewritten.
pub(crate) struct Redactor {
    /// (value, its fake, the item's label), longest first.
    targets: Vec<(Vec<u8>, Vec<u8>, String)>,
    /// Occurrences rewritten, by item label.
    pub(crate) counts: BTreeMap<String, u64>,
}

fn is_identifier(kind: DataKind) -> bool {
    matches!(
        kind,
        DataKind::Imei
            | DataKind::Imsi
            | DataKind::Iccid
            | DataKind::Phone
            | DataKind::Serial
            | DataKind::AndroidId
            | DataKind::AdvertisingId
            | DataKind::Mac
            | DataKind::Email
    )
}

/// True when the digits of `s` pass the Luhn check (and `s` is all digits).
fn luhn_ok(s: &[u8]) -> bool {
    if s.len() < 2 || !s.iter().all(u8::is_ascii_digit) {
        return false;
    }
    luhn_sum(s).is_multiple_of(10)
}

fn luhn_sum(s: &[u8]) -> u32 {
    s.iter()
        .rev()
        .enumerate()
        .map(|(i, &c)| {
            let d = u32::from(c - b'0');
            if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum()
}

/// A fake of `value`'s shape, from `secret` (see the module doc).
pub(super) fn fake(value: &[u8], secret: &[u8; 32]) -> Vec<u8> {
    let mut stream = Vec::new();
    let mut block = 0u32;
    while stream.len() < value.len() {
        let mut h = Sha256::new();
        h.update(secret);
        h.update(value);
        h.update(block.to_le_bytes());
        stream.extend_from_slice(&h.finalize());
        block += 1;
    }
    let hex = value.iter().all(u8::is_ascii_hexdigit);
    let mut out: Vec<u8> = value
        .iter()
        .zip(&stream)
        .map(|(&c, &r)| match c {
            b'0'..=b'9' if hex && !value.iter().all(u8::is_ascii_digit) => {
                b"0123456789abcdef"[usize::from(r % 16)]
            }
            b'0'..=b'9' => b'0' + r % 10,
            b'a'..=b'f' if hex => b"0123456789abcdef"[usize::from(r % 16)],
            b'A'..=b'F' if hex => b"0123456789ABCDEF"[usize::from(r % 16)],
            b'a'..=b'z' => b'a' + r % 26,
            b'A'..=b'Z' => b'A' + r % 26,
            _ => c,
        })
        .collect();
    if luhn_ok(value) {
        // The check digit that makes the fake valid: the sum with a 0 there, completed to 10.
        let last = out.len() - 1;
        out[last] = b'0';
        let sum = luhn_sum(&out);
        out[last] = b'0' + ((10 - sum % 10) % 10) as u8;
    }
    if out == value {
        // Astronomically unlikely; never hand the real value on as a "fake".
        out[0] = if out[0] == b'0' { b'1' } else { b'0' };
    }
    out
}

impl Redactor {
    /// The redactor of the identifier items of `set`, with fakes keyed by `secret`.
    pub(crate) fn new(set: &VariantSet, secret: [u8; 32]) -> Self {
        let mut targets: Vec<(Vec<u8>, Vec<u8>, String)> = Vec::new();
        for v in &set.variants {
            let item = set.item(v);
            if !is_identifier(item.kind) || v.bytes.len() < MIN_LEN || item.contact.is_some() {
                continue;
            }
            if targets.iter().any(|(b, _, _)| *b == v.bytes) {
                continue;
            }
            targets.push((v.bytes.clone(), fake(&v.bytes, &secret), item.label.clone()));
        }
        // Longest first: a value inside a longer one is rewritten as part of it.
        targets.sort_by_key(|t| std::cmp::Reverse(t.0.len()));
        Self { targets, counts: BTreeMap::new() }
    }

    /// True when there is nothing to rewrite (no profile, or no identifier in it).
    pub(crate) fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Rewrites every identifier in `data` in place; the number of values rewritten.
    pub(crate) fn rewrite(&mut self, data: &mut [u8]) -> usize {
        let mut n = 0;
        for (value, fake, label) in &self.targets {
            let mut from = 0;
            while let Some(at) = find(&data[from..], value).map(|i| i + from) {
                let end = at + value.len();
                let free = |i: Option<usize>| {
                    i.and_then(|i| data.get(i)).is_none_or(|b| !b.is_ascii_alphanumeric())
                };
                if free(at.checked_sub(1)) && free(Some(end)) {
                    data[at..end].copy_from_slice(fake);
                    *self.counts.entry(label.clone()).or_default() += 1;
                    n += 1;
                }
                from = at + 1;
            }
        }
        n
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> VariantSet {
        let p = detect::profile::Profile::from_str(
            "name = \"t\"\n[identifiers]\nimei = [\"865123045678905\"]\nemail = [\"jane.doe@example.org\"]\n",
            std::path::Path::new("."),
        )
        .unwrap();
        detect::variants::build(&p)
    }

    #[test]
    fn identifiers_become_fakes_of_the_same_shape_and_checksum() {
        let secret = [7u8; 32];
        let f = fake(b"865123045678905", &secret);
        assert_eq!(f.len(), 15);
        assert!(f.iter().all(u8::is_ascii_digit) && luhn_ok(&f) && f != b"865123045678905");
        assert_eq!(f, fake(b"865123045678905", &secret), "stable within a session");
        assert_ne!(f, fake(b"865123045678905", &[8u8; 32]), "another session, another fake");
        let md5 = fake(b"9b8c6dbcbb1d6f59d2a7ef8a0d7bd6e4", &secret);
        assert!(md5.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)));
        let mail = fake(b"jane.doe@example.org", &secret);
        assert_eq!((mail.len(), mail[4], mail[8]), (20, b'.', b'@'));
    }

    #[test]
    fn the_payload_is_rewritten_where_an_identifier_stands_alone() {
        let mut r = Redactor::new(&set(), [1u8; 32]);
        assert!(!r.is_empty());
        let mut data =
            b"GET /c?imei=865123045678905&x=9865123045678905&m=jane.doe%40example.org HTTP/1.1"
                .to_vec();
        let before = data.clone();
        let n = r.rewrite(&mut data);
        assert_eq!(n, 2, "{}", String::from_utf8_lossy(&data));
        assert_eq!(data.len(), before.len());
        let text = String::from_utf8_lossy(&data);
        assert!(!text.contains("imei=865123045678905") && text.contains("x=9865123045678905"));
        assert!(!text.contains("jane.doe%40example.org"));
        assert_eq!(r.counts.values().sum::<u64>(), 2);
        assert!(r.counts.contains_key("imei[0]"));
        let none = Redactor::new(&VariantSet::default(), [1u8; 32]);
        assert!(none.is_empty());
    }
}
