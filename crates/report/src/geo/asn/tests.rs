use super::*;

const CSV: &[u8] = b"1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n\
1.1.1.0,1.1.1.255,13335,\"Cloudflare, Inc.\"\r\n\
8.8.8.0,8.8.8.255,15169,Google LLC\n\
\n\
223.5.5.0,223.5.5.255,37963,\"Hangzhou Alibaba Advertising Co.,Ltd.\"\n\
2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC\n\
2400:cb00::,2400:cb00:ffff:ffff:ffff:ffff:ffff:ffff,13335,\"Cloudflare, Inc.\"\n\
10.0.0.0,10.0.0.255,64512,\"Say \"\"hi\"\"\"\n";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Compiles and loads, as `Geo::open` does with a CSV.
fn table(csv: &[u8]) -> AsnTable {
    let c = compile(csv).unwrap();
    let mut t = AsnTable::load(c.bytes).unwrap();
    assert_eq!(AsnStats { first_malformed: vec![], ..c.stats.clone() }, t.stats, "header stats");
    t.stats = c.stats;
    t
}

#[test]
fn v4_and_v6_ranges() {
    let t = table(CSV);
    assert_eq!(t.lookup(ip("1.1.1.1")), Some((13335, "Cloudflare, Inc.")));
    assert_eq!(t.lookup(ip("1.0.0.0")), Some((13335, "Cloudflare, Inc.")));
    assert_eq!(t.lookup(ip("1.0.0.255")), Some((13335, "Cloudflare, Inc.")));
    assert_eq!(t.lookup(ip("1.0.1.0")), None);
    assert_eq!(t.lookup(ip("0.255.255.255")), None);
    assert_eq!(t.lookup(ip("0.0.0.0")), None);
    assert_eq!(t.lookup(ip("8.8.8.8")), Some((15169, "Google LLC")));
    assert_eq!(t.lookup(ip("223.5.5.5")), Some((37963, "Hangzhou Alibaba Advertising Co.,Ltd.")));
    assert_eq!(t.lookup(ip("255.255.255.255")), None);
    assert_eq!(t.lookup(ip("2001:4860:4860::8888")), Some((15169, "Google LLC")));
    assert_eq!(t.lookup(ip("2400:cb00::1")), Some((13335, "Cloudflare, Inc.")));
    assert_eq!(t.lookup(ip("2400:cb01::1")), None);
    assert_eq!(t.lookup(ip("::1")), None);
    assert_eq!(t.lookup(ip("10.0.0.1")), Some((64512, "Say \"hi\"")));
    assert_eq!(
        t.stats,
        AsnStats {
            v4_ranges: 5,
            v6_ranges: 2,
            orgs: 4,
            networks: 4,
            malformed: 0,
            overlapping: 0,
            first_malformed: vec![]
        }
    );
}

#[test]
fn the_format_is_as_documented() {
    let c = compile(b"1.2.3.0,1.2.3.255,7,ab\n::1,::2,7,ab\n").unwrap();
    let mut want = TABLE_MAGIC.to_vec();
    for v in [TABLE_VERSION, 0, 1, 1, 1, 1, 2, 0, 0, 0] {
        want.extend(v.to_le_bytes());
    }
    want.extend([0, 3, 2, 1, 255, 3, 2, 1, 0, 0, 0, 0]); // v4 start, end, network
    want.extend(1u128.to_le_bytes());
    want.extend(2u128.to_le_bytes());
    want.extend(0u32.to_le_bytes());
    want.extend([7, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0]); // network: AS7, name at 0, 2 bytes
    want.extend(b"ab");
    assert_eq!(c.bytes, want);
}

#[test]
fn empty_families_and_an_empty_file_load() {
    let t = table(b"");
    assert_eq!(t.lookup(ip("1.1.1.1")), None);
    assert_eq!(t.lookup(ip("::1")), None);
    let t = table(b"::,::ffff,1,x\n");
    assert_eq!(t.lookup(ip("::1")), Some((1, "x")));
    assert_eq!(t.lookup(ip("0.0.0.1")), None);
}

