//! HTTP/1.x requests and responses from the two streams of a TCP flow.
//!
//! Contract:
//! - `ToServer` carries requests, `ToClient` responses. Each direction is a small state machine:
//!   idle (skipping empty lines) -> head (gathered until the empty line, at most
//!   [`MAX_HEADER_BLOCK`] bytes) -> body (Content-Length, chunked, or until the stream ends) ->
//!   idle. An event is emitted when its message is complete: a request with its body, a response
//!   with its body. Pipelined and keep-alive messages follow one another.
//! - The head is parsed in place when it lies within one chunk, else from a bounded buffer. Body
//!   bytes are copied only up to [`MAX_BODY_DECODED`]; past it they are only counted.
//! - Responses are matched to requests in order through a queue of at most [`MAX_PENDING`]
//!   requests, so responses to `HEAD` have no body; 1xx (interim, e.g. `100 Continue`), 204 and
//!   304 responses have none either. A `101` switches to another protocol: nothing more is parsed
//!   in either direction. A 2xx answer to `CONNECT` opens a tunnel: the parser stops both
//!   directions and records where the tunnel starts in each (with the client bytes it holds), and
//!   [`crate::Session`] detects the protocol of the rest (TLS, or plain HTTP again, as tshark
//!   does). While a `CONNECT` or `Upgrade` request waits for its answer, later client bytes are
//!   held (at most [`MAX_HEADER_BLOCK`]; beyond that they are counted as lost) and parsed once the
//!   answer is known.
//! - Bodies are content-decoded (gzip, x-gzip, deflate, br, stacked) with the output capped, see
//!   [`Body`]. Decoding runs once the body is complete, over the raw bytes kept
//!   (at most [`MAX_BODY_DECODED`]), and writes at most [`MAX_BODY_DECODED`] bytes per stage: a
//!   zip bomb costs the cap, not its expansion. Compression transfer codings (`Transfer-Encoding:
//!   gzip, chunked`, rare) are undone too and listed after the content codings.
//! - Hostile input never panics and never makes the parser emit junk: a direction whose bytes are
//!   not HTTP or whose head is larger than [`MAX_HEADER_BLOCK`] is counted (`http_malformed`,
//!   `http_header_capped`) and then ignored. A message whose head parsed but whose body cannot be
//!   framed (conflicting Content-Length, bad chunk size) is emitted with its body `truncated`,
//!   then the direction stops (`http_malformed`). A gap inside a body is counted as body bytes
//!   (the body is `truncated`, bytes after the hole are not kept) and framing goes on; a gap
//!   anywhere else stops the direction. Each gap that reaches a parsing direction counts in
//!   `gaps`.
//! - Messages cut by the end of the stream: a body read until close is complete; any other body
//!   is emitted `truncated`; a message whose head is not complete is not emitted.
//! - Lenient where tshark and browsers are, so request lines match tshark's
//!   `http.request.method` / `http.request.uri` (see `parse::parse_request_line`), and header
//!   values are kept raw (tshark's `http.host` is the raw Host value; [`HttpRequest::host`] is
//!   normalised: lower-case, port, IPv6 brackets and a trailing dot removed, else taken from an
//!   absolute-form or `CONNECT` URI).
//! - A [`Chunk::Datagram`] (HTTP over UDP, e.g. SSDP `M-SEARCH` / `NOTIFY`) is parsed as one
//!   self-contained message stream, a request or a response according to its first bytes.

use std::collections::VecDeque;

use flow::{Chunk, Direction};

use self::body::{BodyReader, Framing, GapOutcome, Progress};
use self::parse::{FramingFields, Verdict};
use crate::{Anomalies, Body, Event, Handoff, Header, HttpRequest, HttpResponse, HttpVersion};

mod body;
pub(crate) mod decode;
mod parse;
#[cfg(test)]
pub(crate) mod tests;

