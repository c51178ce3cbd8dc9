//! Tests of list parsing and matching, one per format and edge.

use super::*;

fn rules(block: &[u8]) -> (Rules, LoadReport) {
    let mut b = Rules::builder();
    b.add_list(block, "list.txt", ListKind::Block);
    b.build()
}

fn blocked(r: &Rules, name: &str) -> bool {
    r.is_blocked(name)
}

#[test]
fn hosts_files_match_exact_names() {
    let (r, rep) = rules(
        b"# comment\n127.0.0.1 localhost\n::1 localhost ip6-localhost\n0.0.0.0 0.0.0.0\n\
          0.0.0.0 ads.example.com\n127.0.0.1 a.example b.example  c.example # trailing\n\
          0.0.0.0\tTabbed.Example.ORG.\n",
    );
    assert!(blocked(&r, "ads.example.com"));
    assert!(!blocked(&r, "x.ads.example.com"), "hosts entries are exact");
    assert!(!blocked(&r, "example.com"));
    for n in ["a.example", "b.example", "c.example", "tabbed.example.org", "TABBED.example.org."] {
        assert!(blocked(&r, n), "{n}");
    }
    assert!(!blocked(&r, "localhost"));
    assert_eq!(rep.block_rules, 5);
    assert_eq!(rep.invalid(), 0, "{:?}", rep.lists[0].errors);
    let m = r.check("b.example").unwrap();
    assert_eq!((m.source, m.line, m.kind), ("list.txt", 6, ListKind::Block));
    assert_eq!(m.text, "127.0.0.1 a.example b.example  c.example # trailing");
    assert_eq!(m.to_string(), "b.example (list.txt:6)");
}

#[test]
fn dnsmasq_matches_subdomains() {
    let (r, rep) = rules(
        b"address=/ads.example.com/0.0.0.0\naddress=/t1.example/t2.example/\n\
          address=/null.example/#\naddress=/v6.example/::\nlocal=/local.example/\n\
          server=/srv.example/\nserver=/fwd.example/192.0.2.1\naddress=/#/0.0.0.0\n\
          address=/bad.example/notanip\n",
    );
    for n in [
        "ads.example.com",
        "deep.sub.ads.example.com",
        "t1.example",
        "x.t2.example",
        "null.example",
        "v6.example",
        "local.example",
        "a.srv.example",
    ] {
        assert!(blocked(&r, n), "{n}");
    }
    assert!(!blocked(&r, "fwd.example"), "server=/x/IP forwards");
    assert!(!blocked(&r, "example.com"));
    assert!(!blocked(&r, "xads.example.com"), "label boundary");
    assert_eq!(rep.invalid(), 2, "{:?}", rep.lists[0].errors);
}

#[test]
fn unbound_zones_and_data() {
    let (r, rep) = rules(
        b"server:\n  local-zone: \"zone.example.\" always_nxdomain\n\
          local-zone: \"refused.example\" refuse\nlocal-zone: \"st.example.\" static\n\
          local-zone: \"pass.zone.example.\" always_transparent\n\
          local-zone: \"t.example.\" transparent\nlocal-data: \"data.example. A 0.0.0.0\"\n\
          local-data: \"data6.example. 3600 IN AAAA ::\"\nlocal-zone: \"x.example\" bogus\n",
    );
    assert!(blocked(&r, "zone.example"));
    assert!(blocked(&r, "a.zone.example"));
    assert!(blocked(&r, "refused.example"));
    assert!(blocked(&r, "a.st.example"));
    assert!(!blocked(&r, "pass.zone.example"), "always_transparent allows");
    assert!(!blocked(&r, "a.pass.zone.example"));
    assert_eq!(r.check("a.pass.zone.example").unwrap().kind, ListKind::Allow);
    assert!(!blocked(&r, "t.example"));
    assert!(blocked(&r, "data.example"));
    assert!(!blocked(&r, "a.data.example"), "local-data is one name");
    assert!(blocked(&r, "data6.example"));
    assert_eq!(rep.invalid(), 1);
}

