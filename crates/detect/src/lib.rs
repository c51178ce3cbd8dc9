//! Personal-data detection: the stage between the protocol events and the report.
//!
//! Contract:
//! - [`profile`]: a device profile (TOML, optional vCard contacts) says what the tester knows about
//!   the device. Unknown keys are errors naming the key and line.
//! - [`variants`]: every profile item is expanded once, at start, into the byte strings it may take
//!   on the wire (case forms, URL/base64/hex encodings, MD5/SHA-1/SHA-256 digests and their
//!   prefixes, phone number formats, ...). The list of encodings is data ([`variants::ENCODINGS`]).
//! - [`matcher`]: one multi-pattern automaton over all variants, applied to every byte that can
//!   carry personal data in the clear, with boundary rules (a digit identifier inside a longer digit
//!   run is not a match), streamed so a match may straddle chunk boundaries.
//! - [`fields`]: where to look: HTTP request line, query parameters, headers and cookies, bodies
//!   (form, multipart, JSON strings), nested encodings decoded and searched again within a depth and
//!   size cap, DNS query names, TLS/QUIC SNI.
//! - [`heuristic`]: profile-less detectors (IMEI, IMSI, ICCID, MAC, e-mail, phone numbers near
//!   telling keys, coordinates, advertising and Android IDs, telling key names), each hit with a
//!   confidence.
//! - Nothing here reads the clock, the network or the file system beyond the profile and its vCard.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod compiled;
pub mod fields;
pub mod heuristic;
pub mod matcher;
pub mod profile;
pub mod recur;
pub mod variants;

/// The kind of personal data a finding is about (the `data` field of the JSON contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataKind {
    /// International Mobile Equipment Identity.
    Imei,
    /// International Mobile Subscriber Identity.
    Imsi,
    /// SIM card serial (Integrated Circuit Card Identifier).
    Iccid,
    /// The device's own phone number.
    Phone,
    /// Hardware serial number.
    Serial,
    /// Android ID (`Settings.Secure.ANDROID_ID`, 16 hex digits).
    AndroidId,
    /// Advertising ID (Google GAID / Apple IDFA, a UUID).
    AdvertisingId,
    /// A MAC address (Wi-Fi, Bluetooth).
    Mac,
    /// An e-mail address.
    Email,
    /// An address-book entry (name, phone number or e-mail of a contact).
    Contact,
    /// Text of an SMS message.
    Sms,
    /// The device's location.
    Location,
    /// Anything else the tester planted (a Wi-Fi name, a canary string).
    Custom,
    /// An identifier of unknown kind, recognised because the device sent the same random-looking
    /// value to several unrelated parties ([`recur`]).
    Identifier,
}

/// The value of an ASCII hex digit (0 for anything else).
pub(crate) fn hex_val(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

impl DataKind {
    /// Every kind, in declaration order (`kind as u8` indexes it).
    pub const ALL: [Self; 14] = [
        Self::Imei,
        Self::Imsi,
        Self::Iccid,
        Self::Phone,
        Self::Serial,
        Self::AndroidId,
        Self::AdvertisingId,
        Self::Mac,
        Self::Email,
        Self::Contact,
        Self::Sms,
        Self::Location,
        Self::Custom,
        Self::Identifier,
    ];

    /// Name used in output: `imei`, `imsi`, `iccid`, `phone`, `serial`, `android_id`,
    /// `advertising_id`, `mac`, `email`, `contact`, `sms`, `location`, `custom`, `identifier`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Imei => "imei",
            Self::Imsi => "imsi",
            Self::Iccid => "iccid",
            Self::Phone => "phone",
            Self::Serial => "serial",
            Self::AndroidId => "android_id",
            Self::AdvertisingId => "advertising_id",
            Self::Mac => "mac",
            Self::Email => "email",
            Self::Contact => "contact",
            Self::Sms => "sms",
            Self::Location => "location",
            Self::Custom => "custom",
            Self::Identifier => "identifier",
        }
    }

    /// The kind [`as_str`](Self::as_str) names (reports read back from JSON).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == name)
    }
}
