use super::*;

fn found(data: &[u8]) -> Vec<(Shape, String, Range<usize>)> {
    let mut v = Vec::new();
    candidates(data, &mut |c| v.push((c.shape, c.key, c.span)));
    v
}

#[test]
fn finds_each_shape_whole() {
    let uuid = b"{\"x\":\"3F2504E0-4F89-41D3-9A0C-0305E82C3301\"}";
    let got = found(uuid);
    assert_eq!(got, [(Shape::Uuid, "3f2504e04f8941d39a0c0305e82c3301".into(), 6..42)]);
    assert_eq!(found(b"u=9774d56d682e549c&x=1")[0].0, Shape::Hex16);
    assert_eq!(found(b"v=490154203237518")[0], (Shape::Digits15, "490154203237518".into(), 2..17));
    assert_eq!(found(b"h=5d41402abc4b2a76b9719d911017c592")[0].0, Shape::Hex32);
    assert_eq!(found(b"h=aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d")[0].0, Shape::Hex40);
    let sha256 = b"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    assert_eq!(found(sha256)[0].0, Shape::Hex64);
    // A UUID without hyphens has the key of the hyphenated one.
    assert_eq!(found(b"3f2504e04f8941d39a0c0305e82c3301")[0].1, got[0].1);
    // Several in one field, each with its span.
    let two = found(b"a=9774d56d682e549c;b=3f2504e0-4f89-41d3-9a0c-0305e82c3301");
    assert_eq!(two.len(), 2);
    assert_eq!(two[1].2, 21..57);
}

#[test]
fn pieces_of_longer_tokens_and_non_random_values_are_not_candidates() {
    for data in [
        &b"9774d56d682e549c0"[..],                  // 17 hex digits
        b"x9774d56d682e549c",                       // glued to a letter
        b"00000000-0000-0000-0000-000000000000",    // nil UUID
        b"3f2504e0-4f89-41d3-9a0c-0305e82c3301-77", // UUID glued to more
        b"a-3f2504e0-4f89-41d3-9a0c-0305e82c3301",  // glued before
        b"1234567812345678",                        // no letters
        b"deadbeefdeadbeef",                        // few distinct digits
        b"abcdefabcdefabcd",                        // no digits
        b"9774D56d682e549c",                        // mixed case: base64-like text
        b"490154203237519",                         // Luhn fails
        b"111111111111116",                         // too few distinct digits
        b"4901542032375180",                        // 16 digits: no letter
        b"zz74d56d682e549c",                        // not hex
    ] {
        assert!(found(data).is_empty(), "{}", String::from_utf8_lossy(data));
    }
}

#[test]
fn only_values_the_device_chose_are_eligible() {
    for yes in [
        "http.query:u",
        "http.form:d>json:ids.x",
        "http.json:a.b",
        "http.protobuf:2.1",
        "http.cookie:uid",
        "http.header:x-device",
        "http.body",
        "tls.payload",
        "http.multipart:meta",
    ] {
        assert!(eligible(yes), "{yes}");
    }
    for no in
        ["http.uri", "http.header:if-none-match", "http.header:cookie", "dns.label", "tls.sni"]
    {
        assert!(!eligible(no), "{no}");
    }
}

#[test]
fn confidence_grows_with_parties() {
    assert!(confidence(Shape::Uuid, 2) < confidence(Shape::Uuid, 3));
    assert!(confidence(Shape::Hex32, 2) >= 0.6);
    assert!(confidence(Shape::Uuid, 100) <= 0.9);
}

#[test]
fn hostile_bytes_never_panic() {
    let mut data = Vec::new();
    for i in 0..2000u32 {
        data.push((i.wrapping_mul(2_654_435_761) >> 13) as u8);
    }
    for end in 0..data.len() {
        found(&data[..end]);
    }
    found(b"3f2504e0-4f89-41d3-9a0c-0305e82c330");
    found(b"-");
    found(b"");
}
