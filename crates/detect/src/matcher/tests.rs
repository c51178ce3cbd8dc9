use super::*;

fn hits(m: &Matcher, hay: &[u8]) -> Vec<(u32, usize, usize)> {
    let mut v = Vec::new();
    m.find(hay, |h| v.push((h.pattern, h.start, h.end)));
    v.sort_unstable();
    v
}

fn stream(m: &Matcher, chunks: &[(u64, &[u8])], gaps_before: &[usize]) -> Vec<(u32, u64, u64)> {
    let mut s = StreamMatcher::new();
    let mut v = Vec::new();
    for (i, &(off, c)) in chunks.iter().enumerate() {
        if gaps_before.contains(&i) {
            s.gap();
        }
        s.feed(m, off, c, |h| v.push((h.pattern, h.start, h.end)));
    }
    s.finish(m, |h| v.push((h.pattern, h.start, h.end)));
    v.sort_unstable();
    v
}

#[test]
fn empty_set_is_noop() {
    let m = Matcher::new(std::iter::empty::<(&[u8], Boundary)>()).unwrap();
    assert!(m.is_empty());
    assert!(hits(&m, b"anything").is_empty());
    assert!(stream(&m, &[(0, b"abc"), (3, b"def")], &[]).is_empty());
    let m = Matcher::new([(&b""[..], Boundary::Digit)]).unwrap();
    assert_eq!(m.len(), 1);
    assert!(hits(&m, b"abc").is_empty());
}

#[test]
fn overlapping_and_duplicates() {
    let m = Matcher::new([
        (&b"abc"[..], Boundary::None),
        (b"bc", Boundary::None),
        (b"abc", Boundary::Alnum), // same bytes, other id and rule
        (b"cab", Boundary::None),
    ])
    .unwrap();
    assert_eq!(m.max_pattern_len(), 3);
    assert_eq!(
        hits(&m, b"abcabc"),
        vec![(0, 0, 3), (0, 3, 6), (1, 1, 3), (1, 4, 6), (3, 2, 5)],
        "id 2 needs non-alnum neighbours"
    );
    assert_eq!(hits(&m, b"-abc-"), vec![(0, 1, 4), (1, 2, 4), (2, 1, 4)]);
}

#[test]
fn boundary_rules() {
    let imei = b"865123045678903";
    let m = Matcher::new([
        (&imei[..], Boundary::Digit),
        (b"deadbeef", Boundary::Hex),
        (b"alice", Boundary::Alnum),
        (b"zz", Boundary::None),
    ])
    .unwrap();
    assert_eq!(hits(&m, imei), vec![(0, 0, 15)]);
    assert_eq!(hits(&m, b"imei=865123045678903&x"), vec![(0, 5, 20)]);
    assert!(hits(&m, b"1865123045678903").is_empty());
    assert!(hits(&m, b"8651230456789031").is_empty());
    assert_eq!(hits(&m, b"a865123045678903b"), vec![(0, 1, 16)]);
    assert!(hits(&m, b"0deadbeef").is_empty());
    assert!(hits(&m, b"deadbeefA").is_empty());
    assert_eq!(hits(&m, b"xdeadbeef-"), vec![(1, 1, 9)]);
    assert!(hits(&m, b"malice").is_empty());
    assert!(hits(&m, b"alice9").is_empty());
    assert_eq!(hits(&m, b"@alice."), vec![(2, 1, 6)]);
    assert_eq!(hits(&m, b"1zz1"), vec![(3, 1, 3)]);
    assert!(Boundary::Digit.accepts(None, None));
    assert!(!Boundary::Hex.accepts(Some(b'f'), None));
}

#[test]
fn stream_finds_every_split_exactly_once() {
    let pats: Vec<(&[u8], Boundary)> = vec![
        (b"865123045678903", Boundary::Digit),
        (b"deadbeef", Boundary::Hex),
        (b"alice", Boundary::Alnum),
        (b"ab", Boundary::None),
        (b"a", Boundary::None),
    ];
    let m = Matcher::new(pats).unwrap();
    let text: &[u8] = b"x=865123045678903&y=deadbeef;alice ab 9865123045678903 alice2 deadbeefc ab";
    let whole: Vec<(u32, u64, u64)> =
        hits(&m, text).into_iter().map(|(p, s, e)| (p, s as u64, e as u64)).collect();
    assert!(whole.contains(&(0, 2, 17)));
    assert_eq!(whole.iter().filter(|h| h.0 == 0).count(), 1);
    // One cut anywhere, and two cuts anywhere.
    for i in 0..=text.len() {
        let got = stream(&m, &[(0, &text[..i]), (i as u64, &text[i..])], &[]);
        assert_eq!(got, whole, "cut at {i}");
        for j in i..=text.len() {
            let got = stream(
                &m,
                &[(0, &text[..i]), (i as u64, &text[i..j]), (j as u64, &text[j..])],
                &[],
            );
            assert_eq!(got, whole, "cuts at {i}, {j}");
        }
    }
    // One byte at a time.
    let chunks: Vec<(u64, &[u8])> = (0..text.len()).map(|i| (i as u64, &text[i..=i])).collect();
    assert_eq!(stream(&m, &chunks, &[]), whole);
}