/// Largest header block (request/status line + headers) buffered.
pub const MAX_HEADER_BLOCK: usize = 64 * 1024;
/// Largest decoded body kept per message.
pub const MAX_BODY_DECODED: usize = 4 << 20;
/// Requests awaiting their response at once (pipelining).
pub const MAX_PENDING: usize = 64;
/// Bytes [`looks_like_request`] needs to recognise every known method (unless the stream is
/// shorter).
pub const MIN_SNIFF_LEN: usize = 8;

/// A buffer that grew past this is freed rather than kept for the next message.
const KEEP_BUFFER: usize = 16 * 1024;

/// Which kind of message a direction carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Request,
    Response,
}

/// What a response needs to know about its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReqKind {
    /// `HEAD`: the response has no body.
    Head,
    /// `CONNECT`: a 2xx response opens a tunnel, maybe carrying HTTP.
    Connect,
    /// Any request with an `Upgrade` field: a 101 response switches protocols.
    Upgrade,
    /// Anything else.
    Other,
}

/// State both directions see.
#[derive(Debug, Default)]
struct Shared {
    /// Requests whose final response has not been parsed yet, oldest first.
    /// Invariant: `pending.len() <= MAX_PENDING`.
    pending: VecDeque<ReqKind>,
    /// A `CONNECT` / `Upgrade` request waits for its answer; later client bytes are held.
    awaiting_switch: bool,
    /// The connection switched to another protocol (101): nothing more is parsed.
    opaque: bool,
    /// The answer to a `CONNECT` / `Upgrade` request was just parsed: the response direction
    /// pauses so the held client bytes are parsed first (events then come in the same order
    /// however the streams are cut).
    answer: Option<Answer>,
    /// A `CONNECT` tunnel opened: where it starts, for the session to take.
    tunnel: Option<Box<Handoff>>,
    /// The switch answered is to WebSocket (with `permessage-deflate` when true).
    websocket: Option<bool>,
}

/// How a `CONNECT` / `Upgrade` request was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// No switch: the connection stays HTTP.
    Refused,
    /// `CONNECT` 2xx: a tunnel, starting at this server stream offset.
    Tunnel(u64),
}

/// Everything a direction writes to while it parses.
struct Cx<'a> {
    shared: &'a mut Shared,
    out: &'a mut Vec<Event>,
    an: &'a mut Anomalies,
}

/// Parsing state of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between messages, skipping empty lines.
    Idle,
    /// Gathering a head whose first byte is at stream offset `start`.
    Head { start: u64 },
    /// Reading the body of the current message.
    Body,
    /// Holding client bytes until the answer to a `CONNECT` / `Upgrade` request.
    Held,
    /// Not parsing any more (not HTTP, broken framing, gap, protocol switch, end of stream).
    Stopped,
}

/// A message whose head is parsed and whose body is being read.
#[derive(Debug)]
struct Message {
    /// The event, body not filled in yet.
    event: Event,
    /// Content codings (then transfer codings other than chunked), in the order applied.
    codings: Vec<String>,
    reader: BodyReader,
    /// After this request, hold the client's bytes until the answer (`CONNECT`, `Upgrade`).
    hold_after: bool,
}

/// One direction of the connection.
#[derive(Debug)]
struct Half {
    side: Side,
    state: State,
    /// Head bytes when a head spans chunks. Invariant: `buf.len() <= MAX_HEADER_BLOCK`.
    buf: Vec<u8>,
    /// The head-end search resumes here. Invariant: `scan <= buf.len()`.
    scan: usize,
    /// The first line of the buffered head is complete and was checked.
    line_checked: bool,
    /// The message being read (in `State::Body`).
    msg: Option<Box<Message>>,
    /// Client bytes held in `State::Held`, the first at stream offset `held_offset`.
    /// Invariant: `held.len() <= MAX_HEADER_BLOCK`.
    held: Vec<u8>,
    /// Stream offset where holding started (just past the `CONNECT` / `Upgrade` request), if it
    /// did; kept when the direction stops, so that a tunnel knows where its bytes were lost.
    held_offset: Option<u64>,
    /// Stream offset just past everything this direction was given (data or gap).
    pos: u64,
    /// The stream ended.
    ended: bool,
    /// Undo content codings of bodies (else bodies stay as sent; see
    /// [`HttpParser::with_options`]).
    decode: bool,
}

