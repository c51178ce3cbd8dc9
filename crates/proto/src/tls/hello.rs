//! ClientHello / ServerHello body parsers (pure functions over bytes).
//!
//! Own parser, not tls-parser: we need three extensions (server_name, ALPN, supported_versions)
//! and skip every other extension by its length, so an extension that a stricter parser rejects
//! (key_share with GREASE groups, quic_transport_parameters, ECH, padding...) cannot hide the SNI.
//! The outer structure is fully recognised before anything is used ("full recognition before
//! processing"): every length must fit exactly, otherwise the whole hello is malformed.

use super::reader::Reader;
use crate::ClientHello;

/// Extension type: server_name (RFC 6066).
const EXT_SERVER_NAME: u16 = 0;
/// Extension type: application_layer_protocol_negotiation (RFC 7301).
const EXT_ALPN: u16 = 16;
/// Extension type: supported_versions (RFC 8446 §4.2.1).
const EXT_SUPPORTED_VERSIONS: u16 = 43;
/// server_name NameType host_name.
const NAME_TYPE_HOST: u8 = 0;
/// Longest legacy session id (RFC 8446 §4.1.2).
const MAX_SESSION_ID: usize = 32;
/// ALPN names kept per ClientHello (browsers offer 2 or 3); later ones are ignored.
pub const MAX_ALPN: usize = 32;

/// `ServerHello.random` of a HelloRetryRequest: SHA-256("HelloRetryRequest"), RFC 8446 §4.1.3.
pub(crate) const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// True for GREASE values 0x?a?a (RFC 8701 reserves 0x0a0a, 0x1a1a, ... 0xfafa).
pub(crate) fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a
}

/// What a ServerHello says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ServerHelloInfo {
    /// Selected version: supported_versions if present, else legacy server_version.
    pub(crate) version: u16,
    /// The ServerHello is a HelloRetryRequest.
    pub(crate) hrr: bool,
    /// The chosen cipher suite.
    pub(crate) suite: u16,
}

/// Parses a ClientHello handshake body (after the 4-byte handshake header).
pub(crate) fn client_hello(body: &[u8]) -> Option<ClientHello> {
    let mut r = Reader::new(body);
    let legacy_version = r.u16()?;
    r.skip(32)?; // random
    if r.u8_prefixed()?.len() > MAX_SESSION_ID {
        return None;
    }
    let suites = r.u16_prefixed()?;
    if suites.is_empty() || suites.len() % 2 != 0 {
        return None;
    }
    if r.u8_prefixed()?.is_empty() {
        return None; // at least the null compression method
    }
    let mut hello = ClientHello::default();
    let mut versions = None;
    if !r.is_empty() {
        let mut exts = Reader::new(r.u16_prefixed()?);
        if !r.is_empty() {
            return None; // trailing bytes after the extensions
        }
        // Duplicate extensions are forbidden (RFC 8446 §4.2); the first one counts.
        let (mut seen_sni, mut seen_alpn) = (false, false);
        while !exts.is_empty() {
            let typ = exts.u16()?;
            let data = exts.u16_prefixed()?;
            match typ {
                EXT_SERVER_NAME if !seen_sni => {
                    seen_sni = true;
                    hello.sni = server_name(data)?;
                }
                EXT_ALPN if !seen_alpn => {
                    seen_alpn = true;
                    hello.alpn = alpn(data)?;
                }
                EXT_SUPPORTED_VERSIONS if versions.is_none() => {
                    versions = Some(supported_versions(data)?);
                }
                _ => {}
            }
        }
    }
    hello.versions = match versions {
        Some(v) if !v.is_empty() => v,
        _ => vec![legacy_version],
    };
    Some(hello)
}

/// server_name extension data: the first non-empty host_name, normalised. An empty extension
/// (no list) gives no name.
fn server_name(data: &[u8]) -> Option<Option<String>> {
    if data.is_empty() {
        return Some(None);
    }
    let mut r = Reader::new(data);
    let mut list = Reader::new(r.u16_prefixed()?);
    if !r.is_empty() {
        return None;
    }
    let mut name = None;
    while !list.is_empty() {
        let typ = list.u8()?;
        let host = list.u16_prefixed()?;
        if typ == NAME_TYPE_HOST && name.is_none() {
            name = normalize_name(host);
        }
    }
    Some(name)
}

