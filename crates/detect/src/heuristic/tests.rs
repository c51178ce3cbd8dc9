//! Tests of the heuristic detectors: byte-literal positives and decoys for each, hostile input,
//! and a listing over the real capture corpus.

use std::borrow::Cow;

use super::{Hit, Options, keys, network, scan, scan_with};
use crate::DataKind;
use crate::fields::Field;

fn field<'a>(location: &str, data: &'a [u8]) -> Field<'a> {
    Field { location: location.to_string(), decoded: vec![], data: Cow::Borrowed(data) }
}

fn hits_at(location: &str, data: &[u8]) -> Vec<Hit> {
    let mut v = Vec::new();
    let f = field(location, data);
    scan(&f, &mut |h| v.push(h));
    for h in &v {
        assert!(h.start <= h.end && h.end <= data.len(), "{h:?}");
        assert!((0.0..=1.0).contains(&h.confidence), "{h:?}");
    }
    v
}

/// Hits in raw payload bytes.
fn hits(data: &[u8]) -> Vec<Hit> {
    hits_at("tcp.payload", data)
}

/// The single hit of `data`, as (kind, value, confidence, reason).
fn one(data: &[u8]) -> (DataKind, String, f32, &'static str) {
    let v = hits(data);
    assert_eq!(v.len(), 1, "{:?}: {v:#?}", String::from_utf8_lossy(data));
    let h = &v[0];
    (h.kind, h.value.clone(), h.confidence, h.reason)
}

/// No value-based hit (key-name hits, which any non-empty value under a telling key gets, are
/// tested on their own).
fn none(data: &[u8]) {
    let v: Vec<_> = hits(data).into_iter().filter(|h| h.reason != "key-name").collect();
    assert!(v.is_empty(), "{:?}: {v:#?}", String::from_utf8_lossy(data));
}

fn none_of(data: &[u8], kind: DataKind) {
    let v: Vec<_> = hits(data).into_iter().filter(|h| h.kind == kind).collect();
    assert!(v.is_empty(), "{:?}: {v:#?}", String::from_utf8_lossy(data));
}

// --- keys ---

#[test]
fn key_classes() {
    for k in ["_android_id", "androidId", "X-Android-ID", "ANDROID_ID", "androidid"] {
        assert_ne!(keys::classify(k.as_bytes()) & keys::ANDROID_ID, 0, "{k}");
    }
    for k in ["imei", "IMEI", "device_imei", "imei1", "imei_2", "x-imei", "deviceImei"] {
        assert_ne!(keys::classify(k.as_bytes()) & keys::IMEI, 0, "{k}");
    }
    for k in ["wifiMac", "wifi_mac", "mac", "bssid", "hwaddr", "mac_address"] {
        assert_ne!(keys::classify(k.as_bytes()) & keys::MAC, 0, "{k}");
    }
    for k in [
        "timeInterval",
        "mobile_type",
        "order",
        "id",
        "carrier",
        "macro",
        "phoneModel",
        "xmp.did",
        "stack_mac",
        "",
    ] {
        assert_eq!(keys::classify(k.as_bytes()), 0, "{k}");
    }
    assert_eq!(keys::classify(&[b'a'; 100]), 0);
}

/// The names the mobile SDKs give the advertising and device ids, and key paths (JSON dotted
/// paths, bracketed map keys) named by their last segment.
#[test]
fn sdk_key_names_and_key_paths() {
    let adid = [
        "gps_adid",              // Adjust
        "fire_adid",             // Adjust (Amazon)
        "aifa",                  // Singular
        "rdid",                  // Google Mobile Ads
        "advertisingTrackingId", // Unity Ads
        "advId",                 // ironSource
        "adv_id",
        "google_advertising_id", // Branch
        "oaid",                  // MSA, Huawei
        "amazon_aid",
        "a.b.advertisingTrackingId",
        "device_ids.gaid",
        "u-id-map[GPID]",       // InMobi
        "advertising_ids.aaid", // Branch
    ];
    for k in adid {
        assert_ne!(keys::classify(k.as_bytes()) & keys::ADID, 0, "{k}");
    }
    for k in ["deviceIds[AID]", "device_ids.aid", "andi", "$androidId"] {
        assert_ne!(keys::classify(k.as_bytes()) & keys::ANDROID_ID, 0, "{k}");
    }
    for k in ["vaid", "idfv", "hardware_id", "kochava_device_id", "app_instance_id"] {
        assert_ne!(keys::classify(k.as_bytes()) & keys::DEVICE_ID, 0, "{k}");
    }
    // Whole-only words deep in a path that does not name ids; plain paths.
    for k in ["xmp.did", "uid", "config.aid", "events.t", "user.name", "items[3]", "x.y.mac"] {
        assert_eq!(keys::classify(k.as_bytes()), 0, "{k}");
    }
}

