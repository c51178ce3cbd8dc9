//! Severity: how bad one finding is, from a fixed rubric of data × transport × party.
//!
//! Contract (the rubric; `docs/severity.md` is the same text for readers):
//!
//! 1. **Transport** is judged for the data itself ([`Exposure`]): data in a cleartext flow, in a
//!    DNS query name, or in a TLS/QUIC SNI is *cleartext* (anyone on the path reads it); data in
//!    TLS 1.0/1.1 or SSL is *weak*; otherwise *encrypted*.
//! 2. **Data**: *sensitive* (contacts, SMS, location: other people's data or intimate), *identifier*
//!    (IMEI, IMSI, ICCID, phone number, serial, MAC, e-mail, planted custom values), *resettable*
//!    (Android ID, advertising ID: the user can reset them). An encoding chain with a hash (MD5,
//!    SHA-1, SHA-256) makes it *hashed*: still a stable identifier, since a hash of an IMEI is
//!    reversed by trying every IMEI, but it takes work.
//! 3. **Party** ([`PartyClass`]): *first* (the device's maker or OS vendor, or its carrier),
//!    *third* (analytics, advertising, crash reporting, push, social, cloud/CDN, other) or
//!    *unknown* (not in the entity database; rated as third).
//!
//! | transport | data | first party | third / unknown |
//! |---|---|---|---|
//! | cleartext | any, not hashed | critical | critical |
//! | cleartext | hashed | high | high |
//! | weak TLS | any, not hashed | high | high |
//! | weak TLS | hashed | medium | medium |
//! | encrypted | sensitive | medium | high |
//! | encrypted | identifier | medium | high |
//! | encrypted | identifier, hashed | medium | medium |
//! | encrypted | resettable (hashed or not) | low | medium |
//!
//! A heuristic finding (no profile) below [`UNSURE_CONFIDENCE`] is one level lower (never below
//! low). A destination's severity is the highest of its findings'; one with no finding is *low*
//! when its traffic was cleartext or weak TLS (nothing found, but nothing protected) and *info*
//! otherwise. Every rating carries a one-line reason saying which row applied.

use detect::DataKind;

use crate::attribution::Category;

/// Heuristic findings less sure than this are rated one level lower.
pub const UNSURE_CONFIDENCE: f32 = 0.6;

/// How bad, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Severity {
    /// Nothing personal seen; for information.
    #[default]
    Info,
    /// Little risk, or none found but unprotected traffic.
    Low,
    /// Personal data to the device's own vendor over TLS, or hashed data to a third party.
    Medium,
    /// Sensitive data or identifiers to a third party, or anything over weak TLS.
    High,
    /// Personal data anyone on the path can read.
    Critical,
}

impl Severity {
    /// Every level, lowest first.
    pub const ALL: [Self; 5] = [Self::Info, Self::Low, Self::Medium, Self::High, Self::Critical];

    /// `info`, `low`, `medium`, `high`, `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// Parses [`Severity::as_str`]'s names.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str().eq_ignore_ascii_case(s))
    }

    fn lower(self) -> Self {
        match self {
            Self::Critical => Self::High,
            Self::High => Self::Medium,
            Self::Medium | Self::Low => Self::Low,
            Self::Info => Self::Info,
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How visible the data itself was on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Exposure {
    /// Readable by anyone on the path.
    Cleartext,
    /// Inside SSL 3.0 / TLS 1.0 / TLS 1.1.
    WeakTls,
    /// Inside TLS 1.2+, QUIC, or an encrypted unknown protocol.
    Encrypted,
}

impl Exposure {
    /// `cleartext`, `weak-tls`, `encrypted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cleartext => "cleartext",
            Self::WeakTls => "weak-tls",
            Self::Encrypted => "encrypted",
        }
    }
}

/// Who received it, for the rubric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartyClass {
    /// The device's maker, OS vendor or carrier.
    First,
    /// Anyone else in the entity database.
    Third,
    /// Not in the entity database.
    Unknown,
}

