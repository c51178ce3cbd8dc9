//! TLS record-layer encoders: ClientHello (SNI, ALPN, supported_versions, key share, GREASE,
//! padding, QUIC transport parameters), ServerHello, ChangeCipherSpec, alerts and fake encrypted
//! application data.
//!
//! ```
//! use testkit::app::tls::ClientHello;
//! let ch = ClientHello::new("api.example.com");
//! let one = ch.record(); // one handshake record
//! let split = ch.records(100); // the same handshake message over several records
//! assert_eq!(one[0], 0x16);
//! assert!(split.len() > one.len());
//! ```

use crate::rng::Rng;

/// Record content types.
pub mod content_type {
    /// change_cipher_spec.
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    /// alert.
    pub const ALERT: u8 = 21;
    /// handshake.
    pub const HANDSHAKE: u8 = 22;
    /// application_data.
    pub const APPLICATION_DATA: u8 = 23;
}

/// Protocol versions.
pub mod version {
    /// TLS 1.0 (also the usual ClientHello record version).
    pub const TLS10: u16 = 0x0301;
    /// TLS 1.1.
    pub const TLS11: u16 = 0x0302;
    /// TLS 1.2.
    pub const TLS12: u16 = 0x0303;
    /// TLS 1.3.
    pub const TLS13: u16 = 0x0304;
}

/// Extension types.
pub mod ext {
    /// server_name.
    pub const SERVER_NAME: u16 = 0;
    /// status_request.
    pub const STATUS_REQUEST: u16 = 5;
    /// supported_groups.
    pub const SUPPORTED_GROUPS: u16 = 10;
    /// ec_point_formats.
    pub const EC_POINT_FORMATS: u16 = 11;
    /// signature_algorithms.
    pub const SIGNATURE_ALGORITHMS: u16 = 13;
    /// application_layer_protocol_negotiation.
    pub const ALPN: u16 = 16;
    /// signed_certificate_timestamp.
    pub const SCT: u16 = 18;
    /// padding.
    pub const PADDING: u16 = 21;
    /// extended_master_secret.
    pub const EXTENDED_MASTER_SECRET: u16 = 23;
    /// session_ticket.
    pub const SESSION_TICKET: u16 = 35;
    /// supported_versions.
    pub const SUPPORTED_VERSIONS: u16 = 43;
    /// psk_key_exchange_modes.
    pub const PSK_KEY_EXCHANGE_MODES: u16 = 45;
    /// key_share.
    pub const KEY_SHARE: u16 = 51;
    /// quic_transport_parameters.
    pub const QUIC_TRANSPORT_PARAMETERS: u16 = 57;
    /// renegotiation_info.
    pub const RENEGOTIATION_INFO: u16 = 0xff01;
}

/// Handshake message types.
pub mod handshake_type {
    /// client_hello.
    pub const CLIENT_HELLO: u8 = 1;
    /// server_hello.
    pub const SERVER_HELLO: u8 = 2;
}

/// Cipher suites a modern phone offers, in its order.
pub const DEFAULT_CIPHER_SUITES: [u16; 15] = [
    0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c,
    0x009d, 0x002f, 0x0035,
];

/// The GREASE value used when GREASE is on (RFC 8701).
pub const GREASE: u16 = 0x0a0a;

/// One TLS record.
pub fn record(content_type: u8, version: u16, fragment: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(5 + fragment.len());
    write_record(content_type, version, fragment, &mut v);
    v
}

/// Appends one TLS record to `out`.
pub fn write_record(content_type: u8, version: u16, fragment: &[u8], out: &mut Vec<u8>) {
    assert!(fragment.len() <= 0xffff, "TLS record fragment longer than 65535 bytes");
    out.push(content_type);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&(fragment.len() as u16).to_be_bytes());
    out.extend_from_slice(fragment);
}

