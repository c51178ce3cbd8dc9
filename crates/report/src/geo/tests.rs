use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let d = std::env::temp_dir().join(format!("phonehome-geo-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Self(d)
    }
    fn write(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, data).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const CSV: &[u8] = b"1.1.1.0,1.1.1.255,13335,\"Cloudflare, Inc.\"\n\
8.8.8.0,8.8.8.255,15169,Google LLC\n\
10.0.0.0,10.255.255.255,64512,should never be used\n\
2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC\n";

#[test]
fn none_knows_nothing_and_says_why() {
    let g = Geo::none();
    assert!(!g.has_country() && !g.has_asn());
    assert_eq!(g.source(), None);
    assert_eq!(
        g.lookup(ip("8.8.8.8")),
        GeoInfo { country: None, asn: None, as_org: None, reason: Some("no-data") }
    );
    assert_eq!(g.lookup(ip("192.168.1.10")).reason, Some("private"));
    assert_eq!(g.lookup(ip("fe80::1")).reason, Some("link-local"));
    assert_eq!(g.lookup(ip("203.0.113.17")).reason, Some("documentation"));
    assert_eq!(g.heap_bytes(), 0);
}

#[test]
fn asn_only() {
    let d = TempDir::new("asn-only");
    let csv = d.write("asn.csv", CSV);
    d.write("asn.csv.source", b"@ip-location-db/asn 2.3.2026061719 (data 2026-06-17)\nmore\n");
    let g = Geo::open(None, Some(&csv)).unwrap();
    assert!(g.has_asn() && !g.has_country());
    assert_eq!(
        g.lookup(ip("8.8.8.8")),
        GeoInfo {
            country: None,
            asn: Some(15169),
            as_org: Some("Google LLC".into()),
            reason: Some("no-data")
        }
    );
    assert_eq!(g.lookup(ip("::ffff:1.1.1.1")).asn, Some(13335));
    assert_eq!(g.lookup(ip("64:ff9b::101:101")).as_org.as_deref(), Some("Cloudflare, Inc."));
    assert_eq!(g.lookup(ip("2001:4860:4860::8888")).asn, Some(15169));
    assert_eq!(g.lookup(ip("9.9.9.9")), GeoInfo { reason: Some("no-data"), ..GeoInfo::default() });
    // A private address has no network, even when a CSV row claims it.
    assert_eq!(g.lookup(ip("10.1.2.3")), GeoInfo { reason: Some("private"), ..GeoInfo::default() });
    assert_eq!(
        g.source().as_deref(),
        Some("network: @ip-location-db/asn 2.3.2026061719 (data 2026-06-17)")
    );
    let s = g.asn_stats().unwrap();
    assert_eq!((s.v4_ranges, s.v6_ranges, s.malformed), (3, 1, 0));
}

#[test]
fn compiled_asn_table_answers_like_the_csv() {
    let d = TempDir::new("asn-table");
    let csv = d.write("asn.csv", &[CSV, b"oops\n"].concat());
    let table = d.0.join("asn.bin");
    let stats = compile_asn_csv(&csv, &table).unwrap();
    assert_eq!((stats.v4_ranges, stats.v6_ranges, stats.malformed), (3, 1, 1));
    assert_eq!(stats.first_malformed, vec![(5, "fewer than 4 fields")]);
    assert!(std::fs::read(&table).unwrap().starts_with(&asn::TABLE_MAGIC));
    d.write("asn.bin.source", b"@ip-location-db/asn 2.3.2026061719 (data 2026-06-17)\n");

    let from_csv = Geo::open(None, Some(&csv)).unwrap();
    let g = Geo::open(None, Some(&table)).unwrap();
    for a in ["8.8.8.8", "1.1.1.1", "::ffff:1.1.1.1", "2001:4860:4860::8888", "9.9.9.9", "10.1.2.3"]
    {
        assert_eq!(g.lookup(ip(a)), from_csv.lookup(ip(a)), "{a}");
    }
    assert_eq!(g.lookup(ip("1.1.1.1")).as_org.as_deref(), Some("Cloudflare, Inc."));
    assert_eq!(
        g.source().as_deref(),
        Some("network: @ip-location-db/asn 2.3.2026061719 (data 2026-06-17)")
    );
    // Counts come from the table's header; the malformed lines were reported when compiling.
    let s = g.asn_stats().unwrap();
    assert_eq!((s.v4_ranges, s.v6_ranges, s.networks, s.malformed), (3, 1, 3, 1));
    assert!(s.first_malformed.is_empty());
    assert!(g.heap_bytes() > 48 && g.heap_bytes() < 1024, "{}", g.heap_bytes());
}

#[test]
fn asn_source_defaults_to_the_path() {
    let d = TempDir::new("asn-path");
    let csv = d.write("mine.csv", CSV);
    let g = Geo::open(None, Some(&csv)).unwrap();
    assert_eq!(g.source(), Some(format!("network: {}", csv.display())));
}

#[test]
fn errors_name_the_file() {
    let d = TempDir::new("errors");
    let missing = d.0.join("missing.mmdb");
    let e = Geo::open(Some(&missing), None).unwrap_err();
    assert!(matches!(e, GeoError::Io { .. }));
    assert!(e.to_string().starts_with(&missing.display().to_string()), "{e}");

    let not_mmdb = d.write("fake.mmdb", b"this is not a MaxMind DB at all");
    let e = Geo::open(Some(&not_mmdb), None).unwrap_err();
    assert!(matches!(e, GeoError::Mmdb { .. }), "{e:?}");
    assert!(e.to_string().contains("fake.mmdb"), "{e}");

    let bad_csv = d.write("bad.csv", b"\n\nhello world\n");
    let e = Geo::open(None, Some(&bad_csv)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: line 3: fewer than 4 fields (expected start,end,asn,org rows)",
            bad_csv.display()
        )
    );

    let good = asn::compile(CSV).unwrap().bytes;
    let cut = d.write("cut.bin", &good[..good.len() - 3]);
    let e = Geo::open(None, Some(&cut)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: not a usable ASN table: its counts do not match its size (truncated or \
             corrupted) (scripts/geo-setup.sh --force makes a new one)",
            cut.display()
        )
    );
    let newer = d.write("newer.bin", &[&good[..8], &9u32.to_le_bytes(), &good[12..]].concat());
    let e = Geo::open(None, Some(&newer)).unwrap_err();
    assert!(matches!(e, GeoError::AsnTable { .. }), "{e:?}");
    assert!(e.to_string().contains("newer.bin: not a usable ASN table: table format of another"));
    let e = Geo::open(None, Some(&d.write("magic.bin", b"\x89PNG\r\n\x1a\n"))).unwrap_err();
    assert!(e.to_string().contains("magic.bin: not a usable ASN table: not a phonehome"), "{e}");

    let nowhere = d.0.join("no/such/dir/asn.bin");
    let e = compile_asn_csv(&d.write("ok.csv", CSV), &nowhere).unwrap_err();
    assert!(matches!(e, GeoError::Write { .. }), "{e:?}");
    assert!(e.to_string().starts_with(&format!("{}: cannot write: ", nowhere.display())), "{e}");
    let e = compile_asn_csv(&bad_csv, &d.0.join("x.bin")).unwrap_err();
    assert!(matches!(e, GeoError::AsnCsv { line: 3, .. }), "{e:?}");
    assert!(!d.0.join("x.bin").exists());
}

