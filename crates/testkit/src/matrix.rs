//! The accuracy matrix: every identifier kind of a device profile, in every encoding, planted once
//! in every place, with the ground truth of what was planted where (the accuracy test of
//! `phonehome analyze`, `crates/phonehome/tests/accuracy.rs`); and a capture of decoys.
//!
//! - **Profile** ([`PROFILE_TOML`]): one value per kind (IMEI, IMSI, ICCID, phone, serial, Android
//!   ID, advertising ID, MAC, e-mail, a contact's name and number, an SMS text, a custom value)
//!   and a location. All fake.
//! - **Encodings**: the variant generator's table (`detect::variants`) is re-implemented here,
//!   independently (own hex, URL, JSON and base64 encoders; RustCrypto digests), with its forms,
//!   groups, length minimums, order and "first produced wins" deduplication, so every planted value
//!   carries the encoding name `detect` gives it (`md5`, `url+e164`, `sha1-b64url-16+upper+mac-bare`,
//!   ...). Base64 fragments (a value at byte offset 0, 1 or 2 mod 3 inside a longer plaintext) are
//!   planted as a longer base64-encoded JSON document holding the value at that alignment.
//! - **Places** ([`Place`]): HTTP query parameter, header, cookie, form body, JSON body, gzip JSON
//!   body, chunked form body (5-byte chunks), multipart part, nested (base64 JSON inside a
//!   URL-encoded form field), DNS query label, raw TCP and raw UDP payload (unknown protocol), and
//!   split across TCP segments (HTTP form body and raw TCP, the cut in the middle of the value).
//!   A place takes the values it can carry (a DNS label takes lower-case `[a-z0-9_-]`, at most 63
//!   bytes; a query value no space, `&` or `#`; ...); the others are listed as skipped.
//! - **One flow per plant**, each to its own server address and HTTP host (`p<id>.matrix.example`;
//!   DNS names `<value>.m<id>.example`), so a finding's `host` tells which plant it is.
//! - **Decoys** ([`decoys`]): identifier digits inside longer numbers, Luhn-invalid neighbours,
//!   another device's identifiers and their digests, timestamps, prices, order numbers, UUIDs
//!   without telling keys; none of them is the profile's data.
//!
//! Deterministic: same code, same bytes, except the two TLS places (`tls1.3+http2`,
//! `tls1.2+http1`), whose sessions rustls makes with fresh keys each time; their key log and the
//! QUIC place's (`quic+http3`, deterministic) come with the matrix ([`Matrix::keylog`]).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::app::{dns, http};
use crate::{Conversation, Frame, Link, MS, PcapWriter};

/// The profile the matrix plants (TOML, `phonehome analyze --profile`).
pub const PROFILE_TOML: &str = r#"# Accuracy matrix profile (testkit::matrix): every value fake.
name = "accuracy matrix"
country = "TW"

[identifiers]
imei = ["356938035643809"]
imsi = ["262011234567890"]
iccid = ["8949011234567890126"]
phone = ["+886 955 123 456"]
serial = ["R58M12ABCDE"]
android_id = ["9c4e2a7b1d3f0e58"]
advertising_id = ["38400000-8cf0-11bd-b23e-10b96e4ef00d"]
mac = ["a4:5e:60:d1:22:3b"]
email = ["Jane.Doe@example.org"]

[location]
lat = 25.0339
lon = 121.5645
radius_m = 500

[[contacts.entry]]
name = "Hannah Schmidt"
phone = ["+886 987 654 321"]

[[sms]]
text = "Treffen um 3 am Bahnhof/Gleis 7, bis später"

[[custom]]
label = "canary"
value = "CanaryNet/7f3a-ü"
"#;

/// A coordinate pair within the profile's radius (about 60 m from its centre), as planted.
pub const LOCATION: &str = "25.0342,121.5649";

/// Encoding groups (the same bits as `detect::variants::groups`).
mod groups {
    pub(super) const TEXT: u16 = 1;
    pub(super) const URL: u16 = 1 << 1;
    pub(super) const URL_LOWER: u16 = 1 << 7;
    pub(super) const JSON: u16 = 1 << 2;
    pub(super) const BASE64: u16 = 1 << 3;
    pub(super) const HEX: u16 = 1 << 4;
    pub(super) const DIGEST: u16 = 1 << 5;
    pub(super) const DIGEST_MORE: u16 = 1 << 6;
    pub(super) const ALL: u16 = TEXT | URL | URL_LOWER | JSON | BASE64 | HEX | DIGEST | DIGEST_MORE;
    pub(super) const CONTACT: u16 = TEXT | URL | JSON | DIGEST;
    pub(super) const NAME: u16 = TEXT | URL | URL_LOWER | JSON;
    pub(super) const SMS: u16 = TEXT | URL | URL_LOWER | JSON | BASE64;
}

