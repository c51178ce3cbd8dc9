//! Search variants: every profile item expanded once, at start, into the byte strings it may take
//! on the wire.
//!
//! Each item has one or more **forms** (how the value is written: `plain`, an IMEI without its
//! check digit `imei14`, phone formats `e164`, `national`..., MAC separators `mac-dash`,
//! `mac-bare`, case forms `lower`/`upper`), and every [`ENCODINGS`] entry whose group the item's
//! kind takes is applied to each form. A variant's encoding name is `<encoding>+<form>`, with
//! `plain` left out on either side (`md5` = MD5 of the IMEI as written, `md5+imei14`,
//! `url+e164`, `upper+mac-bare`).
//!
//! **Forms** per kind (primary forms are the ones base64, hex and digests are applied to):
//!
//! | kind | forms |
//! |---|---|
//! | IMEI | `plain` (as given), `imei14` (without check digit), `imei15` (check digit computed, for 14- and 16-digit input): all primary |
//! | IMSI, ICCID | `plain` |
//! | phone | `e164` `+886912345678`, `e164-digits` `886912345678`, `national-digits` `0912345678` and `912345678` (primary); `idd` `00886912345678`; `international` `+886 912 345 678` with spaces or dashes; `national` as libphonenumber writes it, and its groups joined by spaces or dashes, with and without the trunk prefix ([`phone`]) |
//! | MAC | `plain` `64:09:80:3a:5c:7e`, `mac-dash`, `mac-bare`, each also `upper`: all primary |
//! | serial, Android ID, e-mail | `plain`, `lower` and `upper` where they differ: all primary |
//! | advertising ID | `plain` (lower case), `upper`, `uuid-bare` (no dashes), `upper+uuid-bare`: all primary |
//! | contact | the name (`plain`); numbers as phone, but only `e164` and `e164-digits` primary and no national forms without the trunk prefix; e-mails `plain` and `lower` |
//! | SMS, custom | `plain` |
//!
//! **Encodings** ([`ENCODINGS`], then [`DIGEST_ENCODINGS`]):
//!
//! | encoding | bytes | boundary | group |
//! |---|---|---|---|
//! | `plain` | the form as is (UTF-8) | from the bytes¹ | `TEXT` |
//! | `url` | percent-encoded (all but `A-Z a-z 0-9 - . _ ~`), space as `+` or `%20`; upper-case hex, and lower-case (`URL_LOWER`) | from the bytes¹ | `URL`, `URL_LOWER` |
//! | `json` | inside a JSON string: `\uXXXX` (either case) or raw UTF-8, `/` as `\/` or not | from the bytes¹ | `JSON` |
//! | `base64`, `base64url` | the characters determined by the value alone at byte offset 0, 1, 2 mod 3 inside a longer plaintext, and the padded stand-alone encoding | `None` | `BASE64` |
//! | `hex` | hex of the form's bytes, lower and upper | `None` | `HEX` |
//! | `md5-mid16` | hex characters 8..24 of MD5 (the Chinese "16-character MD5"), lower/upper | `Hex` | `DIGEST_MORE` |
//! | `md5`, `sha1`, `sha256` | hex digest, lower (`DIGEST`) and upper (`DIGEST_MORE`) | `Hex` | `DIGEST`, `DIGEST_MORE` |
//! | `md5-16`, `sha1-16`, `sha256-16` | first 16 hex characters, lower/upper | `Hex` | `DIGEST_MORE` |
//! | `md5-b64`, `sha1-b64`, `sha256-b64` | standard base64 of the digest, padded and not | `Alnum` | `DIGEST_MORE` |
//! | `md5-b64url`, `sha1-b64url`, `sha256-b64url` | URL-safe base64 of the digest, padded and not | `Alnum` | `DIGEST_MORE` |
//! | `md5-b64-16`, `md5-b64url-16`, ..., `sha1-b64url-16` (MIUI) | first 16 characters of those | `Alnum` | `DIGEST_MORE` |
//!
//! ¹ "From the bytes" ([`Boundary::of`]): all digits → `Digit` (a digit identifier inside a
//! longer digit run is no match); all hex digits → `Hex`; anything else → `Alnum`. Base64
//! fragments and hex have no boundary: they usually sit inside a longer encoded string.
//!
//! What each kind gets ([`groups`]): device identifiers and custom values get every group
//! ([`groups::ALL`]); contacts' numbers and e-mails text, upper-case URL, JSON and lower-case hex
//! digests ([`groups::CONTACT`], to keep 500 contacts near ten thousand variants); contact names
//! text, URL and JSON; SMS text, URL, JSON and base64. Text encodings apply to every form, the
//! others to primary forms only.
//!
//! Dropped: variants shorter than [`MIN_VARIANT_LEN`] bytes, and [`Boundary::None`] variants
//! shorter than [`MIN_UNBOUNDED_LEN`] (too likely to occur by chance). Identical byte strings
//! are kept once: the first produced wins, in the order items are listed (identifiers in the
//! order imei, imsi, iccid, phone, serial, android_id, advertising_id, mac, email; then contacts
//! (name, phones, e-mails); then SMS; then custom values), then forms in the order listed, then
//! [`ENCODINGS`] in table order.

