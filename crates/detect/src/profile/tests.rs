use super::*;

fn parse(text: &str) -> Result<Profile, ProfileError> {
    Profile::from_str(text, Path::new("."))
}

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn template_loads() {
    let p = parse(TEMPLATE).unwrap();
    assert_eq!(p.country.as_deref(), Some("TW"));
    assert_eq!(p.manufacturer.as_deref(), Some("Xiaomi"));
    assert_eq!(p.identifiers.imei, ["865123045678905"]);
    assert!(p.warnings.is_empty());
}

#[test]
fn full_profile_normalised() {
    let p = parse(
        r#"
name = "Redmi"
country = "tw"
[identifiers]
imei = ["86-512304-567890-5", "865123045678903"]
imsi = ["466920123456789"]
iccid = ["8988 6920 0000 1234 5678"]
phone = ["0912 345 678", "+86 138 0013 8000"]
serial = [" ABC123 "]
android_id = ["3F2A9C41D07B8E65"]
advertising_id = ["38400000-8CF0-11BD-B23E-10B96E40000D"]
mac = ["64-09-80-3A-5C-7E", "6409.803a.5c7f"]
email = ["Alice@Example.com"]
[location]
lat = 25.0339
lon = 121.5645
radius_m = 500
[[contacts.entry]]
name = "Alice Chen"
phone = ["+886 987 654 321"]
email = ["alice@example.com"]
[[sms]]
text = "Meet me at 3pm"
[[custom]]
label = "home Wi-Fi"
value = "CanaryNet-7f3a"
"#,
    )
    .unwrap();
    let i = &p.identifiers;
    assert_eq!(p.country.as_deref(), Some("TW"));
    assert_eq!(i.imei, ["865123045678905", "865123045678903"]);
    assert_eq!(i.iccid, ["89886920000012345678"]);
    assert_eq!(i.phone, ["+886912345678", "+8613800138000"]);
    assert_eq!(i.serial, ["ABC123"]);
    assert_eq!(i.android_id, ["3f2a9c41d07b8e65"]);
    assert_eq!(i.advertising_id, ["38400000-8cf0-11bd-b23e-10b96e40000d"]);
    assert_eq!(i.mac, ["64:09:80:3a:5c:7e", "64:09:80:3a:5c:7f"]);
    assert_eq!(p.contacts[0].phone, ["+886987654321"]);
    assert_eq!(p.sms, ["Meet me at 3pm"]);
    assert_eq!(p.custom[0].label, "home Wi-Fi");
    // Luhn failure of the second IMEI: a warning with its line, not an error.
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    assert!(p.warnings[0].starts_with("<profile>:5: identifiers.imei:"), "{}", p.warnings[0]);
    assert_eq!(p.item_count(), 2 + 1 + 1 + 2 + 1 + 1 + 1 + 2 + 1 + 3 + 1 + 1);
}

#[test]
fn unknown_keys_name_key_and_line() {
    let e = err("name = \"x\"\n[identifiers]\nimeii = [\"1\"]\n");
    assert!(e.starts_with("<profile>:3:1: unknown field `imeii`"), "{e}");
    let e = err("[location]\nlat = 1.0\nlon = 2.0\nradius_m = 3\nalt = 4\n");
    assert!(e.starts_with("<profile>:5:1: unknown field `alt`"), "{e}");
    let e = err("[[contacts.entry]]\nname = \"A\"\nfax = []\n");
    assert!(e.starts_with("<profile>:3:1: unknown field `fax`"), "{e}");
    let e = err("colour = 1\n");
    assert!(e.starts_with("<profile>:1:1: unknown field `colour`"), "{e}");
    let e = err("[identifiers]\nimei = \"865123045678905\"\n");
    assert!(e.starts_with("<profile>:2:8:"), "{e}");
    let e = err("name = \n");
    assert!(e.starts_with("<profile>:1:"), "{e}");
}

#[test]
fn invalid_values_name_key_and_line() {
    let cases: &[(&str, &str)] = &[
        (
            "[identifiers]\nimei = [\"12345\"]",
            "<profile>:2:9: identifiers.imei: \"12345\": 5 digits",
        ),
        ("[identifiers]\nimsi = [\"4669201234567x\"]", "<profile>:2:9: identifiers.imsi:"),
        ("[identifiers]\niccid = [\"123\"]", "<profile>:2:10: identifiers.iccid:"),
        ("[identifiers]\nmac = [\"64:09:80:3a:5c\"]", "<profile>:2:8: identifiers.mac:"),
        ("[identifiers]\nandroid_id = [\"3f2a9c41d07b8e6g\"]", "<profile>:2:"),
        ("[identifiers]\nadvertising_id = [\"38400000-8cf0-11bd-b23e\"]", "<profile>:2:"),
        ("[identifiers]\nemail = [\"alice.example.com\"]", "<profile>:2:10: identifiers.email:"),
        ("[identifiers]\nphone = [\"0912 345 678\"]", "needs `country`"),
        ("[identifiers]\nphone = [\"call me\"]", "identifiers.phone"),
        ("country = \"Taiwan\"", "<profile>:1:11: country: not an ISO"),
        ("country = \"ZZ\"", "country"),
        ("[location]\nlat = 91\nlon = 0\nradius_m = 1", "<profile>:2:7: location.lat"),
        ("[location]\nlat = 0\nlon = -181\nradius_m = 1", "<profile>:3:7: location.lon"),
        ("[location]\nlat = 0\nlon = 0\nradius_m = 0", "<profile>:4:12: location.radius_m"),
        ("[[sms]]\ntext = \"  \"", "<profile>:2:8: sms.text: empty"),
        ("[[custom]]\nlabel = \"x\"\nvalue = \"\"", "custom.value"),
    ];
    for (text, want) in cases {
        let e = err(text);
        assert!(e.contains(want), "{text:?}: {e}");
    }
}