/// A form of an item: name, text, primary.
type Form = (&'static str, String, bool);

/// One profile item of the matrix.
struct ItemDef {
    kind: &'static str,
    label: &'static str,
    forms: Vec<Form>,
    groups: u16,
}

fn cased(v: &str) -> Vec<Form> {
    let mut f = vec![("plain", v.to_string(), true)];
    for (name, c) in [("lower", v.to_lowercase()), ("upper", v.to_uppercase())] {
        if c != v {
            f.push((name, c, true));
        }
    }
    f
}

/// The forms of the Taiwanese mobile number `0<a> <b> <c>` (E.164 `+886<a><b><c>`), as
/// libphonenumber writes it (`+886 955 123 456`, `0955 123 456`).
fn tw_phone(a: &str, b: &str, c: &str, full: bool) -> Vec<Form> {
    let e164 = format!("+886{a}{b}{c}");
    let digits = format!("886{a}{b}{c}");
    let mut f: Vec<Form> = vec![("e164", e164, true), ("e164-digits", digits.clone(), true)];
    f.push(("national-digits", format!("0{a}{b}{c}"), full));
    f.push(("national-digits", format!("{a}{b}{c}"), full));
    f.push(("idd", format!("00{digits}"), false));
    f.push(("international", format!("+886 {a} {b} {c}"), false));
    f.push(("international", format!("+886-{a}-{b}-{c}"), false));
    f.push(("international", format!("+886 {a} {b} {c}"), false));
    if full {
        f.push(("international", format!("+886 {a}{b}{c}"), false));
    }
    f.push(("national", format!("0{a} {b} {c}"), false));
    f.push(("national", format!("0{a} {b} {c}"), false));
    f.push(("national", format!("0{a}-{b}-{c}"), false));
    if full {
        f.push(("national", format!("{a} {b} {c}"), false));
        f.push(("national", format!("{a}-{b}-{c}"), false));
    }
    f
}

fn items() -> Vec<ItemDef> {
    let one = |v: &str| vec![("plain", v.to_string(), true)];
    let mac = "a4:5e:60:d1:22:3b";
    let mut mac_forms = Vec::new();
    for (name, upper, sep) in [
        ("plain", "upper", ":"),
        ("mac-dash", "upper+mac-dash", "-"),
        ("mac-bare", "upper+mac-bare", ""),
    ] {
        let v = mac.replace(':', sep);
        mac_forms.push((name, v.clone(), true));
        mac_forms.push((upper, v.to_uppercase(), true));
    }
    let uuid = "38400000-8cf0-11bd-b23e-10b96e4ef00d";
    let mut uuid_forms = cased(uuid);
    uuid_forms.push(("uuid-bare", uuid.replace('-', ""), true));
    uuid_forms.push(("upper+uuid-bare", uuid.replace('-', "").to_uppercase(), true));
    let email: Vec<Form> = cased("Jane.Doe@example.org");
    let contact_phone = tw_phone("987", "654", "321", false);
    vec![
        ItemDef {
            kind: "imei",
            label: "imei[0]",
            forms: vec![
                ("plain", "356938035643809".into(), true),
                ("imei14", "35693803564380".into(), true),
            ],
            groups: groups::ALL,
        },
        ItemDef {
            kind: "imsi",
            label: "imsi[0]",
            forms: one("262011234567890"),
            groups: groups::ALL,
        },
        ItemDef {
            kind: "iccid",
            label: "iccid[0]",
            forms: one("8949011234567890126"),
            groups: groups::ALL,
        },
        ItemDef {
            kind: "phone",
            label: "phone[0]",
            forms: tw_phone("955", "123", "456", true),
            groups: groups::ALL,
        },
        ItemDef {
            kind: "serial",
            label: "serial[0]",
            forms: cased("R58M12ABCDE"),
            groups: groups::ALL,
        },
        ItemDef {
            kind: "android_id",
            label: "android_id[0]",
            forms: cased("9c4e2a7b1d3f0e58"),
            groups: groups::ALL,
        },
        ItemDef {
            kind: "advertising_id",
            label: "advertising_id[0]",
            forms: uuid_forms,
            groups: groups::ALL,
        },
        ItemDef { kind: "mac", label: "mac[0]", forms: mac_forms, groups: groups::ALL },
        ItemDef { kind: "email", label: "email[0]", forms: email, groups: groups::ALL },
        ItemDef {
            kind: "contact",
            label: "Hannah Schmidt",
            forms: one("Hannah Schmidt"),
            groups: groups::NAME,
        },
        ItemDef {
            kind: "contact",
            label: "Hannah Schmidt",
            forms: contact_phone,
            groups: groups::CONTACT,
        },
        ItemDef {
            kind: "sms",
            label: "sms[0]",
            forms: one("Treffen um 3 am Bahnhof/Gleis 7, bis später"),
            groups: groups::SMS,
        },
        ItemDef {
            kind: "custom",
            label: "canary",
            forms: one("CanaryNet/7f3a-ü"),
            groups: groups::ALL,
        },
    ]
}

// ---- encoders (independent of `detect`) ----

fn hex(data: &[u8], upper: bool) -> Vec<u8> {
    let digits: &[u8; 16] = if upper { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
    data.iter().flat_map(|&b| [digits[usize::from(b >> 4)], digits[usize::from(b & 15)]]).collect()
}

/// Percent-encoding of all but `A-Z a-z 0-9 - . _ ~`; space as `+` when `plus`.
pub fn url(data: &[u8], upper: bool, plus: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for &b in data {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b);
        } else if b == b' ' && plus {
            out.push(b'+');
        } else {
            out.push(b'%');
            out.extend(hex(&[b], upper));
        }
    }
    out
}

/// The inside of a JSON string: `"` `\` and controls escaped, `/` as `\/` when `slash`, non-ASCII
/// as `\uXXXX` when `ascii`.
pub fn json_escape(text: &str, ascii: bool, upper: bool, slash: bool) -> Vec<u8> {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if slash => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || (ascii && !c.is_ascii()) => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    out.push_str(&if upper {
                        format!("\\u{u:04X}")
                    } else {
                        format!("\\u{u:04x}")
                    });
                }
            }
            c => out.push(c),
        }
    }
    out.into_bytes()
}

