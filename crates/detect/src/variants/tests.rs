use super::*;
use crate::profile::{Contact, Custom, Identifiers};

const IMEI: &str = "865123045678905";

fn profile_with(ids: Identifiers) -> Profile {
    Profile { country: Some("TW".into()), identifiers: ids, ..Profile::default() }
}

fn imei_set() -> VariantSet {
    build(&profile_with(Identifiers { imei: vec![IMEI.into()], ..Identifiers::default() }))
}

/// The variant with these bytes, if any.
fn find<'a>(set: &'a VariantSet, bytes: &[u8]) -> Option<&'a Variant> {
    set.variants.iter().find(|v| v.bytes == bytes)
}

#[track_caller]
fn has(set: &VariantSet, bytes: &str, encoding: &str, boundary: Boundary) {
    let v = find(set, bytes.as_bytes()).unwrap_or_else(|| panic!("no variant {bytes:?}"));
    assert_eq!((v.encoding.as_str(), v.boundary), (encoding, boundary), "{bytes}");
}

#[test]
fn imei_every_encoding() {
    let s = imei_set();
    assert_eq!(
        s.items,
        [Item { kind: DataKind::Imei, label: "imei[0]".into(), value: IMEI.into(), contact: None }]
    );
    has(&s, IMEI, "plain", Boundary::Digit);
    has(&s, "86512304567890", "imei14", Boundary::Digit);
    // printf %s 865123045678905 | md5sum / sha1sum / sha256sum
    has(&s, "3bad3b65df7daa4992d3e986bc13cf9d", "md5", Boundary::Hex);
    has(&s, "3BAD3B65DF7DAA4992D3E986BC13CF9D", "md5", Boundary::Hex);
    has(&s, "3bad3b65df7daa49", "md5-16", Boundary::Hex);
    has(&s, "df7daa4992d3e986", "md5-mid16", Boundary::Hex);
    has(&s, "O607Zd99qkmS0+mGvBPPnQ==", "md5-b64", Boundary::Alnum);
    has(&s, "O607Zd99qkmS0-mGvBPPnQ", "md5-b64url", Boundary::Alnum);
    has(&s, "5ee411e9d38000c9569c302644e69ff1e6f77a11", "sha1", Boundary::Hex);
    has(&s, "XuQR6dOAAMlWnDAmROaf8eb3ehE=", "sha1-b64", Boundary::Alnum);
    // MIUI: SHA-1, URL-safe base64, first 16 characters.
    has(&s, "XuQR6dOAAMlWnDAm", "sha1-b64-16", Boundary::Alnum);
    has(
        &s,
        "5b2f049f20d29b98acf26245a0f5020bc7ebc26fd7f945c74639e54429d94430",
        "sha256",
        Boundary::Hex,
    );
    has(&s, "edcb5fafabab3d2f34d8fb15adb02a36", "md5+imei14", Boundary::Hex);
    has(&s, "fce056d2dde5f123e2a7da50d6053646bceaf625", "sha1+imei14", Boundary::Hex);
    has(
        &s,
        "d748eac1e6f53953a215ba7d82fabd7f785a25e2586367c6768c8ef1ac9386ab",
        "sha256+imei14",
        Boundary::Hex,
    );
    has(&s, "ODY1MTIzMDQ1Njc4OTA1", "base64", Boundary::None);
    has(&s, "383635313233303435363738393035", "hex", Boundary::None);
    // No digit form is URL- or JSON-encoded differently: nothing named url/json for an IMEI.
    assert!(
        s.variants
            .iter()
            .all(|v| !v.encoding.starts_with("url") && !v.encoding.starts_with("json"))
    );
}

#[test]
fn miui_sha1_b64url_16() {
    // An id whose SHA-1 base64 has '+' or '/' in its first 16 characters tells the two apart.
    let id = (0..1000u32)
        .map(|n| format!("{n:016x}"))
        .find(|id| {
            let b = encode::base64(&Digests::of(id.as_bytes()).sha1, false, false);
            b[..16].iter().any(|&c| c == b'+' || c == b'/')
        })
        .unwrap();
    let s = build(&profile_with(Identifiers {
        android_id: vec![id.clone()],
        ..Identifiers::default()
    }));
    let url = encode::base64(&Digests::of(id.as_bytes()).sha1, true, false);
    has(&s, std::str::from_utf8(&url[..16]).unwrap(), "sha1-b64url-16", Boundary::Alnum);
}

#[test]
fn base64_inside_longer_json() {
    let s = imei_set();
    for doc in [
        r#"{"imei":"865123045678905"}"#,
        r#"{"id":"865123045678905"}"#,
        r#"{"x":"865123045678905"}"#,
    ] {
        for url_safe in [false, true] {
            let b64 = encode::base64(doc.as_bytes(), url_safe, true);
            let hit = s.variants.iter().any(|v| {
                v.boundary == Boundary::None && b64.windows(v.bytes.len()).any(|w| w == v.bytes)
            });
            assert!(hit, "{doc} {}", String::from_utf8_lossy(&b64));
        }
    }
}