mod encode;
pub mod phone;

use std::cell::OnceCell;
use std::collections::HashSet;

use crate::DataKind;
use crate::profile::Profile;
use encode::Digests;

/// Variants shorter than this many bytes are dropped (6: shorter strings occur by chance).
pub const MIN_VARIANT_LEN: usize = 6;
/// [`Boundary::None`] variants (base64 fragments, hex) shorter than this are dropped.
pub const MIN_UNBOUNDED_LEN: usize = 8;

/// One profile value to search for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// What kind of personal data it is.
    pub kind: DataKind,
    /// Which profile item: `imei[0]`, `phone[0]`, the contact's name for contact items (or
    /// `contact[3]` when the contact has none), the custom label, `sms[0]`.
    pub label: String,
    /// The normalised value: IMEI digits, MAC `aa:bb:..` lower case, E.164 phone, ...
    pub value: String,
    /// Index in [`Profile::contacts`] of the contact this item belongs to (address-book
    /// grouping).
    pub contact: Option<u32>,
}

/// The class of byte that must not adjoin a match (the matcher's; re-exported here for variant
/// tables).
pub use crate::matcher::Boundary;

/// One byte string to search for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// Index of its item in [`VariantSet::items`].
    pub item: u32,
    /// Encoding name in the output vocabulary (see the module doc), e.g. `md5`, `url+e164`.
    pub encoding: String,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// What must not adjoin a match.
    pub boundary: Boundary,
}

/// All items of a profile and their variants, deduplicated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VariantSet {
    /// The items, in profile order.
    pub items: Vec<Item>,
    /// The variants; `variant.item` indexes `items`.
    pub variants: Vec<Variant>,
}

impl VariantSet {
    /// The item a variant belongs to.
    pub fn item(&self, v: &Variant) -> &Item {
        &self.items[v.item as usize]
    }
}

/// Groups of encodings: an item's kind takes a set of groups; an [`Encoding`] belongs to one.
pub mod groups {
    /// The form as is.
    pub const TEXT: u16 = 1;
    /// Percent encoding, upper-case hex.
    pub const URL: u16 = 1 << 1;
    /// Percent encoding, lower-case hex.
    pub const URL_LOWER: u16 = 1 << 7;
    /// JSON string escaping.
    pub const JSON: u16 = 1 << 2;
    /// Base64 (standard and URL-safe) of primary forms.
    pub const BASE64: u16 = 1 << 3;
    /// Hex of primary forms.
    pub const HEX: u16 = 1 << 4;
    /// Lower-case hex MD5, SHA-1, SHA-256 of primary forms.
    pub const DIGEST: u16 = 1 << 5;
    /// Upper-case hex digests, 16-character prefixes, base64 digests.
    pub const DIGEST_MORE: u16 = 1 << 6;
    /// Device identifiers and custom values: everything.
    pub const ALL: u16 = TEXT | URL | URL_LOWER | JSON | BASE64 | HEX | DIGEST | DIGEST_MORE;
    /// Contacts' numbers and e-mails (no lower-case URL hex, digests in lower-case hex only).
    pub const CONTACT: u16 = TEXT | URL | JSON | DIGEST;
    /// Contact names.
    pub const NAME: u16 = TEXT | URL | URL_LOWER | JSON;
    /// SMS text.
    pub const SMS: u16 = TEXT | URL | URL_LOWER | JSON | BASE64;
}

