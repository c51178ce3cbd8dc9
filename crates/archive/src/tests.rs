use super::*;

const HAR: &str = r#"{"log":{"version":"1.2","creator":{"name":"test","version":"1"},"entries":[
 {"startedDateTime":"2014-08-10T09:00:01.500+08:00","serverIPAddress":"120.92.145.56",
  "request":{"method":"post","url":"https://api.account.xiaomi.com:8443/pass/activate?imei=865123045678905#x",
   "httpVersion":"h2","headers":[{"name":":authority","value":"api.account.xiaomi.com"},{"name":"User-Agent","value":"MIUI"}],
   "queryString":[],"postData":{"mimeType":"application/json","text":"{\"imsi\":\"466920123456789\"}"}},
  "response":{"status":200,"httpVersion":"h2","headers":[],"content":{"size":4,"mimeType":"text/plain","text":"b2theQ==","encoding":"base64"}}},
 {"startedDateTime":"bad","request":{"method":"GET","url":"http://[2001:db8::1]/x","headers":[]},
  "response":{"status":0}},
 {"request":{"method":"POST","url":"http://t.example/f","headers":[],
   "postData":{"mimeType":"application/x-www-form-urlencoded","params":[{"name":"phone","value":"+886 912"}]}}},
 {"request":{"url":"ftp://nope"}},
 {"request":{"method":"GET","url":"mailto:x"}}
]}}"#;

#[test]
fn har_entries_become_exchanges_and_broken_ones_are_named() {
    assert_eq!(sniff(HAR.as_bytes()), Some(Kind::Har));
    let a = read(Kind::Har, HAR.as_bytes()).unwrap();
    assert_eq!(a.exchanges.len(), 3);
    let x = &a.exchanges[0];
    assert_eq!((x.index, x.tls, x.server.to_string()), (1, true, "120.92.145.56:8443".to_string()));
    assert_eq!(x.request.method, "POST");
    assert_eq!(x.request.uri, "/pass/activate?imei=865123045678905");
    assert_eq!(x.request.host.as_deref(), Some("api.account.xiaomi.com"));
    assert_eq!(x.request.version, proto::HttpVersion::H2);
    assert_eq!(x.request.headers.len(), 2, "pseudo-header dropped, content type added");
    assert_eq!(x.request.body.data, br#"{"imsi":"466920123456789"}"#);
    assert_eq!(x.response.as_ref().unwrap().body.data, b"okay");
    assert_eq!(x.time, Timestamp(1_407_632_401_500_000_000));
    let v6 = &a.exchanges[1];
    assert_eq!(v6.server.to_string(), "[2001:db8::1]:80");
    assert!(v6.response.is_none());
    assert_eq!(a.exchanges[2].request.body.data, b"phone=%2B886%20912");
    // The entry without a method, and the non-HTTP URL.
    assert_eq!(a.error_count, 2);
    assert_eq!(a.errors.iter().map(|e| e.0).collect::<Vec<_>>(), vec![4, 5]);
}

#[test]
fn not_json_is_an_error_with_its_position() {
    let e = read(Kind::Har, b"{\n  \"log\": [1,,]").unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("line 2"), "{msg}");
    assert!(read(Kind::Har, b"{}").is_err(), "no log");
    assert!(read(Kind::Mitmproxy, b"5:abc").is_err());
}

#[test]
fn sniffing_leaves_captures_alone() {
    assert_eq!(sniff(b"\xef\xbb\xbf  {\"log\""), Some(Kind::Har));
    assert_eq!(sniff(b"3408:7:version;"), Some(Kind::Mitmproxy));
    assert_eq!(sniff(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]), None);
    assert_eq!(sniff(&[0x0a, 0x0d, 0x0d, 0x0a]), None);
    assert_eq!(sniff(b"12345678901:"), None);
}

#[test]
fn times() {
    assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(Timestamp(0)));
    assert_eq!(parse_time("2000-03-01T00:00:00.5Z"), Some(Timestamp(951_868_800_500_000_000)));
    assert_eq!(parse_time("2000-03-01T01:00:00+01:00"), Some(Timestamp(951_868_800_000_000_000)));
    assert_eq!(parse_time("2000-13-01T00:00:00Z"), None);
    assert_eq!(parse_time("x"), None);
}

fn corpus(name: &str) -> Option<Vec<u8>> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/real/mitmproxy")
        .join(name);
    match std::fs::read(&p) {
        Ok(d) => Some(d),
        Err(_) => {
            testkit::skip::skip(
                "archive (real HAR/mitmproxy)",
                &format!("{} not found", p.display()),
            );
            None
        }
    }
}

#[test]
fn real_har_and_mitmproxy_files() {
    for (name, kind, min) in [
        ("har_files__chrome.har", Kind::Har, 3),
        ("har_files__firefox.har", Kind::Har, 5),
        ("har_files__charles.har", Kind::Har, 1),
        ("har_files__insomnia.har", Kind::Har, 1),
        ("har_files__postdata.har", Kind::Har, 1),
        ("har_files__with-bom.har", Kind::Har, 1),
        ("flows__successful_log.har", Kind::Har, 1),
        ("dumpfile-7.mitm", Kind::Mitmproxy, 1),
        ("flows__successful_log.mitm", Kind::Mitmproxy, 1),
        ("flows__websocket.mitm", Kind::Mitmproxy, 1),
        ("flows__corrupted_gzip_body.mitm", Kind::Mitmproxy, 1),
    ] {
        let Some(data) = corpus(name) else { continue };
        assert_eq!(sniff(&data), Some(kind), "{name}");
        let a = read(kind, &data).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            a.exchanges.len() >= min,
            "{name}: {} exchanges, {:?}",
            a.exchanges.len(),
            a.errors
        );
        assert!(a.exchanges.iter().all(|x| x.request.host.is_some()), "{name}");
    }
    if let Some(data) = corpus("corrupted_har__brokenfile.har") {
        let kind = sniff(&data).unwrap_or(Kind::Har);
        assert!(read(kind, &data).is_err());
    }
    if let Some(data) = corpus("har_files__postdata.har") {
        let a = read(Kind::Har, &data).unwrap();
        assert!(a.exchanges.iter().any(|x| !x.request.body.data.is_empty()));
    }
}

#[test]
fn websocket_messages_of_har_and_mitmproxy() {
    for (name, kind) in
        [("flows__websocket.har", Kind::Har), ("flows__websocket.mitm", Kind::Mitmproxy)]
    {
        let Some(data) = corpus(name) else { continue };
        let a = read(kind, &data).unwrap();
        let msgs: Vec<&WsMessage> = a.exchanges.iter().flat_map(|x| &x.websocket).collect();
        assert_eq!(msgs.len(), 5, "{name}");
        assert!(msgs.iter().any(|m| m.from_client && m.data == b"foo" && m.text), "{name}");
        assert!(msgs.iter().any(|m| !m.from_client && m.data.starts_with(b"{\"error\"")), "{name}");
    }
}
