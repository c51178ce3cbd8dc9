//! TLS secrets: the NSS key log format (`SSLKEYLOGFILE`) and the store the decryptors look in.
//!
//! Format (NSS, also written by OpenSSL, BoringSSL, rustls, curl, browsers, mitmproxy, Frida
//! scripts, and carried in pcapng Decryption Secrets Blocks of type `TLSK`): one secret per line,
//! `LABEL <client random, 64 hex digits> <secret, hex>`. Labels read:
//! - `CLIENT_RANDOM`: the TLS 1.2 and earlier master secret (48 bytes);
//! - `CLIENT_EARLY_TRAFFIC_SECRET`, `CLIENT_HANDSHAKE_TRAFFIC_SECRET`,
//!   `SERVER_HANDSHAKE_TRAFFIC_SECRET`, `CLIENT_TRAFFIC_SECRET_0`, `SERVER_TRAFFIC_SECRET_0`,
//!   `EXPORTER_SECRET`, `EARLY_EXPORTER_SECRET`: TLS 1.3 (and QUIC) secrets of 32 or 48 bytes;
//! - `RSA Session-ID:<hex> Master-Key:<hex>` (Wireshark's older form): a master secret by
//!   session id.
//!
//! Blank lines and `#` comments are skipped, and so are lines with any other label (`RSA` with a
//! pre-master secret needs the server's private key, which we do not take). A line with a known
//! label but the wrong number of fields, bad hex or a wrong length is an error naming its line;
//! reading goes on with the next line. Lines end in LF or CRLF.
//!
//! Bounds: at most [`MAX_KEYS`] client randoms and as many session ids are held; further ones are
//! counted in [`KeyLog::capped`] and dropped. Secrets learned from decrypted handshakes for
//! resumption (TLS 1.2 session ids and tickets) are held up to [`MAX_RESUMPTION`], oldest first
//! out.

use std::collections::{HashMap, VecDeque};

/// Client randoms (and key-log session ids) held; ~100 bytes to ~400 bytes each.
pub const MAX_KEYS: usize = 250_000;
/// Master secrets remembered from decrypted TLS 1.2 sessions for resumption, by session id and
/// by ticket.
pub const MAX_RESUMPTION: usize = 16_384;
/// Longest key log line read (longer lines are errors).
pub const MAX_LINE: usize = 1024;
/// Errors kept per key log text (the rest are counted).
pub const MAX_ERRORS: usize = 20;

/// The TLS 1.2 master secret length.
pub const MASTER_LEN: usize = 48;

/// One secret of a TLS 1.3 key schedule (32 bytes for SHA-256 suites, 48 for SHA-384).
pub type Secret = Box<[u8]>;

/// Secrets of one connection, by client random.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// TLS 1.2 and earlier: the master secret.
    pub master: Option<[u8; MASTER_LEN]>,
    /// TLS 1.3 `CLIENT_EARLY_TRAFFIC_SECRET`.
    pub client_early: Option<Secret>,
    /// TLS 1.3 `CLIENT_HANDSHAKE_TRAFFIC_SECRET`.
    pub client_handshake: Option<Secret>,
    /// TLS 1.3 `SERVER_HANDSHAKE_TRAFFIC_SECRET`.
    pub server_handshake: Option<Secret>,
    /// TLS 1.3 `CLIENT_TRAFFIC_SECRET_0`.
    pub client_app: Option<Secret>,
    /// TLS 1.3 `SERVER_TRAFFIC_SECRET_0`.
    pub server_app: Option<Secret>,
}

/// A line of a key log that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong, for a person.
    pub reason: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// What reading one key log text gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadSummary {
    /// Secrets taken.
    pub secrets: usize,
    /// Lines skipped: blank, comments, other labels.
    pub skipped: usize,
    /// Malformed lines, the first [`MAX_ERRORS`].
    pub errors: Vec<LineError>,
    /// Malformed lines in all.
    pub error_count: usize,
}

