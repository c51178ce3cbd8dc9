//! HTTP archives as inputs: HAR 1.2 files (browser developer tools, Charles, Insomnia,
//! mitmproxy and PCAPdroid exports) and mitmproxy flow dumps (tnetstring, the versions current
//! mitmproxy writes), read into [`Exchange`]s: the request and response of one HTTP transaction,
//! as the same [`proto::HttpRequest`] / [`proto::HttpResponse`] a capture gives.
//!
//! Contract:
//! - [`sniff`] tells an archive from its first bytes (a capture's magic is never mistaken for
//!   one), so archives and captures mix freely on a command line.
//! - [`read`] takes the whole file (at most [`MAX_ARCHIVE_LEN`] bytes) and returns every exchange
//!   it could read; an entry that is broken is skipped and named in [`Archive::errors`] (entry
//!   index and why), a file that is not the format at all is an [`ArchiveError`] with the byte
//!   position where reading failed.
//! - Bodies: HAR `postData.text` (or its `params` as a form) and `content.text` (base64 when its
//!   `encoding` says so) are the decoded content, as the browser shows it; mitmproxy stores bodies
//!   as sent, so their `Content-Encoding` is undone as for a capture. Times come from the archive
//!   (`startedDateTime`, `timestamp_start`), never the clock.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use capture::Timestamp;
use proto::{HttpRequest, HttpResponse};

mod har;
mod mitm;
pub mod tnetstring;

/// Largest archive read, in bytes (a HAR is parsed whole).
pub const MAX_ARCHIVE_LEN: u64 = 512 << 20;
/// Entry errors kept per archive (the rest are counted).
pub const MAX_ERRORS: usize = 20;

/// Which archive format a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// HAR 1.2 (JSON).
    Har,
    /// mitmproxy flow dump (tnetstring records).
    Mitmproxy,
}

impl Kind {
    /// `har` or `mitmproxy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Har => "har",
            Self::Mitmproxy => "mitmproxy",
        }
    }
}

/// One HTTP transaction of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// 1-based entry number in the archive (what evidence points at instead of a frame).
    pub index: u64,
    /// When the request started.
    pub time: Timestamp,
    /// The client's address, when the archive has it.
    pub client: Option<SocketAddr>,
    /// The server's address: its IP when the archive has it (else unspecified), and the URL's port.
    pub server: SocketAddr,
    /// The request went over TLS (`https`, or a TLS server connection in a flow dump).
    pub tls: bool,
    /// The request.
    pub request: HttpRequest,
    /// The response, when there was one.
    pub response: Option<HttpResponse>,
    /// WebSocket messages recorded on the connection (HAR `_webSocketMessages`, mitmproxy
    /// `websocket.messages`), in order.
    pub websocket: Vec<WsMessage>,
}

/// A recorded WebSocket message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsMessage {
    /// Sent by the client (else received).
    pub from_client: bool,
    /// A text message (else binary).
    pub text: bool,
    /// The payload.
    pub data: Vec<u8>,
    /// When it was recorded (the exchange's time when the archive has none).
    pub time: Timestamp,
}

/// What reading an archive gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Archive {
    /// Exchanges in archive order.
    pub exchanges: Vec<Exchange>,
    /// Entries that could not be read: `(1-based entry, reason)`, the first [`MAX_ERRORS`].
    pub errors: Vec<(u64, String)>,
    /// Entries that could not be read, in all.
    pub error_count: u64,
}

impl Archive {
    fn error(&mut self, index: u64, why: impl Into<String>) {
        self.error_count += 1;
        if self.errors.len() < MAX_ERRORS {
            self.errors.push((index, why.into()));
        }
    }
}

/// The file could not be read as an archive at all.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Larger than [`MAX_ARCHIVE_LEN`].
    #[error("archive of {0} bytes is larger than the maximum {MAX_ARCHIVE_LEN}; not read")]
    TooLarge(u64),
    /// Not the format its first bytes promised.
    #[error("not a readable {kind} file: {reason} (at {position})")]
    Syntax {
        /// The format tried.
        kind: &'static str,
        /// Where reading failed: `line L, column C` (HAR) or `byte N` (mitmproxy).
        position: String,
        /// Why.
        reason: String,
    },
}

/// The archive kind of a file from its first bytes (at least 16 when the file has them), `None`
/// for anything else (captures included).
pub fn sniff(prefix: &[u8]) -> Option<Kind> {
    let p = prefix.strip_prefix(b"\xef\xbb\xbf").unwrap_or(prefix);
    let first = p.iter().position(|b| !b.is_ascii_whitespace()).map(|i| &p[i..])?;
    if first.starts_with(b"{") {
        return Some(Kind::Har);
    }
    // A tnetstring dict: digits, `:`, then the first key's length.
    let digits = first.iter().take_while(|b| b.is_ascii_digit()).count();
    (digits > 0 && digits <= 10 && first.get(digits) == Some(&b':')).then_some(Kind::Mitmproxy)
}

/// Reads a whole archive of kind `kind`.
///
/// # Errors
/// [`ArchiveError`] when the file is too large or not the format at all.
pub fn read(kind: Kind, data: &[u8]) -> Result<Archive, ArchiveError> {
    if data.len() as u64 > MAX_ARCHIVE_LEN {
        return Err(ArchiveError::TooLarge(data.len() as u64));
    }
    match kind {
        Kind::Har => har::read(data),
        Kind::Mitmproxy => mitm::read(data),
    }
}

/// The server address for `host` (an IP or a name) and `port`: the IP when it is one, else `ip`
/// (the archive's server address), else unspecified.
fn server_addr(host: &str, ip: Option<IpAddr>, port: u16) -> SocketAddr {
    let literal = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok();
    SocketAddr::new(ip.or(literal).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)), port)
}

/// Splits an absolute URL into (https, authority, origin-form target).
fn split_url(url: &str) -> Option<(bool, &str, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let tls = match scheme.to_ascii_lowercase().as_str() {
        "https" | "wss" => true,
        "http" | "ws" => false,
        _ => return None,
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let mut target = rest[end..].split('#').next().unwrap_or_default().to_string();
    if !target.starts_with('/') {
        target.insert(0, '/');
    }
    Some((tls, authority, target))
}

/// The host part of an authority (`host`, `host:port`, `[v6]:port`).
fn host_part(authority: &str) -> &str {
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or_default();
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

/// The port of an authority (`host:port`, `[v6]:port`), or the scheme's default.
fn port_of(authority: &str, tls: bool) -> u16 {
    let default = if tls { 443 } else { 80 };
    match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && (h.starts_with('[') || !h.contains(':')) => {
            p.parse().unwrap_or(default)
        }
        _ => default,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An RFC 3339 / ISO 8601 date-time (`2023-03-30T00:00:54.253Z`, `...+02:00`) as a timestamp.
fn parse_time(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (y, mo, d, h, mi, se) =
        (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac_ns = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let digits = &s[start..i];
        let mut scaled: String = digits.chars().take(9).collect();
        while scaled.len() < 9 {
            scaled.push('0');
        }
        frac_ns = scaled.parse().ok()?;
    }
    let offset_s = match b.get(i) {
        None | Some(b'Z' | b'z') => 0,
        Some(b'+' | b'-') => {
            let sign = if b[i] == b'-' { -1 } else { 1 };
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6).unwrap_or(0);
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset_s;
    Some(Timestamp(secs.checked_mul(1_000_000_000)?.checked_add(frac_ns)?))
}

#[cfg(test)]
mod tests;