/// Identifiers under the SDKs' key names and key paths are found with no profile.
#[test]
fn sdk_identifiers_without_a_profile() {
    let uuid = b"38400000-8cf0-11bd-b23e-10b96e40000d";
    let cases: &[(&str, &[u8], DataKind)] = &[
        ("http.json:ads.advertisingTrackingId", uuid, DataKind::AdvertisingId),
        ("http.query:aifa", uuid, DataKind::AdvertisingId),
        ("http.form:gps_adid", uuid, DataKind::AdvertisingId),
        ("http.json:u-id-map.GPID", uuid, DataKind::AdvertisingId),
        ("http.json:device_ids.oaid", uuid, DataKind::AdvertisingId),
        ("http.json:deviceIds.AID", b"9a8b7c6d5e4f3a2b", DataKind::AndroidId),
        ("http.query:andi", b"9a8b7c6d5e4f3a2b", DataKind::AndroidId),
    ];
    for (loc, data, kind) in cases {
        let v = hits_at(loc, data);
        assert!(v.iter().any(|h| h.kind == *kind), "{loc}: {v:#?}");
    }
    // A value wrapper named by its parent (RevenueCat), a short key under the device (OpenRTB).
    for (loc, data, kind) in [
        ("http.json:attributes.$gpsAdId.value", &uuid[..], DataKind::AdvertisingId),
        ("http.json:attributes.$androidId.value", b"9a8b7c6d5e4f3a2b", DataKind::AndroidId),
        ("http.json:device.ifa", uuid, DataKind::AdvertisingId),
        ("http.json:device_info.ifa", uuid, DataKind::AdvertisingId),
    ] {
        let v = hits_at(loc, data);
        assert!(v.iter().any(|h| h.kind == kind && h.confidence >= 0.9), "{loc}: {v:#?}");
    }
    // Typed pairs: the type named before a generic value key (`fields::typed`).
    for (loc, data, kind) in [
        ("http.json:ids.value[gaid]", &uuid[..], DataKind::AdvertisingId),
        ("http.query:u[AIFA]", uuid, DataKind::AdvertisingId),
        ("http.json:device.id[imei]", b"356938035643809", DataKind::Imei),
        ("http.form:v[aid]", b"9a8b7c6d5e4f3a2b", DataKind::AndroidId),
    ] {
        let v = hits_at(loc, data);
        assert!(v.iter().any(|h| h.kind == kind && h.confidence >= 0.9), "{loc}: {v:#?}");
    }
    // The same values under keys that say nothing, or a placement id under `gpid`: silent.
    for (loc, data) in [
        ("http.json:config.aid", &b"9a8b7c6d5e4f3a2b"[..]),
        ("http.json:imp.ext.gpid", b"/1234/home"),
    ] {
        assert!(hits_at(loc, data).is_empty(), "{loc}");
    }
}

/// The per-thread memo gives what classification gives, with slots colliding and overwritten:
/// every key of a few hundred, three rounds in shifting orders.
#[test]
fn key_memo_agrees_with_classification() {
    let mut all: Vec<String> = Vec::new();
    for base in ["imei", "androidId", "wifi_mac", "t", "k", "events.t", "lat", "phone", "order"] {
        for n in 0..40 {
            all.push(format!("{base}{}", ["", "_x", "1", ".v"][n % 4].repeat(n / 4 + 1)));
        }
    }
    let expected: Vec<_> = all.iter().map(|k| keys::classify_uncached(k.as_bytes())).collect();
    for round in 0..3 {
        for i in 0..all.len() {
            let j = (i * (round * 2 + 1) + round) % all.len();
            assert_eq!(keys::classify(all[j].as_bytes()), expected[j], "{}", all[j]);
        }
    }
    assert!(expected.iter().any(|&c| c != 0) && expected.contains(&0));
}