/// HTTP parser for one flow.
#[derive(Debug)]
pub struct HttpParser {
    /// Client to server: requests.
    req: Half,
    /// Server to client: responses.
    resp: Half,
    shared: Shared,
}

impl Default for HttpParser {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpParser {
    /// A parser for a new flow.
    pub fn new() -> Self {
        Self::with_options(true)
    }

    /// A parser that leaves response bodies as sent when `decode_responses` is false: no
    /// gzip/deflate/br inflation (a quarter of the time on compressed HTTP) for a caller that
    /// never reads them. Such response events keep `content_encoding` but their `body` holds the
    /// coded bytes.
    pub fn with_options(decode_responses: bool) -> Self {
        let mut resp = Half::new(Side::Response);
        resp.decode = decode_responses;
        Self { req: Half::new(Side::Request), resp, shared: Shared::default() }
    }

    /// Stream data of one direction (or one UDP datagram); events are appended to `out`.
    pub fn data(
        &mut self,
        dir: Direction,
        chunk: Chunk<'_>,
        out: &mut Vec<Event>,
        an: &mut Anomalies,
    ) {
        if let Chunk::Datagram(bytes) = chunk {
            datagram(bytes, out, an);
            return;
        }
        let mut cx = Cx { shared: &mut self.shared, out, an };
        match dir {
            Direction::ToServer => self.req.chunk(chunk, None, &mut cx),
            Direction::ToClient => self.resp.chunk(chunk, Some(&mut self.req), &mut cx),
        }
        if self.shared.opaque {
            self.req.stop();
            self.resp.stop();
        }
    }

