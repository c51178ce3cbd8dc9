//! Where to look: the places in protocol events that can carry personal data, as [`Field`]s.
//!
//! Every extraction function calls `f` once per field and returns the [`FieldStats`] of that
//! event (sum them with `+=`). Fields borrow the event's bytes; only decoded values are
//! allocated, and only while `f` runs.
//!
//! Location vocabulary (see [`Field::location`]):
//! - `http.uri`: the request target as sent (and what nested decoding finds in its path segments);
//!   `http.query:<key>`: each query parameter value (key
//!   percent-decoded; a piece without `=` has an empty key).
//! - `http.header:<name lower-case>`: every header value (Cookie and Host included);
//!   `http.cookie:<name>`: each cookie of a Cookie header (and the first pair of a Set-Cookie).
//! - Bodies, after proto's de-chunking and content decoding (its `content_encoding` list opens
//!   [`Field::decoded`], e.g. `["gzip"]`): `http.form:<key>` (`application/x-www-form-urlencoded`,
//!   or any other non-JSON, non-multipart body shaped `k=v&k2=v2`),
//!   `http.multipart:<part name>` (`multipart/form-data`: part contents, and the file name of file
//!   parts), `http.json:<dotted.path>` (`*json` content types, or a body starting with `{` or `[`:
//!   every string and number value; the path joins object keys with `.`, arrays add nothing; what
//!   follows a syntax error is `http.body`), `http.protobuf:<field.numbers>` (protobuf bodies,
//!   schema-less: `*protobuf`/`*+proto` content types, gRPC bodies (`application/grpc*`, each
//!   length-prefixed message, compressed ones inflated) and binary bodies of another type that
//!   parse as one message; every string and bytes value, nested messages walked to
//!   [`MAX_PROTOBUF_NESTING`], varints and fixed-width numbers as decimal text with the decoding
//!   `varint`), else `http.body`.
//! - `dns.qname` (the whole name) and `dns.label` (each label); `tls.sni`, `quic.sni`.
//! - Typed pairs: in a query, a form or a JSON object, a value under a key that only says "the
//!   value" (`value`, `v`, `id`, `u`...) after a type key (`type`, `k`, `idType`...) in the same
//!   container carries the type in brackets: `http.json:ids.value[gaid]`, `http.query:u[AIFA]`
//!   (`fields/typed.rs`).
//!
//! Values as sent are always emitted. Query, form and cookie values are also emitted
//! percent-decoded (`decoded: ["url"]`) when that changes them; this decoding is part of reading
//! the container and costs no depth. Then every value is tried, recursively, for nested
//! encodings: percent-encoding (`url`, when it holds a `%XX`), base64 standard or URL-safe
//! (`base64`, at least 12 characters decoding to text, JSON or compressed data; also each piece
//! of a `Scheme token` or dotted JWT-like value), gzip/zlib
//! (`gzip`/`deflate`, by magic bytes), JSON (`>json:<path>`) and forms (`>form:<key>`). Each step
//! costs one level of [`MAX_DEPTH`]; encodings extend `decoded`, structures extend the location:
//! the phone number inside base64 JSON inside a URL-encoded form field comes out at
//! `http.form:d>json:phone` with `decoded: ["url", "base64"]`. Decoded bytes are capped by
//! [`MAX_DECODED_BYTES`] per top-level field and [`MAX_DECODED_PER_EVENT`] per event.

use std::borrow::Cow;

use proto::{Body, ClientHello, DnsQuery, Header, HttpRequest, HttpResponse};

mod decode;
mod json;
mod protobuf;
mod typed;

pub use json::{MAX_JSON_NESTING, MAX_KEY_LEN, MAX_PATH_LEN};
pub use protobuf::{
    MAX_FIELDS as MAX_PROTOBUF_FIELDS, MAX_GRPC_MESSAGES, MAX_NESTING as MAX_PROTOBUF_NESTING,
};