#[test]
fn key_before_forms() {
    let cases: &[(&[u8], &[u8])] = &[
        (b"imei=865", b"imei"),
        (b"\"imei\":\"865", b"imei"),
        (b"\"imei\" : 865", b"imei"),
        (b"X-Imei: 865", b"X-Imei"),
        (b"<imei>865", b"imei"),
        (b"imei%3D865", b"imei"),
        (b"{\\\"imei\\\":\\\"865", b"imei"),
        (b"urn:gsma:imei:865", b"imei"),
        (b"865", b""),
        (b"=865", b""),
        (b"12:865", b""),
    ];
    for (data, key) in cases {
        let pos = data.len() - 3;
        assert_eq!(keys::key_before(data, pos), *key, "{}", String::from_utf8_lossy(data));
    }
}

// --- IMEI ---

#[test]
fn imei_positives() {
    assert_eq!(
        one(b"GET /a?imei=865123045678905&x=1"),
        (DataKind::Imei, "865123045678905".into(), 0.95, "luhn+tac+key")
    );
    assert_eq!(one(b"{\"deviceId\":\"865123045678905\"}").2, 0.85);
    assert_eq!(one(b"id 865123045678905 sent").3, "luhn+tac");
    assert_eq!(one(b"v=%3D865123045678905%26").1, "865123045678905");
    let v = hits_at("http.query:imei", b"865123045678905");
    assert_eq!((v.len(), v[0].confidence, v[0].start, v[0].end), (1, 0.95, 0, 15));
    // RFC 7254 URN in a SIP Contact header, as in arkime/gtp-iphone.pcap.
    let sip = b"+sip.instance=\"<urn:gsma:imei:35442706-323347-9>\"";
    let v = hits(sip);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!((v[0].kind, v[0].value.as_str()), (DataKind::Imei, "354427063233479"));
    assert_eq!(
        (v[0].reason, &sip[v[0].start..v[0].end]),
        ("luhn+tac+key", &b"35442706-323347-9"[..])
    );
    assert_eq!(one(b"imei: 35-209900-176148-1").1, "352099001761481");
    // IMEISV under an imei key only.
    assert_eq!(one(b"imeisv=3520990017614823").3, "imeisv+key");
    none(b"x=3520990017614823");
    // Without its check digit, under an imei key only.
    assert_eq!(one(b"imei=86512304567890").3, "tac+key:no-check");
    none(b"x=86512304567890");
    // A list under a plural key: the first one has the key.
    let v = hits(b"{\"imeis\":[\"865123045678905\",\"352099001761481\"]}");
    assert_eq!(v.iter().map(|h| h.confidence).collect::<Vec<_>>(), [0.95, 0.6]);
}

#[test]
fn imei_decoys() {
    none(b"n=12345865123045678905"); // inside a 20-digit number
    none(b"imei=865123045678904"); // Luhn-invalid neighbour
    assert_eq!(one(b"imei=865123045678904").3, "key-name");
    none(b"imei=865123045678906 865123045678900");
    none(b"pi=0.865123045678905 and 865123045678905.5");
    none(b"etag=a865123045678905b");
    none(b"h=865123045678905_x");
    none(b"ts=1407661200000&us=1407661200000000&ns=1407661200000000000");
    none(b"price=19.99&total=1299.00&order_id=202408150012345");
    none(b"v=10.0.865123045678905");
    none(b"ip=192.168.100.200 ver=1.2.3.4567");
    none(b"x=123456789012347"); // Luhn-valid, no reporting body 12, no MCC 123
    none(b"{\"uid\":100004567890125}"); // Luhn-valid user id, body 10 (DECT) needs a key
    assert_eq!(one(b"imei=100004567890125").3, "luhn+tac+key");
    none(b"35442706-323347-8"); // dashed, bad check digit
}

// --- IMSI ---

#[test]
fn imsi() {
    assert_eq!(
        one(b"imsi=310260123456789"),
        (DataKind::Imsi, "310260123456789".into(), 0.95, "mcc-mnc+key")
    );
    assert_eq!(one(b"s 310260123456789 e").3, "mcc-mnc");
    let nai = b"From: <sip:001011234567890@ims.mnc001.mcc001.3gppnetwork.org>;tag=1";
    let v = hits(nai);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!((v[0].kind, v[0].reason), (DataKind::Imsi, "mcc-mnc+3gpp-nai"));
    // 352030123456783 is Luhn-valid with reporting body 35 and MCC/MNC 352-030 (Grenada).
    assert_eq!(one(b"v=352030123456783").3, "luhn+tac");
    assert_eq!(one(b"v=352030123456783").2, 0.5);
    assert_eq!(one(b"imsi=352030123456783").0, DataKind::Imsi);
    assert_eq!(one(b"imei=352030123456783").0, DataKind::Imei);
    none(b"imsi=123451234567890");
    none(b"imsi=3102601234567890");
    let n = network(b"310260123456789").unwrap();
    assert_eq!((n.mcc, n.mnc, n.operator), ("310", "260", "T-Mobile US"));
    assert_eq!(network(b"46000").unwrap().country, "CN");
    assert!(network(b"12").is_none());
    assert!(network(b"12345").is_none());
}

