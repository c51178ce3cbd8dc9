use super::*;

/// What the tiny test parser extracts from a ClientHello.
#[derive(Debug, Default)]
struct Parsed {
    sni: Option<String>,
    sni_offset: Option<usize>,
    alpn: Vec<String>,
    versions: Vec<u16>,
    ext_types: Vec<u16>,
    quic_tp: Option<Vec<u8>>,
}

fn be16(b: &[u8], i: usize) -> usize {
    usize::from(u16::from_be_bytes([b[i], b[i + 1]]))
}

/// Concatenates the fragments of consecutive handshake records (checking each header).
fn unrecord(mut rec: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while !rec.is_empty() {
        assert_eq!(rec[0], 22);
        let len = be16(rec, 3);
        out.extend_from_slice(&rec[5..5 + len]);
        rec = &rec[5 + len..];
    }
    out
}

/// Parses a ClientHello handshake message; offsets are relative to `hs`.
fn parse_hello(hs: &[u8]) -> Parsed {
    assert_eq!(hs[0], 1);
    let len = (usize::from(hs[1]) << 16) | be16(hs, 2);
    assert_eq!(len, hs.len() - 4, "handshake length");
    let mut i = 4 + 2 + 32;
    i += 1 + usize::from(hs[i]);
    i += 2 + be16(hs, i);
    i += 1 + usize::from(hs[i]);
    let ext_end = i + 2 + be16(hs, i);
    assert_eq!(ext_end, hs.len(), "extensions length");
    i += 2;
    let mut p = Parsed::default();
    while i < ext_end {
        let (ty, l) = (be16(hs, i) as u16, be16(hs, i + 2));
        let body = &hs[i + 4..i + 4 + l];
        p.ext_types.push(ty);
        match ty {
            0 => {
                assert_eq!(be16(body, 0), l - 2);
                assert_eq!(body[2], 0);
                let n = be16(body, 3);
                p.sni = Some(String::from_utf8(body[5..5 + n].to_vec()).unwrap());
                p.sni_offset = Some(i + 4 + 5);
            }
            16 => {
                let mut j = 2;
                while j < l {
                    let n = usize::from(body[j]);
                    p.alpn.push(String::from_utf8(body[j + 1..j + 1 + n].to_vec()).unwrap());
                    j += 1 + n;
                }
            }
            43 => {
                assert_eq!(usize::from(body[0]), l - 1);
                p.versions =
                    body[1..].chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            }
            57 => p.quic_tp = Some(body.to_vec()),
            _ => {}
        }
        i += 4 + l;
    }
    assert_eq!(i, ext_end);
    p
}

#[test]
fn client_hello_parses_back_with_sni_offset() {
    let ch = ClientHello::new("tracker.example.net");
    let rec = ch.record();
    assert_eq!(&rec[..3], &[0x16, 0x03, 0x01]);
    assert_eq!(be16(&rec, 3), rec.len() - 5);
    let hs = &rec[5..];
    let p = parse_hello(hs);
    assert_eq!(p.sni.as_deref(), Some("tracker.example.net"));
    let off = p.sni_offset.unwrap();
    assert_eq!(&rec[5 + off..5 + off + 19], b"tracker.example.net");
    // SNI is the first extension; its name starts after the fixed part and the 9-byte headers.
    let fixed = 4 + 2 + 32 + 1 + 32 + 2 + 2 * DEFAULT_CIPHER_SUITES.len() + 2 + 2;
    assert_eq!(off, fixed + 4 + 5);
    assert_eq!(p.alpn, ["h2", "http/1.1"]);
    assert_eq!(p.versions, [0x0304, 0x0303]);
    assert_eq!(p.ext_types[0], 0);
    assert!(p.ext_types.contains(&51));
    assert!(p.quic_tp.is_none());
    // Deterministic.
    assert_eq!(ClientHello::new("tracker.example.net").record(), rec);
    assert_ne!(ClientHello::new("other.example").random, ch.random);
}

#[test]
fn split_records_carry_the_same_message() {
    let ch = ClientHello::new("a.example").with_alpn(&["h2"]);
    let hs = ch.handshake_bytes();
    let split = ch.records(64);
    assert_eq!(split.len(), hs.len() + 5 * hs.len().div_ceil(64));
    assert_eq!(unrecord(&split), hs);
    let at = ch.records_split_at(&[3, 50]);
    assert_eq!(be16(&at, 3), 3);
    assert_eq!(be16(&at, 8 + 3), 47);
    assert_eq!(unrecord(&at), hs);
}

#[test]
fn variants_grease_padding_tls12_quic() {
    let g = ClientHello::new("g.example").with_grease(true).padded_to(512);
    let hs = g.handshake_bytes();
    assert_eq!(hs.len(), 512);
    let p = parse_hello(&hs);
    assert_eq!(p.ext_types[0], GREASE);
    assert_eq!(p.versions[0], GREASE);
    assert!(p.ext_types.contains(&21));
    let t = parse_hello(&ClientHello::tls12("old.example").handshake_bytes());
    assert!(t.versions.is_empty());
    assert!(!t.ext_types.contains(&43));
    let q = ClientHello::quic("q.example", &["h3"], vec![1, 2, 3]);
    let qp = parse_hello(&q.handshake_bytes());
    assert_eq!(qp.alpn, ["h3"]);
    assert_eq!(qp.versions, [0x0304]);
    assert_eq!(qp.quic_tp.as_deref(), Some(&[1u8, 2, 3][..]));
    let n = parse_hello(&ClientHello::new("x.y").without_sni().handshake_bytes());
    assert!(n.sni.is_none());
}

#[test]
fn server_hello_and_records() {
    let sh = ServerHello::tls13(&[7; 32]).record();
    assert_eq!(&sh[..3], &[0x16, 0x03, 0x03]);
    assert_eq!(sh[5], 2);
    assert_eq!(&sh[9..11], &[0x03, 0x03], "legacy version");
    // Extensions: supported_versions 0x0304 first.
    let ext_at = 5 + 4 + 2 + 32 + 1 + 32 + 2 + 1 + 2;
    assert_eq!(&sh[ext_at..ext_at + 6], &[0, 43, 0, 2, 3, 4]);
    let s12 = ServerHello::tls12(Some("http/1.1")).handshake_bytes();
    assert!(s12.windows(8).any(|w| w == b"http/1.1"));
    let mut rng = Rng::new(1);
    let ad = application_data(300, &mut rng);
    assert_eq!(&ad[..5], &[23, 3, 3, 1, 44]);
    assert_eq!(ad.len(), 305);
    let st = application_data_stream(40_000, 16_384, &mut rng);
    assert_eq!(st.len(), 40_000 + 15);
    assert_eq!(change_cipher_spec(), [20, 3, 3, 0, 1, 1]);
    assert_eq!(alert(2, 40), [21, 3, 3, 0, 2, 2, 40]);
}
