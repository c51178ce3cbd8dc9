//! Tests of the HTTP/1.x parser. Byte literals are hand-written HTTP unless a comment says
//! otherwise; compressed bodies are made in the test with flate2's encoders, brotli streams are
//! literals from brotli-decompressor's own tests.

use std::io::Write;

use flate2::Compression;
use flow::{Chunk, Direction};

use super::*;
use crate::{Anomalies, Event, Header, HttpRequest, HttpResponse};
use testkit::rng::xorshift64;

// ---------------------------------------------------------------------------------------------
// Helpers

/// Feeds `data` to one direction in pieces cut at `cuts` (ascending offsets).
fn feed(
    p: &mut HttpParser,
    dir: Direction,
    data: &[u8],
    cuts: &[usize],
    out: &mut Vec<Event>,
    an: &mut Anomalies,
) {
    let mut start = 0;
    for &c in cuts.iter().chain(std::iter::once(&data.len())) {
        let c = c.clamp(start, data.len());
        if c > start {
            p.data(dir, Chunk::Data { offset: start as u64, bytes: &data[start..c] }, out, an);
        }
        start = c;
    }
}

/// The whole client stream, then the whole server stream, then both ends; each cut at `cuts_c`
/// / `cuts_s`.
fn run_cut(
    client: &[u8],
    server: &[u8],
    cuts_c: &[usize],
    cuts_s: &[usize],
) -> (Vec<Event>, Anomalies) {
    let mut p = HttpParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    feed(&mut p, Direction::ToServer, client, cuts_c, &mut out, &mut an);
    feed(&mut p, Direction::ToClient, server, cuts_s, &mut out, &mut an);
    p.data(Direction::ToServer, Chunk::End, &mut out, &mut an);
    p.data(Direction::ToClient, Chunk::End, &mut out, &mut an);
    (out, an)
}

fn run(client: &[u8], server: &[u8]) -> (Vec<Event>, Anomalies) {
    run_cut(client, server, &[], &[])
}

/// The HTTP requests among `events` (also used by the session's tunnel tests).
pub(crate) fn requests(events: &[Event]) -> Vec<&HttpRequest> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::HttpRequest(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn responses(events: &[Event]) -> Vec<&HttpResponse> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::HttpResponse(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn one_request(client: &[u8]) -> HttpRequest {
    let (ev, an) = run(client, b"");
    assert_eq!(an, Anomalies::default(), "{ev:?}");
    let r = requests(&ev);
    assert_eq!(r.len(), 1, "{ev:?}");
    r[0].clone()
}

fn one_response(server: &[u8]) -> (HttpResponse, Anomalies) {
    let (ev, an) = run(b"", server);
    let r = responses(&ev);
    assert_eq!(r.len(), 1, "{ev:?}");
    (r[0].clone(), an)
}

fn header<'a>(headers: &'a [Header], name: &str) -> Option<&'a [u8]> {
    headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_slice())
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn raw_deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// From brotli-decompressor 6.2.0 `src/bin/integration_tests.rs` (`test_10x_10y`): decodes to
/// ten `X` then ten `Y`.
const BR_10X_10Y: [u8; 12] =
    [0x1b, 0x13, 0x00, 0x00, 0xa4, 0xb0, 0xb2, 0xea, 0x81, 0x47, 0x02, 0x8a];
/// From the same file (`test_intact_distance_ring_buffer0`): decodes to `himselfself`.
const BR_HIMSELFSELF: [u8; 26] = [
    0x1b, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x80, 0xe3, 0xb4, 0x0d, 0x00, 0x00, 0x07, 0x5b, 0x26, 0x31,
    0x40, 0x02, 0x00, 0xe0, 0x4e, 0x1b, 0xa1, 0x80, 0x20, 0x00,
];

/// A response with `body` and the given header lines.
fn response_with(headers: &str, body: &[u8]) -> Vec<u8> {
    let mut v =
        format!("HTTP/1.1 200 OK\r\n{headers}Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    v.extend_from_slice(body);
    v
}

// ---------------------------------------------------------------------------------------------
// Requests

#[test]
fn simple_get() {
    let r = one_request(
        b"GET /index.html?q=1&x=%20 HTTP/1.1\r\nHost: Example.COM:8080\r\nUser-Agent: t/1\r\n\r\n",
    );
    assert_eq!(r.offset, 0);
    assert_eq!(r.method, "GET");
    assert_eq!(r.uri, "/index.html?q=1&x=%20");
    assert_eq!(r.version, crate::HttpVersion::H1(1));
    assert_eq!(r.host.as_deref(), Some("example.com"));
    // The raw Host value is kept (tshark's http.host).
    assert_eq!(header(&r.headers, "host"), Some(&b"Example.COM:8080"[..]));
    assert_eq!(r.headers.len(), 2);
    assert_eq!(r.body, Body::default());
}

#[test]
fn post_with_content_length() {
    let r = one_request(
        b"POST /login HTTP/1.0\r\nHost: h\r\nContent-Length: 22\r\n\r\nlogin=foo&password=bar",
    );
    assert_eq!(r.version, crate::HttpVersion::H1(0));
    assert_eq!(r.body.data, b"login=foo&password=bar");
    assert_eq!(r.body.wire_len, 22);
    assert!(!r.body.truncated);
}

#[test]
fn request_without_length_has_no_body() {
    // From suricata-verify http-request-invalid: the third POST has no Content-Length; its body
    // is then not a request.
    let (ev, an) =
        run(b"POST /index.html HTTP/1.1\r\nHost: h\r\n\r\nlogin=foo&password=bar3\r\n", b"");
    assert_eq!(requests(&ev).len(), 1);
    assert!(requests(&ev)[0].body.data.is_empty());
    assert_eq!(an.http_malformed, 1);
}

#[test]
fn chunked_with_extensions_and_trailers() {
    let r = one_request(
        b"POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
          5;name=\"v\"\r\nhello\r\n6 ; ext\r\n world\r\n000\r\nX-Trailer: t1\r\nX-Other: t2\r\n\r\n",
    );
    assert_eq!(r.body.data, b"hello world");
    assert_eq!(r.body.wire_len, 11);
    assert!(!r.body.truncated);
    assert_eq!(header(&r.headers, "x-trailer"), Some(&b"t1"[..]));
    assert_eq!(header(&r.headers, "x-other"), Some(&b"t2"[..]));
}

#[test]
fn chunked_upper_hex_bare_lf_and_next_message() {
    let (ev, an) = run(
        b"POST /a HTTP/1.1\nTransfer-Encoding: chunked\n\nA\n0123456789\n0\n\nGET /b HTTP/1.1\n\n",
        b"",
    );
    assert_eq!(an, Anomalies::default());
    let r = requests(&ev);
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].body.data, b"0123456789");
    assert_eq!(r[1].uri, "/b");
}