/// Every secret known to a run: from `--keylog` files and from Decryption Secrets Blocks met in
/// the captures, in the order read.
#[derive(Debug, Default)]
pub struct KeyLog {
    by_random: HashMap<[u8; 32], Secrets>,
    by_session_id: HashMap<Vec<u8>, [u8; MASTER_LEN]>,
    learned: HashMap<Vec<u8>, [u8; MASTER_LEN]>,
    learned_order: VecDeque<Vec<u8>>,
    capped: u64,
    /// Secrets may still arrive (a capture with Decryption Secrets Blocks is being read).
    streaming: bool,
    /// The decryptors' memory budget.
    budget: super::decrypt::Budget,
}

/// The labels we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    ClientRandom,
    ClientEarly,
    ClientHandshake,
    ServerHandshake,
    ClientApp,
    ServerApp,
    /// Read and checked, not used (exporters derive nothing we decrypt).
    Exporter,
}

impl Label {
    fn parse(s: &[u8]) -> Option<Self> {
        Some(match s {
            b"CLIENT_RANDOM" => Self::ClientRandom,
            b"CLIENT_EARLY_TRAFFIC_SECRET" => Self::ClientEarly,
            b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" => Self::ClientHandshake,
            b"SERVER_HANDSHAKE_TRAFFIC_SECRET" => Self::ServerHandshake,
            b"CLIENT_TRAFFIC_SECRET_0" => Self::ClientApp,
            b"SERVER_TRAFFIC_SECRET_0" => Self::ServerApp,
            b"EXPORTER_SECRET" | b"EARLY_EXPORTER_SECRET" => Self::Exporter,
            _ => return None,
        })
    }
}

/// Hex digits to bytes; `None` on an odd length or a non-hex digit.
pub(crate) fn unhex(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    s.chunks_exact(2).map(|p| Some(digit(p[0])? << 4 | digit(p[1])?)).collect()
}

impl KeyLog {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// True when no secret is held (then no TLS flow is looked into, at no cost).
    pub fn is_empty(&self) -> bool {
        self.by_random.is_empty() && self.by_session_id.is_empty() && !self.streaming
    }

    /// The run-wide memory budget of the decryptors using these secrets.
    pub fn budget(&self) -> &super::decrypt::Budget {
        &self.budget
    }

    /// Client randoms held.
    pub fn len(&self) -> usize {
        self.by_random.len()
    }

    /// Secrets dropped because [`MAX_KEYS`] was reached.
    pub fn capped(&self) -> u64 {
        self.capped
    }

    /// Marks that secrets may still arrive later in the input (a pcapng with Decryption Secrets
    /// Blocks): decryptors then hold a bounded amount of ciphertext while waiting for them.
    pub fn set_streaming(&mut self, on: bool) {
        self.streaming = on;
    }

    /// True when secrets may still arrive.
    pub fn streaming(&self) -> bool {
        self.streaming
    }

    /// The secrets of the connection with this client random.
    pub fn get(&self, client_random: &[u8; 32]) -> Option<&Secrets> {
        self.by_random.get(client_random)
    }

    /// A TLS 1.2 master secret by session id (key log `RSA Session-ID` lines or sessions decrypted
    /// earlier) or by session ticket (sessions decrypted earlier).
    pub fn resumed(&self, id: &[u8]) -> Option<&[u8; MASTER_LEN]> {
        if id.is_empty() {
            return None;
        }
        self.by_session_id.get(id).or_else(|| self.learned.get(id))
    }

    /// Remembers the master secret of a decrypted TLS 1.2 session under its session id or ticket,
    /// for a later abbreviated handshake.
    pub fn learn(&mut self, id: &[u8], master: &[u8; MASTER_LEN]) {
        if id.is_empty() || self.learned.contains_key(id) {
            return;
        }
        if self.learned.len() >= MAX_RESUMPTION
            && let Some(old) = self.learned_order.pop_front()
        {
            self.learned.remove(&old);
        }
        self.learned.insert(id.to_vec(), *master);
        self.learned_order.push_back(id.to_vec());
    }

