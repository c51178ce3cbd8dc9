use std::io::Write;

use super::*;

/// (location, decoded joined with `+`, data as lossy text) of every field.
type Got = Vec<(String, String, String)>;

fn req(uri: &str, headers: &[(&str, &[u8])], body: &[u8], encoding: &[&str]) -> HttpRequest {
    HttpRequest {
        offset: 0,
        method: "POST".into(),
        uri: uri.into(),
        version: proto::HttpVersion::H1(1),
        stream: None,
        host: Some("api.example.com".into()),
        headers: headers
            .iter()
            .map(|(n, v)| Header { name: (*n).into(), value: v.to_vec() })
            .collect(),
        body: Body {
            wire_len: body.len() as u64,
            data: body.to_vec(),
            truncated: false,
            content_encoding: encoding.iter().map(|e| (*e).to_owned()).collect(),
            decode_failed: false,
        },
    }
}

fn collect(r: &HttpRequest) -> (Got, FieldStats) {
    let mut got = Vec::new();
    let stats = http_request(r, &mut |f| {
        got.push((f.location.clone(), f.encoding(), String::from_utf8_lossy(&f.data).into_owned()));
    });
    assert_eq!(stats.fields, got.len() as u64);
    (got, stats)
}

fn has(got: &Got, loc: &str, enc: &str, data: &str) -> bool {
    got.iter().any(|(l, e, d)| l == loc && e == enc && d == data)
}

#[track_caller]
fn assert_has(got: &Got, loc: &str, enc: &str, data: &str) {
    assert!(has(got, loc, enc, data), "missing ({loc}, {enc}, {data:?}) in {got:#?}");
}

fn b64(d: &[u8], url: bool) -> String {
    let a: &[u8] = if url {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut s = String::new();
    for c in d.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..=c.len() {
            s.push(a[(n >> (18 - 6 * k) & 63) as usize] as char);
        }
        if !url {
            s.push_str(&"=="[..3 - c.len()]);
        }
    }
    s
}

fn url_enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn gzip(d: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(d).unwrap();
    e.finish().unwrap()
}

