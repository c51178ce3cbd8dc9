#![no_main]
//! Fuzz target: field extraction (`detect::fields`) on hostile HTTP requests and responses.
//!
//! Input layout: one control byte, then the bytes split on the first two `\0` bytes into URI,
//! header block (`Name: value` lines) and body. The control byte picks the Content-Type (form,
//! multipart with boundary `b`, JSON, none) and whether the body is marked gzip-decoded. Every
//! field of the request, of a response with the same headers and body, of a DNS question and of a
//! ClientHello with the URI as name is walked, and searched for recurrence candidates
//! (`detect::recur`); nothing may panic, and decoded data stays within the named caps. Then (control bit 6) the URI's `&`-separated pieces become matcher patterns, and the body
//! searched in pieces cut at its `\n` bytes (as a stream) must give the same hits as searched
//! whole.

use detect::fields::{self, Field, MAX_DECODED_BYTES};
use detect::matcher::{Boundary, Matcher, StreamMatcher};
use proto::{Body, ClientHello, DnsQuery, Header, HttpRequest, HttpResponse};

/// Hits of `m` in `data`, whole and streamed in pieces ending at each `\n`: must be the same.
fn stream_vs_whole(m: &Matcher, data: &[u8]) {
    let mut whole = Vec::new();
    m.find(data, |h| whole.push((h.pattern, h.start as u64, h.end as u64)));
    let mut streamed = Vec::new();
    let mut s = StreamMatcher::new();
    let mut at = 0;
    for piece in data.split_inclusive(|&b| b == b'\n') {
        s.feed(m, at as u64, piece, |h| streamed.push((h.pattern, h.start, h.end)));
        at += piece.len();
    }
    s.finish(m, |h| streamed.push((h.pattern, h.start, h.end)));
    whole.sort_unstable();
    streamed.sort_unstable();
    assert_eq!(whole, streamed);
}

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    let Some((&ctl, rest)) = input.split_first() else { return };
    let mut parts = rest.splitn(3, |&b| b == 0);
    let uri = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let head = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    let mut headers: Vec<Header> = head
        .split(|&b| b == b'\n')
        .filter_map(|l| {
            let i = l.iter().position(|&b| b == b':')?;
            Some(Header {
                name: String::from_utf8_lossy(&l[..i]).into_owned(),
                value: l[i + 1..].trim_ascii().to_vec(),
            })
        })
        .collect();
    let ctype: &[u8] = match ctl & 3 {
        0 => b"application/x-www-form-urlencoded",
        1 => b"multipart/form-data; boundary=b",
        2 => b"application/json",
        _ => b"",
    };
    if !ctype.is_empty() {
        headers.push(Header { name: "Content-Type".into(), value: ctype.to_vec() });
    }
    let bounds = [Boundary::None, Boundary::Digit, Boundary::Hex, Boundary::Alnum];
    let pats = uri.as_bytes().split(|&b| b == b'&').take(16).enumerate();
    if ctl & 64 != 0
        && let Ok(m) = Matcher::new(pats.map(|(i, p)| (p, bounds[(usize::from(ctl) + i) % 4])))
    {
        stream_vs_whole(&m, body);
    }
    let body = Body {
        wire_len: body.len() as u64,
        data: body.to_vec(),
        truncated: ctl & 4 != 0,
        content_encoding: if ctl & 8 != 0 { vec!["gzip".into()] } else { Vec::new() },
        decode_failed: ctl & 16 != 0,
    };
    let check = |f: &Field<'_>| {
        // Decoded values are capped per field tree (an inflated value may also be cut there).
        if !f.decoded.is_empty() && f.decoded != ["gzip"] {
            assert!(f.data.len() <= MAX_DECODED_BYTES.max(input.len()));
        }
        let _ = f.key();
        // The recurrence detector's candidates: whole tokens inside the field, keys normalised.
        let _ = detect::recur::eligible(&f.location);
        detect::recur::candidates(&f.data, &mut |c| {
            assert!(c.span.end <= f.data.len() && c.span.start < c.span.end);
            assert!(c.key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        });
    };
    let req = HttpRequest {
        offset: 0,
        method: "POST".into(),
        uri: uri.clone(),
        version: proto::HttpVersion::H1(1),
        stream: None,
        host: None,
        headers: headers.clone(),
        body: body.clone(),
    };
    fields::http_request(&req, &mut |f| check(f));
    let resp = HttpResponse {
        offset: 0,
        status: 200,
        version: proto::HttpVersion::H1(1),
        stream: None,
        headers,
        body,
    };
    fields::http_response(&resp, &mut |f| check(f));
    fields::dns_query(&DnsQuery { id: 0, name: uri.clone(), qtype: 1 }, &mut |f| check(f));
    let hello = ClientHello { sni: Some(uri), ..Default::default() };
    fields::client_hello(&hello, ctl & 32 != 0, &mut |f| check(f));
});