    /// Where a `CONNECT` tunnel starts, once its 2xx answer was parsed (given once). Both
    /// directions are stopped by then; the caller detects what the tunnel carries.
    pub fn take_tunnel(&mut self) -> Option<Handoff> {
        self.shared.tunnel.take().map(|h| *h)
    }
}

/// One UDP payload: a self-contained message stream. A datagram whose head lacks the final empty
/// line (seen in SSDP) is completed with one.
fn datagram(bytes: &[u8], out: &mut Vec<Event>, an: &mut Anomalies) {
    let side = if bytes.starts_with(b"HTTP/") { Side::Response } else { Side::Request };
    let mut half = Half::new(side);
    let mut shared = Shared::default();
    let mut cx = Cx { shared: &mut shared, out, an };
    let skip = bytes.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
    let rest = bytes.get(skip..).unwrap_or_default();
    let owned;
    let bytes = if !rest.is_empty() && parse::find_head_end(rest, 0).is_err() {
        owned = [bytes, b"\r\n\r\n"].concat();
        &owned
    } else {
        bytes
    };
    half.chunk(Chunk::Data { offset: 0, bytes }, None, &mut cx);
    half.chunk(Chunk::End, None, &mut cx);
}

/// The body of an HTTP/2 or HTTP/3 message from its raw bytes (at most [`MAX_BODY_DECODED`] kept):
/// the content codings named by `headers` undone as for HTTP/1 when `decode`. `incomplete`: the
/// message was cut (reset stream, gap, end of connection); `capped`: raw bytes were dropped.
pub(crate) fn body_from_raw(
    headers: &[Header],
    raw: Vec<u8>,
    wire_len: u64,
    incomplete: bool,
    capped: bool,
    decode: bool,
    an: &mut Anomalies,
) -> Body {
    let codings = parse::framing_fields(headers).content;
    decoded_body(raw, wire_len, &codings, incomplete, capped, decode, an)
}

/// A message body from its raw bytes: `codings` undone (when `decode`) up to
/// [`MAX_BODY_DECODED`], a capped stage counted in `http_body_capped`. Shared by HTTP/1
/// ([`body::BodyReader::finish`]) and HTTP/2.
pub(super) fn decoded_body(
    raw: Vec<u8>,
    wire_len: u64,
    codings: &[String],
    incomplete: bool,
    capped: bool,
    decode: bool,
    an: &mut Anomalies,
) -> Body {
    let mut body = Body {
        wire_len,
        data: Vec::new(),
        truncated: incomplete || capped,
        content_encoding: codings.to_vec(),
        decode_failed: false,
    };
    let mut any_capped = capped;
    let decoded = if decode { decode::decode(&raw, codings, MAX_BODY_DECODED) } else { Ok(None) };
    match decoded {
        Ok(None) => body.data = raw,
        Ok(Some(d)) => {
            body.data = d.data;
            body.truncated |= d.capped || d.incomplete;
            any_capped |= d.capped;
        }
        Err(decode::Failed) => {
            body.data = raw;
            body.decode_failed = true;
        }
    }
    if any_capped {
        an.http_body_capped += 1;
    }
    body
}

/// A host name from an authority or Host value: lower-case, port and trailing dot removed.
pub fn host_of(authority: &[u8]) -> Option<String> {
    parse::host_of(authority)
}

/// The body of a message whose raw bytes (as sent, after any transfer framing) were recorded
/// elsewhere (a mitmproxy flow dump): the content coding its `headers` name undone when `decode`,
/// as for a captured message.
pub fn body_from_parts(headers: &[Header], raw: Vec<u8>, decode: bool, an: &mut Anomalies) -> Body {
    let capped = raw.len() > MAX_BODY_DECODED;
    let wire_len = raw.len() as u64;
    let mut raw = raw;
    raw.truncate(MAX_BODY_DECODED);
    body_from_raw(headers, raw, wire_len, false, capped, decode, an)
}

/// True if `prefix` (the first bytes of a client-to-server stream) starts like an HTTP/1.x request:
/// a known method token followed by a space, or ending its line (`OPTIONS` alone on its line,
/// zeek's `http/methods` capture, is a request to tshark too, with an empty URI).
///
/// Known methods are those of tshark's HTTP dissector (HTTP, WebDAV, UPnP `NOTIFY` / `SUBSCRIBE`,
/// `M-SEARCH` and other RFC 2774 `M-` forms, ...). The caller gives at least [`MIN_SNIFF_LEN`]
/// bytes, or the whole stream if it is shorter: a prefix without a space is accepted if it has
/// at least [`MIN_SNIFF_LEN`] bytes and is the start of a known method of that length or more
/// (`PROPFIND`, `BASELINE`), and refused otherwise.
pub fn looks_like_request(prefix: &[u8]) -> bool {
    let window = prefix.get(..prefix.len().min(parse::MAX_METHOD_LEN + 1)).unwrap_or_default();
    match memchr::memchr3(b' ', b'\r', b'\n', window) {
        Some(i) => parse::is_known_method(window.get(..i).unwrap_or_default()),
        None => window.len() >= MIN_SNIFF_LEN && parse::is_known_method_prefix(window),
    }
}

impl Half {
    fn new(side: Side) -> Self {
        Self {
            side,
            state: State::Idle,
            buf: Vec::new(),
            scan: 0,
            line_checked: false,
            msg: None,
            held: Vec::new(),
            held_offset: None,
            pos: 0,
            ended: false,
            decode: true,
        }
    }

    /// One chunk of this direction's stream. `client`: the request direction, given to the
    /// response direction so that held client bytes are parsed as soon as a switch is answered.
    fn chunk(&mut self, chunk: Chunk<'_>, mut client: Option<&mut Self>, cx: &mut Cx<'_>) {
        match chunk {
            Chunk::Data { offset, bytes } => {
                self.pos = self.pos.max(offset.saturating_add(bytes.len() as u64));
                let mut done = 0;
                loop {
                    let rest = bytes.get(done..).unwrap_or_default();
                    let used = self.feed(offset.saturating_add(done as u64), rest, cx);
                    done += used;
                    let Some(answer) = cx.shared.answer.take() else { break };
                    if let Some(c) = client.as_deref_mut() {
                        c.resume(answer, cx);
                    }
                    if used == 0 || done >= bytes.len() {
                        break;
                    }
                }
            }
            Chunk::Gap { offset, len } => {
                self.pos = self.pos.max(offset.saturating_add(len));
                if self.state == State::Held {
                    // The held bytes are not complete any more.
                    self.held_offset.get_or_insert(offset);
                }
                self.gap(len, cx);
            }
            Chunk::End => {
                self.ended = true;
                self.end(cx);
            }
            Chunk::Datagram(_) => {}
        }
    }

