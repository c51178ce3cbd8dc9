#![no_main]
//! Fuzz target: the schema-less protobuf and gRPC walker of `detect::fields`, on request bodies
//! typed `application/x-protobuf` (first byte even) or `application/grpc` with `grpc-encoding:
//! gzip` (odd), and untyped (the "parses as protobuf" guess). Nothing may panic, loop or produce
//! more than the walker's bounds allow; locations stay short.

use detect::fields::{self, MAX_PROTOBUF_NESTING};
use proto::{Body, Header, HttpRequest, HttpVersion};

fn request(ctype: &[u8], grpc: bool, body: &[u8]) -> HttpRequest {
    let mut headers = vec![Header { name: "Content-Type".into(), value: ctype.to_vec() }];
    if grpc {
        headers.push(Header { name: "grpc-encoding".into(), value: b"gzip".to_vec() });
    }
    HttpRequest {
        offset: 0,
        method: "POST".into(),
        uri: "/".into(),
        version: HttpVersion::H2,
        stream: Some(1),
        host: None,
        headers,
        body: Body { wire_len: body.len() as u64, data: body.to_vec(), ..Body::default() },
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&ctl, body)) = data.split_first() else { return };
    let grpc = ctl & 1 == 1;
    let ctype: &[u8] = if grpc { b"application/grpc" } else { b"application/x-protobuf" };
    for r in [request(ctype, grpc, body), request(b"application/octet-stream", false, body)] {
        let mut n = 0u64;
        let stats = fields::http_request(&r, &mut |f| {
            n += 1;
            // Field numbers joined by dots: bounded by the nesting cap.
            let depth = f.location.matches('.').count();
            assert!(depth <= MAX_PROTOBUF_NESTING * 4 + 8, "{}", f.location);
        });
        assert_eq!(stats.fields, n);
    }
});