#[test]
fn stream_boundaries_at_chunk_edges() {
    let m = Matcher::new([(&b"12345"[..], Boundary::Digit)]).unwrap();
    // A digit right after the match, in the next chunk: no match.
    assert!(stream(&m, &[(0, b"12345"), (5, b"6")], &[]).is_empty());
    // A digit right before, in the previous chunk: no match.
    assert!(stream(&m, &[(0, b"0"), (1, b"12345")], &[]).is_empty());
    assert!(stream(&m, &[(0, b"0"), (1, b"12"), (3, b"345")], &[]).is_empty());
    // At the very end of the stream: a match.
    assert_eq!(stream(&m, &[(0, b"a"), (1, b"12345")], &[]), vec![(0, 1, 6)]);
    // Absolute offsets.
    assert_eq!(stream(&m, &[(100, b"x123"), (104, b"45y")], &[]), vec![(0, 101, 106)]);
    // A gap: no match across it; a match just before it counts.
    assert!(stream(&m, &[(0, b"123"), (10, b"45")], &[]).is_empty());
    assert!(stream(&m, &[(0, b"123"), (3, b"45")], &[1]).is_empty());
    assert_eq!(stream(&m, &[(0, b"12345"), (9, b"6")], &[]), vec![(0, 0, 5)]);
    assert_eq!(stream(&m, &[(0, b"12345"), (5, b"6")], &[1]), vec![(0, 0, 5)]);
    // After a gap, the first byte is a start boundary.
    assert_eq!(stream(&m, &[(0, b"9"), (5, b"12345")], &[]), vec![(0, 5, 10)]);
    // Empty chunks change nothing.
    assert_eq!(stream(&m, &[(0, b"123"), (3, b""), (3, b"45")], &[]), vec![(0, 0, 5)]);
}

#[test]
fn stream_reset_after_finish() {
    let m = Matcher::new([(&b"abc"[..], Boundary::None)]).unwrap();
    let mut s = StreamMatcher::new();
    let mut v = Vec::new();
    s.feed(&m, 0, b"ab", |h| v.push(h));
    s.finish(&m, |h| v.push(h));
    s.feed(&m, 2, b"c", |h| v.push(h));
    s.finish(&m, |h| v.push(h));
    assert!(v.is_empty());
}

#[test]
fn many_patterns_build_and_find() {
    let pats: Vec<(Vec<u8>, Boundary)> = (0..5000u32)
        .map(|i| (format!("{:015}", 865_000_000u64 * 7 + i as u64).into_bytes(), Boundary::Digit))
        .collect();
    let m = Matcher::new(pats.iter().map(|(p, b)| (p.as_slice(), *b))).unwrap();
    let hay = format!(
        "x={}&y=1{}",
        String::from_utf8_lossy(&pats[4321].0),
        String::from_utf8_lossy(&pats[7].0)
    );
    assert_eq!(hits(&m, hay.as_bytes()), vec![(4321, 2, 17)]);
}