#[test]
fn rpz_zone_files() {
    let (r, rep) = rules(
        b"$TTL 300\n$ORIGIN rpz.local.\n@ IN SOA localhost. root.localhost. (\n  1 ; serial\n\
          3600 600 86400 300 )\n  IN NS localhost.\n@ NS localhost.\n\
          ads.example.com CNAME .\n*.ads.example.com CNAME .\ntrack.example 60 IN CNAME *.\n\
          drop.example CNAME rpz-drop.\nlocaldata.example A 0.0.0.0\n\
          ok.ads.example.com CNAME rpz-passthru.\nabs.example.rpz.local. CNAME .\n\
          32.1.2.0.192.rpz-ip CNAME .\nonly.example.org CNAME . ; comment\n",
    );
    assert!(blocked(&r, "ads.example.com"));
    assert!(blocked(&r, "x.ads.example.com"));
    assert!(!blocked(&r, "ok.ads.example.com"), "passthru allows");
    assert!(blocked(&r, "track.example"));
    assert!(!blocked(&r, "a.track.example"), "RPZ owner names are exact");
    assert!(blocked(&r, "drop.example"));
    assert!(blocked(&r, "localdata.example"));
    assert!(blocked(&r, "abs.example"), "absolute owner with the origin stripped");
    assert!(blocked(&r, "only.example.org"));
    assert!(!blocked(&r, "localhost"));
    assert_eq!(rep.invalid(), 1, "{:?}", rep.lists[0].errors);
    assert!(
        rep.lists[0].errors[0].reason.contains("rpz-ip")
            || rep.lists[0].errors[0].reason.contains("RPZ IP")
    );
}

#[test]
fn adblock_syntax() {
    let (r, rep) = rules(
        b"[Adblock Plus 2.0]\n! Title: test\n||ads.example.com^\n||imp.example^$important\n\
          @@||good.ads.example.com^\n|exact.example^\nexample.org##.banner\n##.ad\n\
          ||example.net/path^\n/regex.*/\n||off.example^$badfilter\n||third.example^$third-party,dnstype=A\n\
          plain.example^\n",
    );
    assert!(blocked(&r, "ads.example.com"));
    assert!(blocked(&r, "x.ads.example.com"));
    assert!(!blocked(&r, "good.ads.example.com"));
    assert!(!blocked(&r, "a.good.ads.example.com"));
    assert!(blocked(&r, "imp.example"));
    assert!(blocked(&r, "exact.example"));
    assert!(!blocked(&r, "a.exact.example"));
    assert!(!blocked(&r, "example.org"));
    assert!(!blocked(&r, "off.example"));
    assert!(blocked(&r, "third.example"));
    assert!(blocked(&r, "a.plain.example"));
    assert_eq!(rep.invalid(), 2, "{:?}", rep.lists[0].errors);
}

#[test]
fn plain_lists_and_wildcards() {
    let (r, rep) = rules(
        b"tracker.example.com\n*.wild.example.com\n*.com\n*.co.uk\ncom\n*.example.co.uk\n\
          *.blogspot.com\n",
    );
    assert!(blocked(&r, "tracker.example.com"));
    assert!(blocked(&r, "a.tracker.example.com"));
    assert!(!blocked(&r, "wild.example.com"), "a wildcard is the subdomains only");
    assert!(blocked(&r, "a.wild.example.com"));
    assert!(blocked(&r, "a.example.co.uk"));
    assert!(!blocked(&r, "bbc.co.uk"));
    assert!(!blocked(&r, "google.com"));
    assert!(blocked(&r, "me.blogspot.com"), "private suffixes are a company's names");
    let errors = &rep.lists[0].errors;
    assert_eq!(rep.invalid(), 3, "{errors:?}");
    assert!(errors[0].reason.contains("wildcard"), "{}", errors[0]);
    assert_eq!(errors[0].line, 3);
    assert!(errors[2].reason.contains("public suffix"));
}