impl PartyClass {
    /// The class of an organisation of `category` named `name`, for a device made by
    /// `device_maker` (from the profile; when absent, every manufacturer counts as first party).
    pub fn of(category: Category, name: &str, device_maker: Option<&str>) -> Self {
        match category {
            Category::OsVendor | Category::Carrier => Self::First,
            Category::Manufacturer => match device_maker {
                Some(maker) if !same_org(name, maker) => Self::Third,
                _ => Self::First,
            },
            _ => Self::Third,
        }
    }

    fn as_words(self) -> &'static str {
        match self {
            Self::First => "the device's own vendor or carrier",
            Self::Third => "a third party",
            Self::Unknown => "an unidentified party",
        }
    }
}

/// True when an entity name (`Xiaomi (MIUI)`) names the maker given in a profile (`xiaomi`).
fn same_org(entity: &str, maker: &str) -> bool {
    let e = entity.to_ascii_lowercase();
    let m = maker.trim().to_ascii_lowercase();
    !m.is_empty() && (e.contains(&m) || m.contains(e.split(" (").next().unwrap_or(&e)))
}

/// True when an encoding chain (`gzip+url+md5`) includes a hash.
pub fn is_hashed(encoding: &str) -> bool {
    encoding.split('+').any(|step| step.starts_with("md5") || step.starts_with("sha"))
}

/// What a finding is, for the rubric.
#[derive(Debug, Clone, Copy)]
pub struct FindingFacts<'a> {
    /// Kind of data.
    pub data: DataKind,
    /// Its encoding chain.
    pub encoding: &'a str,
    /// How visible it was.
    pub exposure: Exposure,
    /// Who got it.
    pub party: PartyClass,
    /// Heuristic confidence, `None` for profile findings.
    pub confidence: Option<f32>,
}

/// Rates one finding by the rubric; the reason names the row that applied.
pub fn rate(f: &FindingFacts<'_>) -> (Severity, String) {
    let hashed = is_hashed(f.encoding);
    let (what, class) = match f.data {
        DataKind::Contact | DataKind::Sms | DataKind::Location => ("sensitive data", 0),
        DataKind::AndroidId | DataKind::AdvertisingId => ("a resettable identifier", 2),
        _ => ("an identifier", 1),
    };
    let what = if hashed { format!("{what}, hashed,") } else { what.to_string() };
    let third = f.party != PartyClass::First;
    let (severity, how) = match f.exposure {
        Exposure::Cleartext => {
            (if hashed { Severity::High } else { Severity::Critical }, "readable on the network")
        }
        Exposure::WeakTls => {
            (if hashed { Severity::Medium } else { Severity::High }, "over weak TLS (1.0/1.1)")
        }
        Exposure::Encrypted => {
            let s = match (class, hashed, third) {
                (2, _, false) => Severity::Low,
                (2, _, true) | (1, true, _) | (_, _, false) => Severity::Medium,
                _ => Severity::High,
            };
            (s, "encrypted")
        }
    };
    let mut reason = format!("{what} {how}, to {}", f.party.as_words());
    match f.confidence {
        Some(c) if c < UNSURE_CONFIDENCE && severity > Severity::Low => {
            reason.push_str(&format!("; lowered one level: heuristic confidence {c:.2}"));
            (severity.lower(), reason)
        }
        _ => (severity, reason),
    }
}