#[test]
fn phone_forms_tw_cn_us() {
    phone::preload();
    let forms =
        |n: &str| -> Vec<String> { phone::forms(n, true).into_iter().map(|f| f.1).collect() };
    let tw = forms("+886912345678");
    for want in [
        "+886912345678",
        "886912345678",
        "+886 912345678",
        "00886912345678",
        "+886 912 345 678",
        "+886-912-345-678",
        "0912 345 678",
        "0912-345-678",
        "0912345678",
        "912345678",
        "912 345 678",
    ] {
        assert!(tw.iter().any(|f| f == want), "TW {want}: {tw:?}");
    }
    let cn = forms("+8613800138000");
    for want in
        ["+86 138 0013 8000", "138 0013 8000", "13800138000", "013800138000", "8613800138000"]
    {
        assert!(cn.iter().any(|f| f == want), "CN {want}: {cn:?}");
    }
    let us = forms("+16502530000");
    for want in [
        "+1 650-253-0000",
        "+1 650 253 0000",
        "(650) 253-0000",
        "650-253-0000",
        "6502530000",
        "16502530000",
    ] {
        assert!(us.iter().any(|f| f == want), "US {want}: {us:?}");
    }
    // Normalisation, with the region-hint bug worked around.
    assert_eq!(phone::normalise("+8613800138000", Some("US")).as_deref(), Some("+8613800138000"));
    assert_eq!(phone::normalise("008613800138000", Some("US")).as_deref(), Some("+8613800138000"));
    assert_eq!(phone::normalise("0912-345-678", Some("TW")).as_deref(), Some("+886912345678"));
    assert_eq!(phone::normalise("13800138000", Some("CN")).as_deref(), Some("+8613800138000"));
    assert_eq!(phone::normalise("(650) 253-0000", Some("US")).as_deref(), Some("+16502530000"));
    assert_eq!(phone::normalise("8613800138000", None).as_deref(), Some("+8613800138000"));
    for bad in ["", "abc", "12+34", "1234", "+1 650 CALL NOW"] {
        assert_eq!(phone::normalise(bad, Some("US")), None, "{bad}");
    }
}

#[test]
fn phone_variants_and_boundaries() {
    let s = build(&profile_with(Identifiers {
        phone: vec!["+886912345678".into()],
        ..Identifiers::default()
    }));
    has(&s, "+886912345678", "e164", Boundary::Alnum);
    has(&s, "886912345678", "e164-digits", Boundary::Digit);
    has(&s, "0912345678", "national-digits", Boundary::Digit);
    has(&s, "912345678", "national-digits", Boundary::Digit);
    has(&s, "%2B886912345678", "url+e164", Boundary::Alnum);
    has(&s, "%2b886912345678", "url+e164", Boundary::Alnum);
    has(&s, "%2B886+912+345+678", "url+international", Boundary::Alnum);
    assert!(find(&s, b"0912 345 678").is_some());
}

#[test]
fn mac_and_case_forms() {
    let s = build(&profile_with(Identifiers {
        mac: vec!["64:09:80:3a:5c:7e".into()],
        ..Identifiers::default()
    }));
    has(&s, "64:09:80:3a:5c:7e", "plain", Boundary::Alnum);
    has(&s, "64:09:80:3A:5C:7E", "upper", Boundary::Alnum);
    has(&s, "64-09-80-3a-5c-7e", "mac-dash", Boundary::Alnum);
    has(&s, "6409803a5c7e", "mac-bare", Boundary::Hex);
    has(&s, "6409803A5C7E", "upper+mac-bare", Boundary::Hex);
    has(&s, "64%3A09%3A80%3A3a%3A5c%3A7e", "url", Boundary::Alnum);
}

#[test]
fn text_items_url_and_json() {
    let p = Profile {
        contacts: vec![Contact {
            name: "陳怡君".into(),
            phone: vec!["+886987654321".into()],
            email: vec![],
        }],
        sms: vec!["Meet me at 3/4".into()],
        custom: vec![Custom { label: "wifi".into(), value: "CanaryNet-7f3a".into() }],
        ..Profile::default()
    };
    let s = build(&p);
    assert_eq!(s.items.len(), 4);
    assert_eq!(
        s.items[1],
        Item {
            kind: DataKind::Contact,
            label: "陳怡君".into(),
            value: "+886987654321".into(),
            contact: Some(0)
        }
    );
    has(&s, "陳怡君", "plain", Boundary::Alnum);
    has(&s, "%E9%99%B3%E6%80%A1%E5%90%9B", "url", Boundary::Alnum);
    has(&s, "%e9%99%b3%e6%80%a1%e5%90%9b", "url", Boundary::Alnum);
    has(&s, "\\u9673\\u6021\\u541b", "json", Boundary::Alnum);
    has(&s, "+886 987 654 321", "international", Boundary::Alnum);
    assert_eq!(find(&s, b"Meet+me+at+3%2F4").unwrap().encoding, "url");
    assert_eq!(find(&s, b"Meet me at 3\\/4").unwrap().encoding, "json");
    has(&s, "CanaryNet-7f3a", "plain", Boundary::Alnum);
    assert!(
        s.variants.iter().any(|v| v.encoding == "sha256" && s.item(v).kind == DataKind::Custom)
    );
    // Contacts get lower-case hex digests only.
    let c: Vec<&str> =
        s.variants.iter().filter(|v| v.item == 1).map(|v| v.encoding.as_str()).collect();
    assert!(c.contains(&"md5+e164") && !c.iter().any(|e| e.contains("b64")), "{c:?}");
}

