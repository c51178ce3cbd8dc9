//! Blocklists written for the filters people already run.
//!
//! [`write()`] turns entries (a name, or addresses only, with a reason) into one of eight formats.
//! Every entry is preceded by a comment line with its reason, in the format's comment syntax; a
//! header comment names the generator, the sources (report or captures, with SHA-256 when known)
//! and the number of entries. There is no date or time in the output: the same input gives the
//! same bytes.
//!
//! | format | a name with subdomains | a name alone | addresses only |
//! |---|---|---|---|
//! | `hosts` | `0.0.0.0 x` (hosts files cannot say "subdomains") | `0.0.0.0 x` | comment only |
//! | `dnsmasq` | `address=/x/#` (0.0.0.0 and ::) | same (dnsmasq domains are zones) | comment only |
//! | `unbound` | `local-zone: "x." always_nxdomain` | `local-data: "x. A 0.0.0.0"` and `AAAA ::` | comment only |
//! | `rpz` | `x CNAME .` and `*.x CNAME .` | `x CNAME .` | comment only |
//! | `adblock` | `\|\|x^` (AdGuard Home, Pi-hole, uBlock) | `\|x^` | comment only |
//! | `domains` | `x` (Pi-hole/AdGuard domain lists) | `x` | comment only |
//! | `nftables` | its addresses when [`Header::resolved_ips`] | same | in the sets |
//! | `suricata` | `dns.query` and `tls.sni` rules, `dotprefix` | the same with `bsize` | an `ip` rule |
//!
//! Names that fail [`crate::rules::validate_name`] are never written as rules (a comment says
//! they were left out), and reasons have control characters replaced and, in Suricata's
//! `msg`, `"`, `;` and `\` removed: no entry can inject syntax into a list. Suricata rule ids
//! count up from [`SID_BASE`] in entry order.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::str::FromStr;

/// First Suricata `sid` (in the 1,000,000-1,999,999 range reserved for local rules).
pub const SID_BASE: u32 = 1_860_000;

/// Last labels RPZ reads as IP, name-server and client triggers, not as names.
const RPZ_TRIGGERS: [&str; 4] = [".rpz-ip", ".rpz-nsdname", ".rpz-nsip", ".rpz-client-ip"];

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListFormat {
    /// `/etc/hosts` style: `0.0.0.0 name`.
    Hosts,
    /// dnsmasq configuration: `address=/name/#`.
    Dnsmasq,
    /// Unbound configuration: `local-zone:` / `local-data:`.
    Unbound,
    /// A Response Policy Zone (BIND, Knot Resolver, PowerDNS Recursor, Unbound).
    Rpz,
    /// AdGuard/Adblock syntax: `||name^` (AdGuard Home, Pi-hole, uBlock Origin).
    Adblock,
    /// One name per line.
    Domains,
    /// An nftables table with IPv4 and IPv6 sets and drop rules (`nft -f`).
    Nftables,
    /// Suricata rules on DNS queries, TLS SNIs and addresses.
    Suricata,
}

impl ListFormat {
    /// Every format, in the order of [`ListFormat::NAMES`].
    pub const ALL: [Self; 8] = [
        Self::Hosts,
        Self::Dnsmasq,
        Self::Unbound,
        Self::Rpz,
        Self::Adblock,
        Self::Domains,
        Self::Nftables,
        Self::Suricata,
    ];
    /// The names [`FromStr`] accepts.
    pub const NAMES: [&'static str; 8] =
        ["hosts", "dnsmasq", "unbound", "rpz", "adblock", "domains", "nftables", "suricata"];

    /// The format's name (`hosts`, `dnsmasq`, ...).
    pub fn as_str(self) -> &'static str {
        Self::NAMES[Self::ALL.iter().position(|f| *f == self).unwrap_or(0)]
    }

    /// True for formats that list names (all but nftables and Suricata).
    pub fn is_name_list(self) -> bool {
        !matches!(self, Self::Nftables | Self::Suricata)
    }

    fn comment(self) -> &'static str {
        match self {
            Self::Rpz => ";",
            Self::Adblock => "!",
            _ => "#",
        }
    }
}

impl FromStr for ListFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(s))
            .map(|i| Self::ALL[i])
            .ok_or_else(|| format!("unknown format `{s}` (one of {})", Self::NAMES.join(", ")))
    }
}

impl std::fmt::Display for ListFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One destination to block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name, lower-case without a trailing dot; `None` for a destination known only by
    /// address.
    pub name: Option<String>,
    /// Its addresses (for nftables and Suricata).
    pub ips: Vec<IpAddr>,
    /// Why it is blocked (one line; written as a comment).
    pub reason: String,
    /// Block the name's subdomains too.
    pub subdomains: bool,
}

