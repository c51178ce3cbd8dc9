//! Machine and human renderings of events and flow records.
//!
//! The JSON Lines forms are a contract that later tools and tests rely on:
//! - events: every object has `kind`, `time` (RFC 3339 UTC), `flow`, `src`, `dst`, `file`, `frame`,
//!   plus the fields of its kind (see [`event_json`]);
//! - flows: see [`flow_json`]; [`FLOW_CSV_COLUMNS`] are the same keys in CSV.

use std::borrow::Cow;
use std::fmt::Write;

use flow::{ClientBy, TcpState, Transport};
use proto::{Event, RData};
use serde_json::{Map, Value, json};

use crate::time::rfc3339;
use crate::{Context, FlowRecord};

/// DNS type mnemonic (`A`, `AAAA`, `HTTPS`...), or the RFC 3597 form `TYPE123`.
pub fn qtype_name(t: u16) -> Cow<'static, str> {
    Cow::Borrowed(match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        13 => "HINFO",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        35 => "NAPTR",
        39 => "DNAME",
        41 => "OPT",
        43 => "DS",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        50 => "NSEC3",
        64 => "SVCB",
        65 => "HTTPS",
        255 => "ANY",
        257 => "CAA",
        _ => return Cow::Owned(format!("TYPE{t}")),
    })
}

/// TLS/SSL version name (`TLS 1.3`...), or hex for anything else (GREASE, drafts).
pub fn tls_version_name(v: u16) -> Cow<'static, str> {
    Cow::Borrowed(match v {
        0x0002 => "SSL 2.0",
        0x0300 => "SSL 3.0",
        0x0301 => "TLS 1.0",
        0x0302 => "TLS 1.1",
        0x0303 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        _ => return Cow::Owned(format!("0x{v:04x}")),
    })
}

/// QUIC version name: `v1`, `v2`, or hex.
pub fn quic_version_name(v: u32) -> Cow<'static, str> {
    match v {
        1 => Cow::Borrowed("v1"),
        0x6b33_43cf => Cow::Borrowed("v2"),
        _ => Cow::Owned(format!("0x{v:08x}")),
    }
}

/// Name of an event kind as used in output.
pub fn event_kind(event: &Event) -> &'static str {
    match event {
        Event::DnsQuery(_) => "dns_query",
        Event::DnsAnswer(_) => "dns_answer",
        Event::TlsClientHello(_) => "tls_client_hello",
        Event::TlsServerHello(_) => "tls_server_hello",
        Event::TlsCertificate(_) => "tls_certificate",
        Event::QuicInitial(_) => "quic_initial",
        Event::HttpRequest(_) => "http_request",
        Event::HttpResponse(_) => "http_response",
        Event::DecryptedStream { stream: None, .. } => "tls_payload",
        Event::DecryptedStream { stream: Some(_), .. } => "quic_payload",
        Event::WebSocketMessage(_) => "websocket_message",
        // Consumed by the pipeline: never handed to an observer.
        Event::Turn(_) => "turn",
    }
}

