//! How the traffic to a destination was protected on the wire.
//!
//! Contract:
//! - Each flow gets one [`Protection`] when it ends, from what the parsers recognised: HTTP in the
//!   clear, another cleartext protocol (DNS, a TLS NULL cipher, an unknown protocol that does not
//!   look encrypted), TLS (with the version the server chose, when its ServerHello was seen), QUIC,
//!   or an unknown protocol whose bytes look encrypted ([`EntropyMeter`]).
//! - A destination's protection is the weakest of its flows' ([`Protection::weakest`]).
//! - [`Protection::is_encrypted`] is what the JSON `encrypted` fields say: TLS (any version),
//!   QUIC and unknown-encrypted are encrypted; TLS 1.0/1.1 and SSL are also
//!   [`Protection::is_weak`].
//! - The entropy sample is bounded: the first [`ENTROPY_SAMPLE`] bytes of a flow (both directions)
//!   are counted; a flow with fewer than [`ENTROPY_MIN_BYTES`] is judged cleartext.

use std::borrow::Cow;

use pipeline::output::tls_version_name;
use proto::AppProto;

/// Bytes of an unknown-protocol flow counted for the entropy measure.
pub const ENTROPY_SAMPLE: usize = 4096;
/// Fewest bytes for which entropy says anything; shorter flows are taken as cleartext.
pub const ENTROPY_MIN_BYTES: usize = 64;
/// Entropy, as a share of the most a sample of that size can have (`log2(min(n, 256))` bits per
/// byte), from which bytes are taken as encrypted (or compressed: entropy cannot tell).
/// Random bytes score 0.95–1.0, text 0.6–0.8, binary protocols with text fields 0.7–0.85.
pub const ENTROPY_ENCRYPTED_SHARE: f64 = 0.9;

/// The protection of a flow or destination, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Protection {
    /// HTTP without TLS.
    CleartextHttp,
    /// Another protocol readable on the wire: DNS, a TLS NULL cipher, an unknown protocol whose
    /// bytes do not look encrypted.
    #[default]
    Cleartext,
    /// TLS; `version` is the one the server chose (`0x0303` = TLS 1.2), `None` when no ServerHello
    /// was seen. Ordered by version, so 1.0 is weaker than 1.3.
    Tls {
        /// The negotiated version.
        version: Option<u16>,
    },
    /// QUIC (TLS 1.3 inside).
    Quic,
    /// An unknown protocol whose bytes look random ([`EntropyMeter`]).
    EncryptedUnknown,
}

impl Protection {
    /// The protection of one flow. `entropy_encrypted` is the [`EntropyMeter`] verdict, used only
    /// for unknown protocols.
    pub fn of_flow(
        protocol: AppProto,
        encrypted: bool,
        tls_version: Option<u16>,
        entropy_encrypted: bool,
    ) -> Self {
        match protocol {
            AppProto::Http => Self::CleartextHttp,
            AppProto::Tls if encrypted => Self::Tls { version: tls_version },
            AppProto::Quic if encrypted => Self::Quic,
            AppProto::Other | AppProto::Unknown if entropy_encrypted => Self::EncryptedUnknown,
            _ => Self::Cleartext,
        }
    }

    /// The weaker of two (TLS 1.0 is weaker than TLS 1.3; cleartext HTTP is the weakest).
    pub fn weakest(self, other: Self) -> Self {
        if other.rank() < self.rank() { other } else { self }
    }

    /// Strength, weakest lowest: cleartext HTTP, cleartext, TLS by version (of unknown version
    /// the weakest TLS: nothing proves it is better), QUIC, encrypted of an unknown protocol.
    pub fn rank(self) -> (u8, u16) {
        match self {
            Self::CleartextHttp => (0, 0),
            Self::Cleartext => (1, 0),
            Self::Tls { version } => (2, version.unwrap_or(0)),
            Self::Quic => (3, 0),
            Self::EncryptedUnknown => (4, 0),
        }
    }