    /// Goes on after the answer to a switch: parses the client bytes held meanwhile as HTTP
    /// (`Refused`), or hands them over with the tunnel's offsets and stops (`Tunnel`).
    fn resume(&mut self, answer: Answer, cx: &mut Cx<'_>) {
        let was_held = self.state == State::Held;
        let held = if was_held { std::mem::take(&mut self.held) } else { Vec::new() };
        let held_offset = self.held_offset.take();
        match answer {
            Answer::Refused if was_held => {
                self.state = State::Idle;
                self.feed(held_offset.unwrap_or(self.pos), &held, cx);
            }
            Answer::Refused => {}
            Answer::Tunnel(server_from) => {
                // Nothing held: the tunnel starts with the client's next byte.
                let client_from = held_offset.unwrap_or(self.pos);
                cx.shared.tunnel = Some(Box::new(Handoff {
                    client_from,
                    held,
                    client_to: self.pos.max(client_from),
                    client_ended: self.ended,
                    server_from,
                    websocket: cx.shared.websocket,
                }));
                self.stop();
            }
        }
    }

    /// Stops this direction for good and frees its buffers.
    fn stop(&mut self) {
        self.state = State::Stopped;
        self.buf = Vec::new();
        self.scan = 0;
        self.msg = None;
        self.held = Vec::new();
    }

    /// The bytes are not HTTP (or not any more): counted.
    fn malformed(&mut self, cx: &mut Cx<'_>) {
        cx.an.http_malformed += 1;
        self.stop();
    }

    /// Bytes of the stream starting at offset `off`. Returns how many were taken: all of them,
    /// unless an answered switch makes the response direction pause (`Shared::answer`).
    fn feed(&mut self, mut off: u64, data: &[u8], cx: &mut Cx<'_>) -> usize {
        let mut done = 0;
        while let Some(rest) = data.get(done..).filter(|r| !r.is_empty()) {
            let before = self.state;
            let used = match self.state {
                State::Stopped => return data.len(),
                State::Held => {
                    self.hold(off, rest);
                    return data.len();
                }
                State::Idle => {
                    let n = rest.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
                    if n < rest.len() {
                        self.state = State::Head { start: off + n as u64 };
                        self.line_checked = false;
                    }
                    n
                }
                State::Head { start } => self.head(start, rest, cx),
                State::Body => self.body(rest, cx),
            };
            let used = used.min(rest.len());
            if used == 0 && self.state == before {
                // Every step consumes a byte or changes state; never loop without progress.
                debug_assert!(false, "http parser made no progress in {before:?}");
                self.stop();
                return data.len();
            }
            done += used;
            off = off.saturating_add(used as u64);
            if cx.shared.answer.is_some() {
                return done;
            }
        }
        done
    }

    /// Client bytes while waiting for the answer to `CONNECT` / `Upgrade`. More than
    /// [`MAX_HEADER_BLOCK`] of them is most likely tunnel data sent ahead of the answer: the
    /// direction stops without a count (a tunnel then starts with a gap).
    fn hold(&mut self, off: u64, data: &[u8]) {
        self.held_offset.get_or_insert(off);
        if self.held.len().saturating_add(data.len()) > MAX_HEADER_BLOCK {
            self.stop();
        } else {
            self.held.extend_from_slice(data);
        }
    }

    /// What the start of a head (`lf`: its first LF, if there) says about it.
    fn verdict(&self, start: &[u8], lf: Option<usize>) -> Verdict {
        match self.side {
            Side::Request => parse::request_start(start, lf),
            Side::Response => parse::response_start(start, lf),
        }
    }

