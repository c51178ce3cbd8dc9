//! One line of a list, in whichever format it is written (see the table in [`super`]).

use super::{Parsed, subdomain_rule_allowed, validate_name};

/// What a line gave.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Comment, header, blank, SOA/NS record...: nothing to do, nothing wrong.
    Ignored,
    /// One or more rules were pushed.
    Rules,
    /// Nothing usable: why.
    Invalid(String),
    /// An address or address range (`203.0.113.7`, `203.0.113.0/24`, `2001:db8::/32`): a rule
    /// for connections (a gateway's), not for names.
    Address(crate::server::config::Cidr),
}

/// State carried from line to line of one file (RPZ zone files only).
#[derive(Debug, Default)]
pub(super) struct FileState {
    /// `$ORIGIN`, lower-case, without the trailing dot.
    origin: Option<String>,
    /// Inside a parenthesised record spanning lines (an SOA).
    in_parens: bool,
}

/// Names a hosts file lists for itself, not to block.
const HOSTS_BOILERPLATE: &[&str] = &[
    "localhost",
    "localhost.localdomain",
    "local",
    "broadcasthost",
    "ip6-localhost",
    "ip6-loopback",
    "ip6-localnet",
    "ip6-mcastprefix",
    "ip6-allnodes",
    "ip6-allrouters",
    "ip6-allhosts",
    "0.0.0.0",
];

/// Unbound `local-zone` types that answer for the zone themselves (block).
const UNBOUND_BLOCK: &[&str] = &[
    "deny",
    "refuse",
    "static",
    "redirect",
    "inform_deny",
    "inform_redirect",
    "always_refuse",
    "always_nxdomain",
    "always_nodata",
    "always_deny",
    "always_null",
];

/// Parses one trimmed, lower-case line; rules go to `out`, invalid names of a line that also
/// had valid ones to `bad`.
pub(super) fn line<'a>(
    line: &'a str,
    state: &mut FileState,
    out: &mut Vec<Parsed<'a>>,
    bad: &mut Vec<String>,
) -> Outcome {
    if state.in_parens {
        if line.contains(')') {
            state.in_parens = false;
        }
        return Outcome::Ignored;
    }
    if line.is_empty()
        || line.starts_with(['#', '!', ';', '['])
        || line.starts_with("//")
        || ["##", "#@#", "#?#", "#$#", "#%#"].iter().any(|c| line.contains(c))
    {
        return Outcome::Ignored;
    }
    if let Some(rest) = line.strip_prefix('$') {
        if let Some(origin) = rest.strip_prefix("origin") {
            let origin = origin.split_whitespace().next().unwrap_or("").trim_end_matches('.');
            state.origin = (!origin.is_empty()).then(|| origin.to_owned());
        }
        return Outcome::Ignored;
    }
    if let Some(rest) = line.strip_prefix("@@") {
        return adblock(rest, true, out);
    }
    if line.starts_with('|') {
        return adblock(line, false, out);
    }
    for key in ["address=", "server=", "local="] {
        if let Some(rest) = line.strip_prefix(key) {
            return dnsmasq(key, rest, out, bad);
        }
    }
    if let Some(rest) = line.strip_prefix("local-zone:") {
        return unbound_zone(rest, out);
    }
    if let Some(rest) = line.strip_prefix("local-data:") {
        return unbound_data(rest, out);
    }
    if line.starts_with('/') {
        return invalid("regular-expression rules are not supported");
    }
    // Everything else is whitespace-separated; a ` #` starts a trailing comment.
    let body = match line.find(" #").or_else(|| line.find("\t#")) {
        Some(i) => &line[..i],
        None => line,
    };
    let tokens: Vec<&str> = body.split_whitespace().collect();
    let Some(&first) = tokens.first() else { return Outcome::Ignored };
    if first.ends_with(':') {
        // Unbound `server:`, `forward-zone:` and other clauses around the rules.
        return Outcome::Ignored;
    }
    if tokens.len() == 1
        && first.contains(['.', ':'])
        && let Ok(net) = first.parse::<crate::server::config::Cidr>()
    {
        return Outcome::Address(net);
    }
    if first.parse::<std::net::IpAddr>().is_ok() {
        return hosts(&tokens[1..], out, bad);
    }
    if tokens.len() == 1 {
        if first.contains(['^', '$']) {
            return adblock(first, false, out);
        }
        return match first.strip_prefix("*.") {
            Some(parent) => name_rule(parent, false, true, false, out),
            None => name_rule(first, true, true, false, out),
        };
    }
    rpz(&tokens, line, state, out)
}

fn invalid(reason: &str) -> Outcome {
    Outcome::Invalid(reason.to_owned())
}