/// Nested decoding steps (percent-decoding, base64, gzip/zlib, JSON, form) followed below one
/// value. A value whose next step would exceed this is still searched as it is, and counted in
/// [`FieldStats::nested_capped`].
pub const MAX_DEPTH: usize = 3;

/// Bytes produced by nested decoding below one top-level field (a query parameter, a header, a
/// body field, a whole unstructured body); past it, decodings are skipped (or an inflate cut) and
/// counted in [`FieldStats::decoded_capped`].
pub const MAX_DECODED_BYTES: usize = 1 << 20;

/// Bytes produced by nested decoding for one event, all fields together (bounds the work a
/// hostile request of many small compressed fields can cause).
pub const MAX_DECODED_PER_EVENT: usize = 8 << 20;

/// Longest multipart boundary accepted (RFC 2046 allows 70 characters).
pub const MAX_BOUNDARY_LEN: usize = 200;

/// A piece of bytes to search, with where it came from and how it was decoded to get here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field<'a> {
    /// Where the bytes are, in the output vocabulary: `http.uri`, `http.query:<key>`,
    /// `http.header:<name lower-case>`, `http.cookie:<name>`, `http.form:<key>`,
    /// `http.multipart:<part name>`, `http.json:<dotted.path>`, `http.body`, `dns.qname`, `tls.sni`,
    /// `quic.sni`, `tcp.payload`, `udp.payload`. Nested fields append to their parent's location
    /// (`http.form:data>json:phone`).
    pub location: String,
    /// Decodings applied, outermost first, to get from the wire bytes to `data` (e.g.
    /// `["gzip", "base64"]`); empty for bytes as sent.
    pub decoded: Vec<&'static str>,
    /// The bytes.
    pub data: Cow<'a, [u8]>,
}

impl Field<'_> {
    /// The key this field's value was found under (the part of `location` after the last `:`),
    /// lower-case as given; `None` for locations without a key (`http.uri`, `http.body`...).
    pub fn key(&self) -> Option<&str> {
        key_of(&self.location)
    }

    /// The encoding path as the output names it: `decoded` joined with `+` (`plain` when empty).
    pub fn encoding(&self) -> String {
        if self.decoded.is_empty() { "plain".to_owned() } else { self.decoded.join("+") }
    }
}

/// The key of a location (see [`Field::key`]).
fn key_of(location: &str) -> Option<&str> {
    // memchr's SIMD search: this runs for every field (a plain loop from the end measured no
    // faster on these short strings).
    let colon = memchr::memrchr(b':', location.as_bytes())?;
    location.get(colon + 1..).filter(|k| !k.is_empty())
}

/// Which fields a consumer wants handed to it, asked with a field's key ([`Field::key`]) and
/// length before the field is made: a detector that can find nothing in a 5-byte counter under
/// a key that tells nothing says so here, and the field is counted
/// ([`FieldStats::passed_over`]) instead of handed over. Nested encodings of a passed-over
/// value are still tried.
pub type Sieve<'s> = &'s mut dyn FnMut(Option<&str>, usize) -> bool;

/// Counters of field extraction, summed with `+=`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldStats {
    /// Fields emitted.
    pub fields: u64,
    /// Values whose nested decoding stopped at [`MAX_DEPTH`].
    pub nested_capped: u64,
    /// Decodings skipped or cut by [`MAX_DECODED_BYTES`] or [`MAX_DECODED_PER_EVENT`].
    pub decoded_capped: u64,
    /// JSON documents whose walk stopped at [`MAX_JSON_NESTING`].
    pub json_nesting_capped: u64,
    /// Fields (counted in `fields`) that the [`Sieve`] declined.
    pub passed_over: u64,
}

impl std::ops::AddAssign<&Self> for FieldStats {
    fn add_assign(&mut self, o: &Self) {
        self.fields += o.fields;
        self.nested_capped += o.nested_capped;
        self.decoded_capped += o.decoded_capped;
        self.json_nesting_capped += o.json_nesting_capped;
        self.passed_over += o.passed_over;
    }
}