/// The severity of a destination with no finding, from its protection.
pub fn rate_quiet_destination(protection: crate::Protection) -> (Severity, String) {
    if !protection.is_encrypted() {
        (Severity::Low, "no personal data found, but the traffic was cleartext".into())
    } else if protection.is_weak() {
        (Severity::Low, "no personal data found, but the traffic used weak TLS".into())
    } else {
        (Severity::Info, "no personal data found".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(data: DataKind, encoding: &str, exposure: Exposure, party: PartyClass) -> Severity {
        rate(&FindingFacts { data, encoding, exposure, party, confidence: None }).0
    }

    #[test]
    fn the_rubric_examples_of_the_issue() {
        use DataKind::*;
        use Exposure::*;
        use PartyClass::*;
        // An identifier in cleartext.
        assert_eq!(facts(Imei, "plain", Cleartext, First), Severity::Critical);
        assert_eq!(facts(Imei, "gzip+url", Cleartext, Unknown), Severity::Critical);
        // Contacts, SMS or location to a third party.
        for d in [Contact, Sms, Location] {
            assert_eq!(facts(d, "plain", Encrypted, Third), Severity::High);
            assert_eq!(facts(d, "plain", Encrypted, First), Severity::Medium);
        }
        // A hashed ID to the manufacturer over TLS.
        assert_eq!(facts(Imei, "md5", Encrypted, First), Severity::Medium);
        assert_eq!(facts(Imei, "sha1-b64url-16", Encrypted, Third), Severity::Medium);
        assert_eq!(facts(Imei, "plain", Encrypted, Third), Severity::High);
        assert_eq!(facts(Imei, "url+md5", Cleartext, Third), Severity::High);
        assert_eq!(facts(Imsi, "plain", WeakTls, First), Severity::High);
        assert_eq!(facts(Imsi, "sha256", WeakTls, First), Severity::Medium);
        assert_eq!(facts(AdvertisingId, "plain", Encrypted, Third), Severity::Medium);
        assert_eq!(facts(AndroidId, "plain", Encrypted, First), Severity::Low);
    }

    #[test]
    fn unsure_heuristics_are_lowered_and_reasons_say_why() {
        let f = FindingFacts {
            data: DataKind::Email,
            encoding: "plain",
            exposure: Exposure::Cleartext,
            party: PartyClass::Unknown,
            confidence: Some(0.4),
        };
        let (s, why) = rate(&f);
        assert_eq!(s, Severity::High);
        assert!(
            why.contains("readable on the network") && why.contains("confidence 0.40"),
            "{why}"
        );
        let (s, why) = rate(&FindingFacts { confidence: Some(0.9), ..f });
        assert_eq!(s, Severity::Critical);
        assert_eq!(why, "an identifier readable on the network, to an unidentified party");
    }

    #[test]
    fn party_classes() {
        assert_eq!(PartyClass::of(Category::Manufacturer, "Xiaomi", None), PartyClass::First);
        assert_eq!(
            PartyClass::of(Category::Manufacturer, "Xiaomi", Some("xiaomi")),
            PartyClass::First
        );
        assert_eq!(
            PartyClass::of(Category::Manufacturer, "Huawei", Some("Xiaomi")),
            PartyClass::Third
        );
        assert_eq!(PartyClass::of(Category::OsVendor, "Google", Some("Xiaomi")), PartyClass::First);
        assert_eq!(PartyClass::of(Category::Analytics, "Umeng", None), PartyClass::Third);
        assert_eq!(PartyClass::of(Category::Push, "JPush", None), PartyClass::Third);
    }

    #[test]
    fn names_and_order() {
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
        }
        assert_eq!(Severity::parse("HIGH"), Some(Severity::High));
        assert_eq!(Severity::parse("severe"), None);
        assert!(is_hashed("gzip+md5-16") && is_hashed("sha1+imei14") && !is_hashed("base64+url"));
    }

    #[test]
    fn quiet_destinations() {
        use crate::Protection;
        assert_eq!(rate_quiet_destination(Protection::CleartextHttp).0, Severity::Low);
        assert_eq!(
            rate_quiet_destination(Protection::Tls { version: Some(0x0302) }).0,
            Severity::Low
        );
        assert_eq!(rate_quiet_destination(Protection::Quic).0, Severity::Info);
    }
}