// --- ICCID ---

#[test]
fn iccid() {
    assert_eq!(
        one(b"iccid=89886001234567890124"),
        (DataKind::Iccid, "89886001234567890124".into(), 0.95, "luhn+89+key")
    );
    assert_eq!(one(b"sim 8988600123456789017 ok").3, "luhn+89");
    none(b"iccid=89886001234567890125"); // Luhn-invalid
    none(b"n=79886001234567890124"); // not 89
    none(b"n=1289886001234567890124");
}

// --- MAC ---

#[test]
fn mac_positives() {
    assert_eq!(
        one(b"mac=AA:BB:CC:DD:EE:0F"),
        (DataKind::Mac, "aa:bb:cc:dd:ee:0f".into(), 0.95, "mac+key")
    );
    assert_eq!(one(b"{\"wifiMac\":\"a4-5e-60-c2-11-33\"}").1, "a4:5e:60:c2:11:33");
    assert_eq!(one(b"mac:AA:BB:CC:DD:EE:0F").3, "mac+key");
    assert_eq!(one(b"seen a4:5e:60:c2:11:33 here").3, "mac");
    assert_eq!(one(b"wifimac=A45E60C21133").1, "a4:5e:60:c2:11:33");
    // Locally administered (randomised) MACs are kept.
    assert_eq!(one(b"bssid=da:a1:19:00:00:01").1, "da:a1:19:00:00:01");
}

#[test]
fn mac_decoys() {
    none(b"mac=00:00:00:00:00:00");
    none(b"mac=ff:ff:ff:ff:ff:ff");
    none(b"mac=01:00:5e:00:00:fb 33:33:00:00:00:01");
    none(b"a=aa:bb:cc:dd:ee:0f:00");
    none(b"t=12:34:56 fe80::aa:bb:cc:dd");
    none(b"fp=AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01");
    none(b"x deadbeefaa:bb:cc:dd:ee:0fcafe y");
    none(b"id=a45e60c21133"); // bare hex without a mac key
    none(b"mac=a45e60c2113"); // 11 hex digits
    none(b"aa:bb:cc:dd:ee:0g");
    // What Android returns instead of the real MAC: visible, but at 0.1.
    assert_eq!(one(b"mac=02:00:00:00:00:00").3, "mac:placeholder");
    assert_eq!(one(b"&bssid=02%3A00%3A00%3A00%3A00%3A00&").2, 0.1);
}

#[test]
fn mac_url_encoded() {
    assert_eq!(
        one(b"net=wifi&bssid=A4%3A5E%3A60%3AC2%3A11%3A33&x=1"),
        (DataKind::Mac, "a4:5e:60:c2:11:33".into(), 0.95, "mac+key:url")
    );
    none(b"id=A4%3A5E%3A60%3AC2%3A11%3A33");
}

// --- e-mail ---

#[test]
fn email() {
    assert_eq!(
        one(b"email=Alice.Chen@Example.COM&x=1"),
        (DataKind::Email, "alice.chen@example.com".into(), 0.95, "email+key")
    );
    assert_eq!(one(b"contact alice+tag@mail.example.org. bye").1, "alice+tag@mail.example.org");
    assert_eq!(one(b"to: noreply@example.com").3, "email:role");
    assert_eq!(one(b"<a href=\"mailto:bob@example.net\">").1, "bob@example.net");
    let data = b"{\"user\":\"carol@example.co.uk\"}";
    let v = hits(data);
    assert_eq!(&data[v[0].start..v[0].end], b"carol@example.co.uk");
}

#[test]
fn email_decoys() {
    none(b"img=icon@2x.png&b=logo@3x.jpg");
    none(b"user@localhost");
    none(b"a@b.c1 x@1.2.3.4");
    none(b"GET http://user:pass@host.example.com/");
    none(b"sip:alice@example.com");
    none(b"foo@@bar.com @example.com a@.com a..b@example.com .a@example.com");
    none(b"abc@example.com_x abc@exa_mple.com");
    none(b"npm i @scope/package@1.2.3");
    // 3GPP network access identifiers are IMSIs, not mailboxes.
    none_of(b"realm=\"310410010001002@ims.mnc410.mcc310.3gppnetwork.org\"", DataKind::Email);
    none(b"username=\"263734@imstest.lan\" MAIL FROM:<sanders@skynet.local>");
    none(b"Message-ID: <5682DB80.4010607@example.com>");
}