/// Base64 (RFC 4648), standard or URL-safe alphabet, padded or not.
pub fn base64(data: &[u8], url_safe: bool, pad: bool) -> Vec<u8> {
    let alphabet: &[u8; 64] = if url_safe {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = Vec::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        let chars = c.len() + 1;
        for i in 0..4 {
            if i < chars {
                out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize]);
            } else if pad {
                out.push(b'=');
            }
        }
    }
    out
}

/// The base64 characters `data` alone determines at byte offset `k` mod 3 of a longer plaintext.
fn base64_aligned(data: &[u8], k: usize, url_safe: bool) -> Vec<u8> {
    let first = (8 * k).div_ceil(6);
    let end = (8 * (k + data.len())) / 6;
    if end <= first {
        return Vec::new();
    }
    let mut padded = vec![0u8; k];
    padded.extend_from_slice(data);
    padded.resize(padded.len().div_ceil(3) * 3, 0);
    base64(&padded, url_safe, false)[first..end].to_vec()
}

fn digests(data: &[u8]) -> [(&'static str, Vec<u8>); 3] {
    use md5::Digest as _;
    [
        ("md5", md5::Md5::digest(data).to_vec()),
        ("sha1", sha1::Sha1::digest(data).to_vec()),
        ("sha256", sha2::Sha256::digest(data).to_vec()),
    ]
}

/// What a variant is, for planting.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// Planted as it is.
    Whole,
    /// A base64 fragment at this alignment: planted inside a longer base64 JSON document.
    Fragment { k: usize, url_safe: bool },
}

/// Boundary classes (as the matcher's `Boundary::of`): only the length minimum depends on it here.
fn unbounded(name: &str) -> bool {
    matches!(name, "base64" | "base64url" | "hex")
}

/// One entry of the encoding table: (name, group, primary forms only, [(flavour, bytes, shape)]).
type Row = (String, u16, bool, Vec<(String, Vec<u8>, Shape)>);

/// One search variant as `detect` generates it.
#[derive(Debug, Clone)]
struct Variant {
    item: usize,
    form: usize,
    /// `detect`'s encoding name.
    name: String,
    /// A unique label of the flavour (`md5/upper`, `url/lower+%20`...).
    flavour: String,
    bytes: Vec<u8>,
    shape: Shape,
}

/// Every variant of every item, in `detect`'s order, deduplicated the same way.
fn variants(items: &[ItemDef]) -> Vec<Variant> {
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut out = Vec::new();
    for (ii, item) in items.iter().enumerate() {
        for (fi, (form, text, primary)) in item.forms.iter().enumerate() {
            let b = text.as_bytes();
            // (encoding, group, primary only, [(flavour, bytes, shape)])
            let mut table: Vec<Row> = vec![
                ("plain".into(), groups::TEXT, false, vec![("".into(), b.to_vec(), Shape::Whole)]),
                (
                    "url".into(),
                    groups::URL,
                    false,
                    vec![
                        ("upper+plus".into(), url(b, true, true), Shape::Whole),
                        ("upper+%20".into(), url(b, true, false), Shape::Whole),
                    ],
                ),
                (
                    "url".into(),
                    groups::URL_LOWER,
                    false,
                    vec![
                        ("lower+plus".into(), url(b, false, true), Shape::Whole),
                        ("lower+%20".into(), url(b, false, false), Shape::Whole),
                    ],
                ),
                (
                    "json".into(),
                    groups::JSON,
                    false,
                    [
                        (true, false, true),
                        (true, true, true),
                        (true, false, false),
                        (false, false, true),
                    ]
                    .iter()
                    .map(|&(a, u, s)| {
                        (
                            format!("ascii={a},upper={u},slash={s}"),
                            json_escape(text, a, u, s),
                            Shape::Whole,
                        )
                    })
                    .collect(),
                ),
            ];
            for (name, url_safe) in [("base64", false), ("base64url", true)] {
                let mut v: Vec<_> = (0..3)
                    .map(|k| {
                        (
                            format!("@{k}"),
                            base64_aligned(b, k, url_safe),
                            Shape::Fragment { k, url_safe },
                        )
                    })
                    .collect();
                v.push(("padded".into(), base64(b, url_safe, true), Shape::Whole));
                table.push((name.into(), groups::BASE64, true, v));
            }
            table.push((
                "hex".into(),
                groups::HEX,
                true,
                vec![
                    ("lower".into(), hex(b, false), Shape::Whole),
                    ("upper".into(), hex(b, true), Shape::Whole),
                ],
            ));
            let d = digests(b);
            table.push((
                "md5-mid16".into(),
                groups::DIGEST_MORE,
                true,
                vec![
                    ("lower".into(), hex(&d[0].1[4..12], false), Shape::Whole),
                    ("upper".into(), hex(&d[0].1[4..12], true), Shape::Whole),
                ],
            ));
            for (dn, dg) in &d {
                let w = |f: &str, v: Vec<u8>| (f.to_string(), v, Shape::Whole);
                let n = |s: &str| format!("{dn}{s}");
                table.push((n(""), groups::DIGEST, true, vec![w("lower", hex(dg, false))]));
                table.push((n(""), groups::DIGEST_MORE, true, vec![w("upper", hex(dg, true))]));
                table.push((
                    n("-16"),
                    groups::DIGEST_MORE,
                    true,
                    vec![w("lower", hex(&dg[..8], false)), w("upper", hex(&dg[..8], true))],
                ));
                for (suffix, us) in [("-b64", false), ("-b64url", true)] {
                    table.push((
                        n(suffix),
                        groups::DIGEST_MORE,
                        true,
                        vec![
                            w("padded", base64(dg, us, true)),
                            w("unpadded", base64(dg, us, false)),
                        ],
                    ));
                }
                for (suffix, us) in [("-b64-16", false), ("-b64url-16", true)] {
                    table.push((
                        n(suffix),
                        groups::DIGEST_MORE,
                        true,
                        vec![w("", base64(dg, us, false)[..16].to_vec())],
                    ));
                }
            }
            for (enc, group, primary_only, flavours) in table {
                if group & item.groups == 0 || (primary_only && !primary) {
                    continue;
                }
                for (flavour, bytes, shape) in flavours {
                    let min = if unbounded(&enc) { 8 } else { 6 };
                    if bytes.len() < min || !seen.insert(bytes.clone()) {
                        continue;
                    }
                    let name = match (enc.as_str(), *form) {
                        (e, "plain") => e.to_string(),
                        ("plain", f) => f.to_string(),
                        (e, f) => format!("{e}+{f}"),
                    };
                    let flavour =
                        if flavour.is_empty() { name.clone() } else { format!("{name}/{flavour}") };
                    out.push(Variant { item: ii, form: fi, name, flavour, bytes, shape });
                }
            }
        }
    }
    out
}