/// Validates `name` (a trailing dot dropped) and pushes the rule.
fn name_rule<'a>(
    name: &'a str,
    exact: bool,
    below: bool,
    allow: bool,
    out: &mut Vec<Parsed<'a>>,
) -> Outcome {
    let name = name.strip_suffix('.').unwrap_or(name);
    if let Err(reason) = validate_name(name) {
        return Outcome::Invalid(format!("{reason}: {}", shorten(name)));
    }
    if below && !subdomain_rule_allowed(name) {
        return Outcome::Invalid(if exact {
            format!("`{name}` is a public suffix: the rule would block a whole top-level domain")
        } else {
            format!(
                "`*.{name}`: a wildcard needs a name below the public suffix (e.g. *.example.{name})"
            )
        });
    }
    out.push(Parsed { name, exact, below, allow });
    Outcome::Rules
}

fn shorten(s: &str) -> String {
    let cut: String = s.chars().take(60).map(|c| if c.is_control() { '?' } else { c }).collect();
    if cut.len() < s.len() { format!("{cut}...") } else { cut }
}

/// Several names on one line: the valid ones are kept, the others reported in `bad`.
fn many<'a>(
    names: impl Iterator<Item = (&'a str, bool, bool)>,
    allow: bool,
    out: &mut Vec<Parsed<'a>>,
    bad: &mut Vec<String>,
) -> Outcome {
    let mut reasons = Vec::new();
    let before = out.len();
    for (name, exact, below) in names {
        if let Outcome::Invalid(r) = name_rule(name, exact, below, allow, out) {
            reasons.push(r);
        }
    }
    if out.len() == before {
        return Outcome::Invalid(reasons.into_iter().next().unwrap_or_else(|| "no name".into()));
    }
    bad.extend(reasons);
    Outcome::Rules
}

/// `0.0.0.0 a b c`: each name exactly.
fn hosts<'a>(names: &[&'a str], out: &mut Vec<Parsed<'a>>, bad: &mut Vec<String>) -> Outcome {
    if names.is_empty() {
        return invalid("an IP address without a name");
    }
    let names: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !HOSTS_BOILERPLATE.contains(&n.trim_end_matches('.')))
        .collect();
    if names.is_empty() {
        return Outcome::Ignored;
    }
    many(names.into_iter().map(|n| (n, true, false)), false, out, bad)
}

/// `||x^$options` (x and subdomains), `|x^` (x only), `x^`; `rest` after any `@@`.
fn adblock<'a>(rest: &'a str, allow: bool, out: &mut Vec<Parsed<'a>>) -> Outcome {
    let (pattern, options) = match rest.split_once('$') {
        Some((p, o)) => (p, o),
        None => (rest, ""),
    };
    if options.split(',').any(|o| o.trim() == "badfilter") {
        return Outcome::Ignored;
    }
    let (name, below) = if let Some(n) = pattern.strip_prefix("||") {
        (n, true)
    } else if let Some(n) = pattern.strip_prefix('|') {
        (n, false)
    } else {
        (pattern, true)
    };
    let name = name.strip_suffix('|').unwrap_or(name);
    let name = name.strip_suffix('^').unwrap_or(name);
    if name.contains(['/', ':', '*', '^', '|', '?', '=']) {
        return invalid("not a domain rule (a URL path, port or pattern)");
    }
    match name.strip_prefix("*.") {
        Some(parent) => name_rule(parent, false, true, allow, out),
        None => name_rule(name, true, below, allow, out),
    }
}

/// `address=/a/b/IP`, `address=/a/`, `server=/a/`, `local=/a/`: a and its subdomains.
fn dnsmasq<'a>(
    key: &str,
    rest: &'a str,
    out: &mut Vec<Parsed<'a>>,
    bad: &mut Vec<String>,
) -> Outcome {
    let Some(rest) = rest.strip_prefix('/') else {
        return invalid("dnsmasq option without /domain/");
    };
    let Some((names, value)) = rest.rsplit_once('/') else {
        return invalid("dnsmasq option without closing /");
    };
    let value = value.trim();
    match key {
        "address="
            if !(value.is_empty() || value == "#" || value.parse::<std::net::IpAddr>().is_ok()) =>
        {
            return invalid("dnsmasq address= value is not an IP address");
        }
        "address=" => {}
        // `server=/x/IP` and `server=/x/#` forward x somewhere: not a block.
        "server=" if !value.is_empty() => return Outcome::Ignored,
        _ if !value.is_empty() => return invalid("dnsmasq local= takes no value"),
        _ => {}
    }
    if names.split('/').any(|n| n == "#") {
        return invalid("dnsmasq /#/ matches every name");
    }
    let names = names.split('/').filter(|n| !n.is_empty()).map(|n| match n.strip_prefix("*.") {
        Some(parent) => (parent, false, true),
        None => (n, true, true),
    });
    many(names, false, out, bad)
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(s)
}

