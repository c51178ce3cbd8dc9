//! HAR 1.2 (<http://www.softwareishard.com/blog/har-12-spec/>): `log.entries[]` with `request`
//! (method, url, httpVersion, headers, postData with text or params), `response` (status,
//! headers, content with text, base64 when `encoding` says so), `serverIPAddress` and
//! `startedDateTime`. Read with serde into typed structs (only the fields used are kept); unknown
//! fields (`_initiator`, `timings`...) are ignored, missing optional ones default.

use base64::Engine as _;
use serde::Deserialize;

use proto::{Body, Header, HttpRequest, HttpResponse, HttpVersion};

use crate::{
    Archive, ArchiveError, Exchange, host_part, parse_time, port_of, server_addr, split_url,
};

/// The whole file, typed: only the fields used are kept in memory.
#[derive(Deserialize)]
struct Har {
    log: Log,
}

#[derive(Deserialize)]
struct Log {
    #[serde(default)]
    entries: Vec<Entry>,
}

/// The file when some entry does not fit [`Entry`]: each entry is then read on its own, so the
/// broken ones can be named and the rest kept.
#[derive(Deserialize)]
struct LooseHar {
    log: LooseLog,
}

#[derive(Deserialize)]
struct LooseLog {
    #[serde(default)]
    entries: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    #[serde(default)]
    started_date_time: String,
    request: Request,
    #[serde(default)]
    response: Option<Response>,
    #[serde(default, rename = "serverIPAddress")]
    server_ip_address: Option<String>,
    /// Chrome's WebSocket messages.
    #[serde(default, rename = "_webSocketMessages")]
    websocket: Vec<HarWs>,
}

#[derive(Deserialize)]
struct HarWs {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    time: f64,
    #[serde(default)]
    opcode: u8,
    #[serde(default)]
    data: String,
}

#[derive(Deserialize, Default)]
struct NameValue {
    #[serde(default)]
    name: String,
    #[serde(default)]
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    method: String,
    url: String,
    #[serde(default)]
    http_version: String,
    #[serde(default)]
    headers: Vec<NameValue>,
    #[serde(default)]
    post_data: Option<PostData>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostData {
    #[serde(default)]
    mime_type: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    params: Vec<NameValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    #[serde(default)]
    status: i64,
    #[serde(default)]
    http_version: String,
    #[serde(default)]
    headers: Vec<NameValue>,
    #[serde(default)]
    content: Option<Content>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    encoding: Option<String>,
}

fn version(v: &str) -> HttpVersion {
    match v.to_ascii_lowercase().as_str() {
        "http/1.0" => HttpVersion::H1(0),
        "h2" | "http/2" | "http/2.0" => HttpVersion::H2,
        "h3" | "http/3" | "http/3.0" => HttpVersion::H3,
        _ => HttpVersion::H1(1),
    }
}

fn headers(list: &[NameValue]) -> Vec<Header> {
    list.iter()
        // HTTP/2 pseudo-headers some tools list as headers: they are the request line.
        .filter(|h| !h.name.starts_with(':'))
        .map(|h| Header { name: h.name.clone(), value: h.value.as_bytes().to_vec() })
        .collect()
}

fn body(data: Vec<u8>) -> Body {
    Body { wire_len: data.len() as u64, data, ..Body::default() }
}

/// `k=v&...` of HAR `params` (names and values are given decoded; encoded back so the form reads
/// as sent).
fn form(params: &[NameValue]) -> Vec<u8> {
    let enc = |s: &str| {
        let mut o = String::with_capacity(s.len());
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                o.push(char::from(b));
            } else {
                o.push_str(&format!("%{b:02X}"));
            }
        }
        o
    };
    let pairs: Vec<String> =
        params.iter().map(|p| format!("{}={}", enc(&p.name), enc(&p.value))).collect();
    pairs.join("&").into_bytes()
}

