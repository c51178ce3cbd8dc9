//! Pure functions over bytes: head boundaries, request and status lines, header fields, framing
//! headers, chunk-size lines and the host name.
//!
//! Nothing here keeps state; every function takes a complete piece (a whole head, a whole line) and
//! never panics, whatever the bytes.

use crate::Header;

/// Longest method token accepted (the longest known one, `BASELINE-CONTROL`, has 16 bytes).
pub(super) const MAX_METHOD_LEN: usize = 32;

/// Header slots handed to httparse on the fast path; a head with more fields takes the lenient
/// path, which has no count limit (the head itself is bounded by `MAX_HEADER_BLOCK`).
const FAST_HEADERS: usize = 96;

/// Request methods known to tshark 4.0's HTTP dissector (`is_http_request_or_reply`): HTTP, WebDAV
/// (RFC 4918, RFC 3253), UPnP GENA, MS-RPCH, MS SSTP, Cisco CCM. tshark also accepts any of them
/// with the RFC 2774 `M-` prefix (`M-SEARCH`, `M-POST`).
const KNOWN_METHODS: [&[u8]; 44] = [
    b"GET",
    b"PUT",
    b"COPY",
    b"HEAD",
    b"LOCK",
    b"MOVE",
    b"POLL",
    b"POST",
    b"BCOPY",
    b"BMOVE",
    b"MKCOL",
    b"TRACE",
    b"PATCH",
    b"LABEL",
    b"MERGE",
    b"DELETE",
    b"SEARCH",
    b"UNLOCK",
    b"REPORT",
    b"UPDATE",
    b"NOTIFY",
    b"BDELETE",
    b"CONNECT",
    b"OPTIONS",
    b"CHECKIN",
    b"PROPFIND",
    b"CHECKOUT",
    b"CCM_POST",
    b"SUBSCRIBE",
    b"PROPPATCH",
    b"BPROPFIND",
    b"BPROPPATCH",
    b"UNCHECKOUT",
    b"MKACTIVITY",
    b"MKWORKSPACE",
    b"RPC_CONNECT",
    b"RPC_IN_DATA",
    b"UNSUBSCRIBE",
    b"RPC_OUT_DATA",
    b"VERSION-CONTROL",
    b"BASELINE-CONTROL",
    b"SSTP_DUPLEX_POST",
    // Not in tshark 4.0's list, registered with IANA and used by CalDAV / newer clients.
    b"MKCALENDAR",
    b"QUERY",
];

/// Why a head was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HeadError {
    /// The request line does not start with a method token.
    Method,
    /// An unknown method without a recognisable `HTTP/1.x` version.
    Version,
    /// The status line does not start with `HTTP/1.x` and a 3-digit code.
    Status,
}

/// What a prefix of a head tells so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Starts like a message of the expected kind.
    Plausible,
    /// Too short to tell.
    NeedMore,
    /// Cannot be a message of the expected kind.
    Bad,
}

/// The parts of a request head.
#[derive(Debug)]
pub(super) struct RequestHead {
    pub(super) method: String,
    pub(super) uri: String,
    pub(super) version: u8,
    pub(super) headers: Vec<Header>,
}

/// The parts of a response head.
#[derive(Debug)]
pub(super) struct ResponseHead {
    pub(super) status: u16,
    pub(super) version: u8,
    pub(super) headers: Vec<Header>,
}

/// True for RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `s` without leading and trailing SP / HTAB.
pub(super) fn trim(s: &[u8]) -> &[u8] {
    trim_end(trim_start(s))
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| is_ws(b)).count();
    s.get(n..).unwrap_or_default()
}

fn trim_end(s: &[u8]) -> &[u8] {
    let n = s.iter().rev().take_while(|&&b| is_ws(b)).count();
    s.get(..s.len().saturating_sub(n)).unwrap_or_default()
}

/// True if `token` is a known method, with or without the RFC 2774 `M-` prefix.
pub(super) fn is_known_method(token: &[u8]) -> bool {
    let t = token.strip_prefix(b"M-").unwrap_or(token);
    KNOWN_METHODS.contains(&t)
}

/// True if `p` (no space in it) is the start of a known method, `M-` prefix allowed.
pub(super) fn is_known_method_prefix(p: &[u8]) -> bool {
    let t = p.strip_prefix(b"M-").unwrap_or(p);
    KNOWN_METHODS.iter().any(|m| m.starts_with(t))
}