/// Throughput on cleartext-like data with 5,000 patterns. Run with
/// `cargo test --release -p detect -- --ignored --nocapture matcher_speed`.
#[test]
#[ignore]
fn matcher_speed() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let alpha = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=-_";
    let mut pats: Vec<(Vec<u8>, Boundary)> = Vec::new();
    let short = std::env::var_os("SHORT").is_some();
    for i in 0..5000 {
        let len = if short {
            [6, 9, 10, 12, 13, 16, 20, 32, 40, 64][i % 10]
        } else {
            [15, 16, 20, 24, 32, 40, 44, 64][i % 8]
        };
        let p: Vec<u8> = if short && i % 3 == 0 {
            (0..len).map(|_| b'0' + (rnd() % 10) as u8).collect()
        } else {
            (0..len).map(|_| alpha[(rnd() % alpha.len() as u64) as usize]).collect()
        };
        pats.push((p, [Boundary::Digit, Boundary::Hex, Boundary::None][i % 3]));
    }
    if std::env::var_os("LONG").is_some() {
        pats.push((vec![b'q'; 300], Boundary::None));
    }
    let t = std::time::Instant::now();
    let m = Matcher::new(pats.iter().map(|(p, b)| (p.as_slice(), *b))).unwrap();
    let build = t.elapsed();
    let line: &[u8] = b"GET /api/v2/config?device=android&ver=12.3.4&ts=1699999999&lang=en-US HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: Dalvik/2.1.0 (Linux; U; Android 11)\r\nAccept-Encoding: gzip\r\n\r\n{\"event\":\"app_open\",\"session\":\"7f3a9c\",\"items\":[1,2,3],\"text\":\"hello world\"}\n";
    let mut hay = Vec::new();
    while hay.len() < 64 << 20 {
        hay.extend_from_slice(line);
    }
    let mut n = 0u64;
    let t = std::time::Instant::now();
    m.find(&hay, |_| n += 1);
    let slice = t.elapsed();
    let mut s = StreamMatcher::new();
    let t = std::time::Instant::now();
    for (i, c) in hay.chunks(1448).enumerate() {
        s.feed(&m, (i * 1448) as u64, c, |_| n += 1);
    }
    s.finish(&m, |_| n += 1);
    let streamed = t.elapsed();
    let mb = hay.len() as f64 / 1e6;
    println!(
        "build {build:?}; slice {:.0} MB/s; stream (1448-byte chunks) {:.0} MB/s; hits {n}",
        mb / slice.as_secs_f64(),
        mb / streamed.as_secs_f64()
    );
}

#[test]
fn from_set_keeps_ids_and_boundaries() {
    use crate::variants::{self, Item, Variant, VariantSet};
    let item = Item {
        kind: crate::DataKind::Imei,
        label: "imei[0]".into(),
        value: "865123045678903".into(),
        contact: None,
    };
    let v = |bytes: &[u8], boundary| Variant {
        item: 0,
        encoding: "plain".into(),
        bytes: bytes.to_vec(),
        boundary,
    };
    let set = VariantSet {
        items: vec![item],
        variants: vec![
            v(b"865123045678903", variants::Boundary::Digit),
            v(b"86512304567890", variants::Boundary::Digit),
            v(b"abcdef0123", variants::Boundary::Hex),
            v(b"CanaryNet", variants::Boundary::Alnum),
            v(b"zz-zz-zz", variants::Boundary::None),
        ],
    };
    let m = Matcher::from_set(&set).unwrap();
    assert_eq!(m.len(), 5);
    assert_eq!(hits(&m, b"imei=865123045678903"), vec![(0, 5, 20)]);
    assert_eq!(hits(&m, b"id=86512304567890&"), vec![(1, 3, 17)]);
    assert!(hits(&m, b"abcdef0123f").is_empty());
    assert_eq!(hits(&m, b"-abcdef0123-"), vec![(2, 1, 11)]);
    assert!(hits(&m, b"CanaryNet2").is_empty());
    assert_eq!(hits(&m, b"xzz-zz-zzx"), vec![(4, 1, 9)]);
}

#[test]
fn stream_equals_slice_on_random_inputs() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let alpha = b"01a9fZ-";
    for round in 0..300 {
        let npat = 1 + rnd(6) as usize;
        let pats: Vec<(Vec<u8>, Boundary)> = (0..npat)
            .map(|_| {
                let len = 1 + rnd(5) as usize;
                let p = (0..len).map(|_| alpha[rnd(alpha.len() as u64) as usize]).collect();
                (
                    p,
                    [Boundary::None, Boundary::Digit, Boundary::Hex, Boundary::Alnum]
                        [rnd(4) as usize],
                )
            })
            .collect();
        let m = Matcher::new(pats.iter().map(|(p, b)| (p.as_slice(), *b))).unwrap();
        let text: Vec<u8> = (0..rnd(60)).map(|_| alpha[rnd(alpha.len() as u64) as usize]).collect();
        let whole: Vec<(u32, u64, u64)> =
            hits(&m, &text).into_iter().map(|(p, s, e)| (p, s as u64 + 7, e as u64 + 7)).collect();
        let mut cuts: Vec<usize> =
            (0..rnd(8)).map(|_| rnd(text.len() as u64 + 1) as usize).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut at = 0;
        for c in cuts.into_iter().chain([text.len()]) {
            chunks.push((at as u64 + 7, &text[at..c]));
            at = c;
        }
        assert_eq!(stream(&m, &chunks, &[]), whole, "round {round}: {pats:?} in {text:?}");
    }
}

#[test]
fn matcher_is_shareable() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Matcher>();
    shareable::<StreamMatcher>();
}