    /// Gathers a head; returns the bytes of `data` used.
    fn head(&mut self, start: u64, data: &[u8], cx: &mut Cx<'_>) -> usize {
        if self.buf.is_empty() {
            // Zero-copy path: the whole head is in this chunk.
            let window = data.get(..data.len().min(MAX_HEADER_BLOCK)).unwrap_or_default();
            return match parse::find_head_end(window, 0) {
                Ok(end) => {
                    self.on_head(start, window.get(..end).unwrap_or_default(), cx);
                    end
                }
                Err(resume) => {
                    let lf = memchr::memchr(b'\n', window);
                    if self.verdict(window, lf) == Verdict::Bad {
                        self.malformed(cx);
                    } else if data.len() >= MAX_HEADER_BLOCK {
                        cx.an.http_header_capped += 1;
                        self.stop();
                    } else {
                        self.buf.extend_from_slice(data);
                        self.scan = resume;
                        self.line_checked = lf.is_some();
                    }
                    data.len()
                }
            };
        }
        let old = self.buf.len();
        let take = MAX_HEADER_BLOCK.saturating_sub(old).min(data.len());
        self.buf.extend_from_slice(data.get(..take).unwrap_or_default());
        match parse::find_head_end(&self.buf, self.scan) {
            Ok(end) => {
                let mut buf = std::mem::take(&mut self.buf);
                self.on_head(start, buf.get(..end).unwrap_or_default(), cx);
                self.scan = 0;
                if self.state != State::Stopped && buf.capacity() <= KEEP_BUFFER {
                    buf.clear();
                    self.buf = buf;
                }
                // The search covered the old bytes, so the head ends in the new ones.
                end.saturating_sub(old).max(1)
            }
            Err(resume) => {
                self.scan = resume;
                // Check the first line once it is complete (searching only the new bytes for its
                // end); before that, the method token, which is decided within the first bytes.
                let verdict = if self.line_checked {
                    Verdict::Plausible
                } else {
                    let new = self.buf.get(old..).unwrap_or_default();
                    let lf = memchr::memchr(b'\n', new).map(|i| i + old);
                    self.line_checked = lf.is_some();
                    if lf.is_some() || old <= 2 * parse::MAX_METHOD_LEN {
                        self.verdict(&self.buf, lf)
                    } else {
                        Verdict::Plausible
                    }
                };
                if verdict == Verdict::Bad {
                    self.malformed(cx);
                } else if self.buf.len() >= MAX_HEADER_BLOCK {
                    cx.an.http_header_capped += 1;
                    self.stop();
                }
                take.max(1)
            }
        }
    }

    fn on_head(&mut self, start: u64, head: &[u8], cx: &mut Cx<'_>) {
        match self.side {
            Side::Request => self.on_request_head(start, head, cx),
            Side::Response => self.on_response_head(start, head, cx),
        }
    }

    fn on_request_head(&mut self, start: u64, head: &[u8], cx: &mut Cx<'_>) {
        let Ok(h) = parse::parse_request_head(head) else { return self.malformed(cx) };
        let fields = parse::framing_fields(&h.headers);
        let kind = match h.method.as_str() {
            "HEAD" => ReqKind::Head,
            "CONNECT" => ReqKind::Connect,
            _ if fields.upgrade => ReqKind::Upgrade,
            _ => ReqKind::Other,
        };
        let tracked = cx.shared.pending.len() < MAX_PENDING;
        if tracked {
            cx.shared.pending.push_back(kind);
        } else {
            cx.an.http_tx_capped += 1;
        }
        let hold_after = tracked && matches!(kind, ReqKind::Connect | ReqKind::Upgrade);
        if hold_after {
            cx.shared.awaiting_switch = true;
        }
        let host = h
            .headers
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case("host"))
            .and_then(|f| parse::host_of(&f.value))
            .or_else(|| {
                parse::uri_authority(&h.method, &h.uri).and_then(|a| parse::host_of(a.as_bytes()))
            });
        let framing = request_framing(&fields);
        let event = Event::HttpRequest(HttpRequest {
            offset: start,
            method: h.method,
            uri: h.uri,
            version: HttpVersion::H1(h.version),
            stream: None,
            host,
            headers: h.headers,
            body: Body::default(),
        });
        self.start_body(event, fields, framing, hold_after, cx);
    }

