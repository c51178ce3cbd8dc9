//! HTTP/1.x message encoders: requests and responses with Content-Length, chunked or
//! close-delimited bodies, optionally gzip-encoded.
//!
//! ```
//! use testkit::app::http::{HttpRequest, HttpResponse};
//! let req = HttpRequest::post("t.example", "/collect", b"{\"id\":1}".to_vec()).to_bytes();
//! assert!(req.starts_with(b"POST /collect HTTP/1.1\r\nHost: t.example\r\n"));
//! let resp = HttpResponse::ok("text/html", vec![b'x'; 100]).gzip().chunked(32).to_bytes();
//! assert!(resp.windows(26).any(|w| w == b"Transfer-Encoding: chunked"));
//! ```

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

/// How the body length is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Framing {
    /// A Content-Length header (also written for an empty body).
    ContentLength,
    /// Transfer-Encoding: chunked, with chunks of at most this many bytes.
    Chunked(usize),
    /// No length header: the body runs until the connection closes (responses only).
    Close,
    /// No length header and no body (e.g. a GET).
    None,
}

/// gzip-compresses `data` (default level, deterministic: no file name, mtime 0).
pub fn gzip_bytes(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::with_capacity(data.len() / 2 + 32), Compression::default());
    e.write_all(data).expect("writing to a Vec");
    e.finish().expect("writing to a Vec")
}

/// `body` in chunked transfer coding with chunks of at most `chunk` bytes, then the last chunk.
pub fn chunked(body: &[u8], chunk: usize) -> Vec<u8> {
    assert!(chunk > 0, "chunk size must be positive");
    let mut v = Vec::with_capacity(body.len() + 16 * (body.len() / chunk + 2));
    for c in body.chunks(chunk) {
        v.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        v.extend_from_slice(c);
        v.extend_from_slice(b"\r\n");
    }
    v.extend_from_slice(b"0\r\n\r\n");
    v
}

/// Parts shared by requests and responses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Message {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    framing: Framing,
    gzip: bool,
}

impl Message {
    fn write(&self, out: &mut Vec<u8>) {
        let body = if self.gzip { gzip_bytes(&self.body) } else { self.body.clone() };
        for (k, v) in &self.headers {
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if self.gzip {
            out.extend_from_slice(b"Content-Encoding: gzip\r\n");
        }
        match self.framing {
            Framing::ContentLength => {
                out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
                out.extend_from_slice(&body);
            }
            Framing::Chunked(n) => {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                out.extend_from_slice(&chunked(&body, n));
            }
            Framing::Close | Framing::None => {
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(&body);
            }
        }
    }
}

/// The builder methods requests and responses share: each sets a field of their [`Message`].
macro_rules! message_setters {
    ($ty:ty) => {
        impl $ty {
            /// Appends a header.
            pub fn header(mut self, name: &str, value: &str) -> Self {
                self.msg.headers.push((name.into(), value.into()));
                self
            }

            /// Uses chunked framing with chunks of at most `chunk` bytes.
            pub fn chunked(mut self, chunk: usize) -> Self {
                self.msg.framing = Framing::Chunked(chunk);
                self
            }

            /// Sets the framing.
            pub fn framing(mut self, framing: Framing) -> Self {
                self.msg.framing = framing;
                self
            }

            /// gzip-encodes the body (adds Content-Encoding: gzip).
            pub fn gzip(mut self) -> Self {
                self.msg.gzip = true;
                self
            }
        }
    };
}

message_setters!(HttpRequest);
message_setters!(HttpResponse);

/// An HTTP/1.x request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HttpRequest {
    /// Method.
    pub method: String,
    /// Request target.
    pub target: String,
    /// Minor version (1 for HTTP/1.1, 0 for HTTP/1.0).
    pub minor_version: u8,
    msg: Message,
}

impl HttpRequest {
    /// A request with a Host header (first) and no body.
    pub fn new(method: &str, host: &str, target: &str) -> Self {
        Self {
            method: method.to_string(),
            target: target.to_string(),
            minor_version: 1,
            msg: Message {
                headers: vec![("Host".into(), host.into())],
                body: Vec::new(),
                framing: Framing::None,
                gzip: false,
            },
        }
    }

    /// A GET with a phone-like User-Agent and Accept headers.
    pub fn get(host: &str, target: &str) -> Self {
        Self::new("GET", host, target)
            .header("User-Agent", "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 7 Build/UQ1A)")
            .header("Accept", "*/*")
    }

