//! The open-data layer of the entity database: tracker products and the companies behind them
//! from AdGuard's companiesdb (itself WhoTracks.me's database with AdGuard's additions), CC BY-SA
//! 4.0, shipped in `data/adguard/` with its licence and attribution.
//!
//! Contract:
//! - [`ADGUARD`] is the built-in layer, a tab-separated file compiled from companiesdb's
//!   `trackers.json` and `companies.json` by [`compile_adguard`] (run by
//!   `scripts/entities-adguard.sh`); [`parse`] reads it (or any file in its format) and refuses a
//!   malformed line with the file and line, never panicking.
//! - Line format: `name TAB category TAB country TAB domains`, domains separated by spaces,
//!   country an ISO 3166 alpha-2 code or `-` when unknown; `#` starts a comment line.
//! - The compiler leaves out every domain the curated layer already attributes (itself or a
//!   parent): the curated layer is asked first, so those lines could never match.
//! - Countries: an organisation the curated layer also holds (same name, or its website under a
//!   curated domain) takes the curated headquarters; otherwise the country-code top-level domain
//!   of its website, when that is a country's own (`.de`, `.jp`, `.co.uk`; not the codes sold
//!   as generic names like `.io`, `.co`, `.tv`, `.ai`); otherwise unknown. Nothing is guessed
//!   from where a server is hosted.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde_json::Value;

use super::{Category, Entities, EntitiesError, Entity, Source, check_domain, is_country};

/// The built-in open-data layer (compiled from AdGuard companiesdb; see `data/adguard/`).
pub const ADGUARD: &str = include_str!("../../data/adguard/entities.tsv");

/// One source line: the entity and its normalised domains.
pub type Line = (Entity, Vec<String>);

/// Reads a layer file. A domain may appear only once in it.
pub fn parse(text: &str, path: &Path) -> Result<Vec<Line>, EntitiesError> {
    let mut out = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let invalid =
            |message: String| EntitiesError::Invalid { path: path.into(), line: n + 1, message };
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [name, category, country, domains] = fields.as_slice() else {
            return Err(invalid(format!("{} tab-separated fields, expected 4", fields.len())));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(invalid("empty entity name".into()));
        }
        let category = Category::parse(category.trim())
            .ok_or_else(|| invalid(format!("unknown category `{category}`")))?;
        let country = match country.trim() {
            "-" => None,
            c if is_country(&c.to_ascii_uppercase()) => Some(c.to_ascii_uppercase()),
            c => return Err(invalid(format!("country `{c}` is not an ISO 3166 alpha-2 code"))),
        };
        let mut list = Vec::new();
        for d in domains.split(' ').filter(|d| !d.is_empty()) {
            if d.bytes().any(|b| b.is_ascii_uppercase()) || d.ends_with('.') {
                return Err(invalid(format!("domain `{d}` is not lower-case without a final dot")));
            }
            check_domain(d).map_err(|why| invalid(format!("domain `{d}`: {why}")))?;
            if !seen.insert(d) {
                return Err(invalid(format!("domain `{d}` listed twice in this file")));
            }
            list.push(d.to_owned());
        }
        if list.is_empty() {
            return Err(invalid(format!("entity `{name}` has no domains")));
        }
        out.push((Entity { name: name.into(), category, country, source: Source::AdGuard }, list));
    }
    Ok(out)
}

/// What [`compile_adguard`] made, for the script's summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CompileStats {
    /// Lines written (one per tracker product with a domain the curated layer does not know).
    pub lines: usize,
    /// Distinct organisation names among them.
    pub organisations: usize,
    /// Domains written.
    pub domains: usize,
    /// Domains skipped because the curated layer attributes them already.
    pub curated: usize,
    /// Lines with a country.
    pub with_country: usize,
}

/// One tracker product of a source database.
#[derive(Debug, Clone)]
pub struct TrackerRow {
    /// Display name.
    pub name: String,
    /// Category, mapped to phonehome's.
    pub category: Category,
    /// Id of its company in the company table.
    pub company: Option<String>,
    /// Its website.
    pub url: Option<String>,
}

/// One company of a source database.
#[derive(Debug, Clone, Default)]
pub struct CompanyRow {
    /// Display name.
    pub name: String,
    /// Its website.
    pub website: Option<String>,
    /// Headquarters, when the source gives it (ISO 3166 alpha-2).
    pub country: Option<String>,
}