/// Finds the end of a head (request/status line plus header fields plus the empty line) in `buf`,
/// searching from `from`. A line ends at LF (CR before it optional), so the head ends after
/// `LF LF` or `LF CR LF`.
///
/// Returns `Ok(end)` (the head is `buf[..end]`) or `Err(resume)`: no end yet, and the search can
/// resume at `resume` once more bytes are appended (nothing before it can start a terminator).
pub(super) fn find_head_end(buf: &[u8], from: usize) -> Result<usize, usize> {
    let mut at = from;
    while let Some(rest) = buf.get(at..) {
        let Some(i) = memchr::memchr(b'\n', rest) else { return Err(buf.len()) };
        let lf = at + i;
        match (buf.get(lf + 1), buf.get(lf + 2)) {
            (Some(b'\n'), _) => return Ok(lf + 2),
            (Some(b'\r'), Some(b'\n')) => return Ok(lf + 3),
            (None, _) | (Some(b'\r'), None) => return Err(lf),
            _ => at = lf + 1,
        }
    }
    Err(buf.len())
}

/// Checks the start of a request head (leading empty lines already skipped) before the whole head
/// is there. `lf`: position of the first LF in `p`, if any. With the first line complete, it is
/// checked as [`parse_request_head`] checks it; before that, the method token must be at most
/// [`MAX_METHOD_LEN`] token bytes ended by whitespace or the line end (decided within
/// `MAX_METHOD_LEN + 1` bytes). Everything refused here, [`parse_request_head`] refuses too.
pub(super) fn request_start(p: &[u8], lf: Option<usize>) -> Verdict {
    if let Some(i) = lf {
        let line = p.get(..i).unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        return if parse_request_line(line).is_ok() { Verdict::Plausible } else { Verdict::Bad };
    }
    for (i, &b) in p.iter().enumerate().take(MAX_METHOD_LEN + 1) {
        if is_tchar(b) {
            continue;
        }
        let ends_token = is_ws(b) || b == b'\r';
        return if ends_token && i > 0 { Verdict::Plausible } else { Verdict::Bad };
    }
    if p.len() > MAX_METHOD_LEN { Verdict::Bad } else { Verdict::NeedMore }
}

/// Checks the start of a response head: `HTTP/` (decided within 5 bytes), and the whole status
/// line as [`parse_response_head`] does once it is complete (`lf`: its LF).
pub(super) fn response_start(p: &[u8], lf: Option<usize>) -> Verdict {
    const MAGIC: &[u8] = b"HTTP/";
    if let Some(i) = lf {
        let line = p.get(..i).unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        return if parse_status_line(line).is_ok() { Verdict::Plausible } else { Verdict::Bad };
    }
    let n = p.len().min(MAGIC.len());
    match (p.get(..n), MAGIC.get(..n)) {
        (Some(a), Some(b)) if a == b => {
            if n == MAGIC.len() {
                Verdict::Plausible
            } else {
                Verdict::NeedMore
            }
        }
        _ => Verdict::Bad,
    }
}

/// Splits a head into its first line (without CR LF) and the rest (header fields and the empty
/// line).
fn split_first_line(head: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b'\n', head) {
        Some(i) => {
            let line = head.get(..i).unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            (line, head.get(i + 1..).unwrap_or_default())
        }
        None => (head, &[]),
    }
}

/// Splits at the first SP / HTAB: (token, rest with leading whitespace removed).
fn next_token(s: &[u8]) -> (&[u8], &[u8]) {
    match s.iter().position(|&b| is_ws(b)) {
        Some(i) => (s.get(..i).unwrap_or_default(), trim_start(s.get(i..).unwrap_or_default())),
        None => (s, &[]),
    }
}

/// `HTTP/1.<digit>` (anything may follow the digit) to its minor version.
fn http1_minor(token: &[u8]) -> Option<u8> {
    match token {
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', d, ..] if d.is_ascii_digit() => Some(d - b'0'),
        _ => None,
    }
}

/// Parses a complete request head (as delimited by [`find_head_end`]).
pub(super) fn parse_request_head(head: &[u8]) -> Result<RequestHead, HeadError> {
    let (line, rest) = split_first_line(head);
    let (method, uri, version) = parse_request_line(line)?;
    Ok(RequestHead {
        // A tchar token is ASCII.
        method: String::from_utf8_lossy(method).into_owned(),
        uri: String::from_utf8_lossy(uri).into_owned(),
        version,
        headers: parse_fields(rest),
    })
}