#[test]
fn allow_wins_over_block_in_any_order() {
    let mut b = Rules::builder();
    b.add_list(b"api.account.xiaomi.com\n", "allow.txt", ListKind::Allow);
    b.add_list(b"||xiaomi.com^\n0.0.0.0 api.account.xiaomi.com\n", "block.txt", ListKind::Block);
    let (r, rep) = b.build();
    let m = r.check("api.account.xiaomi.com").unwrap();
    assert_eq!((m.kind, m.source, m.line), (ListKind::Allow, "allow.txt", 1));
    assert_eq!(r.check("x.api.account.xiaomi.com").unwrap().kind, ListKind::Allow);
    let m = r.check("data.mistat.xiaomi.com").unwrap();
    assert_eq!((m.kind, m.name, m.line), (ListKind::Block, "xiaomi.com", 1));
    assert_eq!((rep.block_rules, rep.allow_rules), (2, 1));
    // In an allowlist even blocking syntax allows.
    let mut b = Rules::builder();
    b.add_list(b"0.0.0.0 x.example\n", "a", ListKind::Allow);
    b.add_list(b"x.example\n", "b", ListKind::Block);
    assert!(!b.build().0.is_blocked("x.example"));
}

#[test]
fn most_specific_rule_is_reported() {
    let (r, _) = rules(b"||example.com^\n||ads.example.com^\n");
    assert_eq!(r.check("x.ads.example.com").unwrap().line, 2);
    assert_eq!(r.check("ads.example.com").unwrap().line, 2);
    assert_eq!(r.check("b.example.com").unwrap().line, 1);
}

#[test]
fn case_dots_crlf_bom_duplicates() {
    let (r, rep) = rules(
        b"\xef\xbb\xbfADS.Example.COM.\r\n0.0.0.0 ads.example.com\r\nads.example.com\r\n\
          xn--80ak6aa92e.com\r\n\r\n",
    );
    assert!(blocked(&r, "ads.example.com"));
    assert!(blocked(&r, "Ads.Example.Com."));
    assert!(blocked(&r, "xn--80ak6aa92e.com"));
    assert_eq!(rep.lists[0].duplicates, 2);
    assert_eq!(rep.block_rules, 2);
    assert_eq!(rep.lists[0].lines, 5);
    assert_eq!(rep.invalid(), 0);
    assert_eq!(r.check("ads.example.com").unwrap().text, "ADS.Example.COM.");
}

#[test]
fn hostile_lines_are_counted_not_fatal() {
    let long_label = format!("{}.example", "a".repeat(64));
    let long_name = format!("{}example", "abcdefghi.".repeat(26));
    let mut text = Vec::new();
    for l in [
        long_label.as_bytes(),
        long_name.as_bytes(),
        "пример.рф".as_bytes(),
        b"\xff\xfe bad utf8",
        b"a..b.example",
        b"bad name.example with spaces",
        b"192.168.1.1/99",
        b"quote\".example",
        &[b'x'; MAX_LINE_LEN + 1],
        b"1.2.3.4 ok.example bad..example",
        b"two words",
        b"|https://example.com/x",
        b"ok2.example",
    ] {
        text.extend_from_slice(l);
        text.push(b'\n');
    }
    let (r, rep) = rules(&text);
    assert!(blocked(&r, "ok.example"));
    assert!(blocked(&r, "ok2.example"));
    assert_eq!(rep.block_rules, 2);
    let stats = &rep.lists[0];
    assert_eq!(stats.invalid, 12, "{:?}", stats.errors);
    assert_eq!(stats.errors.len(), MAX_KEPT_ERRORS);
    assert!(stats.errors[0].to_string().starts_with("list.txt:1: label longer"));
    assert!(!blocked(&r, &"a.".repeat(200)));
    assert!(r.check("").is_none());
    assert!(r.check(".").is_none());
}

#[test]
fn the_rule_cap_counts_what_it_drops() {
    let mut b = Rules::builder();
    b.max_rules(2).add_list(b"a.example\nb.example\nc.example\nd.example\n", "l", ListKind::Block);
    let (r, rep) = b.build();
    assert_eq!((r.len(), rep.block_rules, rep.over_cap), (2, 2, 2));
    assert!(r.is_blocked("b.example"));
    assert!(!r.is_blocked("c.example"));
}