#[test]
fn email_url_encoded() {
    assert_eq!(
        one(b"author=Chris+Sanders&email=chris%40chrissanders.org"),
        (DataKind::Email, "chris@chrissanders.org".into(), 0.95, "email+key")
    );
}

// --- phone ---

#[test]
fn phone() {
    assert_eq!(
        one(b"phone=%2B886912345678&a=1"),
        (DataKind::Phone, "+886912345678".into(), 0.9, "phone+key")
    );
    assert_eq!(one(b"{\"msisdn\":\"886912345678\"}").1, "886912345678");
    assert_eq!(one(b"{\"msisdn\":\"886912345678\"}").3, "phone+key:cc");
    assert_eq!(one(b"tel=+1 650 253 0000").1, "+16502530000");
    assert_eq!(one(b"number=+8613800138000").2, 0.7);
    assert_eq!(one(b"mobile=0086 138 0013 8000").1, "008613800138000");
    let v = hits_at("http.form:phone", b"+886 912 345 678");
    assert_eq!((v.len(), v[0].value.as_str(), v[0].start), (1, "+886912345678", 0));
}

#[test]
fn phone_decoys() {
    none(b"number=20230815123&num=12345");
    none(b"phone=12345 phone=abc123 phone=");
    none(b"phone=0912345678"); // national form, no region given
    none(b"order=+8613800138000"); // not a phone key
}

#[test]
fn phone_region() {
    let f = field("tcp.payload", b"phone=0912 345 678&mobile=+8613800138000");
    let opts = Options { region: Some(phonenumber::country::Id::US) };
    let mut v = Vec::new();
    scan_with(&f, &opts, &mut |h| v.push(h));
    // `+86 138...` with a US hint is misread by the crate: the hint must not be passed.
    let p2: Vec<_> = v.iter().filter(|h| h.value == "+8613800138000").collect();
    assert_eq!(p2.len(), 1, "{v:?}");
    let tw = Options { region: Some(phonenumber::country::Id::TW) };
    let mut v = Vec::new();
    scan_with(&f, &tw, &mut |h| v.push(h));
    assert!(v.iter().any(|h| h.value == "0912345678" && h.reason == "phone+key:region"), "{v:?}");
}

// --- coordinates ---

#[test]
fn coordinates() {
    assert_eq!(
        one(b"lat=25.0339&lng=121.5645"),
        (DataKind::Location, "25.0339,121.5645".into(), 0.8, "key:lat+lon")
    );
    assert_eq!(one(b"{\"latitude\": 25.0339, \"longitude\": -121.5645}").1, "25.0339,-121.5645");
    assert_eq!(one(b"ll=25.0339,121.5645&z=3").3, "key:latlng");
    assert_eq!(one(b"at 25.033964,121.564468 now").3, "latlon-pair");
    assert_eq!(one(b"geo:-33.8688, 151.2093").1, "-33.8688,151.2093");
    assert_eq!(one(b"{\"lat\":\"25.0339\",\"lon\":\"121.5645\"}").3, "key:lat+lon");
    let data = b"lat=25.0339&lng=121.5645";
    let v = hits(data);
    assert_eq!(&data[v[0].start..v[0].end], b"25.0339&lng=121.5645");
}

#[test]
fn coordinate_decoys() {
    none(b"p=0.0000,0.0000");
    none(b"p=95.12345,10.12345 q=12.12345,190.12345");
    none(b"v=[1.2345,2.3456,3.4567,4.5678]");
    none(b"v=0.1234,0.5678");
    none(b"lat=0&lon=0 lat=0.0&lon=0.0");
    none(b"prices 19.99,29.99");
    none(b"ver 1.2.3456,7.8901");
    none(b"lat=25.0339&x=1"); // half a pair
}

// --- advertising and Android IDs ---