    /// Reads a key log text (a file's content or a Decryption Secrets Block's payload).
    pub fn read(&mut self, text: &[u8]) -> ReadSummary {
        let mut sum = ReadSummary::default();
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            match self.line(line) {
                Ok(true) => sum.secrets += 1,
                Ok(false) => sum.skipped += 1,
                Err(reason) => {
                    sum.error_count += 1;
                    if sum.errors.len() < MAX_ERRORS {
                        sum.errors.push(LineError { line: i + 1, reason });
                    }
                }
            }
        }
        // A text ending in a newline has an empty last "line": not a skipped line.
        if text.ends_with(b"\n") || text.is_empty() {
            sum.skipped = sum.skipped.saturating_sub(1);
        }
        sum
    }

    /// One line: `Ok(true)` a secret taken, `Ok(false)` skipped.
    fn line(&mut self, line: &[u8]) -> Result<bool, String> {
        if line.len() > MAX_LINE {
            return Err(format!("longer than {MAX_LINE} bytes"));
        }
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() || trimmed.starts_with(b"#") {
            return Ok(false);
        }
        let mut fields = trimmed.split(u8::is_ascii_whitespace).filter(|f| !f.is_empty());
        let label_raw = fields.next().unwrap_or_default();
        if label_raw == b"RSA"
            && let Some(sid) = trimmed.get(4..).and_then(|r| r.strip_prefix(b"Session-ID:"))
        {
            return self.rsa_session_line(sid);
        }
        let Some(label) = Label::parse(label_raw) else { return Ok(false) };
        let name = String::from_utf8_lossy(label_raw).into_owned();
        let (Some(random), Some(secret), None) = (fields.next(), fields.next(), fields.next())
        else {
            return Err(format!("{name} needs exactly two fields: client random and secret"));
        };
        let random: [u8; 32] = unhex(random)
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| format!("{name}: the client random is not 64 hex digits"))?;
        let secret = unhex(secret).ok_or_else(|| format!("{name}: the secret is not hex"))?;
        if label == Label::ClientRandom && secret.len() != MASTER_LEN {
            return Err(format!(
                "CLIENT_RANDOM: the master secret has {} bytes, not {MASTER_LEN}",
                secret.len()
            ));
        }
        if label != Label::ClientRandom && !matches!(secret.len(), 32 | 48) {
            return Err(format!("{name}: a secret of {} bytes (32 or 48 expected)", secret.len()));
        }
        if label == Label::Exporter {
            return Ok(true);
        }
        let full = self.by_random.len() >= MAX_KEYS;
        let Some(entry) = (match self.by_random.get_mut(&random) {
            Some(e) => Some(e),
            None if full => None,
            None => Some(self.by_random.entry(random).or_default()),
        }) else {
            self.capped += 1;
            return Ok(true);
        };
        let secret: Secret = secret.into_boxed_slice();
        match label {
            Label::ClientRandom => {
                entry.master = secret.as_ref().try_into().ok();
            }
            Label::ClientEarly => entry.client_early = Some(secret),
            Label::ClientHandshake => entry.client_handshake = Some(secret),
            Label::ServerHandshake => entry.server_handshake = Some(secret),
            Label::ClientApp => entry.client_app = Some(secret),
            Label::ServerApp => entry.server_app = Some(secret),
            Label::Exporter => {}
        }
        Ok(true)
    }

    /// `RSA Session-ID:<hex> Master-Key:<hex>` (after `Session-ID:`).
    fn rsa_session_line(&mut self, rest: &[u8]) -> Result<bool, String> {
        let mut parts = rest.split(u8::is_ascii_whitespace).filter(|f| !f.is_empty());
        let (Some(sid), Some(mk), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err("RSA Session-ID needs a session id and a Master-Key field".into());
        };
        let sid = unhex(sid)
            .filter(|s| !s.is_empty() && s.len() <= 32)
            .ok_or("RSA Session-ID: the session id is not 1 to 32 bytes of hex")?;
        let mk: [u8; MASTER_LEN] = mk
            .strip_prefix(b"Master-Key:")
            .and_then(unhex)
            .and_then(|m| m.try_into().ok())
            .ok_or("RSA Session-ID: Master-Key is not 48 bytes of hex")?;
        if self.by_session_id.len() >= MAX_KEYS && !self.by_session_id.contains_key(&sid) {
            self.capped += 1;
        } else {
            self.by_session_id.insert(sid, mk);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CR: &str = "0102030405060708091011121314151617181920212223242526272829303132";

    #[test]
    fn reads_every_label_and_skips_the_rest() {
        let s32 = "aa".repeat(32);
        let s48 = "bb".repeat(48);
        let text = format!(
            "# a comment\n\nCLIENT_RANDOM {CR} {s48}\r\nCLIENT_HANDSHAKE_TRAFFIC_SECRET {CR} {s32}\n\
             SERVER_HANDSHAKE_TRAFFIC_SECRET {CR} {s48}\nCLIENT_TRAFFIC_SECRET_0 {CR} {s32}\n\
             SERVER_TRAFFIC_SECRET_0 {CR} {s32}\nEXPORTER_SECRET {CR} {s32}\n\
             CLIENT_EARLY_TRAFFIC_SECRET {CR} {s32}\nRSA 0011 2233\nFUTURE_LABEL x y z\n"
        );
        let mut k = KeyLog::new();
        let sum = k.read(text.as_bytes());
        assert_eq!(sum.errors, vec![]);
        assert_eq!(sum.secrets, 7);
        assert_eq!(sum.skipped, 4);
        let random: [u8; 32] = unhex(CR.as_bytes()).unwrap().try_into().unwrap();
        let s = k.get(&random).unwrap();
        assert_eq!(s.master, Some([0xbb; 48]));
        assert_eq!(s.server_handshake.as_deref(), Some(&[0xbb; 48][..]));
        assert_eq!(s.client_app.as_deref(), Some(&[0xaa; 32][..]));
        assert!(s.client_early.is_some() && s.client_handshake.is_some());
        assert!(!k.is_empty());
    }

    #[test]
    fn malformed_lines_name_their_line_and_do_not_stop_reading() {
        let good = format!("CLIENT_RANDOM {CR} {}", "cc".repeat(48));
        let text = format!(
            "CLIENT_RANDOM {CR}\nCLIENT_RANDOM zz{} {}\nCLIENT_RANDOM {CR} abc\n{good}\n\
             CLIENT_RANDOM {CR} {}\nSERVER_TRAFFIC_SECRET_0 {CR} {}\n",
            &CR[2..],
            "cc".repeat(48),
            "cc".repeat(47),
            "dd".repeat(20),
        );
        let mut k = KeyLog::new();
        let sum = k.read(text.as_bytes());
        let lines: Vec<usize> = sum.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 5, 6]);
        assert_eq!(sum.secrets, 1);
        assert!(sum.errors[1].reason.contains("client random"), "{:?}", sum.errors[1]);
        assert_eq!(k.len(), 1);
    }

    #[test]
    fn rsa_session_id_lines() {
        let text = format!("RSA Session-ID:{} Master-Key:{}\n", "0a".repeat(32), "0b".repeat(48));
        let mut k = KeyLog::new();
        assert_eq!(k.read(text.as_bytes()).secrets, 1);
        assert_eq!(k.resumed(&[0x0a; 32]), Some(&[0x0b; 48]));
        assert_eq!(k.resumed(&[]), None);
        let bad = k.read(b"RSA Session-ID:0a Master-Key:00\n");
        assert_eq!(bad.error_count, 1);
    }

    #[test]
    fn learned_resumption_secrets_are_bounded() {
        let mut k = KeyLog::new();
        for i in 0..(MAX_RESUMPTION + 10) as u32 {
            k.learn(&i.to_be_bytes(), &[1; 48]);
        }
        assert_eq!(k.resumed(&0u32.to_be_bytes()), None);
        assert!(k.resumed(&((MAX_RESUMPTION + 9) as u32).to_be_bytes()).is_some());
    }

    #[test]
    fn hostile_text_never_panics() {
        let mut k = KeyLog::new();
        for text in
            [&b"\xff\xfe\n\n\r"[..], b"CLIENT_RANDOM", b"RSA", b"RSA Session-ID:", &[0; 5000]]
        {
            let _ = k.read(text);
        }
        let long = format!("CLIENT_RANDOM {CR} {}", "a".repeat(MAX_LINE));
        assert_eq!(k.read(long.as_bytes()).error_count, 1);
    }
}