/// ALPN extension data: protocol names in order (at most [`MAX_ALPN`]); empty names skipped.
fn alpn(data: &[u8]) -> Option<Vec<String>> {
    let mut r = Reader::new(data);
    let mut list = Reader::new(r.u16_prefixed()?);
    if !r.is_empty() {
        return None;
    }
    let mut names = Vec::new();
    while !list.is_empty() {
        let name = list.u8_prefixed()?;
        if !name.is_empty() && names.len() < MAX_ALPN {
            names.push(escape(name, false));
        }
    }
    Some(names)
}

/// ClientHello supported_versions data: a u8-prefixed list of u16, GREASE removed.
fn supported_versions(data: &[u8]) -> Option<Vec<u16>> {
    let mut r = Reader::new(data);
    let list = r.u8_prefixed()?;
    if !r.is_empty() || list.len() % 2 != 0 {
        return None;
    }
    Some(
        list.chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .filter(|&v| !is_grease(v))
            .collect(),
    )
}

/// Parses a ServerHello handshake body (after the 4-byte handshake header).
pub(crate) fn server_hello(body: &[u8]) -> Option<ServerHelloInfo> {
    let mut r = Reader::new(body);
    let legacy_version = r.u16()?;
    let random = r.take(32)?;
    let suite = if legacy_version >> 8 == 0x7f {
        // TLS 1.3 drafts before 22 (version 0x7fNN): no session id, no compression.
        r.u16()?
    } else {
        if r.u8_prefixed()?.len() > MAX_SESSION_ID {
            return None;
        }
        let suite = r.u16()?;
        r.skip(1)?; // compression_method
        suite
    };
    let mut info = ServerHelloInfo { version: legacy_version, hrr: random == HRR_RANDOM, suite };
    if !r.is_empty() {
        let mut exts = Reader::new(r.u16_prefixed()?);
        if !r.is_empty() {
            return None;
        }
        let mut seen = false;
        while !exts.is_empty() {
            let typ = exts.u16()?;
            let data = exts.u16_prefixed()?;
            if typ == EXT_SUPPORTED_VERSIONS && !seen {
                seen = true;
                let &[hi, lo] = data else { return None };
                info.version = u16::from_be_bytes([hi, lo]);
            }
        }
    }
    Some(info)
}

/// Parses an SSLv2-compatible CLIENT-HELLO body (after the 2-byte SSLv2 record header): offered
/// version only, no extensions, so no SNI (RFC 6101 Appendix E.2, RFC 5246 Appendix E.2).
pub(crate) fn sslv2_client_hello(body: &[u8]) -> Option<ClientHello> {
    let mut r = Reader::new(body);
    if r.u8()? != 1 {
        return None; // msg_type CLIENT-HELLO
    }
    let version = r.u16()?;
    let specs = usize::from(r.u16()?);
    let session_id = usize::from(r.u16()?);
    let challenge = usize::from(r.u16()?);
    if specs == 0 || specs % 3 != 0 || !(16..=32).contains(&challenge) {
        return None;
    }
    if specs + session_id + challenge != r.left() {
        return None;
    }
    Some(ClientHello { sni: None, alpn: Vec::new(), versions: vec![version] })
}

/// Bytes of an SSLv2 SERVER-HELLO body needed for its version: msg_type, session_id_hit,
/// certificate_type, server_version.
pub(crate) const SSLV2_SERVER_HELLO_PREFIX: usize = 5;

/// Version of an SSLv2 SERVER-HELLO from the first [`SSLV2_SERVER_HELLO_PREFIX`] body bytes
/// (RFC 6101 Appendix E: msg_type 4).
pub(crate) fn sslv2_server_version(prefix: &[u8]) -> Option<u16> {
    let mut r = Reader::new(prefix);
    if r.u8()? != 4 {
        return None;
    }
    r.skip(2)?;
    r.u16()
}

/// A server name as reported: one trailing dot removed, ASCII lower-cased, other bytes escaped.
/// `None` when nothing is left.
pub(crate) fn normalize_name(raw: &[u8]) -> Option<String> {
    let raw = raw.strip_suffix(b".").unwrap_or(raw);
    if raw.is_empty() {
        return None;
    }
    Some(escape(raw, true))
}

/// Printable ASCII kept (optionally lower-cased); `\`, space, controls and non-ASCII bytes
/// written as `\DDD` (decimal, as in DNS presentation format).
fn escape(raw: &[u8], lower: bool) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(raw.len());
    for &b in raw {
        if b.is_ascii_graphic() && b != b'\\' {
            s.push(char::from(if lower { b.to_ascii_lowercase() } else { b }));
        } else {
            let _ = write!(s, "\\{b:03}");
        }
    }
    s
}