#[test]
fn advertising_id() {
    assert_eq!(
        one(b"gaid=38400000-8CF0-11BD-B23E-10B96E40000D"),
        (DataKind::AdvertisingId, "38400000-8cf0-11bd-b23e-10b96e40000d".into(), 0.9, "uuid+key")
    );
    assert_eq!(one(b"{\"idfa\":\"6D92078A-8246-4BA4-AE5B-76104861E7DC\"}").3, "uuid+key");
    assert_eq!(one(b"adid=00000000-0000-0000-0000-000000000000").2, 0.1);
    assert_eq!(one(b"_udid=e6dbd30b-3b84-44b4-9751-631148a3ede9").3, "uuid+key:device-id");
    none(b"request_id=6d92078a-8246-4ba4-ae5b-76104861e7dc");
    none(b"gaid=6d92078a-8246-4ba4-ae5b-76104861e7dc0");
}

#[test]
fn android_id() {
    assert_eq!(
        one(b"_android_id=b9e28776354d259e&x"),
        (DataKind::AndroidId, "b9e28776354d259e".into(), 0.9, "hex16+key")
    );
    assert_eq!(one(b"aid=B9E28776354D259E").1, "b9e28776354d259e");
    assert_eq!(one(b"android_id=9774d56d682e549c").2, 0.3);
    none(b"etag=b9e28776354d259e");
    none(b"md5=d41d8cd98f00b204e9800998ecf8427e");
    none(b"android_id=d41d8cd98f00b204e9800998ecf8427e"); // 32, not 16
    none(b"android_id=0000000000000000");
}

// --- key names ---

#[test]
fn key_names() {
    assert_eq!(one(b"imei=abcdef0123&x=1"), (DataKind::Imei, "abcdef0123".into(), 0.2, "key-name"));
    none(b"imei=null&imsi=&iccid=0&serial=unknown");
    // A value hit on the same value: no key-name hit.
    assert_eq!(one(b"imei=865123045678905").3, "luhn+tac+key");
    let v = hits_at("http.query:serial", b" R58M12ABCDE ");
    assert_eq!((v[0].kind, v[0].value.as_str(), v[0].start), (DataKind::Serial, "R58M12ABCDE", 1));
    let long = [b'x'; 200];
    let v = hits_at("http.form:contacts", &long);
    assert_eq!((v[0].kind, v[0].value.len()), (DataKind::Contact, 64));
    // The field's own key: suppressed by any value hit in the field.
    assert!(
        hits_at("http.json:imei", b"id 865123045678905").iter().all(|h| h.reason != "key-name")
    );
    none_of(b"mac=3f2a9c", DataKind::Mac); // `mac` alone is often a message authentication code
    none_of(b"platform=1&imei=1", DataKind::Imei); // a flag, not an identifier
    none_of(b"a.email=decodeURIComponent(d[0])", DataKind::Email);
    none_of(b"mail:x:8:8:mail:/var/mail:/usr/sbin/nologin", DataKind::Email);
    none_of(b"mt_adid=106535", DataKind::AdvertisingId); // an ad's id
    none_of(b"?a_aid=124545", DataKind::AdvertisingId); // an affiliate id, not `aaid`
    none_of(b"serial = \"%.16s\"", DataKind::Serial);
    assert_eq!(one(b"serial=S9999999T9943A1106").3, "key-name");
    // Adobe XMP metadata: `xmp.did` is a document id, not a device id.
    none(b"stRef:documentID=\"xmp.did:e6c45462-a8dc-41f7-a77d-cdaa714747e4\"");
}

// --- hostile input ---

#[test]
fn hostile_input_never_panics() {
    let edge: &[&[u8]] = &[
        b"",
        b"@",
        b"=",
        b":",
        b",",
        b"%",
        b"%2",
        b"\\",
        b"imei=",
        b"imei:",
        b"\"imei\":\"",
        b"lat=1.5&lng=",
        b"phone=%2",
        b"a@b.",
        b"mac=aa:bb:cc:dd:ee:",
        b"35442706-323347-",
        b"<imei>",
        b"tel:",
        b"ll=1.,",
        b",1.2345",
        b"1.2345,",
    ];
    for e in edge {
        hits(e);
        hits_at("http.query:phone", e);
        hits_at("http.query:ll", e);
        hits_at("http.query:imei", e);
    }
    // Pseudo-random bytes from an alphabet of meaningful ones.
    let alphabet = b"0123456789abcdefABCDEF:-=@.,%\"'_ <>\\+imeacgl&89x\xff\x00";
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut buf = Vec::new();
    for round in 0..3000 {
        buf.clear();
        let len = (round % 97) + 1;
        for _ in 0..len {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            buf.push(alphabet[(s % alphabet.len() as u64) as usize]);
        }
        hits(&buf);
        hits_at("http.query:lat", &buf);
    }
}