/// What an encoding function sees: one form of an item.
pub struct Input<'a> {
    /// The form's bytes.
    pub bytes: &'a [u8],
    digests: OnceCell<Digests>,
}

impl Input<'_> {
    fn digests(&self) -> &Digests {
        self.digests.get_or_init(|| Digests::of(self.bytes))
    }

    fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.bytes)
    }
}

/// One entry of the encoding table.
pub struct Encoding {
    /// Name in the output vocabulary.
    pub name: &'static str,
    /// The group (one of [`groups`]) it belongs to.
    pub group: u16,
    /// Applied to primary forms only (base64, hex, digests) rather than every form.
    pub primary_only: bool,
    /// Boundary of its variants; `None`: [`Boundary::of`] the variant's bytes.
    pub boundary: Option<Boundary>,
    /// Pushes the encoded byte strings of one form.
    pub apply: fn(&Input<'_>, &mut Vec<Vec<u8>>),
}

macro_rules! digest_encodings {
    ($($field:ident: $hex:literal, $hex16:literal, $b64:literal, $b64url:literal, $b64_16:literal, $b64url_16:literal;)*) => {
        &[
            $(
                Encoding { name: $hex, group: groups::DIGEST, primary_only: true, boundary: Some(Boundary::Hex),
                    apply: |i, o| o.push(encode::hex(&i.digests().$field, false)) },
                Encoding { name: $hex, group: groups::DIGEST_MORE, primary_only: true, boundary: Some(Boundary::Hex),
                    apply: |i, o| o.push(encode::hex(&i.digests().$field, true)) },
                Encoding { name: $hex16, group: groups::DIGEST_MORE, primary_only: true, boundary: Some(Boundary::Hex),
                    apply: |i, o| for up in [false, true] { o.push(encode::hex(&i.digests().$field[..8], up)) } },
                Encoding { name: $b64, group: groups::DIGEST_MORE, primary_only: true, boundary: Some(Boundary::Alnum),
                    apply: |i, o| for pad in [true, false] { o.push(encode::base64(&i.digests().$field, false, pad)) } },
                Encoding { name: $b64url, group: groups::DIGEST_MORE, primary_only: true, boundary: Some(Boundary::Alnum),
                    apply: |i, o| for pad in [true, false] { o.push(encode::base64(&i.digests().$field, true, pad)) } },
                Encoding { name: $b64_16, group: groups::DIGEST_MORE, primary_only: true, boundary: Some(Boundary::Alnum),
                    apply: |i, o| o.push(encode::base64(&i.digests().$field, false, false)[..16].to_vec()) },
                Encoding { name: $b64url_16, group: groups::DIGEST_MORE, primary_only: true, boundary: Some(Boundary::Alnum),
                    apply: |i, o| o.push(encode::base64(&i.digests().$field, true, false)[..16].to_vec()) },
            )*
        ]
    };
}

const DIGESTS: &[Encoding] = digest_encodings! {
    md5: "md5", "md5-16", "md5-b64", "md5-b64url", "md5-b64-16", "md5-b64url-16";
    sha1: "sha1", "sha1-16", "sha1-b64", "sha1-b64url", "sha1-b64-16", "sha1-b64url-16";
    sha256: "sha256", "sha256-16", "sha256-b64", "sha256-b64url", "sha256-b64-16", "sha256-b64url-16";
};

/// The encodings, in the order variants are produced (which decides what a duplicate keeps):
/// text encodings, base64, hex, `md5-mid16`; then [`DIGEST_ENCODINGS`]. To add one, add an
/// entry (name, group, boundary, function); [`build`] picks it up.
pub const ENCODINGS: &[Encoding] = &[
    Encoding {
        name: "plain",
        group: groups::TEXT,
        primary_only: false,
        boundary: None,
        apply: |i, o| o.push(i.bytes.to_vec()),
    },
    Encoding {
        name: "url",
        group: groups::URL,
        primary_only: false,
        boundary: None,
        apply: |i, o| {
            o.push(encode::url(i.bytes, true, true));
            o.push(encode::url(i.bytes, true, false));
        },
    },
    Encoding {
        name: "url",
        group: groups::URL_LOWER,
        primary_only: false,
        boundary: None,
        apply: |i, o| {
            o.push(encode::url(i.bytes, false, true));
            o.push(encode::url(i.bytes, false, false));
        },
    },
    Encoding {
        name: "json",
        group: groups::JSON,
        primary_only: false,
        boundary: None,
        apply: |i, o| {
            let t = i.text();
            for (ascii, upper, slash) in [
                (true, false, true),
                (true, true, true),
                (true, false, false),
                (false, false, true),
            ] {
                o.push(encode::json(&t, ascii, upper, slash));
            }
        },
    },
    Encoding {
        name: "base64",
        group: groups::BASE64,
        primary_only: true,
        boundary: Some(Boundary::None),
        apply: |i, o| {
            for k in 0..3 {
                o.push(encode::base64_aligned(i.bytes, k, false));
            }
            o.push(encode::base64(i.bytes, false, true));
        },
    },
    Encoding {
        name: "base64url",
        group: groups::BASE64,
        primary_only: true,
        boundary: Some(Boundary::None),
        apply: |i, o| {
            for k in 0..3 {
                o.push(encode::base64_aligned(i.bytes, k, true));
            }
            o.push(encode::base64(i.bytes, true, true));
        },
    },
    Encoding {
        name: "hex",
        group: groups::HEX,
        primary_only: true,
        boundary: Some(Boundary::None),
        apply: |i, o| {
            o.push(encode::hex(i.bytes, false));
            o.push(encode::hex(i.bytes, true));
        },
    },
    Encoding {
        name: "md5-mid16",
        group: groups::DIGEST_MORE,
        primary_only: true,
        boundary: Some(Boundary::Hex),
        apply: |i, o| {
            for up in [false, true] {
                o.push(encode::hex(&i.digests().md5[4..12], up));
            }
        },
    },
];

/// The digest encodings (MD5, SHA-1, SHA-256 and their derived forms), applied after
/// [`ENCODINGS`] (a separate table because a macro writes it).
pub const DIGEST_ENCODINGS: &[Encoding] = DIGESTS;

/// Every encoding, in the order variants are produced: [`ENCODINGS`] then [`DIGEST_ENCODINGS`].
pub fn encodings() -> impl Iterator<Item = &'static Encoding> {
    ENCODINGS.iter().chain(DIGEST_ENCODINGS)
}