#[test]
fn load_files_names_the_file() {
    let err = load_files(&[PathBuf::from("/nonexistent/list.txt")], &[]).unwrap_err();
    assert!(err.to_string().starts_with("/nonexistent/list.txt: cannot read"), "{err}");
    let dir = std::env::temp_dir().join(format!("guard-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (b, a) = (dir.join("b.txt"), dir.join("a.txt"));
    std::fs::write(&b, "||example.com^\n").unwrap();
    std::fs::write(&a, "ok.example.com\n").unwrap();
    let (r, rep) = load_files(std::slice::from_ref(&b), &[a]).unwrap();
    assert!(r.is_blocked("x.example.com"));
    assert!(!r.is_blocked("ok.example.com"));
    assert_eq!(r.check("x.example.com").unwrap().source, b.display().to_string());
    assert_eq!(rep.lists.len(), 2);
    std::fs::remove_dir_all(&dir).ok();
}

/// Build time and lookups per second for 100,000 entries (`cargo test --release -p guard --
/// --ignored --nocapture bench_100k`).
#[test]
#[ignore = "benchmark"]
fn bench_100k() {
    let mut text = String::new();
    for i in 0..100_000 {
        text.push_str(&format!("0.0.0.0 t{i}.tracker{}.example.com\n", i % 997));
    }
    let t = std::time::Instant::now();
    let (r, rep) = rules(text.as_bytes());
    let build = t.elapsed();
    assert_eq!(rep.block_rules, 100_000);
    let names: Vec<String> = (0..100_000)
        .map(|i| {
            if i % 2 == 0 {
                format!("t{i}.tracker{}.example.com", i % 997)
            } else {
                format!("www{i}.cdn.allowed-site.example.org")
            }
        })
        .collect();
    let t = std::time::Instant::now();
    let mut hits = 0;
    for _ in 0..10 {
        for n in &names {
            hits += usize::from(r.is_blocked(n));
        }
    }
    let lookups_per_s = 1e6 / t.elapsed().as_secs_f64();
    assert_eq!(hits, 500_000);
    eprintln!(
        "100k rules: build {:.1} ms; {:.1} M lookups/s (half hits, 4-5 labels)",
        build.as_secs_f64() * 1e3,
        lookups_per_s / 1e6
    );
}

#[test]
fn address_lines_are_rules_for_connections() {
    let mut b = Rules::builder();
    b.add_list(
        b"# servers the report saw\n203.0.113.7\n198.51.100.0/24\n2001:db8:bad::/48\n\
          0.0.0.0 name.example\n10.0.0.0/33\n",
        "block.txt",
        ListKind::Block,
    );
    b.add_list(b"198.51.100.99\n", "allow.txt", ListKind::Allow);
    let (r, rep) = b.build();
    assert_eq!(r.address_rules(), 4);
    assert_eq!((rep.block_rules, rep.allow_rules), (4, 1), "the hosts line stays a name rule");
    assert_eq!(rep.invalid(), 1, "a bad prefix is invalid");
    let hit = |ip: &str| r.check_addr(ip.parse().unwrap()).map(|m| (m.kind, m.name, m.line));
    assert_eq!(hit("203.0.113.7"), Some((ListKind::Block, "203.0.113.7", 2)));
    assert_eq!(hit("::ffff:203.0.113.7").map(|h| h.1), Some("203.0.113.7"), "mapped IPv4");
    assert_eq!(hit("198.51.100.12"), Some((ListKind::Block, "198.51.100.0/24", 3)));
    assert_eq!(hit("198.51.100.99").map(|h| h.0), Some(ListKind::Allow), "allow wins");
    assert_eq!(hit("2001:db8:bad:1::5").map(|h| h.1), Some("2001:db8:bad::/48"));
    assert_eq!(hit("203.0.113.8"), None);
    assert!(r.check("203.0.113.7").is_none(), "no name rule for an address");
    assert!(r.is_blocked("name.example"));
}