    fn on_response_head(&mut self, start: u64, head: &[u8], cx: &mut Cx<'_>) {
        let Ok(h) = parse::parse_response_head(head) else { return self.malformed(cx) };
        let status = h.status;
        let interim = (100..200).contains(&status) && status != 101;
        let kind = if interim {
            ReqKind::Other
        } else {
            cx.shared.pending.pop_front().unwrap_or(ReqKind::Other)
        };
        let tunnel = kind == ReqKind::Connect && (200..300).contains(&status);
        let switch = status == 101 || tunnel;
        if matches!(kind, ReqKind::Connect | ReqKind::Upgrade)
            && !switch
            && cx.shared.awaiting_switch
        {
            cx.shared.awaiting_switch = false;
            cx.shared.answer = Some(Answer::Refused);
        }
        let fields = parse::framing_fields(&h.headers);
        let event = Event::HttpResponse(HttpResponse {
            offset: start,
            status,
            version: HttpVersion::H1(h.version),
            stream: None,
            headers: h.headers,
            body: Body::default(),
        });
        if tunnel {
            cx.out.push(event);
            cx.shared.pending.clear();
            cx.shared.awaiting_switch = false;
            cx.shared.answer = Some(Answer::Tunnel(start.saturating_add(head.len() as u64)));
            self.stop();
            return;
        }
        let websocket = status == 101
            && kind == ReqKind::Upgrade
            && matches!(&event, Event::HttpResponse(r) if r.headers.iter().any(|f| {
                f.name.eq_ignore_ascii_case("upgrade")
                    && f.value.trim_ascii().eq_ignore_ascii_case(b"websocket")
            }));
        if websocket && let Event::HttpResponse(r) = &event {
            // The rest of both directions is WebSocket frames, from the offsets of a tunnel.
            let deflate = r.headers.iter().any(|f| {
                f.name.eq_ignore_ascii_case("sec-websocket-extensions")
                    && memchr::memmem::find(&f.value, b"permessage-deflate").is_some()
            });
            cx.out.push(event);
            cx.shared.pending.clear();
            cx.shared.awaiting_switch = false;
            cx.shared.websocket = Some(deflate);
            cx.shared.answer = Some(Answer::Tunnel(start.saturating_add(head.len() as u64)));
            self.stop();
            return;
        }
        if switch {
            // What follows is another protocol.
            cx.out.push(event);
            cx.shared.opaque = true;
            self.stop();
            return;
        }
        let bodiless = kind == ReqKind::Head || interim || status == 204 || status == 304;
        let framing = if bodiless { Ok(Framing::Length(0)) } else { response_framing(&fields) };
        self.start_body(event, fields, framing, false, cx);
    }

    /// Starts reading the body of a parsed head (finishing at once if there is none). With broken
    /// framing the message is emitted with an empty, truncated body and the direction stops.
    fn start_body(
        &mut self,
        event: Event,
        fields: FramingFields,
        framing: Result<Framing, ()>,
        hold_after: bool,
        cx: &mut Cx<'_>,
    ) {
        let mut codings = fields.content;
        if let Some(te) = fields.transfer {
            codings.extend(te.into_iter().filter(|c| c != "chunked" && c != "identity"));
        }
        let broken = framing.is_err();
        let reader = BodyReader::new(framing.unwrap_or(Framing::Length(0)));
        let empty = reader.is_empty_length();
        self.msg = Some(Box::new(Message { event, codings, reader, hold_after }));
        if empty {
            self.finish(broken, cx);
        } else {
            self.state = State::Body;
        }
        if broken {
            self.malformed(cx);
        }
    }