/// Where the list came from, written as the header comment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// Generator, e.g. `phonehome 0.1.0`.
    pub generator: String,
    /// Sources: a report or capture path, and its SHA-256 when known.
    pub sources: Vec<(String, Option<String>)>,
    /// Extra lines (the policy used, ...).
    pub notes: Vec<String>,
    /// nftables and Suricata: also the resolved addresses of named entries (default: only
    /// entries known by address alone; a CDN address may serve many other sites).
    pub resolved_ips: bool,
}

/// Replaces control characters (newlines included), so text stays inside one comment line.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

fn valid(name: &str) -> bool {
    crate::rules::validate_name(name).is_ok()
}

/// Writes `entries` in `format` with `header` (see the module doc).
pub fn write(format: ListFormat, entries: &[Entry], header: &Header) -> String {
    let c = format.comment();
    let mut out = String::new();
    if format == ListFormat::Adblock {
        out.push_str("[Adblock Plus 2.0]\n! Title: phonehome blocklist\n");
    }
    let _ = writeln!(out, "{c} Generated by {}", one_line(&header.generator));
    for (src, sha) in &header.sources {
        match sha {
            Some(sha) => {
                let _ = writeln!(out, "{c} Source: {} (SHA-256 {})", one_line(src), one_line(sha));
            }
            None => {
                let _ = writeln!(out, "{c} Source: {}", one_line(src));
            }
        }
    }
    for note in &header.notes {
        let _ = writeln!(out, "{c} {}", one_line(note));
    }
    let _ = writeln!(out, "{c} Entries: {}", entries.len());
    match format {
        ListFormat::Nftables => nftables(&mut out, entries, header),
        ListFormat::Suricata => suricata(&mut out, entries, header),
        _ => names(&mut out, format, entries),
    }
    out
}

fn names(out: &mut String, format: ListFormat, entries: &[Entry]) {
    let c = format.comment();
    if format == ListFormat::Rpz {
        out.push_str(
            "$TTL 300\n@ IN SOA localhost. root.localhost. 1 3600 600 86400 300\n  IN NS localhost.\n",
        );
    }
    if format == ListFormat::Unbound {
        out.push_str("server:\n");
    }
    for e in entries {
        out.push('\n');
        let _ = writeln!(out, "{c} {}", one_line(&e.reason));
        let Some(name) = &e.name else {
            let ips: Vec<String> = e.ips.iter().map(IpAddr::to_string).collect();
            let _ = writeln!(
                out,
                "{c} known only by address ({}): use --format nftables or suricata",
                ips.join(", ")
            );
            continue;
        };
        if !valid(name) {
            let _ = writeln!(out, "{c} left out: not a valid name");
            continue;
        }
        if format == ListFormat::Rpz && RPZ_TRIGGERS.iter().any(|t| name.ends_with(t)) {
            let _ = writeln!(out, "{c} left out: the name ends in an RPZ trigger label");
            continue;
        }
        let _ = match (format, e.subdomains) {
            (ListFormat::Hosts, _) => writeln!(out, "0.0.0.0 {name}"),
            (ListFormat::Dnsmasq, _) => writeln!(out, "address=/{name}/#"),
            (ListFormat::Unbound, true) => writeln!(out, "local-zone: \"{name}.\" always_nxdomain"),
            (ListFormat::Unbound, false) => {
                writeln!(out, "local-data: \"{name}. A 0.0.0.0\"\nlocal-data: \"{name}. AAAA ::\"")
            }
            (ListFormat::Rpz, true) => writeln!(out, "{name} CNAME .\n*.{name} CNAME ."),
            (ListFormat::Rpz, false) => writeln!(out, "{name} CNAME ."),
            (ListFormat::Adblock, true) => writeln!(out, "||{name}^"),
            (ListFormat::Adblock, false) => writeln!(out, "|{name}^"),
            _ => writeln!(out, "{name}"),
        };
    }
}

/// The addresses an entry contributes to address-based formats.
fn addresses<'a>(e: &'a Entry, header: &Header) -> &'a [IpAddr] {
    if e.name.is_none() || header.resolved_ips { &e.ips } else { &[] }
}

