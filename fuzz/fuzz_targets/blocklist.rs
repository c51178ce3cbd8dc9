#![no_main]
//! Fuzz target: blocklists and allowlists in every format (untrusted downloads), the export
//! round trip, and policy files.
//!
//! First byte: bit 0 selects a blocklist or an allowlist. The rest is the list; the rules are
//! built and a few names checked (fixed ones and names taken from the input). Then every token of
//! the input that is a valid name is exported in each name format and parsed back: a name must
//! be blocked again (unless it is a public suffix, which a subdomain rule may not cover). The
//! same bytes are also read as a policy file.

use std::path::Path;

use guard::export::{Entry, Header, ListFormat};
use guard::rules::{ListKind, Rules, subdomain_rule_allowed, validate_name};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let kind = if mode & 1 == 0 { ListKind::Block } else { ListKind::Allow };
    let mut b = Rules::builder();
    b.add_list(rest, "fuzz.txt", kind);
    let (rules, report) = b.build();
    assert!(report.lists[0].errors.len() <= guard::rules::MAX_KEPT_ERRORS);
    let text = String::from_utf8_lossy(rest);
    let tokens: Vec<String> = text
        .split(|c: char| c.is_whitespace() || matches!(c, '/' | '"' | '|' | '^' | '$' | ','))
        .map(|t| t.trim_end_matches('.').to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .take(16)
        .collect();
    for name in ["example.com", "a.b.example.com", "com", ".", ""] {
        let _ = rules.check(name);
    }
    for t in &tokens {
        if let Some(m) = rules.check(t) {
            assert!(!m.name.is_empty());
            let _ = m.to_string();
        }
    }
    let entries: Vec<Entry> = tokens
        .iter()
        .filter(|t| validate_name(t).is_ok())
        .map(|t| Entry {
            name: Some(t.clone()),
            ips: vec![],
            reason: text.chars().take(40).collect(),
            subdomains: mode & 2 == 0,
        })
        .collect();
    let header = Header { generator: text.chars().take(20).collect(), ..Header::default() };
    for format in ListFormat::ALL {
        let out = guard::export::write(format, &entries, &header);
        if !format.is_name_list() {
            continue;
        }
        let mut b = Rules::builder();
        b.add_list(out.as_bytes(), "export", ListKind::Block);
        let (back, _) = b.build();
        for e in &entries {
            let name = e.name.as_deref().unwrap_or("");
            let exact_format = matches!(
                format,
                ListFormat::Hosts | ListFormat::Unbound | ListFormat::Rpz | ListFormat::Adblock
            );
            let kept = subdomain_rule_allowed(name)
                || format == ListFormat::Hosts
                || (!e.subdomains && exact_format);
            // hosts files list these for themselves; a hosts parser skips them.
            let boilerplate = format == ListFormat::Hosts
                && (name.starts_with("localhost")
                    || name.starts_with("ip6-")
                    || matches!(name, "local" | "broadcasthost"));
            // RPZ reads these last labels as IP and name-server triggers: the export leaves
            // such names out.
            let trigger = format == ListFormat::Rpz
                && [".rpz-ip", ".rpz-nsdname", ".rpz-nsip", ".rpz-client-ip"]
                    .iter()
                    .any(|t| name.ends_with(t));
            if kept && !boilerplate && !trigger {
                assert!(back.is_blocked(name), "{format}: {name} lost in\n{out}");
            }
        }
    }
    if let Ok(policy) = std::str::from_utf8(rest) {
        let _ = guard::policy::Policy::parse(policy, Path::new("fuzz.toml"));
    }
});