fn rdata_string(d: &RData) -> String {
    match d {
        RData::A(ip) => ip.to_string(),
        RData::Aaaa(ip) => ip.to_string(),
        RData::Cname(n) | RData::Name(n) => n.clone(),
        RData::Raw(b) => hex(b),
    }
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

fn headers_json(h: &[proto::Header]) -> Value {
    Value::Array(h.iter().map(|h| json!([h.name, String::from_utf8_lossy(&h.value)])).collect())
}

fn hello_fields(m: &mut Map<String, Value>, h: &proto::ClientHello) {
    m.insert("sni".into(), json!(h.sni));
    m.insert("alpn".into(), json!(h.alpn));
    m.insert(
        "versions".into(),
        Value::Array(h.versions.iter().map(|&v| json!(tls_version_name(v))).collect()),
    );
}

/// The JSON object of one event.
pub fn event_json(ctx: &Context<'_>, event: &Event) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!(event_kind(event)));
    m.insert("time".into(), json!(rfc3339(ctx.meta.ts)));
    m.insert("flow".into(), json!(ctx.flow.id));
    m.insert("src".into(), json!(ctx.src().to_string()));
    m.insert("dst".into(), json!(ctx.dst().to_string()));
    m.insert("file".into(), json!(ctx.file));
    m.insert("frame".into(), json!(ctx.meta.frame));
    match event {
        Event::DnsQuery(q) => {
            m.insert("id".into(), json!(q.id));
            m.insert("name".into(), json!(q.name));
            m.insert("qtype".into(), json!(qtype_name(q.qtype)));
        }
        Event::DnsAnswer(a) => {
            m.insert("id".into(), json!(a.id));
            m.insert("name".into(), json!(a.name));
            m.insert("qtype".into(), json!(qtype_name(a.rtype)));
            m.insert("data".into(), json!(rdata_string(&a.data)));
            m.insert("ttl".into(), json!(a.ttl));
        }
        Event::TlsClientHello(h) => hello_fields(&mut m, h),
        Event::TlsServerHello(s) => {
            m.insert("version".into(), json!(tls_version_name(s.version)));
        }
        Event::TlsCertificate(c) => {
            m.insert("subject_org".into(), json!(c.subject_org));
            m.insert("subject_cn".into(), json!(c.subject_cn));
            m.insert("issuer_org".into(), json!(c.issuer_org));
        }
        Event::Turn(_) => {}
        Event::QuicInitial(q) => {
            hello_fields(&mut m, &q.hello);
            m.insert("version".into(), json!(quic_version_name(q.version)));
        }
        Event::HttpRequest(r) => {
            m.insert("method".into(), json!(r.method));
            m.insert("host".into(), json!(r.host));
            m.insert("uri".into(), json!(r.uri));
            m.insert("version".into(), json!(r.version.as_str()));
            if let Some(s) = r.stream {
                m.insert("stream".into(), json!(s));
            }
            m.insert("headers".into(), headers_json(&r.headers));
            m.insert("body_len".into(), json!(r.body.wire_len));
            body_extra(&mut m, &r.body);
        }
        Event::WebSocketMessage(w) => {
            m.insert("text".into(), json!(w.text));
            m.insert("len".into(), json!(w.data.len()));
            if w.truncated {
                m.insert("truncated".into(), json!(true));
            }
        }
        Event::DecryptedStream { stream, chunk, .. } => {
            if let Some(s) = stream {
                m.insert("stream".into(), json!(s));
            }
            match chunk {
                proto::PlainChunk::Data { offset, data } => {
                    m.insert("offset".into(), json!(offset));
                    m.insert("len".into(), json!(data.len()));
                }
                proto::PlainChunk::Gap { offset, len } => {
                    m.insert("offset".into(), json!(offset));
                    m.insert("gap".into(), json!(len));
                }
                proto::PlainChunk::End => {
                    m.insert("end".into(), json!(true));
                }
            }
        }
        Event::HttpResponse(r) => {
            m.insert("status".into(), json!(r.status));
            m.insert("version".into(), json!(r.version.as_str()));
            if let Some(s) = r.stream {
                m.insert("stream".into(), json!(s));
            }
            m.insert("headers".into(), headers_json(&r.headers));
            m.insert("body_len".into(), json!(r.body.wire_len));
            body_extra(&mut m, &r.body);
        }
    }
    Value::Object(m)
}

/// ` HTTP/2 stream=N` for HTTP/2 and HTTP/3 messages, nothing for HTTP/1.
fn h2_suffix(version: proto::HttpVersion, stream: Option<u64>) -> String {
    match stream {
        Some(s) => format!(" {} stream={s}", version.as_str()),
        None => String::new(),
    }
}

fn body_extra(m: &mut Map<String, Value>, b: &proto::Body) {
    if !b.content_encoding.is_empty() {
        m.insert("content_encoding".into(), json!(b.content_encoding));
        m.insert("body_decoded_len".into(), json!(b.data.len()));
    }
    if b.truncated {
        m.insert("body_truncated".into(), json!(true));
    }
    if b.decode_failed {
        m.insert("body_decode_failed".into(), json!(true));
    }
}

/// One human-readable line for an event.
pub fn event_text(ctx: &Context<'_>, event: &Event) -> String {
    let detail = match event {
        Event::DnsQuery(q) => format!("{} {}", q.name, qtype_name(q.qtype)),
        Event::DnsAnswer(a) => {
            format!("{} {} {} ttl={}", a.name, qtype_name(a.rtype), rdata_string(&a.data), a.ttl)
        }
        Event::TlsClientHello(h) => hello_text(h),
        Event::TlsServerHello(s) => tls_version_name(s.version).into_owned(),
        Event::TlsCertificate(c) => format!(
            "subject O={} CN={} issuer O={}",
            c.subject_org.as_deref().unwrap_or("-"),
            c.subject_cn.as_deref().unwrap_or("-"),
            c.issuer_org.as_deref().unwrap_or("-")
        ),
        Event::QuicInitial(q) => {
            format!("{} {}", quic_version_name(q.version), hello_text(&q.hello))
        }
        Event::HttpRequest(r) => format!(
            "{} {} host={} body={}{}",
            r.method,
            r.uri,
            r.host.as_deref().unwrap_or("-"),
            r.body.wire_len,
            h2_suffix(r.version, r.stream)
        ),
        Event::HttpResponse(r) => {
            format!("{} body={}{}", r.status, r.body.wire_len, h2_suffix(r.version, r.stream))
        }
        Event::WebSocketMessage(w) => {
            format!("{} len={}", if w.text { "text" } else { "binary" }, w.data.len())
        }
        Event::DecryptedStream { stream, chunk, .. } => {
            let s = stream.map_or(String::new(), |s| format!("stream={s} "));
            match chunk {
                proto::PlainChunk::Data { offset, data } => {
                    format!("{s}offset={offset} len={}", data.len())
                }
                proto::PlainChunk::Gap { offset, len } => format!("{s}offset={offset} gap={len}"),
                proto::PlainChunk::End => format!("{s}end"),
            }
        }
        Event::Turn(d) => format!("{d:?}"),
    };
    format!(
        "{}  #{:<5} {} -> {}  {:<16} {}",
        rfc3339(ctx.meta.ts),
        ctx.flow.id,
        ctx.src(),
        ctx.dst(),
        event_kind(event),
        detail
    )
}

fn hello_text(h: &proto::ClientHello) -> String {
    let versions: Vec<_> = h.versions.iter().map(|&v| tls_version_name(v)).collect();
    format!(
        "sni={} alpn={} versions={}",
        h.sni.as_deref().unwrap_or("-"),
        if h.alpn.is_empty() { "-".to_string() } else { h.alpn.join(",") },
        versions.join(",")
    )
}

/// A transport as the flow records name it: `tcp`, `udp`, `ip-proto-N`.
pub fn transport_name(t: Transport) -> Cow<'static, str> {
    match t {
        Transport::Tcp => Cow::Borrowed("tcp"),
        Transport::Udp => Cow::Borrowed("udp"),
        Transport::Other(p) => Cow::Owned(format!("ip-proto-{p}")),
    }
}