#[test]
fn long_inputs_stay_linear() {
    // Shapes that would make a naive scanner quadratic: every byte a candidate start.
    let n = 1 << 20;
    let cases: Vec<Vec<u8>> = vec![
        b"imei=".repeat(n / 5),
        b"a@".repeat(n / 2),
        b"1,".repeat(n / 2),
        b"aa:".repeat(n / 3),
        vec![b'7'; n],
        b"phone=1 ".repeat(n / 8),
        b"lat=1.5&".repeat(n / 8),
    ];
    let t = std::time::Instant::now();
    for c in &cases {
        hits(c);
    }
    // Generous even for an unoptimised build; quadratic behaviour would take minutes.
    assert!(t.elapsed().as_secs() < 20, "{:?}", t.elapsed());
}

#[test]
fn skipping_run_finder_matches_naive() {
    let class = &super::ids::HEXISH;
    let alphabet = b"0a:-zx ";
    let mut s: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..2000 {
        let len = round % 61;
        let data = random_bytes(&mut s, alphabet, len);
        for min in 1..8 {
            let mut fast = Vec::new();
            super::ids::long_runs(&data, class, min, |a, b| fast.push((a, b)));
            let mut naive = Vec::new();
            let mut i = 0;
            while i < data.len() {
                if class[usize::from(data[i])] {
                    let a = i;
                    while i < data.len() && class[usize::from(data[i])] {
                        i += 1;
                    }
                    if i - a >= min {
                        naive.push((a, i));
                    }
                } else {
                    i += 1;
                }
            }
            assert_eq!(fast, naive, "{:?} min {min}", String::from_utf8_lossy(&data));
        }
    }
}

// --- real captures ---

/// Feeds each TCP chunk and UDP datagram of every flow to the heuristics as one raw field.
#[derive(Default)]
struct Collect {
    capture: String,
    rows: Vec<(DataKind, String, String, &'static str, &'static str, f32)>,
}

impl pipeline::Observer for Collect {
    fn chunk(&mut self, _ctx: &pipeline::Context<'_>, chunk: &flow::Chunk<'_>) {
        let (location, bytes) = match chunk {
            flow::Chunk::Data { bytes, .. } => ("tcp.payload", *bytes),
            flow::Chunk::Datagram(bytes) => ("udp.payload", *bytes),
            _ => return,
        };
        let f = field(location, bytes);
        let capture = self.capture.clone();
        // Local debugging: `PHONEHOME_CORPUS_UNMASK=1` shows values in full, with their context.
        let unmask = std::env::var_os("PHONEHOME_CORPUS_UNMASK").is_some();
        scan(&f, &mut |h| {
            let value = if unmask {
                let ctx = &bytes[h.start.saturating_sub(32)..h.end];
                format!("{} <- {:?}", h.value, String::from_utf8_lossy(ctx))
            } else {
                mask(&h.value)
            };
            self.rows.push((h.kind, value, capture.clone(), location, h.reason, h.confidence));
        });
    }
}

/// A value with all but its first and last two characters masked.
fn mask(v: &str) -> String {
    let c: Vec<char> = v.chars().collect();
    if c.len() <= 4 {
        return "*".repeat(c.len());
    }
    let mut s: String = c[..2].iter().collect();
    s.push_str(&"*".repeat(c.len() - 4));
    s.extend(&c[c.len() - 2..]);
    s
}

fn captures(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            captures(&p, out);
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "pcap" | "pcapng" | "cap" | "gz" | "zst"))
        {
            out.push(p);
        }
    }
}