/// Parses a request line (without CR LF) into method, URI and minor version.
///
/// Lenient the way tshark is, so request lines match its `http.request.method` and
/// `http.request.uri`: the URI is the token after the method (a URI containing a space is cut
/// there), a known method is accepted without or with a garbled version (`GET /x`, `GET / HTTP/1.`;
/// version 0), and alone on its line (URI empty). Unlike tshark, several spaces between method and
/// URI are skipped (tshark reports an empty URI). An unknown method needs an `HTTP/1.x` version.
fn parse_request_line(line: &[u8]) -> Result<(&[u8], &[u8], u8), HeadError> {
    let (method, after) = next_token(line);
    if method.is_empty() || method.len() > MAX_METHOD_LEN || !method.iter().all(|&b| is_tchar(b)) {
        return Err(HeadError::Method);
    }
    let (uri, after) = next_token(after);
    let version = trim(after).rsplit(|&b| is_ws(b)).next().and_then(http1_minor);
    if version.is_none() && !is_known_method(method) {
        return Err(HeadError::Version);
    }
    Ok((method, uri, version.unwrap_or(0)))
}

/// Parses a complete response head.
pub(super) fn parse_response_head(head: &[u8]) -> Result<ResponseHead, HeadError> {
    let (line, rest) = split_first_line(head);
    let (version, status) = parse_status_line(line)?;
    Ok(ResponseHead { status, version, headers: parse_fields(rest) })
}

/// Parses a status line (without CR LF) into minor version and status. The status code is the
/// first 3 digits of the token after the version (as tshark reads it); a status line with no code
/// at all (`HTTP/1.1` alone) is taken as 200, as browsers do.
fn parse_status_line(line: &[u8]) -> Result<(u8, u16), HeadError> {
    let (version, after) = next_token(line);
    let version = http1_minor(version).ok_or(HeadError::Status)?;
    let (code, _reason) = next_token(after);
    let status = match code {
        [] => 200,
        [a, b, c, ..] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
        }
        _ => return Err(HeadError::Status),
    };
    Ok((version, status))
}

/// Parses header fields up to and including the empty line that ends them (`block` may hold only
/// that empty line). Fast path: httparse, zero-copy, strict. When it refuses (obs-fold, a line it
/// considers invalid, too many fields), the lenient path below gives the result.
pub(super) fn parse_fields(block: &[u8]) -> Vec<Header> {
    let mut slots = [httparse::EMPTY_HEADER; FAST_HEADERS];
    match httparse::parse_headers(block, &mut slots) {
        Ok(httparse::Status::Complete((_, fields))) => fields
            .iter()
            .map(|h| Header { name: h.name.to_string(), value: h.value.to_vec() })
            .collect(),
        _ => parse_fields_lenient(block),
    }
}

/// Line-by-line field parsing that accepts what browsers and tshark accept:
/// - obs-fold: a line starting with SP / HTAB continues the previous field; it is unfolded into
///   one SP plus the trimmed continuation (RFC 9112 section 5.2);
/// - whitespace before the colon is dropped from the name;
/// - a line without a colon, or whose name is empty or holds anything but visible ASCII, is
///   skipped together with its continuation lines (httparse's `ignore_invalid_headers` rule);
/// - values keep every byte except the surrounding SP / HTAB.
fn parse_fields_lenient(block: &[u8]) -> Vec<Header> {
    let mut out: Vec<Header> = Vec::new();
    let mut prev_kept = false;
    for raw in block.split(|&b| b == b'\n') {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Some(&first) = line.first() else { break };
        if is_ws(first) && !out.is_empty() {
            if prev_kept {
                let cont = trim(line);
                if let Some(last) = out.last_mut().filter(|_| !cont.is_empty()) {
                    if !last.value.is_empty() {
                        last.value.push(b' ');
                    }
                    last.value.extend_from_slice(cont);
                }
            }
            continue;
        }
        let line = trim_start(line);
        prev_kept = false;
        let Some(colon) = memchr::memchr(b':', line) else { continue };
        let (name, value) = line.split_at(colon);
        let name = trim_end(name);
        if name.is_empty() || !name.iter().all(u8::is_ascii_graphic) {
            continue;
        }
        let value = trim(value.get(1..).unwrap_or_default());
        out.push(Header {
            name: String::from_utf8_lossy(name).into_owned(),
            value: value.to_vec(),
        });
        prev_kept = true;
    }
    out
}