/// `data` as consecutive records cut at the given byte `offsets` (ascending).
pub fn records_split_at(content_type: u8, version: u16, data: &[u8], offsets: &[usize]) -> Vec<u8> {
    let mut v = Vec::with_capacity(data.len() + 5 * (offsets.len() + 1));
    let mut start = 0;
    for &end in offsets.iter().chain(std::iter::once(&data.len())) {
        write_record(content_type, version, &data[start..end], &mut v);
        start = end;
    }
    v
}

/// `data` as consecutive records of at most `max_fragment` bytes.
pub fn records(content_type: u8, version: u16, data: &[u8], max_fragment: usize) -> Vec<u8> {
    let offsets: Vec<usize> =
        (1..data.len().div_ceil(max_fragment)).map(|k| k * max_fragment).collect();
    records_split_at(content_type, version, data, &offsets)
}

/// A handshake message: type, 24-bit length, body.
pub fn handshake_message(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + body.len());
    v.push(msg_type);
    v.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    v.extend_from_slice(body);
    v
}

/// A ChangeCipherSpec record.
pub fn change_cipher_spec() -> Vec<u8> {
    record(content_type::CHANGE_CIPHER_SPEC, version::TLS12, &[1])
}

/// An alert record (level 1 warning / 2 fatal; description e.g. 0 close_notify).
pub fn alert(level: u8, description: u8) -> Vec<u8> {
    record(content_type::ALERT, version::TLS12, &[level, description])
}

/// A fake encrypted application-data record carrying `len` pseudo-random bytes.
pub fn application_data(len: usize, rng: &mut Rng) -> Vec<u8> {
    let mut v = Vec::with_capacity(5 + len);
    v.extend_from_slice(&[content_type::APPLICATION_DATA, 0x03, 0x03]);
    v.extend_from_slice(&(len as u16).to_be_bytes());
    v.resize(5 + len, 0);
    rng.fill(&mut v[5..]);
    v
}

/// `total` bytes of fake application data as records of at most `max_record` (≤ 16640) bytes
/// of ciphertext each.
pub fn application_data_stream(total: usize, max_record: usize, rng: &mut Rng) -> Vec<u8> {
    let mut v = Vec::with_capacity(total + 5 * total.div_ceil(max_record));
    let mut left = total;
    while left > 0 {
        let n = left.min(max_record);
        v.extend_from_slice(&application_data(n, rng));
        left -= n;
    }
    v
}

fn push_u16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_be_bytes());
}

fn push_ext(v: &mut Vec<u8>, ty: u16, data: &[u8]) {
    push_u16(v, ty);
    push_u16(v, data.len() as u16);
    v.extend_from_slice(data);
}

/// Encodes an ALPN extension body (list of length-prefixed names).
pub fn alpn_body(protocols: &[String]) -> Vec<u8> {
    let list: usize = protocols.iter().map(|p| 1 + p.len()).sum();
    let mut b = Vec::with_capacity(2 + list);
    push_u16(&mut b, list as u16);
    for p in protocols {
        b.push(p.len() as u8);
        b.extend_from_slice(p.as_bytes());
    }
    b
}

/// A ClientHello. Field defaults model a current mobile TLS stack; every field is public.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientHello {
    /// Server name for the SNI extension (`None`: no SNI extension).
    pub sni: Option<String>,
    /// ALPN protocols (empty: no ALPN extension).
    pub alpn: Vec<String>,
    /// supported_versions contents (`None`: no extension, a TLS 1.2-only hello).
    pub supported_versions: Option<Vec<u16>>,
    /// legacy_version field of the hello.
    pub legacy_version: u16,
    /// Version in the record header(s).
    pub record_version: u16,
    /// Client random.
    pub random: [u8; 32],
    /// Legacy session id (32 bytes in TLS 1.3 middlebox-compat mode, empty for QUIC).
    pub session_id: Vec<u8>,
    /// Offered cipher suites.
    pub cipher_suites: Vec<u16>,
    /// supported_groups contents.
    pub groups: Vec<u16>,
    /// key_share entries (group, key exchange bytes); empty: no extension.
    pub key_shares: Vec<(u16, Vec<u8>)>,
    /// quic_transport_parameters extension body, if any.
    pub quic_transport_parameters: Option<Vec<u8>>,
    /// Extra extensions appended (before padding) as (type, body).
    pub extra_extensions: Vec<(u16, Vec<u8>)>,
    /// Insert GREASE values in cipher suites, groups, versions and extensions.
    pub grease: bool,
    /// Pad the handshake message with a padding extension up to this many bytes, if shorter.
    pub pad_to: Option<usize>,
}