/// Where a value is planted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Place {
    /// `GET /c?a=1&<key>=VALUE&z=2`.
    Query,
    /// `X-<Key>: VALUE`.
    Header,
    /// `Cookie: sid=1; <key>=VALUE`.
    Cookie,
    /// `application/x-www-form-urlencoded` body.
    Form,
    /// JSON body (the value JSON-escaped in a string).
    Json,
    /// gzip-encoded JSON body.
    Gzip,
    /// Chunked form body, 5-byte chunks.
    Chunked,
    /// `multipart/form-data` part.
    Multipart,
    /// Base64 JSON inside a URL-encoded form field `d`.
    Nested,
    /// A DNS query label.
    Dns,
    /// Raw TCP payload of an unknown protocol.
    RawTcp,
    /// Raw UDP payload of an unknown protocol.
    RawUdp,
    /// An HTTP form body split across two TCP segments in the middle of the value.
    SplitHttp,
    /// A raw TCP payload split across two TCP segments in the middle of the value.
    SplitTcp,
    /// A JSON body of an HTTP/2 request inside TLS 1.3 (AES-128-GCM), opened with the matrix's
    /// key log.
    Tls13Http2,
    /// A form body of an HTTP/1.1 request inside TLS 1.2 (ECDHE-ECDSA ChaCha20-Poly1305), opened
    /// with the matrix's key log.
    Tls12Http1,
    /// An `application/x-protobuf` body: the value a string in field 1 of the message in field 2.
    Protobuf,
    /// A JSON body of an HTTP/3 request inside QUIC v1 (1-RTT, opened with the matrix's key log).
    QuicHttp3,
}

impl Place {
    /// Every place.
    pub const ALL: [Self; 18] = [
        Self::Query,
        Self::Header,
        Self::Cookie,
        Self::Form,
        Self::Json,
        Self::Gzip,
        Self::Chunked,
        Self::Multipart,
        Self::Nested,
        Self::Dns,
        Self::RawTcp,
        Self::RawUdp,
        Self::SplitHttp,
        Self::SplitTcp,
        Self::Tls13Http2,
        Self::Tls12Http1,
        Self::Protobuf,
        Self::QuicHttp3,
    ];

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Query => "query",
            Self::Header => "header",
            Self::Cookie => "cookie",
            Self::Form => "form",
            Self::Json => "json",
            Self::Gzip => "gzip",
            Self::Chunked => "chunked",
            Self::Multipart => "multipart",
            Self::Nested => "nested",
            Self::Dns => "dns",
            Self::RawTcp => "raw-tcp",
            Self::RawUdp => "raw-udp",
            Self::SplitHttp => "split-http",
            Self::SplitTcp => "split-tcp",
            Self::Tls13Http2 => "tls1.3+http2",
            Self::Tls12Http1 => "tls1.2+http1",
            Self::Protobuf => "protobuf",
            Self::QuicHttp3 => "quic+http3",
        }
    }

    /// The finding's `where` must start with this (for values under `key`).
    pub fn where_prefix(self, key: &str) -> String {
        match self {
            Self::Query => format!("http.query:{key}"),
            Self::Header => format!("http.header:x-{key}"),
            Self::Cookie => format!("http.cookie:{key}"),
            Self::Form | Self::Chunked | Self::SplitHttp | Self::Tls12Http1 => {
                format!("http.form:{key}")
            }
            Self::Json | Self::Gzip | Self::Tls13Http2 | Self::QuicHttp3 => {
                format!("http.json:{key}")
            }
            Self::Multipart => format!("http.multipart:{key}"),
            Self::Nested => "http.form:d".into(),
            Self::Dns => "dns.".into(),
            Self::RawTcp | Self::SplitTcp => "tcp.payload".into(),
            Self::RawUdp => "udp.payload".into(),
            Self::Protobuf => "http.protobuf:2.1".into(),
        }
    }

    /// Whether the place can carry `v` as it is (`None`), or why not.
    fn refuses(self, v: &[u8]) -> Option<&'static str> {
        let visible = |b: &u8| (0x21..=0x7e).contains(b);
        match self {
            Self::Query if !v.iter().all(|b| visible(b) && !b"&#".contains(b)) => {
                Some("a query value takes no space, `&`, `#` or non-ASCII byte")
            }
            Self::Header if !v.iter().all(|b| visible(b) || *b == b' ') => {
                Some("a header value is printable ASCII")
            }
            Self::Cookie if !v.iter().all(|b| visible(b) && !b";\"".contains(b)) => {
                Some("a cookie value takes no space, `;`, `\"` or non-ASCII byte")
            }
            Self::Form | Self::Chunked | Self::SplitHttp | Self::Tls12Http1
                if v.contains(&b'&') =>
            {
                Some("a form value takes no `&`")
            }
            Self::Dns
                if v.len() > 63
                    || !v.iter().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_".contains(b)
                    }) =>
            {
                Some(
                    "a DNS label is lower-case `[a-z0-9_-]`, at most 63 bytes (names are compared lower-case)",
                )
            }
            _ => None,
        }
    }
}