/// Compiles companiesdb's `trackers.json` (with its `trackerDomains`) and `companies.json` into
/// the layer format, leaving out what `curated` already attributes.
pub fn compile_adguard(
    trackers_json: &str,
    companies_json: &str,
    curated: &Entities,
) -> Result<(String, CompileStats), String> {
    let trackers: Value =
        serde_json::from_str(trackers_json).map_err(|e| format!("trackers.json: {e}"))?;
    let companies: Value =
        serde_json::from_str(companies_json).map_err(|e| format!("companies.json: {e}"))?;
    let table = |v: &Value, key: &str, file: &str| {
        v.get(key)
            .and_then(Value::as_object)
            .cloned()
            .ok_or_else(|| format!("{file}: no `{key}` object"))
    };
    let tracker_table = table(&trackers, "trackers", "trackers.json")?;
    let domain_table = table(&trackers, "trackerDomains", "trackers.json")?;
    let company_table = table(&companies, "companies", "companies.json")?;
    fn text(v: &Value, key: &str) -> Option<String> {
        v.get(key).and_then(Value::as_str).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
    }
    let trackers: HashMap<String, TrackerRow> = tracker_table
        .iter()
        .map(|(id, t)| {
            let category =
                t.get("categoryId").and_then(Value::as_u64).map_or(Category::Other, category_of);
            let name = text(t, "name").unwrap_or_else(|| id.clone());
            (
                id.clone(),
                TrackerRow { name, category, company: text(t, "companyId"), url: text(t, "url") },
            )
        })
        .collect();
    let companies: HashMap<String, CompanyRow> = company_table
        .iter()
        .map(|(id, c)| {
            let name = text(c, "name").unwrap_or_default();
            (id.clone(), CompanyRow { name, website: text(c, "websiteUrl"), country: None })
        })
        .collect();
    let domains =
        domain_table.iter().filter_map(|(d, t)| Some((d.clone(), t.as_str()?.to_owned())));
    let header = "# phonehome open-data entity layer, compiled from AdGuard companiesdb (CC BY-SA 4.0);\n\
         # see ATTRIBUTION.txt and source.txt beside this file. Regenerate with\n\
         # scripts/entities-adguard.sh; do not edit by hand.\n";
    Ok(build_layer(header, &trackers, &companies, domains, curated))
}

/// The layer text of a source's trackers, companies and (domain, tracker id) pairs: one line per
/// (organisation-and-product name, category, country), domains the curated layer knows left out.
pub fn build_layer(
    header: &str,
    trackers: &HashMap<String, TrackerRow>,
    companies: &HashMap<String, CompanyRow>,
    domains: impl IntoIterator<Item = (String, String)>,
    curated: &Entities,
) -> (String, CompileStats) {
    // tracker id -> its domains the curated layer does not know.
    let mut by_tracker: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut stats = CompileStats::default();
    for (domain, tracker) in domains {
        let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        if check_domain(&domain).is_err() || !domain.is_ascii() {
            continue;
        }
        if curated.attribute(&domain).is_some() {
            stats.curated += 1;
            continue;
        }
        by_tracker.entry(tracker).or_default().push(domain);
    }
    // (name, category, country) -> domains: trackers of one company and category share a line.
    let mut lines: BTreeMap<(String, Category, Option<String>), Vec<String>> = BTreeMap::new();
    for (id, mut domains) in by_tracker {
        let Some(t) = trackers.get(&id) else { continue };
        let tracker_name = clean_name(&t.name);
        let company = t.company.as_ref().and_then(|c| companies.get(c));
        let company_name = company.map(|c| c.name.trim()).filter(|n| !n.is_empty());
        let website =
            company.and_then(|c| c.website.as_deref()).or(t.url.as_deref()).and_then(host_of);
        let linked = company_name
            .and_then(|n| curated.iter().find(|e| e.name.eq_ignore_ascii_case(n)))
            .or_else(|| website.as_deref().and_then(|w| curated.attribute(w)));
        // The company's own name (GameAnalytics belongs to Mobvista, whatever curated entity runs
        // mobvista.com); the curated entity's only when the source names no company.
        let owner = company_name.map(clean_name).or_else(|| linked.map(|e| base_name(&e.name)));
        let name = match owner {
            Some(o) if squash(o) == squash(tracker_name) => tracker_name.to_owned(),
            Some(o) if starts_with_word(tracker_name, o) => tracker_name.to_owned(),
            Some(o) => format!("{o} ({tracker_name})"),
            None => tracker_name.to_owned(),
        };
        let name = name.replace(['\t', '\n', '\r'], " ").trim().to_owned();
        if name.is_empty() || name.starts_with('#') {
            continue;
        }
        // The source's own country, else the curated one, else the website's country code.
        let country = company
            .and_then(|c| c.country.clone())
            .filter(|c| is_country(c))
            .or_else(|| linked.and_then(|e| e.country.clone()))
            .or_else(|| website.as_deref().and_then(country_of_tld));
        lines.entry((name, t.category, country)).or_default().append(&mut domains);
    }
    let mut out = String::from(header);
    out.push_str("# name<TAB>category<TAB>country or -<TAB>domains\n");
    let mut organisations = HashSet::new();
    let mut seen = HashSet::new();
    for ((name, category, country), mut domains) in lines {
        domains.sort();
        domains.dedup();
        // A domain of two trackers goes with the first line (a layer lists each domain once).
        domains.retain(|d| seen.insert(d.clone()));
        if domains.is_empty() {
            continue;
        }
        stats.lines += 1;
        stats.domains += domains.len();
        stats.with_country += usize::from(country.is_some());
        organisations.insert(base_name(&name).to_owned());
        let country = country.as_deref().unwrap_or("-");
        out.push_str(&format!("{name}\t{category}\t{country}\t{}\n", domains.join(" ")));
    }
    stats.organisations = organisations.len();
    (out, stats)
}