impl ClientHello {
    /// A TLS 1.3 + 1.2 hello for `sni` offering ALPN h2 and http/1.1, x25519 key share. Random,
    /// session id and key are derived from the name (deterministic).
    pub fn new(sni: &str) -> Self {
        let mut rng = Rng::from_str_seed(sni);
        Self {
            sni: Some(sni.to_string()),
            alpn: vec!["h2".into(), "http/1.1".into()],
            supported_versions: Some(vec![version::TLS13, version::TLS12]),
            legacy_version: version::TLS12,
            record_version: version::TLS10,
            random: rng.array(),
            session_id: rng.bytes(32),
            cipher_suites: DEFAULT_CIPHER_SUITES.to_vec(),
            groups: vec![0x001d, 0x0017, 0x0018],
            key_shares: vec![(0x001d, rng.bytes(32))],
            quic_transport_parameters: None,
            extra_extensions: Vec::new(),
            grease: false,
            pad_to: None,
        }
    }

    /// A TLS 1.2-only hello (no supported_versions, no key share).
    pub fn tls12(sni: &str) -> Self {
        Self {
            supported_versions: None,
            key_shares: Vec::new(),
            session_id: Vec::new(),
            cipher_suites: DEFAULT_CIPHER_SUITES[3..].to_vec(),
            ..Self::new(sni)
        }
    }

    /// A hello as carried in QUIC CRYPTO frames: TLS 1.3 only, empty session id, given ALPN and
    /// transport parameters (see [`crate::app::quic::transport_parameters`]).
    pub fn quic(sni: &str, alpn: &[&str], transport_parameters: Vec<u8>) -> Self {
        Self {
            supported_versions: Some(vec![version::TLS13]),
            session_id: Vec::new(),
            cipher_suites: vec![0x1301, 0x1302, 0x1303],
            alpn: alpn.iter().map(|s| s.to_string()).collect(),
            quic_transport_parameters: Some(transport_parameters),
            ..Self::new(sni)
        }
    }