/// One planted value: the ground truth.
#[derive(Debug, Clone)]
pub struct Plant {
    /// Plant number (unique; also in the host name).
    pub id: usize,
    /// The finding's `data`: `imei`, ..., `contact`, `sms`, `custom`, `location`.
    pub kind: &'static str,
    /// The finding's `item`: `imei[0]`, the contact's name, the custom label, `location`.
    pub item: &'static str,
    /// `detect`'s encoding name of what was planted (`md5`, `url+e164`, ...); the finding's
    /// `encoding` may add the place's decodings before it (`gzip+md5`, `url+base64`).
    pub encoding: String,
    /// A unique label of the flavour planted (`md5/upper`, `base64/@1`...).
    pub flavour: String,
    /// The variant's bytes as `detect` generates them (for base64 fragments, the fragment).
    pub variant: Vec<u8>,
    /// Where it was planted.
    pub place: Place,
    /// The finding's `where` starts with this.
    pub where_prefix: String,
    /// The finding's `host`.
    pub host: String,
    /// The bytes planted (for fragments, the whole base64 document).
    pub value: Vec<u8>,
}

/// A (kind, encoding, place) combination not planted, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// The data kind.
    pub kind: &'static str,
    /// The encoding flavour.
    pub flavour: String,
    /// The place.
    pub place: Place,
    /// Why.
    pub reason: &'static str,
}

/// The matrix: the capture (classic pcap, Ethernet), what was planted, what was not.
#[derive(Debug, Clone)]
pub struct Matrix {
    /// The capture file's bytes.
    pub capture: Vec<u8>,
    /// Every plant.
    pub plants: Vec<Plant>,
    /// Combinations a place cannot carry.
    pub skipped: Vec<Skipped>,
    /// The NSS key log of the TLS places' sessions (`--keylog`).
    pub keylog: String,
}

/// The TLS configurations of the TLS places (each plant is its own session, made by rustls).
struct TlsPlaces {
    tls13: crate::tls_session::TlsPair,
    tls12: crate::tls_session::TlsPair,
    /// Key log lines of the QUIC place's connections.
    quic: std::cell::RefCell<String>,
}

impl TlsPlaces {
    fn new() -> Self {
        use crate::tls_session::{Resumption, TlsPair};
        Self {
            tls13: TlsPair::new(0x1301, &["h2"], "matrix.example", Resumption::Tickets),
            tls12: TlsPair::new(0xcca9, &["http/1.1"], "matrix.example", Resumption::Tickets),
            quic: std::cell::RefCell::new(String::new()),
        }
    }
}

const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 168, 7, 2);
const RESOLVER: Ipv4Addr = Ipv4Addr::new(192, 168, 7, 1);
const START_NS: i64 = 1_700_000_000_000_000_000;

/// The server address of plant `id` (198.18.0.0/15, the benchmarking range).
fn server_ip(id: usize) -> Ipv4Addr {
    let n = id / 250;
    Ipv4Addr::new(198, 18 + (n / 256) as u8, (n % 256) as u8, 1 + (id % 250) as u8)
}

/// A longer plaintext holding `value` at byte offset `k` mod 3: a JSON document.
fn aligned_json(value: &[u8], key: &str, k: usize) -> Vec<u8> {
    let head = String::from("{\"n\":\"abc");
    let mid = format!("\",\"{key}\":\"");
    let fill = (k + 3 * 10 - (head.len() + mid.len()) % 3) % 3;
    let mut v = head.into_bytes();
    v.extend(std::iter::repeat_n(b'x', fill));
    v.extend_from_slice(mid.as_bytes());
    assert_eq!(v.len() % 3, k);
    v.extend_from_slice(value);
    v.extend_from_slice(b"\",\"z\":1}");
    v
}

fn json_string(v: &[u8]) -> Vec<u8> {
    json_escape(&String::from_utf8_lossy(v), false, false, false)
}