/// The fields of an HTTP request: URI, query parameters, headers, cookies, body.
pub fn http_request(req: &HttpRequest, f: &mut dyn FnMut(&Field<'_>)) -> FieldStats {
    http_request_sieved(req, &mut |_, _| true, f)
}

/// [`http_request`], handing over only the fields `sieve` wants.
pub fn http_request_sieved(
    req: &HttpRequest,
    sieve: Sieve<'_>,
    f: &mut dyn FnMut(&Field<'_>),
) -> FieldStats {
    let mut cx = Cx::new(f);
    cx.sieve = Some(sieve);
    cx.top("http.uri", |cx| {
        cx.emit(req.uri.as_bytes());
        // Path segments long enough to hide an encoded value are tried for nested encodings.
        let path = req.uri.split(['?', '#']).next().unwrap_or_default();
        for seg in path.split('/').filter(|s| s.len() >= decode::MIN_BASE64_LEN) {
            cx.nested(seg.as_bytes(), 0, false);
        }
    });
    if let Some((_, q)) = req.uri.split_once('?') {
        let q = q.split_once('#').map_or(q, |(q, _)| q);
        cx.pairs("http.query:", q.as_bytes(), true);
    }
    cx.headers(&req.headers, false);
    cx.body(&req.headers, &req.body);
    cx.stats
}

/// The fields of an HTTP response (for server-to-client scanning): headers, `Set-Cookie` pairs,
/// body, in the same vocabulary as requests.
pub fn http_response(resp: &HttpResponse, f: &mut dyn FnMut(&Field<'_>)) -> FieldStats {
    http_response_sieved(resp, &mut |_, _| true, f)
}

/// [`http_response`], handing over only the fields `sieve` wants.
pub fn http_response_sieved(
    resp: &HttpResponse,
    sieve: Sieve<'_>,
    f: &mut dyn FnMut(&Field<'_>),
) -> FieldStats {
    let mut cx = Cx::new(f);
    cx.sieve = Some(sieve);
    cx.headers(&resp.headers, true);
    cx.body(&resp.headers, &resp.body);
    cx.stats
}

/// A WebSocket message: JSON documents walked at `ws.json:<path>`, anything else searched at
/// `ws.message` (nested encodings tried as for any value).
pub fn websocket_message(m: &proto::WebSocketMessage, f: &mut dyn FnMut(&Field<'_>)) -> FieldStats {
    websocket_message_sieved(m, &mut |_, _| true, f)
}

/// [`websocket_message`], handing over only the fields `sieve` wants.
pub fn websocket_message_sieved(
    m: &proto::WebSocketMessage,
    sieve: Sieve<'_>,
    f: &mut dyn FnMut(&Field<'_>),
) -> FieldStats {
    let mut cx = Cx::new(f);
    cx.sieve = Some(sieve);
    let data = m.data.as_slice();
    let first = data.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if matches!(first, Some(b'{' | b'[')) {
        let mut w = None;
        cx.top("", |cx| w = Some(cx.json(data, "ws.json:", 0, false)));
        if w.is_some_and(|w| w.values > 0) {
            return cx.stats;
        }
    }
    cx.top("ws.message", |cx| cx.value(data, 0, Container::Plain));
    cx.stats
}

/// The fields of a DNS question: `dns.qname` (the whole name) and `dns.label` (each label).
pub fn dns_query(q: &DnsQuery, f: &mut dyn FnMut(&Field<'_>)) -> FieldStats {
    let mut cx = Cx::new(f);
    cx.top("dns.qname", |cx| cx.emit(q.name.as_bytes()));
    for label in q.name.split('.').filter(|l| !l.is_empty()) {
        cx.top("dns.label", |cx| cx.emit(label.as_bytes()));
    }
    cx.stats
}

/// The SNI of a ClientHello: `tls.sni`, or `quic.sni` when it came in a QUIC Initial.
pub fn client_hello(h: &ClientHello, quic: bool, f: &mut dyn FnMut(&Field<'_>)) -> FieldStats {
    let mut cx = Cx::new(f);
    if let Some(sni) = &h.sni {
        cx.top(if quic { "quic.sni" } else { "tls.sni" }, |cx| cx.emit(sni.as_bytes()));
    }
    cx.stats
}

/// How a container encodes its values.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Container {
    /// Values as they are.
    Plain,
    /// Percent-encoded values (`+` is a space when the flag is set): query, form, cookie.
    Url(bool),
}

/// The extraction context: the callback, the location and decoding path being built, budgets.
struct Cx<'f> {
    f: &'f mut dyn FnMut(&Field<'_>),
    sieve: Option<Sieve<'f>>,
    stats: FieldStats,
    loc: String,
    dec: Vec<&'static str>,
    tree_budget: usize,
    event_budget: usize,
}

impl<'f> Cx<'f> {
    fn new(f: &'f mut dyn FnMut(&Field<'_>)) -> Self {
        Self {
            f,
            sieve: None,
            stats: FieldStats::default(),
            loc: String::new(),
            dec: Vec::new(),
            tree_budget: MAX_DECODED_BYTES,
            event_budget: MAX_DECODED_PER_EVENT,
        }
    }

    /// Runs `g` for one top-level field tree at `loc` (fresh tree budget, empty decoding path).
    fn top(&mut self, loc: &str, g: impl FnOnce(&mut Self)) {
        self.loc.clear();
        self.loc.push_str(loc);
        self.dec.clear();
        self.tree_budget = MAX_DECODED_BYTES;
        g(self);
    }

    /// Like [`top`](Self::top) with a sanitised key appended to `prefix`.
    fn top_key(&mut self, prefix: &str, key: &[u8], g: impl FnOnce(&mut Self)) {
        self.top(prefix, |cx| {
            json::push_key(&mut cx.loc, key);
            g(cx);
        });
    }

    fn emit(&mut self, data: &[u8]) {
        self.stats.fields += 1;
        if let Some(sieve) = self.sieve.as_mut()
            && !sieve(key_of(&self.loc), data.len())
        {
            self.stats.passed_over += 1;
            return;
        }
        // The location and decoding path are lent to the field and taken back: no allocation.
        let field = Field {
            location: std::mem::take(&mut self.loc),
            decoded: std::mem::take(&mut self.dec),
            data: Cow::Borrowed(data),
        };
        (self.f)(&field);
        self.loc = field.location;
        self.dec = field.decoded;
    }

    /// Takes `n` bytes from the decoding budgets; false (and counted) when they do not allow it.
    fn charge(&mut self, n: usize) -> bool {
        if n > self.tree_budget || n > self.event_budget {
            self.stats.decoded_capped += 1;
            return false;
        }
        self.tree_budget -= n;
        self.event_budget -= n;
        true
    }

    fn budget(&self) -> usize {
        self.tree_budget.min(self.event_budget)
    }

    /// Runs `g` with `step` appended to the decoding path.
    fn with_step(&mut self, step: &'static str, g: impl FnOnce(&mut Self)) {
        self.dec.push(step);
        g(self);
        self.dec.pop();
    }

    /// Runs `g` with `suffix` and a key appended to the location.
    fn with_loc(&mut self, suffix: &str, key: &str, g: impl FnOnce(&mut Self)) {
        let l = self.loc.len();
        self.loc.push_str(suffix);
        self.loc.push_str(key);
        g(self);
        self.loc.truncate(l);
    }

    /// A value: emitted as it is, percent-decoded if its container encodes it, then tried for
    /// nested encodings.
    fn value(&mut self, data: &[u8], depth: usize, container: Container) {
        self.emit(data);
        let mut url_done = false;
        if let Container::Url(plus) = container
            && decode::has_url_escape(data, plus)
        {
            url_done = true;
            if self.charge(data.len()) {
                let d = decode::url_decode(data, plus);
                self.with_step("url", |cx| cx.value(&d, depth, Container::Plain));
            }
        }
        self.nested(data, depth, url_done);
    }

    /// Tries every nested decoding on `data` (each costs one level of depth).
    fn nested(&mut self, data: &[u8], depth: usize, url_done: bool) {
        if decode::nothing_nested(data) {
            return;
        }
        let url = !url_done && decode::has_url_escape(data, false);
        let compressed = decode::is_gzip(data) || decode::is_zlib(data);
        let first = data.iter().find(|b| !b.is_ascii_whitespace()).copied();
        let json = matches!(first, Some(b'{' | b'['));
        let b64 = data.len() >= decode::MIN_BASE64_LEN;
        let form = !json && decode::looks_like_form(data);
        if !(url || compressed || json || b64 || form) {
            return;
        }
        if depth >= MAX_DEPTH {
            // base64 is only a guess until decoded: count the cap for the sure candidates.
            if url || compressed || json || form {
                self.stats.nested_capped += 1;
            }
            return;
        }
        let depth = depth + 1;
        if url && self.charge(data.len()) {
            let d = decode::url_decode(data, false);
            self.with_step("url", |cx| cx.value(&d, depth, Container::Plain));
        }
        if b64 {
            // The whole value, or else the pieces of a token like `Basic <b64>` or a JWT.
            let whole = decode::base64_decode(data);
            let pieces = if whole.is_some() { None } else { decode::token_pieces(data) };
            let decoded = whole
                .into_iter()
                .chain(pieces.into_iter().flatten().filter_map(decode::base64_decode));
            for d in decoded {
                if decode::worth_searching(&d) && self.charge(d.len()) {
                    self.with_step("base64", |cx| cx.value(&d, depth, Container::Plain));
                } else if protobuf::looks_like_message(&d) && self.charge(d.len()) {
                    // Base64 protobuf (Firebase and SDK tokens, `bin` headers of gRPC).
                    self.with_step("base64", |cx| {
                        cx.with_loc(">protobuf:", "", |cx| {
                            cx.protobuf(&d, 0);
                        });
                    });
                }
            }
        }
        if compressed {
            let (d, cut) = decode::inflate(data, self.budget());
            if cut {
                self.stats.decoded_capped += 1;
            }
            let step = if decode::is_gzip(data) { "gzip" } else { "deflate" };
            if !d.is_empty() && self.charge(d.len()) {
                self.with_step(step, |cx| cx.value(&d, depth, Container::Plain));
            }
        }
        if json {
            self.json(data, ">json:", depth, true);
        }
        if form {
            for (k, v) in decode::pairs(data) {
                let key = key_string(k, true);
                self.with_loc(">form:", &key, |cx| cx.value(v, depth, Container::Url(true)));
            }
        }
    }

    /// Walks a JSON document, each value at `self.loc + prefix + path`. Returns how far the walk
    /// got and how many values it reported. Unescaped strings are charged when `nested`.
    fn json(&mut self, data: &[u8], prefix: &str, depth: usize, nested: bool) -> json::Walked {
        let base = self.loc.len();
        self.loc.push_str(prefix);
        let with_prefix = self.loc.len();
        let w = json::walk(data, &mut |path, v| {
            if nested && matches!(v, Cow::Owned(_)) && !self.charge(v.len()) {
                return;
            }
            // A value the sieve declines and that holds no nested encoding ends here, before
            // its location is built: the key of `loc + path` is `path` (keys hold no `:`).
            if decode::nothing_nested(&v)
                && let Some(sieve) = self.sieve.as_mut()
                && !sieve(Some(path).filter(|p| !p.is_empty()), v.len())
            {
                self.stats.fields += 1;
                self.stats.passed_over += 1;
                return;
            }
            self.loc.truncate(with_prefix);
            self.loc.push_str(path);
            self.value(&v, depth, Container::Plain);
        });
        self.loc.truncate(base);
        if w.capped {
            self.stats.json_nesting_capped += 1;
        }
        w
    }

    /// `k=v&...` pairs at `prefix<key>`, values percent-decoded (`+` as space when `plus`).
    /// A value key after a type key carries the type (`http.query:u[AIFA]`, [`typed`]).
    fn pairs(&mut self, prefix: &str, s: &[u8], plus: bool) {
        let mut typer = typed::Typer::default();
        for (k, v) in decode::pairs(s) {
            let mut key = key_string(k, plus);
            if let Some(t) = typer.see(key.as_bytes(), v) {
                key = format!("{key}[{t}]");
            }
            self.top_key(prefix, key.as_bytes(), |cx| cx.value(v, 0, Container::Url(plus)));
        }
    }

    fn headers(&mut self, headers: &[Header], response: bool) {
        for h in headers {
            let name = h.name.to_ascii_lowercase();
            self.top_key("http.header:", name.as_bytes(), |cx| {
                cx.value(&h.value, 0, Container::Plain);
            });
            if name == "cookie" && !response {
                for c in h.value.split(|&b| b == b';') {
                    self.cookie(c);
                }
            } else if name == "set-cookie" && response {
                let first = h.value.split(|&b| b == b';').next().unwrap_or_default();
                self.cookie(first);
            }
        }
    }

    fn cookie(&mut self, c: &[u8]) {
        let c = c.trim_ascii();
        if c.is_empty() {
            return;
        }
        let (k, v) = match memchr::memchr(b'=', c) {
            Some(i) => (&c[..i], &c[i + 1..]),
            None => (&c[..0], c),
        };
        let v = v.strip_prefix(b"\"").and_then(|v| v.strip_suffix(b"\"")).unwrap_or(v);
        self.top_key("http.cookie:", k.trim_ascii(), |cx| cx.value(v, 0, Container::Url(false)));
    }

    fn body(&mut self, headers: &[Header], body: &Body) {
        let data = body.data.as_slice();
        if data.is_empty() {
            return;
        }
        let base: Vec<&'static str> = if body.decode_failed {
            Vec::new()
        } else {
            body.content_encoding.iter().filter_map(|e| content_coding(e)).collect()
        };
        let ctype = headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-type"))
            .map(|h| h.value.as_slice())
            .unwrap_or_default();
        let media = ctype.split(|&b| b == b';').next().unwrap_or_default().trim_ascii();
        let media = media.to_ascii_lowercase();
        let first = data.iter().find(|b| !b.is_ascii_whitespace()).copied();
        // Each top-level field starts from the body's content decoding.
        let with_base = |cx: &mut Self, loc: &str, g: &mut dyn FnMut(&mut Self)| {
            cx.top(loc, |cx| {
                cx.dec.extend_from_slice(&base);
                g(cx);
            });
        };
        let json_like = media.ends_with(b"json") || matches!(first, Some(b'{' | b'['));
        let form_like = !media.starts_with(b"multipart/") && !json_like;
        if media == b"application/x-www-form-urlencoded"
            || (form_like && decode::looks_like_form(data))
        {
            let mut typer = typed::Typer::default();
            for (k, v) in decode::pairs(data) {
                let mut key = key_string(k, true);
                if let Some(t) = typer.see(key.as_bytes(), v) {
                    key = format!("{key}[{t}]");
                }
                with_base(self, "http.form:", &mut |cx| {
                    json::push_key(&mut cx.loc, key.as_bytes());
                    cx.value(v, 0, Container::Url(true));
                });
            }
        } else if media == b"multipart/form-data"
            && let Some(boundary) = multipart_boundary(ctype)
        {
            let mut parts = 0;
            for part in Multipart::new(data, &boundary) {
                parts += 1;
                with_base(self, "http.multipart:", &mut |cx| {
                    json::push_key(&mut cx.loc, part.name);
                    if let Some(file) = part.filename {
                        cx.emit(file);
                    }
                    cx.value(part.content, 0, Container::Plain);
                });
            }
            if parts == 0 {
                with_base(self, "http.body", &mut |cx| cx.value(data, 0, Container::Plain));
            }
        } else if (media.ends_with(b"json") && !matches!(first, Some(b'"')))
            || (!media.starts_with(b"multipart/") && matches!(first, Some(b'{' | b'[')))
        {
            let mut w = None;
            with_base(self, "", &mut |cx| w = Some(cx.json(data, "http.json:", 0, false)));
            let (pos, values, capped) = w.map_or((0, 0, false), |w| (w.pos, w.values, w.capped));
            let rest =
                if values == 0 && !capped { data } else { data.get(pos..).unwrap_or_default() };
            if !rest.trim_ascii().is_empty() {
                // What follows a syntax error; past the nesting cap, only as it is.
                with_base(self, "http.body", &mut |cx| {
                    if capped { cx.emit(rest) } else { cx.value(rest, 0, Container::Plain) }
                });
            }
        } else if protobuf::is_grpc_media(&media)
            && let Some(msgs) = protobuf::grpc_messages(data)
        {
            let grpc_gzip = headers.iter().any(|h| {
                h.name.eq_ignore_ascii_case("grpc-encoding") && h.value.trim_ascii() == b"gzip"
            });
            for (compressed, msg) in msgs {
                let inflated = if compressed && grpc_gzip {
                    let (d, cut) = decode::inflate(msg, self.budget());
                    self.stats.decoded_capped += u64::from(cut);
                    Some(d)
                } else {
                    None
                };
                with_base(self, "http.protobuf:", &mut |cx| match &inflated {
                    Some(d) => cx.with_step("gzip", |cx| cx.protobuf_or_bytes(d)),
                    None => cx.protobuf_or_bytes(msg),
                });
            }
        } else if protobuf::is_protobuf_media(&media)
            || (!media.starts_with(b"text/") && !decode::worth_searching(data))
                && protobuf::parse(data).is_some()
        {
            with_base(self, "http.protobuf:", &mut |cx| cx.protobuf_or_bytes(data));
        } else {
            with_base(self, "http.body", &mut |cx| cx.value(data, 0, Container::Plain));
        }
    }

    /// A protobuf message at `self.loc` (which ends in `:`), or, when it does not parse, the bytes
    /// as they are (the location then ends in `:`).
    fn protobuf_or_bytes(&mut self, data: &[u8]) {
        if !self.protobuf(data, 0) {
            self.value(data, 0, Container::Plain);
        }
    }

    /// Walks a protobuf message: each field at `self.loc` + its number (nested ones joined by
    /// `.`). False when `data` is not a message.
    fn protobuf(&mut self, data: &[u8], nesting: usize) -> bool {
        let Some(fields) = protobuf::parse(data) else { return false };
        let sep = if nesting == 0 { "" } else { "." };
        for (num, v) in fields {
            self.with_loc(sep, &num.to_string(), |cx| match v {
                protobuf::Value::Bytes(b) => {
                    cx.value(b, 0, Container::Plain);
                    if protobuf::looks_like_message(b) {
                        if nesting + 1 < protobuf::MAX_NESTING {
                            cx.protobuf(b, nesting + 1);
                        } else {
                            cx.stats.nested_capped += 1;
                        }
                    } else if let Some(ns) = protobuf::packed_varints(b).filter(|n| n.len() > 1) {
                        for n in ns {
                            cx.with_step("varint", |cx| cx.emit(n.to_string().as_bytes()));
                        }
                    }
                }
                protobuf::Value::Varint(n) | protobuf::Value::Fixed64(n) => {
                    cx.with_step("varint", |cx| cx.emit(n.to_string().as_bytes()));
                }
                protobuf::Value::Fixed32(n) => {
                    cx.with_step("varint", |cx| cx.emit(n.to_string().as_bytes()));
                }
            });
        }
        true
    }
}

/// A key for a location: percent-decoded, lossy UTF-8.
fn key_string(k: &[u8], plus: bool) -> String {
    if decode::has_url_escape(k, plus) {
        String::from_utf8_lossy(&decode::url_decode(k, plus)).into_owned()
    } else {
        String::from_utf8_lossy(k).into_owned()
    }
}

/// The `decoded` name of a Content-Encoding value (`identity` adds nothing).
fn content_coding(e: &str) -> Option<&'static str> {
    let e = e.trim();
    Some(match e.to_ascii_lowercase().as_str() {
        "identity" | "" => return None,
        "gzip" | "x-gzip" => "gzip",
        "deflate" => "deflate",
        "br" => "br",
        "zstd" => "zstd",
        "compress" | "x-compress" => "compress",
        _ => "content-encoding",
    })
}

/// The `boundary` parameter of a multipart Content-Type (quoted or not).
fn multipart_boundary(ctype: &[u8]) -> Option<Vec<u8>> {
    for param in ctype.split(|&b| b == b';').skip(1) {
        let param = param.trim_ascii();
        let Some(eq) = memchr::memchr(b'=', param) else { continue };
        if !param[..eq].trim_ascii().eq_ignore_ascii_case(b"boundary") {
            continue;
        }
        let v = param[eq + 1..].trim_ascii();
        let v = v.strip_prefix(b"\"").map_or(v, |v| v.strip_suffix(b"\"").unwrap_or(v));
        if v.is_empty() || v.len() > MAX_BOUNDARY_LEN {
            return None;
        }
        return Some(v.to_vec());
    }
    None
}

/// One part of a multipart body.
struct Part<'a> {
    name: &'a [u8],
    filename: Option<&'a [u8]>,
    content: &'a [u8],
}

/// Iterator over the parts of a multipart body (a part cut by the end of a truncated body is
/// returned with what it holds).
struct Multipart<'a> {
    data: &'a [u8],
    /// `--boundary`.
    delim: Vec<u8>,
    /// Offset just past the current delimiter; `None` when done.
    pos: Option<usize>,
}