    /// Sets the ALPN list.
    pub fn with_alpn(mut self, alpn: &[&str]) -> Self {
        self.alpn = alpn.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Removes the SNI extension.
    pub fn without_sni(mut self) -> Self {
        self.sni = None;
        self
    }

    /// Sets the supported_versions list.
    pub fn with_versions(mut self, versions: &[u16]) -> Self {
        self.supported_versions = Some(versions.to_vec());
        self
    }

    /// Turns GREASE on or off.
    pub fn with_grease(mut self, on: bool) -> Self {
        self.grease = on;
        self
    }

    /// Pads the handshake message to `len` bytes.
    pub fn padded_to(mut self, len: usize) -> Self {
        self.pad_to = Some(len);
        self
    }

    /// Adds an extension (type, body).
    pub fn with_extension(mut self, ty: u16, body: Vec<u8>) -> Self {
        self.extra_extensions.push((ty, body));
        self
    }

    fn extensions(&self) -> Vec<u8> {
        let mut e = Vec::with_capacity(512);
        if self.grease {
            push_ext(&mut e, GREASE, &[]);
        }
        if let Some(name) = &self.sni {
            let n = name.as_bytes();
            let mut b = Vec::with_capacity(5 + n.len());
            push_u16(&mut b, (3 + n.len()) as u16);
            b.push(0); // host_name
            push_u16(&mut b, n.len() as u16);
            b.extend_from_slice(n);
            push_ext(&mut e, ext::SERVER_NAME, &b);
        }
        push_ext(&mut e, ext::EXTENDED_MASTER_SECRET, &[]);
        push_ext(&mut e, ext::RENEGOTIATION_INFO, &[0]);
        let mut groups = Vec::new();
        if self.grease {
            groups.push(GREASE);
        }
        groups.extend_from_slice(&self.groups);
        let mut b = Vec::new();
        push_u16(&mut b, (2 * groups.len()) as u16);
        groups.iter().for_each(|g| push_u16(&mut b, *g));
        push_ext(&mut e, ext::SUPPORTED_GROUPS, &b);
        push_ext(&mut e, ext::EC_POINT_FORMATS, &[1, 0]);
        if self.quic_transport_parameters.is_none() {
            push_ext(&mut e, ext::SESSION_TICKET, &[]);
        }
        if !self.alpn.is_empty() {
            push_ext(&mut e, ext::ALPN, &alpn_body(&self.alpn));
        }
        push_ext(&mut e, ext::STATUS_REQUEST, &[1, 0, 0, 0, 0]);
        let sigs: [u16; 8] = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];
        let mut b = Vec::new();
        push_u16(&mut b, 16);
        sigs.iter().for_each(|s| push_u16(&mut b, *s));
        push_ext(&mut e, ext::SIGNATURE_ALGORITHMS, &b);
        push_ext(&mut e, ext::SCT, &[]);
        if !self.key_shares.is_empty() {
            let list: usize = self.key_shares.iter().map(|(_, k)| 4 + k.len()).sum();
            let mut b = Vec::with_capacity(2 + list);
            push_u16(&mut b, list as u16);
            for (g, k) in &self.key_shares {
                push_u16(&mut b, *g);
                push_u16(&mut b, k.len() as u16);
                b.extend_from_slice(k);
            }
            push_ext(&mut e, ext::KEY_SHARE, &b);
            push_ext(&mut e, ext::PSK_KEY_EXCHANGE_MODES, &[1, 1]);
        }
        if let Some(vs) = &self.supported_versions {
            let mut all = Vec::new();
            if self.grease {
                all.push(GREASE);
            }
            all.extend_from_slice(vs);
            let mut b = vec![(2 * all.len()) as u8];
            all.iter().for_each(|v| push_u16(&mut b, *v));
            push_ext(&mut e, ext::SUPPORTED_VERSIONS, &b);
        }
        if let Some(tp) = &self.quic_transport_parameters {
            push_ext(&mut e, ext::QUIC_TRANSPORT_PARAMETERS, tp);
        }
        for (ty, body) in &self.extra_extensions {
            push_ext(&mut e, *ty, body);
        }
        if self.grease {
            push_ext(&mut e, GREASE ^ 0x1010, &[0]);
        }
        e
    }

    /// The ClientHello body (after the 4-byte handshake header).
    pub fn body(&self) -> Vec<u8> {
        let mut exts = self.extensions();
        let mut suites = Vec::new();
        if self.grease {
            suites.push(GREASE);
        }
        suites.extend_from_slice(&self.cipher_suites);
        let fixed = 2 + 32 + 1 + self.session_id.len() + 2 + 2 * suites.len() + 2 + 2;
        if let Some(target) = self.pad_to {
            // Handshake length = 4 + fixed + exts; a padding extension costs 4 + n.
            let now = 4 + fixed + exts.len();
            if now + 4 <= target {
                push_ext(&mut exts, ext::PADDING, &vec![0; target - now - 4]);
            }
        }
        let mut b = Vec::with_capacity(fixed + exts.len());
        push_u16(&mut b, self.legacy_version);
        b.extend_from_slice(&self.random);
        b.push(self.session_id.len() as u8);
        b.extend_from_slice(&self.session_id);
        push_u16(&mut b, (2 * suites.len()) as u16);
        suites.iter().for_each(|s| push_u16(&mut b, *s));
        b.extend_from_slice(&[1, 0]); // compression methods: null
        push_u16(&mut b, exts.len() as u16);
        b.extend_from_slice(&exts);
        b
    }

    /// The handshake message (type 1, 24-bit length, body), as carried in records or CRYPTO
    /// frames.
    pub fn handshake_bytes(&self) -> Vec<u8> {
        handshake_message(handshake_type::CLIENT_HELLO, &self.body())
    }