    /// A POST of `body` (Content-Length framing, JSON content type).
    pub fn post(host: &str, target: &str, body: Vec<u8>) -> Self {
        Self::new("POST", host, target)
            .header("User-Agent", "okhttp/4.12.0")
            .header("Content-Type", "application/json")
            .body(body)
    }

    /// Removes every header named `name` (case-insensitive), e.g. to drop Host.
    pub fn without_header(mut self, name: &str) -> Self {
        self.msg.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self
    }

    /// Sets the body (Content-Length framing unless another framing is chosen later).
    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.msg.body = body;
        if self.msg.framing == Framing::None {
            self.msg.framing = Framing::ContentLength;
        }
        self
    }

    /// Uses HTTP/1.0.
    pub fn http10(mut self) -> Self {
        self.minor_version = 0;
        self
    }

    /// The request bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(256 + self.msg.body.len());
        v.extend_from_slice(
            format!("{} {} HTTP/1.{}\r\n", self.method, self.target, self.minor_version).as_bytes(),
        );
        self.msg.write(&mut v);
        v
    }
}

/// An HTTP/1.x response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Minor version.
    pub minor_version: u8,
    msg: Message,
}

impl HttpResponse {
    /// A response with no headers and an empty Content-Length body.
    pub fn new(status: u16, reason: &str) -> Self {
        Self {
            status,
            reason: reason.to_string(),
            minor_version: 1,
            msg: Message {
                headers: Vec::new(),
                body: Vec::new(),
                framing: Framing::ContentLength,
                gzip: false,
            },
        }
    }

    /// 200 OK with a Content-Type and `body`.
    pub fn ok(content_type: &str, body: Vec<u8>) -> Self {
        Self::new(200, "OK").header("Content-Type", content_type).body(body)
    }

    /// 204 No Content (no length header).
    pub fn no_content() -> Self {
        Self::new(204, "No Content").framing(Framing::None)
    }

    /// Sets the body.
    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.msg.body = body;
        self
    }

    /// The response bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(256 + self.msg.body.len());
        v.extend_from_slice(
            format!("HTTP/1.{} {} {}\r\n", self.minor_version, self.status, self.reason).as_bytes(),
        );
        self.msg.write(&mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn get_bytes() {
        let r = HttpRequest::new("GET", "example.com", "/a?b=c").header("X-A", "1").to_bytes();
        assert_eq!(r, b"GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nX-A: 1\r\n\r\n");
        let r = HttpRequest::new("GET", "h", "/").without_header("host").http10().to_bytes();
        assert_eq!(r, b"GET / HTTP/1.0\r\n\r\n");
    }

    #[test]
    fn content_length_and_chunked() {
        let r = HttpResponse::new(200, "OK").body(b"hello".to_vec()).to_bytes();
        assert_eq!(r, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        let c = HttpResponse::new(200, "OK").body(b"hello world".to_vec()).chunked(4).to_bytes();
        assert_eq!(
            c,
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
               4\r\nhell\r\n4\r\no wo\r\n3\r\nrld\r\n0\r\n\r\n"[..]
        );
        let p = HttpRequest::post("h", "/p", vec![b'a'; 26]).chunked(16).to_bytes();
        assert!(p.ends_with(b"\r\n\r\n10\r\naaaaaaaaaaaaaaaa\r\na\r\naaaaaaaaaa\r\n0\r\n\r\n"));
        assert_eq!(HttpResponse::no_content().to_bytes(), b"HTTP/1.1 204 No Content\r\n\r\n");
    }

    #[test]
    fn gzip_body_decodes() {
        let body = b"{\"advertising_id\":\"abc\"}".repeat(10);
        let r = HttpResponse::ok("application/json", body.clone()).gzip().to_bytes();
        let split = r.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let head = std::str::from_utf8(&r[..split]).unwrap();
        assert!(head.contains("Content-Encoding: gzip\r\n"));
        let gz = &r[split..];
        assert!(head.contains(&format!("Content-Length: {}\r\n", gz.len())));
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(gz).read_to_end(&mut plain).unwrap();
        assert_eq!(plain, body);
        assert_eq!(gzip_bytes(b"x"), gzip_bytes(b"x"), "deterministic");
    }
}