impl<'a> Multipart<'a> {
    fn new(data: &'a [u8], boundary: &[u8]) -> Self {
        let mut delim = b"--".to_vec();
        delim.extend_from_slice(boundary);
        let pos = memchr::memmem::find(data, &delim).map(|i| i + delim.len());
        Self { data, delim, pos }
    }
}

impl<'a> Iterator for Multipart<'a> {
    type Item = Part<'a>;

    fn next(&mut self) -> Option<Part<'a>> {
        let data = self.data;
        let p = self.pos.take()?;
        let rest = data.get(p..)?;
        if rest.starts_with(b"--") {
            return None;
        }
        // Skip the rest of the delimiter line, then the part headers up to a blank line.
        let line_end = memchr::memchr(b'\n', rest)? + 1;
        let rest = &rest[line_end..];
        let (head, body) = match memchr::memmem::find(rest, b"\r\n\r\n") {
            Some(i) => (&rest[..i], &rest[i + 4..]),
            None => match memchr::memmem::find(rest, b"\n\n") {
                Some(i) => (&rest[..i], &rest[i + 2..]),
                None => (rest, &rest[rest.len()..]),
            },
        };
        let content = match memchr::memmem::find(body, &self.delim) {
            Some(i) => {
                let offset_in_data = data.len() - body.len() + i;
                self.pos = Some(offset_in_data + self.delim.len());
                let c = &body[..i];
                let c = c.strip_suffix(b"\n").unwrap_or(c);
                c.strip_suffix(b"\r").unwrap_or(c)
            }
            None => body,
        };
        let (mut name, mut filename) = (&b""[..], None);
        for line in head.split(|&b| b == b'\n') {
            let line = line.trim_ascii();
            let Some(colon) = memchr::memchr(b':', line) else { continue };
            if !line[..colon].eq_ignore_ascii_case(b"content-disposition") {
                continue;
            }
            for param in line[colon + 1..].split(|&b| b == b';') {
                let param = param.trim_ascii();
                let Some(eq) = memchr::memchr(b'=', param) else { continue };
                let v = param[eq + 1..].trim_ascii();
                let v = v.strip_prefix(b"\"").map_or(v, |v| v.strip_suffix(b"\"").unwrap_or(v));
                match param[..eq].trim_ascii().to_ascii_lowercase().as_slice() {
                    b"name" => name = v,
                    b"filename" => filename = Some(v),
                    _ => {}
                }
            }
        }
        Some(Part { name, filename, content })
    }
}

#[cfg(test)]
mod tests;