/// A form of an item: name, bytes, primary.
type Form = (&'static str, String, bool);

fn plain(value: &str) -> Vec<Form> {
    vec![("plain", value.to_owned(), true)]
}

/// The value, then its lower- and upper-case forms where they differ.
fn cased(value: &str) -> Vec<Form> {
    let mut f = plain(value);
    for (name, v) in [("lower", value.to_lowercase()), ("upper", value.to_uppercase())] {
        if v != value {
            f.push((name, v, true));
        }
    }
    f
}

/// A UUID with and without its dashes, each in lower and upper case.
fn uuid_forms(u: &str) -> Vec<Form> {
    let mut f = cased(u);
    let bare = u.replace('-', "");
    f.push(("uuid-bare", bare.to_lowercase(), true));
    f.push(("upper+uuid-bare", bare.to_uppercase(), true));
    f
}

fn imei_forms(d: &str) -> Vec<Form> {
    let mut f = plain(d);
    if d.len() >= 15 {
        f.push(("imei14", d[..14].to_owned(), true));
    }
    if d.len() != 15 {
        let base = &d[..14.min(d.len())];
        let check = (0..=9u8).map(|c| format!("{base}{c}")).find(|s| crate::profile::luhn_valid(s));
        if let Some(full) = check {
            f.push(("imei15", full, true));
        }
    }
    f
}

fn mac_forms(m: &str) -> Vec<Form> {
    let mut f = Vec::new();
    for (name, sep) in [("plain", ":"), ("mac-dash", "-"), ("mac-bare", "")] {
        let v = m.replace(':', sep);
        let upper_name = match name {
            "plain" => "upper",
            "mac-dash" => "upper+mac-dash",
            _ => "upper+mac-bare",
        };
        let upper = v.to_uppercase();
        f.push((name, v, true));
        f.push((upper_name, upper, true));
    }
    f
}

/// Collects items and variants, dropping short ones and duplicates.
struct Builder {
    set: VariantSet,
    seen: HashSet<Vec<u8>>,
}

impl Builder {
    fn add(
        &mut self,
        kind: DataKind,
        label: String,
        value: &str,
        contact: Option<u32>,
        forms: Vec<Form>,
        mask: u16,
    ) {
        let item = u32::try_from(self.set.items.len()).unwrap_or(u32::MAX);
        self.set.items.push(Item { kind, label, value: value.to_owned(), contact });
        let mut out = Vec::new();
        for (form, text, primary) in &forms {
            let input = Input { bytes: text.as_bytes(), digests: OnceCell::new() };
            for e in encodings() {
                if e.group & mask == 0 || (e.primary_only && !primary) {
                    continue;
                }
                out.clear();
                (e.apply)(&input, &mut out);
                for bytes in out.drain(..) {
                    let boundary = e.boundary.unwrap_or_else(|| Boundary::of(&bytes));
                    let min = if boundary == Boundary::None {
                        MIN_UNBOUNDED_LEN
                    } else {
                        MIN_VARIANT_LEN
                    };
                    if bytes.len() < min || self.seen.contains(&bytes) {
                        continue;
                    }
                    self.seen.insert(bytes.clone());
                    let encoding = match (e.name, *form) {
                        (e, "plain") => e.to_owned(),
                        ("plain", f) => f.to_owned(),
                        (e, f) => format!("{e}+{f}"),
                    };
                    self.set.variants.push(Variant { item, encoding, bytes, boundary });
                }
            }
        }
    }
}

/// Builds every item of `profile` and its variants (see the module doc for order and rules).
pub fn build(profile: &Profile) -> VariantSet {
    let mut b = Builder { set: VariantSet::default(), seen: HashSet::new() };
    let ids = &profile.identifiers;
    let lists: [(DataKind, &str, &[String]); 9] = [
        (DataKind::Imei, "imei", &ids.imei),
        (DataKind::Imsi, "imsi", &ids.imsi),
        (DataKind::Iccid, "iccid", &ids.iccid),
        (DataKind::Phone, "phone", &ids.phone),
        (DataKind::Serial, "serial", &ids.serial),
        (DataKind::AndroidId, "android_id", &ids.android_id),
        (DataKind::AdvertisingId, "advertising_id", &ids.advertising_id),
        (DataKind::Mac, "mac", &ids.mac),
        (DataKind::Email, "email", &ids.email),
    ];
    for (kind, key, values) in lists {
        for (i, v) in values.iter().enumerate() {
            let forms = match kind {
                DataKind::Imei => imei_forms(v),
                DataKind::Phone => phone::forms(v, true),
                DataKind::Mac => mac_forms(v),
                DataKind::Imsi | DataKind::Iccid => plain(v),
                DataKind::AdvertisingId => uuid_forms(v),
                _ => cased(v),
            };
            b.add(kind, format!("{key}[{i}]"), v, None, forms, groups::ALL);
        }
    }
    for (ci, c) in profile.contacts.iter().enumerate() {
        let index = u32::try_from(ci).ok();
        let label = if c.name.is_empty() { format!("contact[{ci}]") } else { c.name.clone() };
        if !c.name.is_empty() {
            b.add(DataKind::Contact, label.clone(), &c.name, index, plain(&c.name), groups::NAME);
        }
        for p in &c.phone {
            b.add(
                DataKind::Contact,
                label.clone(),
                p,
                index,
                phone::forms(p, false),
                groups::CONTACT,
            );
        }
        for e in &c.email {
            let forms = cased(e).into_iter().filter(|f| f.0 != "upper").collect();
            b.add(DataKind::Contact, label.clone(), e, index, forms, groups::CONTACT);
        }
    }
    for (i, s) in profile.sms.iter().enumerate() {
        b.add(DataKind::Sms, format!("sms[{i}]"), s, None, plain(s), groups::SMS);
    }
    for (i, c) in profile.custom.iter().enumerate() {
        let label = if c.label.is_empty() { format!("custom[{i}]") } else { c.label.clone() };
        b.add(DataKind::Custom, label, &c.value, None, plain(&c.value), groups::ALL);
    }
    b.set
}

#[cfg(test)]
mod tests;