#[test]
fn dedupe_and_short_variants() {
    let p = Profile {
        identifiers: Identifiers { phone: vec!["+886912345678".into()], ..Identifiers::default() },
        contacts: vec![Contact {
            name: "Mom".into(),
            phone: vec!["+886912345678".into()],
            email: vec![],
        }],
        custom: vec![Custom { label: "short".into(), value: "abc12".into() }],
        ..Profile::default()
    };
    let s = build(&p);
    // The contact's number is the device's own: its variants all went to the first item.
    assert_eq!(s.items.len(), 4); // "Mom" (3 bytes) is an item without variants
    assert!(s.variants.iter().all(|v| s.items[v.item as usize].kind != DataKind::Contact));
    // Unique bytes; nothing shorter than the limits.
    let mut seen = HashSet::new();
    for v in &s.variants {
        assert!(seen.insert(&v.bytes), "duplicate {:?}", v.bytes);
        let min = if v.boundary == Boundary::None { MIN_UNBOUNDED_LEN } else { MIN_VARIANT_LEN };
        assert!(v.bytes.len() >= min, "{v:?}");
    }
    assert!(find(&s, b"abc12").is_none());
    assert!(find(&s, b"YWJjMTI=").is_some()); // the padded base64 is long enough
    let first = find(&s, b"+886912345678").unwrap();
    assert_eq!((first.item, first.encoding.as_str()), (0, "e164"));
}

#[test]
fn boundaries_from_bytes() {
    assert_eq!(Boundary::of(b"123"), Boundary::Digit);
    assert_eq!(Boundary::of(b"12a"), Boundary::Hex);
    assert_eq!(Boundary::of(b"12g"), Boundary::Alnum);
    assert!(Boundary::Digit.blocks(b'7') && !Boundary::Digit.blocks(b'a'));
    assert!(Boundary::Hex.blocks(b'F') && !Boundary::Hex.blocks(b'g'));
    assert!(Boundary::Alnum.blocks(b'g') && !Boundary::Alnum.blocks(b'-'));
    assert!(!Boundary::None.blocks(b'0'));
}

/// One device with every identifier and 500 contacts (a phone each, every tenth an e-mail too).
fn big_profile() -> Profile {
    let contacts = (0..500)
        .map(|i| Contact {
            name: format!("Contact {i:03}"),
            phone: vec![format!("+88691{:07}", 1_000_000 + i * 7)],
            email: if i % 10 == 0 { vec![format!("c{i}@example.com")] } else { vec![] },
        })
        .collect();
    Profile {
        country: Some("TW".into()),
        identifiers: Identifiers {
            imei: vec![IMEI.into()],
            imsi: vec!["466920123456789".into()],
            iccid: vec!["89886920000012345678".into()],
            phone: vec!["+886912345678".into()],
            serial: vec!["R58M12ABCDE".into()],
            android_id: vec!["3f2a9c41d07b8e65".into()],
            advertising_id: vec!["38400000-8cf0-11bd-b23e-10b96e40000d".into()],
            mac: vec!["64:09:80:3a:5c:7e".into()],
            email: vec!["alice@example.com".into()],
        },
        contacts,
        ..Profile::default()
    }
}

#[test]
fn big_profile_is_fast_enough() {
    let p = big_profile();
    let t = std::time::Instant::now();
    phone::preload();
    eprintln!("phone-number metadata loaded in {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let s = build(&p);
    let took = t.elapsed();
    eprintln!(
        "1 device + 500 contacts: {} items, {} variants in {took:?}",
        s.items.len(),
        s.variants.len()
    );
    assert_eq!(s.items.len(), 9 + 500 * 2 + 50);
    // Debug builds are slow; release must stay well under 0.3 s (see the report).
    assert!(took.as_secs_f64() < 5.0);
}

#[test]
fn advertising_id_forms() {
    let id = "38400000-8cf0-11bd-b23e-10b96e40000d";
    let s = build(&profile_with(Identifiers {
        advertising_id: vec![id.into()],
        ..Identifiers::default()
    }));
    has(&s, id, "plain", Boundary::Alnum);
    has(&s, "38400000-8CF0-11BD-B23E-10B96E40000D", "upper", Boundary::Alnum);
    has(&s, "384000008cf011bdb23e10b96e40000d", "uuid-bare", Boundary::Hex);
    has(&s, "384000008CF011BDB23E10B96E40000D", "upper+uuid-bare", Boundary::Hex);
}