#[test]
fn unsorted_input_is_sorted() {
    let t = table(b"9.0.0.0,9.0.0.255,3,c\n2.0.0.0,2.0.0.255,2,b\n1.0.0.0,1.0.0.255,1,a\n");
    assert_eq!(t.lookup(ip("1.0.0.7")), Some((1, "a")));
    assert_eq!(t.lookup(ip("2.0.0.7")), Some((2, "b")));
    assert_eq!(t.lookup(ip("9.0.0.7")), Some((3, "c")));
}

#[test]
fn overlaps_are_resolved_and_neighbours_merged() {
    // The npm data has one such overlap (two US DoD ranges).
    let t = table(
        b"5.0.0.0,5.0.0.255,1,a\n\
5.0.0.100,5.0.1.255,2,b\n\
5.0.0.10,5.0.0.20,3,inside\n\
5.0.0.0,5.0.0.255,4,duplicate start\n\
5.0.1.128,5.0.3.255,8,tail\n\
5.0.3.0,5.0.5.255,8,tail\n",
    );
    assert_eq!(t.lookup(ip("5.0.0.15")), Some((1, "a")));
    assert_eq!(t.lookup(ip("5.0.0.255")), Some((1, "a")));
    assert_eq!(t.lookup(ip("5.0.1.0")), Some((2, "b")));
    assert_eq!(t.lookup(ip("5.0.1.255")), Some((2, "b")));
    assert_eq!(t.lookup(ip("5.0.2.0")), Some((8, "tail")));
    assert_eq!(t.lookup(ip("5.0.5.255")), Some((8, "tail")));
    assert_eq!(t.lookup(ip("5.0.6.0")), None);
    // a, b (clipped), tail (clipped, then merged with the second tail, clipped too).
    assert_eq!((t.stats.v4_ranges, t.stats.overlapping), (3, 5));
    // The two halves of 6.0.0.0/24 become one range.
    let t = table(b"6.0.0.0,6.0.0.127,9,same\n6.0.0.128,6.0.0.255,9,same\n");
    assert_eq!((t.stats.v4_ranges, t.stats.overlapping), (1, 0));
    assert_eq!(t.lookup(ip("6.0.0.200")), Some((9, "same")));
    // Same name, other AS: two networks, one name.
    let t = table(b"6.0.0.0,6.0.0.127,9,same\n6.0.0.128,6.0.0.255,10,same\n");
    assert_eq!((t.stats.v4_ranges, t.stats.networks, t.stats.orgs), (2, 2, 1));
}

#[test]
fn malformed_lines_are_counted_with_line_numbers() {
    let csv = b"1.0.0.0,1.0.0.255,13335,Cloudflare\n\
not,an,ip,row\n\
1.0.0.0,1.0.0.255\n\
1.0.2.0,1.0.1.0,1,backwards\n\
1.0.3.0,::1,1,mixed\n\
1.0.4.0,1.0.4.255,AS1,bad asn\n\
1.0.5.0,1.0.5.255,1,\"unclosed\n\
1.0.6.0,1.0.6.255,4294967296,too big\n\
2.0.0.0,2.0.0.255,2,ok\n";
    let t = table(csv);
    assert_eq!(t.stats.v4_ranges, 2);
    assert_eq!(t.stats.malformed, 7);
    assert_eq!(
        t.stats.first_malformed,
        vec![
            (2, "bad start address"),
            (3, "fewer than 4 fields"),
            (4, "start after end"),
            (5, "start and end of different address families"),
            (6, "bad AS number"),
            (7, "bad quoting in organisation"),
            (8, "bad AS number"),
        ]
    );
    assert_eq!(t.lookup(ip("2.0.0.1")), Some((2, "ok")));
    assert_eq!(t.lookup(ip("1.0.2.5")), None);
}

#[test]
fn a_file_with_no_valid_row_is_rejected() {
    let err = compile(b"\nstart,end,asn,org\n").unwrap_err();
    assert_eq!(err, BadLine { line: 2, reason: "bad start address" });
    // Empty is not an error: nothing to look up.
    assert_eq!(table(b"").stats.v4_ranges, 0);
}