fn client_by_name(c: ClientBy) -> &'static str {
    match c {
        ClientBy::Syn => "syn",
        ClientBy::PortHeuristic => "port",
        ClientBy::FirstPacket => "first_packet",
    }
}

fn tcp_state_name(s: TcpState) -> &'static str {
    match s {
        TcpState::SynSent => "syn_sent",
        TcpState::SynReceived => "syn_received",
        TcpState::Established => "established",
        TcpState::Closing => "closing",
        TcpState::Closed => "closed",
        TcpState::Reset => "reset",
    }
}

/// Flag names of a flow (`gap`, `capped`, `midstream`).
pub fn flow_flags(r: &FlowRecord) -> Vec<&'static str> {
    let f = r.info.flags;
    let mut v = Vec::new();
    if f.gap {
        v.push("gap");
    }
    if f.capped {
        v.push("capped");
    }
    if f.midstream {
        v.push("midstream");
    }
    v
}

/// Column names of the CSV form, in order (also the keys of [`flow_json`]).
pub const FLOW_CSV_COLUMNS: &[&str] = &[
    "flow",
    "start",
    "end",
    "client",
    "server",
    "transport",
    "protocol",
    "name",
    "name_source",
    "packets_to_server",
    "packets_to_client",
    "bytes_to_server",
    "bytes_to_client",
    "payload_to_server",
    "payload_to_client",
    "encrypted",
    "tls_version",
    "alpn",
    "cert_org",
    "client_by",
    "tcp_state",
    "flags",
    "events",
];