fn exchange(index: u64, e: Entry) -> Result<Exchange, String> {
    let r = e.request;
    let (tls, authority, target) = split_url(&r.url)
        .ok_or_else(|| format!("request url {:?} is not absolute http(s)", r.url))?;
    let host = proto::http::host_of(authority.as_bytes());
    let mut req_headers = headers(&r.headers);
    let body_data = match &r.post_data {
        Some(p) => match &p.text {
            Some(t) if !t.is_empty() => t.as_bytes().to_vec(),
            _ => form(&p.params),
        },
        None => Vec::new(),
    };
    if let Some(p) = &r.post_data
        && !p.mime_type.is_empty()
        && !req_headers.iter().any(|h| h.name.eq_ignore_ascii_case("content-type"))
    {
        req_headers
            .push(Header { name: "Content-Type".into(), value: p.mime_type.as_bytes().to_vec() });
    }
    let method = r.method.to_ascii_uppercase();
    let uri = if method == "CONNECT" { authority.to_string() } else { target };
    let request = HttpRequest {
        offset: 0,
        method,
        uri,
        version: version(&r.http_version),
        stream: None,
        host,
        headers: req_headers,
        body: body(body_data),
    };
    let response = e.response.filter(|p| p.status > 0).map(|p| {
        let data = match p.content {
            Some(Content { text: Some(t), encoding: Some(enc) }) if enc == "base64" => {
                base64::engine::general_purpose::STANDARD.decode(t.trim()).unwrap_or_default()
            }
            Some(Content { text: Some(t), .. }) => t.into_bytes(),
            _ => Vec::new(),
        };
        HttpResponse {
            offset: 0,
            status: u16::try_from(p.status).unwrap_or(0),
            version: version(&p.http_version),
            stream: None,
            headers: headers(&p.headers),
            body: body(data),
        }
    });
    let ip = e.server_ip_address.as_deref().and_then(|a| a.trim_matches(['[', ']']).parse().ok());
    let time = parse_time(&e.started_date_time).unwrap_or_default();
    let websocket = e
        .websocket
        .into_iter()
        .filter(|m| matches!(m.opcode, 1 | 2))
        .map(|m| crate::WsMessage {
            from_client: m.kind == "send",
            text: m.opcode == 1,
            // Binary payloads are base64 in Chrome's HAR.
            data: if m.opcode == 2 {
                base64::engine::general_purpose::STANDARD.decode(m.data.trim()).unwrap_or_default()
            } else {
                m.data.into_bytes()
            },
            time: if m.time > 0.0 { capture::Timestamp((m.time * 1e9) as i64) } else { time },
        })
        .collect();
    Ok(Exchange {
        index,
        time,
        client: None,
        server: server_addr(host_part(authority), ip, port_of(authority, tls)),
        tls,
        request,
        response,
        websocket,
    })
}

pub(crate) fn read(data: &[u8]) -> Result<Archive, ArchiveError> {
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    let syntax = |e: serde_json::Error| ArchiveError::Syntax {
        kind: "HAR",
        position: format!("line {}, column {}", e.line(), e.column()),
        reason: e.to_string(),
    };
    let entries: Vec<Result<Entry, String>> = match serde_json::from_slice::<Har>(data) {
        Ok(h) => h.log.entries.into_iter().map(Ok).collect(),
        Err(e) if e.is_data() => {
            // Valid JSON, but some entry is not what HAR says: read entry by entry.
            let loose: LooseHar = serde_json::from_slice(data).map_err(syntax)?;
            loose
                .log
                .entries
                .into_iter()
                .map(|v| Entry::deserialize(v).map_err(|e| e.to_string()))
                .collect()
        }
        Err(e) => return Err(syntax(e)),
    };
    let mut out = Archive::default();
    for (i, entry) in entries.into_iter().enumerate() {
        let index = i as u64 + 1;
        match entry.and_then(|e| exchange(index, e)) {
            Ok(x) => out.exchanges.push(x),
            Err(why) => out.error(index, why),
        }
    }
    Ok(out)
}
