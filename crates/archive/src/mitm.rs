//! mitmproxy flow dumps (`mitmdump -w`, the `.mitm` files of the mitmproxy UI): a sequence of
//! tnetstring dictionaries, one per flow. HTTP flows (`type: http`) carry `request` (`method`,
//! `scheme`, `host`, `port`, `authority`, `path`, `http_version`, `headers` as `[name, value]`
//! pairs, `content` as sent, `timestamp_start`), `response` (`status_code`, `http_version`,
//! `headers`, `content`), `server_conn` (`address` / `peername`, `tls_established`) and
//! `client_conn` (`peername` / `address`). Read for flow format versions 7 to 20 (mitmproxy 4
//! to 11); other flow types (TCP, UDP, DNS) are skipped.

use std::net::{IpAddr, SocketAddr};

use proto::{Anomalies, Header, HttpRequest, HttpResponse, HttpVersion};

use crate::tnetstring::{self, Value};
use crate::{Archive, ArchiveError, Exchange};

fn version(v: &[u8]) -> HttpVersion {
    match v {
        b"HTTP/1.0" => HttpVersion::H1(0),
        b"HTTP/2.0" | b"HTTP/2" => HttpVersion::H2,
        b"HTTP/3" | b"HTTP/3.0" => HttpVersion::H3,
        _ => HttpVersion::H1(1),
    }
}

fn headers(v: Option<&Value<'_>>) -> Vec<Header> {
    v.and_then(Value::list)
        .unwrap_or_default()
        .iter()
        .filter_map(|pair| {
            let p = pair.list()?;
            let name = String::from_utf8_lossy(p.first()?.bytes()?).into_owned();
            let value = p.get(1)?.bytes()?.to_vec();
            Some(Header { name, value })
        })
        .collect()
}

/// `[host, port]` as an address, when host is an IP.
fn addr(v: Option<&Value<'_>>) -> Option<SocketAddr> {
    let l = v?.list()?;
    let ip: IpAddr = std::str::from_utf8(l.first()?.bytes()?).ok()?.parse().ok()?;
    let port = u16::try_from(l.get(1)?.int()?).ok()?;
    Some(SocketAddr::new(ip, port))
}

fn exchange(index: u64, flow: &Value<'_>) -> Result<Option<Exchange>, String> {
    if flow.get("type").and_then(Value::bytes).is_some_and(|t| t != b"http") {
        return Ok(None);
    }
    let req = flow.get("request").ok_or("no request")?;
    let text = |v: &Value<'_>, k: &str| v.get(k).and_then(Value::text).unwrap_or_default();
    let method = text(req, "method").to_ascii_uppercase();
    if method.is_empty() {
        return Err("request without a method".into());
    }
    let scheme = text(req, "scheme");
    let host_field = text(req, "host");
    let authority = text(req, "authority");
    let port = req.get("port").and_then(Value::int).and_then(|p| u16::try_from(p).ok());
    let server_conn = flow.get("server_conn");
    let tls = scheme == "https"
        || server_conn.and_then(|s| s.get("tls_established")) == Some(&Value::Bool(true));
    let port = port.unwrap_or(if tls { 443 } else { 80 });
    let host = proto::http::host_of(
        if host_field.is_empty() { &authority } else { &host_field }.as_bytes(),
    );
    let req_headers = headers(req.get("headers"));
    let mut an = Anomalies::default();
    let raw = req.get("content").and_then(Value::bytes).unwrap_or_default().to_vec();
    let body = proto::http::body_from_parts(&req_headers, raw, true, &mut an);
    let uri = if method == "CONNECT" { authority.clone() } else { text(req, "path") };
    let request = HttpRequest {
        offset: 0,
        method,
        uri,
        version: version(req.get("http_version").and_then(Value::bytes).unwrap_or_default()),
        stream: None,
        host,
        headers: req_headers,
        body,
    };
    let response = flow.get("response").filter(|r| **r != Value::Null).map(|r| {
        let h = headers(r.get("headers"));
        let raw = r.get("content").and_then(Value::bytes).unwrap_or_default().to_vec();
        let body = proto::http::body_from_parts(&h, raw, true, &mut an);
        HttpResponse {
            offset: 0,
            status: r
                .get("status_code")
                .and_then(Value::int)
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or(0),
            version: version(r.get("http_version").and_then(Value::bytes).unwrap_or_default()),
            stream: None,
            headers: h,
            body,
        }
    });
    let server_ip = server_conn
        .and_then(|s| addr(s.get("peername")).or_else(|| addr(s.get("ip_address"))))
        .map(|a| a.ip());
    let client = flow
        .get("client_conn")
        .and_then(|c| addr(c.get("peername")).or_else(|| addr(c.get("address"))));
    let start = req.get("timestamp_start").and_then(Value::float).unwrap_or(0.0);
    let time = capture::Timestamp((start * 1e9) as i64);
    // [type (1 text, 2 binary), from_client, content, timestamp, ...]
    let websocket = flow
        .get("websocket")
        .and_then(|w| w.get("messages"))
        .and_then(Value::list)
        .unwrap_or_default()
        .iter()
        .filter_map(|m| {
            let m = m.list()?;
            let typ = m.first()?.int()?;
            let from_client = *m.get(1)? == Value::Bool(true);
            let data = m.get(2)?.bytes()?.to_vec();
            let t = m
                .get(3)
                .and_then(Value::float)
                .map_or(time, |f| capture::Timestamp((f * 1e9) as i64));
            matches!(typ, 1 | 2).then_some(crate::WsMessage {
                from_client,
                text: typ == 1,
                data,
                time: t,
            })
        })
        .collect();
    Ok(Some(Exchange {
        index,
        time,
        client,
        server: crate::server_addr(&host_field, server_ip, port),
        tls,
        request,
        response,
        websocket,
    }))
}

pub(crate) fn read(data: &[u8]) -> Result<Archive, ArchiveError> {
    let mut out = Archive::default();
    let mut at = 0;
    let mut index = 0u64;
    while at < data.len() {
        if data[at..].iter().all(u8::is_ascii_whitespace) {
            break;
        }
        let (flow, n) = match tnetstring::parse(&data[at..]) {
            Ok(x) => x,
            Err(e) if index == 0 => {
                return Err(ArchiveError::Syntax {
                    kind: "mitmproxy flow",
                    position: format!("byte {}", at + e.offset),
                    reason: e.reason.into(),
                });
            }
            Err(e) => {
                // The rest of the file cannot be framed: said, and what came before kept.
                out.error(
                    index + 1,
                    format!(
                        "at byte {}: {}; the rest of the file is not read",
                        at + e.offset,
                        e.reason
                    ),
                );
                break;
            }
        };
        index += 1;
        at += n;
        match exchange(index, &flow) {
            Ok(Some(x)) => out.exchanges.push(x),
            Ok(None) => {}
            Err(why) => out.error(index, why),
        }
    }
    Ok(out)
}
