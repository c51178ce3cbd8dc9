//! The report model: findings, destinations, address-book uploads.

use std::collections::BTreeSet;

use capture::Timestamp;
use detect::DataKind;

/// Who found it.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub enum Source {
    /// A value of the device profile.
    Profile,
    /// A profile-less detector, with its confidence (0..=1).
    Heuristic {
        /// How sure the detector is.
        confidence: f32,
    },
}

/// Where one occurrence was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// Capture file (as given on the command line).
    pub file: String,
    /// Frame number in that file (1-based, as Wireshark counts).
    pub frame: u64,
    /// Flow id (as `phonehome flows` prints it).
    pub flow: u64,
    /// Stream offset of the message or chunk that carried it (client-to-server stream unless the
    /// finding is about a response).
    pub offset: u64,
    /// The field, e.g. `http.query:did`, `http.header:cookie`, `dns.qname`.
    pub field: String,
    /// The matched text, masked unless revealed.
    pub value: String,
}

/// One kind of personal data, sent to one destination, in one encoding, in one place.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// What kind of data.
    pub data: DataKind,
    /// Which profile item (`imei[0]`, a contact's name, a custom label); for heuristics the masked
    /// (or revealed) value.
    pub item: String,
    /// Profile or heuristic.
    pub source: Source,
    /// Destination name (or IP when unnamed; for DNS-carried data the registrable domain of the
    /// query).
    pub host: String,
    /// Destination address.
    pub ip: String,
    /// Destination port.
    pub port: u16,
    /// Application protocol of the flow (`http`, `dns`, `tls`, `quic`, `other`).
    pub protocol: &'static str,
    /// True when the flow was encrypted (a finding in an SNI, say).
    pub encrypted: bool,
    /// Encoding chain, outermost first, joined with `+` (`plain`, `url`, `gzip+base64+sha1`...).
    pub encoding: String,
    /// The field kind without per-message detail (`http.query:did`).
    pub where_: String,
    /// Occurrences.
    pub count: u64,
    /// First occurrence.
    pub first_seen: Timestamp,
    /// Last occurrence.
    pub last_seen: Timestamp,
    /// The first occurrences, at most [`crate::MAX_EVIDENCE`].
    pub evidence: Vec<Evidence>,
    /// Heuristic rule that fired (empty for profile findings).
    pub reason: &'static str,
}

/// One message that carried several contacts of the profile's address book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressBookUpload {
    /// Destination name.
    pub host: String,
    /// Distinct contacts matched in that one message.
    pub contacts: usize,
    /// Where the message was.
    pub evidence: Evidence,
    /// When.
    pub time: Timestamp,
}

/// Everything the device talked to, one entry per destination host.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Destination {
    /// Name, or IP when unnamed.
    pub host: String,
    /// Server addresses seen.
    pub ips: BTreeSet<String>,
    /// Application protocols seen.
    pub protocols: BTreeSet<&'static str>,
    /// True only if every flow to it was encrypted.
    pub encrypted: bool,
    /// Flows.
    pub flows: u64,
    /// IP bytes sent to it.
    pub bytes_sent: u64,
    /// IP bytes received from it.
    pub bytes_received: u64,
    /// First contact.
    pub first_seen: Timestamp,
    /// Who it belongs to (from the entity database), when known.
    pub party: Option<Party>,
    /// Country, network and why unknown, from the first server address (when geo data is
    /// available).
    pub geo: Option<crate::geo::GeoInfo>,
}

/// The organisation a destination belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// Organisation name.
    pub name: String,
    /// Category (`manufacturer`, `analytics`, ...).
    pub category: &'static str,
    /// Headquarters country (ISO 3166 alpha-2).
    pub country: String,
}

/// The result of an analysis.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Findings, ordered by first occurrence, then destination and data kind.
    pub findings: Vec<Finding>,
    /// Destinations, ordered by first contact.
    pub destinations: Vec<Destination>,
    /// Messages carrying several contacts, in time order.
    pub address_book_uploads: Vec<AddressBookUpload>,
    /// Where the country and network data came from (`None`: no geo data, countries unknown).
    pub geo_source: Option<String>,
}

impl Report {
    /// Attaches the party of each destination (entity database) and its country and network
    /// (geo data, looked up for the destination's first server address).
    pub fn attribute(&mut self, entities: &crate::attribution::Entities, geo: &crate::geo::Geo) {
        for d in &mut self.destinations {
            d.party = entities.attribute(&d.host).map(|e| Party {
                name: e.name.clone(),
                category: e.category.as_str(),
                country: e.country.clone(),
            });
            d.geo = d.ips.iter().next().and_then(|ip| ip.parse().ok()).map(|ip| geo.lookup(ip));
        }
        self.geo_source = geo.source();
    }
}