#[test]
fn absurd_files_are_refused() {
    let d = TempDir::new("large");
    let p = d.write("big.csv", &[b'x'; 100]);
    let e = read_bounded(&p, 99).unwrap_err();
    assert!(matches!(e, GeoError::TooLarge { size: 100, limit: 99, .. }), "{e:?}");
    assert!(e.to_string().contains("big.csv: 100 bytes is larger than the 99-byte limit"), "{e}");
    assert_eq!(read_bounded(&p, 100).unwrap().len(), 100);
}

#[test]
fn default_paths_look_in_data_dirs_and_honour_geo_db() {
    let d = TempDir::new("paths");
    let a = d.0.join("a");
    let b = d.0.join("b");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let dirs = [a.clone(), b.clone()];
    assert_eq!(Geo::paths_in(&dirs, None), GeoPaths::default());

    std::fs::write(b.join("GeoLite2-City.mmdb"), b"").unwrap();
    std::fs::write(b.join("asn.csv"), b"").unwrap();
    assert_eq!(
        Geo::paths_in(&dirs, None),
        GeoPaths { country_mmdb: Some(b.join("GeoLite2-City.mmdb")), asn: Some(b.join("asn.csv")) }
    );
    // The compiled table is preferred to the CSV.
    std::fs::write(b.join("asn.bin"), b"").unwrap();
    assert_eq!(Geo::paths_in(&dirs, None).asn, Some(b.join("asn.bin")));
    std::fs::write(a.join("geo-whois-asn-country.mmdb"), b"").unwrap();
    assert_eq!(Geo::paths_in(&dirs, None).country_mmdb, Some(a.join("geo-whois-asn-country.mmdb")));
    let mine = Path::new("/somewhere/GeoLite2-Country.mmdb");
    assert_eq!(
        Geo::paths_in(&dirs, Some(mine)),
        GeoPaths { country_mmdb: Some(mine.to_path_buf()), asn: Some(b.join("asn.bin")) }
    );
}