fn nftables(out: &mut String, entries: &[Entry], header: &Header) {
    // Declaring then deleting the table makes the file reloadable with `nft -f` whether or not
    // the table exists.
    let named = entries.iter().filter(|e| e.name.is_some()).count();
    if named > 0 && !header.resolved_ips {
        let _ = writeln!(
            out,
            "# {named} entries known by name are left to DNS lists (their resolved addresses \
             only with --resolved-ips)"
        );
    }
    out.push_str("\ntable inet phonehome\ndelete table inet phonehome\n\ntable inet phonehome {\n");
    for (set, v4) in [("blocked_v4", true), ("blocked_v6", false)] {
        let _ = writeln!(
            out,
            "\tset {set} {{\n\t\ttype {}\n\t\tflags interval",
            if v4 { "ipv4_addr" } else { "ipv6_addr" }
        );
        let mut items: Vec<(String, &str)> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for e in entries {
            for ip in addresses(e, header) {
                if ip.is_ipv4() == v4 && seen.insert(*ip) {
                    items.push((ip.to_string(), &e.reason));
                }
            }
        }
        if !items.is_empty() {
            out.push_str("\t\telements = {\n");
            let n = items.len();
            for (i, (ip, reason)) in items.into_iter().enumerate() {
                let comma = if i + 1 < n { "," } else { "" };
                let _ = writeln!(out, "\t\t\t# {}\n\t\t\t{ip}{comma}", one_line(reason));
            }
            out.push_str("\t\t}\n");
        }
        out.push_str("\t}\n");
    }
    for (chain, hook) in [("output", "output"), ("forward", "forward")] {
        let _ = writeln!(
            out,
            "\tchain {chain} {{\n\t\ttype filter hook {hook} priority 0; policy accept;\n\
             \t\tip daddr @blocked_v4 drop\n\t\tip6 daddr @blocked_v6 drop\n\t}}"
        );
    }
    out.push_str("}\n");
}

/// Text for a Suricata `msg`: no quote, semicolon or backslash (they end or escape the option).
fn msg_text(s: &str) -> String {
    one_line(s).chars().filter(|c| !matches!(c, '"' | ';' | '\\')).take(200).collect()
}