#[test]
fn long_and_odd_org_names_are_bounded() {
    let mut csv = b"1.0.0.0,1.0.0.255,1,".to_vec();
    csv.extend("é".repeat(300).as_bytes());
    csv.extend(b"\n2.0.0.0,2.0.0.255,2,a\tb\xff\n3.0.0.0,3.0.0.255,3,\xc2\x85x\n");
    let t = table(&csv);
    let (_, org) = t.lookup(ip("1.0.0.1")).unwrap();
    assert_eq!(org.len(), MAX_ORG_LEN);
    assert_eq!(t.lookup(ip("2.0.0.1")), Some((2, "a b\u{fffd}")));
    assert_eq!(t.lookup(ip("3.0.0.1")), Some((3, "x")));
}

/// Header field `i` (0 = version) set to `v`.
fn with_header(mut b: Vec<u8>, i: usize, v: u32) -> Vec<u8> {
    b[8 + 4 * i..12 + 4 * i].copy_from_slice(&v.to_le_bytes());
    b
}

#[test]
fn damaged_tables_are_refused_with_a_reason() {
    let good = compile(CSV).unwrap().bytes;
    let err = |b: Vec<u8>| AsnTable::load(b).unwrap_err();
    assert_eq!(err(b"1.0.0.0,1.0.0.255,1,a\n".to_vec()), "not a phonehome ASN table");
    assert_eq!(err(good[..20].to_vec()), "shorter than its header");
    assert!(err(with_header(good.clone(), 0, 2)).contains("another phonehome version"));
    assert_eq!(err(with_header(good.clone(), 1, 1)), "unknown flags in its header");
    let counts = "its counts do not match its size (truncated or corrupted)";
    assert_eq!(err(good[..good.len() - 1].to_vec()), counts);
    assert_eq!(err([&good[..], b"x"].concat()), counts);
    assert_eq!(err(with_header(good.clone(), 2, u32::MAX)), counts);
    assert_eq!(err(with_header(good.clone(), 6, u32::MAX)), counts);

    // Swap the first two IPv4 starts: no longer sorted.
    let mut b = good.clone();
    b[48..56].rotate_left(4);
    assert_eq!(err(b), "ranges are not sorted and disjoint");
    // First IPv4 range ends before it starts.
    let mut b = good.clone();
    let ends = 48 + 5 * 4;
    b[ends..ends + 4].copy_from_slice(&0u32.to_le_bytes());
    assert_eq!(err(b), "ranges are not sorted and disjoint");
    // First IPv4 range names network 99.
    let mut b = good.clone();
    let nets = 48 + 10 * 4;
    b[nets..nets + 4].copy_from_slice(&99u32.to_le_bytes());
    assert_eq!(err(b), "a range names a network that does not exist");
    // A name with a control character, and one pointing past the names.
    let name_err = "a network's name is out of bounds, too long or not clean UTF-8";
    let mut b = good.clone();
    let last = b.len() - 1;
    b[last] = b'\n';
    assert_eq!(err(b), name_err);
    let mut b = good;
    let net0 = 48 + 5 * 12 + 2 * 36;
    b[net0 + 4..net0 + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(err(b), name_err);
}

/// Every truncation and every single-byte change of a table either is refused or loads into a
/// table whose lookups work: loading never panics.
#[test]
fn hostile_tables_never_panic() {
    let good = compile(CSV).unwrap().bytes;
    let probes = ["1.1.1.1", "8.8.8.8", "10.0.0.1", "0.0.0.0", "2400:cb00::1", "ffff::"].map(ip);
    for n in 0..good.len() {
        assert!(AsnTable::load(good[..n].to_vec()).is_err(), "truncated to {n}");
    }
    let mut loaded = 0;
    for i in 0..good.len() {
        for v in [0u8, 1, 0x7f, 0x80, 0xff, good[i] ^ 0x10] {
            let mut b = good.clone();
            b[i] = v;
            if let Ok(t) = AsnTable::load(b) {
                loaded += 1;
                for p in probes {
                    if let Some((_, org)) = t.lookup(p) {
                        assert!(org.len() <= MAX_ORG_LEN && !org.chars().any(char::is_control));
                    }
                }
            }
        }
    }
    assert!(loaded > 0);
}