/// `local-zone: "x" type`.
fn unbound_zone<'a>(rest: &'a str, out: &mut Vec<Parsed<'a>>) -> Outcome {
    let rest = rest.trim();
    let (name, kind) = match rest.strip_prefix('"') {
        Some(r) => match r.split_once('"') {
            Some((n, k)) => (n, k.trim()),
            None => return invalid("local-zone: unterminated quote"),
        },
        None => match rest.split_once(char::is_whitespace) {
            Some((n, k)) => (n, k.trim()),
            None => (rest, ""),
        },
    };
    let kind = kind.split_whitespace().next().unwrap_or("");
    if UNBOUND_BLOCK.contains(&kind) {
        name_rule(name, true, true, false, out)
    } else if kind == "always_transparent" {
        name_rule(name, true, true, true, out)
    } else if kind.is_empty() {
        invalid("local-zone: without a type")
    } else if ["transparent", "typetransparent", "inform", "nodefault", "noview"].contains(&kind) {
        Outcome::Ignored
    } else {
        Outcome::Invalid(format!("local-zone: unknown type `{}`", shorten(kind)))
    }
}

/// `local-data: "x [ttl] [IN] A 0.0.0.0"`: x only.
fn unbound_data<'a>(rest: &'a str, out: &mut Vec<Parsed<'a>>) -> Outcome {
    let record = unquote(rest);
    let mut tokens = record.split_whitespace();
    let Some(name) = tokens.next() else { return invalid("local-data: empty") };
    if tokens.next().is_none() {
        return invalid("local-data: no record type");
    }
    name_rule(name, true, false, false, out)
}

/// A zone-file record: `owner [ttl] [class] type rdata`.
fn rpz<'a>(
    tokens: &[&'a str],
    line: &str,
    state: &mut FileState,
    out: &mut Vec<Parsed<'a>>,
) -> Outcome {
    let is_ttl = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let is_class = |t: &str| matches!(t, "in" | "ch" | "hs" | "cs");
    let is_type = |t: &str| {
        matches!(t, "soa" | "ns" | "a" | "aaaa" | "cname" | "txt" | "mx" | "ptr" | "srv" | "dname")
    };
    let skip = |mut i: usize| {
        for _ in 0..2 {
            if tokens.get(i).is_some_and(|t| is_ttl(t) || is_class(t)) {
                i += 1;
            }
        }
        i
    };
    // `owner [ttl] [class] type`; else a record continuing the previous owner (the line began
    // with blanks) has no owner.
    let (start, i) = match skip(1) {
        i if tokens.get(i).is_some_and(|t| is_type(t)) => (1, i),
        _ => (0, skip(0)),
    };
    let Some(&rtype) = tokens.get(i) else { return invalid("not a rule in any known format") };
    if !is_type(rtype) {
        return invalid("not a rule in any known format");
    }
    if rtype == "soa" || rtype == "ns" {
        if line.contains('(') && !line.contains(')') {
            state.in_parens = true;
        }
        return Outcome::Ignored;
    }
    if start == 0 {
        return Outcome::Ignored;
    }
    let owner = tokens[0];
    if owner == "@" {
        return Outcome::Ignored;
    }
    let mut trigger = owner;
    if let Some(abs) = owner.strip_suffix('.') {
        trigger = abs;
        if let Some(origin) = &state.origin {
            if trigger == origin {
                return Outcome::Ignored;
            }
            if let Some(t) = trigger.strip_suffix(origin.as_str()).and_then(|t| t.strip_suffix('.'))
            {
                trigger = t;
            }
        }
    }
    if [".rpz-ip", ".rpz-nsdname", ".rpz-nsip", ".rpz-client-ip"]
        .iter()
        .any(|s| trigger.ends_with(s))
    {
        return invalid("RPZ IP, NSDNAME and client triggers are not supported");
    }
    let allow = match (rtype, tokens.get(i + 1).copied()) {
        ("cname", Some("rpz-passthru.")) => true,
        ("cname", Some("rpz-tcp-only.")) => {
            return invalid("RPZ rpz-tcp-only. is not supported");
        }
        (_, None) => return invalid("record without data"),
        _ => false,
    };
    match trigger.strip_prefix("*.") {
        Some(parent) => name_rule(parent, false, true, allow, out),
        None => name_rule(trigger, true, false, allow, out),
    }
}