#[test]
fn line_col_counts_characters() {
    assert_eq!(line_col("ab\n陳x", 6), (2, 2));
    assert_eq!(line_col("a", 99), (1, 2));
    assert_eq!(line_col("陳", 1), (1, 1));
}

#[test]
fn haversine() {
    let l = Location { lat: 25.0339, lon: 121.5645, radius_m: 500.0 };
    assert!(l.contains(25.0339, 121.5645));
    assert!(l.contains(25.0370, 121.5645)); // ~345 m north
    assert!(!l.contains(25.0400, 121.5645)); // ~678 m north
    assert!(!l.contains(f64::NAN, 121.0));
    // Taipei 101 to Taipei Main Station: about 5.7 km.
    let d = l.distance_m(25.0478, 121.5170);
    assert!((5_000.0..6_500.0).contains(&d), "{d}");
}

const ANDROID_21: &[u8] = b"BEGIN:VCARD\r\nVERSION:2.1\r\n\
N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=BC=B5;=E4=B8=89;;;\r\n\
FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=BC=B5=E4=B8=89\r\n\
TEL;CELL:+86 138 0013 8000\r\nTEL;HOME:010-6552-9988\r\nEMAIL;HOME:zhang@example.cn\r\nEND:VCARD\r\n\
BEGIN:VCARD\r\nVERSION:2.1\r\nN:Lee;Kevin;;;\r\nTEL;CELL:0912-345-678\r\nEND:VCARD\r\n";

const IOS_30: &[u8] = b"BEGIN:VCARD\nVERSION:3.0\nN:Chen;Alice;;;\nFN:Alice Chen\n\
item1.TEL;type=CELL;type=VOICE;type=pref:+886 987 654 321\nitem1.X-ABLabel:mobile\n\
item2.EMAIL;type=INTERNET;type=pref:alice@example.com\nEND:VCARD\n";

const V40: &[u8] = b"BEGIN:VCARD\nVERSION:4.0\nFN:Bob Smith\n\
TEL;VALUE=uri;TYPE=\"voice,cell\":tel:+1-650-253-0000\nEMAIL:mailto:bob@example.com\nEND:VCARD\n";

#[test]
fn vcard_versions() {
    let cards = vcard::parse(ANDROID_21).unwrap();
    assert_eq!(cards.len(), 2);
    assert_eq!(cards[0].name, "張三");
    assert_eq!(cards[0].phone, ["+86 138 0013 8000", "010-6552-9988"]);
    assert_eq!(cards[0].email, ["zhang@example.cn"]);
    assert_eq!(cards[1].name, "Kevin Lee"); // from N
    let cards = vcard::parse(IOS_30).unwrap();
    assert_eq!(cards[0].name, "Alice Chen");
    assert_eq!(cards[0].phone, ["+886 987 654 321"]);
    assert_eq!(cards[0].email, ["alice@example.com"]);
    let cards = vcard::parse(V40).unwrap();
    assert_eq!(cards[0].name, "Bob Smith");
    assert_eq!(cards[0].phone, ["+1-650-253-0000"]);
    assert_eq!(cards[0].email, ["bob@example.com"]);
}