    /// Body bytes; returns the bytes of `data` used.
    fn body(&mut self, data: &[u8], cx: &mut Cx<'_>) -> usize {
        let Some(msg) = self.msg.as_mut() else {
            self.state = State::Idle;
            return 0;
        };
        let (used, progress) = msg.reader.feed(data);
        match progress {
            Progress::More => {}
            Progress::Done => self.finish(false, cx),
            Progress::Bad(e) => {
                self.finish(true, cx);
                match e {
                    body::BodyError::TrailerCapped => {
                        cx.an.http_header_capped += 1;
                        self.stop();
                    }
                    body::BodyError::ChunkSize | body::BodyError::ChunkEnd => self.malformed(cx),
                }
            }
        }
        used
    }

    /// Emits the current message; `incomplete`: its body was cut.
    fn finish(&mut self, incomplete: bool, cx: &mut Cx<'_>) {
        self.state = State::Idle;
        let Some(msg) = self.msg.take() else { return };
        let Message { mut event, codings, reader, hold_after } = *msg;
        let (body, trailers) = reader.finish(&codings, self.decode, incomplete, cx.an);
        match &mut event {
            Event::HttpRequest(r) => {
                r.body = body;
                r.headers.extend(trailers);
            }
            Event::HttpResponse(r) => {
                r.body = body;
                r.headers.extend(trailers);
            }
            _ => {}
        }
        cx.out.push(event);
        if hold_after && cx.shared.awaiting_switch {
            self.state = State::Held;
        }
    }

    /// `len` bytes of the stream are missing.
    fn gap(&mut self, len: u64, cx: &mut Cx<'_>) {
        if len == 0 || self.state == State::Stopped {
            return;
        }
        cx.an.gaps += 1;
        if self.state != State::Body {
            self.stop();
            return;
        }
        let outcome = self.msg.as_mut().map_or(GapOutcome::Lost, |m| m.reader.gap(len));
        match outcome {
            GapOutcome::Inside => {}
            GapOutcome::Ended => self.finish(true, cx),
            GapOutcome::Lost => {
                self.finish(true, cx);
                self.stop();
            }
        }
    }

    /// The stream ended.
    fn end(&mut self, cx: &mut Cx<'_>) {
        if self.state == State::Body {
            let until_close = self.msg.as_ref().is_some_and(|m| m.reader.until_close());
            self.finish(!until_close, cx);
        }
        self.stop();
    }
}

/// Request body framing (RFC 9112 section 6.3): chunked if it is the final transfer coding, else
/// Content-Length, else no body. Transfer-Encoding without a final chunked, or a bad or
/// conflicting Content-Length, cannot be framed.
fn request_framing(f: &FramingFields) -> Result<Framing, ()> {
    match transfer_framing(f) {
        Some(Ok(fr)) => Ok(fr),
        Some(Err(())) => Err(()),
        None => Ok(Framing::Length(f.content_length?.unwrap_or(0))),
    }
}

/// Response body framing: as for requests, but without a length the body runs until the stream
/// ends, also when Transfer-Encoding does not end in chunked.
fn response_framing(f: &FramingFields) -> Result<Framing, ()> {
    match transfer_framing(f) {
        Some(Ok(fr)) => Ok(fr),
        Some(Err(())) => Ok(Framing::UntilClose),
        None => Ok(f.content_length?.map_or(Framing::UntilClose, Framing::Length)),
    }
}

/// Framing from Transfer-Encoding: `None` if absent (or only `identity`), `Some(Ok(chunked))` if
/// chunked is the final coding (it wins over Content-Length), `Some(Err)` otherwise.
fn transfer_framing(f: &FramingFields) -> Option<Result<Framing, ()>> {
    let te = f.transfer.as_ref()?;
    let mut real = te.iter().filter(|c| *c != "identity").peekable();
    real.peek()?;
    match real.last() {
        Some(last) if last == "chunked" => Some(Ok(Framing::Chunked(body::ChunkStep::Size))),
        _ => Some(Err(())),
    }
}
