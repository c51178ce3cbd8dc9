//! `phonehome lookup`: who runs a host name, and where an address is: the same entity database
//! and geo data `analyze` uses, for one name at a time or a list on standard input.

use std::io::{BufRead, Write};
use std::net::IpAddr;
use std::process::ExitCode;

use report::attribution::registrable_domain;
use report::geo::Geo;
use serde_json::json;

use crate::cli::LookupArgs;

/// At most this many names are read from standard input (a bound on a hostile or runaway pipe).
const MAX_STDIN_NAMES: usize = 1_000_000;

pub(crate) fn run(a: &LookupArgs) -> anyhow::Result<ExitCode> {
    let entities = match super::load_entities(a.data.entities.as_deref()) {
        Ok(e) => e,
        Err(code) => return Ok(code),
    };
    let geo = if a.data.no_geo {
        Geo::none()
    } else {
        match Geo::open_default(a.data.geo_db.as_deref()) {
            Ok(g) => g,
            Err(e) => {
                eprintln!("phonehome: {e}");
                return Ok(ExitCode::from(2));
            }
        }
    };
    let mut names: Vec<String> = Vec::new();
    for n in &a.names {
        if n == "-" {
            for (i, line) in std::io::stdin().lock().lines().enumerate() {
                if i >= MAX_STDIN_NAMES {
                    eprintln!("phonehome: standard input: more than {MAX_STDIN_NAMES} names");
                    return Ok(ExitCode::from(2));
                }
                let line = line?;
                let name = line.split('#').next().unwrap_or("").trim();
                if !name.is_empty() {
                    names.push(name.to_owned());
                }
            }
        } else {
            names.push(n.clone());
        }
    }
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    let (mut named, mut hosts) = (0usize, 0usize);
    for name in &names {
        let bare = name.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            let g = geo.lookup(ip);
            if a.json {
                let line = json!({
                    "query": name, "kind": "address", "country": g.country, "asn": g.asn,
                    "as_org": g.as_org, "country_unknown_reason": g.reason,
                });
                writeln!(out, "{line}")?;
            } else {
                let country = g
                    .country
                    .as_deref()
                    .map_or_else(|| format!("? {}", g.reason.unwrap_or("unknown")), country_label);
                let asn = g.asn.map(|n| format!("  AS{n}")).unwrap_or_default();
                let org = g.as_org.as_deref().map(|o| format!(" {o}")).unwrap_or_default();
                writeln!(out, "{name}\t{country}{asn}{org}")?;
            }
            continue;
        }
        hosts += 1;
        let hit = entities.attribute_matched(name);
        named += usize::from(hit.is_some());
        let domain = registrable_domain(name);
        if a.json {
            let line = match &hit {
                Some((e, matched)) => json!({
                    "query": name, "kind": "host", "party": e.name, "category": e.category.as_str(),
                    "country": e.country, "source": e.source.as_str(), "matched": matched,
                    "domain": domain,
                }),
                None => json!({
                    "query": name, "kind": "host", "party": null, "category": null,
                    "country": null, "source": null, "matched": null, "domain": domain,
                }),
            };
            writeln!(out, "{line}")?;
        } else {
            match &hit {
                Some((e, matched)) => {
                    let hq = e.country.as_deref().map_or("headquarters unknown".into(), |c| {
                        format!("based in {}", country_label(c))
                    });
                    writeln!(
                        out,
                        "{name}\t{}, {}, {hq} (matched {matched}; {})",
                        e.name,
                        e.category,
                        e.source.as_str()
                    )?;
                }
                None => writeln!(out, "{name}\tunknown party (registrable domain {domain})")?,
            }
        }
    }
    out.flush()?;
    if hosts > 1 && !a.json {
        let pct = 100.0 * named as f64 / hosts as f64;
        eprintln!("phonehome: {named} of {hosts} host names attributed ({pct:.1}%)");
    }
    Ok(ExitCode::SUCCESS)
}

fn country_label(code: &str) -> String {
    match report::country::name(code) {
        Some(name) => format!("{code} {name}"),
        None => code.to_owned(),
    }
}