#[test]
fn vcard_errors_name_file_and_card() {
    let bad =
        b"BEGIN:VCARD\nVERSION:3.0\nFN:A\nEND:VCARD\nnot a card\nBEGIN:VCARD\nFN:B\nEND:VCARD\n";
    let (card, _) = vcard::parse(bad).unwrap_err();
    assert_eq!(card, 2);
    assert!(vcard::parse(b"hello world\n").is_err());
    assert!(vcard::parse(b"").unwrap().is_empty());
    // Hostile bytes never panic.
    for junk in [
        &b"BEGIN:VCARD\n\xff\xfe:;;=\n"[..],
        b"BEGIN:VCARD\nN;ENCODING=QUOTED-PRINTABLE:=\n=",
        b"END:VCARD\n",
    ] {
        let _ = vcard::parse(junk);
    }

    let dir = std::env::temp_dir().join(format!("phonehome-profile-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("c.vcf"), bad).unwrap();
    let e = Profile::from_str("[contacts]\nvcf = \"c.vcf\"", &dir).unwrap_err().to_string();
    assert!(e.contains("c.vcf: vCard 2:"), "{e}");
    let e = Profile::from_str("[contacts]\nvcf = \"missing.vcf\"", &dir).unwrap_err().to_string();
    assert!(e.contains("missing.vcf: cannot read"), "{e}");
    std::fs::write(dir.join("ok.vcf"), ANDROID_21).unwrap();
    let p = Profile::from_str("country = \"TW\"\n[contacts]\nvcf = \"ok.vcf\"", &dir).unwrap();
    assert_eq!(p.contacts[0].phone, ["+8613800138000", "+8861065529988"]);
    // "010-6552-9988" is read in the profile's region (TW): national numbers follow `country`.
    assert_eq!(p.contacts[1].phone, ["+886912345678"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn example_profile_loads() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/profile.toml");
    let p = Profile::load(path).unwrap();
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!(p.identifiers.imei, ["865123045678905"]);
    assert_eq!(p.identifiers.phone, ["+886912345678"]);
    assert_eq!(p.contacts.len(), 12);
    assert_eq!(p.contacts[0].name, "陳怡君");
    assert_eq!(p.contacts[5].phone, ["+886972345118"]);
    assert_eq!(p.contacts[11].name, "Kevin Lee");
    // 5 identifiers + 12 contacts x (name + number) + 1 custom value.
    assert_eq!(p.item_count(), 5 + 24 + 1);
    let set = crate::variants::build(&p);
    assert_eq!(set.items.len(), 30);
    eprintln!("examples/profile.toml: {} items, {} variants", set.items.len(), set.variants.len());
    assert!(set.variants.len() > 500, "{}", set.variants.len());
    // Every string the demo capture carries (crates/testkit/src/scenario.rs) is a variant.
    let planted: &[(&str, &str, &str)] = &[
        ("865123045678905", "imei[0]", "plain"),
        ("466920123456789", "imsi[0]", "plain"),
        ("%2B886912345678", "phone[0]", "url+e164"),
        ("3bad3b65df7daa4992d3e986bc13cf9d", "imei[0]", "md5"),
        ("056d1631ec44526cefd6f013b5c915998188d48a", "android_id[0]", "sha1"),
        ("6409803a5c7e", "mac[0]", "mac-bare"),
        ("+886 987 654 321", "陳怡君", "international"),
        ("0972-345-118", "黃冠宇", "national"),
        ("Kevin Lee", "Kevin Lee", "plain"),
        ("1523098765", "Xiaomi account id", "plain"),
    ];
    for (bytes, label, encoding) in planted {
        let v = set.variants.iter().find(|v| v.bytes == bytes.as_bytes()).expect(bytes);
        assert_eq!((set.item(v).label.as_str(), v.encoding.as_str()), (*label, *encoding));
    }
}

#[test]
fn load_errors() {
    let e = Profile::load("/nonexistent/profile.toml").unwrap_err().to_string();
    assert!(e.starts_with("/nonexistent/profile.toml: cannot read"), "{e}");
}

#[test]
fn oversized_profile_is_refused() {
    let mut text = String::from("name = \"x\"\n");
    text.push_str(&"#".repeat(MAX_PROFILE_LEN as usize));
    assert!(matches!(parse(&text), Err(ProfileError::TooLarge { .. })));
}

/// Mutated samples (bytes flipped, cut, duplicated) never panic the profile or vCard readers.
#[test]
fn hostile_input_never_panics() {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let samples = [ANDROID_21, IOS_30, V40, TEMPLATE.as_bytes()];
    for round in 0..1500 {
        let mut data = samples[round % samples.len()].to_vec();
        for _ in 0..(next() % 8 + 1) {
            let i = (next() as usize) % data.len().max(1);
            match next() % 4 {
                0 if !data.is_empty() => data[i] = next() as u8,
                1 => data.truncate(i),
                2 => {
                    let special = b"=:;\n\r\\\"[].";
                    data.insert(i.min(data.len()), special[next() as usize % special.len()]);
                }
                _ => {
                    let end = (i + (next() as usize % 16)).min(data.len());
                    let chunk = data[i.min(end)..end].to_vec();
                    data.splice(i.min(data.len())..i.min(data.len()), chunk);
                }
            }
        }
        let _ = vcard::parse(&data);
        let _ = parse(&String::from_utf8_lossy(&data));
    }
}

#[test]
fn files_over_the_cap_are_refused() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/contacts.vcf");
    let e = read_capped(Path::new(path), 16).unwrap_err();
    assert!(matches!(e, ProfileError::TooLarge { limit: 16, size, .. } if size > 16), "{e}");
    assert!(e.to_string().contains("contacts.vcf: "), "{e}");
    assert!(read_capped(Path::new(path), MAX_VCARD_LEN).is_ok());
}
