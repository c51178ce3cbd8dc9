use std::io::{Read, Write};
use std::net::TcpStream;

use super::*;

/// One HTTP/1.1 request over a fresh connection; the response head and as much body as came
/// within `wait`.
fn get(addr: SocketAddr, path: &str, host: &str, extra: &str, wait: Duration) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n").unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn snapshot(n: u32) -> Snapshot {
    Snapshot { state: format!("{{\"n\":{n}}}"), report: report::Report::default() }
}

#[test]
fn loopback_without_a_token_checks_the_host() {
    let server = Server::start("127.0.0.1:0".parse().unwrap(), None).unwrap();
    let addr = server.addr();
    let host = addr.to_string();
    let w = Duration::from_secs(2);
    let page = get(addr, "/", &host, "", w);
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("content-security-policy: default-src 'none'"), "{page}");
    assert!(page.contains("cache-control: no-store"));
    assert!(
        get(addr, "/", &format!("localhost:{}", addr.port()), "", w).starts_with("HTTP/1.1 200")
    );
    // DNS rebinding: a page of evil.example resolving to 127.0.0.1 sends its own Host.
    let evil = get(addr, "/", "evil.example", "", w);
    assert!(evil.starts_with("HTTP/1.1 403"), "{evil}");
    assert!(get(addr, "/nope", &host, "", w).starts_with("HTTP/1.1 404"));
    server.publish(snapshot(7));
    let state = get(addr, "/state.json", &host, "", w);
    assert!(state.ends_with("{\"n\":7}"), "{state}");
    let report = get(addr, "/report.html", &host, "", w);
    assert!(report.contains("content-disposition: attachment"), "{report}");
    assert!(report.contains("<!doctype html>") || report.contains("<!DOCTYPE html>"), "{report}");
    server.stop();
}

#[test]
fn a_token_is_required_on_every_request() {
    let server = Server::start("127.0.0.1:0".parse().unwrap(), Some("s3cret".into())).unwrap();
    let addr = server.addr();
    let host = addr.to_string();
    let w = Duration::from_secs(2);
    for path in ["/", "/events", "/state.json", "/report.html", "/nope"] {
        let r = get(addr, path, &host, "", w);
        assert!(r.starts_with("HTTP/1.1 401"), "{path}: {r}");
        let r = get(addr, &format!("{path}?token=wrong"), &host, "", w);
        assert!(r.starts_with("HTTP/1.1 401"), "{path}: {r}");
    }
    assert!(get(addr, "/?token=s3cret", "any.host", "", w).starts_with("HTTP/1.1 200"));
    assert!(get(addr, "/?token=s3%63ret", "any.host", "", w).starts_with("HTTP/1.1 200"));
    let bearer = "Authorization: Bearer s3cret\r\n";
    assert!(get(addr, "/state.json", "x", bearer, w).starts_with("HTTP/1.1 200"));
    server.stop();
}

#[test]
fn events_stream_every_new_state_and_end_with_the_server() {
    let server = Server::start("127.0.0.1:0".parse().unwrap(), None).unwrap();
    let addr = server.addr();
    server.publish(snapshot(1));
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET /events HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut got = String::new();
    let mut buf = [0u8; 4096];
    let mut read_until = |s: &mut TcpStream, got: &mut String, want: &str| {
        while !got.contains(want) {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "stream closed before {want:?}: {got}");
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    };
    read_until(&mut s, &mut got, "data: {\"n\":1}");
    assert!(got.contains("content-type: text/event-stream"), "{got}");
    assert!(got.contains("event: state"));
    server.publish(snapshot(2));
    read_until(&mut s, &mut got, "data: {\"n\":2}");
    let started = std::time::Instant::now();
    server.stop();
    assert!(started.elapsed() < STOP_WAIT + Duration::from_secs(1));
    // The stream ended with the server.
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
}

#[test]
fn event_streams_are_limited() {
    let server = Server::start("127.0.0.1:0".parse().unwrap(), None).unwrap();
    let addr = server.addr();
    let mut open = Vec::new();
    for _ in 0..MAX_STREAMS {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(s, "GET /events HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        open.push(s);
    }
    let r = get(addr, "/events", &addr.to_string(), "", Duration::from_secs(2));
    assert!(r.starts_with("HTTP/1.1 503"), "{r}");
    drop(open);
    server.stop();
}

#[test]
fn tokens_are_random_and_non_loopback_needs_one() {
    let (a, b) = (random_token().unwrap(), random_token().unwrap());
    assert_eq!(a.len(), 32);
    assert_ne!(a, b);
    assert!(needs_token(&"0.0.0.0:8080".parse().unwrap()));
    assert!(needs_token(&"192.168.4.1:8080".parse().unwrap()));
    assert!(!needs_token(&"127.0.0.1:8080".parse().unwrap()));
    assert!(!needs_token(&"[::1]:8080".parse().unwrap()));
}
