//! Connection filtering, for a gateway every packet of a device passes through (`phonehome
//! vpn`): the DNS guard's blocklists applied to connections rather than queries, so that a
//! device using hard-coded addresses, its own encrypted DNS or QUIC is stopped too.
//!
//! Contract: [`ConnFilter::decide`] takes what is known of a connection so far ([`Conn`]: its
//! server address and transport, the server name of its TLS or QUIC ClientHello, its HTTP Host,
//! the names DNS gave its address) and returns the rule that refuses it, or `None`. The caller
//! asks again as names appear and keeps the first refusal. In order:
//! 1. `--block-dot` ([`Options::block_dot`]): port 853 (DNS over TLS and DNS over QUIC), and the
//!    encrypted-DNS resolvers of `data/doh.txt` by name or by address on port 443;
//! 2. `--block-quic` ([`Options::block_quic`]): UDP to port 443, and any connection found to be
//!    QUIC, so that apps fall back to TLS over TCP (which the analysis can name and, with keys,
//!    read);
//! 3. the lists' address rules ([`Rules::check_addr`]) on the server's address;
//! 4. the lists' name rules on every name of the connection. As in the guard, an allow rule
//!    (of an address or of any of the names) wins over every block rule of 3 to 5;
//! 5. the destinations a policy selected ([`ConnFilter::select`]: `phonehome block`'s policy
//!    applied to the live session's report, refreshed as findings come), by name (and
//!    subdomains) or by address.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use crate::rules::{ListKind, Match, Rules};

/// The encrypted-DNS resolvers refused by `--block-dot` (`data/doh.txt`, sources in it).
pub const DOH_LIST: &str = include_str!("../data/doh.txt");

/// The port of DNS over TLS (RFC 7858) and DNS over QUIC (RFC 9250).
pub const DOT_PORT: u16 = 853;

fn doh_rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        let mut b = Rules::builder();
        b.add_list(DOH_LIST.as_bytes(), "doh.txt", ListKind::Block);
        b.build().0
    })
}

/// What the filter refuses besides the lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Refuse QUIC (UDP to port 443, and anything found to be QUIC).
    pub block_quic: bool,
    /// Refuse DNS over TLS and QUIC (port 853) and the known DNS-over-HTTPS resolvers.
    pub block_dot: bool,
}

/// The transport of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// Anything else (ICMP...): only address rules apply.
    Other,
}

/// What is known of a connection so far.
#[derive(Debug, Clone, Copy)]
pub struct Conn<'a> {
    /// Its transport.
    pub transport: Transport,
    /// The server's address and port.
    pub server: SocketAddr,
    /// The server name of its TLS or QUIC ClientHello, once seen.
    pub sni: Option<&'a str>,
    /// The Host of its first HTTP request, once seen.
    pub http_host: Option<&'a str>,
    /// The names DNS gave the server's address (the name asked first, then CNAMEs).
    pub dns_names: &'a [String],
    /// Found to be QUIC.
    pub quic: bool,
}

/// Why a connection is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What matched: `sni tracker.example`, `address 203.0.113.7`, `udp port 443`.
    pub matched: String,
    /// The rule: `tracker.example (block.txt:3)`, `--block-quic`, `--block-dot (doh.txt:17)`.
    pub rule: String,
}

impl Refusal {
    fn of(matched: String, m: &Match<'_>, prefix: &str) -> Self {
        Self { matched, rule: format!("{prefix}{} ({}:{})", m.name, m.source, m.line) }
    }
}

/// The connection filter (see the module doc).
#[derive(Debug, Clone, Default)]
pub struct ConnFilter {
    rules: Arc<Rules>,
    options: Options,
    /// The destinations a policy selected, and why (by rule id's line).
    selected: Rules,
    reasons: Vec<String>,
}

impl ConnFilter {
    /// A filter of `rules` (the gateway's `--block` and `--allow` lists) and `options`.
    /// The gateway shares them with its DNS guard ([`crate::server::Tap::rules_since`]).
    pub fn new(rules: Arc<Rules>, options: Options) -> Self {
        Self { rules, options, selected: Rules::default(), reasons: Vec::new() }
    }

    /// Uses `rules` from now on (the lists reloaded).
    pub fn set_rules(&mut self, rules: Arc<Rules>) {
        self.rules = rules;
    }

    /// Refuses the destinations of `entries` from now on (a policy's selection, replacing the
    /// previous one): each name with its subdomains when the entry says so, an address-only
    /// destination by its addresses. The refusal's rule is `--policy: ` and the entry's reason.
    pub fn select(&mut self, entries: &[crate::export::Entry]) {
        let mut text = String::new();
        let mut reasons = Vec::new();
        for e in entries {
            let lines: Vec<String> = match &e.name {
                Some(n) if e.subdomains => vec![n.clone()],
                Some(n) => vec![format!("|{n}^")],
                None => e.ips.iter().map(ToString::to_string).collect(),
            };
            for l in lines {
                text.push_str(&l);
                text.push('\n');
                reasons.push(e.reason.clone());
            }
        }
        let mut b = Rules::builder();
        b.add_list(text.as_bytes(), "--policy", ListKind::Block);
        self.selected = b.build().0;
        self.reasons = reasons;
    }