#[test]
fn chunk_size_overflow_is_malformed() {
    // From zeek http/261 variant-01 (chunk size 2^64).
    let (ev, an) = run(
        b"POST / HTTP/1.1\r\nHost: target\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n\r\n\
          GET /smuggled-chunk-2pow64 HTTP/1.1\r\nHost: target\r\n\r\n",
        b"",
    );
    let r = requests(&ev);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].uri, "/");
    assert!(r[0].body.truncated);
    assert_eq!(an.http_malformed, 1);
}

#[test]
fn transfer_encoding_wins_over_content_length() {
    // From zeek http/261 variant-04 (TE/CL desync): tshark shows both requests too.
    let (ev, an) = run(
        b"POST / HTTP/1.1\r\nHost: target\r\nTransfer-Encoding: chunked\r\nContent-Length: 50\r\n\r\n0\r\n\r\n\
          GET /smuggled-te-cl HTTP/1.1\r\nHost: target\r\n\r\n",
        b"",
    );
    assert_eq!(an, Anomalies::default());
    let uris: Vec<_> = requests(&ev).iter().map(|r| r.uri.clone()).collect();
    assert_eq!(uris, ["/", "/smuggled-te-cl"]);
}

#[test]
fn conflicting_content_lengths_are_malformed() {
    // From suricata-verify http-multiple-cl.
    let (ev, an) = run(
        b"POST /which.php HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length:11\r\nContent-Length:93\r\n\r\nbar=1&foo=2\
          POST /evil.php HTTP/1.1\r\n\r\n",
        b"",
    );
    let r = requests(&ev);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].uri, "/which.php");
    assert!(r[0].body.truncated && r[0].body.data.is_empty());
    assert_eq!(an.http_malformed, 1);
    // Equal values, in one list or repeated, are one length.
    let r = one_request(b"POST / HTTP/1.1\r\nContent-Length: 2, 2\r\ncontent-length: 2\r\n\r\nab");
    assert_eq!(r.body.data, b"ab");
}