    /// The hello in a single handshake record.
    pub fn record(&self) -> Vec<u8> {
        record(content_type::HANDSHAKE, self.record_version, &self.handshake_bytes())
    }

    /// The hello split over records of at most `max_fragment` bytes each.
    pub fn records(&self, max_fragment: usize) -> Vec<u8> {
        records(content_type::HANDSHAKE, self.record_version, &self.handshake_bytes(), max_fragment)
    }

    /// The hello split over records at the given offsets of the handshake message.
    pub fn records_split_at(&self, offsets: &[usize]) -> Vec<u8> {
        records_split_at(
            content_type::HANDSHAKE,
            self.record_version,
            &self.handshake_bytes(),
            offsets,
        )
    }
}

/// A ServerHello.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerHello {
    /// Selected version: TLS 1.3 is signalled via supported_versions (legacy field 0x0303).
    pub version: u16,
    /// Selected cipher suite.
    pub cipher_suite: u16,
    /// Server random.
    pub random: [u8; 32],
    /// Echoed session id.
    pub session_id: Vec<u8>,
    /// Selected ALPN (a TLS 1.2 ServerHello extension; TLS 1.3 sends it encrypted).
    pub alpn: Option<String>,
    /// Key share (group, key) for TLS 1.3.
    pub key_share: Option<(u16, Vec<u8>)>,
}

impl ServerHello {
    /// A TLS 1.3 ServerHello (TLS_AES_128_GCM_SHA256, x25519), echoing `session_id`.
    pub fn tls13(session_id: &[u8]) -> Self {
        let mut rng = Rng::new(0x5e_4e_4e);
        Self {
            version: version::TLS13,
            cipher_suite: 0x1301,
            random: rng.array(),
            session_id: session_id.to_vec(),
            alpn: None,
            key_share: Some((0x001d, rng.bytes(32))),
        }
    }

    /// A TLS 1.2 ServerHello (ECDHE-RSA-AES128-GCM-SHA256) selecting `alpn`, if given.
    pub fn tls12(alpn: Option<&str>) -> Self {
        let mut rng = Rng::new(0x12);
        Self {
            version: version::TLS12,
            cipher_suite: 0xc02f,
            random: rng.array(),
            session_id: rng.bytes(32),
            alpn: alpn.map(str::to_string),
            key_share: None,
        }
    }

    /// The handshake message.
    pub fn handshake_bytes(&self) -> Vec<u8> {
        let mut exts = Vec::new();
        if self.version == version::TLS13 {
            push_ext(&mut exts, ext::SUPPORTED_VERSIONS, &version::TLS13.to_be_bytes());
            if let Some((g, k)) = &self.key_share {
                let mut b = Vec::new();
                push_u16(&mut b, *g);
                push_u16(&mut b, k.len() as u16);
                b.extend_from_slice(k);
                push_ext(&mut exts, ext::KEY_SHARE, &b);
            }
        } else {
            push_ext(&mut exts, ext::RENEGOTIATION_INFO, &[0]);
            push_ext(&mut exts, ext::EXTENDED_MASTER_SECRET, &[]);
            if let Some(a) = &self.alpn {
                push_ext(&mut exts, ext::ALPN, &alpn_body(std::slice::from_ref(a)));
            }
        }
        let mut b = Vec::new();
        push_u16(&mut b, version::TLS12.min(self.version));
        b.extend_from_slice(&self.random);
        b.push(self.session_id.len() as u8);
        b.extend_from_slice(&self.session_id);
        push_u16(&mut b, self.cipher_suite);
        b.push(0);
        push_u16(&mut b, exts.len() as u16);
        b.extend_from_slice(&exts);
        handshake_message(handshake_type::SERVER_HELLO, &b)
    }

    /// The ServerHello in one handshake record (record version 0x0303).
    pub fn record(&self) -> Vec<u8> {
        record(content_type::HANDSHAKE, version::TLS12, &self.handshake_bytes())
    }
}

#[cfg(test)]
mod tests;