    /// The policy's refusal of `matched` by `m`.
    fn selected_refusal(&self, matched: String, m: &Match<'_>) -> Refusal {
        let reason = m.line.checked_sub(1).and_then(|i| self.reasons.get(i as usize));
        let rule = format!("--policy: {} ({})", m.name, reason.map_or("", String::as_str));
        Refusal { matched, rule }
    }

    /// True when nothing can ever be refused (no rule, no option): the gateway skips asking.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.selected.is_empty() && self.options == Options::default()
    }

    /// The names of `c`, each with what it is.
    fn names<'a>(c: &'a Conn<'a>) -> impl Iterator<Item = (&'static str, &'a str)> {
        c.sni
            .map(|n| ("sni", n))
            .into_iter()
            .chain(c.http_host.map(|n| ("host", host_only(n))))
            .chain(c.dns_names.iter().map(|n| ("dns", n.as_str())))
    }

    /// The refusal of `c`, or `None` (see the module doc).
    pub fn decide(&self, c: &Conn<'_>) -> Option<Refusal> {
        let port = c.server.port();
        let ip = c.server.ip();
        if self.options.block_dot {
            let rule = "--block-dot";
            if port == DOT_PORT && c.transport != Transport::Other {
                let matched = format!("port {DOT_PORT}");
                return Some(Refusal { matched, rule: format!("{rule} (DNS over TLS or QUIC)") });
            }
            let doh = doh_rules();
            if port == 443
                && let Some(m) = doh.check_addr(ip).filter(|m| m.kind == ListKind::Block)
            {
                return Some(Refusal::of(format!("address {ip}"), &m, &format!("{rule}: ")));
            }
            for (what, name) in Self::names(c) {
                if let Some(m) = doh.check(name).filter(|m| m.kind == ListKind::Block) {
                    return Some(Refusal::of(format!("{what} {name}"), &m, &format!("{rule}: ")));
                }
            }
        }
        if self.options.block_quic && (c.quic || (c.transport == Transport::Udp && port == 443)) {
            let matched = if c.quic { "quic".to_string() } else { "udp port 443".to_string() };
            return Some(Refusal { matched, rule: "--block-quic".into() });
        }
        if self.rules.is_empty() && self.selected.is_empty() {
            return None;
        }
        let mut refusal = None;
        match self.rules.check_addr(ip) {
            Some(m) if m.kind == ListKind::Allow => return None,
            Some(m) => refusal = Some(Refusal::of(format!("address {ip}"), &m, "")),
            None => {}
        }
        for (what, name) in Self::names(c) {
            match self.rules.check(name) {
                Some(m) if m.kind == ListKind::Allow => return None,
                Some(m) if refusal.is_none() => {
                    refusal = Some(Refusal::of(format!("{what} {name}"), &m, ""));
                }
                _ => {}
            }
        }
        if refusal.is_some() || self.selected.is_empty() {
            return refusal;
        }
        if let Some(m) = self.selected.check_addr(ip) {
            return Some(self.selected_refusal(format!("address {ip}"), &m));
        }
        Self::names(c).find_map(|(what, name)| {
            let m = self.selected.check(name)?;
            Some(self.selected_refusal(format!("{what} {name}"), &m))
        })
    }
}