/// Host name of a `Host` header value or a URI authority: lower-case, port and a trailing dot
/// removed, IPv6 literal brackets removed (`[::1]:8000` gives `::1`). `None` if empty.
pub(super) fn host_of(authority: &[u8]) -> Option<String> {
    let a = trim(authority);
    let host = if let Some(inner) = a.strip_prefix(b"[") {
        let end = memchr::memchr(b']', inner).unwrap_or(inner.len());
        inner.get(..end).unwrap_or_default()
    } else if memchr::memchr_iter(b':', a).count() == 1 {
        let colon = memchr::memchr(b':', a).unwrap_or(a.len());
        a.get(..colon).unwrap_or_default()
    } else {
        // No port, or an unbracketed IPv6 address (invalid, kept whole).
        a
    };
    let host = host.strip_suffix(b".").unwrap_or(host);
    if host.is_empty() {
        return None;
    }
    Some(String::from_utf8_lossy(host).to_ascii_lowercase())
}

/// Authority of an absolute-form URI (`http://user@host:port/path` gives `host:port`), or the
/// whole URI for `CONNECT` (authority-form).
pub(super) fn uri_authority<'a>(method: &str, uri: &'a str) -> Option<&'a str> {
    if method.eq_ignore_ascii_case("CONNECT") {
        return Some(uri);
    }
    let (scheme, rest) = uri.split_once("://")?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if !scheme_ok {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end)?;
    Some(authority.rsplit_once('@').map_or(authority, |(_, h)| h))
}

/// How a message body is delimited, from its header fields.
#[derive(Debug)]
pub(super) struct FramingFields {
    /// Content-Length: `Ok(None)` if absent, `Err` if unparsable or conflicting.
    pub(super) content_length: Result<Option<u64>, ()>,
    /// Transfer-Encoding codings, lower-case, in order; `None` if the field is absent.
    pub(super) transfer: Option<Vec<String>>,
    /// Content-Encoding codings, lower-case, in the order applied.
    pub(super) content: Vec<String>,
    /// An `Upgrade` field is present.
    pub(super) upgrade: bool,
}

/// Reads the fields that frame and encode the body. Field names are case-insensitive; repeated
/// fields are combined as comma-separated lists (RFC 9110 section 5.3).
pub(super) fn framing_fields(headers: &[Header]) -> FramingFields {
    let mut f = FramingFields {
        content_length: Ok(None),
        transfer: None,
        content: Vec::new(),
        upgrade: false,
    };
    for h in headers {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            f.content_length = merge_length(f.content_length, &h.value);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            f.transfer.get_or_insert_with(Vec::new).extend(codings(&h.value));
        } else if name.eq_ignore_ascii_case(b"content-encoding") {
            f.content.extend(codings(&h.value));
        } else if name.eq_ignore_ascii_case(b"upgrade") {
            f.upgrade = true;
        }
    }
    f
}

/// Folds one Content-Length value (possibly a list of equal numbers) into what is known so far.
fn merge_length(so_far: Result<Option<u64>, ()>, value: &[u8]) -> Result<Option<u64>, ()> {
    let mut known = so_far?;
    for part in value.split(|&b| b == b',') {
        let digits = trim(part);
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(());
        }
        let n = digits
            .iter()
            .try_fold(0u64, |acc, &d| acc.checked_mul(10)?.checked_add(u64::from(d - b'0')))
            .ok_or(())?;
        match known {
            Some(k) if k != n => return Err(()),
            _ => known = Some(n),
        }
    }
    Ok(known)
}

/// A comma-separated coding list: lower-case names, parameters (`;q=...`) dropped, empty
/// elements skipped.
fn codings(value: &[u8]) -> impl Iterator<Item = String> + '_ {
    value.split(|&b| b == b',').filter_map(|item| {
        let name = item.split(|&b| b == b';').next().map(trim).unwrap_or_default();
        (!name.is_empty()).then(|| String::from_utf8_lossy(name).to_ascii_lowercase())
    })
}

/// Parses a chunk-size line (`line` may end with CR LF): hex digits, then optional whitespace and
/// an ignored `;` extension. Leading whitespace is tolerated. `None` if malformed or the size does
/// not fit in 64 bits.
pub(super) fn chunk_size(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = trim_start(line);
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let (hex, rest) = line.split_at_checked(digits)?;
    if hex.is_empty() {
        return None;
    }
    let rest = trim_start(rest);
    if !(rest.is_empty() || rest.starts_with(b";")) {
        return None;
    }
    hex.iter().try_fold(0u64, |acc, &d| {
        let v = char::from(d).to_digit(16)?;
        acc.checked_mul(16)?.checked_add(u64::from(v))
    })
}