fn suricata(out: &mut String, entries: &[Entry], header: &Header) {
    let mut sid = SID_BASE;
    let mut rule = |out: &mut String, body: String| {
        let _ = writeln!(out, "{body} sid:{sid}; rev:1;)");
        sid += 1;
    };
    for e in entries {
        out.push('\n');
        let _ = writeln!(out, "# {}", one_line(&e.reason));
        // The msg carries the reason's first clause (`critical: IMEI sent ...`); the comment
        // above the rule has all of it.
        let reason = msg_text(e.reason.split(';').next().unwrap_or(""));
        if let Some(name) = &e.name {
            if !valid(name) {
                out.push_str("# left out: not a valid name\n");
                continue;
            }
            let (dns, tls) = if e.subdomains {
                (
                    format!("dns.query; dotprefix; content:\".{name}\"; nocase; endswith;"),
                    format!("tls.sni; dotprefix; content:\".{name}\"; nocase; endswith;"),
                )
            } else {
                let len = name.len();
                (
                    format!("dns.query; bsize:{len}; content:\"{name}\"; nocase;"),
                    format!("tls.sni; bsize:{len}; content:\"{name}\"; nocase;"),
                )
            };
            rule(
                out,
                format!(
                    "alert dns any any -> any any (msg:\"phonehome: {name} ({reason})\"; {dns}"
                ),
            );
            rule(
                out,
                format!(
                    "alert tls any any -> any any (msg:\"phonehome: {name} TLS ({reason})\"; {tls}"
                ),
            );
        }
        let ips = addresses(e, header);
        if !ips.is_empty() {
            let list: Vec<String> = ips.iter().map(IpAddr::to_string).collect();
            let label = e.name.clone().unwrap_or_else(|| list.join(" "));
            rule(
                out,
                format!(
                    "alert ip $HOME_NET any -> [{}] any (msg:\"phonehome: {label} ({reason})\";",
                    list.join(",")
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{ListKind, Rules};

    fn entries() -> Vec<Entry> {
        vec![
            Entry {
                name: Some("api.account.xiaomi.com".into()),
                ips: vec!["120.92.96.17".parse().unwrap()],
                reason: "critical: IMEI sent in cleartext HTTP to Xiaomi (manufacturer, CN)".into(),
                subdomains: true,
            },
            Entry {
                name: Some("exact.tracker.example".into()),
                ips: vec![],
                reason: "high: \"quoted\"; reason\nwith a newline\\".into(),
                subdomains: false,
            },
            Entry {
                name: None,
                ips: vec!["203.0.113.7".parse().unwrap(), "2001:db8::7".parse().unwrap()],
                reason: "critical: advertising ID to 203.0.113.7".into(),
                subdomains: false,
            },
            Entry {
                name: Some("bad name\n0.0.0.0 evil.example".into()),
                ips: vec![],
                reason: "injected".into(),
                subdomains: true,
            },
        ]
    }

    fn header() -> Header {
        Header {
            generator: "phonehome 0.1.0".into(),
            sources: vec![("demo.pcapng".into(), Some("ab".repeat(32)))],
            notes: vec!["policy: min_severity = high".into()],
            resolved_ips: false,
        }
    }

    #[test]
    fn names_parse() {
        for f in ListFormat::ALL {
            assert_eq!(f.as_str().parse::<ListFormat>(), Ok(f));
            assert_eq!(f.to_string(), f.as_str());
        }
        assert!("HOSTS".parse::<ListFormat>().is_ok());
        assert!("pihole".parse::<ListFormat>().unwrap_err().contains("hosts, dnsmasq"));
    }

    #[test]
    fn name_formats_round_trip_through_rules() {
        let e = entries();
        for f in ListFormat::ALL.into_iter().filter(|f| f.is_name_list()) {
            let text = write(f, &e, &header());
            assert!(text.contains("Entries: 4"), "{f}: {text}");
            assert!(text.contains("Source: demo.pcapng (SHA-256 abab"));
            assert_eq!(text, write(f, &e, &header()), "deterministic");
            let mut b = Rules::builder();
            b.add_list(text.as_bytes(), "out", ListKind::Block);
            let (r, rep) = b.build();
            assert_eq!(rep.invalid(), 0, "{f}: {:?}\n{text}", rep.lists[0].errors);
            assert!(r.is_blocked("api.account.xiaomi.com"), "{f}");
            assert!(r.is_blocked("exact.tracker.example"), "{f}");
            assert!(!r.is_blocked("evil.example"), "{f}: injection");
            assert!(!r.is_blocked("xiaomi.com"), "{f}");
            assert!(!r.is_blocked("203.0.113.7"), "{f}");
            let sub = r.is_blocked("x.api.account.xiaomi.com");
            assert_eq!(sub, f != ListFormat::Hosts, "{f}: subdomains");
            let exact_sub = r.is_blocked("x.exact.tracker.example");
            let expected = matches!(f, ListFormat::Dnsmasq | ListFormat::Domains);
            assert_eq!(exact_sub, expected, "{f}: exact entry");
            // Every reason is a comment: one comment line per entry, no line broken.
            assert!(text.contains("with a newline"), "{f}");
            assert!(!text.lines().any(|l| l.starts_with("with a newline")), "{f}");
        }
    }

    #[test]
    fn nftables_sets() {
        let text = write(ListFormat::Nftables, &entries(), &header());
        assert!(text.contains("set blocked_v4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = {\n\t\t\t# critical: advertising ID to 203.0.113.7\n\t\t\t203.0.113.7\n\t\t}"), "{text}");
        assert!(text.contains("\t\t\t2001:db8::7\n"));
        assert!(!text.contains("120.92.96.17"), "resolved addresses only when asked");
        let h = Header { resolved_ips: true, ..header() };
        let text = write(ListFormat::Nftables, &entries(), &h);
        assert!(text.contains("\t\t\t120.92.96.17,\n"), "{text}");
        assert_eq!(text.matches('{').count(), text.matches('}').count());
        let empty = write(ListFormat::Nftables, &[], &h);
        assert!(!empty.contains("elements"));
    }

    #[test]
    fn suricata_rules() {
        let text = write(ListFormat::Suricata, &entries(), &header());
        let rules: Vec<&str> = text.lines().filter(|l| l.starts_with("alert")).collect();
        assert_eq!(rules.len(), 5, "{text}");
        assert_eq!(
            rules[0],
            "alert dns any any -> any any (msg:\"phonehome: api.account.xiaomi.com (critical: IMEI \
             sent in cleartext HTTP to Xiaomi (manufacturer, CN))\"; dns.query; dotprefix; \
             content:\".api.account.xiaomi.com\"; nocase; endswith; sid:1860000; rev:1;)"
        );
        assert!(rules[2].contains("bsize:21; content:\"exact.tracker.example\""));
        assert!(rules[2].contains("(high: quoted)\"; dns.query"), "{}", rules[2]);
        assert!(rules[4].starts_with("alert ip $HOME_NET any -> [203.0.113.7,2001:db8::7] any"));
        assert!(rules[4].ends_with("sid:1860004; rev:1;)"));
        for r in rules {
            assert_eq!(r.matches('"').count() % 2, 0, "{r}");
        }
    }
}
