use super::*;

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

fn varint(v: u64) -> Vec<u8> {
    match v {
        0..=63 => vec![v as u8],
        64..=16383 => vec![0x40 | (v >> 8) as u8, v as u8],
        _ => {
            let b = (v as u32 | 0x8000_0000).to_be_bytes();
            b.to_vec()
        }
    }
}

fn frame(typ: u64, payload: &[u8]) -> Vec<u8> {
    [varint(typ), varint(payload.len() as u64), payload.to_vec()].concat()
}

/// A field section of literals with static name references (no dynamic table).
fn section(fields: &[(u8, &str)]) -> Vec<u8> {
    let mut b = vec![0, 0];
    for (idx, value) in fields {
        b.push(0x50 | idx); // literal, static name ref (index < 16)
        b.push(value.len() as u8);
        b.extend_from_slice(value.as_bytes());
    }
    b
}

fn run(chunks: &[(Direction, u64, &[u8], bool)]) -> (Vec<Event>, Anomalies) {
    let mut h = H3Conn::new(true);
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    let mut off: HashMap<(u64, usize), u64> = HashMap::new();
    for &(dir, id, bytes, fin) in chunks {
        let o = off.entry((id, dir.index())).or_default();
        if !bytes.is_empty() {
            h.stream(C, dir, id, Chunk::Data { offset: *o, bytes }, &mut out, &mut an);
            *o += bytes.len() as u64;
        }
        if fin {
            h.stream(C, dir, id, Chunk::End, &mut out, &mut an);
        }
    }
    h.close(C, &mut out, &mut an);
    (out, an)
}

#[test]
fn request_and_response_on_a_bidi_stream_at_every_split() {
    // :method POST is static 20 (no literal needed): indexed field line 0xc0 | 20.
    let mut headers = vec![0, 0, 0xc0 | 20];
    headers.extend(&section(&[(0, "api.example.com"), (1, "/v1?imei=490154203237518")])[2..]);
    let req =
        [frame(FRAME_HEADERS, &headers), frame(FRAME_DATA, b"{\"a\":"), frame(FRAME_DATA, b"1}")]
            .concat();
    let resp = frame(FRAME_HEADERS, &[0, 0, 0xc0 | 25]); // :status 200
    for cut in 0..=req.len() {
        let (a, b) = req.split_at(cut);
        let (ev, an) = run(&[(C, 0, a, false), (C, 0, b, true), (S, 0, &resp, true)]);
        assert_eq!(an, Anomalies::default(), "cut {cut}");
        let Some(Event::HttpRequest(r)) = ev.first() else { panic!("cut {cut}: {ev:?}") };
        assert_eq!((r.method.as_str(), r.uri.as_str()), ("POST", "/v1?imei=490154203237518"));
        assert_eq!(
            (r.host.as_deref(), r.version, r.stream),
            (Some("api.example.com"), HttpVersion::H3, Some(0))
        );
        assert_eq!(r.body.data, b"{\"a\":1}");
        assert!(matches!(ev.get(1), Some(Event::HttpResponse(p)) if p.status == 200));
    }
}

#[test]
fn dynamic_table_from_the_encoder_stream_and_blocked_sections() {
    // The client's encoder stream (uni stream 2): type 0x02, capacity 220, insert
    // :authority=www.example.com and :path=/sample/path (RFC 9204 B.2).
    let enc = [
        vec![0x02],
        crate::tls::keylog::unhex(
            b"3fbd01c00f7777772e6578616d706c652e636f6dc10c2f73616d706c652f70617468",
        )
        .unwrap(),
    ]
    .concat();
    let mut hdr = crate::tls::keylog::unhex(b"03811011").unwrap();
    hdr.push(0xc0 | 17); // :method GET
    let req = frame(FRAME_HEADERS, &hdr);
    // The request arrives before the inserts it needs.
    let (ev, an) = run(&[(C, 0, &req, true), (C, 2, &enc, false)]);
    assert_eq!(an, Anomalies::default());
    let Some(Event::HttpRequest(r)) = ev.first() else { panic!("{ev:?}") };
    assert_eq!(
        (r.host.as_deref(), r.uri.as_str(), r.method.as_str()),
        (Some("www.example.com"), "/sample/path", "GET")
    );
    assert!(!r.body.truncated);
    // Never unblocked: given out at the end, truncated, without the missing fields.
    let (ev, _) = run(&[(C, 0, &req, true)]);
    assert!(ev.is_empty(), "nothing known of it: {ev:?}");
}

#[test]
fn control_and_unknown_streams_are_read_past_and_hostile_frames_stop_a_stream() {
    let settings =
        [vec![0x00], frame(FRAME_SETTINGS, &[0x01, 0x40, 0x64, 0x06, 0x44, 0x00])].concat();
    let grease = [varint(0x21), vec![1, 2, 3]].concat();
    let req = frame(FRAME_HEADERS, &section(&[(1, "/x")]));
    let (ev, an) = run(&[(C, 2, &settings, false), (C, 6, &grease, false), (C, 4, &req, true)]);
    assert_eq!(ev.len(), 1);
    assert_eq!(an, Anomalies::default());
    // A HEADERS frame claiming more than the header block limit; garbage QPACK.
    let huge = [varint(FRAME_HEADERS), varint(1 << 20)].concat();
    let (ev, an) = run(&[(C, 0, &huge, true)]);
    assert!(ev.is_empty());
    assert_eq!(an.http2_malformed, 1);
    let bad = frame(FRAME_HEADERS, &[0x00, 0x00, 0xff, 0xff, 0xff]);
    let (_, an) = run(&[(C, 0, &bad, true)]);
    assert_eq!(an.http2_malformed, 1);
}