/// The repository's `data/geo`, filled by `scripts/geo-setup.sh`; `None` (and a message) when it
/// was not run, as in CI.
fn installed_data() -> Option<GeoPaths> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(DATA_DIR);
    let p = Geo::paths_in(std::slice::from_ref(&dir), None);
    if p.country_mmdb.is_none() {
        testkit::skip::skip(
            "geo (real data)",
            &format!("no mmdb in {} (run scripts/geo-setup.sh)", dir.display()),
        );
        return None;
    }
    Some(p)
}

#[test]
fn installed_data_answers_known_addresses() {
    let Some(p) = installed_data() else { return };
    let g = Geo::open(p.country_mmdb.as_deref(), p.asn.as_deref()).unwrap();
    for (addr, cc) in [
        ("1.1.1.1", "AU"),
        ("8.8.8.8", "US"),
        ("223.5.5.5", "CN"),
        ("101.101.101.101", "TW"),
        ("2001:4860:4860::8888", "US"),
        ("::ffff:8.8.8.8", "US"),
    ] {
        let info = g.lookup(ip(addr));
        assert_eq!(info.country.as_deref(), Some(cc), "{addr}: {info:?}");
        assert_eq!(info.reason, None);
    }
    assert_eq!(g.lookup(ip("10.0.0.1")).reason, Some("private"));
    if g.has_asn() {
        assert_eq!(g.lookup(ip("8.8.8.8")).asn, Some(15169));
        assert_eq!(g.lookup(ip("1.1.1.1")).asn, Some(13335));
        assert_eq!(g.lookup(ip("2001:4860:4860::8888")).asn, Some(15169));
        assert_eq!(g.asn_stats().unwrap().malformed, 0);
    }
    let source = g.source().unwrap();
    assert!(source.starts_with("country: "), "{source}");
    eprintln!("geo source: {source}");
}

/// Load time and memory of the installed data:
/// `cargo test --release -p report geo::tests::load_time -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement; needs scripts/geo-setup.sh"]
fn load_time() {
    let Some(p) = installed_data() else { return };
    let t = Instant::now();
    let c = Geo::open(p.country_mmdb.as_deref(), None).unwrap();
    let tc = t.elapsed();
    let t = Instant::now();
    let Some(asn) = p.asn else {
        testkit::skip::skip("geo (ASN data)", "no ASN data (run scripts/geo-setup.sh)");
        return;
    };
    let a = Geo::open(None, Some(&asn)).unwrap();
    let ta = t.elapsed();
    let (mut tr, mut tk) = (Duration::MAX, Duration::MAX);
    for _ in 0..20 {
        let t = Instant::now();
        let bytes = read_bounded(&asn, MAX_ASN_BYTES).unwrap();
        tr = tr.min(t.elapsed());
        let t = Instant::now();
        asn::AsnTable::load(bytes).unwrap();
        tk = tk.min(t.elapsed());
    }
    eprintln!("asn table, best of 20: reading {tr:?}, checking {tk:?}");
    let t = Instant::now();
    let mut found = 0u32;
    for i in 0..1_000_000u32 {
        let g = &a;
        found += u32::from(
            g.lookup(IpAddr::from(i.wrapping_mul(2_654_435_761).to_be_bytes())).asn.is_some(),
        );
        found += u32::from(
            c.lookup(IpAddr::from(i.wrapping_mul(40503).to_be_bytes())).country.is_some(),
        );
    }
    let tl = t.elapsed();
    eprintln!(
        "country mmdb: {tc:?}, {} MB; asn {}: {ta:?}, {} MB heap, {:?}; 1M+1M lookups: {tl:?} ({found} found)",
        c.heap_bytes() >> 20,
        asn.display(),
        a.heap_bytes() >> 20,
        a.asn_stats().unwrap(),
    );
}