/// The JSON object of one flow record.
pub fn flow_json(r: &FlowRecord) -> Value {
    let i = &r.info;
    let mut v = json!({
        "flow": i.id,
        "start": rfc3339(i.first),
        "end": rfc3339(i.last),
        "client": i.client.to_string(),
        "server": i.server.to_string(),
        "transport": transport_name(i.transport),
        "protocol": r.protocol.as_str(),
        "name": r.name,
        "name_source": r.name_source.as_str(),
        "packets_to_server": i.packets[0],
        "packets_to_client": i.packets[1],
        "bytes_to_server": i.bytes[0],
        "bytes_to_client": i.bytes[1],
        "payload_to_server": i.payload_bytes[0],
        "payload_to_client": i.payload_bytes[1],
        "encrypted": r.encrypted,
        "tls_version": r.tls_version.map(tls_version_name),
        "alpn": r.alpn,
        "cert_org": r.cert.as_ref().and_then(|c| c.subject_org.clone()),
        "client_by": client_by_name(i.client_by),
        "tcp_state": i.tcp_state.map(tcp_state_name),
        "flags": flow_flags(r),
        "events": r.events,
    });
    // Only when the capture says which app made the flow (PCAPdroid's metadata).
    if let (Some(a), Some(m)) = (&r.app, v.as_object_mut()) {
        m.insert("app".into(), json!({"uid": a.uid, "package": a.package, "name": a.name}));
    }
    v
}

/// One CSV line (RFC 4180 quoting) for a flow record, columns as [`FLOW_CSV_COLUMNS`].
pub fn flow_csv(r: &FlowRecord) -> String {
    let v = flow_json(r);
    let mut line = String::new();
    for (n, col) in FLOW_CSV_COLUMNS.iter().enumerate() {
        if n > 0 {
            line.push(',');
        }
        let cell = match &v[*col] {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Array(a) => a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(";"),
            other => other.to_string(),
        };
        csv_cell(&mut line, &cell);
    }
    line
}

fn csv_cell(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// Column titles of [`FlowsTable`].
const TABLE_HEADER: [&str; 14] = [
    "FLOW", "START", "DURATION", "CLIENT", "SERVER", "PROTO", "NAME", "VIA", "PKTS>", "PKTS<",
    "BYTES>", "BYTES<", "ENC", "FLAGS",
];

/// The cells of one flow's row.
fn table_cells(r: &FlowRecord) -> [String; 14] {
    let i = &r.info;
    let dur = (i.last.0.saturating_sub(i.first.0)) as f64 / 1e9;
    let flags = flow_flags(r);
    [
        i.id.to_string(),
        rfc3339(i.first),
        format!("{dur:.3}s"),
        i.client.to_string(),
        i.server.to_string(),
        format!("{}/{}", transport_name(i.transport), r.protocol.as_str()),
        r.name.clone().unwrap_or_else(|| "-".into()),
        r.name_source.as_str().to_string(),
        i.packets[0].to_string(),
        i.packets[1].to_string(),
        i.bytes[0].to_string(),
        i.bytes[1].to_string(),
        if r.encrypted { "yes" } else { "no" }.to_string(),
        if flags.is_empty() { "-".into() } else { flags.join(",") },
    ]
}

/// An aligned text table of flow records, written row by row: the column widths come from a
/// sample of the rows (all of them for a small run, the first reorder window of a large one); a
/// later, wider cell pushes its row's following cells right instead of re-aligning the table.
#[derive(Debug, Clone)]
pub struct FlowsTable {
    widths: [usize; 14],
}

impl FlowsTable {
    /// Widths fitting the header and every row of `sample`.
    pub fn new<'a>(sample: impl IntoIterator<Item = &'a FlowRecord>) -> Self {
        let mut widths = TABLE_HEADER.map(str::len);
        for r in sample {
            for (w, c) in widths.iter_mut().zip(table_cells(r)) {
                *w = (*w).max(c.chars().count());
            }
        }
        Self { widths }
    }

    fn line<'a>(&self, cells: impl Iterator<Item = &'a str>) -> String {
        let mut s = String::new();
        for (n, (c, w)) in cells.zip(&self.widths).enumerate() {
            if n > 0 {
                s.push_str("  ");
            }
            let _ = write!(s, "{c:<w$}");
        }
        let mut s = s.trim_end().to_owned();
        s.push('\n');
        s
    }

    /// The header line.
    pub fn header(&self) -> String {
        self.line(TABLE_HEADER.iter().copied())
    }

    /// One flow's line.
    pub fn row(&self, r: &FlowRecord) -> String {
        let cells = table_cells(r);
        self.line(cells.iter().map(String::as_str))
    }
}

/// Renders flow records as an aligned text table (one header line, one row per flow).
pub fn flows_table(records: &[FlowRecord]) -> String {
    let t = FlowsTable::new(records);
    let mut out = t.header();
    for r in records {
        out.push_str(&t.row(r));
    }
    out
}