/// Lists every heuristic hit on the real corpus (run with `--nocapture` to read it). Asserts only
/// that the run completes; the list is for review.
#[test]
fn real_corpus_listing() {
    // `../shared/corpus/real` next to the repository, or `PHONEHOME_CORPUS`.
    let root = std::env::var_os("PHONEHOME_CORPUS").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/real"),
        std::path::PathBuf::from,
    );
    if !root.is_dir() {
        testkit::skip::skip(
            "heuristics on the real corpus",
            &format!("{} is absent", root.display()),
        );
        return;
    }
    let mut files = Vec::new();
    captures(&root, &mut files);
    let mut all = Vec::new();
    for path in &files {
        let Ok(mut reader) = capture::CaptureReader::open(path) else {
            continue;
        };
        let name = path.strip_prefix(&root).unwrap_or(path).display().to_string();
        let observer = Collect { capture: name, rows: Vec::new() };
        let mut p = pipeline::Pipeline::new(pipeline::Config::default(), observer);
        let _ = p.run(0, &mut reader);
        let (observer, _) = p.finish();
        all.extend(observer.rows);
    }
    all.sort_by(|a, b| (a.0, &a.2, &a.1, a.3).cmp(&(b.0, &b.2, &b.1, b.3)));
    let mut counts = std::collections::BTreeMap::<(DataKind, String, String, &str), usize>::new();
    for (kind, value, capture, location, reason, conf) in &all {
        *counts.entry((*kind, value.clone(), capture.clone(), location)).or_default() += 1;
        let _ = (reason, conf);
    }
    println!(
        "heuristic hits on {} captures: {} hits, {} distinct",
        files.len(),
        all.len(),
        counts.len()
    );
    let mut last = None;
    for (kind, value, capture, location, reason, conf) in &all {
        let key = (*kind, value.clone(), capture.clone(), *location);
        if last.as_ref() == Some(&key) {
            continue;
        }
        let n = counts[&key];
        println!(
            "{:<15} {value:<40} {capture:<40} {location:<12} {reason:<24} {conf:.2} x{n}",
            kind.as_str()
        );
        last = Some(key);
    }
    let mut per_kind = std::collections::BTreeMap::<DataKind, usize>::new();
    for r in &all {
        *per_kind.entry(r.0).or_default() += 1;
    }
    for (k, n) in per_kind {
        println!("count {:<15} {n}", k.as_str());
    }
}

/// The short-value shortcut of `scan_with` is sound: over many short values (the bytes every
/// detector looks for), no detector fires on a field shorter than `MIN_KEYED_LEN`, nor on one
/// shorter than `MIN_UNKEYED_LEN` under a key that tells nothing.
#[test]
fn no_hit_below_the_minimum_lengths() {
    use super::{Ctx, MIN_KEYED_LEN, MIN_UNKEYED_LEN, scan_all};
    let alphabet = b"0123456789abcdefAF@.,:=-+%_ \"x4Oimelat";
    let keyed = [
        "imei", "phone", "ll", "lat", "lon", "mac", "email", "aid", "number", "serial", "gaid",
        "location", "contacts", "did", "tel", "msisdn",
    ];
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..200_000u32 {
        let len = (round % MIN_UNKEYED_LEN as u32) as usize;
        let data = random_bytes(&mut seed, alphabet, len);
        let key = keyed[round as usize % keyed.len()];
        for (classes, limit) in
            [(0, MIN_UNKEYED_LEN), (keys::classify(key.as_bytes()), MIN_KEYED_LEN)]
        {
            if len >= limit {
                continue;
            }
            let ctx = Ctx { data: &data, field: classes };
            scan_all(&ctx, &Options::default(), &mut |h| {
                panic!("{:?} under {key} ({classes:#x}): {h:?}", String::from_utf8_lossy(&data))
            });
        }
    }
}

/// `len` bytes drawn from `alphabet` (xorshift64 on `s`).
fn random_bytes(s: &mut u64, alphabet: &[u8], len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| {
            *s ^= *s << 13;
            *s ^= *s >> 7;
            *s ^= *s << 17;
            alphabet[(*s % alphabet.len() as u64) as usize]
        })
        .collect()
}

/// `Scanner::wants` declines only fields `Scanner::scan` finds nothing in: short values under
/// telling keys, under keys that tell nothing, and without a key.
#[test]
fn a_scanner_wants_every_field_it_could_report() {
    let alphabet = b"0123456789abcdefAF@.,:=-+%_ \"x4Oimelat";
    let keys = [
        Some("imei"),
        Some("events.t"),
        Some("phone"),
        Some("ll"),
        Some("data.email"),
        Some("k"),
        Some("ids.value[gaid]"),
        None,
    ];
    let mut scanner = super::Scanner::new(Options::default());
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let (mut declined, mut wanted) = (0, 0);
    for round in 0..100_000u32 {
        let len = (round % 9) as usize;
        let data = random_bytes(&mut seed, alphabet, len);
        let key = keys[round as usize % keys.len()];
        let location = key.map_or("http.body".to_owned(), |k| format!("http.json:{k}"));
        let field = Field { location, decoded: vec![], data: data.as_slice().into() };
        assert_eq!(field.key(), key);
        if scanner.wants(key, len) {
            wanted += 1;
            continue;
        }
        declined += 1;
        scanner.scan(&field, &mut |h| panic!("declined {field:?}, but: {h:?}"));
    }
    assert!(declined > 30_000 && wanted > 30_000, "{declined} declined, {wanted} wanted");
}