/// A minimal MaxMind DB (IPv4, one tree node, 24-bit records), written by hand since the
/// maxminddb crate cannot write: `0.0.0.0/1` holds `left`, `128.0.0.0/1` holds `right`.
fn tiny_mmdb(database_type: &str, left: &[u8], right: &[u8]) -> Vec<u8> {
    const NODE_COUNT: u32 = 1;
    let mut out = Vec::new();
    for offset in [0, left.len()] {
        let record = NODE_COUNT + 16 + offset as u32;
        out.extend(&record.to_be_bytes()[1..]);
    }
    out.extend([0u8; 16]);
    out.extend(left);
    out.extend(right);
    out.extend(b"\xab\xcd\xefMaxMind.com");
    out.extend(map(9));
    for (k, v) in [
        ("node_count", u32v(NODE_COUNT)),
        ("record_size", u16v(24)),
        ("ip_version", u16v(4)),
        ("database_type", s(database_type)),
        ("languages", vec![0x00, 0x04]), // empty array
        ("binary_format_major_version", u16v(2)),
        ("binary_format_minor_version", u16v(0)),
        ("build_epoch", [&[0x08, 0x02][..], &1_781_654_400u64.to_be_bytes()].concat()),
        ("description", map(0)),
    ] {
        out.extend(s(k));
        out.extend(v);
    }
    out
}

fn s(v: &str) -> Vec<u8> {
    assert!(v.len() < 29);
    [&[0x40 | v.len() as u8][..], v.as_bytes()].concat()
}
fn map(n: u8) -> Vec<u8> {
    vec![0xe0 | n]
}
fn u16v(v: u16) -> Vec<u8> {
    [&[0xa2][..], &v.to_be_bytes()].concat()
}
fn u32v(v: u32) -> Vec<u8> {
    [&[0xc4][..], &v.to_be_bytes()].concat()
}
/// `{outer: {iso_code: code}}`
fn iso(outer: &str, code: &str) -> Vec<u8> {
    [map(1), s(outer), map(1), s("iso_code"), s(code)].concat()
}

#[test]
fn maxmind_style_records_are_read() {
    let d = TempDir::new("mmdb");
    // GeoLite2-City style: country.iso_code; a record with only registered_country (lower case
    // to check normalisation) on the other half.
    let mmdb = tiny_mmdb(
        "GeoLite2-City",
        &[map(2), s("city"), map(0), s("country"), map(1), s("iso_code"), s("DE")].concat(),
        &iso("registered_country", "jp"),
    );
    let p = d.write("GeoLite2-City.mmdb", &mmdb);
    let g = Geo::open(Some(&p), None).unwrap();
    assert_eq!(g.lookup(ip("8.8.8.8")).country.as_deref(), Some("DE"));
    assert_eq!(g.lookup(ip("200.1.1.1")).country.as_deref(), Some("JP"));
    assert_eq!(g.lookup(ip("10.0.0.1")).reason, Some("private"));
    assert_eq!(
        g.source().as_deref(),
        Some("country: GeoLite2-City (built 2026-06-17, GeoLite2-City.mmdb)")
    );

    // ip-location-db style: country_code; a bogus code is not a country.
    let mmdb = tiny_mmdb(
        "country ipvAll",
        &[map(1), s("country_code"), s("CN")].concat(),
        &[map(1), s("country_code"), s("Narnia")].concat(),
    );
    let p = d.write("geo-whois-asn-country.mmdb", &mmdb);
    d.write("geo-whois-asn-country.mmdb.source", b"test data (data 2026-06-17)\n");
    let g = Geo::open(Some(&p), None).unwrap();
    assert_eq!(
        g.lookup(ip("1.2.3.4")),
        GeoInfo { country: Some("CN".into()), asn: None, as_org: None, reason: None }
    );
    assert_eq!(g.lookup(ip("200.1.1.1")).reason, Some("not-found"));
    assert_eq!(
        g.source().as_deref(),
        Some("country: test data (data 2026-06-17), built 2026-06-17")
    );
}