/// An HTTP Host without its port (`example.com:8080`, `[::1]:80`).
fn host_only(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(block: &str, allow: &str, options: Options) -> ConnFilter {
        let mut b = Rules::builder();
        b.add_list(block.as_bytes(), "block.txt", ListKind::Block);
        b.add_list(allow.as_bytes(), "allow.txt", ListKind::Allow);
        ConnFilter::new(Arc::new(b.build().0), options)
    }

    fn conn<'a>(server: &str, transport: Transport, dns: &'a [String]) -> Conn<'a> {
        Conn {
            transport,
            server: server.parse().unwrap(),
            sni: None,
            http_host: None,
            dns_names: dns,
            quic: false,
        }
    }

    #[test]
    fn names_and_addresses_of_the_lists_refuse_connections_allow_wins() {
        let f = filter(
            "tracker.example\n203.0.113.0/24\n",
            "ok.tracker.example\n203.0.113.5\n",
            Options::default(),
        );
        let none: [String; 0] = [];
        let tls = Conn {
            sni: Some("api.tracker.example"),
            ..conn("192.0.2.1:443", Transport::Tcp, &none)
        };
        let r = f.decide(&tls).unwrap();
        assert_eq!(r.matched, "sni api.tracker.example");
        assert_eq!(r.rule, "tracker.example (block.txt:1)");
        let http = Conn {
            http_host: Some("tracker.example:8080"),
            ..conn("192.0.2.1:8080", Transport::Tcp, &none)
        };
        assert_eq!(f.decide(&http).unwrap().matched, "host tracker.example");
        let dns = ["cdn.tracker.example".to_string()];
        assert_eq!(
            f.decide(&conn("192.0.2.1:443", Transport::Tcp, &dns)).unwrap().matched,
            "dns cdn.tracker.example"
        );
        let addr = f.decide(&conn("203.0.113.9:443", Transport::Udp, &none)).unwrap();
        assert_eq!(
            (addr.matched.as_str(), addr.rule.as_str()),
            ("address 203.0.113.9", "203.0.113.0/24 (block.txt:2)")
        );
        // Allowed: by a name, by an address.
        let ok = Conn {
            sni: Some("ok.tracker.example"),
            ..conn("192.0.2.1:443", Transport::Tcp, &none)
        };
        assert!(f.decide(&ok).is_none());
        assert!(f.decide(&conn("203.0.113.5:443", Transport::Tcp, &dns)).is_none());
        // Nothing known yet, nothing listed: no refusal (the caller asks again later).
        assert!(f.decide(&conn("192.0.2.1:443", Transport::Tcp, &none)).is_none());
    }

    #[test]
    fn quic_and_encrypted_dns_are_refused_when_asked() {
        let none: [String; 0] = [];
        let off = filter("", "", Options::default());
        assert!(off.is_empty());
        assert!(off.decide(&conn("1.1.1.1:853", Transport::Tcp, &none)).is_none());
        let f = filter("", "", Options { block_quic: true, block_dot: true });
        assert!(!f.is_empty());
        assert_eq!(
            f.decide(&conn("192.0.2.1:443", Transport::Udp, &none)).unwrap().rule,
            "--block-quic"
        );
        let quic = Conn { quic: true, ..conn("192.0.2.1:8443", Transport::Udp, &none) };
        assert_eq!(f.decide(&quic).unwrap().matched, "quic");
        assert!(f.decide(&conn("192.0.2.1:443", Transport::Tcp, &none)).is_none(), "TLS passes");
        let dot = f.decide(&conn("192.0.2.53:853", Transport::Tcp, &none)).unwrap();
        assert_eq!(dot.matched, "port 853");
        let doh = f.decide(&conn("[2606:4700:4700::1111]:443", Transport::Tcp, &none)).unwrap();
        assert!(doh.rule.starts_with("--block-dot: 2606:4700:4700::1111 (doh.txt:"), "{doh:?}");
        let named =
            Conn { sni: Some("dns.google"), ..conn("192.0.2.8:443", Transport::Tcp, &none) };
        assert_eq!(f.decide(&named).unwrap().matched, "sni dns.google");
        let nextdns = Conn {
            sni: Some("abc123.dns.nextdns.io"),
            ..conn("192.0.2.8:443", Transport::Tcp, &none)
        };
        assert!(f.decide(&nextdns).is_some(), "subdomains of a listed resolver");
        // 1.1.1.1 on port 80 is a web page, not DoH.
        assert!(f.decide(&conn("1.1.1.1:80", Transport::Tcp, &none)).is_none());
        // Every line of the built-in list is a rule.
        let mut b = Rules::builder();
        b.add_list(DOH_LIST.as_bytes(), "doh.txt", ListKind::Block);
        let (rules, report) = b.build();
        assert_eq!(report.invalid(), 0, "{:?}", report.lists[0].errors);
        let lines = DOH_LIST.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).count();
        assert_eq!(rules.len(), lines);
        assert!(rules.address_rules() > 50);
    }

    #[test]
    fn a_policy_selection_refuses_its_destinations_until_replaced_lists_allow_wins() {
        use crate::export::Entry;
        let none: [String; 0] = [];
        let mut f = filter("", "ok.ads.example\n", Options::default());
        let entries = [
            Entry {
                name: Some("ads.example".into()),
                ips: vec![],
                reason: "critical: IMEI sent to Ads".into(),
                subdomains: true,
            },
            Entry {
                name: None,
                ips: vec!["203.0.113.50".parse().unwrap()],
                reason: "high: by address".into(),
                subdomains: false,
            },
        ];
        f.select(&entries);
        let named =
            Conn { sni: Some("sdk.ads.example"), ..conn("192.0.2.1:443", Transport::Tcp, &none) };
        let r = f.decide(&named).unwrap();
        assert_eq!(r.matched, "sni sdk.ads.example");
        assert_eq!(r.rule, "--policy: ads.example (critical: IMEI sent to Ads)");
        let by_ip = f.decide(&conn("203.0.113.50:80", Transport::Tcp, &none)).unwrap();
        assert_eq!(by_ip.rule, "--policy: 203.0.113.50 (high: by address)");
        let ok =
            Conn { sni: Some("ok.ads.example"), ..conn("192.0.2.1:443", Transport::Tcp, &none) };
        assert!(f.decide(&ok).is_none(), "the allowlist wins over the policy");
        f.select(&[]);
        assert!(f.decide(&named).is_none(), "a new selection replaces the old");
    }

    #[test]
    fn hosts_lose_their_port() {
        assert_eq!(host_only("example.com:8080"), "example.com");
        assert_eq!(host_only("example.com"), "example.com");
        assert_eq!(host_only("[2001:db8::1]:80"), "2001:db8::1");
        assert_eq!(host_only("a:b"), "a:b");
    }
}