    /// Back from the report's JSON: [`Protection::kind`] and the TLS version's name (`TLS 1.2`,
    /// or hex as `0x7f1c`); `None` for a kind it does not know.
    pub fn parse(kind: &str, version: Option<&str>) -> Option<Self> {
        Some(match kind {
            "cleartext-http" => Self::CleartextHttp,
            "cleartext" => Self::Cleartext,
            "quic" => Self::Quic,
            "encrypted-unknown" => Self::EncryptedUnknown,
            "tls" => Self::Tls {
                version: version.and_then(|v| match v {
                    "SSL 2.0" => Some(0x0002),
                    "SSL 3.0" => Some(0x0300),
                    "TLS 1.0" => Some(0x0301),
                    "TLS 1.1" => Some(0x0302),
                    "TLS 1.2" => Some(0x0303),
                    "TLS 1.3" => Some(0x0304),
                    hex => u16::from_str_radix(hex.strip_prefix("0x")?, 16).ok(),
                }),
            },
            _ => return None,
        })
    }

    /// True when the payload was encrypted (TLS of any version, QUIC, unknown-encrypted).
    pub fn is_encrypted(self) -> bool {
        matches!(self, Self::Tls { .. } | Self::Quic | Self::EncryptedUnknown)
    }

    /// True for SSL 3.0, TLS 1.0 and TLS 1.1 (deprecated by RFC 8996).
    pub fn is_weak(self) -> bool {
        matches!(self, Self::Tls { version: Some(v) } if v < 0x0303)
    }

    /// Machine name, as in JSON: `cleartext-http`, `cleartext`, `tls`, `quic`,
    /// `encrypted-unknown`.
    pub fn kind(self) -> &'static str {
        match self {
            Self::CleartextHttp => "cleartext-http",
            Self::Cleartext => "cleartext",
            Self::Tls { .. } => "tls",
            Self::Quic => "quic",
            Self::EncryptedUnknown => "encrypted-unknown",
        }
    }

    /// The TLS version as text (`TLS 1.2`; hex for versions no standard names), when known.
    pub fn version(self) -> Option<Cow<'static, str>> {
        match self {
            Self::Tls { version: Some(v) } => Some(tls_version_name(v)),
            _ => None,
        }
    }

    /// For people: `cleartext HTTP`, `TLS 1.0 (weak)`, `QUIC`, `encrypted (unknown protocol)`.
    pub fn label(self) -> String {
        match self {
            Self::CleartextHttp => "cleartext HTTP".into(),
            Self::Cleartext => "cleartext".into(),
            Self::Tls { version: None } => "TLS".into(),
            Self::Tls { version: Some(v) } if self.is_weak() => {
                format!("{} (weak)", tls_version_name(v))
            }
            Self::Tls { version: Some(v) } => tls_version_name(v).into(),
            Self::Quic => "QUIC".into(),
            Self::EncryptedUnknown => "encrypted (unknown protocol)".into(),
        }
    }
}

/// Byte histogram of the first [`ENTROPY_SAMPLE`] bytes of a flow.
#[derive(Debug, Clone)]
pub struct EntropyMeter {
    counts: [u32; 256],
    n: usize,
}

impl Default for EntropyMeter {
    fn default() -> Self {
        Self { counts: [0; 256], n: 0 }
    }
}

impl EntropyMeter {
    /// Counts the bytes of `data` until the sample is full.
    pub fn feed(&mut self, data: &[u8]) {
        let take = data.len().min(ENTROPY_SAMPLE - self.n);
        for &b in &data[..take] {
            self.counts[usize::from(b)] += 1;
        }
        self.n += take;
    }

    /// True once the sample is full (further bytes are ignored).
    pub fn is_full(&self) -> bool {
        self.n >= ENTROPY_SAMPLE
    }

    /// Shannon entropy of the sample, in bits per byte.
    pub fn entropy(&self) -> f64 {
        if self.n == 0 {
            return 0.0;
        }
        let n = self.n as f64;
        self.counts
            .iter()
            .filter(|&&c| c > 0)
            .map(|&c| {
                let p = f64::from(c) / n;
                -p * p.log2()
            })
            .sum()
    }