#[test]
fn transfer_encoding_not_ending_in_chunked() {
    let (ev, an) = run(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nxx", b"");
    assert_eq!(requests(&ev).len(), 1);
    assert_eq!(an.http_malformed, 1);
    // A response reads until close instead.
    let (r, an) = one_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity, foo\r\n\r\nabc");
    assert_eq!(an, Anomalies::default());
    assert_eq!(r.body.wire_len, 3);
}

#[test]
fn obs_fold_and_lenient_fields() {
    let r = one_request(
        b"GET / HTTP/1.1\r\nX-Long: part one\r\n \t part two\r\nHost : Spaced.example\r\n\x7f\r\nno colon here\r\n\
          X-Empty:\r\nX-Raw: caf\xc3\xa9 \x01\r\n\r\n",
    );
    assert_eq!(header(&r.headers, "x-long"), Some(&b"part one part two"[..]));
    assert_eq!(header(&r.headers, "host"), Some(&b"Spaced.example"[..]));
    assert_eq!(r.host.as_deref(), Some("spaced.example"));
    assert_eq!(header(&r.headers, "x-empty"), Some(&b""[..]));
    assert_eq!(header(&r.headers, "x-raw"), Some(&b"caf\xc3\xa9 \x01"[..]));
    assert_eq!(r.headers.len(), 4);
}

#[test]
fn bare_lf_and_case_insensitive_names() {
    let r = one_request(b"POST /x HTTP/1.1\nhOsT:wwww.lan:8080\nCONTENT-LENGTH: 3\n\nabc");
    assert_eq!(r.host.as_deref(), Some("wwww.lan"));
    assert_eq!(r.body.data, b"abc");
}

#[test]
fn host_forms() {
    let host = |req: &[u8]| one_request(req).host;
    assert_eq!(
        host(b"GET / HTTP/1.1\r\nHost: [2001:DB8::1]:8080\r\n\r\n").as_deref(),
        Some("2001:db8::1")
    );
    assert_eq!(host(b"GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n").as_deref(), Some("::1"));
    assert_eq!(
        host(b"GET / HTTP/1.1\r\nHost: example.com.\r\n\r\n").as_deref(),
        Some("example.com")
    );
    assert_eq!(host(b"GET / HTTP/1.1\r\nHost: \r\n\r\n"), None);
    assert_eq!(host(b"GET / HTTP/1.0\r\n\r\n"), None);
    // Absolute-form URI, no Host field (proxy request).
    assert_eq!(
        host(b"GET http://user:pw@Hkextshort.weixin.qq.com:80/cgi-bin/x?a=b HTTP/1.1\r\n\r\n")
            .as_deref(),
        Some("hkextshort.weixin.qq.com")
    );
    // The Host field wins over the URI.
    assert_eq!(
        host(b"GET http://a.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n").as_deref(),
        Some("b.example")
    );
    assert_eq!(host(b"CONNECT abc:443 HTTP/1.1\r\n\r\n").as_deref(), Some("abc"));
}

#[test]
fn request_lines_as_tshark_reads_them() {
    // From zeek http/methods.pcap and suricata-verify http-uri-spaces; expected values are
    // tshark's http.request.method / http.request.uri.
    let line = |req: &[u8]| {
        let r = one_request(req);
        format!("{} {}", r.method, r.uri)
    };
    assert_eq!(line(b"OPTIONS * HTTP/1.1\nHost: www.google.com\n\n"), "OPTIONS *");
    assert_eq!(line(b"OPTIONS HTTP/1.1\nHost: www.google.com\n\n"), "OPTIONS HTTP/1.1");
    assert_eq!(line(b"OPTIONS\nHost: www.google.com\n\n"), "OPTIONS ");
    assert_eq!(line(b"GET / HTTP/1.\nHost: www.google.com\n\n"), "GET /");
    assert_eq!(line(b"GET /HTTP/1.1\nHost: www.google.com\n\n"), "GET /HTTP/1.1");
    assert_eq!(line(b"CCM_POST / HTTP/1.1\nHost: www.google.com\n\n"), "CCM_POST /");
    assert_eq!(line(b"GET /uri afterspace HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n"), "GET /uri");
    assert_eq!(line(b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\n"), "M-SEARCH *");
    // An unknown method is accepted with a proper version.
    assert_eq!(line(b"FOO /bar HTTP/1.1\r\n\r\n"), "FOO /bar");
    // tshark reports an empty URI here; we skip the spaces (documented difference).
    assert_eq!(line(b"GET      /very_long_uri HTTP/1.1\r\n\r\n"), "GET /very_long_uri");
    assert_eq!(one_request(b"GET /x HTTP/1.1\r\n\r\n").version, crate::HttpVersion::H1(1));
    assert_eq!(one_request(b"GET /x\r\n\r\n").version, crate::HttpVersion::H1(0));
}

#[test]
fn request_lines_tshark_rejects_are_malformed() {
    for req in [
        &b"GET/ HTTP/1.1\nHost: www.google.com\n\n"[..],
        b"OPTIONSHTTP/1.1\nHost: www.google.com\n\n",
        b"\xc3\x83\xc3\x82\xc3\x83 / HTTP/1.\nHost: www.google.com\n\n",
        b"FOO /bar\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    ] {
        let (ev, an) = run(req, b"");
        assert!(ev.is_empty(), "{ev:?}");
        assert_eq!(an.http_malformed, 1, "{}", String::from_utf8_lossy(req));
    }
}

#[test]
fn pipelined_requests_in_one_segment() {
    let client = b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz\r\n\
                   GET /3 HTTP/1.1\r\nHost: a\r\n\r\n";
    let (ev, an) = run(client, b"");
    assert_eq!(an, Anomalies::default());
    let r = requests(&ev);
    let got: Vec<_> = r.iter().map(|r| (r.offset, r.uri.as_str())).collect();
    // The stray CR LF after the POST body is skipped (RFC 9112 section 2.2).
    let third = client.windows(6).position(|w| w == b"GET /3").unwrap() as u64;
    assert_eq!(got, [(0, "/1"), (28, "/2"), (third, "/3")]);
}

#[test]
fn keep_alive_exchange() {
    let client = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
    let server = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nnf";
    let (ev, an) = run(client, server);
    assert_eq!(an, Anomalies::default());
    let s: Vec<_> = responses(&ev).iter().map(|r| (r.status, r.body.data.clone())).collect();
    assert_eq!(s, [(200, b"a".to_vec()), (404, b"nf".to_vec())]);
}

// ---------------------------------------------------------------------------------------------
// Responses and their matching to requests

#[test]
fn head_and_304_responses_have_no_body() {
    let client = b"HEAD /f HTTP/1.1\r\nHost: h\r\n\r\nGET /g HTTP/1.1\r\nHost: h\r\n\r\nGET /i HTTP/1.1\r\n\r\n";
    let server = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n\
                   HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n\
                   HTTP/1.1 204 No Content\r\n\r\n";
    let (ev, an) = run(client, server);
    assert_eq!(an, Anomalies::default());
    let s: Vec<_> =
        responses(&ev).iter().map(|r| (r.status, r.body.wire_len, r.body.truncated)).collect();
    assert_eq!(s, [(200, 0, false), (304, 0, false), (204, 0, false)]);
}

#[test]
fn continue_precedes_the_final_response() {
    let client =
        b"POST /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody";
    let server = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n\
                   HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    let (ev, an) = run(client, server);
    assert_eq!(an, Anomalies::default());
    assert_eq!(requests(&ev)[0].body.data, b"body");
    let s: Vec<_> = responses(&ev).iter().map(|r| (r.status, r.body.data.clone())).collect();
    assert_eq!(s, [(100, vec![]), (103, vec![]), (201, b"ok".to_vec())]);
}

#[test]
fn head_response_matched_after_interleaving() {
    // Request and response chunks interleaved as on the wire.
    let mut p = HttpParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    let mut off = [0u64; 2];
    let mut send =
        |p: &mut HttpParser, dir: Direction, b: &[u8], out: &mut Vec<Event>, an: &mut Anomalies| {
            let i = dir.index();
            p.data(dir, Chunk::Data { offset: off[i], bytes: b }, out, an);
            off[i] += b.len() as u64;
        };
    send(&mut p, Direction::ToServer, b"HEAD / HTTP/1.1\r\n\r\n", &mut out, &mut an);
    send(
        &mut p,
        Direction::ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
        &mut out,
        &mut an,
    );
    send(&mut p, Direction::ToServer, b"GET / HTTP/1.1\r\n\r\n", &mut out, &mut an);
    send(
        &mut p,
        Direction::ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        &mut out,
        &mut an,
    );
    assert_eq!(an, Anomalies::default());
    let s: Vec<_> = responses(&out).iter().map(|r| (r.offset, r.body.data.clone())).collect();
    assert_eq!(s, [(0, vec![]), (38, b"hello".to_vec())]);
}

#[test]
fn read_until_close() {
    let (r, an) =
        one_response(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello, until close");
    assert_eq!(an, Anomalies::default());
    assert_eq!(r.version, crate::HttpVersion::H1(0));
    assert_eq!(r.body.data, b"hello, until close");
    assert!(!r.body.truncated);
}

#[test]
fn status_line_forms() {
    // From suricata-verify http-evader-380: no status code; browsers take it as 200.
    let (r, _) =
        one_response(b"HTTP/1.1\r\nTransfer-Encoding:chunked\r\n\r\n4\r\nX5O!\r\n0\r\n\r\n");
    assert_eq!((r.status, r.body.data.as_slice()), (200, &b"X5O!"[..]));
    let (r, _) = one_response(b"HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(r.status, 404);
    let (ev, an) = run(b"", b"HTTP/1.1 OK\r\n\r\n");
    assert!(ev.is_empty());
    assert_eq!(an.http_malformed, 1);
    let (ev, an) = run(b"", b"<html>not a response</html>\r\n\r\n");
    assert!(ev.is_empty());
    assert_eq!(an.http_malformed, 1);
}

#[test]
fn invalid_header_line_in_response_is_skipped() {
    // From suricata-verify http-evader-280: a DEL byte alone on a line among the fields.
    let (r, an) = one_response(
        b"HTTP/1.1 200 ok\r\nConnection: close\r\n\x7f\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nX5O!\r\n0\r\n\r\n",
    );
    assert_eq!(an, Anomalies::default());
    assert_eq!(r.body.data, b"X5O!");
}

#[test]
fn connect_tunnel_stops_both_directions() {
    let connect = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
    let tls = b"\x16\x03\x01\x00\x05hello\x17\x03\x03\x00\x01x";
    let server = b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03\x00\x02hi";
    // Client bytes before the answer are held, then dropped with the tunnel.
    let mut client = connect.to_vec();
    client.extend_from_slice(tls);
    let (ev, an) = run(&client, server);
    assert_eq!(an, Anomalies::default());
    assert_eq!(requests(&ev).len(), 1);
    assert_eq!(requests(&ev)[0].host.as_deref(), Some("example.com"));
    assert_eq!(responses(&ev).len(), 1);

    // Answer first, then tunnel bytes from both sides.
    let mut p = HttpParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    p.data(Direction::ToServer, Chunk::Data { offset: 0, bytes: connect }, &mut out, &mut an);
    p.data(Direction::ToClient, Chunk::Data { offset: 0, bytes: server }, &mut out, &mut an);
    let off = connect.len() as u64;
    p.data(Direction::ToServer, Chunk::Data { offset: off, bytes: tls }, &mut out, &mut an);
    p.data(Direction::ToServer, Chunk::Gap { offset: off + 20, len: 100 }, &mut out, &mut an);
    p.data(Direction::ToServer, Chunk::End, &mut out, &mut an);
    assert_eq!(an, Anomalies::default());
    assert_eq!(out.len(), 2);
}

/// Feeds the client stream, then the server stream, each cut at `cut_c` / `cut_s`; returns the
/// events and the tunnel handed over, if any.
fn run_tunnel(
    client: &[u8],
    server: &[u8],
    cut_c: usize,
    cut_s: usize,
) -> (Vec<Event>, Option<Handoff>, Anomalies) {
    let mut p = HttpParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    let mut tunnel = None;
    for (dir, data, cut) in
        [(Direction::ToServer, client, cut_c), (Direction::ToClient, server, cut_s)]
    {
        for (start, piece) in [(0, &data[..cut]), (cut, &data[cut..])] {
            if !piece.is_empty() {
                p.data(dir, Chunk::Data { offset: start as u64, bytes: piece }, &mut out, &mut an);
                if let Some(t) = p.take_tunnel() {
                    assert!(tunnel.replace(t).is_none(), "one tunnel");
                }
            }
        }
    }
    (out, tunnel, an)
}

#[test]
fn connect_tunnel_is_handed_over() {
    // From zeek's http/connect-with-header: a ClientHello through the tunnel, which tshark
    // decodes; the session detects it from the offsets given here.
    let connect = b"CONNECT abc:443 HTTP/1.1\r\nHost: abc:443\r\n\r\n";
    let hello = b"\x16\x03\x01\x00\x05hello";
    let answer = b"HTTP/1.1 200 Connection established\r\nX-A: b\r\n\r\n";
    let server = [&answer[..], b"\x16\x03\x03\x00\x02hi"].concat();
    let c = connect.len() as u64;
    // Client bytes sent before the answer are held and handed over.
    let client = [&connect[..], &hello[..]].concat();
    let want = Handoff {
        client_from: c,
        held: hello.to_vec(),
        client_to: client.len() as u64,
        client_ended: false,
        server_from: answer.len() as u64,
        websocket: None,
    };
    for cut_c in 0..=client.len() {
        for cut_s in 0..=server.len() {
            let (out, tunnel, an) = run_tunnel(&client, &server, cut_c, cut_s);
            assert_eq!((requests(&out).len(), responses(&out).len()), (1, 1));
            assert_eq!(an, Anomalies::default());
            assert_eq!(tunnel.as_ref(), Some(&want), "cuts {cut_c} {cut_s}");
        }
    }
    // Nothing sent ahead: the tunnel starts with the client's next byte.
    let (_, tunnel, _) = run_tunnel(connect, answer, 0, 0);
    assert_eq!(tunnel, Some(Handoff { held: vec![], client_to: c, ..want.clone() }));
    // More than the hold limit sent ahead: handed over as lost bytes.
    let big = [&connect[..], &vec![0x17; MAX_HEADER_BLOCK + 1]].concat();
    let (_, tunnel, _) = run_tunnel(&big, answer, connect.len() + 10, 0);
    assert_eq!(tunnel, Some(Handoff { held: vec![], client_to: big.len() as u64, ..want.clone() }));
    // A refusal, or a 2xx to something else than CONNECT, opens no tunnel (the held bytes are
    // then parsed as HTTP: not HTTP here).
    let refused = b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n";
    let (_, tunnel, an) = run_tunnel(&client, refused, 0, 0);
    assert_eq!((tunnel, an.http_malformed), (None, 1));
    assert_eq!(run_tunnel(b"GET / HTTP/1.1\r\n\r\n", answer, 0, 0).1, None);
}

#[test]
fn refused_connect_resumes_the_client() {
    let client =
        b"CONNECT example.com:443 HTTP/1.1\r\n\r\nGET http://example.com/ HTTP/1.1\r\n\r\n";
    let server = b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n\
                   HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let (ev, an) = run(client, server);
    assert_eq!(an, Anomalies::default());
    let r = requests(&ev);
    assert_eq!(r.len(), 2);
    assert_eq!((r[1].offset, r[1].host.as_deref()), (36, Some("example.com")));
    assert_eq!(responses(&ev).len(), 2);
}

#[test]
fn switching_protocols_is_a_tunnel() {
    // WebSocket upgrade; frames follow on both sides.
    let client = b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
    let server = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05Hello";
    let (ev, an) = run(client, server);
    assert_eq!(an, Anomalies::default());
    assert_eq!((requests(&ev).len(), responses(&ev).len()), (1, 1));
    // An upgrade the server ignores: the connection stays HTTP.
    let client = b"GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\nGET /2 HTTP/1.1\r\n\r\n";
    let server =
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let (ev, an) = run(client, server);
    assert_eq!(an, Anomalies::default());
    assert_eq!((requests(&ev).len(), responses(&ev).len()), (2, 2));
}

#[test]
fn responses_without_requests() {
    // Capture starting with the server's answer (nDPI http_starting_with_reply).
    let (ev, an) =
        run(b"", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 204 No Content\r\n\r\n");
    assert_eq!(an, Anomalies::default());
    assert_eq!(responses(&ev).len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Content decoding

#[test]
fn gzip_deflate_and_br_bodies() {
    let text = b"The quick brown fox jumps over the lazy dog. ".repeat(20);
    for (ce, body) in [
        ("gzip", gzip(&text)),
        ("x-gzip", gzip(&text)),
        ("GZip", gzip(&text)),
        ("deflate", zlib(&text)),
        ("deflate", raw_deflate(&text)),
    ] {
        let (r, an) = one_response(&response_with(&format!("Content-Encoding: {ce}\r\n"), &body));
        assert_eq!(an, Anomalies::default());
        assert_eq!(r.body.data, text, "{ce}");
        assert_eq!(r.body.wire_len, body.len() as u64);
        assert_eq!(r.body.content_encoding, [ce.to_ascii_lowercase()]);
        assert!(!r.body.truncated && !r.body.decode_failed, "{ce}");
    }
    let (r, _) = one_response(&response_with("Content-Encoding: br\r\n", &BR_10X_10Y));
    assert_eq!(r.body.data, b"XXXXXXXXXXYYYYYYYYYY");
    let (r, _) = one_response(&response_with("Content-Encoding: br\r\n", &BR_HIMSELFSELF));
    assert_eq!(r.body.data, b"himselfself");
}

#[test]
fn compressed_request_body() {
    let json = br#"{"imei":"490154203237518","lat":48.85,"lon":2.35}"#;
    let z = gzip(json);
    let mut req = format!("POST /track HTTP/1.1\r\nHost: t.example\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n", z.len())
        .into_bytes();
    req.extend_from_slice(&z);
    assert_eq!(one_request(&req).body.data, json);
}

#[test]
fn stacked_encodings_decode_in_reverse() {
    let text = b"stacked content, stacked content, stacked content";
    let (r, _) =
        one_response(&response_with("Content-Encoding: deflate, gzip\r\n", &gzip(&zlib(text))));
    assert_eq!(r.body.data, text);
    assert_eq!(r.body.content_encoding, ["deflate", "gzip"]);
    // Two fields, identity in between (suricata-verify bug-2511 style), br innermost.
    let (r, _) = one_response(&response_with(
        "Content-Encoding: br\r\nContent-Encoding: identity, gzip\r\n",
        &gzip(&BR_10X_10Y),
    ));
    assert_eq!(r.body.data, b"XXXXXXXXXXYYYYYYYYYY");
    assert_eq!(r.body.content_encoding, ["br", "identity", "gzip"]);
    // gzip inside chunked inside a gzip transfer coding.
    let inner = gzip(text);
    let outer = gzip(&inner);
    let mut resp =
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
            .to_vec();
    resp.extend_from_slice(format!("{:x}\r\n", outer.len()).as_bytes());
    resp.extend_from_slice(&outer);
    resp.extend_from_slice(b"\r\n0\r\n\r\n");
    let (r, _) = one_response(&resp);
    assert_eq!(r.body.data, text);
    assert_eq!(r.body.content_encoding, ["gzip", "gzip"]);
}

#[test]
fn gzip_members_and_coding_limits() {
    // Concatenated members decode like zcat; trailing junk after a member is ignored.
    let mut body = gzip(b"first ");
    body.extend_from_slice(&gzip(b"second"));
    body.extend_from_slice(b"junk");
    let (r, _) = one_response(&response_with("Content-Encoding: gzip\r\n", &body));
    assert_eq!(r.body.data, b"first second");
    assert!(!r.body.truncated);
    // Too many members: the first ones are kept, the body is truncated.
    let many: Vec<u8> = (0..100).flat_map(|_| gzip(b"x")).collect();
    let (r, _) = one_response(&response_with("Content-Encoding: gzip\r\n", &many));
    assert_eq!(r.body.data.len(), 64);
    assert!(r.body.truncated && !r.body.decode_failed);
    // Too many stacked codings are not undone.
    let mut nested = b"core".to_vec();
    for _ in 0..9 {
        nested = gzip(&nested);
    }
    let ce = format!("Content-Encoding: {}\r\n", ["gzip"; 9].join(", "));
    let (r, _) = one_response(&response_with(&ce, &nested));
    assert!(r.body.decode_failed);
    let ce = format!("Content-Encoding: {}\r\n", ["gzip"; 8].join(", "));
    let (r, _) = one_response(&response_with(&ce, &gzip(&nested)[..0]));
    assert!(!r.body.decode_failed && r.body.data.is_empty());
    let mut nested = b"core".to_vec();
    for _ in 0..8 {
        nested = gzip(&nested);
    }
    let (r, _) = one_response(&response_with(&ce, &nested));
    assert_eq!(r.body.data, b"core");
}

#[test]
fn zip_bomb_is_capped() {
    let bomb = gzip(&vec![0u8; 3 * MAX_BODY_DECODED]);
    assert!(bomb.len() < 64 * 1024);
    let (r, an) = one_response(&response_with("Content-Encoding: gzip\r\n", &bomb));
    assert_eq!(r.body.data.len(), MAX_BODY_DECODED);
    assert!(r.body.truncated && !r.body.decode_failed);
    assert_eq!(r.body.wire_len, bomb.len() as u64);
    assert_eq!(an.http_body_capped, 1);
}

#[test]
fn raw_body_is_capped_and_counted() {
    let big = vec![b'a'; MAX_BODY_DECODED + 1000];
    let (r, an) = one_response(&response_with("", &big));
    assert_eq!(r.body.data.len(), MAX_BODY_DECODED);
    assert!(r.body.data.capacity() <= MAX_BODY_DECODED);
    assert_eq!(r.body.wire_len, big.len() as u64);
    assert!(r.body.truncated);
    assert_eq!(an.http_body_capped, 1);
}

#[test]
fn decode_failures_keep_raw_bytes() {
    for (ce, body) in [
        ("gzip", &b"this is not gzip at all"[..]),
        ("br", b"\xff\xff\xff\xff garbage"),
        ("zstd", b"\x28\xb5\x2f\xfd..."),
        ("deflate", b"\xff\xfe\xfd"),
    ] {
        let (r, an) = one_response(&response_with(&format!("Content-Encoding: {ce}\r\n"), body));
        assert_eq!(r.body.data, body, "{ce}");
        assert!(r.body.decode_failed, "{ce}");
        assert_eq!(an, Anomalies::default());
    }
    // An empty body with a coding is simply empty.
    let (r, _) = one_response(&response_with("Content-Encoding: gzip\r\n", b""));
    assert!(!r.body.decode_failed && r.body.data.is_empty());
}

#[test]
fn cut_compressed_body_decodes_its_prefix() {
    let text: Vec<u8> = (0..20_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let z = gzip(&text);
    let half = &z[..z.len() / 2];
    let mut resp =
        format!("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n", z.len())
            .into_bytes();
    resp.extend_from_slice(half);
    let (r, _) = one_response(&resp);
    assert!(r.body.truncated && !r.body.decode_failed);
    assert!(!r.body.data.is_empty() && text.starts_with(&r.body.data));
}

// ---------------------------------------------------------------------------------------------
// Gaps, ends, limits, non-HTTP

#[test]
fn gap_inside_body_keeps_framing() {
    let mut p = HttpParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    let head = b"POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc";
    p.data(Direction::ToServer, Chunk::Data { offset: 0, bytes: head }, &mut out, &mut an);
    let off = head.len() as u64;
    p.data(Direction::ToServer, Chunk::Gap { offset: off, len: 4 }, &mut out, &mut an);
    let rest = b"defGET /next HTTP/1.1\r\n\r\n";
    p.data(Direction::ToServer, Chunk::Data { offset: off + 4, bytes: rest }, &mut out, &mut an);
    let r = requests(&out);
    assert_eq!(r.len(), 2);
    // Bytes after the hole are not glued to the ones before it.
    assert_eq!(r[0].body.data, b"abc");
    assert_eq!(r[0].body.wire_len, 10);
    assert!(r[0].body.truncated);
    assert_eq!((r[1].uri.as_str(), r[1].offset), ("/next", off + 7));
    assert_eq!(an.gaps, 1);
}

#[test]
fn gap_at_end_of_body_and_past_it() {
    let head = b"POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc";
    let off = head.len() as u64;
    for (len, events) in [(7u64, 2usize), (8, 1)] {
        let mut p = HttpParser::new();
        let (mut out, mut an) = (Vec::new(), Anomalies::default());
        p.data(Direction::ToServer, Chunk::Data { offset: 0, bytes: head }, &mut out, &mut an);
        p.data(Direction::ToServer, Chunk::Gap { offset: off, len }, &mut out, &mut an);
        let next = b"GET /n HTTP/1.1\r\n\r\n";
        p.data(
            Direction::ToServer,
            Chunk::Data { offset: off + len, bytes: next },
            &mut out,
            &mut an,
        );
        assert_eq!(out.len(), events, "gap {len}");
        assert!(requests(&out)[0].body.truncated);
        assert_eq!(an.gaps, 1);
    }
}

#[test]
fn gap_in_chunked_body() {
    let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123";
    let off = head.len() as u64;
    let mut p = HttpParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    p.data(Direction::ToClient, Chunk::Data { offset: 0, bytes: head }, &mut out, &mut an);
    p.data(Direction::ToClient, Chunk::Gap { offset: off, len: 8 }, &mut out, &mut an);
    p.data(
        Direction::ToClient,
        Chunk::Data { offset: off + 8, bytes: b"cdef\r\n0\r\n\r\n" },
        &mut out,
        &mut an,
    );
    let r = responses(&out);
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].body.data.as_slice(), r[0].body.wire_len, r[0].body.truncated),
        (&b"0123"[..], 16, true)
    );
    assert_eq!(an.gaps, 1);
}

#[test]
fn gap_in_headers_stops_the_direction() {
    let mut p = HttpParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    p.data(
        Direction::ToServer,
        Chunk::Data { offset: 0, bytes: b"GET / HTTP/1.1\r\nHo" },
        &mut out,
        &mut an,
    );
    p.data(Direction::ToServer, Chunk::Gap { offset: 18, len: 10 }, &mut out, &mut an);
    p.data(
        Direction::ToServer,
        Chunk::Data { offset: 28, bytes: b"\r\n\r\nGET /x HTTP/1.1\r\n\r\n" },
        &mut out,
        &mut an,
    );
    p.data(Direction::ToServer, Chunk::End, &mut out, &mut an);
    assert!(out.is_empty());
    assert_eq!(an.gaps, 1);
    assert_eq!(an.http_malformed, 0);
}

#[test]
fn end_of_stream() {
    // Mid-headers: nothing.
    let (ev, an) = run(b"GET / HTTP/1.1\r\nHost: h\r\n", b"");
    assert!(ev.is_empty());
    assert_eq!(an, Anomalies::default());
    // Mid-body: emitted, truncated.
    let (ev, _) = run(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\npartial", b"");
    let r = requests(&ev);
    assert_eq!(
        (r.len(), r[0].body.data.as_slice(), r[0].body.truncated),
        (1, &b"partial"[..], true)
    );
    // Mid-chunk: emitted, truncated.
    let (ev, _) = run(b"", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
    assert!(responses(&ev)[0].body.truncated);
}

#[test]
fn non_http_on_port_80() {
    // A TLS ClientHello start, binary junk, and text that is not HTTP.
    for junk in [
        &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..],
        b"\x00\x00\x00\x00\x00\x00\x00\x00\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.6\r\n",
        b"hello world\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        for cut in 0..junk.len() {
            let (ev, an) = run_cut(junk, b"", &[cut], &[]);
            assert!(ev.is_empty());
            assert_eq!(an.http_malformed, 1, "{junk:?} cut at {cut}");
        }
    }
}

#[test]
fn header_block_cap() {
    let mut req = b"GET / HTTP/1.1\r\n".to_vec();
    while req.len() <= MAX_HEADER_BLOCK {
        req.extend_from_slice(b"X-Filler: 0123456789abcdef0123456789abcdef\r\n");
    }
    req.extend_from_slice(b"\r\n");
    for cuts in [vec![], vec![1000], vec![MAX_HEADER_BLOCK - 1, MAX_HEADER_BLOCK + 1]] {
        let (ev, an) = run_cut(&req, b"", &cuts, &[]);
        assert!(ev.is_empty());
        assert_eq!(an.http_header_capped, 1);
    }
    // Just under the cap is fine.
    let mut req = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
    req.resize(MAX_HEADER_BLOCK - 4, b'x');
    req.extend_from_slice(b"\r\n\r\n");
    assert_eq!(req.len(), MAX_HEADER_BLOCK);
    assert_eq!(one_request(&req).headers.len(), 1);
}

#[test]
fn pending_queue_is_bounded() {
    let client: Vec<u8> = (0..MAX_PENDING + 3)
        .flat_map(|i| format!("GET /{i} HTTP/1.1\r\n\r\n").into_bytes())
        .collect();
    let (ev, an) = run(&client, b"");
    assert_eq!(requests(&ev).len(), MAX_PENDING + 3);
    assert_eq!(an.http_tx_capped, 3);
}

#[test]
fn ssdp_datagrams() {
    let mut p = HttpParser::new();
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    let search = b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n";
    p.data(Direction::ToServer, Chunk::Datagram(search), &mut out, &mut an);
    // No final empty line, as some devices send it.
    let reply = b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nST: upnp:rootdevice\r\n";
    p.data(Direction::ToClient, Chunk::Datagram(reply), &mut out, &mut an);
    assert_eq!(an, Anomalies::default());
    let r = requests(&out);
    assert_eq!((r[0].method.as_str(), r[0].uri.as_str()), ("M-SEARCH", "*"));
    assert_eq!(r[0].host.as_deref(), Some("239.255.255.250"));
    assert_eq!(responses(&out)[0].status, 200);
}

#[test]
fn sniffing() {
    for yes in [
        &b"GET / HTTP/1.1"[..],
        b"POST ",
        b"M-SEARCH * HTTP/1.1",
        b"PROPFIND /x",
        b"PROPFIND",
        b"BASELINE",
        b"NOTIFY * HTTP/1.1",
        b"CONNECT a:443 HTTP/1.1",
        // A method alone on its line (zeek's http/methods).
        b"OPTIONS\nHost: www",
        b"GET\r\n",
    ] {
        assert!(looks_like_request(yes), "{}", String::from_utf8_lossy(yes));
    }
    for no in [
        &b""[..],
        b"GET",
        b"GE",
        b"get / HTTP/1.1",
        b"GET/ HTTP/1.1",
        b"\x16\x03\x01\x00",
        b"HTTP/1.1 200 OK",
        b"PRI * HTTP/2.0",
        b"GETTING ",
        b"GETTING\r\n",
        b"\r\nGET / HTTP/1.1",
        b"PROPFINDX",
        b"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX GET ",
    ] {
        assert!(!looks_like_request(no), "{}", String::from_utf8_lossy(no));
    }
}

// ---------------------------------------------------------------------------------------------
// Split invariance: every exchange gives the same events and counters whatever the segmentation.

fn exchanges() -> Vec<(Vec<u8>, Vec<u8>)> {
    let text = b"split me, split me, split me, split me".to_vec();
    let mut v: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (
            b"GET /1 HTTP/1.1\r\nHost: Example.com:80\r\nX-Fold: a\r\n b\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello\r\n\
              HEAD /3 HTTP/1.1\r\n\r\nGET /4 HTTP/1.0\n\n"
                .to_vec(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n\
              HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nHTTP/1.0 200 OK\r\n\r\nuntil close"
                .to_vec(),
        ),
        (
            b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n1\r\nd\r\n0\r\nT: v\r\n\r\nGET /e HTTP/1.1\r\n\r\n".to_vec(),
            response_with("Content-Encoding: gzip\r\n", &gzip(&text)),
        ),
        (
            b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n\x16\x03\x01\x00\x01\x01".to_vec(),
            b"HTTP/1.1 200 OK\r\n\r\n\x16\x03\x03".to_vec(),
        ),
        (
            b"CONNECT h:443 HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n".to_vec(),
            b"HTTP/1.1 407 No\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n".to_vec(),
        ),
        (b"\x16\x03\x01 junk".to_vec(), b"SSH-2.0-x\r\n".to_vec()),
        (
            b"CONNECT h:80 HTTP/1.1\r\n\r\nHEAD / HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n".to_vec(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n\
              HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"
                .to_vec(),
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab".to_vec(),
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_vec(),
        ),
        (b"GET / HTTP/1.1\r\nHost: cut-in-head".to_vec(), response_with("Content-Encoding: br\r\n", &BR_HIMSELFSELF)),
    ];
    v.push((
        b"GET /x HTTP/1.1\r\n\r\n".to_vec(),
        response_with("Content-Encoding: deflate\r\n", &raw_deflate(&text)),
    ));
    v
}

#[test]
fn every_split_gives_the_same_events() {
    for (client, server) in exchanges() {
        let whole = run(&client, &server);
        assert!(!whole.0.is_empty() || whole.1 != Anomalies::default());
        for cut in 0..=client.len() {
            assert_eq!(run_cut(&client, &server, &[cut], &[]), whole, "client cut at {cut}");
        }
        for cut in 0..=server.len() {
            assert_eq!(run_cut(&client, &server, &[], &[cut]), whole, "server cut at {cut}");
        }
        let every_c: Vec<usize> = (1..client.len()).collect();
        let every_s: Vec<usize> = (1..server.len()).collect();
        assert_eq!(run_cut(&client, &server, &every_c, &every_s), whole, "one byte at a time");
    }
}

#[test]
fn one_byte_at_a_time_large_head() {
    // Byte-wise feeding of a big head stays linear (resumed search) and gives the same request.
    let mut req = b"GET /big HTTP/1.1\r\n".to_vec();
    for i in 0..1500 {
        req.extend_from_slice(format!("X-H{i}: {i}\r\n").as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    let whole = run(&req, b"");
    let every: Vec<usize> = (1..req.len()).collect();
    assert_eq!(run_cut(&req, b"", &every, &[]), whole);
    assert_eq!(requests(&whole.0)[0].headers.len(), 1500);
}

#[test]
fn hostile_inputs_do_not_panic() {
    // A crude deterministic fuzz: mutations of valid exchanges, fed whole and byte by byte.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || xorshift64(&mut seed);
    for (client, server) in exchanges() {
        for _ in 0..200 {
            let mut c = client.clone();
            let mut s = server.clone();
            for buf in [&mut c, &mut s] {
                for _ in 0..3 {
                    if buf.is_empty() {
                        break;
                    }
                    let i = (next() as usize) % buf.len();
                    buf[i] = next() as u8;
                }
            }
            let cut_c = (next() as usize) % (c.len() + 1);
            let cut_s = (next() as usize) % (s.len() + 1);
            let a = run_cut(&c, &s, &[cut_c], &[cut_s]);
            let b = run(&c, &s);
            assert_eq!(a, b);
        }
    }
}

#[test]
fn response_bodies_stay_coded_when_asked() {
    let text = b"{\"status\":\"ok\",\"userId\":1523098765}".repeat(10);
    let z = gzip(&text);
    let server = response_with("Content-Encoding: gzip\r\n", &z);
    let z_req = gzip(b"imei=865123045678905");
    let mut client = format!(
        "POST /a HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        z_req.len()
    )
    .into_bytes();
    client.extend_from_slice(&z_req);
    for decode in [true, false] {
        let mut p = HttpParser::with_options(decode);
        let (mut out, mut an) = (Vec::new(), Anomalies::default());
        feed(&mut p, Direction::ToServer, &client, &[], &mut out, &mut an);
        feed(&mut p, Direction::ToClient, &server, &[], &mut out, &mut an);
        let resp = responses(&out);
        assert_eq!(resp.len(), 1);
        assert_eq!(resp[0].body.content_encoding, ["gzip"]);
        assert_eq!(resp[0].body.data, if decode { text.clone() } else { z.clone() });
        assert!(!resp[0].body.decode_failed);
        // Requests are always decoded.
        assert_eq!(requests(&out)[0].body.data, b"imei=865123045678905");
    }
}