#[test]
fn uri_and_query() {
    let r = req("/a/b?imei=865123045678903&ph=%2B886%20912&q=a+b&flag&#frag", &[], b"", &[]);
    let (got, _) = collect(&r);
    assert_has(
        &got,
        "http.uri",
        "plain",
        "/a/b?imei=865123045678903&ph=%2B886%20912&q=a+b&flag&#frag",
    );
    assert_has(&got, "http.query:imei", "plain", "865123045678903");
    assert_has(&got, "http.query:ph", "plain", "%2B886%20912");
    assert_has(&got, "http.query:ph", "url", "+886 912");
    assert_has(&got, "http.query:q", "url", "a b");
    assert_has(&got, "http.query:", "plain", "flag");
    assert!(!got.iter().any(|(l, e, _)| l == "http.query:imei" && e == "url"));
    let seg = b64(br#"{"imei":"865123045678903"}"#, true);
    let (got, _) = collect(&req(&format!("/t/{seg}/x?a=1"), &[], b"", &[]));
    assert_has(&got, "http.uri>json:imei", "base64", "865123045678903");
    let f = Field { location: "http.query:imei".into(), decoded: vec![], data: Cow::Borrowed(b"") };
    assert_eq!(f.key(), Some("imei"));
}

#[test]
fn headers_and_cookies() {
    let r = req(
        "/",
        &[
            ("Host", b"api.example.com"),
            ("X-Device-Id", b"865123045678903"),
            ("Cookie", b"sid=abc; uid=%2B886912345678; ; flag"),
        ],
        b"",
        &[],
    );
    let (got, _) = collect(&r);
    assert_has(&got, "http.header:host", "plain", "api.example.com");
    assert_has(&got, "http.header:x-device-id", "plain", "865123045678903");
    assert_has(&got, "http.header:cookie", "plain", "sid=abc; uid=%2B886912345678; ; flag");
    assert_has(&got, "http.cookie:sid", "plain", "abc");
    assert_has(&got, "http.cookie:uid", "plain", "%2B886912345678");
    assert_has(&got, "http.cookie:uid", "url", "+886912345678");
    assert_has(&got, "http.cookie:", "plain", "flag");
}

#[test]
fn form_body() {
    let ct: &[(&str, &[u8])] =
        &[("Content-Type", b"application/x-www-form-urlencoded; charset=utf-8")];
    let r = req("/", ct, b"imei=865123045678903&phone=%2B886+912+345+678&empty=", &[]);
    let (got, _) = collect(&r);
    assert_has(&got, "http.form:imei", "plain", "865123045678903");
    assert_has(&got, "http.form:phone", "url", "+886 912 345 678");
    assert_has(&got, "http.form:empty", "plain", "");
    assert!(!got.iter().any(|(l, ..)| l == "http.body"));
    // Unlabelled (or mislabelled) form bodies are read as forms too.
    for ct in [&b"text/plain"[..], b""] {
        let r = req("/", &[("Content-Type", ct)], b"imei=865123045678903&b=1", &[]);
        let (got, _) = collect(&r);
        assert_has(&got, "http.form:imei", "plain", "865123045678903");
    }
}

#[test]
fn json_body() {
    let body = br#" {"device":{"imei":"865123045678903","ids":[{"mac":"aa:bb"},"x\u00e9\"\ud83d\ude00"],"n":865123045678903.5,"ok":true,"nil":null},"top":[[1,2]]}"#;
    let r = req("/", &[("Content-Type", b"application/json")], body, &[]);
    let (got, _) = collect(&r);
    assert_has(&got, "http.json:device.imei", "plain", "865123045678903");
    assert_has(&got, "http.json:device.ids.mac", "plain", "aa:bb");
    assert_has(&got, "http.json:device.ids", "plain", "x\u{e9}\"\u{1f600}");
    assert_has(&got, "http.json:device.n", "plain", "865123045678903.5");
    assert_has(&got, "http.json:top", "plain", "2");
    assert!(!got.iter().any(|(l, ..)| l == "http.body"));
    // No content type, but starts with `[`.
    let (got, _) = collect(&req("/", &[], br#"[{"a":"b"}]"#, &[]));
    assert_has(&got, "http.json:a", "plain", "b");
}

#[test]
fn truncated_and_broken_json() {
    let r = req("/", &[("Content-Type", b"application/json")], br#"{"a":{"imei":"8651230456"#, &[]);
    let (got, _) = collect(&r);
    assert_has(&got, "http.json:a.imei", "plain", "8651230456");
    let r =
        req("/", &[("Content-Type", b"application/json")], br#"{"a":"b"} trailing imei 865"#, &[]);
    let (got, _) = collect(&r);
    assert_has(&got, "http.json:a", "plain", "b");
    assert_has(&got, "http.body", "plain", "trailing imei 865");
    let r = req("/", &[("Content-Type", b"application/json")], b"not json at all", &[]);
    let (got, _) = collect(&r);
    assert_has(&got, "http.body", "plain", "not json at all");
    // An escape cut in the middle, a lone surrogate.
    let r = req("/", &[], br#"{"k":"ab\u00"#, &[]);
    let (got, _) = collect(&r);
    assert_has(&got, "http.json:k", "plain", "ab");
    let r = req("/", &[], br#"{"k":"\ud800x"}"#, &[]);
    let (got, _) = collect(&r);
    assert_has(&got, "http.json:k", "plain", "\u{fffd}x");
}

#[test]
fn json_nesting_cap() {
    let mut body = "[".repeat(MAX_JSON_NESTING + 10);
    body.push_str("\"deep\"");
    let (got, stats) = collect(&req("/", &[], body.as_bytes(), &[]));
    assert_eq!(stats.json_nesting_capped, 1);
    assert!(!got.iter().any(|(_, _, d)| d == "deep"));
    // What the walk did not reach is still searched, as it is.
    assert!(has(&got, "http.body", "plain", &body[MAX_JSON_NESTING..]));
}

#[test]
fn multipart_body() {
    let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"imei\"\r\n\r\n865123045678903\r\n--XyZ\r\nContent-Disposition: form-data; name=\"contacts\"; filename=\"book.vcf\"\r\nContent-Type: text/vcard\r\n\r\nBEGIN:VCARD\r\nTEL:+886987654321\r\nEND:VCARD\r\n\r\n--XyZ\r\nContent-Disposition: form-data; name=\"meta\"\r\n\r\n{\"phone\":\"0912345678\"}\r\n--XyZ--\r\n";
    let r = req("/", &[("Content-Type", b"multipart/form-data; boundary=\"XyZ\"")], body, &[]);
    let (got, _) = collect(&r);
    assert_has(&got, "http.multipart:imei", "plain", "865123045678903");
    assert_has(&got, "http.multipart:contacts", "plain", "book.vcf");
    assert_has(
        &got,
        "http.multipart:contacts",
        "plain",
        "BEGIN:VCARD\r\nTEL:+886987654321\r\nEND:VCARD\r\n",
    );
    assert_has(&got, "http.multipart:meta>json:phone", "plain", "0912345678");
    // Cut short: the last part is returned with what it holds.
    let r = req("/", &[("Content-Type", b"multipart/form-data; boundary=XyZ")], &body[..60], &[]);
    let (got, _) = collect(&r);
    assert_has(&got, "http.multipart:imei", "plain", "865123");
    // No boundary found: the raw body.
    let r = req("/", &[("Content-Type", b"multipart/form-data; boundary=QQ")], b"imei 865", &[]);
    let (got, _) = collect(&r);
    assert_has(&got, "http.body", "plain", "imei 865");
}

#[test]
fn gzip_body_decoded_by_proto() {
    let r = req(
        "/",
        &[("Content-Type", b"application/json"), ("Content-Encoding", b"gzip")],
        br#"{"imei":"865123045678903"}"#,
        &["gzip"],
    );
    let (got, _) = collect(&r);
    assert_has(&got, "http.json:imei", "gzip", "865123045678903");
    // A gzip body the sender did not label: inflated as a nested step.
    let r = req(
        "/",
        &[("Content-Type", b"application/octet-stream")],
        &gzip(b"imei=865123045678903"),
        &[],
    );
    let (got, _) = collect(&r);
    assert_has(&got, "http.body", "gzip", "imei=865123045678903");
    assert_has(&got, "http.body>form:imei", "gzip", "865123045678903");
}

#[test]
fn base64_in_form() {
    let v = b64(b"865123045678903", false);
    let r = req(
        "/",
        &[("Content-Type", b"application/x-www-form-urlencoded")],
        format!("d={v}").as_bytes(),
        &[],
    );
    let (got, _) = collect(&r);
    assert_has(&got, "http.form:d", "base64", "865123045678903");
    let v = b64(b"+886 912 345 678 / x", true);
    let (got, _) = collect(&req(&format!("/?d={v}"), &[], b"", &[]));
    assert_has(&got, "http.query:d", "base64", "+886 912 345 678 / x");
    // Random bytes in base64 are not searched as decoded.
    let v = b64(&[0x8f, 0x01, 0xfe, 0x99, 0x00, 0x12, 0xc3, 0x28, 0x07, 0xaa, 0xbb, 0xcc], false);
    let (got, _) = collect(&req(&format!("/?d={v}"), &[], b"", &[]));
    assert!(!got.iter().any(|(_, e, _)| e.contains("base64")), "{got:?}");
}

#[test]
fn base64_tokens_in_headers() {
    let jwt = format!(
        "{}.{}.c2lnbmF0dXJlLWJ5dGVz",
        b64(br#"{"alg":"HS256","typ":"JWT"}"#, true),
        b64(br#"{"sub":"user","imei":"865123045678903"}"#, true)
    );
    let basic = format!("Basic {}", b64(b"865123045678903:secret", false));
    let r = req(
        "/",
        &[("Authorization", format!("Bearer {jwt}").as_bytes()), ("X-A", basic.as_bytes())],
        b"",
        &[],
    );
    let (got, _) = collect(&r);
    assert_has(&got, "http.header:authorization>json:imei", "base64", "865123045678903");
    assert_has(&got, "http.header:x-a", "base64", "865123045678903:secret");
}

#[test]
fn the_issue_nesting_example() {
    // The phone number inside base64 JSON inside a URL-encoded form field.
    let json = r#"{"device":{"phone":"+886912345678"},"t":12}"#; // 43 bytes: padded
    let v = url_enc(&b64(json.as_bytes(), false));
    assert!(v.contains('%'));
    let body = format!("a=1&d={v}");
    let r =
        req("/", &[("Content-Type", b"application/x-www-form-urlencoded")], body.as_bytes(), &[]);
    let (got, stats) = collect(&r);
    assert_has(&got, "http.form:d>json:device.phone", "url+base64", "+886912345678");
    assert_eq!(stats.nested_capped, 0);
    // URL inside base64 inside a form field.
    let inner = b64(b"phone=%2B886912345678&x=1", false);
    let r = req(
        "/",
        &[("Content-Type", b"application/x-www-form-urlencoded")],
        format!("d={}", url_enc(&inner)).as_bytes(),
        &[],
    );
    let (got, _) = collect(&r);
    assert_has(&got, "http.form:d>form:phone", "url+base64+url", "+886912345678");
    // Gzip inside base64 in a header.
    let h = b64(&gzip(br#"{"imei":"865123045678903"}"#), true);
    let r = req("/", &[("X-Payload", h.as_bytes())], b"", &[]);
    let (got, _) = collect(&r);
    assert_has(&got, "http.header:x-payload>json:imei", "base64+gzip", "865123045678903");
}

#[test]
fn depth_cap() {
    // base64 four times: the last layer is past MAX_DEPTH.
    let mut v = "phone=%2B886912345678&x=1".to_owned();
    for _ in 0..4 {
        v = b64(v.as_bytes(), true);
    }
    let (got, stats) = collect(&req(&format!("/?d={v}"), &[], b"", &[]));
    assert_has(
        &got,
        "http.query:d",
        "base64+base64+base64",
        &b64(b"phone=%2B886912345678&x=1", true),
    );
    assert!(!got.iter().any(|(_, _, d)| d.contains("+886")));
    assert!(stats.nested_capped == 0, "base64 is only a guess: not counted");
    // json in json in json in json: the fourth is capped and counted.
    let mut j = r#"{"phone":"x"}"#.to_owned();
    for _ in 0..3 {
        j = format!("{{\"j\":{}}}", serde_like_escape(&j));
    }
    let (got, stats) = collect(&req("/", &[("X-J", j.as_bytes())], b"", &[]));
    let locs: Vec<_> = got.iter().map(|g| (&g.0, &g.2)).collect();
    assert!(
        has(&got, "http.header:x-j>json:j>json:j>json:j", "plain", r#"{"phone":"x"}"#),
        "{locs:#?}"
    );
    assert!(!got.iter().any(|(l, ..)| l.ends_with("phone")));
    assert_eq!(stats.nested_capped, 1);
}

fn serde_like_escape(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[test]
fn size_cap() {
    // A gzip bomb in a header is cut at MAX_DECODED_BYTES.
    let bomb = gzip(&vec![b'a'; MAX_DECODED_BYTES * 2]);
    let h = b64(&bomb, false);
    let r = req("/", &[("X-Bomb", h.as_bytes())], b"", &[]);
    let mut longest = 0;
    let stats = http_request(&r, &mut |f| longest = longest.max(f.data.len()));
    assert!(stats.decoded_capped >= 1);
    assert!(longest <= MAX_DECODED_BYTES.max(h.len()));
    // Many of them: the event budget stops the work.
    let headers: Vec<(&str, &[u8])> = (0..20).map(|_| ("X-Bomb", h.as_bytes())).collect();
    let r = req("/", &headers, b"", &[]);
    let mut total = 0usize;
    let stats = http_request(&r, &mut |f| {
        if !f.decoded.is_empty() {
            total += f.data.len();
        }
    });
    assert!(stats.decoded_capped >= 10, "{stats:?}");
    assert!(total <= MAX_DECODED_PER_EVENT + 20 * h.len());
}

#[test]
fn dns_and_sni() {
    let q = DnsQuery { id: 1, name: "865123045678905.imei.tracker.example".into(), qtype: 1 };
    let mut got = Vec::new();
    dns_query(&q, &mut |f| {
        got.push((f.location.clone(), String::from_utf8_lossy(&f.data).into_owned()))
    });
    assert_eq!(got[0], ("dns.qname".into(), "865123045678905.imei.tracker.example".into()));
    assert_eq!(got[1], ("dns.label".into(), "865123045678905".into()));
    assert_eq!(got.len(), 5);
    let h = ClientHello { sni: Some("a.example".into()), ..Default::default() };
    let mut locs = Vec::new();
    client_hello(&h, false, &mut |f| locs.push(f.location.clone()));
    client_hello(&h, true, &mut |f| locs.push(f.location.clone()));
    client_hello(&ClientHello::default(), true, &mut |f| locs.push(f.location.clone()));
    assert_eq!(locs, ["tls.sni", "quic.sni"]);
}

#[test]
fn response_fields() {
    let resp = HttpResponse {
        offset: 0,
        status: 200,
        version: proto::HttpVersion::H1(1),
        stream: None,
        headers: vec![Header {
            name: "Set-Cookie".into(),
            value: b"uid=865123045678903; Path=/".to_vec(),
        }],
        body: Body { data: br#"{"imei":"1"}"#.to_vec(), ..Default::default() },
    };
    let mut got = Vec::new();
    http_response(&resp, &mut |f| got.push(f.location.clone()));
    assert!(got.contains(&"http.cookie:uid".to_owned()));
    assert!(got.contains(&"http.json:imei".to_owned()));
}

#[test]
fn keys_are_sanitised() {
    let (got, _) = collect(&req("/?a%3Ab%3Ec=1", &[], br#"{"x:y":"2"}"#, &[]));
    assert_has(&got, "http.query:a_b_c", "plain", "1");
    assert_has(&got, "http.json:x_y", "plain", "2");
}

#[test]
fn hostile_inputs_do_not_panic() {
    let cases: &[&[u8]] = &[
        b"",
        b"%",
        b"%%%",
        b"%2",
        b"=",
        b"&&&",
        b"{",
        b"[",
        b"\"",
        b"{\"",
        b"{\"a",
        b"{\"a\"",
        b"{\"a\":",
        b"{\"a\":\"\\",
        b"{\"a\":\"\\u",
        b"{\"a\":\"\\ud800\\u",
        b"]]]}}}",
        b"\x1f\x8b\x08",
        b"\x78\x9c",
        b"\x78\x9c\x00\x00",
        b"AAAAAAAAAAAAAAAA====",
        b"--",
        b"-----",
        b"{\"a\":[1,{\"b\":[}]}",
        b"a=b=c&=&==&%zz=%",
        b"\xff\xfe{\xff:\xff}",
    ];
    for &c in cases {
        for ct in [
            &b"application/json"[..],
            b"application/x-www-form-urlencoded",
            b"multipart/form-data; boundary=-",
            b"multipart/form-data; boundary=",
            b"",
        ] {
            let uri = format!("/?{}", String::from_utf8_lossy(c));
            let r = req(&uri, &[("Content-Type", ct), ("Cookie", c), ("X", c)], c, &["gzip"]);
            collect(&r);
        }
    }
}

/// Throughput of field extraction on a typical JSON POST. Run with
/// `cargo test --release -p detect -- --ignored --nocapture fields_speed`.
#[test]
#[ignore]
fn fields_speed() {
    let mut body = String::from("{\"events\":[");
    for i in 0..40 {
        body.push_str(&format!(
            "{{\"name\":\"screen_view_{i}\",\"ts\":{},\"params\":{{\"id\":\"{}\",\"lang\":\"en-US\",\"v\":\"{}\"}}}},",
            1_699_999_999 + i,
            b64(format!("session-{i}-abcdef").as_bytes(), false),
            "x".repeat(i * 3)
        ));
    }
    body.push_str("{}]}");
    let r = req(
        "/collect?v=2&tid=G-XXXX&cid=555.666&sr=1080x2400&ul=en-us&_p=123456789",
        &[
            ("Content-Type", b"application/json"),
            ("User-Agent", b"Dalvik/2.1.0 (Linux; U; Android 11; Redmi Note 8 Build/RKQ1)"),
            ("Cookie", b"sid=abcdef0123456789; _ga=GA1.2.555.666"),
        ],
        body.as_bytes(),
        &[],
    );
    let bytes =
        r.uri.len() + r.body.data.len() + r.headers.iter().map(|h| h.value.len()).sum::<usize>();
    let n = 20000;
    let mut fields = 0u64;
    let t = std::time::Instant::now();
    for _ in 0..n {
        fields += http_request(&r, &mut |f| {
            std::hint::black_box(f);
        })
        .fields;
    }
    let dt = t.elapsed();
    println!(
        "{} requests of {bytes} bytes: {:.0} MB/s, {:.1} µs/request, {} fields/request",
        n,
        (bytes * n) as f64 / 1e6 / dt.as_secs_f64(),
        dt.as_secs_f64() * 1e6 / n as f64,
        fields / n as u64
    );
}

/// A protobuf field: tag then value bytes.
fn pb(field: u32, wire: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let put = |mut v: u64, out: &mut Vec<u8>| loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            break;
        }
        out.push(b | 0x80);
    };
    put(u64::from(field) << 3 | u64::from(wire), &mut out);
    if wire == 2 {
        put(value.len() as u64, &mut out);
    }
    out.extend_from_slice(value);
    out
}

fn pb_varint(field: u32, n: u64) -> Vec<u8> {
    let mut v = Vec::new();
    let mut n = n;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            v.push(b);
            break;
        }
        v.push(b | 0x80);
    }
    pb(field, 0, &v)
}

#[test]
fn protobuf_bodies_are_walked_without_a_schema() {
    // message { 1: "com.miui.home", 2: { 1: "490154203237518", 3: 490154203237518 (int64) },
    //           4: packed [866, 490154203237519] }
    let inner = [pb(1, 2, b"490154203237518"), pb_varint(3, 490_154_203_237_518)].concat();
    let mut packed = Vec::new();
    for n in [866u64, 490_154_203_237_519] {
        packed.extend(pb_varint(1, n)[1..].to_vec());
    }
    let body = [pb(1, 2, b"com.miui.home"), pb(2, 2, &inner), pb(4, 2, &packed)].concat();
    for ctype in [&b"application/x-protobuf"[..], b"application/octet-stream"] {
        let r = req("/log", &[("Content-Type", ctype)], &body, &[]);
        let (got, _) = collect(&r);
        assert_has(&got, "http.protobuf:1", "plain", "com.miui.home");
        assert_has(&got, "http.protobuf:2.1", "plain", "490154203237518");
        assert_has(&got, "http.protobuf:2.3", "varint", "490154203237518");
        assert_has(&got, "http.protobuf:4", "varint", "490154203237519");
        assert!(!got.iter().any(|(l, _, _)| l == "http.body"), "{got:#?}");
    }
    // gRPC: two messages, the second gzip-compressed.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&pb(5, 2, b"+886912345678")).unwrap();
    let gz = gz.finish().unwrap();
    let mut grpc = vec![0, 0, 0, 0, body.len() as u8];
    grpc.extend_from_slice(&body);
    grpc.extend_from_slice(&[1, 0, 0, 0, gz.len() as u8]);
    grpc.extend_from_slice(&gz);
    let r = req(
        "/pkg.Service/Log",
        &[("Content-Type", b"application/grpc"), ("grpc-encoding", b"gzip")],
        &grpc,
        &[],
    );
    let (got, _) = collect(&r);
    assert_has(&got, "http.protobuf:2.1", "plain", "490154203237518");
    assert_has(&got, "http.protobuf:5", "gzip", "+886912345678");
    // Base64 protobuf inside a header value.
    let r = req("/", &[("X-Token", b64(&body, false).as_bytes())], b"", &[]);
    let (got, _) = collect(&r);
    assert_has(&got, "http.header:x-token>protobuf:2.1", "base64", "490154203237518");
    // Text that happens to parse is not taken for protobuf; hostile nesting is bounded.
    let r = req("/", &[("Content-Type", b"text/plain")], b"(abc", &[]);
    assert!(collect(&r).0.iter().all(|(l, _, _)| !l.starts_with("http.protobuf")));
    let mut deep = pb(1, 2, b"x\x01");
    for _ in 0..40 {
        deep = pb(1, 2, &deep);
    }
    let r = req("/", &[("Content-Type", b"application/x-protobuf")], &deep, &[]);
    let (got, stats) = collect(&r);
    assert!(stats.nested_capped >= 1);
    assert!(got.iter().all(|(l, _, _)| l.len() < 200));
}

#[test]
fn typed_pairs_carry_their_type() {
    let json: &[(&str, &[u8])] = &[("Content-Type", b"application/json")];
    let body = br#"{"ids":[{"type":"gaid","value":"38400000-8cf0-11bd-b23e-10b96e40000d"},{"type":"imei","value":"356938035643809"}],"value":"plain","idType":"x y","id":"n"}"#;
    let r = req("/p?k=AIFA&u=38400000-8cf0-11bd-b23e-10b96e40000d&u2=1", json, body, &[]);
    let (got, _) = collect(&r);
    assert_has(&got, "http.json:ids.value[gaid]", "plain", "38400000-8cf0-11bd-b23e-10b96e40000d");
    assert_has(&got, "http.json:ids.value[imei]", "plain", "356938035643809");
    // A value key without a type before it in its object, or after a type that is no name.
    assert_has(&got, "http.json:value", "plain", "plain");
    assert_has(&got, "http.json:id", "plain", "n");
    assert_has(&got, "http.query:u[AIFA]", "plain", "38400000-8cf0-11bd-b23e-10b96e40000d");
    assert_has(&got, "http.query:u2", "plain", "1");
    // A form body, and a type after the value does not count.
    let form: &[(&str, &[u8])] = &[("Content-Type", b"application/x-www-form-urlencoded")];
    let r = req("/", form, b"v=9a8b7c6d5e4f3a2b&t=aid&v=1", &[]);
    let (got, _) = collect(&r);
    assert_has(&got, "http.form:v", "plain", "9a8b7c6d5e4f3a2b");
    assert_has(&got, "http.form:v[aid]", "plain", "1");
}

/// A sieve sees every field with the key `Field::key` gives; the fields it declines are counted
/// and not handed over, the others come out as without a sieve, and the nested encodings of a
/// declined value are still tried.
#[test]
fn a_sieve_passes_over_what_it_declines() {
    let inner = b64(br#"{"imei":"490154203237518"}"#, false);
    let body =
        format!(r#"{{"events":[{{"t":12345,"k":"a=bcd"}},{{"t":7,"k":"{inner}"}}],"n":"abc"}}"#);
    let r = req("/log?a=1&b=12345", &[("content-type", b"application/json")], body.as_bytes(), &[]);
    let (all, all_stats) = collect(&r);
    let mut asked = Vec::new();
    let mut got = Vec::new();
    // Declines exactly the 5-byte values.
    let stats = http_request_sieved(
        &r,
        &mut |key, len| {
            asked.push((key.map(str::to_owned), len));
            len != 5
        },
        &mut |f| {
            assert_ne!(f.data.len(), 5, "{f:?} was declined");
            got.push((f.location.clone(), f.encoding(), String::from_utf8_lossy(&f.data).into()));
        },
    );
    assert_eq!(stats.fields, all_stats.fields, "every field is counted");
    assert_eq!(stats.passed_over + got.len() as u64, stats.fields);
    assert_eq!(stats.passed_over, 3, "12345 twice and a=bcd: {stats:?}");
    let expected: Got = all.iter().filter(|(_, _, d)| d.len() != 5).cloned().collect();
    assert_eq!(got, expected);
    // The sieve was asked with the key each field has.
    for (l, _, d) in &all {
        let key = Field { location: l.clone(), decoded: vec![], data: d.as_bytes().into() }
            .key()
            .map(str::to_owned);
        assert!(asked.contains(&(key.clone(), d.len())), "not asked for {l} ({key:?}, {d:?})");
    }
    // The declined `a=bcd` was still read as a form.
    assert_has(&got, "http.json:events.k>form:a", "plain", "bcd");
    assert_has(&got, "http.json:events.k>json:imei", "base64", "490154203237518");
}