/// Builds the frames of one plant.
fn plant_frames(p: &Plant, key: &str, tls: &TlsPlaces) -> Vec<Frame> {
    let start = START_NS + p.id as i64 * MS;
    let link = Link::ethernet();
    let port = 10_000 + (p.id % 50_000) as u16;
    let client = SocketAddr::new(IpAddr::V4(CLIENT), port);
    let v = p.value.as_slice();
    let host = p.host.as_str();
    let tcp = |port: u16| {
        Conversation::tcp(client, SocketAddr::new(server_ip(p.id).into(), port))
            .link(link.clone())
            .start_ns(start)
    };
    let form = |v: &[u8]| {
        let mut b = b"a=1&".to_vec();
        b.extend_from_slice(key.as_bytes());
        b.push(b'=');
        b.extend_from_slice(v);
        b.extend_from_slice(b"&z=2");
        b
    };
    let json = |v: &[u8]| {
        let mut b = format!("{{\"t\":1,\"{key}\":\"").into_bytes();
        b.extend(json_string(v));
        b.extend_from_slice(b"\"}");
        b
    };
    let post = |body: Vec<u8>, ctype: &str| {
        http::HttpRequest::new("POST", host, "/c").header("Content-Type", ctype).body(body)
    };
    const FORM: &str = "application/x-www-form-urlencoded";
    let raw = |v: &[u8]| {
        let mut b = format!("#MTX {key}=").into_bytes();
        b.extend_from_slice(v);
        b.extend_from_slice(b";\n");
        b
    };
    let req = match p.place {
        Place::Query => {
            let mut t = format!("/c?a=1&{key}=").into_bytes();
            t.extend_from_slice(v);
            t.extend_from_slice(b"&z=2");
            Some(http::HttpRequest::get(host, &String::from_utf8_lossy(&t)).to_bytes())
        }
        Place::Header => Some(
            http::HttpRequest::get(host, "/c")
                .header(&format!("X-{key}"), &String::from_utf8_lossy(v))
                .to_bytes(),
        ),
        Place::Cookie => Some(
            http::HttpRequest::get(host, "/c")
                .header("Cookie", &format!("sid=1; {key}={}", String::from_utf8_lossy(v)))
                .to_bytes(),
        ),
        Place::Form => Some(post(form(v), FORM).to_bytes()),
        Place::Protobuf => {
            // message { 1: "com.example.app", 2: { 1: VALUE, 2: 1 } }, lengths as varints.
            let field = |tag: u8, value: &[u8]| {
                let mut f = vec![tag];
                let mut n = value.len();
                while n >= 0x80 {
                    f.push((n & 0x7f) as u8 | 0x80);
                    n >>= 7;
                }
                f.push(n as u8);
                f.extend_from_slice(value);
                f
            };
            let inner = [field(0x0a, v), vec![0x10, 0x01]].concat();
            let body = [field(0x0a, b"com.example.app"), field(0x12, &inner)].concat();
            Some(post(body, "application/x-protobuf").to_bytes())
        }
        Place::Json => Some(post(json(v), "application/json").to_bytes()),
        Place::Gzip => Some(post(json(v), "application/json").gzip().to_bytes()),
        Place::Chunked => Some(post(form(v), FORM).chunked(5).to_bytes()),
        Place::Multipart => {
            let mut b =
                format!("--mtxB0undary\r\nContent-Disposition: form-data; name=\"{key}\"\r\n\r\n")
                    .into_bytes();
            b.extend_from_slice(v);
            b.extend_from_slice(b"\r\n--mtxB0undary--\r\n");
            Some(post(b, "multipart/form-data; boundary=mtxB0undary").to_bytes())
        }
        Place::Nested => {
            let inner = base64(&json(v), false, true);
            let mut b = b"a=1&d=".to_vec();
            b.extend(url(&inner, true, true));
            b.extend_from_slice(b"&z=2");
            Some(post(b, FORM).to_bytes())
        }
        _ => None,
    };
    if let Some(req) = req {
        let mut c = tcp(80);
        c.handshake();
        c.client_sends(&req).fin();
        return c.frames();
    }
    match p.place {
        Place::SplitHttp => {
            let req = post(form(v), FORM).to_bytes();
            let at = find(&req, v).expect("value in request") + v.len() / 2;
            let mut c = tcp(80);
            c.handshake();
            c.client_sends_split(&req, &[at]).fin();
            c.frames()
        }
        Place::RawTcp | Place::SplitTcp => {
            let payload = raw(v);
            let mut c = tcp(7000);
            c.handshake();
            if p.place == Place::SplitTcp {
                let at = find(&payload, v).expect("value in payload") + v.len() / 2;
                c.client_sends_split(&payload, &[at]);
            } else {
                c.client_sends(&payload);
            }
            c.fin();
            c.frames()
        }
        Place::RawUdp => {
            let mut u = Conversation::udp(client, SocketAddr::new(server_ip(p.id).into(), 7001))
                .link(link)
                .start_ns(start);
            u.client_datagram(&raw(v));
            u.frames()
        }
        Place::Dns => {
            let name = format!("{}.m{}.example", String::from_utf8_lossy(v), p.id);
            let q = dns::DnsMessage::query((p.id % 65_536) as u16, &name, dns::qtype::A).encode();
            let mut u = Conversation::udp(client, SocketAddr::new(RESOLVER.into(), 53))
                .link(link)
                .start_ns(start);
            u.client_datagram(&q);
            u.frames()
        }
        Place::Tls13Http2 => {
            use crate::app::h2::{self, H2Message};
            let r = H2Message::request(1, "POST", host, "/c")
                .header("content-type", "application/json")
                .body(json(v));
            let c = h2::client(&[r]);
            let s = h2::server(&[H2Message::response(1, 204)]);
            let t = tls.tls13.session_to(host, &[(c, s)], None);
            let mut c = tcp(443);
            c.handshake();
            t.lay_on(&mut c, 1400);
            c.frames()
        }
        Place::QuicHttp3 => {
            let req = crate::app::h3::request(
                "POST",
                host,
                "/c",
                &[("content-type", "application/json")],
                &json(v),
            );
            // With Handshake packets: the server's EncryptedExtensions chooses h3.
            let opts = crate::app::h3::QuicOptions {
                seed: (p.id % 251) as u8,
                handshake_alpn: Some("h3"),
                ..Default::default()
            };
            let q = crate::app::h3::connection_with(host, &[req], &opts);
            tls.quic.borrow_mut().push_str(&q.keylog);
            let mut u = Conversation::udp(client, SocketAddr::new(server_ip(p.id).into(), 443))
                .link(link)
                .start_ns(start);
            q.lay_on(&mut u);
            u.frames()
        }
        Place::Tls12Http1 => {
            let req = post(form(v), FORM).to_bytes();
            let ok = b"HTTP/1.1 204 No Content\r\n\r\n".to_vec();
            let t = tls.tls12.session_to(host, &[(req, ok)], None);
            let mut c = tcp(443);
            c.handshake();
            t.lay_on(&mut c, 1400);
            c.frames()
        }
        _ => unreachable!("HTTP places handled above"),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn host_of(place: Place, id: usize) -> String {
    match place {
        Place::Dns => format!("m{id}.example"),
        Place::RawTcp | Place::RawUdp | Place::SplitTcp => server_ip(id).to_string(),
        _ => format!("p{id}.matrix.example"),
    }
}

/// Builds the matrix: every variant of every profile item (base64 fragments inside a longer base64
/// JSON document) in every place that can carry it, plus the location in every keyed place.
pub fn matrix() -> Matrix {
    let tls = TlsPlaces::new();
    let items = items();
    let mut plants = Vec::new();
    let mut skipped = Vec::new();
    let mut frames: Vec<Frame> = Vec::new();
    let mut add = |kind: &'static str,
                   item: &'static str,
                   v: &Variant,
                   value: Vec<u8>,
                   key: &str,
                   plants: &mut Vec<Plant>,
                   skipped: &mut Vec<Skipped>| {
        for place in Place::ALL {
            if let Some(reason) = place.refuses(&value) {
                skipped.push(Skipped { kind, flavour: v.flavour.clone(), place, reason });
                continue;
            }
            let id = plants.len();
            let p = Plant {
                id,
                kind,
                item,
                encoding: v.name.clone(),
                flavour: v.flavour.clone(),
                variant: v.bytes.clone(),
                place,
                where_prefix: place.where_prefix(key),
                host: host_of(place, id),
                value: value.clone(),
            };
            frames.extend(plant_frames(&p, key, &tls));
            plants.push(p);
        }
    };
    for v in variants(&items) {
        let item = &items[v.item];
        let value = match v.shape {
            Shape::Whole => v.bytes.clone(),
            Shape::Fragment { k, url_safe } => {
                let text = item.forms[v.form].1.as_bytes();
                base64(&aligned_json(text, "dv", k), url_safe, true)
            }
        };
        add(item.kind, item.label, &v, value, "dv", &mut plants, &mut skipped);
        if let Shape::Fragment { k: 0, url_safe } = v.shape {
            // The value's own unpadded encoding: its aligned fragment plus one last character.
            let text = item.forms[v.form].1.as_bytes();
            let unpadded = Variant { flavour: format!("{}/unpadded", v.name), ..v.clone() };
            let value = base64(text, url_safe, false);
            add(item.kind, item.label, &unpadded, value, "dv", &mut plants, &mut skipped);
        }
    }
    let loc = Variant {
        item: 0,
        form: 0,
        name: "plain".into(),
        flavour: "lat,lon".into(),
        bytes: LOCATION.as_bytes().to_vec(),
        shape: Shape::Whole,
    };
    add("location", "location", &loc, loc.bytes.clone(), "location", &mut plants, &mut skipped);
    let mut w =
        PcapWriter::new(Vec::new(), Link::ethernet().link_type()).expect("writing to a Vec");
    w.write_frames(&frames).expect("writing to a Vec");
    let keylog = tls.tls13.keylog() + &tls.tls12.keylog() + &tls.quic.borrow();
    Matrix { capture: w.finish().expect("writing to a Vec"), plants, skipped, keylog }
}

/// The decoy capture and the number of decoy values in it: values that look like the profile's
/// data, or like personal data, but are not the profile's (none may give a profile finding).
pub fn decoys() -> (Vec<u8>, usize) {
    let imei = "356938035643809";
    let other_imei = "352099001761481";
    let other_mac = "a4:5e:60:d1:22:3c";
    let other_aid = "9c4e2a7b1d3f0e59";
    let hexs = |d: &[u8]| String::from_utf8(hex(d, false)).expect("hex");
    let dg = |s: &str| digests(s.as_bytes()).map(|(_, d)| hexs(&d));
    let mut values: Vec<(String, String)> = vec![
        // The IMEI's digits inside longer numbers.
        ("n1".into(), format!("9{imei}")),
        ("n2".into(), format!("{imei}7")),
        ("n3".into(), format!("1{imei}00")),
        ("n4".into(), format!("{}{}", &imei[..14], "12")),
        // Luhn-invalid neighbours: the IMEI's first 14 digits with a wrong check digit, and +1.
        ("v1".into(), "356938035643801".into()),
        ("v2".into(), "356938035643807".into()),
        ("v0".into(), "356938035643810".into()),
        // The IMSI, ICCID, phone inside longer digit runs.
        ("n5".into(), "8262011234567890".into()),
        ("n6".into(), "26201123456789012".into()),
        ("n7".into(), "89490112345678901267".into()),
        ("n8".into(), "18869551234567".into()),
        ("n9".into(), "209551234561".into()),
        // The MAC and Android ID as part of longer hex strings.
        ("h1".into(), format!("{}00ff", "a45e60d1223b")),
        ("h2".into(), format!("0{}", "9c4e2a7b1d3f0e58")),
        ("h3".into(), format!("{}9c4e2a7b1d3f0e58aa", "77")),
        // Another device's identifiers and their digests.
        ("v3".into(), other_imei.into()),
        ("v4".into(), other_mac.into()),
        ("v5".into(), other_mac.replace(':', "")),
        ("v6".into(), other_aid.into()),
        ("v7".into(), "262011234567891".into()),
        ("v8".into(), "8949011234567890134".into()),
        ("v9".into(), "+886955123457".into()),
        ("v10".into(), "Jane.Doe@example.com".into()),
        ("v11".into(), "R58M12ABCDF".into()),
        ("v12".into(), "38400000-8cf0-11bd-b23e-10b96e4ef00e".into()),
    ];
    // The profile IMEI's digest prefixes inside longer tokens (a 16-character prefix is only one
    // when it stands alone).
    let own = dg(imei);
    values.push(("p1".into(), format!("{}0f1e2d3c4b5a6978", &own[0][..16])));
    values.push(("p2".into(), format!("ab{}", &own[1][..16])));
    let own_b64 =
        String::from_utf8(base64(&digests(imei.as_bytes())[1].1, true, false)).expect("b64");
    values.push(("p3".into(), format!("{}Xy9", &own_b64[..16])));
    for (i, s) in
        [other_imei, other_aid, &other_mac.replace(':', ""), "352099001761481"].iter().enumerate()
    {
        for (j, d) in dg(s).into_iter().enumerate() {
            values.push((format!("d{i}{j}"), d.clone()));
            values.push((format!("e{i}{j}"), d[..16].to_string()));
        }
    }
    // Timestamps, prices, order numbers, UUIDs without telling keys.
    for (k, v) in [
        ("ts", "1700000000123"),
        ("t2", "1356938035"),
        ("price", "19.99"),
        ("amount", "356938.03"),
        ("order", "ORD-3569380356-4380"),
        ("order2", "20231114356938035643809"),
        ("uuid", "6f1c2e9a-0b7d-4c3e-9a51-2b8d7e4f6a10"),
        ("req", "38400000-8cf0-11bd-b23e-10b96e4ef00f"),
        ("seq", "955123456789"),
        ("build", "JHCTWBH45.0"),
    ] {
        values.push((k.into(), v.into()));
    }
    let link = Link::ethernet();
    let mut frames = Vec::new();
    for (i, (k, v)) in values.iter().enumerate() {
        let client = SocketAddr::new(IpAddr::V4(CLIENT), 30_000 + i as u16);
        let server = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1 + i as u8)), 80);
        let host = format!("decoy{i}.example");
        let target =
            format!("/d?{k}={}&x=1", String::from_utf8_lossy(&url(v.as_bytes(), true, false)));
        let body = format!("{{\"{k}\":\"{v}\",\"list\":[\"{v}\"]}}");
        let req = http::HttpRequest::post(&host, &target, body.into_bytes()).to_bytes();
        let mut c =
            Conversation::tcp(client, server).link(link.clone()).start_ns(START_NS + i as i64 * MS);
        c.handshake();
        c.client_sends(&req).fin();
        frames.extend(c.frames());
        let mut raw = Conversation::tcp(
            SocketAddr::new(IpAddr::V4(CLIENT), 40_000 + i as u16),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1 + i as u8)), 7000),
        )
        .link(link.clone())
        .start_ns(START_NS + i as i64 * MS + 500_000);
        raw.handshake();
        raw.client_sends(format!("#DECOY {k}={v};\n").as_bytes()).fin();
        frames.extend(raw.frames());
    }
    frames.sort_by_key(|(ts, _)| *ts);
    let mut w = PcapWriter::new(Vec::new(), link.link_type()).expect("writing to a Vec");
    w.write_frames(&frames).expect("writing to a Vec");
    (w.finish().expect("writing to a Vec"), values.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoders_match_known_vectors() {
        assert_eq!(base64(b"\xfb\xff", false, true), b"+/8=");
        assert_eq!(base64(b"\xfb\xff", true, false), b"-_8");
        assert_eq!(base64(b"hello", false, true), b"aGVsbG8=");
        assert_eq!(url(b"+886 9/\xe9", true, true), b"%2B886+9%2F%E9");
        assert_eq!(json_escape("陳 a/\"", true, false, true), b"\\u9673 a\\/\\\"");
        // `printf %s 865123045678905 | md5sum` (the demo's constant).
        assert_eq!(
            hex(&digests(b"865123045678905")[0].1, false),
            crate::scenario::IMEI_MD5.as_bytes()
        );
        let whole = base64(b"xabcyy", false, false);
        let frag = base64_aligned(b"abc", 1, false);
        assert!(find(&whole, &frag).is_some());
    }

    #[test]
    fn fragments_sit_in_their_document() {
        for k in 0..3 {
            let doc = base64(&aligned_json(b"356938035643809", "dv", k), false, true);
            let frag = base64_aligned(b"356938035643809", k, false);
            assert!(find(&doc, &frag).is_some(), "k={k}");
        }
    }

    #[test]
    fn matrix_is_deterministic_and_covers_every_kind_and_place() {
        let m = matrix();
        // The ground truth is deterministic; the capture too but for the TLS places' sessions
        // (rustls draws fresh keys), whose plaintext is the same.
        let again = matrix();
        let truth = |m: &Matrix| -> Vec<(usize, String, Vec<u8>)> {
            m.plants.iter().map(|p| (p.id, p.host.clone(), p.value.clone())).collect()
        };
        assert_eq!(truth(&m), truth(&again));
        assert!(
            m.keylog.lines().count()
                >= 2 * m.plants.iter().filter(|p| p.place == Place::Tls12Http1).count()
        );
        let kinds: HashSet<&str> = m.plants.iter().map(|p| p.kind).collect();
        assert_eq!(kinds.len(), 13, "{kinds:?}");
        let places: HashSet<Place> = m.plants.iter().map(|p| p.place).collect();
        assert_eq!(places.len(), Place::ALL.len());
    }
}