/// companiesdb category ids (its `categories` table) to phonehome's categories.
fn category_of(id: u64) -> Category {
    match id {
        3 | 4 => Category::Advertising,      // pornvertising, advertising
        6 | 15 | 101 => Category::Analytics, // site_analytics, telemetry, mobile_analytics
        7 => Category::Social,               // social_media
        9 | 10 => Category::CloudCdn,        // cdn, hosting
        _ => Category::Other,
    }
}

/// Legal-form suffixes left out of display names (`Pixalate, Inc.` -> `Pixalate`).
const LEGAL_FORMS: &[&str] = &[
    " co., ltd.",
    " pte. ltd.",
    " pty ltd",
    ", inc.",
    ", inc",
    " inc.",
    " inc",
    ", llc",
    " llc",
    " ltd.",
    " ltd",
    " limited",
    " gmbh",
    " ag",
    " s.a.",
    " sas",
    " b.v.",
    " corp.",
    " corporation",
    " s.r.l.",
    " srl",
    " oy",
    " ab",
    " a/s",
    " plc",
];

/// `Pixalate, Inc.` -> `Pixalate`, `Adjust GmbH` -> `Adjust`.
fn clean_name(name: &str) -> &str {
    let mut n = name.trim();
    'again: loop {
        for form in LEGAL_FORMS {
            if n.len() > form.len()
                && n.is_char_boundary(n.len() - form.len())
                && n[n.len() - form.len()..].eq_ignore_ascii_case(form)
            {
                n = n[..n.len() - form.len()].trim_end_matches([',', ' ']);
                continue 'again;
            }
        }
        return n;
    }
}

/// Letters and digits only, lower case: `Deep Intent` and `DeepIntent` are one name.
fn squash(name: &str) -> String {
    name.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// `Google (Firebase)` -> `Google`.
fn base_name(name: &str) -> &str {
    name.split(" (").next().unwrap_or(name).trim()
}

fn starts_with_word(s: &str, prefix: &str) -> bool {
    s.len() > prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix)
        && s[prefix.len()..].starts_with([' ', '-'])
}

/// The host of a website URL (`https://www.example.de/x` -> `www.example.de`).
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#', ':']).next()?.trim().to_ascii_lowercase();
    (host.contains('.') && check_domain(&host).is_ok()).then_some(host)
}

/// Two-letter top-level domains that are sold as generic names, so say nothing about where the
/// organisation is.
const GENERIC_CCTLDS: &[&str] = &[
    "ac", "ad", "ag", "ai", "am", "as", "bz", "cc", "cd", "cf", "cm", "co", "cx", "dj", "fm", "ga",
    "gd", "gg", "gl", "gq", "gs", "hn", "im", "io", "je", "la", "lc", "li", "ly", "md", "me", "ml",
    "ms", "mu", "nu", "pw", "sc", "sh", "so", "st", "su", "tc", "tk", "tl", "to", "tv", "vc", "vg",
    "ws",
];

/// The country of a host's top-level domain, when that domain is a country's own.
fn country_of_tld(host: &str) -> Option<String> {
    let tld = host.rsplit('.').next()?;
    if tld.len() != 2 || GENERIC_CCTLDS.contains(&tld) {
        return None;
    }
    let code = if tld == "uk" { "GB".to_owned() } else { tld.to_ascii_uppercase() };
    is_country(&code).then_some(code)
}

/// Index a parsed layer by domain; used by [`Entities`] and by the tests.
pub(super) fn index(lines: Vec<Line>, entities: &mut Vec<Entity>) -> HashMap<Box<str>, usize> {
    let mut by_domain = HashMap::new();
    for (entity, domains) in lines {
        entities.push(entity);
        let i = entities.len() - 1;
        for d in domains {
            by_domain.insert(d.into_boxed_str(), i);
        }
    }
    by_domain
}

#[cfg(test)]
mod tests;