    /// True when the sample is large enough and its entropy at least
    /// [`ENTROPY_ENCRYPTED_SHARE`] of the most it could be.
    pub fn looks_encrypted(&self) -> bool {
        if self.n < ENTROPY_MIN_BYTES {
            return false;
        }
        let max = (self.n.min(256) as f64).log2();
        self.entropy() >= ENTROPY_ENCRYPTED_SHARE * max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meter(data: &[u8]) -> EntropyMeter {
        let mut m = EntropyMeter::default();
        m.feed(data);
        m
    }

    /// Deterministic pseudo-random bytes (xorshift), standing in for ciphertext.
    fn noise(n: usize) -> Vec<u8> {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn random_bytes_look_encrypted_and_text_does_not() {
        for n in [64, 100, 300, 1000, 5000] {
            assert!(meter(&noise(n)).looks_encrypted(), "{n} random bytes");
        }
        let text = b"POST /v1/register HTTP/1.1\r\nHost: api.example.com\r\n\r\nimei=865123045678905&model=Redmi+1S&lang=zh_TW&ts=1400000000 ".repeat(20);
        assert!(!meter(&text).looks_encrypted());
        // A binary protocol with small integers and strings.
        let tlv: Vec<u8> =
            (0u32..600).flat_map(|i| [1, (i % 7) as u8, b'a' + (i % 26) as u8]).collect();
        assert!(!meter(&tlv).looks_encrypted());
        // Too short to judge.
        assert!(!meter(&noise(ENTROPY_MIN_BYTES - 1)).looks_encrypted());
        assert_eq!(meter(&[]).entropy(), 0.0);
    }

    #[test]
    fn the_sample_is_bounded_and_split_feeding_is_the_same() {
        let data = noise(ENTROPY_SAMPLE * 2);
        let whole = meter(&data);
        assert!(whole.is_full());
        let mut parts = EntropyMeter::default();
        for c in data.chunks(37) {
            parts.feed(c);
        }
        assert_eq!(parts.counts, whole.counts);
        assert_eq!(parts.n, ENTROPY_SAMPLE);
    }

    #[test]
    fn protection_of_a_flow() {
        use AppProto::*;
        assert_eq!(Protection::of_flow(Http, false, None, false), Protection::CleartextHttp);
        assert_eq!(Protection::of_flow(Dns, false, None, true), Protection::Cleartext);
        assert_eq!(
            Protection::of_flow(Tls, true, Some(0x0301), false),
            Protection::Tls { version: Some(0x0301) }
        );
        // A TLS NULL cipher is readable.
        assert_eq!(Protection::of_flow(Tls, false, Some(0x0303), false), Protection::Cleartext);
        assert_eq!(Protection::of_flow(Quic, true, None, false), Protection::Quic);
        assert_eq!(Protection::of_flow(Other, false, None, true), Protection::EncryptedUnknown);
        assert_eq!(Protection::of_flow(Other, false, None, false), Protection::Cleartext);
    }

    #[test]
    fn weakest_weak_and_labels() {
        let t10 = Protection::Tls { version: Some(0x0301) };
        let t13 = Protection::Tls { version: Some(0x0304) };
        assert_eq!(t13.weakest(t10), t10);
        assert_eq!(t10.weakest(t13), t10);
        assert_eq!(Protection::Quic.weakest(Protection::CleartextHttp), Protection::CleartextHttp);
        assert_eq!(
            Protection::Tls { version: None }.weakest(t13),
            Protection::Tls { version: None }
        );
        assert!(t10.is_weak() && t10.is_encrypted() && !t13.is_weak());
        assert!(!Protection::Cleartext.is_encrypted());
        assert!(Protection::EncryptedUnknown.is_encrypted());
        assert_eq!(t10.label(), "TLS 1.0 (weak)");
        assert_eq!(t13.label(), "TLS 1.3");
        assert_eq!(t13.version().as_deref(), Some("TLS 1.3"));
        assert_eq!(Protection::CleartextHttp.kind(), "cleartext-http");
        for p in [
            Protection::CleartextHttp,
            Protection::Cleartext,
            Protection::Tls { version: None },
            Protection::Tls { version: Some(0x0301) },
            Protection::Tls { version: Some(0x0304) },
            Protection::Tls { version: Some(0x7f1c) },
            Protection::Quic,
            Protection::EncryptedUnknown,
        ] {
            assert_eq!(Protection::parse(p.kind(), p.version().as_deref()), Some(p), "{p:?}");
        }
        assert_eq!(Protection::parse("carrier-pigeon", None), None);
    }
}
